"""The bus message catalogue: every class round-trips, the event bodies are byte-stable,
``from_body`` refuses anything else with InvalidBody only, docs/messages.md is current."""

from __future__ import annotations

import dataclasses
import pickle
import typing
from pathlib import Path
from typing import Any

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pykeepalived.bus import messages as M

ROOT = Path(__file__).resolve().parents[3]

_LINK = M.NetlinkLink(
    ifname="eth0", ifindex=2, present=True, up=True, running=True, operstate="UP", mtu=1500,
    mac="02:00:00:00:00:01", kind=None, master=None, link=None, flags=0x11043,
)  # fmt: skip
_ADDR = M.NetlinkAddr(
    ifname="eth0", ifindex=2, address="10.0.0.1/24", family="inet", present=True,
    scope="global", label="eth0", peer=None, flags=0x80, secondary=False, tentative=False,
)  # fmt: skip
_RESULT = M.CheckResult("10.0.0.1:80", "tcp", "10.0.0.2:80", "TCP_CHECK", True, "ok", None)
_ITEM = {"address": "10.0.0.9/32", "dev": "eth0"}

#: one sample per catalogue class: the drift test requires every class to be here
SAMPLES: dict[type[M.Message], M.Message] = {
    M.VrrpState: M.VrrpState("VI_1", 51, "inet", "eth0", "MASTER", "BACKUP", 100, "priority"),
    M.VrrpGroup: M.VrrpGroup("G1", "MASTER", "BACKUP"),
    M.VrrpPriority: M.VrrpPriority("VI_1", "BACKUP", 90, 100),
    M.VrrpRxLowerPri: M.VrrpRxLowerPri("VI_1", "10.0.0.3", 50),
    M.CheckResult: _RESULT,
    M.LbRealServer: M.LbRealServer("10.0.0.1:80", "tcp", "10.0.0.2:80", 3, True),
    M.LbQuorum: M.LbQuorum("10.0.0.1:80", "tcp", False),
    M.LbError: M.LbError("10.0.0.1:80", "lb_kind DR needs IPVS"),
    M.NetlinkLink: _LINK,
    M.NetlinkAddr: _ADDR,
    M.NetlinkLost: M.NetlinkLost("addr 10.0.0.9/32 eth0", "addresses", ("vrrp/VI_1",), _ITEM),
    M.NetlinkResync: M.NetlinkResync("overflow", 3),
    M.NetlinkStaticLost: M.NetlinkStaticLost("k", "addresses", "TG", _ITEM, "no eth9"),
    M.NetlinkStaticRestored: M.NetlinkStaticRestored("k", "addresses", "TG", _ITEM),
    M.WatchdogRestart: M.WatchdogRestart("vrrp", 4321, 1234, "no hello reply for 6.0 s"),
    M.ConfigReload: M.ConfigReload(False, ("keepalived.conf:3: unknown keyword 'x'",)),
    M.Hello: M.Hello(),
    M.HelloReply: M.HelloReply(2, 1700000000.5),
    M.Status: M.Status(),
    M.ActorStatus: M.ActorStatus("vrrp", 42, 12.5, 1, {"events.vrrp.state": 2}, {"x": [1]}),
    M.ConfigApply: M.ConfigApply(pickle.dumps({"a": 1}), 3),
    M.ConfigApplied: M.ConfigApplied(3),
    M.Stop: M.Stop(),
    M.Stopped: M.Stopped(),
    M.Memcheck: M.Memcheck(),
    M.MemcheckReport: M.MemcheckReport(True, 10, 20, ({"where": "a.py:1", "size_diff": 5},)),
    M.AddressesSet: M.AddressesSet("vrrp/VI_1", True, (_ITEM,), exclusive=True),
    M.AddressesSetReply: M.AddressesSetReply(1, ()),
    M.NetlinkSnapshotRequest: M.NetlinkSnapshotRequest(),
    M.NetlinkSnapshot: M.NetlinkSnapshot((_LINK,), (_ADDR,)),
    M.CheckerVerdictsRequest: M.CheckerVerdictsRequest(),
    M.CheckerVerdicts: M.CheckerVerdicts((_RESULT,)),
    M.ControlStatus: M.ControlStatus(),
    M.DaemonStatus: M.DaemonStatus({"pid": 1}, {"vrrp": {"alive": True}}),
    M.ControlReload: M.ControlReload(),
    M.ReloadOutcome: M.ReloadOutcome(True, (), 3, 2),
    M.ControlStop: M.ControlStop(),
    M.StopAck: M.StopAck(True, 1),
    M.ControlDump: M.ControlDump(json=True),
    M.DumpReply: M.DumpReply({"parent": {}}, instances=({"data": {}},)),
    M.ControlStats: M.ControlStats(),
    M.StatsReply: M.StatsReply("stats\n"),
}

