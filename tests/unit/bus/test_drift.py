"""Drift between the bus catalogue (``bus/messages.py``) and the code, found by an AST scan.

* every event an actor subscribes to (a prefix counts for each catalogue type it covers)
  is a catalogue event with a producer in code;
* every event's declared producer builds it in its own package and publishes through
  ``emit``; every declared consumer subscribes to it and reads it (names the class);
* every command has a caller (the class is built in a declared caller's code) and a
  handler (named in a declared handler's code); every reply is built by its senders;
* nothing publishes or requests by a raw type string (``publish``/``request``/``envelope``
  with a string literal), so no type can exist outside the catalogue;
* every catalogue class has a sample in ``test_messages.SAMPLES`` (round-tripped there).

Failure messages name the type and the file:line concerned.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pykeepalived.bus import messages as M
from tests.unit.bus.test_messages import SAMPLES

ROOT = Path(__file__).resolve().parents[3]
CLASS_NAMES = {cls.__name__: cls for cls in M.ALL}
#: the runtime every child runs: what it builds or names counts for each child actor
RUNTIME_FILE = "actors/base.py"
#: producers still on another branch: the check must fail (strict xfail) until they land
#: event types allowed to lack a producer for now, with the reason (none today)
PENDING: dict[str, str] = {}


@dataclass
class Site:
    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass
class Scan:
    #: class name -> actor -> places it is built (ClassName(...) or ClassName.from_body(...))
    built: dict[str, dict[str, list[Site]]] = field(default_factory=lambda: defaultdict(dict))
    #: class name -> actor -> places it is named at all
    named: dict[str, dict[str, list[Site]]] = field(default_factory=lambda: defaultdict(dict))
    #: actor -> places that emit
    emits: dict[str, list[Site]] = field(default_factory=lambda: defaultdict(list))
    #: (actor, class name) of every emit(ClassName(...)) written in one call
    direct_emits: list[tuple[str, str, Site]] = field(default_factory=list)
    #: actor -> subscription prefixes (and where they are declared)
    subscriptions: dict[str, list[tuple[str, Site]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    raw: list[tuple[str, Site]] = field(default_factory=list)


def product_files() -> Iterator[Path]:
    for top in ("actors", "bus", "pykeepalived"):
        for path in sorted((ROOT / top).rglob("*.py")):
            if path.name != "messages.py" or path.parent.name != "bus":
                yield path


def actors_of(rel: str) -> tuple[str, ...]:
    parts = rel.split("/")
    if rel == RUNTIME_FILE:
        return M.RUNTIME_ACTORS
    if parts[0] == "actors" and len(parts) > 2:
        return (parts[1],)
    if rel == "pykeepalived/ctl.py":
        return ("ctl",)
    return ()


def _class_name(node: ast.expr) -> str | None:
    """``VrrpState`` of ``VrrpState``, ``M.VrrpState`` and ``messages.VrrpState``."""
    if isinstance(node, ast.Name) and node.id in CLASS_NAMES:
        return node.id
    if isinstance(node, ast.Attribute) and node.attr in CLASS_NAMES:
        return node.attr
    return None


def _built_name(call: ast.Call) -> str | None:
    name = _class_name(call.func)
    if name is not None:
        return name
    f = call.func
    if isinstance(f, ast.Attribute) and f.attr == "from_body":
        return _class_name(f.value)
    return None


def _callee(call: ast.Call) -> str:
    f = call.func
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""


def _is_text(node: ast.expr) -> bool:
    return isinstance(node, ast.JoinedStr) or (
        isinstance(node, ast.Constant) and isinstance(node.value, str)
    )


def _scan_call(scan: Scan, call: ast.Call, actors: tuple[str, ...], site: Site) -> None:
    built = _built_name(call)
    if built is not None:
        for actor in actors:
            scan.built[built].setdefault(actor, []).append(site)
    callee = _callee(call)
    if callee in ("emit", "emit_paced"):
        for actor in actors:
            scan.emits[actor].append(site)
        arg = call.args[0] if call.args else None
        if isinstance(arg, ast.Call) and _built_name(arg) is not None:
            for actor in actors:
                scan.direct_emits.append((actor, str(_built_name(arg)), site))
    if callee in ("publish", "envelope") and call.args and _is_text(call.args[0]):
        scan.raw.append((f"{callee}() with a literal type", site))
    if callee == "publish" and call.args:
        first = call.args[0]
        if not (isinstance(first, ast.Attribute) and first.attr == "TYPE"):
            scan.raw.append(("publish() of something other than a catalogue TYPE", site))
    if callee in ("request", "request_raw") and len(call.args) >= 2 and _is_text(call.args[1]):
        scan.raw.append(("request() with a literal command name", site))


def _scan_subscriptions(scan: Scan, cls: ast.ClassDef, rel: str, actors: tuple[str, ...]) -> None:
    name = None
    subs: list[tuple[str, Site]] = []
    for stmt in cls.body:
        if not isinstance(stmt, ast.Assign) or len(stmt.targets) != 1:
            continue
        target = stmt.targets[0]
        if not isinstance(target, ast.Name):
            continue
        if target.id == "name" and isinstance(stmt.value, ast.Constant):
            name = str(stmt.value.value)
        if target.id == "subscriptions" and isinstance(stmt.value, ast.Tuple):
            subs += [
                (str(e.value), Site(rel, e.lineno))
                for e in stmt.value.elts
                if isinstance(e, ast.Constant) and isinstance(e.value, str)
            ]
    for actor in (name,) if name else actors:
        scan.subscriptions[actor] += subs


def scan_code() -> Scan:
    scan = Scan()
    for path in product_files():
        rel = path.relative_to(ROOT).as_posix()
        actors = actors_of(rel) or ("(other)",)
        tree = ast.parse(path.read_text(), filename=rel)
        for node in ast.walk(tree):
            site = Site(rel, getattr(node, "lineno", 0))
            if isinstance(node, ast.Call):
                _scan_call(scan, node, actors, site)
            elif isinstance(node, ast.ClassDef):
                _scan_subscriptions(scan, node, rel, actors)
            name = _class_name(node) if isinstance(node, (ast.Name, ast.Attribute)) else None
            if name is not None:
                for actor in actors:
                    scan.named[name].setdefault(actor, []).append(site)
    return scan


SCAN = scan_code()


def _where(cls: type[M.Message]) -> str:
    return f"{cls.__name__} ({cls.TYPE}, bus/messages.py)"


def _subscribers(type_: str) -> dict[str, Site]:
    out = {}
    for actor, subs in SCAN.subscriptions.items():
        for prefix, site in subs:
            if type_.startswith(prefix):
                out[actor] = site
    return out


def _event_params() -> list[object]:
    out: list[object] = []
    for type_, cls in M.EVENTS.items():
        marks = [pytest.mark.xfail(strict=True, reason=PENDING[type_])] if type_ in PENDING else []
        out.append(pytest.param(cls, id=type_, marks=marks))
    return out


@pytest.mark.parametrize("cls", _event_params())
def test_every_event_has_a_producer_in_code(cls: type[M.Event]) -> None:
    assert cls.PRODUCERS, f"{_where(cls)} names no producer"
    for actor in cls.PRODUCERS:
        built = SCAN.built.get(cls.__name__, {}).get(actor)
        assert built, (
            f"{cls.TYPE}: the catalogue names {actor} as its producer, but nothing under "
            f"actors/{actor}/ builds {cls.__name__}"
        )
        assert SCAN.emits.get(actor), f"{cls.TYPE}: {actor} never calls emit()"


def test_events_emitted_directly_are_emitted_by_their_producers() -> None:
    wrong = [
        f"{site}: {actor} emits {name}, whose catalogue producers are {CLASS_NAMES[name].PRODUCERS}"
        for actor, name, site in SCAN.direct_emits
        if actor not in CLASS_NAMES[name].PRODUCERS
    ]
    assert not wrong, "\n".join(wrong)


def test_every_subscription_covers_catalogue_events_with_producers() -> None:
    problems = []
    for actor, subs in sorted(SCAN.subscriptions.items()):
        for prefix, site in subs:
            covered = [c for t, c in M.EVENTS.items() if t.startswith(prefix)]
            if not covered:
                problems.append(f"{site}: {actor} subscribes to {prefix!r}: no catalogue event")
            for cls in covered:
                if not cls.PRODUCERS or cls.TYPE in PENDING:
                    if not cls.PRODUCERS:
                        problems.append(f"{site}: {actor} subscribes to {cls.TYPE}: no producer")
                    continue
                if not any(SCAN.built.get(cls.__name__, {}).get(p) for p in cls.PRODUCERS):
                    problems.append(f"{site}: {actor} subscribes to {cls.TYPE}: nothing builds it")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("cls", list(M.EVENTS.values()), ids=list(M.EVENTS))
def test_every_declared_consumer_subscribes_and_reads(cls: type[M.Event]) -> None:
    subscribers = _subscribers(cls.TYPE)
    for actor in cls.CONSUMERS:
        assert actor in subscribers, (
            f"{cls.TYPE}: the catalogue names {actor} as a consumer, but {actor}'s "
            "subscriptions do not cover it"
        )
        assert SCAN.named.get(cls.__name__, {}).get(actor), (
            f"{cls.TYPE}: {actor} subscribes ({subscribers[actor]}) but its code never "
            f"names {cls.__name__}"
        )


COMMANDS = [*M.COMMANDS.values(), *M.CONTROL.values()]


@pytest.mark.parametrize("cls", COMMANDS, ids=[f"{c.TYPE}:{c.__name__}" for c in COMMANDS])
def test_every_command_has_a_caller_and_a_handler(cls: type[M.Command]) -> None:
    assert cls.PRODUCERS and cls.CONSUMERS, f"{_where(cls)} needs callers and handlers"
    for caller in cls.PRODUCERS:
        assert SCAN.built.get(cls.__name__, {}).get(caller), (
            f"{cls.TYPE}: the catalogue names {caller} as a caller, but its code never "
            f"builds {cls.__name__}"
        )
    for handler in cls.CONSUMERS:
        assert SCAN.named.get(cls.__name__, {}).get(handler), (
            f"{cls.TYPE}: the catalogue names {handler} as its handler, but its code never "
            f"names {cls.__name__}"
        )
    reply = cls.REPLY
    assert set(reply.PRODUCERS) == set(cls.CONSUMERS), f"{_where(reply)}: senders differ"
    for sender in reply.PRODUCERS:
        assert SCAN.built.get(reply.__name__, {}).get(sender), (
            f"{reply.TYPE}: {sender} answers {cls.TYPE} but never builds {reply.__name__}"
        )


def test_nothing_travels_by_a_raw_type_string() -> None:
    assert not SCAN.raw, "\n".join(f"{site}: {what}" for what, site in SCAN.raw)


def test_every_catalogue_class_is_built_by_a_test() -> None:
    missing = [_where(cls) for cls in M.ALL if cls not in SAMPLES]
    assert not missing, f"no sample in tests/unit/bus/test_messages.py for {missing}"


def test_the_scan_sees_the_code() -> None:
    """The scan itself works: known facts of today's code are found."""
    assert ("netlink.", Site("actors/vrrp/actor.py", 0)) not in SCAN.subscriptions["vrrp"]
    assert [p for p, _ in SCAN.subscriptions["vrrp"]] == ["netlink."]
    assert SCAN.built["VrrpState"]["vrrp"] and SCAN.emits["netlink"]
    assert "ipvs" in SCAN.built["CheckerVerdictsRequest"]
