"""Gratuitous ARP and unsolicited Neighbour Advertisement frames, as keepalived sends them.

GARP (keepalived ``send_gratuitous_arp_immediate``): Ethernet broadcast from the interface
(or VMAC) address, an ARP *request* whose sender and target protocol addresses are both
the VIP and whose target hardware address is the broadcast address.
Unsolicited NA (RFC 4861 §7.2.6): from the VIP to ff02::1 (MAC 33:33:00:00:00:01), hop
limit 255, Override flag set (Router flag only when the interface forwards), with a
Target Link-Layer Address option. Pure: returns bytes for an AF_PACKET socket.
"""

from __future__ import annotations

import ipaddress
import struct

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
