"""The actor runtime every child process runs: one asyncio loop, the bus, hello, commands.

Design notes
------------
* One process, one asyncio loop, no threads. zmq sockets (``zmq.asyncio``), raw fds
  (``loop.add_reader``) and timers all live in that loop. Signal handlers only set a flag or
  wake the loop (``loop.add_signal_handler`` uses the wakeup fd); the loop acts on them.
* The watchdog's ``hello`` is an ordinary command answered by :meth:`Actor._on_direct`, i.e.
  by the work loop itself. A loop stuck in a handler answers nothing and the parent notices.
  That is why hello is never handled by a helper thread or by a ZMTP heartbeat.
* Events are delivered in order by one consumer; commands run as tasks so a slow command
  does not hold up hello or other commands. Any exception in a handler is logged and
  counted; the actor keeps running with its state intact.
* A child dies with its parent (``PR_SET_PDEATHSIG``) and ignores SIGINT and SIGHUP: the
  parent orders stops and reloads over the bus so they happen in the right order.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import importlib
import itertools
import logging
import os
import pickle
import signal
import socket
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from pykeepalived.bus.envelope import REPLY_TYPE, BusPort, Envelope
from pykeepalived.bus.transport import BusClient

if TYPE_CHECKING:
    from pykeepalived.conf.model import Config

log = logging.getLogger("pykeepalived")

#: actor name -> "module:Class" of its shell
ACTOR_CLASSES: dict[str, str] = {
    "vrrp": "pykeepalived.actors.vrrp.actor:VrrpActor",
    "checker": "pykeepalived.actors.checker.actor:CheckerActor",
    "ipvs": "pykeepalived.actors.ipvs.actor:IpvsActor",
    "netlink": "pykeepalived.actors.netlink.actor:NetlinkActor",
    "notifier": "pykeepalived.actors.notifier.actor:NotifierActor",
}

#: exit codes a child uses; the parent's restart policy reads them (keepalived's values)
EXIT_OK = 0
EXIT_FATAL = 1
EXIT_CONFIG = 2
EXIT_MISSING_PERMISSION = 4
EXIT_RESTART = 3  # not permanent: restart with back-off
PERMANENT_EXIT_CODES = frozenset({EXIT_FATAL, EXIT_CONFIG, EXIT_MISSING_PERMISSION})

PR_SET_PDEATHSIG = 1
REPLY_RETRIES = 100
YIELD_EVERY = 32  # messages handled back to back before the loop gets a turn
REPLY_RETRY_DELAY = 0.01


class CommandError(Exception):
    """A command failed; the message is sent back as the reply's error."""


class CommandTimeout(CommandError):
    """No reply within the timeout."""


@dataclass(frozen=True, slots=True)
class Options:
    """Process-wide options from the command line, shared by the parent and every child."""

    config_file: str = "/etc/keepalived/keepalived.conf"
    runtime_dir: str = "/run/pykeepalived"
    host: str = ""
    namespace: str | None = None
    dont_release_vrrp: bool = False
    dont_release_ipvs: bool = False
    dont_respawn: bool = False
    dont_fork: bool = False
    log_console: bool = False
    log_detail: int = 0
    log_facility: str = "daemon"
    no_syslog: bool = False
    ignore_sigint: bool = False
    address_monitoring: bool = False
    lb_backend: str | None = None
    event_tap: str | None = None
    metrics: str | None = None
    watchdog_interval: float | None = None
    config_id: str | None = None
    mem_check: bool = False
    vrrp_only: bool = False
    check_only: bool = False
    dump_conf: bool = False
    pid_file: str = "/run/keepalived.pid"
    vrrp_pid_file: str = "/run/vrrp.pid"
    checkers_pid_file: str = "/run/checkers.pid"


