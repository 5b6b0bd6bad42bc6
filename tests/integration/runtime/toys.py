"""Small real actors for runtime tests, run in place of shells that are not written yet.

Each is an ordinary :class:`Actor` subclass on the real bus, started by the real parent
from its forkserver (through ``ACTOR_OVERRIDES``, see ``toyd.py``). They announce
themselves with a ``toy.started`` event, answer ``flood`` (publish N events as fast as
the bus takes them) and ``spin`` (block their own loop, as a hung actor would), and the
vrrp one reports VRRP-shaped instances so status, dumps and metrics have something to
render. Their ``toy.*`` types are not in the bus catalogue, so they arrive through the
runtime's ``on_unknown_event``/``on_unknown_command`` hooks (counted as unknown).
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from pykeepalived.actors.base import Actor, CommandError
from pykeepalived.bus.envelope import Envelope


class Toy(Actor):
    subscriptions = ("toy.ping", "toy.lat")

    async def setup(self) -> None:
        self.pings = 0
        self.applied = 0
        self.latencies: list[float] = []
        self.publish("toy.started", {"actor": self.name, "generation": self.generation})

    async def on_unknown_event(self, env: Envelope) -> None:
        if env.type == "toy.lat":
            # perf_counter is CLOCK_MONOTONIC: comparable between processes on one host
            self.latencies.append(time.perf_counter() - float(env.body["ts"]))
            return
        if env.type == "toy.ping":
            self.pings += 1
            self.publish("toy.pong", {"actor": self.name, "seq": env.body.get("seq")})

    async def on_unknown_command(self, command: str, body: dict[str, Any]) -> dict[str, Any]:
        if command == "flood":
            # runs as a task: the reply must not wait behind (or be dropped with) the
            # flood; completion is the `toy.flood_done` event
            self.spawn(self._flood(int(body.get("n", 1000))), "flood")
            return {"started": True}
        if command == "pace":
            # n events, one every `interval` seconds: latency without saturation
            n, interval = int(body.get("n", 100)), float(body.get("interval", 0.002))
            for _ in range(n):
                self.publish("toy.lat", {"ts": time.perf_counter()})
                await asyncio.sleep(interval)
            return {"sent": n}
        if command == "latencies":
            out, self.latencies = self.latencies, []
            return {"latencies": out}
        if command == "ping":
            # publish a ping the other toys answer (bus latency between two actors)
            self.publish("toy.ping", {"seq": body.get("seq", 0), "t0": time.time()})
            return {}
        if command == "exit":
            # leave with a given status, as a child that found a fatal problem does
            self.loop.call_later(0.05, os._exit, int(body.get("code", 1)))
            return {}
        if command == "spin":
            time.sleep(float(body.get("seconds", 1.0)))  # a stuck loop: answers nothing
            return {}
        raise CommandError(f"unknown command {command!r} for toy {self.name}")

    async def _flood(self, n: int) -> None:
        dropped_before = self.counters["bus.tx_dropped_hwm"]
        batch_drops = dropped_before
        t0 = time.perf_counter()
        for i in range(n):
            self.publish("toy.flood", {"i": i, "ts": time.perf_counter()})
            if i % 200 == 199:
                # a well-behaved actor lets hello through, and backs off while the bus
                # is saturated (its queue dropped something in this batch)
                full = self.counters["bus.tx_dropped_hwm"] > batch_drops
                batch_drops = self.counters["bus.tx_dropped_hwm"]
                await asyncio.sleep(0.02 if full else 0)
        elapsed = time.perf_counter() - t0
        done = {"sent": n, "dropped": self.counters["bus.tx_dropped_hwm"] - dropped_before,
                "seconds": elapsed}  # fmt: skip
        for _ in range(100):  # the queue may still be full: retry until it is taken
            before = self.counters["bus.tx_dropped_hwm"]
            self.publish("toy.flood_done", done)
            if self.counters["bus.tx_dropped_hwm"] == before:
                return
            await asyncio.sleep(0.02)

    async def apply_config(self, new: Any) -> None:
        self.applied += 1

    def status(self) -> dict[str, Any]:
        return {"toy": True, "pings": self.pings, "applied": self.applied}


class ToyVrrp(Toy):
    name = "vrrp"

    def status(self) -> dict[str, Any]:
        return {
            **super().status(),
            "instances": [
                {"instance": "VI_1", "state": "MASTER", "priority": 100, "base_priority": 100,
                 "vrid": 51, "interface": "eth0", "family": "inet",
                 "vips": ["192.0.2.10 dev eth0 scope global"], "stats": {"advert_sent": 3}},
            ],
        }  # fmt: skip


class ToyNetlink(Toy):
    """Also counts the vrrp toy's floods: throughput between two actors."""

    name = "netlink"
    subscriptions = (*Toy.subscriptions, "toy.flood")

    async def setup(self) -> None:
        self.flood_seen = 0
        self.flood_first = 0.0
        self.flood_last = 0.0
        await super().setup()

    async def on_unknown_event(self, env: Envelope) -> None:
        if env.type == "toy.flood":
            now = time.perf_counter()
            self.flood_first = self.flood_first or now
            self.flood_last = now
            self.flood_seen += 1
            return
        await super().on_unknown_event(env)

    async def on_unknown_command(self, command: str, body: dict[str, Any]) -> dict[str, Any]:
        if command in ("flood_stats", "flood_stats_peek"):
            out = {"seen": self.flood_seen, "first": self.flood_first, "last": self.flood_last}
            if command == "flood_stats":
                self.flood_seen, self.flood_first, self.flood_last = 0, 0.0, 0.0
            return out
        return await super().on_unknown_command(command, body)


class ToyNotifier(Toy):
    name = "notifier"


class ToyChecker(Toy):
    name = "checker"


class ToyIpvs(Toy):
    name = "ipvs"


ALL = {
    cls.name: f"{__name__}:{cls.__name__}"
    for cls in (ToyVrrp, ToyNetlink, ToyNotifier, ToyChecker, ToyIpvs)
}
