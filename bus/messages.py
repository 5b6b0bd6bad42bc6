"""The bus's message catalogue: one typed class per event body and per command and reply.

Every producer builds a body through a class here and every consumer reads one through
it, so a message's shape is written down once. Each class says:

* ``TYPE``: the wire type (the envelope's ``type``; ``cmd.<name>`` for a command, and a
  catalogue-only name ``reply.<name>`` for a command's reply body, which travels inside
  the ``reply`` envelope's ``result``);
* ``VERSION``: the body's schema version (1 for all; raise it on an incompatible change);
* ``PRODUCERS``: the actors that publish the event, call the command or send the reply;
* ``CONSUMERS``: the actors that act on the event (an actor may subscribe to a prefix and
  ignore some types; an event nobody consumes is for tap users), answer the command or
  read the reply. ``ctl`` is pykeepalivectl, on the parent's control socket.

``tests/unit/bus/test_drift.py`` checks these declarations against the code.

``to_body()`` is exactly the map on the wire (the event bodies of docs/ARCHITECTURE.md §3
are byte-compatible with what the producers sent before this catalogue existed).
``from_body(d)`` checks every field's type strictly (a bool is not an int, addresses are
strings), ignores keys it does not know (a newer sender may add some), fills optional
fields' defaults, and raises
:class:`InvalidBody` with a counter-friendly ``reason`` for anything else, never another
exception. The actor runtime reads every incoming body through it (``actors/base.py``).

This module is pure (no I/O imports), so pure cores may import it. ``python -m
pykeepalived.bus.messages`` prints the catalogue as markdown (``docs/messages.md``).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from pykeepalived.bus.codec import from_wire, to_wire

__all__ = [
    "InvalidBody",
    "Message",
    "Event",
    "Command",
    "Reply",
    "EVENTS",
    "COMMANDS",
    "CONTROL",
    "REPLIES",
    "ALL",
    "event_class",
    "render_markdown",
]

#: the actors of docs/ARCHITECTURE.md §1, plus the control-socket client
RUNTIME_ACTORS = ("vrrp", "checker", "ipvs", "netlink", "notifier")
#: the instance states of actors/vrrp/fsm.py, plus keepalived's DELETED
#: (``notify_deleted``: an instance a reload removed), which the notifier handles and no
#: producer sends today
VRRP_STATES = frozenset({"INIT", "BACKUP", "MASTER", "FAULT", "STOP", "DELETED"})
FAMILIES = frozenset({"inet", "inet6"})
PROTOCOLS = frozenset({"tcp", "udp", "sctp"})


class InvalidBody(ValueError):
    """A body that does not fit its class. ``reason``: ``not-a-map``, ``missing-field``,
    ``bad-type`` or ``bad-value``; ``field``: the field concerned (or "")."""

    def __init__(self, reason: str, field: str = "", detail: str = "") -> None:
        text = reason + (f" {field}" if field else "") + (f": {detail}" if detail else "")
        super().__init__(text)
        self.reason = reason
        self.field = field
        self.detail = detail


def omit_when(value: Any) -> dict[str, Any]:
    """Field metadata: leave the key out of ``to_body()`` when the field equals ``value``."""
    return {"omit": value}


class Message:
    """Base of every catalogue class (frozen, slotted dataclasses)."""

    __slots__ = ()

    TYPE: ClassVar[str] = ""
    VERSION: ClassVar[int] = 1
    PRODUCERS: ClassVar[tuple[str, ...]] = ()
    CONSUMERS: ClassVar[tuple[str, ...]] = ()
    #: fields that must be non-empty strings
    NONEMPTY: ClassVar[tuple[str, ...]] = ()
    #: field -> the values it may take
    CHOICES: ClassVar[dict[str, frozenset[Any]]] = {}

    def to_body(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if "omit" in f.metadata and value == f.metadata["omit"]:
                continue
            out[f.name] = _wire(value)
        return out

    @classmethod
    def from_body(cls, body: Any) -> Self:
        if not isinstance(body, dict):
            raise InvalidBody("not-a-map", "", type(body).__name__)
        try:
            return cls._build(body)
        except InvalidBody:
            raise
        except Exception as exc:  # the promise: nothing but InvalidBody comes out
            raise InvalidBody("bad-value", "", f"{type(exc).__name__}: {exc}") from None

    @classmethod
    def _build(cls, body: dict[str, Any]) -> Self:
        kwargs: dict[str, Any] = {}
        for name, required, convert in _plan(cls):
            if name not in body:
                if required:
                    raise InvalidBody("missing-field", name)
                continue
            try:
                kwargs[name] = convert(body[name])
            except (TypeError, ValueError) as exc:
                raise InvalidBody("bad-type", name, str(exc)[:200]) from None
        msg = cls(**kwargs)
        msg._check_values()
        return msg

    def _check_values(self) -> None:
        for name in self.NONEMPTY:
            if not getattr(self, name):
                raise InvalidBody("bad-value", name, "must not be empty")
        for name, allowed in self.CHOICES.items():
            value = getattr(self, name)
            if value not in allowed:
                raise InvalidBody("bad-value", name, f"{value!r} not one of {sorted(allowed)}")


def _wire(value: Any) -> Any:
    """to_wire, with nested catalogue messages in their own ``to_body()`` form."""
    if isinstance(value, Message):
        return value.to_body()
    if isinstance(value, tuple) and value and isinstance(value[0], Message):
        return [_wire(v) for v in value]
    return to_wire(value)


_hints_cache: dict[type, dict[str, Any]] = {}
_plans: dict[type, list[tuple[str, bool, Callable[[Any], Any]]]] = {}


def _hints(cls: type) -> dict[str, Any]:
    hints = _hints_cache.get(cls)
    if hints is None:
        hints = _hints_cache[cls] = typing.get_type_hints(cls)
    return hints


def _plan(cls: type) -> list[tuple[str, bool, Callable[[Any], Any]]]:
    """Per field of ``cls``: its name, whether it is required, and its converter."""
    plan = _plans.get(cls)
    if plan is None:
        hints = _hints(cls)
        plan = _plans[cls] = [
            (
                f.name,
                f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
                _converter(hints[f.name]),
            )
            for f in dataclasses.fields(cls)
        ]
    return plan


#: the integers msgpack can carry: a body built in process with a larger one could not be
#: sent, so it is refused here like any other value the wire cannot hold
WIRE_INT_MIN, WIRE_INT_MAX = -(2**63), 2**64 - 1


def _exact(kind: type) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if type(value) is not kind:  # msgpack gives exact types; a bool is not an int
            raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
        if isinstance(value, int) and not WIRE_INT_MIN <= value <= WIRE_INT_MAX:
            raise ValueError(f"{value} does not fit in 64 bits")
        return value

    return check


def _converter(tp: Any) -> Callable[[Any], Any]:
    """A fast check for the common scalar fields; codec.from_wire for the rest."""
    if tp in (str, int, bool, bytes):
        return _exact(tp)
    args = typing.get_args(tp)
    if len(args) == 2 and type(None) in args and typing.get_origin(tp) is types.UnionType:
        inner = next(a for a in args if a is not type(None))
        if inner in (str, int, bool):
            check = _exact(inner)
            return lambda value: None if value is None else check(value)
    return lambda value: from_wire(tp, value)


class Event(Message):
    """A published event (fanned out to subscribers and the tap)."""

    __slots__ = ()


class Reply(Message):
    """The ``result`` of a command's successful reply."""

    __slots__ = ()


