"""Test seams shipped with the package: an in-memory bus and a virtual clock for actor loops.

Every actor shell talks to the world through two things: its bus port (``envelope``,
``send``, ``recv_direct``, ``recv_event``, ``close`` — what :class:`~pykeepalived.bus.
transport.BusClient` offers) and its event loop's clock (``loop.time()``, ``call_later``,
``asyncio.sleep``, ``wait_for``). This module gives tests a stand-in for each, so a shell runs
unchanged, without root, without ZeroMQ and without waiting:

* :class:`InMemoryBus` is a broker in one process. ``bus.client(name, subscriptions)`` hands
  an actor a port with BusClient's surface; events fan out by topic prefix as ZeroMQ's SUB
  filtering does, commands and replies go to the actor named in ``to``. Every frame goes
  through the real envelope codec (an unencodable body fails here as it would on the wire)
  and is recorded in ``bus.log`` for assertions. ``bus.peer(name, handlers)`` plays another
  actor: it answers the commands it has a handler for and records the rest.
* :class:`VirtualClockLoop` is an asyncio loop whose ``time()`` is virtual. When nothing is
  ready to run it jumps straight to the next timer instead of sleeping (trio's MockClock
  with ``autojump_threshold=0``), so a 3-second timeout takes microseconds of real time
  and every run is deterministic. ``io_grace`` lets a test that also waits on real file
  descriptors (a child process, a socket) give them that much real time before jumping.

:func:`run_virtual` runs a coroutine on a fresh virtual loop; the pytest fixture in
``tests/conftest.py`` wraps it.
"""

from __future__ import annotations

import asyncio
import selectors
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pykeepalived.bus.envelope import (
    COMMAND_PREFIX,
    REPLY_TYPE,
    Envelope,
    MalformedMessage,
    decode,
)
from pykeepalived.bus.transport import PortBase

T = TypeVar("T")

#: a peer's command handler: request body in, reply result out (raise to answer an error)
Handler = Callable[[dict[str, Any]], "dict[str, Any] | Awaitable[dict[str, Any]]"]


class InMemoryPort(PortBase):
    """One actor's end of an :class:`InMemoryBus`; the same surface as ``BusClient``."""

    def __init__(
        self,
        hub: InMemoryBus,
        name: str,
        subscriptions: Iterable[str],
        counters: Counter[str] | None = None,
        host: str = "testhost",
    ) -> None:
        super().__init__(name, host, counters if counters is not None else Counter())
        self.hub = hub
        self.subscriptions = tuple(subscriptions)
        self.direct: asyncio.Queue[list[bytes]] = asyncio.Queue()
        self.events: asyncio.Queue[list[bytes]] = asyncio.Queue()
        self.closed = False

    # ---- BusClient's surface (envelope() comes from PortBase) ---------------------------
    def send(self, env: Envelope) -> bool:
        frames = self._encode(env)
        self.counters["bus.tx"] += 1
        self.hub.route(frames)
        return True

    async def recv_direct(self) -> Envelope | None:
        return self._decode(await self.direct.get())

    async def recv_event(self) -> Envelope | None:
        return self._decode(await self.events.get())

    def close(self) -> None:
        self.closed = True
        self.hub.ports.pop(self.name, None)

    # ---- for tests -------------------------------------------------------------------
    def wants(self, type_: str) -> bool:
        return any(type_.startswith(prefix) for prefix in self.subscriptions)

    def inject(self, frames: list[bytes], direct: bool = False) -> None:
        """Deliver raw frames as if the broker had sent them (garbage included)."""
        (self.direct if direct else self.events).put_nowait(frames)


@dataclass
class Peer:
    """A stand-in for another actor: answers commands from ``handlers``, records the rest."""

    port: InMemoryPort
    handlers: dict[str, Handler]
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    unanswered: list[Envelope] = field(default_factory=list)

    def calls_of(self, command: str) -> list[dict[str, Any]]:
        return [body for name, body in self.calls if name == command]

    async def serve(self) -> None:
        while True:
            env = await self.port.recv_direct()
            if env is None or not env.is_command:
                continue
            self.calls.append((env.command, env.body))
            handler = self.handlers.get(env.command)
            if handler is None:
                self.unanswered.append(env)
                continue
            await self._answer(env, handler)

    async def _answer(self, env: Envelope, handler: Handler) -> None:
        body: dict[str, Any]
        try:
            result = handler(env.body)
            if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
                result = await result
            body = {"ok": True, "result": result}
        except Exception as exc:
            body = {"ok": False, "error": str(exc)}
        try:
            self.port.send(self.port.envelope(REPLY_TYPE, body, to=env.src, id_=env.id))
        except MalformedMessage as exc:
            # the handler returned something the wire cannot carry: say so to the caller
            # at once (a silent peer would look like a timeout)
            error = {"ok": False, "error": f"peer {self.port.name}: unencodable reply: {exc}"}
            self.port.send(self.port.envelope(REPLY_TYPE, error, to=env.src, id_=env.id))

    def publish(self, type_: str, body: dict[str, Any]) -> None:
        self.port.send(self.port.envelope(type_, body))


