"""Stand-ins for the parent's two seams: the child launcher and the broker, on the in-memory bus.

* :class:`FakeLauncher` takes the place of ``ForkserverLauncher``: ``start`` records the
  start and puts a :class:`FakeChild` on the :class:`~pykeepalived.bus.testing.InMemoryBus`
  under the child's name and pid. A child answers hello, status, config.apply and stop as
  the actor runtime does (bodies read and replies built through the message catalogue:
  ``HelloReply`` with its subscriptions, ``ActorStatus``, ``ConfigApplied``, ``Stopped``),
  until the test makes it ``exit(code)`` or ``hang()`` (a loop
  stuck in a handler: it answers nothing and, as an asyncio child, ignores SIGTERM; only
  SIGKILL ends it). ``kill`` plays the kernel's signals. Its ``sentinel`` is a real pipe
  that becomes readable at exit, as a process sentinel does, so the parent's
  ``loop.add_reader`` works unchanged.
* :class:`BusBroker` is the surface of ``actors/parent/broker.Broker`` (``emit``,
  ``publish``, ``send_hello``, ``request`` with a catalogue command returning its typed
  reply, ``subscribed``/``drain_subscriptions``, ``last_seen``, ``hello_hook``,
  ``command_handler``, ``event_hooks``, ``run``) on one port of the in-memory bus, so
  every event the parent emits lands in ``bus.log``.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import pickle
import signal
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pykeepalived.actors.parent.broker import CommandFailed
from pykeepalived.bus import messages as M
from pykeepalived.bus.envelope import REPLY_TYPE, Envelope
from pykeepalived.bus.testing import Handler, InMemoryBus, InMemoryPort, Peer


@dataclass
class FakeProcess:
    """What the parent reads of a ``multiprocessing`` process."""

    name: str
    pid: int
    generation: int
    exitcode: int | None = None
    ignores_term: bool = False
    _pipe: tuple[int, int] = field(default_factory=lambda: os.pipe2(os.O_CLOEXEC))

    @property
    def sentinel(self) -> int:
        return self._pipe[0]

    def join(self, timeout: float | None = None) -> None:
        """Nothing to reap: the fake's exit code is set when it "exits"."""

    def close(self) -> None:
        for fd in self._pipe:
            try:
                os.close(fd)
            except OSError:
                pass


def typed(cls: type[M.Command], answer: Callable[[Any], M.Reply]) -> Handler:
    """A peer handler that reads the body as ``cls`` and answers a catalogue reply, as the
    actor runtime does (a body that does not fit is refused with the runtime's error)."""

    def handle(body: dict[str, Any]) -> dict[str, Any]:
        try:
            msg = cls.from_body(body)
        except M.InvalidBody as exc:
            raise RuntimeError(f"invalid {cls.TYPE.removeprefix('cmd.')} body: {exc}") from None
        reply = answer(msg)
        assert isinstance(reply, cls.REPLY), reply
        return reply.to_body()

    return handle