class Command(Message):
    """A command addressed to one actor; ``REPLY`` is the class of its reply's result."""

    __slots__ = ()

    REPLY: ClassVar[type[Reply]]

    @property
    def name(self) -> str:
        """The command name (``cmd.netlink.snapshot`` → ``netlink.snapshot``)."""
        return self.TYPE[len("cmd.") :]


# ==================================================================================== VRRP
@dataclass(frozen=True, slots=True)
class VrrpState(Event):
    """An instance changed state."""

    TYPE = "vrrp.state"
    PRODUCERS = ("vrrp",)
    CONSUMERS = ("notifier", "ipvs", "checker")
    NONEMPTY = ("instance",)
    CHOICES = {"family": FAMILIES, "state": VRRP_STATES, "prev": VRRP_STATES}

    instance: str
    vrid: int
    family: str
    interface: str
    state: str
    prev: str
    priority: int
    reason: str


@dataclass(frozen=True, slots=True)
class VrrpGroup(Event):
    """A vrrp_sync_group changed state."""

    TYPE = "vrrp.group"
    PRODUCERS = ("vrrp",)
    CONSUMERS = ("notifier",)
    NONEMPTY = ("group",)
    CHOICES = {"state": VRRP_STATES, "prev": VRRP_STATES}

    group: str
    state: str
    prev: str
    #: ``resume``: a restarted vrrp actor's members all took up MASTER again (the notifier
    #: does not announce a state it already knows)
    reason: str = field(default="", metadata=omit_when(""))


