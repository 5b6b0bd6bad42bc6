"""A fake network for the VRRP shell's tests: an in-process segment instead of raw sockets.

The shell opens its kernel sockets through two factories (``VrrpActor.vrrp_socket`` and
``VrrpActor.link_sender``); :meth:`FakeHost.install` points them at this module, so an
unmodified :class:`~pykeepalived.actors.vrrp.actor.VrrpActor` runs without root:

* a :class:`Segment` is one link. What a :class:`FakeSocket` sends reaches every other
  host's socket of the same family and protocol on it that joined the destination group
  (or owns the unicast destination), with the source address a kernel would report. As on
  the real sockets (multicast loop off), a host never hears itself. ``segment.sent``
  records every packet with the loop time it was sent at.
* a :class:`FakeHost` is one machine on the segment: its interface, addresses and MAC,
  the GARP/NA frames its shell sent (``frames``; by interface in ``frames_on``; a link in
  ``failing_links`` raises ENXIO instead), and a small netlink actor for the bus
  (:meth:`FakeHost.netlink_handlers`: ``netlink.snapshot`` and ``netlink.addresses.set``,
  which keeps ``vips`` as a kernel would), its bodies built from the bus catalogue.

Each fake socket has a real eventfd as its ``fileno()``, written once per delivered
datagram, so the shell's ``loop.add_reader`` works unchanged and a virtual-clock loop sees
the datagram at once (it polls before jumping the clock). Timers wake on time
(``timer_early = 0``): the shell's early wake-up spins on a real clock, not a virtual one.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import errno
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pykeepalived.actors.vrrp.io import Datagram, LinkSender, VrrpSocket
from pykeepalived.actors.vrrp.packet import VRRP_TTL
from pykeepalived.bus import messages as M

if TYPE_CHECKING:
    from pykeepalived.actors.vrrp.actor import VrrpActor


@dataclass(frozen=True, slots=True)
class Sent:
    """One packet on the segment: who sent it, when (loop time), where to, the bytes."""

    host: str
    at: float
    family: str
    protocol: int
    src: str
    dst: str
    data: bytes


class FakeSocket(VrrpSocket):
    """A :class:`VrrpSocket` whose wire is a :class:`Segment` (no kernel socket)."""

    def __init__(self, host: FakeHost, ifname: str, ifindex: int, family: str, protocol: int):
        self.host = host
        self.ifname, self.ifindex, self.family, self.protocol = ifname, ifindex, family, protocol
        self.groups: set[str] = set()
        self.queue: collections.deque[Datagram | OSError] = collections.deque()
        self.closed = False
        self._fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)

    def fileno(self) -> int:
        return self._fd

    def join(self, group: str) -> None:
        self.groups.add(group)

    def send4(self, packet: bytes, dst: str) -> None:
        src = ".".join(str(b) for b in packet[12:16]) if len(packet) >= 20 else self.host.address
        self.host.segment.carry(self, src, dst, packet, hop_limit=0)

    def send6(self, message: bytes, src: str, dst: str, hops: int = VRRP_TTL) -> None:
        self.host.segment.carry(self, src, dst, message, hop_limit=hops)

    def recv(self) -> Datagram | None:
        if not self.queue:
            with contextlib.suppress(BlockingIOError):
                os.eventfd_read(self._fd)  # empty: the fd stops being readable
            return None
        item = self.queue.popleft()
        if isinstance(item, OSError):
            raise item
        return item

    def deliver(self, item: Datagram | OSError) -> None:
        """Queue a datagram (or an error ``recv`` raises) and wake the shell's reader."""
        if self.closed:
            return
        self.queue.append(item)
        os.eventfd_write(self._fd, 1)

    def hears(self, dst: str) -> bool:
        return dst in self.groups or dst in self.host.own_addresses()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            os.close(self._fd)
            with contextlib.suppress(ValueError):
                self.host.sockets.remove(self)


class FakeLink(LinkSender):
    """A :class:`LinkSender` that records the frames in ``host.frames`` (with loop times)."""

    def __init__(self, host: FakeHost, ifname: str) -> None:
        self.host = host
        self.ifname = ifname

    def send(self, frame: bytes) -> None:
        if self.ifname in self.host.failing_links:
            raise OSError(errno.ENXIO, "No such device or address")
        item = (asyncio.get_running_loop().time(), frame)
        self.host.frames.append(item)
        self.host.frames_on.setdefault(self.ifname, []).append(item)

    def close(self) -> None:
        pass


