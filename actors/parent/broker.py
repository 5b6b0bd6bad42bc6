"""The bus broker hosted by the parent: routes commands, fans out events, feeds the tap.

Sockets (all under the runtime directory, see ``bus.topology``):

* ``bus.sock`` ROUTER — every child's DEALER connects here (identity = actor name).
  Events from a child are re-published unchanged (same bytes) on ``events.sock`` and on the
  tap; commands and replies are forwarded to the addressee's identity, or handled by the
  parent when addressed to ``parent``. ``ROUTER_HANDOVER`` lets a restarted child take over
  its name; ``ROUTER_MANDATORY`` turns a command to an absent actor into an error reply.
* ``events.sock`` PUB — children's SUB sockets.
* ``tap.sock`` PUB (mode 0600), plus an optional TCP endpoint — every event, for tools.

Nothing here blocks: every send is non-blocking, and a full queue (a slow subscriber or a
hung child) drops the message and counts it. Malformed frames are counted and dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import socket
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import zmq
import zmq.asyncio

from pykeepalived.bus import topology
from pykeepalived.bus.envelope import REPLY_TYPE, Envelope, MalformedMessage, decode, encode
from pykeepalived.bus.transport import send_nowait

log = logging.getLogger("pykeepalived.parent")

#: queue per tap subscriber: the start-up burst of a 10,000-real-server config (one
#: check.result each) fits; a subscriber that never reads costs at most ~6 MB, then drops
TAP_HWM = 20_000
EVENTS_HWM = 50_000
DRAIN_BATCH = 256

CommandHandler = Callable[[Envelope], Awaitable[dict[str, Any]]]
EventHook = Callable[[Envelope], None]


class CommandFailed(Exception):
    pass


class Broker:
    def __init__(self, runtime_dir: str, host: str, counters: Counter[str]) -> None:
        self.runtime_dir = runtime_dir
        self.host = host or socket.gethostname()
        self.counters = counters
        self.pid = os.getpid()
        self._seq = itertools.count(1)
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.ctx = zmq.asyncio.Context()
        self.command_handler: CommandHandler | None = None
        self.event_hooks: list[EventHook] = []
        self.hello_hook: Callable[[str, Envelope], None] | None = None
        #: actor name -> loop time (monotonic) its last valid message reached the broker; the
        #: watchdog counts a busy child's traffic as a sign of life (its hello reply may
        #: be queued behind its own events)
        self.last_seen: dict[str, float] = {}
        #: topic prefix -> subscriptions seen on the events socket (one per subscriber,
        #: XPUB_VERBOSE); only grows, so a caller compares against an earlier copy
        self.subscribed: Counter[str] = Counter()

        self.router = self.ctx.socket(zmq.ROUTER)
        self.router.setsockopt(zmq.ROUTER_MANDATORY, 1)
        self.router.setsockopt(zmq.ROUTER_HANDOVER, 1)
        self.router.setsockopt(zmq.SNDHWM, EVENTS_HWM)
        self.router.setsockopt(zmq.RCVHWM, EVENTS_HWM)
        self.router.setsockopt(zmq.LINGER, 0)
        self.router.bind(topology.endpoint(runtime_dir, topology.BUS))
        # XPUB, not PUB: the children's subscriptions come back to us, so the parent can
        # start a producer only once its consumers listen (no lost start-up events)
        self.events = self.ctx.socket(zmq.XPUB)
        self.events.setsockopt(zmq.XPUB_VERBOSE, 1)
        self.events.setsockopt(zmq.SNDHWM, EVENTS_HWM)
        self.events.setsockopt(zmq.LINGER, 0)
        self.events.bind(topology.endpoint(runtime_dir, topology.EVENTS))
        self.tap = self.ctx.socket(zmq.PUB)
        self.tap.setsockopt(zmq.SNDHWM, TAP_HWM)
        self.tap.setsockopt(zmq.LINGER, 0)
        self.tap.bind(topology.endpoint(runtime_dir, topology.TAP))
        os.chmod(topology.socket_path(runtime_dir, topology.TAP), 0o600)
        for name in (topology.BUS, topology.EVENTS):
            os.chmod(topology.socket_path(runtime_dir, name), 0o600)
        self.tap_tcp: zmq.asyncio.Socket | None = None
        self._pubs: list[tuple[zmq.Socket[bytes], str]] | None = None

    def set_tcp_tap(self, endpoint: str | None) -> bool:
        """Replace (or with None remove) the TCP tap; False (logged, counted) if the new
        endpoint cannot be bound: the daemon runs on without it."""
        if self.tap_tcp is not None:
            self.tap_tcp.close(linger=0)
            self.tap_tcp = None
            self._pubs = None
        if not endpoint:
            return True
        try:
            self.add_tcp_tap(endpoint)
        except zmq.ZMQError as exc:
            self.counters["bus.tap_tcp_errors"] += 1
            log.error("cannot open the TCP event tap %s: %s", endpoint, exc)
            return False
        return True

    def add_tcp_tap(self, endpoint: str) -> None:
        """The optional TCP event tap of ``pykeepalived { event_tap ... }``."""
        if not endpoint.startswith("tcp://"):
            endpoint = f"tcp://{endpoint}"
        sock = self.ctx.socket(zmq.PUB)
        sock.setsockopt(zmq.SNDHWM, TAP_HWM)
        sock.setsockopt(zmq.LINGER, 0)
        sock.bind(endpoint)
        self.tap_tcp = sock
        self._pubs = None

    # ---- sending -----------------------------------------------------------------------
    def envelope(
        self, type_: str, body: dict[str, Any], *, to: str | None = None, id_: int | None = None
    ) -> Envelope:
        return Envelope(
            type=type_, src="parent", host=self.host, pid=self.pid, seq=next(self._seq),
            ts=time.time(), body=body, to=to, id=id_,
        )  # fmt: skip

    def publish(self, type_: str, body: dict[str, Any]) -> None:
        """An event from the parent itself (watchdog.restart, config.reload, ...)."""
        env = self.envelope(type_, body)
        self._fan_out(encode(env))
        for hook in self.event_hooks:
            hook(env)

    def _publishers(self) -> list[tuple[zmq.Socket[bytes], str]]:
        """Plain (non-asyncio) views of the PUB sockets: nothing ever waits on them, so
        sending through the shadow skips a future per message and per socket."""
        if self._pubs is None:
            pubs = [(self.events, "events"), (self.tap, "tap"), (self.tap_tcp, "tap")]
            self._pubs = [(zmq.Socket.shadow(sock.underlying), name) for sock, name in pubs if sock]
        return self._pubs

    def _fan_out(self, frames: list[bytes]) -> None:
        for sock, counter in self._publishers():
            try:
                sock.send_multipart(frames, zmq.NOBLOCK, copy=False)
            except zmq.Again:
                self.counters[f"bus.{counter}_dropped"] += 1
        self.counters["bus.events"] += 1

    def _send_to(self, actor: str, frames: list[bytes]) -> bool:
        try:
            send_nowait(self.router, [actor.encode(), *frames])
        except zmq.Again:
            self.counters["bus.route_dropped"] += 1
            return False
        except zmq.ZMQError as exc:
            if exc.errno == zmq.EHOSTUNREACH:
                self.counters["bus.route_unreachable"] += 1
                return False
            raise
        return True

    async def request(
        self, to: str, command: str, body: dict[str, Any], timeout: float = 2.0
    ) -> dict[str, Any]:
        """A command from the parent to a child; returns the result or raises CommandFailed."""
        msg_id = next(self._ids)
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = fut
        try:
            env = self.envelope(f"cmd.{command}", body, to=to, id_=msg_id)
            if not self._send_to(to, encode(env)):
                raise CommandFailed(f"{to} is not connected")
            reply = await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            raise CommandFailed(f"{command} to {to}: no reply within {timeout:g} s") from None
        finally:
            self._pending.pop(msg_id, None)
        if not reply.get("ok"):
            raise CommandFailed(str(reply.get("error")))
        result = reply.get("result", {})
        return result if isinstance(result, dict) else {"value": result}

    def send_hello(self, to: str) -> bool:
        """A watchdog hello; the reply reaches ``hello_hook`` (it has no pending future)."""
        env = self.envelope("cmd.hello", {}, to=to, id_=next(self._ids))
        return self._send_to(to, encode(env))

    # ---- receiving ---------------------------------------------------------------------
    async def run(self) -> None:
        """Route forever. After each awaited message, drain what is already queued with
        plain non-blocking reads (no future per message), up to ``DRAIN_BATCH``, then let
        the rest of the loop (watchdog, control, metrics) run before the next batch."""
        raw: zmq.Socket[bytes] = zmq.Socket.shadow(self.router.underlying)
        while True:
            frames = await self.router.recv_multipart(copy=True)
            self._route_safe(frames)
            for _ in range(DRAIN_BATCH):
                try:
                    frames = raw.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                self._route_safe(frames)
            self.drain_subscriptions()
            # an await on a message that is already there does not yield: give the other
            # tasks (watchdog, control, metrics) their turn after every batch
            await asyncio.sleep(0)

    def drain_subscriptions(self) -> None:
        """Count the (un)subscribe frames the children's SUB sockets sent us so far."""
        raw: zmq.Socket[bytes] = zmq.Socket.shadow(self.events.underlying)
        while True:
            try:
                frame = raw.recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            if frame[:1] == b"\x01":
                self.subscribed[frame[1:].decode(errors="replace")] += 1

    def _route_safe(self, frames: list[bytes]) -> None:
        try:
            self._route(frames)
        except Exception as exc:  # a bad frame never ends the broker
            self.counters["bus.route_errors"] += 1
            log.error("broker: cannot route a message: %r", exc)

    def _route(self, frames: list[bytes]) -> None:
        if len(frames) < 2:
            self.counters["bus.rx_malformed.frame-count"] += 1
            return
        ident, payload_frames = frames[0], list(frames[1:])
        try:
            env = decode(payload_frames)
        except MalformedMessage as exc:
            self.counters[f"bus.rx_malformed.{exc.reason}"] += 1
            return
        sender = ident.decode(errors="replace")
        if env.src != sender:
            self.counters["bus.rx_malformed.spoofed-src"] += 1
            return
        self.counters["bus.rx"] += 1
        self.last_seen[sender] = asyncio.get_running_loop().time()  # the watchdog's clock
        if env.is_event:
            self._fan_out(payload_frames)
            for hook in self.event_hooks:
                hook(env)
            return
        if env.to == "parent":
            if env.is_reply:
                self._on_reply(sender, env)
            else:
                asyncio.get_running_loop().create_task(self._handle_command(env))
            return
        assert env.to is not None
        if not self._send_to(env.to, payload_frames) and env.is_command:
            reply = self.envelope(
                REPLY_TYPE, {"ok": False, "error": f"actor {env.to} is not running"},
                to=env.src, id_=env.id,
            )  # fmt: skip
            self._send_to(env.src, encode(reply))

    def _on_reply(self, sender: str, env: Envelope) -> None:
        fut = self._pending.get(env.id or 0)
        if fut is not None:
            if not fut.done():
                fut.set_result(env.body)
            return
        if self.hello_hook is not None:
            self.hello_hook(sender, env)
        else:
            self.counters["bus.late_replies"] += 1

    async def _handle_command(self, env: Envelope) -> None:
        body: dict[str, Any]
        try:
            if self.command_handler is None:
                raise CommandFailed("parent takes no commands")
            body = {"ok": True, "result": await self.command_handler(env)}
        except Exception as exc:
            body = {"ok": False, "error": str(exc)}
        self._send_to(env.src, encode(self.envelope(REPLY_TYPE, body, to=env.src, id_=env.id)))

    def close(self) -> None:
        for sock in (self.router, self.events, self.tap, self.tap_tcp):
            if sock is not None:
                sock.close(linger=0)
        self.ctx.term()
        for name in (topology.BUS, topology.EVENTS, topology.TAP):
            with contextlib.suppress(OSError):
                Path(topology.socket_path(self.runtime_dir, name)).unlink()