@dataclass(frozen=True, slots=True)
class VrrpPriority(Event):
    """An instance's effective priority changed (tracking weights): keepalived's
    ``notify_priority_changes`` FIFO lines ``MASTER_PRIORITY``/``BACKUP_PRIORITY``."""

    TYPE = "vrrp.priority"
    PRODUCERS = ("vrrp",)
    CONSUMERS = ("notifier",)
    NONEMPTY = ("instance",)
    CHOICES = {"state": VRRP_STATES}

    instance: str
    state: str
    priority: int
    prev_priority: int


@dataclass(frozen=True, slots=True)
class VrrpRxLowerPri(Event):
    """A master heard an advert with a lower priority (``notify_master_rx_lower_pri``)."""

    TYPE = "vrrp.rx_lower_pri"
    PRODUCERS = ("vrrp",)
    CONSUMERS = ("notifier",)
    NONEMPTY = ("instance",)

    instance: str
    src: str
    priority: int


# ================================================================================= checker
@dataclass(frozen=True, slots=True)
class CheckResult(Event):
    """One checker's verdict on one real server, on change and once at start;
    ``weight`` is MISC_CHECK's dynamic weight or None."""

    TYPE = "check.result"
    PRODUCERS = ("checker",)
    CONSUMERS = ("ipvs", "notifier")
    NONEMPTY = ("virtual_server", "protocol", "real_server", "checker")

    virtual_server: str
    protocol: str
    real_server: str
    checker: str
    up: bool
    reason: str
    weight: int | None
    #: sent because the daemon stops (the notifier's omega rule); no producer sets it today
    stopping: bool = field(default=False, metadata=omit_when(False))


# ==================================================================================== ipvs
@dataclass(frozen=True, slots=True)
class LbRealServer(Event):
    """A real server's weight or activity in the load balancer changed."""

    TYPE = "lb.realserver"
    PRODUCERS = ("ipvs",)
    CONSUMERS = ()
    NONEMPTY = ("virtual_server", "real_server")

    virtual_server: str
    protocol: str
    real_server: str
    weight: int
    active: bool


@dataclass(frozen=True, slots=True)
class LbQuorum(Event):
    """A virtual server gained or lost its quorum."""

    TYPE = "lb.quorum"
    PRODUCERS = ("ipvs",)
    CONSUMERS = ("notifier",)
    NONEMPTY = ("virtual_server",)

    virtual_server: str
    protocol: str
    up: bool
    #: optional, for the notifier's mail text (else it sums the weights itself)
    weight_sum: int | None = field(default=None, metadata=omit_when(None))
    #: sent because the daemon stops; no producer sets it today
    stopping: bool = field(default=False, metadata=omit_when(False))


@dataclass(frozen=True, slots=True)
class LbError(Event):
    """The backend refused a service (``virtual_server`` "" when the whole apply failed)."""

    TYPE = "lb.error"
    PRODUCERS = ("ipvs",)
    CONSUMERS = ()

    virtual_server: str
    error: str


# ================================================================================= netlink
@dataclass(frozen=True, slots=True)
class NetlinkLink(Event):
    """An interface appeared, changed or (``present`` false) went away."""

    TYPE = "netlink.link"
    PRODUCERS = ("netlink",)
    CONSUMERS = ("vrrp",)
    NONEMPTY = ("ifname",)

    ifname: str
    ifindex: int
    present: bool
    up: bool
    running: bool
    operstate: str
    mtu: int
    mac: str | None
    kind: str | None
    master: str | None
    link: int | None
    flags: int


@dataclass(frozen=True, slots=True)
class NetlinkAddr(Event):
    """An address appeared or (``present`` false) went away; ``address`` is ``ip/prefix``."""

    TYPE = "netlink.addr"
    PRODUCERS = ("netlink",)
    CONSUMERS = ("vrrp", "checker")
    NONEMPTY = ("ifname", "address")
    CHOICES = {"family": FAMILIES}

    ifname: str
    ifindex: int
    address: str
    family: str
    present: bool
    scope: str
    label: str | None
    peer: str | None
    flags: int
    secondary: bool
    tentative: bool


