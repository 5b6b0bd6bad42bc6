"""Pure request building: keys match the kernel's view, requests carry every option."""

from __future__ import annotations

from typing import Any

import pytest

from pykeepalived.actors.netlink import requests as rq
from pykeepalived.conf.model import Family, IPAddress, Nexthop, Route, Rule

N = rq.Names()


def idx(name: str) -> int | None:
    return {"eth0": 2, "eth1": 3}.get(name)


def test_address_key_and_kernel_key_agree() -> None:
    a = IPAddress(address="10.0.0.5/24", dev="eth0")
    assert rq.address_key(a) == "addr inet eth0 10.0.0.5/24"
    assert rq.address_key(a) == rq.key_of_addr("eth0", "inet", "10.0.0.5", 24)
    six = IPAddress(address="FD00::5/64", family=Family.INET6, dev="eth0")
    assert rq.address_key(six) == rq.key_of_addr("eth0", "inet6", "fd00::5", 64)
    peer = IPAddress(address="10.0.0.5/32", dev="eth0", peer="10.9.0.1/30")
    assert rq.address_key(peer) == "addr inet eth0 10.0.0.5/30"
    with pytest.raises(rq.ItemError, match="no interface"):
        rq.address_key(IPAddress(address="10.0.0.5/32"))


def test_ipv6_lifetimes_default_as_keepalived() -> None:
    host = rq.address_request(IPAddress(address="fd00::5/128", family=Family.INET6, dev="e"), 2, N)
    assert (host["preferred_lft"], host["valid_lft"]) == (0, rq.INFINITY_LIFE_TIME)
    net = rq.address_request(IPAddress(address="fd00::5/64", family=Family.INET6, dev="e"), 2, N)
    assert "preferred_lft" not in net  # the kernel's default: forever
    kept = IPAddress(address="fd00::5/128", family=Family.INET6, dev="e", preferred_lft=0xFFFFFFFF)
    assert rq.address_request(kept, 2, N)["preferred_lft"] == 0xFFFFFFFF


def test_address_request_every_option() -> None:
    a = IPAddress(
        address="10.0.0.5/24",
        dev="eth0",
        scope="link",
        label="eth0:v",
        broadcast="+",
        home=True,
        noprefixroute=True,
    )
    assert rq.address_request(a, 2, N) == {
        "index": 2,
        "family": 2,
        "address": "10.0.0.5",
        "prefixlen": 24,
        "scope": 253,
        "label": "eth0:v",
        "broadcast": "10.0.0.255",
        "IFA_FLAGS": rq.IFA_F_HOMEADDRESS | rq.IFA_F_NOPREFIXROUTE,
    }
    p = rq.address_request(IPAddress(address="10.0.0.5/32", dev="eth0", peer="10.9.0.1/32"), 2, N)
    assert (p["local"], p["address"], p["prefixlen"]) == ("10.0.0.5", "10.9.0.1", 32)
    six = IPAddress(
        address="fd00::5/128",
        family=Family.INET6,
        dev="eth0",
        nodad=True,
        preferred_lft=0,
        autojoin=True,
        mngtmpaddr=True,
    )
    req = rq.address_request(six, 2, N)
    assert req["IFA_FLAGS"] == rq.IFA_F_NODAD | rq.IFA_F_MCAUTOJOIN | rq.IFA_F_MANAGETEMPADDR
    assert (req["preferred_lft"], req["valid_lft"]) == (0, rq.INFINITY_LIFE_TIME)
    assert (
        rq.address_request(IPAddress(address="10.0.0.5/24", dev="e", broadcast="10.0.0.9"), 2, N)[
            "broadcast"
        ]
        == "10.0.0.9"
    )
    assert "broadcast" not in rq.address_request(
        IPAddress(address="10.0.0.5/24", dev="e", broadcast="-"), 2, N
    )


