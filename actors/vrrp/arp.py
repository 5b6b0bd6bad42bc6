"""Gratuitous ARP and unsolicited Neighbour Advertisement frames, as keepalived sends them.

GARP (keepalived ``send_gratuitous_arp_immediate``): Ethernet broadcast from the interface
(or VMAC) address, an ARP *request* whose sender and target protocol addresses are both
the VIP and whose target hardware address is the broadcast address.
Unsolicited NA (RFC 4861 §7.2.6): from the VIP to ff02::1 (MAC 33:33:00:00:00:01), hop
limit 255, Override flag set (Router flag only when the interface forwards), with a
Target Link-Layer Address option. Pure: returns bytes for an AF_PACKET socket.

:class:`Pacer` decides which address goes out when, on which interface (see below).
"""

from __future__ import annotations

import ipaddress
import math
import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from pykeepalived.actors.vrrp.packet import inet_checksum

ETH_P_ARP = 0x0806
ETH_P_IPV6 = 0x86DD
BROADCAST = b"\xff" * 6
ALL_NODES = "ff02::1"
ALL_NODES_MAC = bytes.fromhex("333300000001")
NA_ROUTER = 0x80000000
NA_OVERRIDE = 0x20000000


def mac_bytes(mac: str) -> bytes:
    raw = bytes.fromhex(mac.replace(":", "").replace("-", ""))
    if len(raw) != 6:
        raise ValueError(f"not an Ethernet address: {mac!r}")
    return raw


def garp_frame(mac: str, address: str) -> bytes:
    """One gratuitous ARP request for ``address`` from ``mac``."""
    src = mac_bytes(mac)
    ip = ipaddress.IPv4Address(address).packed
    eth = BROADCAST + src + struct.pack("!H", ETH_P_ARP)
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + src + ip + BROADCAST + ip
    return eth + arp


def na_frame(mac: str, address: str, *, router: bool = False) -> bytes:
    """One unsolicited NA for ``address`` (flags O, and R when ``router``)."""
    src_mac = mac_bytes(mac)
    src = ipaddress.IPv6Address(address).packed
    dst = ipaddress.IPv6Address(ALL_NODES).packed
    flags = NA_OVERRIDE | (NA_ROUTER if router else 0)
    body = struct.pack("!BBHI", 136, 0, 0, flags) + src + struct.pack("!BB", 2, 1) + src_mac
    pseudo = src + dst + struct.pack("!I3xB", len(body), 58)
    body = body[:2] + struct.pack("!H", inet_checksum(pseudo + body)) + body[4:]
    ip6 = struct.pack("!IHBB", 6 << 28, len(body), 58, 255) + src + dst
    return ALL_NODES_MAC + src_mac + struct.pack("!H", ETH_P_IPV6) + ip6 + body


# ---- which frames go out when (keepalived's per-interface pacing) ----------------------
#
# Every address is announced out of its own interface (its ``dev``, else the instance's),
# from that interface's MAC. keepalived paces per interface (``vrrp_garp_interval`` for
# GARPs, ``vrrp_gna_interval`` for NAs, or those of the ``garp_group`` the interface is in;
# a group's interfaces share one pace). As seen in the lab with keepalived 2.2.7: a burst
# of ``repeat`` rounds walks the addresses in order (VIPs, then eVIPs); an address whose
# interface is free goes at once and makes the interface wait one interval; otherwise it
# is marked pending, once: repeats of a pending address do not add frames. When an
# interface's wait ends, the first pending address on it (in list order) goes, and the
# wait restarts.
# With an interval of 0.2 s and repeat 3, two VIPs A, B on one interface give A at 0,
# A at 0.2, B at 0.4: three frames, not six.


@dataclass(frozen=True, slots=True)
class Target:
    """One address to announce: the address, and the interface it is on."""

    ip: str
    ifname: str

    @property
    def kind(self) -> str:
        return "na" if ":" in self.ip else "garp"


@dataclass(frozen=True, slots=True)
class Planned:
    """One frame of a plan: when, who (the owner, e.g. an instance), which address."""

    at: float
    owner: str
    target: Target


@dataclass(frozen=True, slots=True)
class Pacing:
    """The intervals of an interface (0: no pacing) and the pace it shares (its group)."""

    garp_interval: float = 0.0
    gna_interval: float = 0.0
    key: str = ""  # interfaces with the same key share one pace (a garp_group)


