"""Kernel I/O for the VRRP actor: raw VRRP/AH sockets, AF_PACKET for GARP/NA, link facts.

Sockets follow what keepalived and FRR do on Linux (reference §4.13):

* IPv4: ``SOCK_RAW`` for protocol 112 (or 51 for AH) with ``IP_HDRINCL`` so we build the
  header keepalived's way (TOS 0xc0, TTL 255, our own IP id); ``SO_BINDTODEVICE``;
  ``IP_MULTICAST_ALL`` off (else a socket hears groups joined on other interfaces);
  membership of the group by ifindex; multicast loop off (our own adverts never return).
* IPv6: ``SOCK_RAW`` protocol 112 with ``IPV6_CHECKSUM`` at offset 6 (the kernel fills
  and verifies the checksum), hop limit 255, traffic class 0xc0, ``IPV6_RECVHOPLIMIT``
  and ``IPV6_RECVPKTINFO`` so receive checks see the hop limit and destination.

:func:`read_links` is a read-only fallback for the interface table when the netlink
actor cannot answer ``netlink.snapshot`` (the actor never writes kernel state itself).
Everything here is non-blocking and used from the actor's asyncio loop.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import struct
from dataclasses import dataclass

from pykeepalived.actors.vrrp.packet import VRRP_TOS, VRRP_TTL
from pykeepalived.bus.messages import NetlinkAddr, NetlinkLink, NetlinkSnapshot

IP_MULTICAST_ALL = 49
IPV6_MULTICAST_ALL = 29
IPV6_CHECKSUM = 7
IPV6_RECVPKTINFO = 49
IPV6_PKTINFO = 50
IPV6_RECVHOPLIMIT = 51
IPV6_HOPLIMIT = 52
SO_BINDTODEVICE = 25
ETH_P_ALL = 0x0003


@dataclass(slots=True)
class Datagram:
    data: bytes
    src: str
    dst: str
    hop_limit: int  # IPv6 only (IPv4 reads the TTL from the header in ``data``)


class VrrpSocket:
    """One raw socket per (interface, family, protocol), shared by the instances on it."""

    def __init__(self, ifname: str, ifindex: int, family: str, protocol: int) -> None:
        self.ifname, self.ifindex, self.family, self.protocol = ifname, ifindex, family, protocol
        af = socket.AF_INET6 if family == "inet6" else socket.AF_INET
        self.sock = socket.socket(af, socket.SOCK_RAW, protocol)
        s = self.sock
        s.setblocking(False)
        s.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, ifname.encode())
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        if family == "inet6":
            s.setsockopt(socket.IPPROTO_IPV6, IPV6_CHECKSUM, 6)
            s.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1)
            s.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVPKTINFO, 1)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, VRRP_TTL)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, VRRP_TTL)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, ifindex)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 0)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_TCLASS, VRRP_TOS)
            with contextlib.suppress(OSError):
                s.setsockopt(socket.IPPROTO_IPV6, IPV6_MULTICAST_ALL, 0)
        else:
            s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
            s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
            s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, VRRP_TTL)
            mreqn = struct.pack("=4s4si", b"\0" * 4, b"\0" * 4, ifindex)
            s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, mreqn)
            with contextlib.suppress(OSError):
                s.setsockopt(socket.IPPROTO_IP, IP_MULTICAST_ALL, 0)
        self.groups: set[str] = set()

    def fileno(self) -> int:
        return self.sock.fileno()

    def join(self, group: str) -> None:
        if group in self.groups:
            return
        if self.family == "inet6":
            mreq = ipaddress.IPv6Address(group).packed + struct.pack("@I", self.ifindex)
            self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
        else:
            mreqn = struct.pack(
                "=4s4si", ipaddress.IPv4Address(group).packed, b"\0" * 4, self.ifindex
            )
            self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreqn)
        self.groups.add(group)

    def send4(self, packet: bytes, dst: str) -> None:
        """Send a whole IPv4 packet (header included)."""
        self.sock.sendto(packet, (dst, 0))

    def send6(self, message: bytes, src: str, dst: str, hops: int = VRRP_TTL) -> None:
        """Send a VRRP message from link-local ``src`` (the kernel adds the checksum)."""
        scope = self.ifindex if ipaddress.IPv6Address(dst).is_link_local or dst.startswith(
            "ff02"
        ) else 0  # fmt: skip
        pktinfo = ipaddress.IPv6Address(src).packed + struct.pack("@I", self.ifindex)
        cmsgs = [(socket.IPPROTO_IPV6, IPV6_PKTINFO, pktinfo)]
        if hops != VRRP_TTL:
            cmsgs.append((socket.IPPROTO_IPV6, IPV6_HOPLIMIT, struct.pack("@i", hops)))
        self.sock.sendmsg([message], cmsgs, 0, (dst, 0, 0, scope))

    def recv(self) -> Datagram | None:
        """One datagram, or None when nothing is waiting."""
        try:
            data, anc, _flags, addr = self.sock.recvmsg(65535, 256)
        except (BlockingIOError, InterruptedError):
            return None
        if self.family != "inet6":
            return Datagram(data, addr[0], "", 0)
        hop, dst = -1, ""
        for level, kind, value in anc:
            if level != socket.IPPROTO_IPV6:
                continue
            if kind == IPV6_HOPLIMIT and len(value) >= 4:
                hop = struct.unpack("@i", value[:4])[0]
            elif kind == IPV6_PKTINFO and len(value) >= 16:
                dst = str(ipaddress.IPv6Address(value[:16]))
        return Datagram(data, str(addr[0]).split("%")[0], dst, hop)

    def close(self) -> None:
        self.sock.close()


class LinkSender:
    """An AF_PACKET socket on one interface for GARP and unsolicited NA frames."""

    def __init__(self, ifname: str) -> None:
        self.ifname = ifname
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        self.sock.setblocking(False)
        self.sock.bind((ifname, 0))

    def send(self, frame: bytes) -> None:
        self.sock.send(frame)

    def close(self) -> None:
        self.sock.close()


async def read_links() -> NetlinkSnapshot:
    """A ``netlink.snapshot`` of links and addresses, read with pyroute2."""
    from pyroute2 import AsyncIPRoute  # imported lazily: only the fallback path needs it

    links: list[NetlinkLink] = []
    addrs: list[NetlinkAddr] = []
    async with AsyncIPRoute() as ipr:
        names: dict[int, str] = {}
        async for msg in await ipr.get_links():
            flags = int(msg.get("flags") or 0)
            name = str(msg.get("ifname"))
            names[int(msg.get("index"))] = name
            links.append(
                NetlinkLink(
                    ifname=name,
                    ifindex=int(msg.get("index")),
                    present=True,
                    up=bool(flags & 0x1),
                    running=bool(flags & 0x40),
                    operstate="UNKNOWN",
                    mtu=int(msg.get("mtu") or 0),
                    mac=msg.get("address"),
                    kind=None,
                    master=None,
                    link=None,
                    flags=flags,
                )
            )
        async for msg in await ipr.get_addr():
            fam = "inet6" if msg.get("family") == socket.AF_INET6 else "inet"
            idx = int(msg.get("index"))
            addrs.append(
                NetlinkAddr(
                    ifname=names.get(idx, f"if{idx}"),
                    ifindex=idx,
                    address=f"{msg.get('address')}/{msg.get('prefixlen')}",
                    family=fam,
                    present=True,
                    scope="global",
                    label=None,
                    peer=None,
                    flags=0,
                    secondary=False,
                    tentative=False,
                )
            )
    return NetlinkSnapshot(tuple(links), tuple(addrs))
