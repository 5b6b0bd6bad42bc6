"""addresses.set in a namespace: every address, route and rule form, read back with ``ip``."""

from __future__ import annotations

from typing import Any

import pytest

from pykeepalived.actors.netlink.actor import Reflector
from pykeepalived.bus.codec import to_wire
from pykeepalived.conf.model import Family, IPAddress, Nexthop, Route, Rule
from tests.integration.netlink.harness import Harness, aset, run

pytestmark = pytest.mark.netns


def A(address: str, **kw: Any) -> dict[str, Any]:
    fam = Family.INET6 if ":" in address else Family.INET
    return to_wire(IPAddress(address=address, family=fam, dev=kw.pop("dev", "eth0"), **kw))


def R(dest: str, **kw: Any) -> dict[str, Any]:
    return to_wire(Route(dest=dest, **kw))


def U(**kw: Any) -> dict[str, Any]:
    return to_wire(Rule(**kw))


async def _started(h: Harness) -> Reflector:
    r = h.reflector()
    await r.start({})
    return r


def test_address_forms_applied_and_read_back(harness: Harness) -> None:
    h = harness
    lab = h.host.lab
    v1, v2, v3, v4 = lab.vip(201), lab.vip(202), lab.vip(203), lab.vip(204)
    v6 = lab.vip6(0x201)

    async def body() -> None:
        r = await _started(h)
        items = [
            A(f"{v1}/32"),
            A(f"{v2}/24", label="eth0:vip2", broadcast="+"),
            A(f"{v3}/32", scope="link"),
            A(f"{v4}/32", peer="192.0.2.9/32"),
            A(f"{v6}/128", nodad=True, preferred_lft=0),
        ]
        reply = await aset(r, {"owner": "vrrp/VI_1", "present": True, "addresses": items})
        assert reply == {"applied": 5, "errors": []}
        out = h.ip("-o", "addr", "show", "dev", "eth0")
        assert f"inet {v1}/32 scope global eth0" in out
        assert f"inet {v2}/24 brd {lab.vip(255)} scope global secondary eth0:vip2" in out
        assert f"inet {v3}/32 scope link eth0" in out
        assert f"inet {v4} peer 192.0.2.9/32 scope global eth0" in out
        line6 = next(line for line in out.splitlines() if f"{v6}/128" in line)
        assert "nodad" in line6 and "deprecated" in line6 and "preferred_lft 0sec" in line6
        # idempotent: the same set again is a success and changes nothing
        again = await aset(r, {"owner": "vrrp/VI_1", "present": True, "addresses": items})
        assert again == {"applied": 5, "errors": []}
        # the table saw them, the events name them
        await h.until(lambda: len([b for b in h.of("netlink.addr") if b["present"]]) >= 7)
        assert {f"{v1}/32", f"{v4}/32"} <= {b["address"] for b in h.of("netlink.addr")}
        gone = await aset(r, {"owner": "vrrp/VI_1", "present": False, "addresses": items})
        assert gone == {"applied": 5, "errors": []}
        out = h.ip("-o", "addr", "show", "dev", "eth0")
        for v in (v1, v2, v3, v4, v6):
            assert f" {v}/" not in out and f" {v} " not in out
        # removing what is gone is a success too
        assert (await aset(r, {"owner": "vrrp/VI_1", "present": False, "addresses": items}))[
            "errors"
        ] == []
        await r.stop()

    run(body())


