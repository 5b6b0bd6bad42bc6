"""The actor runtime's edge: every incoming body goes through the catalogue first.

A malformed event is counted and dropped, a malformed command gets an error reply, a
malformed reply fails the request, an unknown type is counted, extra fields are fine,
and nothing of it reaches (or crashes) the handlers.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pykeepalived.actors.base import Actor, CommandError, Options
from pykeepalived.bus import messages as M
from pykeepalived.bus.envelope import Envelope
from pykeepalived.conf.model import Config


class RecordingBus:
    """The BusClient surface the runtime uses; sends are kept, nothing is transported."""

    def __init__(self) -> None:
        self.sent: list[Envelope] = []

    def envelope(
        self, type_: str, body: dict[str, Any], *, to: str | None = None, id_: int | None = None
    ) -> Envelope:
        return Envelope(type_, "vrrp", "h", 1, len(self.sent) + 1, 0.0, body, to=to, id=id_)

    def send(self, env: Envelope) -> bool:
        self.sent.append(env)
        return True


class Probe(Actor):
    name = "vrrp"
    subscriptions = ("netlink.",)

    def __init__(self) -> None:
        super().__init__(Config(), Options())
        self.bus = RecordingBus()  # type: ignore[assignment]
        self.events: list[M.Event] = []
        self.commands: list[M.Command] = []
        self.unknown: list[str] = []

    async def on_event(self, env: Envelope, msg: M.Event) -> None:
        self.events.append(msg)

    async def on_unknown_event(self, env: Envelope) -> None:
        self.unknown.append(env.type)

    async def on_command(self, env: Envelope, msg: M.Command) -> M.Reply:
        self.commands.append(msg)
        if isinstance(msg, M.NetlinkSnapshotRequest):
            return M.NetlinkSnapshot((), ())
        return M.Stopped()  # the wrong reply class for anything else


LINK = {
    "ifname": "eth0", "ifindex": 2, "present": True, "up": True, "running": True,
    "operstate": "UP", "mtu": 1500, "mac": None, "kind": None, "master": None, "link": None,
    "flags": 0,
}  # fmt: skip


def event(type_: str, body: Any) -> Envelope:
    return Envelope(type_, "netlink", "h", 2, 1, 0.0, body)


def command(type_: str, body: Any, id_: int = 9) -> Envelope:
    return Envelope(type_, "parent", "h", 3, 1, 0.0, body, to="vrrp", id=id_)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_malformed_events_are_counted_and_dropped() -> None:
    async def body() -> Probe:
        actor = Probe()
        await actor.deliver_event(event("netlink.link", {**LINK, "up": 1}))
        await actor.deliver_event(event("netlink.link", {"ifname": "eth0"}))
        await actor.deliver_event(event("netlink.link", ["not", "a", "map"]))
        await actor.deliver_event(event("netlink.link", {**LINK, "ifname": ""}))
        return actor

    actor = run(body())
    assert actor.events == [] and actor.counters["errors.event"] == 0
    assert actor.counters["bus.rx_invalid.netlink.link.bad-type"] == 1
    assert actor.counters["bus.rx_invalid.netlink.link.missing-field"] == 1
    assert actor.counters["bus.rx_invalid.netlink.link.not-a-map"] == 1
    assert actor.counters["bus.rx_invalid.netlink.link.bad-value"] == 1


def test_extra_fields_are_tolerated_and_handlers_get_typed_messages() -> None:
    async def body() -> Probe:
        actor = Probe()
        await actor.deliver_event(event("netlink.link", {**LINK, "speed": 10000, "new": {}}))
        await actor.deliver_event(event("netlink.fancy", {}))
        return actor

    actor = run(body())
    assert actor.events == [M.NetlinkLink.from_body(LINK)]
    assert actor.unknown == ["netlink.fancy"]
    assert actor.counters["bus.rx_unknown.netlink.fancy"] == 1


def test_the_event_loop_itself_validates() -> None:
    """The path of real traffic: _event_loop reads the bus and delivers through the catalogue."""

    class Feed(RecordingBus):
        def __init__(self, envs: list[Envelope]) -> None:
            super().__init__()
            self.envs = envs

        async def recv_event(self) -> Envelope | None:
            if self.envs:
                return self.envs.pop(0)
            await asyncio.Event().wait()  # then idle forever
            return None

    async def body() -> Probe:
        actor = Probe()
        actor.bus = Feed([event("netlink.link", {"up": "x"}), event("netlink.link", LINK)])  # type: ignore[assignment]
        task = asyncio.ensure_future(actor._event_loop())
        for _ in range(100):
            if actor.events:
                break
            await asyncio.sleep(0)
        task.cancel()
        return actor

    actor = run(body())
    assert len(actor.events) == 1
    assert actor.counters["bus.rx_invalid.netlink.link.missing-field"] == 1


def _replies(actor: Probe) -> list[dict[str, Any]]:
    return [e.body for e in actor.bus.sent if e.type == "reply"]  # type: ignore[union-attr]


def test_a_malformed_command_gets_an_error_reply() -> None:
    async def body() -> Probe:
        actor = Probe()
        actor._on_direct(command("cmd.netlink.addresses.set", {"owner": "x", "present": "yes"}))
        actor._on_direct(command("cmd.config.apply", {"config": "not bytes", "generation": 2}))
        actor._on_direct(command("cmd.no.such", {}))
        actor._on_direct(command("cmd.netlink.snapshot", {"extra": True}, id_=11))
        actor._on_direct(command("cmd.checker.verdicts", {}, id_=12))
        for _ in range(20):
            await asyncio.sleep(0)
        return actor

    actor = run(body())
    replies = _replies(actor)
    assert [r["ok"] for r in replies] == [False, False, False, True, False]
    assert "bad-type present" in replies[0]["error"]
    assert "bad-type config" in replies[1]["error"]
    assert "unknown command 'no.such'" in replies[2]["error"]
    assert replies[3]["result"] == {"links": [], "addrs": []}
    assert "answered Stopped" in replies[4]["error"]  # a handler's wrong reply is an error
    assert actor.counters["bus.rx_invalid.cmd.netlink.addresses.set.bad-type"] == 1
    assert actor.counters["bus.rx_invalid.cmd.config.apply.bad-type"] == 1
    assert actor.counters["bus.rx_unknown.cmd.no.such"] == 1
    assert [type(c) for c in actor.commands] == [M.NetlinkSnapshotRequest, M.CheckerVerdictsRequest]


def test_hello_is_answered_by_the_work_loop_with_a_catalogue_reply() -> None:
    async def body() -> Probe:
        actor = Probe()
        actor._on_direct(command("cmd.hello", {}))
        return actor

    [reply] = _replies(run(body()))
    assert reply["ok"] is True
    assert M.HelloReply.from_body(reply["result"]).generation == 1


@pytest.mark.parametrize(
    "answer,error",
    [
        ({"ok": True, "result": {"applied": "one", "errors": []}}, "bad-type"),
        ({"ok": True, "result": {"errors": []}}, "missing-field"),
        ({"ok": "maybe"}, "bad-type"),
        ({"ok": False, "error": "no such owner"}, None),
    ],
)
def test_a_malformed_reply_fails_the_request(answer: dict[str, Any], error: str | None) -> None:
    async def body() -> tuple[Probe, str]:
        actor = Probe()
        task = asyncio.ensure_future(actor.request("netlink", M.AddressesSet("vrrp/VI_1", True)))
        await asyncio.sleep(0)
        [sent] = actor.bus.sent  # type: ignore[union-attr]
        assert sent.type == "cmd.netlink.addresses.set" and sent.to == "netlink"
        actor._on_direct(
            Envelope("reply", "netlink", "h", 2, 1, 0.0, answer, to="vrrp", id=sent.id)
        )
        with pytest.raises(CommandError) as exc:
            await task
        return actor, str(exc.value)

    actor, text = run(body())
    if error is None:
        assert text == "no such owner"
    else:
        assert "invalid reply" in text
        assert actor.counters[f"bus.rx_invalid.reply.netlink.addresses.set.{error}"] == 1


def test_a_good_reply_is_typed() -> None:
    async def body() -> M.Reply:
        actor = Probe()
        task = asyncio.ensure_future(actor.request("netlink", M.AddressesSet("vrrp/VI_1", True)))
        await asyncio.sleep(0)
        [sent] = actor.bus.sent  # type: ignore[union-attr]
        result = {"applied": 2, "errors": ["x"], "later": 1}
        actor._on_direct(
            Envelope("reply", "netlink", "h", 2, 1, 0.0, {"ok": True, "result": result},
                     to="vrrp", id=sent.id)
        )  # fmt: skip
        return await task

    assert run(body()) == M.AddressesSetReply(2, ("x",))