@dataclass(frozen=True, slots=True)
class NetlinkLost(Event):
    """An item an owner installed was removed by another program.

    The VRRP actor takes a master whose tracked VIP, eVIP or virtual route/rule it was to
    BACKUP with a priority-0 advert (keepalived's reaction); ``no_track`` items are left.
    """

    TYPE = "netlink.lost"
    PRODUCERS = ("netlink",)
    CONSUMERS = ("vrrp",)

    key: str
    kind: str
    owners: tuple[str, ...]
    item: dict[str, Any]


@dataclass(frozen=True, slots=True)
class NetlinkResync(Event):
    """The table was resynchronised after the kernel dropped notifications."""

    TYPE = "netlink.resync"
    PRODUCERS = ("netlink",)
    CONSUMERS = ()

    reason: str
    changes: int


@dataclass(frozen=True, slots=True)
class NetlinkStaticLost(Event):
    """A static item with a ``track_group`` is missing and cannot be put back."""

    TYPE = "netlink.static_lost"
    PRODUCERS = ("netlink",)
    CONSUMERS = ()

    key: str
    kind: str
    track_group: str
    item: dict[str, Any]
    error: str


@dataclass(frozen=True, slots=True)
class NetlinkStaticRestored(Event):
    """A static item reported lost is back."""

    TYPE = "netlink.static_restored"
    PRODUCERS = ("netlink",)
    CONSUMERS = ()

    key: str
    kind: str
    track_group: str
    item: dict[str, Any]


# ================================================================================== parent
@dataclass(frozen=True, slots=True)
class WatchdogRestart(Event):
    """The parent restarted a child; ``pid`` is the new process."""

    TYPE = "watchdog.restart"
    PRODUCERS = ("parent",)
    CONSUMERS = ()
    CHOICES = {"child": frozenset(RUNTIME_ACTORS)}

    child: str
    pid: int | None
    old_pid: int | None
    reason: str


@dataclass(frozen=True, slots=True)
class ConfigReload(Event):
    """A reload finished."""

    TYPE = "config.reload"
    PRODUCERS = ("parent",)
    CONSUMERS = ()

    ok: bool
    errors: tuple[str, ...]


# ====================================================== commands of the runtime (every child)
@dataclass(frozen=True, slots=True)
class HelloReply(Reply):
    TYPE = "reply.hello"
    PRODUCERS = RUNTIME_ACTORS
    CONSUMERS = ("parent",)

    generation: int
    ts: float
    #: the event prefixes the child subscribes to: the parent starts the next child once
    #: each has reached the broker
    subscriptions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Hello(Command):
    """The watchdog's liveness probe, answered by the child's work loop itself."""

    TYPE = "cmd.hello"
    REPLY = HelloReply
    PRODUCERS = ("parent",)
    CONSUMERS = RUNTIME_ACTORS


@dataclass(frozen=True, slots=True)
class ActorStatus(Reply):
    TYPE = "reply.status"
    PRODUCERS = RUNTIME_ACTORS
    CONSUMERS = ("parent",)

    actor: str
    pid: int
    uptime: float
    generation: int
    counters: dict[str, int]
    state: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Status(Command):
    """A child's counters and its own state (status, dumps, metrics)."""

    TYPE = "cmd.status"
    REPLY = ActorStatus
    PRODUCERS = ("parent",)
    CONSUMERS = RUNTIME_ACTORS


@dataclass(frozen=True, slots=True)
class ConfigApplied(Reply):
    TYPE = "reply.config.apply"
    PRODUCERS = RUNTIME_ACTORS
    CONSUMERS = ("parent",)

    generation: int


@dataclass(frozen=True, slots=True)
class ConfigApply(Command):
    """A validated reload: ``config`` is the pickled ``conf.model.Config`` (both ends are
    processes of one daemon, started from the same code)."""

    TYPE = "cmd.config.apply"
    REPLY = ConfigApplied
    PRODUCERS = ("parent",)
    CONSUMERS = RUNTIME_ACTORS

    config: bytes
    generation: int

    def __repr__(self) -> str:
        return f"ConfigApply(config=<{len(self.config)} bytes>, generation={self.generation})"