def test_route_forms_applied_and_read_back(harness: Harness) -> None:
    h = harness
    lab = h.host.lab
    gw = lab.hosts["b"].ipv4
    me = h.host.ipv4

    async def body() -> None:
        r = await _started(h)
        routes = [
            R("198.51.100.0/24", via=gw, dev="eth0", src=me, metric=7, table="100"),
            R("198.51.101.0/24", dev="eth0", scope="link", protocol="static"),
            R("198.51.102.0/24", type="blackhole"),
            R("198.51.103.0/24", type="unreachable"),
            R("198.51.104.0/24", type="prohibit"),
            R(
                "198.51.105.0/24",
                nexthops=(
                    Nexthop(via=gw, dev="eth0", weight=2),
                    Nexthop(via=lab.vip(3), dev="eth0", weight=1),
                ),
            ),
            R("default", via=gw, table="101"),
            R("2001:db8:5::/64", family=Family.INET6, via=lab.hosts["b"].ipv6, dev="eth0"),
        ]
        reply = await aset(r, {"owner": "static", "present": True, "routes": routes})
        assert reply == {"applied": 8, "errors": []}
        t100 = h.ip("route", "show", "table", "100")
        assert f"198.51.100.0/24 via {gw} dev eth0 proto keepalived src {me} metric 7" in t100
        main = h.ip("route", "show")
        assert "198.51.101.0/24 dev eth0 proto static scope link" in main
        assert "blackhole 198.51.102.0/24 proto keepalived" in main
        assert "unreachable 198.51.103.0/24 proto keepalived" in main
        assert "prohibit 198.51.104.0/24 proto keepalived" in main
        mp = main[main.index("198.51.105.0/24") :]
        assert f"nexthop via {gw} dev eth0 weight 2" in mp
        assert f"nexthop via {lab.vip(3)} dev eth0 weight 1" in mp
        assert f"default via {gw} dev eth0 proto keepalived" in h.ip(
            "route", "show", "table", "101"
        )
        assert "2001:db8:5::/64 via" in h.ip("-6", "route", "show")
        again = await aset(r, {"owner": "static", "present": True, "routes": routes})
        assert again["errors"] == []
        gone = await aset(r, {"owner": "static", "present": False, "routes": routes})
        assert gone == {"applied": 8, "errors": []}
        assert "198.51.1" not in h.ip("route", "show", "table", "all")
        await r.stop()

    run(body())


def test_rule_forms_applied_and_read_back(harness: Harness) -> None:
    h = harness

    async def body() -> None:
        r = await _started(h)
        rules = [
            U(from_="10.0.0.0/8", table="100", priority=100),
            U(to="10.9.0.0/16", action="blackhole", priority=101),
            U(fwmark=5, fwmask=0xFF, iif="eth0", table="100", priority=102),
            U(oif="eth0", table="main", priority=103),
            U(from_="10.1.0.0/16", not_=True, action="unreachable", priority=104),
            U(action="goto", goto=110, priority=105),
            U(action="prohibit", priority=106, ipproto="tcp", sport="80-90", dport="443"),
            U(uidrange="1000-2000", action="nop", priority=107),
            U(family=Family.INET6, from_="fd00::/16", table="100", priority=108),
            U(table="100", priority=109, tos=16, suppress_prefixlength=0),
        ]
        reply = await aset(r, {"owner": "vrrp/VI_1", "present": True, "rules": rules})
        assert reply == {"applied": 10, "errors": []}
        out = h.ip("rule", "show")
        assert "100:\tfrom 10.0.0.0/8 lookup 100 proto keepalived" in out
        assert "101:\tfrom all to 10.9.0.0/16 blackhole proto keepalived" in out
        assert "102:\tfrom all fwmark 0x5/0xff iif eth0 lookup 100 proto keepalived" in out
        assert "103:\tfrom all oif eth0 lookup main proto keepalived" in out
        assert "104:\tnot from 10.1.0.0/16 unreachable proto keepalived" in out
        assert "105:\tfrom all goto 110 [unresolved] proto keepalived" in out
        assert "106:\tfrom all ipproto tcp sport 80-90 dport 443 prohibit proto keepalived" in out
        assert "107:\tfrom all uidrange 1000-2000 nop proto keepalived" in out
        assert "109:\tfrom all tos 0x10 lookup 100 suppress_prefixlength 0 proto keepalived" in out
        assert "108:\tfrom fd00::/16 lookup 100 proto keepalived" in h.ip("-6", "rule", "show")
        again = await aset(r, {"owner": "vrrp/VI_1", "present": True, "rules": rules})
        assert again["errors"] == []
        assert h.ip("rule", "show").count("100:\t") == 1
        gone = await aset(r, {"owner": "vrrp/VI_1", "present": False, "rules": rules})
        assert gone == {"applied": 10, "errors": []}
        assert "keepalived" not in h.ip("rule", "show") + h.ip("-6", "rule", "show")
        await r.stop()

    run(body())
