"""The test seams themselves: virtual clock, in-memory bus, shell harness, playbook."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from pykeepalived.actors.base import Actor
from pykeepalived.bus.envelope import encode
from pykeepalived.bus.testing import InMemoryBus, VirtualClock, run_virtual, wait_until
from tests.playbook import Playbook, PlaybookError
from tests.seams import start_shell


def test_a_three_second_timeout_takes_milliseconds(vrun: Callable[..., Any]) -> None:
    async def main() -> tuple[float, bool]:
        loop = asyncio.get_running_loop()
        start = loop.time()
        try:
            await asyncio.wait_for(asyncio.Event().wait(), 3.0)
        except TimeoutError:
            return loop.time() - start, True
        return loop.time() - start, False

    real = time.perf_counter()
    elapsed, timed_out = vrun(main())
    assert timed_out and elapsed == pytest.approx(3.0)
    assert time.perf_counter() - real < 0.5


def test_timers_fire_in_virtual_order() -> None:
    fired: list[tuple[str, float]] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for name, delay in (("c", 30.0), ("a", 0.5), ("b", 2.0)):
            loop.call_later(delay, lambda n=name: fired.append((n, loop.time())))
        await asyncio.sleep(31)

    clock = VirtualClock(start=100.0)
    run_virtual(main(), clock=clock)
    assert fired == [("a", 100.5), ("b", 102.0), ("c", 130.0)]
    assert clock.now == pytest.approx(131.0)


def test_an_idle_loop_with_nothing_scheduled_is_an_error() -> None:
    async def main() -> None:
        await asyncio.Event().wait()  # nothing will ever set it, and no timer is pending

    with pytest.raises(RuntimeError, match="idle"):
        run_virtual(main(), timeout=None)


def test_wait_until_fails_with_what_it_waited_for(vrun: Callable[..., Any]) -> None:
    with pytest.raises(TimeoutError, match="the moon"):
        vrun(wait_until(lambda: False, 5, what="the moon"))


def test_bus_routes_events_by_prefix_and_commands_by_name(vrun: Callable[..., Any]) -> None:
    async def main() -> InMemoryBus:
        bus = InMemoryBus()
        vrrp = bus.client("vrrp", ("netlink.",))
        notifier = bus.client("notifier", ("vrrp.",))
        netlink = bus.peer("netlink", {"netlink.snapshot": lambda body: {"links": []}})
        vrrp.send(vrrp.envelope("vrrp.state", {"instance": "VI_1"}))
        netlink.publish("netlink.addr", {"ifname": "eth0"})
        vrrp.send(vrrp.envelope("cmd.netlink.snapshot", {}, to="netlink", id_=7))
        got = await notifier.recv_event()
        assert got is not None and got.type == "vrrp.state"
        assert (await vrrp.recv_event()).body == {"ifname": "eth0"}  # type: ignore[union-attr]
        reply = await vrrp.recv_direct()
        assert reply is not None and reply.id == 7 and reply.body["result"] == {"links": []}
        assert notifier.events.empty()  # netlink.addr is not a vrrp. prefix
        assert netlink.calls_of("netlink.snapshot") == [{}]
        bus.close()
        return bus

    bus = vrun(main())
    assert [e.type for e in bus.log] == [
        "vrrp.state", "netlink.addr", "cmd.netlink.snapshot", "reply",
    ]  # fmt: skip


def test_unencodable_bodies_fail_at_the_sender_and_garbage_is_counted(
    vrun: Callable[..., Any],
) -> None:
    async def main() -> None:
        bus = InMemoryBus()
        port = bus.client("vrrp", ("x.",))
        with pytest.raises(Exception, match="unencodable"):
            port.send(port.envelope("x.y", {"when": object()}))
        assert port.counters["bus.tx_unencodable"] == 1
        port.inject([b"x.y", b"\xc1 not msgpack"])
        assert await port.recv_event() is None
        assert port.counters["bus.rx_malformed.not-msgpack"] == 1
        good = port.envelope("x.y", {})
        port.inject(encode(good))
        assert (await port.recv_event()) == good

    vrun(main())


class _Echo(Actor):
    name = "vrrp"
    subscriptions = ("ping.",)

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.ticks: list[float] = []
        self.seen: list[str] = []

    async def setup(self) -> None:
        self.spawn(self._tick(), "tick")

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self.ticks.append(self.now())

    # ping/pong and slow are not catalogue types: they reach the hooks for unknown ones
    async def on_unknown_event(self, env: Any) -> None:
        self.seen.append(env.type)
        self.publish("pong", {"n": len(self.seen)})

    async def on_unknown_command(self, command: str, body: dict[str, Any]) -> dict[str, Any]:
        if command == "slow":
            await asyncio.sleep(body["s"])
            return {"slept": body["s"]}
        return await super().on_unknown_command(command, body)


def test_a_shell_runs_on_the_seams(vrun: Callable[..., Any]) -> None:
    async def main() -> None:
        run = await start_shell(_Echo, config=None)
        run.publish("ping.x", {})
        await wait_until(lambda: run.bus.bodies("pong"), 5, what="pong")
        assert (await run.command("hello"))["ok"] is True
        reply = await run.command("slow", {"s": 120}, timeout=200)
        assert reply == {"ok": True, "result": {"slept": 120}}
        actor = run.actor
        assert isinstance(actor, _Echo) and len(actor.ticks) >= 120
        bad = await run.command("nope")
        assert bad["ok"] is False and "unknown command" in bad["error"]
        await run.stop()

    real = time.perf_counter()
    vrun(main())
    assert time.perf_counter() - real < 2.0


def _driver(log: list[Any]) -> Callable[..., list[Any]]:
    def drive(now: float, what: str) -> list[Any]:
        log.append(now)
        return {"start": ["timer", "log:hi"], "fire": ["advert", "state"], "quiet": []}[what]

    return drive


def test_playbook_passes_and_filters() -> None:
    seen: list[Any] = []
    pb = Playbook(_driver(seen), keep=lambda c: not c.startswith("log:"))
    pb >> (0.0, "start") << "timer"
    pb >> (1.0, "fire") << "advert" << "state"
    pb >> (2.0, "quiet")
    assert pb
    assert seen == [0.0, 1.0, 2.0]


def test_playbook_mismatch_shows_a_diff() -> None:
    pb = Playbook(_driver([]))
    pb >> (0.0, "fire") << "advert" << "master"
    with pytest.raises(PlaybookError) as err:
        pb.run()
    text = str(err.value)
    assert "- 'master'" in text and "+ 'state'" in text and "step 0" in text


def test_playbook_unconsumed_and_unexpected_commands_fail() -> None:
    pb = Playbook(_driver([]))
    pb >> (0.0, "quiet") << "timer"
    with pytest.raises(PlaybookError, match="never came"):
        pb.run()
    pb2 = Playbook(_driver([]))
    pb2 >> (0.0, "fire")
    with pytest.raises(PlaybookError, match="nobody expected"):
        pb2.run()
    pb3 = Playbook(_driver([]))
    pb3 << "timer"
    with pytest.raises(PlaybookError, match="before any input"):
        pb3.run()


def test_a_peer_whose_handler_returns_garbage_answers_an_error(vrun: Callable[..., Any]) -> None:
    async def main() -> dict[str, Any]:
        bus = InMemoryBus()
        me = bus.client("vrrp")
        bus.peer("netlink", {"netlink.snapshot": lambda body: {"when": object()}})
        me.send(me.envelope("cmd.netlink.snapshot", {}, to="netlink", id_=3))
        reply = await me.recv_direct()
        assert reply is not None
        return dict(reply.body)

    body = vrun(main())
    assert body["ok"] is False and "unencodable reply" in body["error"]
