"""The parent: loads the config, hosts the broker, starts and watches the children.

What it owns (docs/ARCHITECTURE.md §1): config load/validate/reload (parsing in a short-lived child
process), child start/stop/restart, the watchdog, signals, the broker and the event tap.

The watchdog (keepalived's design overview): every ``watchdog_interval`` the parent sends
each child a ``hello`` over the bus; the child answers from its own work loop. A child that
exits is noticed at once (its ``Process.sentinel`` is in the loop). A child that stops
answering for three intervals is checked with signal 0: gone → restart; alive but silent →
SIGTERM, then SIGKILL after a grace period, then restart. Restarts back off as keepalived
does (``policy.Backoff``); permanent exit codes stop the daemon; ``-R`` disables respawn.

Children are started from a forkserver that has already imported the shared modules, so
they inherit no zmq or netlink state and start fast with little private memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import multiprocessing.context
import multiprocessing.forkserver
import os
import pickle
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pykeepalived.actors import scripts as script_io
from pykeepalived.actors.base import ACTOR_CLASSES, EXIT_CONFIG, EXIT_OK, Options, child_main
from pykeepalived.actors.parent import policy
from pykeepalived.actors.parent.broker import Broker, CommandFailed
from pykeepalived.bus import messages as M
from pykeepalived.bus.envelope import Envelope

if TYPE_CHECKING:
    from pykeepalived.conf import LoadResult
    from pykeepalived.conf.diagnostics import Diagnostic
    from pykeepalived.conf.model import Config

log = logging.getLogger("pykeepalived.parent")

FORKSERVER_PRELOAD = [
    "pykeepalived.actors.base",
    "pykeepalived.bus.transport",
    "pykeepalived.conf.model",
    "zmq",
    "zmq.asyncio",
    "msgpack",
    "asyncio",
    "pykeepalived.actors.parent.preload",  # the actor shells, shared by every child
]
KILL_GRACE = 2.0
CHILD_WAIT_TIME = 5.0  # keepalived's child_wait_time default
START_LISTEN_TIMEOUT = 10.0  # a child that takes longer to listen does not hold up the rest
START_POLL = 0.01
PARSE_TIMEOUT = 60.0


#: keepalived's dump signals: DATA, STATS, JSON, STATS_CLEAR, TDUMP
FORWARDED_SIGNALS = (
    signal.SIGUSR1, signal.SIGUSR2, signal.SIGRTMIN + 2, signal.SIGRTMAX - 1, signal.SIGRTMAX,
)  # fmt: skip

#: actor name -> "module:Class" run instead of ``base.ACTOR_CLASSES[name]``. Empty in the
#: daemon; test harnesses and benchmarks set it in the parent process before it starts.
ACTOR_OVERRIDES: dict[str, str] = {}


def child_entry(
    name: str,
    class_path: str | None,
    options: Options,
    config_blob: bytes,
    parent_pid: int,
    generation: int = 1,
) -> None:
    """The forkserver's target: apply an override, then the ordinary ``child_main``.

    The forkserver hands every child the write end of its "alive" pipe, so that it keeps
    running while any child lives. Our children never start processes through it, and
    holding that end would keep the forkserver alive after the parent's death, so the
    children's PR_SET_PDEATHSIG (armed against the forkserver, their real parent) would
    never fire. Closing it makes "parent dies → forkserver exits → children get SIGTERM".
    """
    server = getattr(multiprocessing.forkserver, "_forkserver", None)
    alive_fd = getattr(server, "_forkserver_alive_fd", None)
    if alive_fd is not None:
        with contextlib.suppress(OSError):
            os.close(alive_fd)
        server._forkserver_alive_fd = None  # type: ignore[union-attr]
    if class_path:
        ACTOR_CLASSES[name] = class_path
    # the dump signals (SIGUSR1, SIGUSR2, the JSON signal, ...) would end a child by
    # default; tools may signal the pid in -r/-c: pass them on to the parent that dumps
    for sig in FORWARDED_SIGNALS:
        signal.signal(sig, lambda signum, frame: os.kill(parent_pid, signum))
    # a child (re)started after a reload runs that reload's configuration generation
    child_main(name, options, config_blob, parent_pid, generation)


def _mp_context() -> multiprocessing.context.ForkServerContext:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(FORKSERVER_PRELOAD)
    return ctx


class ForkserverLauncher:
    """How the parent starts and signals children: from the forkserver, with ``os.kill``.

    The parent's only way to processes; tests hand it a fake that records starts and
    plays exits and hangs (``tests/unit/runtime/fakes.py``).
    """

    def __init__(self) -> None:
        self._mp = _mp_context()

    def start(self, name: str, args: tuple[Any, ...]) -> multiprocessing.process.BaseProcess:
        """Start ``child_entry(*args)``; the process has ``pid``, ``sentinel``, ``exitcode``."""
        process = self._mp.Process(
            target=child_entry, args=args, name=f"pykeepalived: {name}", daemon=False
        )
        process.start()
        return process

    def kill(self, pid: int, sig: int) -> None:
        os.kill(pid, sig)


@dataclass
class Child:
    name: str
    process: multiprocessing.process.BaseProcess | None = None
    started_at: float = 0.0
    ready: bool = False
    restarts: int = 0
    backoff: policy.Backoff = field(default_factory=policy.Backoff)
    liveness: policy.Liveness | None = None
    wanted: bool = True
    killing: bool = False
    restart_reason: str = ""
    restart_handle: asyncio.TimerHandle | None = None
    last_exit: int | None = None
    #: the event prefixes the child subscribes to, from its hello reply
    subscriptions: tuple[str, ...] = ()

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def alive(self) -> bool:
        return self.process is not None and self.process.exitcode is None


def log_diagnostics(diagnostics: list[Diagnostic]) -> None:
    """Log each diagnostic of a load once, as keepalived does: ``(file: Line N) message``.

    Used at start and on every successful reload, so a keyword pykeepalived accepts
    without implementing it is reported in the daemon's log too, not only by ``-t``.
    """
    for diag in diagnostics:
        (log.error if diag.severity == "error" else log.warning)("%s", diag)


async def load_config(path: str, config_id: str | None) -> LoadResult:
    """Parse and validate in a short-lived child process; the loop keeps running meanwhile."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pykeepalived.actors.parent.parse_worker", path, config_id or "",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(proc.communicate(), PARSE_TIMEOUT)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise RuntimeError(f"parsing {path} took longer than {PARSE_TIMEOUT:g} s") from None
    if proc.returncode != 0:
        raise RuntimeError(f"config parser failed ({proc.returncode}): {err.decode()[-2000:]}")
    result: LoadResult = pickle.loads(out)
    return result