class Actor:
    """Base class of every child actor's I/O shell. Subclasses override the hooks."""

    name: ClassVar[str] = "actor"
    subscriptions: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: Config, options: Options, generation: int = 1) -> None:
        self.config = config
        self.options = options
        self.generation = generation
        self.log = logging.getLogger(f"pykeepalived.{self.name}")
        self.counters: Counter[str] = Counter()
        self.started_at = time.time()
        self.loop: asyncio.AbstractEventLoop = asyncio.get_running_loop()
        self.bus: BusPort | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopping = asyncio.Event()
        self._mem_baseline: tracemalloc.Snapshot | None = None

    # ---- hooks for subclasses -------------------------------------------------------
    async def setup(self) -> None:
        """Start the actor's work. ``self.config`` is set and the bus is connected."""

    async def on_event(self, env: Envelope) -> None:
        """An event whose type matches one of ``subscriptions``."""

    async def on_command(self, command: str, body: dict[str, Any]) -> dict[str, Any]:
        """Handle a command addressed to this actor; return the reply body."""
        raise CommandError(f"unknown command {command!r} for {self.name}")

    async def apply_config(self, new: Config) -> None:
        """Apply a reloaded, validated configuration as a difference."""

    def status(self) -> dict[str, Any]:
        """A JSON-able snapshot of the actor's state for status and dumps."""
        return {}

    async def shutdown(self) -> None:
        """Orderly stop: release what the actor owns unless the options say to keep it."""

    # ---- services for subclasses ----------------------------------------------------
    def publish(self, type_: str, body: dict[str, Any]) -> None:
        """Publish an event; never blocks (a full queue drops and counts)."""
        assert self.bus is not None
        self.bus.send(self.bus.envelope(type_, body))
        self.counters[f"events.{type_}"] += 1

    async def request(
        self, to: str, command: str, body: dict[str, Any], timeout: float = 2.0
    ) -> dict[str, Any]:
        """Send a command to another actor and wait for its reply."""
        assert self.bus is not None
        msg_id = next(self._ids)
        fut: asyncio.Future[dict[str, Any]] = self.loop.create_future()
        self._pending[msg_id] = fut
        try:
            if not self.bus.send(self.bus.envelope(f"cmd.{command}", body, to=to, id_=msg_id)):
                raise CommandError(f"bus queue full: {command} to {to} dropped")
            reply = await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            self.counters["commands.timeout"] += 1
            raise CommandTimeout(f"{command} to {to}: no reply within {timeout:g} s") from None
        finally:
            self._pending.pop(msg_id, None)
        if not reply.get("ok"):
            raise CommandError(str(reply.get("error", "failed")))
        result = reply.get("result", {})
        return result if isinstance(result, dict) else {"value": result}

    def now(self) -> float:
        """The loop's monotonic clock (virtual in shell tests): what timers are measured on."""
        return self.loop.time()

    def count(self, counter: str, n: int = 1) -> None:
        self.counters[counter] += n

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str | None = None) -> asyncio.Task[Any]:
        """Run ``coro`` as a task of this loop; its exception is logged and counted."""
        task = self.loop.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            self.counters["errors.task"] += 1
            self.log.error("task %s failed: %r", task.get_name(), exc, exc_info=exc)

    def request_stop(self) -> None:
        self._stopping.set()

    # ---- the runtime ----------------------------------------------------------------
    async def _serve(self) -> None:
        assert self.bus is not None
        direct = self.spawn(self._direct_loop(), "bus-direct")
        events = self.spawn(self._event_loop(), "bus-events")
        await self.setup()
        gc.collect()
        gc.freeze()  # start-up objects leave the collector's generations: shorter pauses
        await self._stopping.wait()
        try:
            await asyncio.wait_for(self.shutdown(), timeout=10)
        except Exception as exc:
            self.log.error("shutdown failed: %r", exc)
        direct.cancel()
        events.cancel()

    async def _direct_loop(self) -> None:
        assert self.bus is not None
        handled = 0
        while True:
            env = await self.bus.recv_direct()
            handled += 1
            if handled % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # let the tasks of earlier commands run too
            if env is None:
                continue
            try:
                self._on_direct(env)
            except Exception as exc:  # never let a bad message end the loop
                self.counters["errors.direct"] += 1
                self.log.error("bad direct message %s: %r", env.type, exc)

    def _on_direct(self, env: Envelope) -> None:
        if env.type == REPLY_TYPE:
            fut = self._pending.get(env.id or 0)
            if fut is not None and not fut.done():
                fut.set_result(env.body)
            else:
                self.counters["bus.late_replies"] += 1
            return
        if not env.is_command:
            self.counters["bus.rx_unexpected"] += 1
            return
        if env.command == "hello":
            # answered right here, by the work loop itself; the subscriptions let the parent
            # tell when this actor's event feed is in place (see parent._start_children)
            reply = {"generation": self.generation, "ts": time.time(),
                     "subscriptions": list(self.subscriptions)}  # fmt: skip
            self._reply(env, True, reply)
            return
        self.spawn(self._run_command(env), f"cmd-{env.command}")

    async def _run_command(self, env: Envelope) -> None:
        try:
            result = await self._dispatch(env.command, env.body)
        except CommandError as exc:
            self._reply(env, False, str(exc))
        except Exception as exc:
            self.counters["errors.command"] += 1
            self.log.exception("command %s failed", env.command)
            self._reply(env, False, f"{type(exc).__name__}: {exc}")
        else:
            self._reply(env, True, result)

    async def _dispatch(self, command: str, body: dict[str, Any]) -> dict[str, Any]:
        if command == "status":
            return self._full_status()
        if command == "config.apply":
            blob = body.get("config")
            if not isinstance(blob, bytes):
                raise CommandError("config.apply needs a pickled config")
            new = pickle.loads(blob)
            await self.apply_config(new)
            self.config = new
            self.generation = int(body.get("generation", self.generation + 1))
            return {"generation": self.generation}
        if command == "stop":
            self.loop.call_soon(self.request_stop)
            return {}
        if command == "memcheck":
            return self._memcheck()
        return await self.on_command(command, body)

    def _full_status(self) -> dict[str, Any]:
        try:
            own = self.status()
        except Exception as exc:
            self.counters["errors.status"] += 1
            own = {"error": repr(exc)}
        return {
            "actor": self.name,
            "pid": os.getpid(),
            "uptime": time.time() - self.started_at,
            "generation": self.generation,
            "counters": dict(self.counters),
            "state": own,
        }

    def _memcheck(self) -> dict[str, Any]:
        return memcheck_report(self._mem_baseline)

    def _reply(self, env: Envelope, ok: bool, payload: Any) -> None:
        assert self.bus is not None
        body: dict[str, Any] = {"ok": ok}
        body["result" if ok else "error"] = payload
        try:
            reply = self.bus.envelope(REPLY_TYPE, body, to=env.src, id_=env.id)
            sent = self.bus.send(reply)
        except Exception as exc:
            self.counters["errors.reply"] += 1
            self.log.error("cannot reply to %s: %r", env.command, exc)
            return
        if not sent:
            # our own queue is full (we are publishing faster than the broker takes):
            # a lost reply (a hello's above all) would look like a hang, so retry it
            self._retry_reply(reply, REPLY_RETRIES)

    def _retry_reply(self, reply: Envelope, left: int) -> None:
        assert self.bus is not None
        if left <= 0:
            self.counters["bus.replies_lost"] += 1
            return

        def again() -> None:
            assert self.bus is not None
            if not self.bus.send(reply):
                self._retry_reply(reply, left - 1)

        self.loop.call_later(REPLY_RETRY_DELAY, again)

    async def _event_loop(self) -> None:
        assert self.bus is not None
        handled = 0
        while True:
            env = await self.bus.recv_event()
            handled += 1
            if handled % YIELD_EVERY == 0:
                # awaiting a message that is already queued does not yield to the loop:
                # under a flood of events, hello, commands and timers would starve
                await asyncio.sleep(0)
            if env is None or (env.src == self.name and env.pid == os.getpid()):
                continue
            try:
                await self.on_event(env)
            except Exception as exc:
                self.counters["errors.event"] += 1
                self.log.exception("event %s failed: %r", env.type, exc)


