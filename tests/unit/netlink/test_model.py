"""The pure interface table: normalisers, change events, resync after a lost notification."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pykeepalived.actors.netlink.model import (
    Addr,
    InterfaceTable,
    Link,
    addr_from_msg,
    address_change_line,
    link_from_msg,
)


def wire(events: list[Any]) -> list[tuple[str, dict[str, Any]]]:
    """The table's events as (type, body) on the wire."""
    return [(e.TYPE, e.to_body()) for e in events]


def link_msg(index: int = 2, name: str = "eth0", flags: int = 0x11043, **kw: Any) -> dict[str, Any]:
    msg: dict[str, Any] = {
        "index": index,
        "IFLA_IFNAME": name,
        "flags": flags,
        "IFLA_OPERSTATE": "UP",
        "IFLA_MTU": 1500,
        "IFLA_ADDRESS": "02:00:00:00:00:01",
    }
    msg.update(kw)
    return msg


def addr_msg(
    index: int = 2,
    family: int = 2,
    local: str | None = "10.0.0.1",
    address: str | None = "10.0.0.1",
    plen: int = 24,
    **kw: Any,
) -> dict[str, Any]:
    msg: dict[str, Any] = {
        "index": index,
        "family": family,
        "prefixlen": plen,
        "IFA_LOCAL": local,
        "IFA_ADDRESS": address,
    }
    msg.update(kw)
    return msg


def test_link_from_msg_reads_state_kind_master_and_parent() -> None:
    link = link_from_msg(
        link_msg(IFLA_LINKINFO={"IFLA_INFO_KIND": "macvlan"}, IFLA_MASTER=5, IFLA_LINK=3)
    )
    assert link == Link(
        ifindex=2,
        ifname="eth0",
        flags=0x11043,
        operstate="UP",
        mtu=1500,
        mac="02:00:00:00:00:01",
        kind="macvlan",
        master=5,
        link=3,
    )
    assert link.up and link.running
    down = link_from_msg(link_msg(flags=0x1002))
    assert not down.up and not down.running


def test_link_without_name_is_refused() -> None:
    with pytest.raises(ValueError):
        link_from_msg({"index": 3})


def test_addr_from_msg_plain_peer_and_ipv6() -> None:
    a = addr_from_msg(addr_msg(IFA_LABEL="eth0:1", scope=0, IFA_FLAGS=0x80))
    assert (a.address, a.label, a.peer, a.flags) == ("10.0.0.1/24", "eth0:1", None, 0x80)
    p = addr_from_msg(addr_msg(local="10.0.0.1", address="10.0.0.2", plen=32))
    assert (p.address, p.peer) == ("10.0.0.1/32", "10.0.0.2/32")
    six = addr_from_msg(addr_msg(family=10, local=None, address="FD00::0001", plen=64, flags=0x40))
    assert (six.family, six.address, six.flags) == ("inet6", "fd00::1/64", 0x40)
    with pytest.raises(ValueError):
        addr_from_msg(addr_msg(family=7))
    with pytest.raises(ValueError):
        addr_from_msg(addr_msg(local=None, address=None))


def test_table_publishes_changes_only() -> None:
    t = InterfaceTable()
    [(kind, body)] = wire(t.update_link(link_from_msg(link_msg())))
    assert kind == "netlink.link"
    assert {
        k: body[k]
        for k in ("ifname", "ifindex", "up", "running", "mtu", "mac", "kind", "master", "present")
    } == {
        "ifname": "eth0",
        "ifindex": 2,
        "up": True,
        "running": True,
        "mtu": 1500,
        "mac": "02:00:00:00:00:01",
        "kind": None,
        "master": None,
        "present": True,
    }
    assert t.update_link(link_from_msg(link_msg())) == []  # nothing changed
    [(_, down)] = wire(t.update_link(link_from_msg(link_msg(flags=0x1002))))
    assert (down["up"], down["running"]) == (False, False)
    [(kind, a)] = wire(t.update_addr(addr_from_msg(addr_msg())))
    assert kind == "netlink.addr"
    assert {k: a[k] for k in ("ifname", "ifindex", "address", "family", "present")} == {
        "ifname": "eth0",
        "ifindex": 2,
        "address": "10.0.0.1/24",
        "family": "inet",
        "present": True,
    }
    assert t.update_addr(addr_from_msg(addr_msg())) == []
    assert t.remove_addr(addr_from_msg(addr_msg(plen=16))) == []  # not there
    [(_, gone)] = wire(t.remove_addr(addr_from_msg(addr_msg())))
    assert gone["present"] is False and t.address_count() == 0


