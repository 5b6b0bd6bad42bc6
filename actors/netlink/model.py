"""Pure interface table: the daemon's mirror of the kernel's links and addresses.

This module owns the reflector's view of the kernel and nothing else:

* :class:`Link` and :class:`Addr`, immutable records built from rtnetlink messages by
  :func:`link_from_msg` / :func:`addr_from_msg`. A "message" is anything with
  ``get(name)``, such as a pyroute2 ``ifinfmsg``/``ifaddrmsg`` (which answer both header
  fields and NLA names) or, in tests, a plain dict, so this module never imports pyroute2;
* :class:`InterfaceTable`, which applies those records and says what changed, as the
  bodies of ``netlink.link`` / ``netlink.addr`` events (docs/messages.md). A full dump after a
  lost notification (ENOBUFS) goes through :meth:`InterfaceTable.resync`, which reports
  exactly the differences, so subscribers see one consistent stream either way;
* :func:`address_change_line`, keepalived's ``-a`` log wording.

Event bodies
------------
The events are the catalogue's ``NetlinkLink``/``NetlinkAddr`` (``bus/messages.py``):
``netlink.link``: ``{ifname, ifindex, present, up, running, operstate, mtu, mac, kind,
master, link, flags}``. ``up`` is IFF_UP (administratively up), ``running`` is
IFF_RUNNING (operationally up: carrier and not dormant), ``master`` the master's name or
None, ``link`` the parent interface index (macvlan, veth peer) or None.

``netlink.addr``: ``{ifname, ifindex, address, family, present, scope, label, peer, flags,
secondary, tentative}`` where ``address`` carries its prefix (``"10.0.0.1/24"``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from pykeepalived.bus.messages import NetlinkAddr, NetlinkLink, NetlinkSnapshot

IFF_UP = 0x1
IFF_LOWER_UP = 0x10000
IFF_RUNNING = 0x40
_SCOPE_NAMES = {0: "global", 200: "site", 253: "link", 254: "host", 255: "nowhere"}
_AF = {2: "inet", 10: "inet6"}


class Msg(Protocol):
    """What the normalisers read: header fields and NLAs by name."""

    def get(self, key: str, default: Any = None) -> Any: ...


@dataclass(frozen=True, slots=True)
class Link:
    """One network interface as the kernel last described it."""

    ifindex: int
    ifname: str
    flags: int = 0
    operstate: str = "UNKNOWN"
    mtu: int = 0
    mac: str | None = None
    kind: str | None = None
    master: int | None = None
    link: int | None = None

    @property
    def up(self) -> bool:
        return bool(self.flags & IFF_UP)

    @property
    def running(self) -> bool:
        return bool(self.flags & IFF_RUNNING)


@dataclass(frozen=True, slots=True)
class Addr:
    """One address on one interface; ``address`` is ``ip/prefixlen``."""

    ifindex: int
    family: str
    address: str
    scope: int = 0
    label: str | None = None
    peer: str | None = None
    flags: int = 0

    @property
    def key(self) -> tuple[int, str, str | None]:
        """What the kernel tells two addresses apart by (on one interface)."""
        return (self.ifindex, self.address, self.peer)

    @property
    def ip(self) -> str:
        return self.address.split("/", 1)[0]

    @property
    def prefixlen(self) -> int:
        return int(self.address.split("/", 1)[1])


# ------------------------------------------------------------------------ normalisers


def _linkinfo_kind(msg: Msg) -> str | None:
    info = msg.get("IFLA_LINKINFO")
    if info is None:
        return None
    kind = info.get("IFLA_INFO_KIND")
    return str(kind) if kind else None


def link_from_msg(msg: Msg) -> Link:
    """A :class:`Link` from an RTM_NEWLINK/RTM_DELLINK message."""
    index = msg.get("index")
    name = msg.get("IFLA_IFNAME")
    if not isinstance(index, int) or not name:
        raise ValueError("link message without index or name")
    mac = msg.get("IFLA_ADDRESS")
    master = msg.get("IFLA_MASTER")
    parent = msg.get("IFLA_LINK")
    return Link(
        ifindex=index,
        ifname=str(name),
        flags=int(msg.get("flags") or 0),
        operstate=str(msg.get("IFLA_OPERSTATE") or "UNKNOWN"),
        mtu=int(msg.get("IFLA_MTU") or 0),
        mac=str(mac) if mac else None,
        kind=_linkinfo_kind(msg),
        master=int(master) if master else None,
        link=int(parent) if parent and parent != index else None,
    )


def addr_from_msg(msg: Msg) -> Addr:
    """An :class:`Addr` from an RTM_NEWADDR/RTM_DELADDR message.

    For IPv4, IFA_LOCAL is the interface's own address and IFA_ADDRESS the peer of a
    point-to-point address (equal to IFA_LOCAL otherwise); IPv6 only has IFA_ADDRESS
    unless a peer is set.
    """
    index = msg.get("index")
    family = _AF.get(msg.get("family"))
    if not isinstance(index, int) or family is None:
        raise ValueError("address message without index or with an unknown family")
    plen = int(msg.get("prefixlen") or 0)
    local = msg.get("IFA_LOCAL")
    address = msg.get("IFA_ADDRESS")
    own = local or address
    if not own:
        raise ValueError("address message without an address")
    peer = None
    if local and address and local != address:
        peer = f"{ipaddress.ip_address(address)}/{plen}"
    flags = msg.get("IFA_FLAGS")
    if flags is None:
        flags = msg.get("flags") or 0
    label = msg.get("IFA_LABEL")
    return Addr(
        ifindex=index,
        family=family,
        address=f"{ipaddress.ip_address(own)}/{plen}",
        scope=int(msg.get("scope") or 0),
        label=str(label) if label else None,
        peer=peer,
        flags=int(flags),
    )


# ---------------------------------------------------------------------------- table

Event = NetlinkLink | NetlinkAddr


class InterfaceTable:
    """Links by index and their addresses; every change returns the events it causes."""

    def __init__(self) -> None:
        self.links: dict[int, Link] = {}
        self.addrs: dict[int, dict[tuple[int, str, str | None], Addr]] = {}
        self._by_name: dict[str, int] = {}

    # ---- queries ---------------------------------------------------------------------
    def ifindex(self, ifname: str) -> int | None:
        return self._by_name.get(ifname)

    def ifname(self, ifindex: int) -> str | None:
        link = self.links.get(ifindex)
        return link.ifname if link else None

    def addresses(self, ifindex: int | None = None) -> list[Addr]:
        if ifindex is not None:
            return list(self.addrs.get(ifindex, {}).values())
        return [a for per in self.addrs.values() for a in per.values()]

    def address_count(self) -> int:
        return sum(len(per) for per in self.addrs.values())

    # ---- bodies ----------------------------------------------------------------------
    def link_body(self, link: Link, present: bool = True) -> NetlinkLink:
        return NetlinkLink(
            ifname=link.ifname,
            ifindex=link.ifindex,
            present=present,
            up=link.up,
            running=link.running,
            operstate=link.operstate,
            mtu=link.mtu,
            mac=link.mac,
            kind=link.kind,
            master=self.ifname(link.master) if link.master else None,
            link=link.link,
            flags=link.flags,
        )

    def addr_body(self, addr: Addr, present: bool = True, ifname: str | None = None) -> NetlinkAddr:
        return NetlinkAddr(
            ifname=ifname or self.ifname(addr.ifindex) or f"if{addr.ifindex}",
            ifindex=addr.ifindex,
            address=addr.address,
            family=addr.family,
            present=present,
            scope=_SCOPE_NAMES.get(addr.scope, str(addr.scope)),
            label=addr.label,
            peer=addr.peer,
            flags=addr.flags,
            secondary=bool(addr.flags & 0x01),
            tentative=bool(addr.flags & 0x40),
        )

    # ---- changes ---------------------------------------------------------------------
    def update_link(self, link: Link) -> list[Event]:
        """RTM_NEWLINK: an event if the interface is new or anything we publish changed."""
        old = self.links.get(link.ifindex)
        if old is not None and old.kind and not link.kind:
            link = replace(link, kind=old.kind)  # notifications may omit IFLA_LINKINFO
        if old == link:
            return []
        if old is not None and old.ifname != link.ifname:
            self._by_name.pop(old.ifname, None)
        self.links[link.ifindex] = link
        self._by_name[link.ifname] = link.ifindex
        return [self.link_body(link)]

    def remove_link(self, ifindex: int) -> list[Event]:
        """RTM_DELLINK: the interface and, silently in the kernel, its addresses are gone."""
        link = self.links.pop(ifindex, None)
        if link is None:
            return []
        if self._by_name.get(link.ifname) == ifindex:
            del self._by_name[link.ifname]
        events: list[Event] = [
            self.addr_body(a, False, link.ifname) for a in self.addrs.pop(ifindex, {}).values()
        ]
        events.append(self.link_body(link, present=False))
        return events

    def update_addr(self, addr: Addr) -> list[Event]:
        per = self.addrs.setdefault(addr.ifindex, {})
        old = per.get(addr.key)
        if old == addr:
            return []
        per[addr.key] = addr
        return [self.addr_body(addr)]

    def remove_addr(self, addr: Addr) -> list[Event]:
        per = self.addrs.get(addr.ifindex)
        if not per or addr.key not in per:
            return []
        old = per.pop(addr.key)
        if not per:
            del self.addrs[addr.ifindex]
        return [self.addr_body(old, present=False)]

    def resync(self, links: Iterable[Link], addrs: Iterable[Addr]) -> list[Event]:
        """Replace the table by a full dump; events for exactly what differs.

        Order: new and changed links first (so an address event can name its
        interface), then vanished addresses, new addresses, and vanished links last.
        """
        events: list[Event] = []
        new_links = {link.ifindex: link for link in links}
        for link in new_links.values():
            events += self.update_link(link)
        wanted: dict[int, dict[tuple[int, str, str | None], Addr]] = {}
        for a in addrs:
            wanted.setdefault(a.ifindex, {})[a.key] = a
        for ifindex in list(self.addrs):
            for key, a in list(self.addrs[ifindex].items()):
                if key not in wanted.get(ifindex, {}):
                    events += self.remove_addr(a)
        for per in wanted.values():
            for a in per.values():
                events += self.update_addr(a)
        for ifindex in [i for i in self.links if i not in new_links]:
            events += self.remove_link(ifindex)
        return events

    def snapshot(self) -> NetlinkSnapshot:
        """The whole table as events (the ``netlink.snapshot`` reply)."""
        return NetlinkSnapshot(
            links=tuple(self.link_body(link) for link in sorted(self.links.values(), key=_idx)),
            addrs=tuple(self.addr_body(a) for a in self.addresses()),
        )


def _idx(link: Link) -> int:
    return link.ifindex


def address_change_line(msg: NetlinkAddr) -> str:
    """keepalived's ``-a`` log line for one address event."""
    verb = "added to" if msg.present else "removed from"
    return f"Netlink reflector reports IP {msg.address.split('/')[0]} {verb} {msg.ifname}"
