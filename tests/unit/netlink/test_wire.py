"""The pure rtnetlink codec, cross-checked against pyroute2's own encoder and decoder."""

from __future__ import annotations

import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyroute2.netlink.rtnl.fibmsg import fibmsg
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
from pyroute2.netlink.rtnl.marshal import MarshalRtnl
from pyroute2.netlink.rtnl.rtmsg import rtmsg

from pykeepalived.actors.netlink import wire
from pykeepalived.actors.netlink.model import addr_from_msg, link_from_msg
from pykeepalived.actors.netlink.requests import rule_key_of_msg


def encoded(msg: Any, mtype: int, fields: dict[str, Any], attrs: list[Any], seq: int = 7) -> bytes:
    msg["header"]["type"] = mtype
    msg["header"]["sequence_number"] = seq
    for k, v in fields.items():
        msg[k] = v
    msg["attrs"] = attrs
    msg.encode()
    return bytes(msg.data)


def test_link_notification() -> None:
    data = encoded(
        ifinfmsg(),
        wire.RTM_NEWLINK,
        {"index": 4, "flags": 0x11043, "family": 0},
        [
            ("IFLA_IFNAME", "vrrp.51"),
            ("IFLA_MTU", 1500),
            ("IFLA_ADDRESS", "00:00:5e:00:01:33"),
            ("IFLA_OPERSTATE", "UP"),
            ("IFLA_LINK", 2),
            ("IFLA_MASTER", 9),
            ("IFLA_LINKINFO", {"attrs": [("IFLA_INFO_KIND", "macvlan")]}),
        ],
    )
    [msg] = wire.decode(data)
    assert msg["event"] == "RTM_NEWLINK" and msg["seq"] == 7
    link = link_from_msg(msg)
    assert (link.ifindex, link.ifname, link.mtu, link.mac, link.operstate, link.kind) == (
        4,
        "vrrp.51",
        1500,
        "00:00:5e:00:01:33",
        "UP",
        "macvlan",
    )
    assert (link.master, link.link, link.up, link.running) == (9, 2, True, True)


def test_addr_notifications_v4_peer_and_v6() -> None:
    v4 = encoded(
        ifaddrmsg(),
        wire.RTM_DELADDR,
        {"family": 2, "prefixlen": 32, "index": 2, "scope": 0, "flags": 0x80},
        [("IFA_ADDRESS", "10.9.0.2"), ("IFA_LOCAL", "10.0.0.1"), ("IFA_LABEL", "eth0:v")],
    )
    v6 = encoded(
        ifaddrmsg(),
        wire.RTM_NEWADDR,
        {"family": 10, "prefixlen": 64, "index": 2, "scope": 253},
        [("IFA_ADDRESS", "fe80::1"), ("IFA_FLAGS", 0x480)],
    )
    first, second = wire.decode(v4 + v6)  # two messages in one datagram
    a = addr_from_msg(first)
    assert (a.address, a.peer, a.label, a.flags) == ("10.0.0.1/32", "10.9.0.2/32", "eth0:v", 0x80)
    b = addr_from_msg(second)
    assert (b.family, b.address, b.scope, b.flags) == ("inet6", "fe80::1/64", 253, 0x480)


def test_route_and_rule_notifications() -> None:
    r = encoded(
        rtmsg(),
        wire.RTM_DELROUTE,
        {"family": 2, "dst_len": 24, "table": 100},
        [("RTA_DST", "198.51.100.0"), ("RTA_TABLE", 100), ("RTA_PRIORITY", 7)],
    )
    [msg] = wire.decode(r)
    assert (msg["RTA_DST"], msg["dst_len"], msg["RTA_TABLE"], msg["RTA_PRIORITY"]) == (
        "198.51.100.0",
        24,
        100,
        7,
    )
    u = encoded(
        fibmsg(),
        wire.RTM_DELRULE,
        {"family": 2, "src_len": 8, "action": 1, "table": 100},
        [
            ("FRA_SRC", "10.0.0.0"),
            ("FRA_PRIORITY", 100),
            ("FRA_TABLE", 100),
            ("FRA_IIFNAME", "eth0"),
            ("FRA_FWMARK", 5),
        ],
    )
    [rule] = wire.decode(u)
    assert rule_key_of_msg(rule) == "rule inet pref 100 from 10.0.0.0/8 fwmark 5 iif eth0 table 100"