def test_removed_link_takes_its_addresses_and_master_is_named() -> None:
    t = InterfaceTable()
    t.update_link(link_from_msg(link_msg(index=5, name="br0")))
    t.update_link(link_from_msg(link_msg(IFLA_MASTER=5)))
    assert t.link_body(t.links[2]).master == "br0"
    t.update_addr(addr_from_msg(addr_msg()))
    events = wire(t.remove_link(2))
    assert [(k, b["present"]) for k, b in events] == [
        ("netlink.addr", False),
        ("netlink.link", False),
    ]
    assert events[0][1]["ifname"] == "eth0"
    assert t.ifindex("eth0") is None and t.remove_link(2) == []


def test_rename_moves_the_name_index() -> None:
    t = InterfaceTable()
    t.update_link(link_from_msg(link_msg()))
    t.update_link(link_from_msg(link_msg(name="wan0")))
    assert t.ifindex("eth0") is None and t.ifindex("wan0") == 2


def test_resync_reports_exact_differences_in_order() -> None:
    t = InterfaceTable()
    t.update_link(link_from_msg(link_msg()))
    t.update_link(link_from_msg(link_msg(index=3, name="eth1")))
    t.update_addr(addr_from_msg(addr_msg()))
    t.update_addr(addr_from_msg(addr_msg(index=3, local="10.1.0.1", address="10.1.0.1")))
    links = [link_from_msg(link_msg(flags=0x1003)), link_from_msg(link_msg(index=4, name="eth2"))]
    addrs = [
        addr_from_msg(addr_msg()),
        addr_from_msg(addr_msg(local="10.0.0.9", address="10.0.0.9")),
    ]
    events = wire(t.resync(links, addrs))
    summary = [(k, b["ifname"], b.get("address"), b["present"]) for k, b in events]
    assert summary == [
        ("netlink.link", "eth0", None, True),  # changed flags
        ("netlink.link", "eth2", None, True),  # new
        ("netlink.addr", "eth1", "10.1.0.1/24", False),
        ("netlink.addr", "eth0", "10.0.0.9/24", True),
        ("netlink.link", "eth1", None, False),
    ]
    assert t.resync(links, addrs) == []


def test_snapshot_and_log_line() -> None:
    t = InterfaceTable()
    t.update_link(link_from_msg(link_msg()))
    t.update_addr(addr_from_msg(addr_msg()))
    snap = t.snapshot()
    assert [link.ifname for link in snap.links] == ["eth0"]
    assert [a.address for a in snap.addrs] == ["10.0.0.1/24"]
    addr = snap.addrs[0]
    assert address_change_line(addr) == "Netlink reflector reports IP 10.0.0.1 added to eth0"
    assert address_change_line(replace(addr, present=False)).endswith("removed from eth0")


_addrs = st.builds(
    Addr,
    ifindex=st.sampled_from([2, 3]),
    family=st.just("inet"),
    address=st.sampled_from([f"10.0.0.{i}/{p}" for i in range(1, 5) for p in (24, 32)]),
)


@settings(deadline=None, max_examples=100)
@given(
    ops=st.lists(st.tuples(st.booleans(), _addrs), max_size=30), final=st.lists(_addrs, max_size=8)
)
def test_resync_always_converges_to_the_dump(
    ops: list[tuple[bool, Addr]], final: list[Addr]
) -> None:
    """Whatever the table held, events from a resync turn a mirror of it into the dump."""
    t = InterfaceTable()
    links = [Link(2, "eth0", 0x1043), Link(3, "eth1", 0x1043)]
    t.resync(links, [])
    for add, a in ops:
        (t.update_addr if add else t.remove_addr)(a)
    mirror = {(b.ifindex, b.address) for b in (t.addr_body(a) for a in t.addresses())}
    for kind, body in wire(t.resync(links, final)):
        if kind == "netlink.addr":
            key = (body["ifindex"], body["address"])
            (mirror.add if body["present"] else mirror.discard)(key)
    assert mirror == {(a.ifindex, a.address) for a in final}
    assert mirror == {(a.ifindex, a.address) for a in t.addresses()}