ALL_IDS = [f"{c.TYPE}:{c.__name__}" for c in M.ALL]


def wire(body: dict[str, Any]) -> Any:
    """The body as a receiver sees it: through msgpack, as the envelope carries it."""
    return msgpack.unpackb(msgpack.packb(body, use_bin_type=True), raw=False)


def test_the_registries_are_consistent() -> None:
    assert set(SAMPLES) == set(M.ALL)
    assert len(M.ALL) == len(set(M.ALL)) == 42
    for registry in (M.EVENTS, M.COMMANDS, M.CONTROL, M.REPLIES):
        for type_, cls in registry.items():
            assert type_ == cls.TYPE and cls.VERSION >= 1
            assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen  # type: ignore[attr-defined]
            assert "__dict__" not in dir(SAMPLES[cls])  # slotted
    assert all(t.startswith("cmd.") for t in (*M.COMMANDS, *M.CONTROL))
    assert all(t.startswith("reply.") for t in M.REPLIES)
    assert not set(M.EVENTS) & set(M.COMMANDS)


@pytest.mark.parametrize("cls", M.ALL, ids=ALL_IDS)
def test_every_class_round_trips_through_msgpack(cls: type[M.Message]) -> None:
    sample = SAMPLES[cls]
    assert type(sample) is cls
    body = sample.to_body()
    assert all(isinstance(k, str) for k in body)
    assert cls.from_body(wire(body)) == sample
    # a newer sender's extra keys are ignored
    assert cls.from_body({**wire(body), "added_in_v2": [1, {"x": None}]}) == sample


@pytest.mark.parametrize("cls", M.ALL, ids=ALL_IDS)
def test_missing_and_mistyped_fields_are_typed_reasons(cls: type[M.Message]) -> None:
    body = wire(SAMPLES[cls].to_body())
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if required:
            with pytest.raises(M.InvalidBody) as missing:
                cls.from_body({k: v for k, v in body.items() if k != f.name})
            assert (missing.value.reason, missing.value.field) == ("missing-field", f.name)
        # a value this field's type refuses: a map, or for a map field a list
        hint = typing.get_type_hints(cls)[f.name]
        wrong: Any = ["a list"] if typing.get_origin(hint) is dict else {"not": "this"}
        with pytest.raises(M.InvalidBody) as bad:
            cls.from_body({**body, f.name: wrong})
        assert bad.value.field == f.name and bad.value.reason in ("bad-type", "bad-value")
    with pytest.raises(M.InvalidBody) as not_a_map:
        cls.from_body(["a", "list"])
    assert not_a_map.value.reason == "not-a-map"