@dataclass
class FakeHost:
    """One machine on a segment: an interface with addresses, and what its shell did."""

    segment: Segment
    name: str
    address: str  # primary IPv4 address of ``ifname`` (the adverts' source)
    mac: str
    ifname: str = "eth0"
    ifindex: int = 2
    prefix: int = 24
    address6: str | None = None  # link-local IPv6 address of ``ifname`` (IPv6 adverts' source)
    extra_links: dict[str, int] = field(default_factory=dict)  # other interfaces: ifindex
    extra_macs: dict[str, str] = field(default_factory=dict)  # their MACs (else none)
    sockets: list[FakeSocket] = field(default_factory=list)
    frames: list[tuple[float, bytes]] = field(default_factory=list)
    frames_on: dict[str, list[tuple[float, bytes]]] = field(default_factory=dict)
    failing_links: set[str] = field(default_factory=set)  # their LinkSender.send raises
    opened_links: list[str] = field(default_factory=list)  # each open_link, in order
    owned: dict[str, set[str]] = field(default_factory=dict)  # owner: its "a/len" set

    # ---- the seams -------------------------------------------------------------------
    def install(self, actor: VrrpActor) -> None:
        """Give ``actor`` this host's sockets (call before its setup runs)."""
        actor.vrrp_socket = self.open_socket
        actor.link_sender = self.open_link
        actor.timer_early = 0.0

    def open_socket(self, ifname: str, ifindex: int, family: str, protocol: int) -> VrrpSocket:
        sock = FakeSocket(self, ifname, ifindex, family, protocol)
        self.sockets.append(sock)
        return sock

    def open_link(self, ifname: str) -> LinkSender:
        self.opened_links.append(ifname)
        return FakeLink(self, ifname)

    # ---- a netlink actor for the bus -------------------------------------------------
    def netlink_handlers(self) -> dict[str, Any]:
        """The commands the netlink actor answers, by their catalogue names."""
        return {
            M.NetlinkSnapshotRequest.TYPE.removeprefix("cmd."): self.snapshot,
            M.AddressesSet.TYPE.removeprefix("cmd."): self.addresses_set,
        }

    def snapshot(self, body: dict[str, Any]) -> dict[str, Any]:
        """``netlink.snapshot``: this host's links and addresses, VIPs included."""
        M.NetlinkSnapshotRequest.from_body(body)
        links = [self.link(self.ifname, up=True)]
        links += [self.link(name, up=True) for name in self.extra_links]
        addrs = [self.addr(f"{self.address}/{self.prefix}")]
        if self.address6:
            addrs.append(self.addr(f"{self.address6}/64", scope="link"))
        addrs += [self.addr(vip, secondary=True) for vip in sorted(self.vips)]
        return M.NetlinkSnapshot(tuple(links), tuple(addrs)).to_body()

    def link(self, ifname: str, *, up: bool) -> M.NetlinkLink:
        """One of this host's interfaces as the netlink actor describes it."""
        index = self.ifindex if ifname == self.ifname else self.extra_links[ifname]
        return M.NetlinkLink(
            ifname=ifname, ifindex=index, present=True, up=up, running=up,
            operstate="UP" if up else "DOWN", mtu=1500,
            mac=self.mac if ifname == self.ifname else self.extra_macs.get(ifname),
            kind=None, master=None,
            link=None, flags=0x1043 if up else 0x1002,
        )  # fmt: skip

    def link_body(self, ifname: str, *, up: bool) -> dict[str, Any]:
        """A ``netlink.link`` event body for one of this host's interfaces."""
        return self.link(ifname, up=up).to_body()

    def addr(
        self, address: str, *, secondary: bool = False, scope: str = "global"
    ) -> M.NetlinkAddr:
        """An address ("a/len") of ``ifname`` as the netlink actor describes it."""
        return M.NetlinkAddr(
            ifname=self.ifname, ifindex=self.ifindex, address=address,
            family="inet6" if ":" in address else "inet", present=True, scope=scope,
            label=None, peer=None, flags=0x01 if secondary else 0, secondary=secondary,
            tentative=False,
        )  # fmt: skip

    @property
    def vips(self) -> set[str]:
        """Every address the shell installed through ``netlink.addresses.set`` ("a/len")."""
        return set().union(*self.owned.values())

    def addresses_set(self, body: dict[str, Any]) -> dict[str, Any]:
        """``netlink.addresses.set``: keep ``owned`` as the netlink actor keeps its table."""
        request = M.AddressesSet.from_body(body)  # a body that does not fit: an error reply
        items = {a["address"] for a in request.addresses}
        mine = self.owned.setdefault(request.owner, set())
        if request.exclusive and request.present:
            mine.clear()  # the owner's other items go (as the netlink actor does)
        if request.present:
            mine |= items
        else:
            mine -= items
        return M.AddressesSetReply(applied=len(items), errors=()).to_body()

    # ---- for the segment -------------------------------------------------------------
    def own_addresses(self) -> set[str]:
        own = {self.address, self.address6} - {None}
        return {str(a) for a in own} | {v.split("/")[0] for v in self.vips}

    def inject(self, data: bytes, src: str, *, dst: str = "", hop_limit: int = 0) -> None:
        """Hand ``data`` to every socket of this host as if it came off the wire."""
        for sock in list(self.sockets):
            sock.deliver(Datagram(data, src, dst, hop_limit))

    def inject_error(self, exc: OSError) -> None:
        """The next ``recv`` on each of this host's sockets raises ``exc``."""
        for sock in list(self.sockets):
            sock.deliver(exc)


class Segment:
    """One link shared by fake hosts: delivers each packet to the other hosts' sockets."""

    def __init__(self) -> None:
        self.hosts: list[FakeHost] = []
        self.sent: list[Sent] = []

    def host(self, name: str, address: str, **kw: Any) -> FakeHost:
        mac = kw.pop("mac", f"02:00:00:00:00:{len(self.hosts) + 1:02x}")
        host = FakeHost(self, name, address, mac, **kw)
        self.hosts.append(host)
        return host

    def carry(self, sender: FakeSocket, src: str, dst: str, data: bytes, hop_limit: int) -> None:
        at = asyncio.get_running_loop().time()
        self.sent.append(Sent(sender.host.name, at, sender.family, sender.protocol, src, dst, data))
        for host in self.hosts:
            if host is sender.host:
                continue  # multicast loop is off, and a host never hears its own unicast
            for sock in list(host.sockets):
                same = (sock.family, sock.protocol) == (sender.family, sender.protocol)
                if same and sock.hears(dst):
                    sock.deliver(Datagram(data, src, dst if sock.family == "inet6" else "",
                                          hop_limit))  # fmt: skip

    def sent_by(self, host: str) -> list[Sent]:
        return [s for s in self.sent if s.host == host]
