"""The bus envelope (docs/ARCHITECTURE.md §3), as data, with its msgpack form and validation.

Every message on the bus is a two-frame multipart ``[topic, payload]``. ``topic`` is the
message type as bytes, so SUB prefix filtering works; ``payload`` is a msgpack map with the
keys below. Events carry exactly these keys. Commands and replies, which never reach the
event tap, add ``to`` (the addressee actor) and ``id`` (the request id the reply echoes).

Message kinds are told apart by type:

- events: dotted names such as ``vrrp.state``;
- commands: ``cmd.<command>`` (for example ``cmd.netlink.addresses.set``), addressed with ``to``;
- replies: ``reply``, with the request's ``id`` and a body ``{"ok": bool, "result"|"error"}``.

Bodies are described by the catalogue in ``bus/messages.py`` (one class per event,
command and reply). The body of ``cmd.config.apply`` carries the parent's pickled
``Config`` as bytes (both ends are processes of one daemon).

Decoding never trusts the sender: anything that is not a well-formed envelope raises
``MalformedMessage`` with a reason, which the receiver counts and drops.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import msgpack

SCHEMA_VERSION = 1
COMMAND_PREFIX = "cmd."
REPLY_TYPE = "reply"
MAX_PAYLOAD = 16 * 1024 * 1024

ACTOR_NAMES = ("parent", "vrrp", "checker", "ipvs", "netlink", "notifier")


class MalformedMessage(ValueError):
    """A frame that is not a valid envelope; ``reason`` is a short counter-friendly tag."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Envelope:
    type: str
    src: str
    host: str
    pid: int
    seq: int
    ts: float
    body: dict[str, Any] = field(default_factory=dict)
    v: int = SCHEMA_VERSION
    to: str | None = None
    id: int | None = None

    @property
    def is_command(self) -> bool:
        return self.type.startswith(COMMAND_PREFIX)

    @property
    def is_reply(self) -> bool:
        return self.type == REPLY_TYPE

    @property
    def is_event(self) -> bool:
        return not (self.is_command or self.is_reply)

    @property
    def command(self) -> str:
        """The command name of a command envelope (``cmd.netlink.snapshot`` → its tail)."""
        return self.type[len(COMMAND_PREFIX) :]

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "v": self.v,
            "type": self.type,
            "src": self.src,
            "host": self.host,
            "pid": self.pid,
            "seq": self.seq,
            "ts": self.ts,
            "body": self.body,
        }
        if self.to is not None:
            out["to"] = self.to
        if self.id is not None:
            out["id"] = self.id
        return out


def encode(env: Envelope) -> list[bytes]:
    """The two frames of an envelope. ``body`` must already be wire-safe (see codec.to_wire)."""
    try:
        payload = msgpack.packb(env.as_dict(), use_bin_type=True)
    except (TypeError, ValueError) as exc:
        raise MalformedMessage("unencodable", str(exc)) from exc
    return [env.type.encode(), payload]


_FIELDS: tuple[tuple[str, type | tuple[type, ...]], ...] = (
    ("v", int),
    ("type", str),
    ("src", str),
    ("host", str),
    ("pid", int),
    ("seq", int),
    ("ts", (float, int)),
    ("body", dict),
)


def decode(frames: list[bytes]) -> Envelope:
    """Parse ``[topic, payload]``; raise MalformedMessage for anything else."""
    if len(frames) != 2:
        raise MalformedMessage("frame-count", f"{len(frames)} frames")
    topic, payload = frames
    if len(payload) > MAX_PAYLOAD:
        raise MalformedMessage("too-large", f"{len(payload)} bytes")
    try:
        data = msgpack.unpackb(payload, raw=False, strict_map_key=True)
    except Exception as exc:  # msgpack raises many types for garbage
        raise MalformedMessage("not-msgpack", type(exc).__name__) from exc
    if not isinstance(data, dict):
        raise MalformedMessage("not-a-map")
    for key, kind in _FIELDS:
        if key not in data:
            raise MalformedMessage("missing-key", key)
        value = data[key]
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
            raise MalformedMessage("bad-type", key)
    if data["v"] != SCHEMA_VERSION:
        raise MalformedMessage("bad-version", str(data["v"]))
    try:
        topic_text = topic.decode()
    except UnicodeDecodeError as exc:
        raise MalformedMessage("bad-topic", "not utf-8") from exc
    if topic_text != data["type"]:
        raise MalformedMessage("topic-mismatch", topic_text[:64])
    if not all(isinstance(k, str) for k in data["body"]):
        raise MalformedMessage("bad-type", "body keys")
    to = data.get("to")
    msg_id = data.get("id")
    if to is not None and not isinstance(to, str):
        raise MalformedMessage("bad-type", "to")
    if msg_id is not None and (not isinstance(msg_id, int) or isinstance(msg_id, bool)):
        raise MalformedMessage("bad-type", "id")
    env = Envelope(
        type=data["type"],
        src=data["src"],
        host=data["host"],
        pid=data["pid"],
        seq=data["seq"],
        ts=float(data["ts"]),
        body=data["body"],
        v=data["v"],
        to=to,
        id=msg_id,
    )
    if (env.is_command or env.is_reply) and (to is None or msg_id is None):
        raise MalformedMessage("unaddressed", env.type)
    return env


def peek_route(frames: list[bytes]) -> tuple[str, str | None]:
    """Type and addressee of a message, for the broker. Validates fully (cheap at our sizes)."""
    env = decode(frames)
    return env.type, env.to


class BusPort(Protocol):
    """What an actor needs of its bus connection: ``BusClient``, or ``InMemoryPort`` in tests."""

    def envelope(
        self, type_: str, body: dict[str, Any], *, to: str | None = None, id_: int | None = None
    ) -> Envelope: ...

    def send(self, env: Envelope) -> bool: ...

    async def recv_direct(self) -> Envelope | None: ...

    async def recv_event(self) -> Envelope | None: ...

    def close(self) -> None: ...
