"""The ZeroMQ side of the bus for one child actor: a DEALER to the parent's broker and a SUB.

Outgoing messages (events, commands, replies) all go up the DEALER, so one actor's messages
keep their order. Incoming events arrive on the SUB (filtered by topic prefix), incoming
commands and replies on the DEALER. Sends never block: a full queue (high-water mark) drops
the message and counts it, as a bus shared with slow readers must (docs/ARCHITECTURE.md §3).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
import typing
from collections import Counter
from collections.abc import Iterable
from typing import Any

import zmq
import zmq.asyncio

from pykeepalived.bus import topology
from pykeepalived.bus.envelope import Envelope, MalformedMessage, decode, encode

SEND_HWM = 10_000
RECV_HWM = 100_000


def send_nowait(sock: zmq.asyncio.Socket, frames: list[bytes]) -> None:
    """Send without blocking; raise zmq.Again / ZMQError synchronously, as a plain socket would.

    An asyncio socket returns a future even for NOBLOCK sends; pyzmq attempts the send at
    once, so the future is already settled and its exception can be raised here.
    """
    fut = typing.cast(
        "asyncio.Future[Any]", sock.send_multipart(frames, flags=zmq.NOBLOCK, copy=False)
    )
    if fut.done():
        fut.result()
    else:  # pragma: no cover - pyzmq settles NOBLOCK sends immediately
        fut.add_done_callback(lambda f: f.cancelled() or f.exception())


class PortBase:
    """What every bus port does alike: stamp envelopes for its actor and count what it
    encodes and decodes. ``BusClient`` adds the ZeroMQ sockets; the test seams'
    in-memory port adds queues."""

    def __init__(self, name: str, host: str, counters: Counter[str]) -> None:
        self.name = name
        self.host = host
        self.pid = os.getpid()
        self.counters = counters
        self._seq = itertools.count(1)

    def envelope(
        self, type_: str, body: dict[str, Any], *, to: str | None = None, id_: int | None = None
    ) -> Envelope:
        return Envelope(
            type=type_,
            src=self.name,
            host=self.host,
            pid=self.pid,
            seq=next(self._seq),
            ts=time.time(),
            body=body,
            to=to,
            id=id_,
        )

    def _encode(self, env: Envelope) -> list[bytes]:
        try:
            return encode(env)
        except MalformedMessage:
            self.counters["bus.tx_unencodable"] += 1
            raise

    def _decode(self, frames: list[bytes]) -> Envelope | None:
        try:
            env = decode(frames)
        except MalformedMessage as exc:
            self.counters[f"bus.rx_malformed.{exc.reason}"] += 1
            return None
        self.counters["bus.rx"] += 1
        return env


class BusClient(PortBase):
    """One actor's connection to the broker. ``seq`` restarts at 1 in every process."""

    def __init__(
        self,
        name: str,
        host: str,
        runtime_dir: str,
        subscriptions: Iterable[str],
        counters: Counter[str],
        ctx: zmq.asyncio.Context | None = None,
    ) -> None:
        super().__init__(name, host, counters)
        self._own_ctx = ctx is None
        self.ctx = ctx or zmq.asyncio.Context()
        self.dealer = self.ctx.socket(zmq.DEALER)
        self.dealer.setsockopt(zmq.IDENTITY, name.encode())
        self.dealer.setsockopt(zmq.SNDHWM, SEND_HWM)
        self.dealer.setsockopt(zmq.RCVHWM, RECV_HWM)
        self.dealer.setsockopt(zmq.LINGER, 500)
        self.dealer.setsockopt(zmq.IMMEDIATE, 0)
        self.dealer.connect(topology.endpoint(runtime_dir, topology.BUS))
        self.sub = self.ctx.socket(zmq.SUB)
        self.sub.setsockopt(zmq.RCVHWM, RECV_HWM)
        self.sub.setsockopt(zmq.LINGER, 0)
        for prefix in subscriptions:
            self.sub.setsockopt(zmq.SUBSCRIBE, prefix.encode())
        self.sub.connect(topology.endpoint(runtime_dir, topology.EVENTS))

    def send(self, env: Envelope) -> bool:
        """Queue an envelope for the broker; False (and counted) if it had to be dropped."""
        frames = self._encode(env)
        try:
            send_nowait(self.dealer, frames)
        except zmq.Again:
            self.counters["bus.tx_dropped_hwm"] += 1
            return False
        self.counters["bus.tx"] += 1
        return True

    async def recv_direct(self) -> Envelope | None:
        """Next command or reply for this actor; None for a dropped malformed frame."""
        frames = await self.dealer.recv_multipart()
        return self._decode(frames)

    async def recv_event(self) -> Envelope | None:
        frames = await self.sub.recv_multipart()
        return self._decode(frames)

    def close(self) -> None:
        self.dealer.close(linger=200)
        self.sub.close(linger=0)
        if self._own_ctx:
            self.ctx.term()