class InMemoryBus:
    """A broker in one loop: routes frames between ports and records every envelope."""

    def __init__(self) -> None:
        self.ports: dict[str, InMemoryPort] = {}
        self.log: list[Envelope] = []
        self.undeliverable: list[Envelope] = []
        self._peer_tasks: list[asyncio.Task[None]] = []

    def client(
        self, name: str, subscriptions: Iterable[str] = (), counters: Counter[str] | None = None
    ) -> InMemoryPort:
        port = InMemoryPort(self, name, subscriptions, counters)
        self.ports[name] = port
        return port

    def peer(
        self,
        name: str,
        handlers: dict[str, Handler] | None = None,
        subscriptions: Iterable[str] = (),
    ) -> Peer:
        """Another actor played by the test; its serve loop runs on the current loop."""
        peer = Peer(self.client(name, subscriptions), dict(handlers or {}))
        self._peer_tasks.append(asyncio.get_running_loop().create_task(peer.serve()))
        return peer

    def route(self, frames: list[bytes]) -> None:
        env = decode(frames)  # the sender encoded it: a failure here is a codec bug
        self.log.append(env)
        if env.is_event:
            for subscriber in list(self.ports.values()):
                if subscriber.wants(env.type):
                    subscriber.events.put_nowait(frames)
            return
        addressee = self.ports.get(env.to or "")
        if addressee is None:
            self.undeliverable.append(env)
            return
        addressee.direct.put_nowait(frames)

    @property
    def subscribed(self) -> Counter[str]:
        """Subscriptions per topic prefix over the connected ports (what XPUB reports)."""
        return Counter(p for port in self.ports.values() for p in port.subscriptions)

    # ---- for assertions ---------------------------------------------------------------
    def events(self, prefix: str = "") -> list[Envelope]:
        return [e for e in self.log if e.is_event and e.type.startswith(prefix)]

    def bodies(self, type_: str) -> list[dict[str, Any]]:
        return [e.body for e in self.log if e.type == type_]

    def commands(self, command: str = "") -> list[Envelope]:
        want = COMMAND_PREFIX + command
        return [e for e in self.log if e.is_command and e.type.startswith(want)]

    def close(self) -> None:
        for task in self._peer_tasks:
            task.cancel()
        self._peer_tasks.clear()


# ---- the virtual clock ---------------------------------------------------------------------
class _AutojumpSelector(selectors.BaseSelector):
    """Wraps the real selector: polls without blocking, then moves the loop's clock on."""

    def __init__(self, clock: VirtualClock) -> None:
        self._real = selectors.DefaultSelector()
        self._clock = clock

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._real.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.modify(fileobj, events, data)

    def get_map(self) -> Any:
        return self._real.get_map()

    def close(self) -> None:
        self._real.close()

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = self._real.select(0)
        if ready or timeout == 0:
            return ready
        grace = self._clock.io_grace
        if grace > 0:
            real_wait = grace if timeout is None else min(grace, timeout)
            ready = self._real.select(real_wait)
            if ready:
                return ready
        if timeout is None:
            if grace > 0:
                return self._real.select(None)
            raise RuntimeError(
                "virtual clock: the loop is idle with no timer and no I/O ready "
                "(a test waits for something that never happens)"
            )
        self._clock.advance(timeout)
        return []


class VirtualClock:
    """The loop's notion of time: starts at ``start`` and moves only when the loop is idle."""

    def __init__(self, start: float = 1000.0, io_grace: float = 0.0) -> None:
        self.now = start
        self.io_grace = io_grace
        self.jumps = 0

    def advance(self, seconds: float) -> None:
        if seconds > 0:
            self.now += seconds
            self.jumps += 1


class VirtualClockLoop(asyncio.SelectorEventLoop):
    """An asyncio loop on a :class:`VirtualClock`: idle time costs nothing."""

    def __init__(self, clock: VirtualClock | None = None) -> None:
        self.clock = clock or VirtualClock()
        super().__init__(selector=_AutojumpSelector(self.clock))

    def time(self) -> float:
        return self.clock.now


def run_virtual(
    main: Coroutine[Any, Any, T],
    *,
    clock: VirtualClock | None = None,
    timeout: float | None = 3600.0,
) -> T:
    """Run ``main`` to completion on a new virtual loop; ``timeout`` is virtual seconds."""
    loop = VirtualClockLoop(clock)
    try:
        return loop.run_until_complete(asyncio.wait_for(main, timeout))
    finally:
        _cancel_all(loop)
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def _cancel_all(loop: asyncio.AbstractEventLoop) -> None:
    tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))


async def wait_until(
    cond: Callable[[], Any], timeout: float = 30.0, step: float = 0.01, what: str = ""
) -> Any:
    """Poll ``cond`` on the loop's clock until it is truthy; fail after ``timeout`` seconds.

    On a virtual loop the polling costs no real time; on a real loop it is a bounded wait
    on a condition, never a bare sleep.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = cond()
        if value:
            return value
        if loop.time() >= deadline:
            raise TimeoutError(f"condition not met within {timeout:g} s: {what or cond!r}")
        await asyncio.sleep(step)