def memcheck_report(baseline: tracemalloc.Snapshot | None, top: int = 15) -> dict[str, Any]:
    """``--mem-check``: this process's largest allocation growth since ``baseline``."""
    if not tracemalloc.is_tracing() or baseline is None:
        return {"enabled": False}
    stats = tracemalloc.take_snapshot().compare_to(baseline, "lineno")[:top]
    current, peak = tracemalloc.get_traced_memory()
    return {
        "enabled": True,
        "current": current,
        "peak": peak,
        "top_growth": [
            {"where": str(s.traceback[0]), "size_diff": s.size_diff, "count_diff": s.count_diff}
            for s in stats
        ],
    }


# ---- child process entry ---------------------------------------------------------------
def set_process_title(name: str) -> None:
    """``ps`` shows ``pykeepalived: <name>``; comm (15 chars) is set too."""
    title = f"pykeepalived: {name}"
    try:
        import setproctitle

        setproctitle.setproctitle(title)
    except ImportError:  # pragma: no cover - setproctitle is a dependency
        pass
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(15, ctypes.c_char_p(f"pk-{name}"[:15].encode()), 0, 0, 0)


def die_with_parent(parent_pid: int) -> None:
    """SIGTERM when our parent process goes away.

    Children are forked by the forkserver, so the process the kernel watches is the
    forkserver, which exits as soon as the daemon's parent does (its alive pipe closes).
    If the daemon's parent is already gone when the signal is armed, exit at once.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() == 1:
        os._exit(EXIT_OK)
    try:
        os.kill(parent_pid, 0)
    except ProcessLookupError:
        os._exit(EXIT_OK)
    except PermissionError:
        pass


def load_actor_class(name: str) -> type[Actor]:
    module_name, _, cls_name = ACTOR_CLASSES[name].partition(":")
    module = importlib.import_module(module_name)
    cls = getattr(module, cls_name)
    assert issubclass(cls, Actor)
    return cls


def child_main(
    name: str, options: Options, config_blob: bytes, parent_pid: int, generation: int = 1
) -> None:
    """Entry point of a child process (started by the parent's forkserver)."""
    die_with_parent(parent_pid)
    set_process_title(name)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    from pykeepalived.actors.logs import setup_logging

    setup_logging(name, options)
    try:
        config = pickle.loads(config_blob)
        cls = load_actor_class(name)
    except Exception:
        log.exception("%s: cannot start", name)
        sys.exit(EXIT_FATAL)
    if options.mem_check:
        # after the imports (tracing makes them several times slower) and with one frame:
        # the report groups growth by the allocating line, which is all it needs
        tracemalloc.start(1)
    code = asyncio.run(_child_async(cls, config, options, generation))
    sys.exit(code)


async def _child_async(
    cls: type[Actor], config: Config, options: Options, generation: int = 1
) -> int:
    actor = cls(config, options, generation)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, actor.request_stop)
    actor.bus = BusClient(
        cls.name, options.host or socket.gethostname(), options.runtime_dir, cls.subscriptions,
        actor.counters,
    )  # fmt: skip
    if options.mem_check:
        actor._mem_baseline = tracemalloc.take_snapshot()
    try:
        await actor._serve()
    except Exception:
        # a failed start or a crash of the loop itself: the parent restarts us with back-off
        log.exception("%s: actor failed", cls.name)
        return EXIT_RESTART
    finally:
        actor.bus.close()
    return EXIT_OK