def pacing_for(
    ifname: str,
    groups: Sequence[tuple[Sequence[str], float, float]],
    garp_interval: float,
    gna_interval: float,
) -> Pacing:
    """An interface's pacing: that of the first ``garp_group`` (interfaces, garp, gna)
    naming it, both intervals from the group (one it leaves out is 0, unpaced, as seen
    with keepalived), else the global ``vrrp_garp_interval`` / ``vrrp_gna_interval``."""
    for i, (interfaces, garp, gna) in enumerate(groups):
        if ifname in interfaces:
            return Pacing(garp, gna, key=f"garp_group#{i}")
    return Pacing(garp_interval, gna_interval)


class Pacer:
    """keepalived's GARP/NA rate limit: per-pace next times and pending addresses.

    Pure: times are passed in. :meth:`burst` returns what to send now; :meth:`due`
    returns the pending frames whose interface is free at ``now``; :meth:`wake` is when
    :meth:`due` has something next.
    """

    def __init__(self, pacing: Callable[[str], Pacing]) -> None:
        self.pacing = pacing
        self.next_at: dict[tuple[str, str], float] = {}  # (pace key, kind): free from
        self.pending: dict[str, list[Target]] = {}  # owner: targets, in order

    def _key(self, t: Target) -> tuple[str, str]:
        return (self.pacing(t.ifname).key or t.ifname, t.kind)

    def _interval(self, t: Target) -> float:
        p = self.pacing(t.ifname)
        return p.gna_interval if t.kind == "na" else p.garp_interval

    def _take(self, now: float, t: Target) -> bool:
        """Whether ``t`` may go now (and if so, the interface's next wait starts)."""
        interval = self._interval(t)
        if interval <= 0:
            return True
        key = self._key(t)
        if now < self.next_at.get(key, -math.inf):
            return False
        self.next_at[key] = now + interval
        return True

    def burst(self, now: float, owner: str, targets: Sequence[Target], repeat: int) -> list[Target]:
        """``repeat`` rounds over ``targets``: the frames to send now, in order."""
        out: list[Target] = []
        pending = set(self.pending.get(owner, ()))
        for _ in range(repeat):
            for t in targets:
                if self._take(now, t):
                    out.append(t)
                else:
                    pending.add(t)
        order = [t for t in targets if t in pending] + [
            t for t in self.pending.get(owner, ()) if t not in targets
        ]  # keepalived walks its address list, not the order they became pending in
        if order:
            self.pending[owner] = order
        else:
            self.pending.pop(owner, None)
        return out

    def due(self, now: float) -> list[tuple[str, Target]]:
        """The pending frames that may go at ``now`` (owner, target), in order."""
        out: list[tuple[str, Target]] = []
        for owner, pending in list(self.pending.items()):
            for t in list(pending):
                if self._take(now, t):
                    pending.remove(t)
                    out.append((owner, t))
            if not pending:
                del self.pending[owner]
        return out

    def wake(self) -> float | None:
        """When the next pending frame may go (None: nothing pending)."""
        times = [self.next_at.get(self._key(t), 0.0) for p in self.pending.values() for t in p]
        return min(times) if times else None

    def drop(self, owner: str) -> None:
        """Forget ``owner``'s pending frames (it is no longer master)."""
        self.pending.pop(owner, None)


def extra_if_targets(vips: Sequence[Target], ifname: str) -> list[Target]:
    """``garp_extra_if all``: the first VIP of each interface other than the instance's
    ``ifname`` (keepalived 2.2.7 in the lab: one GARP per such interface, eVIPs not)."""
    first: dict[str, Target] = {}
    for t in vips:
        if t.ifname != ifname:
            first.setdefault(t.ifname, t)
    return list(first.values())


def plan(pacer: Pacer, bursts: Iterable[tuple[float, str, Sequence[Target], int]]) -> list[Planned]:
    """Every frame ``bursts`` (at, owner, targets, repeat) give, with the pending ones
    sent when their interface is free: what the shell does with its timers."""
    out: list[Planned] = []
    queue = sorted(bursts, key=lambda b: b[0])
    while queue or pacer.pending:
        wake = pacer.wake()
        if queue and (wake is None or queue[0][0] <= wake):
            at, owner, targets, repeat = queue.pop(0)
            out += [Planned(at, owner, t) for t in pacer.burst(at, owner, targets, repeat)]
        elif wake is not None:
            out += [Planned(wake, o, t) for o, t in pacer.due(wake)]
    return out