@pytest.mark.parametrize(
    ("item", "why"),
    [
        (IPAddress(address="fd00::5/64", family=Family.INET6, label="x"), "no label"),
        (IPAddress(address="fd00::5/64", family=Family.INET6, broadcast="+"), "no broadcast"),
        (IPAddress(address="10.0.0.1/32", peer="fd00::1/128"), "another family"),
        (IPAddress(address="10.0.0.1/32", scope="galaxy"), "unknown scope"),
        (IPAddress(address="10.0.0.300/32"), "invalid address"),
    ],
)
def test_address_request_refusals(item: IPAddress, why: str) -> None:
    with pytest.raises(rq.ItemError, match=why):
        rq.address_request(item, 2, N)


def test_route_key_matches_kernel_message_key() -> None:
    r = Route(dest="198.51.100.0/24", via="10.0.0.1", table="100", metric=7)
    msg = {
        "family": 2,
        "RTA_TABLE": 100,
        "RTA_DST": "198.51.100.0",
        "dst_len": 24,
        "RTA_PRIORITY": 7,
        "tos": 0,
    }
    assert rq.route_key(r, N) == rq.route_key_of_msg(msg)
    default = Route(dest="default", via="10.0.0.1")
    assert rq.route_key(default, N) == rq.route_key_of_msg(
        {"family": 2, "table": 254, "dst_len": 0}
    )
    six = Route(dest="2001:db8::/64", family=Family.INET6, dev="eth0")
    msg6 = {
        "family": 10,
        "RTA_TABLE": 254,
        "RTA_DST": "2001:db8::",
        "dst_len": 64,
        "RTA_PRIORITY": 1024,
    }
    assert rq.route_key(six, N) == rq.route_key_of_msg(msg6)
    src6 = Route(dest="2001:db8::/64", family=Family.INET6, from_="2001:db8:1::/48", tos=0)
    assert "from 2001:db8:1::/48" in rq.route_key(src6, N)
    assert rq.route_key_of_msg({"family": 7}) is None


def test_route_request_every_option() -> None:
    r = Route(
        dest="198.51.100.0/24",
        via="10.0.0.1",
        dev="eth0",
        src="10.0.0.5",
        table="main",
        metric=9,
        scope="link",
        protocol="bird",
        tos=4,
        onlink=True,
        realms="2/3",
        options=(("mtu", "lock 1400"), ("advmss", "1360"), ("pref", "high"), ("features", "ecn")),
    )
    req, warnings = rq.route_request(r, idx, N)
    assert warnings == []
    assert req == {
        "family": 2,
        "dst": "198.51.100.0/24",
        "type": 1,
        "table": 254,
        "proto": 12,
        "scope": 253,
        "priority": 9,
        "tos": 4,
        "prefsrc": "10.0.0.5",
        "flow": (2 << 16) | 3,
        "oif": 2,
        "gateway": "10.0.0.1",
        "flags": rq.RTNH_F_ONLINK,
        "RTA_PREF": 1,
        "metrics": {"RTAX_MTU": 1400, "RTAX_ADVMSS": 1360, "RTAX_FEATURES": 1},
    }


def test_route_types_multipath_and_warnings() -> None:
    req, _ = rq.route_request(Route(dest="10.9.0.0/16", type="blackhole"), idx, N)
    assert (req["type"], req["proto"]) == (6, rq.RTPROT_KEEPALIVED)
    mp = Route(
        dest="10.9.0.0/16",
        via="10.0.0.9",
        nexthops=(
            Nexthop(via="10.0.0.1", dev="eth0", weight=3),
            Nexthop(via="10.0.0.2", dev="eth1", onlink=True),
        ),
    )
    req, _ = rq.route_request(mp, idx, N)
    assert "gateway" not in req
    assert req["multipath"] == [
        {"gateway": "10.0.0.1", "oif": 2, "hops": 2},
        {"gateway": "10.0.0.2", "oif": 3, "flags": rq.RTNH_F_ONLINK},
    ]
    _, warnings = rq.route_request(
        Route(dest="10.9.0.0/16", vrf="blue", options=(("expires", "10"),)), idx, N
    )
    assert len(warnings) == 2 and "vrf" in warnings[0] and "expires" in warnings[1]
    with pytest.raises(rq.ItemError, match="no interface"):
        rq.route_request(Route(dest="10.9.0.0/16", dev="eth9"), idx, N)
    with pytest.raises(rq.ItemError, match="unknown table"):
        rq.route_request(Route(dest="10.9.0.0/16", table="nosuch"), idx, N)


