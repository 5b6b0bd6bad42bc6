"""Broker and actor base together in one loop: commands, replies, events, hello, bad frames."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import msgpack
import pytest
import zmq
import zmq.asyncio

from pykeepalived.actors.base import Actor, CommandError, CommandTimeout, Options
from pykeepalived.actors.parent.broker import Broker, CommandFailed
from pykeepalived.bus import messages as M
from pykeepalived.bus import topology
from pykeepalived.bus.envelope import Envelope, decode
from pykeepalived.bus.transport import BusClient


class Echo(Actor):
    name = "netlink"
    subscriptions = ("vrrp.",)

    async def setup(self) -> None:
        self.seen: list[Envelope] = []
        self.block = asyncio.Event()

    async def on_event(self, env: Envelope, msg: M.Event) -> None:
        self.seen.append(env)

    async def on_unknown_command(self, command: str, body: dict[str, Any]) -> dict[str, Any]:
        if command == "echo":
            return {"echo": body}
        if command == "fail":
            raise CommandError("nope")
        if command == "slow":
            await self.block.wait()
            return {}
        return await super().on_unknown_command(command, body)


class Caller(Actor):
    name = "vrrp"


async def _start(cls: type[Actor], rundir: str) -> Actor:
    actor = cls(config=None, options=Options(runtime_dir=rundir))  # type: ignore[arg-type]
    actor.bus = BusClient(cls.name, "h", rundir, cls.subscriptions, actor.counters)
    actor.spawn(actor._serve())
    return actor


@contextlib.asynccontextmanager
async def _bus() -> AsyncIterator[tuple[Broker, Actor, Actor, str]]:
    rundir = tempfile.mkdtemp(prefix="pkbus", dir="/tmp")
    broker = Broker(rundir, "h", Counter())
    task = asyncio.get_running_loop().create_task(broker.run())
    echo = await _start(Echo, rundir)
    caller = await _start(Caller, rundir)
    # wait until both DEALERs are connected (the router knows their identities)
    for _ in range(200):
        try:
            await broker.request("netlink", M.Status(), timeout=0.05)
            await broker.request("vrrp", M.Status(), timeout=0.05)
            break
        except CommandFailed:
            await asyncio.sleep(0.01)
    try:
        yield broker, echo, caller, rundir
    finally:
        await _close(broker, task, echo, caller)


async def _close(broker: Broker, task: asyncio.Task[None], *actors: Actor) -> None:
    for actor in actors:
        actor.request_stop()
    await asyncio.sleep(0.05)
    for actor in actors:
        for t in list(actor._tasks):
            t.cancel()
        assert actor.bus is not None
        actor.bus.close()
    task.cancel()
    broker.close()


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_command_reply_event_and_hello() -> None:
    async def body() -> None:
        async with _bus() as (broker, echo, caller, rundir):
            assert await caller.request_raw("netlink", "echo", {"x": [1, "a"]}) == {
                "echo": {"x": [1, "a"]}
            }
            with pytest.raises(CommandError, match="nope"):
                await caller.request_raw("netlink", "fail", {})
            with pytest.raises(CommandError, match="unknown command"):
                await caller.request_raw("netlink", "nosuch", {})
            with pytest.raises(CommandError, match="not running"):
                await caller.request_raw("checker", "echo", {}, timeout=1)
            with pytest.raises(CommandTimeout):
                await caller.request_raw("netlink", "slow", {}, timeout=0.1)
            # a slow command does not hold up hello or other commands
            assert (await caller.request_raw("netlink", "echo", {}))["echo"] == {}
            got: list[Envelope] = []
            broker.hello_hook = lambda sender, env: got.append(env)
            broker.send_hello("netlink")
            for _ in range(100):
                if got:
                    break
                await asyncio.sleep(0.01)
            assert got and got[0].body["ok"] and got[0].src == "netlink"

            tap = broker.ctx.socket(zmq.SUB)
            tap.setsockopt(zmq.SUBSCRIBE, b"")
            tap.connect(topology.endpoint(rundir, topology.TAP))
            await asyncio.sleep(0.2)
            caller.publish("vrrp.state", {"instance": "VI_1", "state": "MASTER"})  # malformed
            caller.emit(M.VrrpState("VI_1", 1, "inet", "eth0", "MASTER", "BACKUP", 100, ""))
            caller.publish("other.event", {})
            frames = await asyncio.wait_for(tap.recv_multipart(), 2)
            env = decode(frames)
            assert env.type == "vrrp.state" and env.src == "vrrp" and env.seq >= 1
            for _ in range(100):
                if echo.seen:  # type: ignore[attr-defined]
                    break
                await asyncio.sleep(0.01)
            assert [e.type for e in echo.seen] == ["vrrp.state"]  # type: ignore[attr-defined]
            assert echo.seen[0].body["vrid"] == 1  # type: ignore[attr-defined]
            assert echo.counters["bus.rx_invalid.vrrp.state.missing-field"] == 1
            tap.close()

    run(body())


def test_garbage_on_every_socket_crashes_nothing() -> None:
    async def body() -> None:
        async with _bus() as (broker, _echo, caller, rundir):
            ctx = zmq.asyncio.Context()
            dealer = ctx.socket(zmq.DEALER)
            dealer.setsockopt(zmq.IDENTITY, b"evil")
            dealer.connect(topology.endpoint(rundir, topology.BUS))
            for frames in ([b"x"], [b"a", b"\xff\x00"], [b"a", msgpack.packb({"v": 1})],
                           [b"a", b"b", b"c"], [b"", b""]):  # fmt: skip
                await dealer.send_multipart(frames)
            # spoofing another actor's name is refused too
            env = Envelope("vrrp.state", "vrrp", "h", 1, 1, 0.0, {})
            from pykeepalived.bus.envelope import encode

            await dealer.send_multipart(encode(env))
            await asyncio.sleep(0.2)
            malformed = sum(v for k, v in broker.counters.items() if "malformed" in k)
            assert malformed >= 6
            assert (await caller.request_raw("netlink", "echo", {"ok": 1}))["echo"] == {"ok": 1}
            dealer.close(0)
            ctx.term()

    run(body())