class FakeChild:
    """One started child on the bus: a peer named like the actor, with the process's pid."""

    def __init__(self, launcher: FakeLauncher, process: FakeProcess, config: Any) -> None:
        self.launcher = launcher
        self.process = process
        self.config = config
        self.applied: list[int] = []
        self.started_at = time.time()
        answers: list[tuple[type[M.Command], Callable[[Any], M.Reply]]] = [
            (M.Hello, self._hello),
            (M.Status, self._status),
            (M.ConfigApply, self._apply),
            (M.Stop, self._stop),
        ]
        handlers = {cls.TYPE.removeprefix("cmd."): typed(cls, fn) for cls, fn in answers}
        self.peer: Peer = launcher.bus.peer(process.name, handlers)
        self.peer.port.pid = process.pid
        self.subscriptions = launcher.subscriptions.get(process.name, ())
        delay = launcher.listen_delay.get(process.name, 0.0)
        if delay:
            asyncio.get_running_loop().call_later(delay, self._listen)
        else:
            self._listen()

    def _listen(self) -> None:
        """The child's SUB socket is connected: its subscriptions reach the broker."""
        if self.process.exitcode is None:
            self.peer.port.subscriptions = self.subscriptions

    def _hello(self, msg: M.Hello) -> M.HelloReply:
        return M.HelloReply(self.process.generation, time.time(), tuple(self.subscriptions))

    def _status(self, msg: M.Status) -> M.ActorStatus:
        return M.ActorStatus(
            actor=self.process.name, pid=self.process.pid,
            uptime=time.time() - self.started_at, generation=self.process.generation,
            counters=dict(self.peer.port.counters), state={},
        )  # fmt: skip

    def _apply(self, msg: M.ConfigApply) -> M.ConfigApplied:
        """Records every generation received; keeps it only if applying works, as the
        runtime does (``apply_config`` raising leaves config and generation alone)."""
        self.applied.append(msg.generation)
        if self.launcher.apply_error.get(self.process.name):
            raise RuntimeError(self.launcher.apply_error[self.process.name])
        self.config = pickle.loads(msg.config)
        self.process.generation = msg.generation
        return M.ConfigApplied(self.process.generation)

    def _stop(self, msg: M.Stop) -> M.Stopped:
        if not self.launcher.ignore_stop.get(self.process.name):
            asyncio.get_running_loop().call_soon(self.exit, 0)
        return M.Stopped()

    def hang(self) -> None:
        """The child's loop is stuck: no more answers, SIGTERM is never handled."""
        self.peer.handlers.clear()
        self.process.ignores_term = True

    def exit(self, code: int) -> None:
        """The process ends with ``code`` (negative: killed by that signal)."""
        if self.process.exitcode is not None:
            return
        self.process.exitcode = code
        self.launcher.exits.append((self.launcher.now(), self.process.name, code))
        port = self.peer.port
        if self.launcher.bus.ports.get(port.name) is port:
            port.close()  # not connected any more: the broker cannot reach it
        os.write(self.process._pipe[1], b"x")


class FakeLauncher:
    """Starts :class:`FakeChild` processes and delivers the signals the parent sends."""

    def __init__(self, bus: InMemoryBus, first_pid: int = 40_000) -> None:
        self.bus = bus
        self._pids = itertools.count(first_pid)
        self.children: dict[str, FakeChild] = {}  # the latest of each name
        self.processes: list[FakeProcess] = []
        #: (loop time, name, pid, generation) per start; (time, pid, signal) per kill
        self.starts: list[tuple[float, str, int, int]] = []
        self.signals: list[tuple[float, int, int]] = []
        self.exits: list[tuple[float, str, int]] = []
        self.silent_from_start: set[str] = set()
        self.ignore_stop: dict[str, bool] = {}
        self.apply_error: dict[str, str] = {}
        #: per child: the prefixes it subscribes to, and how long its SUB takes to connect
        #: (math.inf: never)
        self.subscriptions: dict[str, tuple[str, ...]] = {}
        self.listen_delay: dict[str, float] = {}

    @staticmethod
    def now() -> float:
        return asyncio.get_running_loop().time()

    # ---- ForkserverLauncher's surface --------------------------------------------------
    def start(self, name: str, args: tuple[Any, ...]) -> FakeProcess:
        _name, _override, _options, blob, _parent_pid, generation = args
        process = FakeProcess(name, next(self._pids), generation)
        child = FakeChild(self, process, pickle.loads(blob))
        if name in self.silent_from_start:
            child.hang()
        self.children[name] = child
        self.processes.append(process)
        self.starts.append((self.now(), name, process.pid, generation))
        return process

    def kill(self, pid: int, sig: int) -> None:
        process = next((p for p in self.processes if p.pid == pid), None)
        if process is None or process.exitcode is not None:
            raise ProcessLookupError(pid)
        self.signals.append((self.now(), pid, sig))
        child = next(c for c in self.children.values() if c.process is process)
        if sig == signal.SIGKILL or (sig == signal.SIGTERM and not process.ignores_term):
            child.exit(-sig)

    # ---- for tests -----------------------------------------------------------------------
    def pid(self, name: str) -> int:
        return self.children[name].process.pid

    def started(self, name: str) -> list[tuple[float, str, int, int]]:
        return [s for s in self.starts if s[1] == name]

    def signals_to(self, name: str) -> list[tuple[float, int]]:
        pids = {s[2] for s in self.started(name)}
        return [(t, sig) for t, pid, sig in self.signals if pid in pids and sig]

    def close(self) -> None:
        for process in self.processes:
            process.close()