def test_strict_scalar_types_and_values() -> None:
    good = SAMPLES[M.VrrpState].to_body()
    cases = [
        ({"vrid": True}, "bad-type", "vrid"),  # a bool is not an int
        ({"vrid": "51"}, "bad-type", "vrid"),
        ({"priority": 1.5}, "bad-type", "priority"),
        ({"state": "UP"}, "bad-value", "state"),
        ({"family": "ipx"}, "bad-value", "family"),
        ({"instance": ""}, "bad-value", "instance"),
        ({"interface": None}, "bad-type", "interface"),
    ]
    for change, reason, field in cases:
        with pytest.raises(M.InvalidBody) as exc:
            M.VrrpState.from_body({**good, **change})
        assert (exc.value.reason, exc.value.field) == (reason, field), change
    weight = {**SAMPLES[M.CheckResult].to_body(), "weight": False}
    with pytest.raises(M.InvalidBody, match="weight"):
        M.CheckResult.from_body(weight)
    assert M.CheckResult.from_body({**weight, "weight": 7}).weight == 7
    # an int is a fine float (msgpack gives 12 for 12.0 from some senders)
    assert M.HelloReply.from_body({"generation": 1, "ts": 12}).ts == 12


def test_optional_fields_are_left_out_at_their_default() -> None:
    nested = M.CheckerVerdicts((_RESULT,)).to_body()
    assert nested == {"results": [_RESULT.to_body()]} and "stopping" not in nested["results"][0]
    assert "exclusive" not in M.AddressesSet("o", False).to_body()
    assert M.AddressesSet.from_body({"owner": "o", "present": True}).addresses == ()
    assert M.MemcheckReport(False).to_body() == {"enabled": False}
    assert "stopping" not in SAMPLES[M.CheckResult].to_body()
    assert M.LbQuorum.from_body({"virtual_server": "v", "protocol": "tcp", "up": True}) == (
        M.LbQuorum("v", "tcp", True)
    )


# ---- the bodies tap users read (docs/messages.md), pinned byte for byte -----------------------
DESIGN_BODIES: list[tuple[M.Event, dict[str, Any]]] = [
    (
        M.VrrpState("VI_1", 51, "inet6", "eth0", "MASTER", "BACKUP", 150, "master_down"),
        {"instance": "VI_1", "vrid": 51, "family": "inet6", "interface": "eth0",
         "state": "MASTER", "prev": "BACKUP", "priority": 150, "reason": "master_down"},
    ),
    (M.VrrpGroup("G1", "FAULT", "MASTER"), {"group": "G1", "state": "FAULT", "prev": "MASTER"}),
    (
        M.CheckResult("[2001:db8::1]:80", "tcp", "[2001:db8::2]:80", "MISC_CHECK", False,
                      "exit 1", 7),
        {"virtual_server": "[2001:db8::1]:80", "protocol": "tcp",
         "real_server": "[2001:db8::2]:80", "checker": "MISC_CHECK", "up": False,
         "reason": "exit 1", "weight": 7},
    ),
    (
        M.CheckResult("fwmark:7", "udp", "10.0.0.2:53", "DNS_CHECK", True, "ok", None),
        {"virtual_server": "fwmark:7", "protocol": "udp", "real_server": "10.0.0.2:53",
         "checker": "DNS_CHECK", "up": True, "reason": "ok", "weight": None},
    ),
    (
        M.LbRealServer("group:WEB", "sctp", "10.0.0.2:80", 0, False),
        {"virtual_server": "group:WEB", "protocol": "sctp", "real_server": "10.0.0.2:80",
         "weight": 0, "active": False},
    ),
    (M.LbQuorum("10.0.0.1:80", "tcp", True),
     {"virtual_server": "10.0.0.1:80", "protocol": "tcp", "up": True}),
    (
        _LINK,
        {"ifname": "eth0", "ifindex": 2, "present": True, "up": True, "running": True,
         "operstate": "UP", "mtu": 1500, "mac": "02:00:00:00:00:01", "kind": None,
         "master": None, "link": None, "flags": 0x11043},
    ),
    (
        _ADDR,
        {"ifname": "eth0", "ifindex": 2, "address": "10.0.0.1/24", "family": "inet",
         "present": True, "scope": "global", "label": "eth0", "peer": None, "flags": 0x80,
         "secondary": False, "tentative": False},
    ),
    (M.WatchdogRestart("netlink", 200, None, "exit code 3"),
     {"child": "netlink", "pid": 200, "old_pid": None, "reason": "exit code 3"}),
    (M.ConfigReload(True, ()), {"ok": True, "errors": []}),
    (M.ConfigReload(False, ("a", "b")), {"ok": False, "errors": ["a", "b"]}),
]  # fmt: skip


