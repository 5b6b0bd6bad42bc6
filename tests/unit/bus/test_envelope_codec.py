"""The envelope and codec: round trips for every message type, and hostile input."""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass, field

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pykeepalived.bus.codec import from_wire, to_wire
from pykeepalived.bus.envelope import Envelope, MalformedMessage, decode, encode

# one body per event type of docs/messages.md, plus a command and a reply
BODIES = {
    "vrrp.state": {"instance": "VI_1", "vrid": 51, "family": "inet", "interface": "eth0",
                   "state": "MASTER", "prev": "BACKUP", "priority": 100, "reason": "master-down"},
    "vrrp.group": {"group": "G1", "state": "MASTER", "prev": "BACKUP"},
    "check.result": {"virtual_server": "10.0.0.1:80", "protocol": "tcp",
                     "real_server": "[2001:db8::2]:80", "checker": "HTTP_GET", "up": False,
                     "reason": "status 503", "weight": None},
    "lb.realserver": {"virtual_server": "fwmark:7", "protocol": "tcp",
                      "real_server": "10.0.0.2:80", "weight": 3, "active": True},
    "lb.quorum": {"virtual_server": "group:WEB", "protocol": "udp", "up": True},
    "netlink.link": {"ifname": "eth0", "ifindex": 2, "up": True},
    "netlink.addr": {"ifname": "eth0", "ifindex": 2, "address": "10.0.0.1/24"},
    "watchdog.restart": {"child": "vrrp", "pid": 20, "old_pid": 10, "reason": "killed"},
    "config.reload": {"ok": False, "errors": ["keepalived.conf:3: unknown keyword"]},
}  # fmt: skip


def _env(type_: str, body: dict, **kw: object) -> Envelope:
    return Envelope(type=type_, src="vrrp", host="lb1", pid=42, seq=7, ts=1.5, body=body, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("type_", sorted(BODIES))
def test_event_round_trip(type_: str) -> None:
    env = _env(type_, BODIES[type_])
    frames = encode(env)
    assert frames[0] == type_.encode()
    back = decode(frames)
    assert back == env and back.is_event
    assert set(msgpack.unpackb(frames[1])) == {
        "v",
        "type",
        "src",
        "host",
        "pid",
        "seq",
        "ts",
        "body",
    }


def test_command_and_reply_round_trip() -> None:
    cmd = _env("cmd.addresses.set", {"owner": "vrrp/VI_1", "present": True}, to="netlink", id=3)
    assert decode(encode(cmd)) == cmd and cmd.is_command and cmd.command == "addresses.set"
    rep = _env("reply", {"ok": True, "result": {"applied": 1}}, to="vrrp", id=3)
    assert decode(encode(rep)).is_reply


@pytest.mark.parametrize(
    ("frames", "reason"),
    [
        ([b"x"], "frame-count"),
        ([b"a", b"\xc1"], "not-msgpack"),
        ([b"a", msgpack.packb([1, 2])], "not-a-map"),
        ([b"a", msgpack.packb({"v": 1})], "missing-key"),
        ([b"other", encode(_env("vrrp.state", {}))[1]], "topic-mismatch"),
        ([b"a", msgpack.packb({1: 2})], "not-msgpack"),  # int keys refused by strict_map_key
        ([b"cmd.x", encode(_env("cmd.x", {}))[1]], "unaddressed"),
    ],
)
def test_malformed_frames_raise_typed_errors(frames: list[bytes], reason: str) -> None:
    with pytest.raises(MalformedMessage) as info:
        decode(frames)
    assert info.value.reason == reason


def test_bad_field_types() -> None:
    good = msgpack.unpackb(encode(_env("a.b", {}))[1])
    for key, bad in (("pid", "1"), ("seq", True), ("body", []), ("v", 2), ("ts", "now")):
        data = dict(good, **{key: bad})
        with pytest.raises(MalformedMessage):
            decode([b"a.b", msgpack.packb(data)])


@settings(deadline=None, max_examples=300)
@given(st.lists(st.binary(max_size=200), max_size=4))
def test_random_bytes_only_raise_malformed(frames: list[bytes]) -> None:
    try:
        decode(frames)
    except MalformedMessage:
        pass


class Color(enum.Enum):
    RED = "red"


@dataclass(frozen=True)
class Inner:
    address: str
    prefix: int | None = None


@dataclass(frozen=True)
class Outer:
    name: str
    items: tuple[Inner, ...] = ()
    color: Color = Color.RED
    ratio: float = 1.0
    tags: dict[str, int] = field(default_factory=dict)


def test_to_wire_and_back() -> None:
    obj = Outer("x", (Inner("10.0.0.1", 24), Inner("::1")), Color.RED, 2.0, {"a": 1})
    wire = to_wire(obj)
    assert wire["items"][0] == {"address": "10.0.0.1", "prefix": 24}
    assert wire["color"] == "red"
    packed = msgpack.unpackb(msgpack.packb(wire), raw=False)
    assert from_wire(Outer, packed) == obj


def test_to_wire_explicit_conversions() -> None:
    assert to_wire({1: ipaddress.ip_address("10.0.0.1")}) == {"1": "10.0.0.1"}
    assert to_wire((1, 2)) == [1, 2]
    assert from_wire(Outer, {"name": "n", "ratio": 3}).ratio == 3.0
    with pytest.raises(TypeError):
        to_wire(object())
    with pytest.raises(TypeError):
        from_wire(Outer, {"name": 5})