class BusBroker:
    """The parent's broker (``actors/parent/broker.Broker``) as one port (``parent``) of an
    in-memory bus: the same attributes and methods, and the same errors."""

    def __init__(self, bus: InMemoryBus, counters: Counter[str] | None = None) -> None:
        self.bus = bus
        self.port: InMemoryPort = bus.client("parent", (), counters)
        self.counters = self.port.counters
        self.hello_hook: Callable[[str, Envelope], None] | None = None
        self.command_handler: Callable[[Envelope], Any] | None = None
        self.event_hooks: list[Callable[[Envelope], None]] = []
        self.last_seen: dict[str, float] = {}
        #: topic prefix -> subscriptions seen so far; only grows, as the real one's XPUB count
        self.subscribed: Counter[str] = Counter()
        self._counted: list[InMemoryPort] = []
        self.tcp_taps: list[str | None] = []
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}

    @classmethod
    def factory(cls, bus: InMemoryBus) -> Callable[[str, str, Counter[str]], BusBroker]:
        """A ``Parent.broker_factory`` that builds this broker on ``bus``."""
        return lambda runtime_dir, host, counters: cls(bus, counters)

    def drain_subscriptions(self) -> None:
        """Count the subscriptions of every port that has subscribed since the last call
        (a port's ``subscriptions`` are set once its fake SUB socket "connects")."""
        for port in list(self.bus.ports.values()):
            if port.subscriptions and not any(port is seen for seen in self._counted):
                self._counted.append(port)
                self.subscribed.update(port.subscriptions)

    def set_tcp_tap(self, endpoint: str | None) -> bool:
        self.tcp_taps.append(endpoint)
        return True

    # ---- sending -----------------------------------------------------------------------
    def emit(self, msg: M.Event) -> None:
        """An event from the parent itself (watchdog.restart, config.reload)."""
        self.publish(msg.TYPE, msg.to_body())

    def publish(self, type_: str, body: dict[str, Any]) -> None:
        env = self.port.envelope(type_, body)
        self.port.send(env)
        for hook in self.event_hooks:
            hook(env)

    def _send_to(self, to: str, env: Envelope) -> bool:
        if to not in self.bus.ports:  # ROUTER_MANDATORY: an absent actor is an error
            self.counters["bus.route_unreachable"] += 1
            return False
        return self.port.send(env)

    def send_hello(self, to: str) -> bool:
        env = self.port.envelope(M.Hello.TYPE, M.Hello().to_body(), to=to, id_=next(self._ids))
        return self._send_to(to, env)

    async def request(self, to: str, cmd: M.Command, timeout: float = 2.0) -> M.Reply:
        msg_id = next(self._ids)
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = fut
        try:
            env = self.port.envelope(cmd.TYPE, cmd.to_body(), to=to, id_=msg_id)
            if not self._send_to(to, env):
                raise CommandFailed(f"{to} is not connected")
            reply = await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            raise CommandFailed(f"{cmd.name} to {to}: no reply within {timeout:g} s") from None
        finally:
            self._pending.pop(msg_id, None)
        try:
            return M.read_reply(cmd, reply)
        except M.CommandRefused as exc:
            raise CommandFailed(str(exc)) from None
        except M.InvalidBody as exc:
            self.counters[f"bus.rx_invalid.{cmd.REPLY.TYPE}.{exc.reason}"] += 1
            raise CommandFailed(f"{cmd.name} to {to}: invalid reply: {exc}") from None

    # ---- receiving ---------------------------------------------------------------------
    async def run(self) -> None:
        while True:
            env = await self.port.recv_direct()
            if env is not None:
                self.last_seen[env.src] = asyncio.get_running_loop().time()
                self._on_direct(env)
            self.drain_subscriptions()

    def _on_direct(self, env: Envelope) -> None:
        if env.type != REPLY_TYPE:
            if env.is_command:
                asyncio.get_running_loop().create_task(self._handle_command(env))
            return
        fut = self._pending.get(env.id or 0)
        if fut is not None:
            if not fut.done():
                fut.set_result(env.body)
        elif self.hello_hook is not None:
            self.hello_hook(env.src, env)
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
        self._send_to(env.src, self.port.envelope(REPLY_TYPE, body, to=env.src, id_=env.id))

    def close(self) -> None:
        self.bus.close()
