"""Stand-ins for the parent's two seams: the child launcher and the broker, on the in-memory bus.

* :class:`FakeLauncher` takes the place of ``ForkserverLauncher``: ``start`` records the
  start and puts a :class:`FakeChild` on the :class:`~pykeepalived.bus.testing.InMemoryBus`
  under the child's name and pid. A child answers hello, status, config.apply and stop as
  the actor runtime does, until the test makes it ``exit(code)`` or ``hang()`` (a loop
  stuck in a handler: it answers nothing and, as an asyncio child, ignores SIGTERM; only
  SIGKILL ends it). ``kill`` plays the kernel's signals. Its ``sentinel`` is a real pipe
  that becomes readable at exit, as a process sentinel does, so the parent's
  ``loop.add_reader`` works unchanged.
* :class:`BusBroker` is the broker's surface (``publish``, ``send_hello``, ``request``,
  ``last_seen``, ``hello_hook``, ``run``) on one port of the in-memory bus, so every
  event the parent publishes lands in ``bus.log``.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import pickle
import signal
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from pykeepalived.actors.parent.broker import CommandFailed
from pykeepalived.bus.envelope import REPLY_TYPE, Envelope
from pykeepalived.bus.testing import InMemoryBus, InMemoryPort, Peer


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


class FakeChild:
    """One started child on the bus: a peer named like the actor, with the process's pid."""

    def __init__(self, launcher: FakeLauncher, process: FakeProcess, config: Any) -> None:
        self.launcher = launcher
        self.process = process
        self.config = config
        self.applied: list[int] = []
        handlers = {
            "hello": self._hello,
            "status": lambda body: {"actor": process.name, "pid": process.pid},
            "config.apply": self._apply,
            "stop": self._stop,
        }
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

    def _hello(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"generation": self.process.generation, "subscriptions": list(self.subscriptions)}

    def _apply(self, body: dict[str, Any]) -> dict[str, Any]:
        self.config = pickle.loads(body["config"])
        self.process.generation = int(body["generation"])
        self.applied.append(self.process.generation)
        if self.launcher.apply_error.get(self.process.name):
            raise RuntimeError(self.launcher.apply_error[self.process.name])
        return {"generation": self.process.generation}

    def _stop(self, body: dict[str, Any]) -> dict[str, Any]:
        if not self.launcher.ignore_stop.get(self.process.name):
            asyncio.get_running_loop().call_soon(self.exit, 0)
        return {}

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
    """The parent's broker as one port (``parent``) of an in-memory bus."""

    def __init__(self, bus: InMemoryBus, counters: Counter[str] | None = None) -> None:
        self.bus = bus
        self.port: InMemoryPort = bus.client("parent", (), counters)
        self.counters = self.port.counters
        self.hello_hook: Any = None
        self.command_handler: Any = None
        self.event_hooks: list[Any] = []
        self.last_seen: dict[str, float] = {}
        self.tcp_taps: list[str | None] = []
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}

    @classmethod
    def factory(cls, bus: InMemoryBus) -> Any:
        """A ``Parent.broker_factory`` that builds this broker on ``bus``."""
        return lambda runtime_dir, host, counters: cls(bus, counters)

    @property
    def subscribed(self) -> Counter[str]:
        return self.bus.subscribed

    def drain_subscriptions(self) -> None:
        """The in-memory bus knows its subscriptions at once: nothing to read."""

    def set_tcp_tap(self, endpoint: str | None) -> bool:
        self.tcp_taps.append(endpoint)
        return True

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
        return self._send_to(to, self.port.envelope("cmd.hello", {}, to=to, id_=next(self._ids)))

    async def request(
        self, to: str, command: str, body: dict[str, Any], timeout: float = 2.0
    ) -> dict[str, Any]:
        msg_id = next(self._ids)
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = fut
        try:
            env = self.port.envelope(f"cmd.{command}", body, to=to, id_=msg_id)
            if not self._send_to(to, env):
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

    async def run(self) -> None:
        while True:
            env = await self.port.recv_direct()
            if env is None:
                continue
            self.last_seen[env.src] = asyncio.get_running_loop().time()
            if env.type == REPLY_TYPE:
                fut = self._pending.get(env.id or 0)
                if fut is not None:
                    if not fut.done():
                        fut.set_result(env.body)
                elif self.hello_hook is not None:
                    self.hello_hook(env.src, env)

    def close(self) -> None:
        self.bus.close()