@dataclass(frozen=True, slots=True)
class Stopped(Reply):
    TYPE = "reply.stop"
    PRODUCERS = RUNTIME_ACTORS
    CONSUMERS = ("parent",)


@dataclass(frozen=True, slots=True)
class Stop(Command):
    """An orderly stop (the parent stops children in order)."""

    TYPE = "cmd.stop"
    REPLY = Stopped
    PRODUCERS = ("parent",)
    CONSUMERS = RUNTIME_ACTORS


@dataclass(frozen=True, slots=True)
class MemcheckReport(Reply):
    TYPE = "reply.memcheck"
    PRODUCERS = RUNTIME_ACTORS
    CONSUMERS = ("parent",)

    enabled: bool
    current: int | None = field(default=None, metadata=omit_when(None))
    peak: int | None = field(default=None, metadata=omit_when(None))
    top_growth: tuple[dict[str, Any], ...] | None = field(default=None, metadata=omit_when(None))


@dataclass(frozen=True, slots=True)
class Memcheck(Command):
    """``--mem-check``: the child's allocation growth since start (data dumps)."""

    TYPE = "cmd.memcheck"
    REPLY = MemcheckReport
    PRODUCERS = ("parent",)
    CONSUMERS = RUNTIME_ACTORS


# ============================================================== commands between actors
@dataclass(frozen=True, slots=True)
class AddressesSetReply(Reply):
    TYPE = "reply.netlink.addresses.set"
    PRODUCERS = ("netlink",)
    CONSUMERS = ("vrrp",)

    applied: int
    errors: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AddressesSet(Command):
    """Install (``present``) or remove an owner's addresses, routes and rules. Items are
    ``to_wire()`` maps of ``conf.model`` ``IPAddress``/``Route``/``Rule``; each is parsed
    on its own, so one bad item is an error in the reply, not a refused command. With
    ``exclusive`` (and ``present``) the owner's other items are removed."""

    TYPE = "cmd.netlink.addresses.set"
    REPLY = AddressesSetReply
    PRODUCERS = ("vrrp",)
    CONSUMERS = ("netlink",)
    NONEMPTY = ("owner",)

    owner: str
    present: bool
    #: lists of items; each item is checked by the netlink actor on its own
    addresses: tuple[Any, ...] = ()
    routes: tuple[Any, ...] = ()
    rules: tuple[Any, ...] = ()
    exclusive: bool = field(default=False, metadata=omit_when(False))


@dataclass(frozen=True, slots=True)
class NetlinkSnapshot(Reply):
    TYPE = "reply.netlink.snapshot"
    PRODUCERS = ("netlink",)
    CONSUMERS = ("vrrp",)

    links: tuple[NetlinkLink, ...]
    addrs: tuple[NetlinkAddr, ...]


@dataclass(frozen=True, slots=True)
class NetlinkSnapshotRequest(Command):
    """The whole interface table, as ``netlink.link``/``netlink.addr`` bodies."""

    TYPE = "cmd.netlink.snapshot"
    REPLY = NetlinkSnapshot
    PRODUCERS = ("vrrp",)
    CONSUMERS = ("netlink",)


@dataclass(frozen=True, slots=True)
class CheckerVerdicts(Reply):
    TYPE = "reply.checker.verdicts"
    PRODUCERS = ("checker",)
    CONSUMERS = ("ipvs",)

    results: tuple[CheckResult, ...]


@dataclass(frozen=True, slots=True)
class CheckerVerdictsRequest(Command):
    """Every check's current verdict: a restarted ipvs actor resynchronises from it."""

    TYPE = "cmd.checker.verdicts"
    REPLY = CheckerVerdicts
    PRODUCERS = ("ipvs",)
    CONSUMERS = ("checker",)


# ===================================================== the parent's control socket (ctl)
@dataclass(frozen=True, slots=True)
class DaemonStatus(Reply):
    TYPE = "reply.control.status"
    PRODUCERS = ("parent",)
    CONSUMERS = ("ctl",)

    parent: dict[str, Any]
    children: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ControlStatus(Command):
    """``pykeepalivectl status``: the parent's view plus every child's status."""

    TYPE = "cmd.status"
    REPLY = DaemonStatus
    PRODUCERS = ("ctl",)
    CONSUMERS = ("parent",)