def test_rule_key_matches_kernel_message_key() -> None:
    r = Rule(from_="10.0.0.0/8", table="100", priority=100, fwmark=5, iif="eth0", not_=True)
    msg: dict[str, Any] = {
        "family": 2,
        "FRA_PRIORITY": 100,
        "flags": rq.FIB_RULE_INVERT,
        "FRA_SRC": "10.0.0.0",
        "src_len": 8,
        "FRA_FWMARK": 5,
        "FRA_IIFNAME": "eth0",
        "action": 1,
        "FRA_TABLE": 100,
    }
    assert rq.rule_key(r, N) == rq.rule_key_of_msg(msg)
    bh = Rule(to="10.9.0.0/16", action="blackhole", priority=5)
    assert rq.rule_key(bh, N) == rq.rule_key_of_msg(
        {"family": 2, "FRA_PRIORITY": 5, "FRA_DST": "10.9.0.0", "dst_len": 16, "action": 6}
    )
    goto = Rule(action="goto", goto=200, priority=6, family=Family.INET6)
    assert rq.rule_key(goto, N) == rq.rule_key_of_msg(
        {"family": 10, "FRA_PRIORITY": 6, "action": 2, "FRA_GOTO": 200}
    )


def test_rule_request_every_option() -> None:
    r = Rule(
        from_="10.0.0.0/8",
        to="10.9.0.0/16",
        table="local",
        priority=7,
        tos=8,
        fwmark=5,
        realms="9",
        suppress_prefixlength=0,
        suppress_ifgroup="3",
        iif="eth0",
        oif="eth1",
        tunnel_id=42,
        uidrange="10-20",
        ipproto="udp",
        sport="53",
        dport="1000-2000",
        not_=True,
        protocol="static",
    )
    assert rq.rule_request(r, N) == {
        "family": 2,
        "priority": 7,
        "action": 1,
        "FRA_PROTOCOL": 4,
        "table": 255,
        "flags": rq.FIB_RULE_INVERT,
        "src": "10.0.0.0",
        "src_len": 8,
        "dst": "10.9.0.0",
        "dst_len": 16,
        "tos": 8,
        "fwmark": 5,
        "fwmask": 0xFFFFFFFF,
        "FRA_FLOW": 9,
        "FRA_SUPPRESS_PREFIXLEN": 0,
        "FRA_SUPPRESS_IFGROUP": 3,
        "iifname": "eth0",
        "oifname": "eth1",
        "FRA_TUN_ID": 42,
        "FRA_UID_RANGE": "10:20",
        "FRA_IP_PROTO": 17,
        "FRA_SPORT_RANGE": "53:53",
        "FRA_DPORT_RANGE": "1000:2000",
    }
    l3 = rq.rule_request(Rule(action="l3mdev", priority=1000), N)
    assert (l3["action"], l3["FRA_L3MDEV"]) == (1, 1)


@pytest.mark.parametrize(
    ("rule", "why"),
    [
        (Rule(action="table", priority=1), "without a table"),
        (Rule(action="goto", priority=1), "goto without a target"),
        (Rule(action="dance", priority=1), "unknown action"),
        (Rule(table="1"), "no priority"),
        (Rule(table="1", priority=1, sport="x-y"), "bad sport range"),
    ],
)
def test_rule_request_refusals(rule: Rule, why: str) -> None:
    with pytest.raises(rq.ItemError, match=why):
        rq.rule_request(rule, N)


def test_iproute2_names_files_extend_the_tables() -> None:
    text = "# comment\n255\tlocal\n100 vips # inline\nbad line\n0x10 hexy\n"
    names = rq.Names()
    names.tables.update(rq.parse_iproute2_names(text))
    assert (names.table("vips"), names.table("hexy"), names.table(None)) == (100, 16, 254)
    assert names.protocol("keepalived") == rq.RTPROT_KEEPALIVED