def config_wants(config: Config) -> tuple[bool, bool]:
    """(has VRRP-side work, has checker-side work), as keepalived's running_vrrp/checker."""
    has_vrrp = bool(
        getattr(config, "vrrp_instances", ())
        or getattr(config, "static_ipaddress", ())
        or getattr(config, "static_routes", ())
        or getattr(config, "static_rules", ())
    )
    has_checker = bool(getattr(config, "virtual_servers", ()))
    return has_vrrp, has_checker


def effective_options(options: Options, config: Config) -> Options:
    """Command-line options win over the ``pykeepalived { }`` block (docs/ARCHITECTURE.md §7)."""
    settings = getattr(config, "pykeepalived", None)
    router_id = getattr(getattr(config, "global_defs", None), "router_id", None)
    changes: dict[str, Any] = {}
    if not options.host:
        changes["host"] = router_id or os.uname().nodename
    if settings is not None:
        for name in ("lb_backend", "event_tap", "metrics", "watchdog_interval"):
            if getattr(options, name) is None and getattr(settings, name, None) is not None:
                changes[name] = getattr(settings, name)
    return replace(options, **changes) if changes else options


class Parent:
    def __init__(self, options: Options, config: Config) -> None:
        #: settings given on the command line (they win over the pykeepalived block)
        self.explicit_options = frozenset(
            n for n in ("lb_backend", "event_tap", "metrics", "watchdog_interval")
            if getattr(options, n) is not None
        )  # fmt: skip
        self.options = effective_options(options, config)
        self.config = config
        self.generation = 1
        self.counters: Counter[str] = Counter()
        self.started_at = time.time()
        self.children: dict[str, Child] = {}
        self.broker: Broker | None = None
        self.stopping = False
        self.exit_code = EXIT_OK
        self._stop_event = asyncio.Event()
        self._reload_lock = asyncio.Lock()
        self._reload_pending = False
        #: the seams tests replace: how children start, and the bus the parent hosts
        self.launcher = ForkserverLauncher()
        self.broker_factory: Callable[[str, str, Counter[str]], Broker] = Broker
        self.interval = float(self.options.watchdog_interval or 1.0)
        #: hooks other parent modules attach to (pid files, systemd notify, ...)
        self.on_child_started: list[Callable[[Child], None]] = []
        self.on_child_exited: list[Callable[[Child], None]] = []
        self.on_ready: list[Callable[[], None]] = []
        self.on_reloading: list[Callable[[bool], None]] = []
        self.on_stopping: list[Callable[[], None]] = []
        self.on_signal: dict[int, Callable[[], None]] = {}
        #: called once the broker exists (before any child starts) and after the last
        #: child has stopped (before the broker closes)
        self.on_started: list[Callable[[Broker], None]] = []
        self.on_stopped: list[Callable[[], None]] = []
        #: the outcome of the last reload, for pykeepalivectl reload
        self.last_reload: dict[str, Any] = {}
        #: tracemalloc snapshot taken at start with --mem-check (data dumps report growth)
        self.mem_baseline: Any = None
        #: runs startup_script and shutdown_script (created in run(), in the loop)
        self.scripts: script_io.ScriptRunner | None = None

    # ---- life cycle --------------------------------------------------------------------
    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        Path(self.options.runtime_dir).mkdir(parents=True, exist_ok=True, mode=0o700)
        self.broker = self.broker_factory(self.options.runtime_dir, self.options.host,
                                          self.counters)  # fmt: skip
        self.broker.hello_hook = self._on_hello_reply
        if self.options.event_tap:
            self.broker.set_tcp_tap(self.options.event_tap)
        handlers: dict[int, Callable[[], None]] = {
            signal.SIGTERM: self.request_stop,
            signal.SIGINT: (lambda: None) if self.options.ignore_sigint else self.request_stop,
            signal.SIGHUP: self.request_reload,
            **self.on_signal,
        }
        previous = {sig: signal.getsignal(sig) for sig in handlers}
        for sig, handler in handlers.items():
            loop.add_signal_handler(sig, handler)
        tasks = [
            loop.create_task(self.broker.run(), name="broker"),
            loop.create_task(self._watchdog(), name="watchdog"),
        ]
        for started in self.on_started:
            started(self.broker)
        self.scripts = script_io.ScriptRunner(
            loop, log, self.counters, script_io.umask_of(self.config.global_defs)
        )
        try:
            await self._global_script("startup")
            if not self.stopping:  # a stop asked for during the startup script: none
                await self._start_children()
                await self._wait_ready()
                for hook in self.on_ready:
                    hook()
                if not self.children:
                    log.warning("Warning - pykeepalived has no configuration to run")
            await self._stop_event.wait()
            for hook in self.on_stopping:
                hook()
            await self._stop_children()
            await self._global_script("shutdown")
        finally:
            for stopped in self.on_stopped:
                try:
                    stopped()
                except Exception:
                    log.exception("stop hook failed")
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            self.broker.close()
            # give the process back its signal dispositions (asyncio would reset SIGINT to
            # Python's default handler even where it was ignored, e.g. a background job)
            for sig, before in previous.items():
                loop.remove_signal_handler(sig)
                if before is not None:
                    signal.signal(sig, before)
        return self.exit_code

    def now(self) -> float:
        """The loop's monotonic clock: what the watchdog and the back-off are measured on."""
        return asyncio.get_running_loop().time()

    def request_stop(self, exit_code: int | None = None) -> None:
        if exit_code is not None and self.exit_code == EXIT_OK:
            self.exit_code = exit_code
        if not self.stopping:
            log.info("Stopping")
        self.stopping = True
        self._stop_event.set()

    def request_reload(self) -> None:
        if self.stopping:
            return
        asyncio.get_running_loop().create_task(self.reload())

    async def _global_script(self, which: str) -> None:
        """Run ``startup_script`` (before any child starts) or ``shutdown_script`` (after
        the last one stopped) and wait for it, at most its timeout plus the kill grace,
        as keepalived's parent does. Its outcome never stops the daemon."""
        gd = self.config.global_defs
        script = getattr(gd, f"{which}_script")
        if script is None or not script.argv or self.scripts is None:
            return
        timeout = float(getattr(gd, f"{which}_script_timeout"))
        vetted = script_io.vet(script.argv, script.user, script.group, script_io.Defaults.of(gd))
        for msg in vetted.messages:
            log.warning("%s", msg)
        log.info("Running %s script %s", which, vetted.argv[0])
        r = await self.scripts.run(f"{which}_script", which, vetted, timeout=timeout)
        if r.outcome == "ok":
            log.info("%s script succeeded", which)
        elif r.outcome == "failed":
            log.warning("%s script failed, status %s", which, r.returncode)
        elif r.outcome != "refused":
            log.warning("%s script %s", which, (r.error or r.outcome.replace("_", " ")))

    # ---- children ----------------------------------------------------------------------
    def _wanted_children(self, config: Config) -> tuple[str, ...]:
        has_vrrp, has_checker = config_wants(config)
        return policy.children_for(
            has_vrrp=has_vrrp, has_checker=has_checker,
            vrrp_only=self.options.vrrp_only, check_only=self.options.check_only,
        )  # fmt: skip

    async def _start_children(self) -> None:
        """Start the children one by one in START_ORDER, each once the one before listens.

        Consumers come before producers (notifier before vrrp, ipvs before checker): a
        producer's first events (the initial BACKUP, the first verdicts) must find their
        subscribers connected, or they are lost as keepalived never loses them.
        """
        assert self.broker is not None
        for name in self._wanted_children(self.config):
            if self.stopping:
                return  # a stop during start-up: the rest are never started
            child = self.children[name] = Child(name)
            before = Counter(self.broker.subscribed)
            self._spawn(child)
            if not await self._wait_listening(child, before):
                log.warning("%s child: not ready after %.0f s, starting the others anyway",
                            name, START_LISTEN_TIMEOUT)  # fmt: skip

    async def _wait_listening(self, child: Child, before: Counter[str]) -> bool:
        """True once ``child`` answered hello and each of its subscriptions reached us."""
        assert self.broker is not None
        deadline = self.now() + START_LISTEN_TIMEOUT
        while self.now() < deadline and not self.stopping and child.alive():
            self.broker.drain_subscriptions()
            seen = self.broker.subscribed
            if child.ready and all(seen[p] > before[p] for p in child.subscriptions):
                return True
            if not child.ready:
                self.broker.send_hello(child.name)
            await asyncio.sleep(START_POLL)
        return not child.alive() or self.stopping

    def _spawn(self, child: Child) -> None:
        blob = pickle.dumps(self.config, protocol=pickle.HIGHEST_PROTOCOL)
        args = (child.name, ACTOR_OVERRIDES.get(child.name), self.options, blob, os.getpid(),
                self.generation)  # fmt: skip
        process = self.launcher.start(child.name, args)
        child.process = process
        child.started_at = self.now()
        child.ready = False
        child.killing = False
        child.liveness = policy.Liveness(last_reply=self.now(), interval=self.interval)
        loop = asyncio.get_running_loop()
        loop.add_reader(process.sentinel, self._on_child_exit, child)
        log.info("Starting %s child process, pid=%s", child.name, process.pid)
        for hook in self.on_child_started:
            hook(child)

    def _on_child_exit(self, child: Child) -> None:
        process = child.process
        if process is None:
            return
        loop = asyncio.get_running_loop()
        loop.remove_reader(process.sentinel)
        process.join(0)
        code = process.exitcode
        child.last_exit = code
        uptime = self.now() - child.started_at
        for hook in self.on_child_exited:
            hook(child)
        if self.stopping or not child.wanted:
            return
        how = (
            f"exited with status {code}"
            if code is None or code >= 0
            else f"killed by signal {-code}"
        )
        reason = child.restart_reason or f"child {how}"
        child.restart_reason = ""
        log.warning("%s child (pid %s) %s", child.name, process.pid, how)
        if policy.is_permanent_failure(code):
            log.error("%s child exited with permanent error %s: stopping", child.name, code)
            self.request_stop(EXIT_CONFIG if code == EXIT_CONFIG else code)
            return
        if self.options.dont_respawn:
            log.error("%s child process died: Exiting (--dont-respawn)", child.name)
            self.request_stop(EXIT_OK)
            return
        delay = child.backoff.next_delay(uptime)
        old_pid = process.pid
        if delay:
            log.info("Restarting %s child in %g s", child.name, delay)
        child.restart_handle = loop.call_later(delay, self._restart, child, old_pid, reason)

    def _restart(self, child: Child, old_pid: int | None, reason: str) -> None:
        if self.stopping or not child.wanted:
            return
        child.restarts += 1
        self._spawn(child)
        assert self.broker is not None
        self.broker.emit(M.WatchdogRestart(child.name, child.pid, old_pid, reason))

    # ---- watchdog ----------------------------------------------------------------------
    async def _watchdog(self) -> None:
        assert self.broker is not None
        last_tick = self.now()
        while True:
            await asyncio.sleep(self.interval)
            now = self.now()
            # if the parent's own loop stalled, the replies are still queued in the broker:
            # judge nobody this round (the hellos still go out)
            stalled = now - last_tick > 2 * self.interval
            last_tick = now
            if stalled:
                self.counters["watchdog.parent_stalls"] += 1
            for child in list(self.children.values()):
                if not child.alive() or child.killing or self.stopping:
                    continue
                self.broker.send_hello(child.name)
                assert child.liveness is not None
                seen = self.broker.last_seen.get(child.name, 0.0)
                if child.liveness.answered and seen > child.liveness.last_reply:
                    child.liveness.last_reply = seen  # busy publishing: alive
                if not stalled and child.liveness.is_hung(now):
                    self._handle_silent(child, child.liveness.silent_for(now))

    def _on_hello_reply(self, sender: str, env: Envelope) -> None:
        child = self.children.get(sender)
        if child is None or child.liveness is None or env.pid != child.pid:
            self.counters["watchdog.stray_replies"] += 1
            return
        try:
            hello = M.read_reply(M.Hello(), env.body)
        except (M.InvalidBody, M.CommandRefused) as exc:
            reason = exc.reason if isinstance(exc, M.InvalidBody) else "refused"
            self.counters[f"bus.rx_invalid.{M.HelloReply.TYPE}.{reason}"] += 1
            return
        child.liveness.last_reply = self.now()
        child.liveness.answered = True
        child.ready = True
        assert isinstance(hello, M.HelloReply)
        child.subscriptions = hello.subscriptions

    def _handle_silent(self, child: Child, silent: float) -> None:
        pid = child.pid
        assert pid is not None
        try:
            self.launcher.kill(pid, 0)
        except ProcessLookupError:
            # gone without the sentinel firing yet: the exit path restarts it
            return
        log.error("%s child (pid %s) has not answered hello for %.1f s: killing it",
                  child.name, pid, silent)  # fmt: skip
        child.killing = True
        child.restart_reason = f"no hello reply for {silent:.1f} s"
        self.counters["watchdog.kills"] += 1
        with contextlib.suppress(ProcessLookupError):
            self.launcher.kill(pid, signal.SIGTERM)
            self.launcher.kill(pid, signal.SIGCONT)  # a stopped process must run to die on SIGTERM
        asyncio.get_running_loop().call_later(KILL_GRACE, self._force_kill, child, pid)

    def _force_kill(self, child: Child, pid: int) -> None:
        if child.pid == pid and child.alive():
            with contextlib.suppress(ProcessLookupError):
                self.launcher.kill(pid, signal.SIGKILL)

    async def _wait_ready(self, timeout: float = 15.0) -> None:
        """Wait until every child has answered a hello (or the timeout): then READY."""
        assert self.broker is not None
        deadline = self.now() + timeout
        while self.now() < deadline and not self.stopping:
            pending = [c for c in self.children.values() if c.alive() and not c.ready]
            if not pending:
                return
            for child in pending:
                self.broker.send_hello(child.name)
            await asyncio.sleep(0.05)

    # ---- stop --------------------------------------------------------------------------
    async def _stop_children(self) -> None:
        assert self.broker is not None
        for name in policy.STOP_ORDER:
            child = self.children.get(name)
            if child is None:
                continue
            if child.restart_handle is not None:
                child.restart_handle.cancel()
            await self._stop_child(child)

    async def _stop_child(self, child: Child) -> None:
        assert self.broker is not None
        process = child.process
        if process is None or process.exitcode is not None:
            return
        with contextlib.suppress(CommandFailed):
            await self.broker.request(child.name, M.Stop(), timeout=1.0)
        deadline = self.now() + CHILD_WAIT_TIME
        sent_term = False
        while process.exitcode is None:
            if self.now() > deadline:
                log.warning("%s child did not stop: killing it", child.name)
                with contextlib.suppress(ProcessLookupError):
                    self.launcher.kill(process.pid or 0, signal.SIGKILL)
                await asyncio.sleep(0.05)
                process.join(1)
                break
            if not sent_term and self.now() > deadline - CHILD_WAIT_TIME / 2:
                with contextlib.suppress(ProcessLookupError):
                    self.launcher.kill(process.pid or 0, signal.SIGTERM)
                sent_term = True
            await asyncio.sleep(0.02)
            process.join(0)

    # ---- reload ------------------------------------------------------------------------
    async def reload(self) -> bool:
        """SIGHUP: validate the new config first; apply it as a difference; never restart."""
        if self._reload_lock.locked():
            self._reload_pending = True
            return False
        async with self._reload_lock:
            ok = await self._reload_once()
            while self._reload_pending and not self.stopping:
                self._reload_pending = False
                ok = await self._reload_once()
            return ok

    async def _reload_once(self) -> bool:
        assert self.broker is not None
        log.info("Reloading")
        for hook in self.on_reloading:
            hook(True)
        errors: list[str] = []
        try:
            result = await load_config(self.options.config_file, self.options.config_id)
            errors = [str(d) for d in result.errors]
            if result.config is None and not errors:
                errors = [f"cannot read {self.options.config_file}"]
            new = result.config if not errors else None
        except Exception as exc:
            errors = [str(exc)]
            new = None
        if new is None:
            log.error("Reload failed, keeping the running configuration: %s", "; ".join(errors))
            self.last_reload = {"ok": False, "errors": errors, "generation": self.generation}
            self.broker.emit(M.ConfigReload(False, tuple(errors)))
            for hook in self.on_reloading:
                hook(False)
            return False
        log_diagnostics(result.diagnostics)
        self.config = new
        self.generation += 1
        blob = pickle.dumps(new, protocol=pickle.HIGHEST_PROTOCOL)
        wanted = self._wanted_children(new)
        for name, child in list(self.children.items()):
            if name not in wanted:
                child.wanted = False
                await self._stop_child(child)
                del self.children[name]
            elif child.alive():
                try:
                    await self.broker.request(
                        name, M.ConfigApply(blob, self.generation), timeout=30.0
                    )
                except CommandFailed as exc:
                    errors.append(f"{name}: {exc}")
        for name in wanted:
            if name not in self.children:
                self.children[name] = Child(name)
                self._spawn(self.children[name])
        self.last_reload = {"ok": not errors, "errors": errors, "generation": self.generation}
        self.broker.emit(M.ConfigReload(not errors, tuple(errors)))
        log.info("Reload finished%s", "" if not errors else f" with errors: {errors}")
        for hook in self.on_reloading:
            hook(False)
        return not errors

    # ---- status ------------------------------------------------------------------------
    async def gather_status(self) -> dict[str, Any]:
        """Every child's own status plus the parent's view of its processes."""
        assert self.broker is not None
        now = self.now()
        out: dict[str, Any] = {
            "parent": {
                "pid": os.getpid(), "uptime": time.time() - self.started_at,
                "generation": self.generation, "counters": dict(self.counters),
                "host": self.options.host,
                "script_runs": self.scripts.status() if self.scripts is not None else {},
            },
            "children": {},
        }  # fmt: skip
        names = list(self.children)
        replies = await asyncio.gather(
            *(self.broker.request(n, M.Status(), timeout=2.0) for n in names),
            return_exceptions=True,
        )
        for name, reply in zip(names, replies, strict=True):
            child = self.children[name]
            entry: dict[str, Any] = {
                "pid": child.pid, "alive": child.alive(), "restarts": child.restarts,
                "uptime": now - child.started_at if child.alive() else 0.0,
            }  # fmt: skip
            if isinstance(reply, BaseException):
                entry["error"] = str(reply)
            else:
                entry["status"] = reply.to_body()
            out["children"][name] = entry
        return out