@dataclass(frozen=True, slots=True)
class ReloadOutcome(Reply):
    TYPE = "reply.control.reload"
    PRODUCERS = ("parent",)
    CONSUMERS = ("ctl",)

    ok: bool
    errors: tuple[str, ...]
    generation: int
    previous_generation: int


@dataclass(frozen=True, slots=True)
class ControlReload(Command):
    """``pykeepalivectl reload``: reload as SIGHUP and wait for the outcome."""

    TYPE = "cmd.reload"
    REPLY = ReloadOutcome
    PRODUCERS = ("ctl",)
    CONSUMERS = ("parent",)


@dataclass(frozen=True, slots=True)
class StopAck(Reply):
    TYPE = "reply.control.stop"
    PRODUCERS = ("parent",)
    CONSUMERS = ("ctl",)

    stopping: bool
    pid: int


@dataclass(frozen=True, slots=True)
class ControlStop(Command):
    """``pykeepalivectl stop``: stop the daemon (as SIGTERM)."""

    TYPE = "cmd.stop"
    REPLY = StopAck
    PRODUCERS = ("ctl",)
    CONSUMERS = ("parent",)


@dataclass(frozen=True, slots=True)
class DumpReply(Reply):
    TYPE = "reply.control.dump"
    PRODUCERS = ("parent",)
    CONSUMERS = ("ctl",)

    status: dict[str, Any]
    text: str | None = field(default=None, metadata=omit_when(None))
    instances: tuple[dict[str, Any], ...] | None = field(default=None, metadata=omit_when(None))


@dataclass(frozen=True, slots=True)
class ControlDump(Command):
    """``pykeepalivectl dump [--json]``: the data dump (SIGUSR1) or the JSON dump."""

    TYPE = "cmd.dump"
    REPLY = DumpReply
    PRODUCERS = ("ctl",)
    CONSUMERS = ("parent",)

    json: bool = False


@dataclass(frozen=True, slots=True)
class StatsReply(Reply):
    TYPE = "reply.control.stats"
    PRODUCERS = ("parent",)
    CONSUMERS = ("ctl",)

    text: str


@dataclass(frozen=True, slots=True)
class ControlStats(Command):
    """``pykeepalivectl stats``: the statistics dump (SIGUSR2)."""

    TYPE = "cmd.stats"
    REPLY = StatsReply
    PRODUCERS = ("ctl",)
    CONSUMERS = ("parent",)


# ================================================================================ registry
_EVENT_CLASSES: tuple[type[Event], ...] = (
    VrrpState, VrrpGroup, VrrpPriority, VrrpRxLowerPri, CheckResult, LbRealServer, LbQuorum,
    LbError, NetlinkLink, NetlinkAddr, NetlinkLost, NetlinkResync, NetlinkStaticLost,
    NetlinkStaticRestored, WatchdogRestart, ConfigReload,
)  # fmt: skip
_COMMAND_CLASSES: tuple[type[Command], ...] = (
    Hello, Status, ConfigApply, Stop, Memcheck, AddressesSet, NetlinkSnapshotRequest,
    CheckerVerdictsRequest,
)  # fmt: skip
_CONTROL_CLASSES: tuple[type[Command], ...] = (
    ControlStatus, ControlReload, ControlStop, ControlDump, ControlStats,
)  # fmt: skip

#: wire type -> class, for events on the bus
EVENTS: dict[str, type[Event]] = {c.TYPE: c for c in _EVENT_CLASSES}
#: wire type (``cmd.<name>``) -> class, for commands between actors on the bus
COMMANDS: dict[str, type[Command]] = {c.TYPE: c for c in _COMMAND_CLASSES}
#: wire type -> class, for commands on the parent's control socket
CONTROL: dict[str, type[Command]] = {c.TYPE: c for c in _CONTROL_CLASSES}
#: catalogue name (``reply.<...>``) -> class of a reply's result
REPLIES: dict[str, type[Reply]] = {
    c.REPLY.TYPE: c.REPLY for c in (*_COMMAND_CLASSES, *_CONTROL_CLASSES)
}
#: every class of the catalogue
ALL: tuple[type[Message], ...] = (
    *_EVENT_CLASSES, *_COMMAND_CLASSES, *_CONTROL_CLASSES, *REPLIES.values(),
)  # fmt: skip


def event_class(type_: str) -> type[Event] | None:
    return EVENTS.get(type_)