@pytest.mark.parametrize("msg,expected", DESIGN_BODIES, ids=[m.TYPE for m, _ in DESIGN_BODIES])
def test_design_bodies_are_byte_compatible(msg: M.Event, expected: dict[str, Any]) -> None:
    assert msg.to_body() == expected
    assert list(msg.to_body()) == list(expected)  # same key order: the same msgpack bytes
    packed = msgpack.packb(msg.to_body(), use_bin_type=True)
    assert packed == msgpack.packb(expected, use_bin_type=True)
    assert type(msg).from_body(msgpack.unpackb(packed, raw=False)) == msg


def test_one_pinned_encoding() -> None:
    """The exact bytes of one body, so a change of the codec itself shows too."""
    packed = msgpack.packb(M.LbQuorum("v", "tcp", True).to_body(), use_bin_type=True)
    assert (
        packed.hex()
        == "83ae7669727475616c5f736572766572a176a870726f746f636f6ca3746370a2" + "7570c3"
    )


def test_producers_build_the_design_bodies() -> None:
    """The pure cores that build events give the same maps as the hand-written ones."""
    from pykeepalived.actors.netlink.model import Addr, InterfaceTable, Link

    table = InterfaceTable()
    [link] = table.update_link(Link(2, "eth0", 0x11043, "UP", 1500, "02:00:00:00:00:01"))
    [addr] = table.update_addr(Addr(2, "inet", "10.0.0.1/24", 0, "eth0", None, 0x80))
    assert (link.to_body(), addr.to_body()) == (DESIGN_BODIES[6][1], DESIGN_BODIES[7][1])


# ---- fuzz: from_body never raises anything but InvalidBody ----------------------------
_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**64), 2**64), st.floats(allow_nan=True),
    st.text(max_size=8), st.binary(max_size=8),
)  # fmt: skip
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.one_of(st.text(max_size=8), st.integers()), inner, max_size=4)
    ),
    max_leaves=12,
)

#: what can arrive: the envelope's msgpack decoding allows only str map keys
_wire_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cls=st.sampled_from(M.ALL), data=_values)
def test_fuzz_arbitrary_values(cls: type[M.Message], data: Any) -> None:
    try:
        cls.from_body(data)
    except M.InvalidBody:
        pass


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cls=st.sampled_from(M.ALL), value=_wire_values, pick=st.integers(0, 50), drop=st.booleans())
def test_fuzz_near_valid_bodies(cls: type[M.Message], value: Any, pick: int, drop: bool) -> None:
    body = wire(SAMPLES[cls].to_body())
    names = [f.name for f in dataclasses.fields(cls)] or ["x"]  # type: ignore[arg-type]
    name = names[pick % len(names)]
    if drop:
        body.pop(name, None)
    else:
        body[name] = value
    try:
        msg = cls.from_body(body)
    except M.InvalidBody as exc:
        assert exc.reason in ("missing-field", "bad-type", "bad-value")
        return
    again = cls.from_body(wire(msg.to_body()))
    # compared as packed bytes: a NaN a free-form field carries is never equal to itself
    assert type(msg) is cls and _packed(again) == _packed(msg)


def _packed(msg: M.Message) -> bytes:
    return bytes(msgpack.packb(msg.to_body(), use_bin_type=True))


# ---- the markdown rendering --------------------------------------------------------------
def test_docs_messages_md_is_current() -> None:
    path = ROOT / "docs" / "messages.md"
    assert path.read_text() == M.render_markdown(), (
        "docs/messages.md is stale: run  python -m pykeepalived.bus.messages > docs/messages.md"
    )


def test_the_rendering_names_every_type() -> None:
    text = M.render_markdown()
    for cls in M.ALL:
        assert f"`{cls.TYPE}` — `{cls.__name__}`" in text