def test_error_ack_and_unknown_types() -> None:
    ack = struct.pack("=IHHII", 36, wire.NLMSG_ERROR, 0, 9, 0) + struct.pack("=i", -17) + bytes(16)
    other = struct.pack("=IHHII", 16, 77, 0, 1, 0)
    [err, unknown] = wire.decode(ack + other)
    assert (err["event"], err["seq"], err["error"]) == ("NLMSG_ERROR", 9, 17)
    assert unknown["event"] == "RTM_77"


@pytest.mark.parametrize("cut", [3, 17, 30])
def test_truncated_messages_are_refused(cut: int) -> None:
    data = encoded(
        ifaddrmsg(),
        wire.RTM_NEWADDR,
        {"family": 2, "prefixlen": 32, "index": 2},
        [("IFA_LOCAL", "10.0.0.1"), ("IFA_ADDRESS", "10.0.0.1")],
    )
    if cut < 16:
        assert wire.decode(data[:cut]) == []  # not even a header: nothing to read
    else:
        with pytest.raises(wire.WireError):
            wire.decode(data[:cut])


def test_encode_addr_reads_back_with_pyroute2() -> None:
    req = {
        "index": 3,
        "family": 2,
        "address": "10.9.0.2",
        "local": "10.0.0.1",
        "prefixlen": 30,
        "scope": 253,
        "label": "eth0:vip",
        "broadcast": "10.0.0.3",
        "IFA_FLAGS": 0x210,
        "preferred_lft": 0,
        "valid_lft": 0xFFFFFFFF,
    }
    data = wire.encode_addr(wire.RTM_NEWADDR, 42, req)
    [msg] = MarshalRtnl().parse(data)
    assert msg["header"]["sequence_number"] == 42
    assert msg["header"]["flags"] == (
        wire.NLM_F_REQUEST | wire.NLM_F_ACK | wire.NLM_F_CREATE | wire.NLM_F_EXCL
    )
    assert (msg["family"], msg["prefixlen"], msg["index"], msg["scope"]) == (2, 30, 3, 253)
    assert (msg.get("IFA_LOCAL"), msg.get("IFA_ADDRESS")) == ("10.0.0.1", "10.9.0.2")
    assert (msg.get("IFA_LABEL"), msg.get("IFA_BROADCAST")) == ("eth0:vip", "10.0.0.3")
    assert msg.get("IFA_FLAGS") == 0x210
    assert msg.get("IFA_CACHEINFO")["ifa_preferred"] == 0
    deleted = wire.encode_addr(
        wire.RTM_DELADDR, 43, {"index": 3, "family": 10, "address": "fd00::1", "prefixlen": 128}
    )
    [d] = MarshalRtnl().parse(deleted)
    assert d["header"]["flags"] == wire.NLM_F_REQUEST | wire.NLM_F_ACK
    assert d.get("IFA_LOCAL") == d.get("IFA_ADDRESS") == "fd00::1" and d["prefixlen"] == 128


@settings(deadline=None, max_examples=300)
@given(st.binary(max_size=200))
def test_random_bytes_decode_or_raise_wire_error_only(data: bytes) -> None:
    try:
        msgs = wire.decode(data)
    except wire.WireError:
        return
    assert all("event" in m for m in msgs)


@settings(deadline=None, max_examples=200)
@given(st.data())
def test_damaged_real_messages_never_raise_anything_else(data: st.DataObject) -> None:
    good = encoded(
        ifinfmsg(),
        wire.RTM_NEWLINK,
        {"index": 4, "flags": 1, "family": 0},
        [
            ("IFLA_IFNAME", "eth0"),
            ("IFLA_MTU", 1500),
            ("IFLA_LINKINFO", {"attrs": [("IFLA_INFO_KIND", "veth")]}),
        ],
    )
    pos = data.draw(st.integers(16, len(good) - 1))
    byte = data.draw(st.integers(0, 255))
    damaged = good[:pos] + bytes([byte]) + good[pos + 1 :]
    try:
        wire.decode(damaged)
    except wire.WireError:
        pass