def read_reply(command: Command, body: Any) -> Reply:
    """The typed result of a reply envelope's body ``{ok, result | error}`` to ``command``.

    Raises :class:`CommandRefused` for ``ok`` false and :class:`InvalidBody` for a body
    that is not a reply, or a result that does not fit ``command.REPLY``.
    """
    if not isinstance(body, dict):
        raise InvalidBody("not-a-map", "", type(body).__name__)
    ok = body.get("ok")
    if not isinstance(ok, bool):
        raise InvalidBody("bad-type" if "ok" in body else "missing-field", "ok")
    if not ok:
        raise CommandRefused(str(body.get("error", "failed")))
    return command.REPLY.from_body(body.get("result", {}))


class CommandRefused(Exception):
    """The addressee answered a command with ``ok`` false; the message is its error."""


# ================================================================================ markdown
def _type_text(tp: Any) -> str:
    text = str(tp) if not isinstance(tp, type) else tp.__name__
    return text.replace("typing.", "").replace("pykeepalived.bus.messages.", "")


def _field_rows(cls: type[Message]) -> list[str]:
    hints = _hints(cls)
    rows = []
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        notes = []
        if f.default is not dataclasses.MISSING:
            notes.append(f"default {f.default!r}")
        if "omit" in f.metadata:
            notes.append(f"left out when {f.metadata['omit']!r}")
        if f.name in cls.NONEMPTY:
            notes.append("non-empty")
        if f.name in cls.CHOICES:
            notes.append("one of " + " ".join(sorted(cls.CHOICES[f.name])))
        rows.append(f"| `{f.name}` | `{_type_text(hints[f.name])}` | {'; '.join(notes)} |")
    return rows


def _section(cls: type[Message], who: tuple[str, str]) -> list[str]:
    doc = " ".join((cls.__doc__ or "").split()).replace("``", "`")
    if doc.startswith(f"{cls.__name__}("):  # dataclass's generated signature: no prose
        doc = ""
    out = [
        f"### `{cls.TYPE}` — `{cls.__name__}` (v{cls.VERSION})",
        "",
        *([doc, ""] if doc else []),
        f"{who[0]}: {', '.join(cls.PRODUCERS) or '—'}; "
        f"{who[1]}: {', '.join(cls.CONSUMERS) or '— (tap users)'}.",
        "",
    ]
    if isinstance(cls, type) and issubclass(cls, Command):
        out += [f"Reply: `{cls.REPLY.TYPE}` (`{cls.REPLY.__name__}`).", ""]
    rows = _field_rows(cls)
    if rows:
        out += ["| field | type | notes |", "|---|---|---|", *rows, ""]
    else:
        out += ["Body: `{}`.", ""]
    return out


def render_markdown() -> str:
    """The catalogue as markdown (docs/messages.md is this text; a test keeps it current)."""
    out = [
        "# Bus message catalogue",
        "",
        "Generated from `bus/messages.py` by `python -m pykeepalived.bus.messages`; do not",
        "edit by hand. Every body is a msgpack map with these keys; unknown extra keys are",
        "ignored by receivers, a body that does not fit is dropped and counted",
        "(`bus.rx_invalid.<type>.<reason>`). Reply bodies travel in the `reply` envelope",
        "as `{ok: true, result: <body>}` (or `{ok: false, error: <text>}`).",
        "",
        f"{len(EVENTS)} events, {len(COMMANDS)} bus commands, {len(CONTROL)} control commands,",
        f"{len(REPLIES)} replies: {len(ALL)} message types.",
        "",
        "## Events",
        "",
    ]
    for ev in _EVENT_CLASSES:
        out += _section(ev, ("Published by", "consumed by"))
    out += ["## Commands between actors", ""]
    for cmd in _COMMAND_CLASSES:
        out += _section(cmd, ("Called by", "answered by"))
        out += _section(cmd.REPLY, ("Sent by", "read by"))
    out += ["## Control-socket commands (pykeepalivectl → parent)", ""]
    for cmd in _CONTROL_CLASSES:
        out += _section(cmd, ("Called by", "answered by"))
        out += _section(cmd.REPLY, ("Sent by", "read by"))
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    # render from the imported module, not from this __main__ copy of its classes
    from pykeepalived.bus import messages

    print(messages.render_markdown(), end="")
