"""The parent's operator surfaces, attached to a :class:`Parent` through its hooks.

* pid files (``-p``, ``-r`` = the vrrp child's pid, ``-c`` = the checker child's pid),
  locked for the daemon's life; files of subsystems that do not run are removed;
* systemd notify (READY / RELOADING / STOPPING / WATCHDOG=1);
* the dumps keepalived writes on signals: SIGUSR1 data (``keepalived_parent.data``,
  ``keepalived.data``, ``keepalived_check.data``), SIGUSR2 stats (``keepalived.stats``),
  the JSON signal (``keepalived.json``, written to a temp file then renamed);
* the control socket ``ipc://<runtime-dir>/control.sock`` (mode 0600) that
  ``pykeepalivectl`` talks to;
* the Prometheus metrics endpoint (``metrics ADDR:PORT``), served by the parent's loop.

Control protocol: the client's DEALER sends a command envelope (``cmd.status``,
``cmd.reload``, ``cmd.stop``, ``cmd.dump``, ``cmd.stats``) addressed ``to="parent"``; the
reply is a ``reply`` envelope with the same ``id`` and body ``{"ok", "result"|"error"}``,
exactly as on the bus. Anything malformed is counted (``control.rx_malformed.*``) and
dropped; the control socket never reaches the children.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import zmq
import zmq.asyncio

from pykeepalived.actors.base import memcheck_report
from pykeepalived.actors.parent import report
from pykeepalived.actors.parent.pidfile import PidFile, remove_stale
from pykeepalived.actors.parent.sdnotify import SdNotifier
from pykeepalived.bus import messages as M
from pykeepalived.bus import topology
from pykeepalived.bus.envelope import REPLY_TYPE, MalformedMessage, decode, encode
from pykeepalived.bus.transport import send_nowait

if TYPE_CHECKING:
    from pykeepalived.actors.base import Options
    from pykeepalived.actors.parent.actor import Child, Parent
    from pykeepalived.actors.parent.broker import Broker

log = logging.getLogger("pykeepalived.parent")

SIGJSON = signal.SIGRTMIN + 2
SIGSTATS_CLEAR = signal.SIGRTMAX - 1
SIGTDUMP = signal.SIGRTMAX
RUNTIME_LOCK = "pykeepalived.pid"
#: settings of the pykeepalived { } block a reload applies
RELOADABLE = ("event_tap", "metrics", "watchdog_interval")
CONTROL_COMMANDS = tuple(cls().name for cls in M.CONTROL.values())
METRICS_READ_TIMEOUT = 5.0


# ---- pid files -----------------------------------------------------------------------------
class DaemonPidFiles:
    """The daemon's three pid files. ``acquire`` runs before daemonising (clear refusal)."""

    def __init__(self, options: Options) -> None:
        self.main = PidFile(options.pid_file)
        #: the runtime dir's sockets are bound by one daemon only (zmq would silently
        #: take them over from a running one)
        self.runtime_dir = options.runtime_dir
        self.runtime = PidFile(Path(options.runtime_dir) / RUNTIME_LOCK)
        self.children = {
            "vrrp": PidFile(options.vrrp_pid_file),
            "checker": PidFile(options.checkers_pid_file),
        }
        self.may_run = {"vrrp": not options.check_only, "checker": not options.vrrp_only}

    def acquire(self) -> None:
        """Lock the main file and those of the subsystems -P/-C allow (keepalived's check)."""
        held: list[PidFile] = []
        os.makedirs(self.runtime_dir, mode=0o700, exist_ok=True)
        wanted = [self.main, *(self.children[n] for n, ok in self.may_run.items() if ok)]
        try:
            for pid_file in (self.runtime, *wanted):
                pid_file.acquire()
                held.append(pid_file)
        except Exception:
            for pid_file in held:
                pid_file.release()
            raise

    def write_main(self, pid: int) -> None:
        self.main.write(pid)
        self.runtime.write(pid)

    def sync(self, running: set[str]) -> None:
        """Hold and fill the files of running subsystems; remove the others'."""
        for name, pid_file in self.children.items():
            if name in running:
                if not pid_file.held:
                    try:
                        pid_file.acquire()
                    except Exception as exc:
                        log.error("cannot take pid file %s: %s", pid_file.path, exc)
            elif pid_file.held:
                pid_file.release()
            else:
                remove_stale(pid_file.path)

    def child_started(self, child: Child) -> None:
        pid_file = self.children.get(child.name)
        if pid_file is not None and pid_file.held and child.pid:
            pid_file.write(child.pid)

    def child_exited(self, child: Child) -> None:
        pid_file = self.children.get(child.name)
        if pid_file is not None and pid_file.held:
            pid_file.clear()

    def release_all(self) -> None:
        for pid_file in (*self.children.values(), self.main, self.runtime):
            pid_file.release()


# ---- the control socket --------------------------------------------------------------------
ControlHandler = Callable[[M.Command], Awaitable[M.Reply]]


class ControlServer:
    """ROUTER on control.sock: one command envelope in, one reply envelope out."""

    def __init__(self, broker: Broker, handler: ControlHandler) -> None:
        self.broker = broker
        self.handler = handler
        self.counters = broker.counters
        self.sock = broker.ctx.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.SNDHWM, 1000)
        self.sock.setsockopt(zmq.RCVHWM, 1000)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.MAXMSGSIZE, 1 << 20)
        path = topology.socket_path(broker.runtime_dir, topology.CONTROL)
        old_umask = os.umask(0o177)
        try:
            self.sock.bind(topology.endpoint(broker.runtime_dir, topology.CONTROL))
        finally:
            os.umask(old_umask)
        os.chmod(path, 0o600)
        self.path = path
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        while True:
            frames = await self.sock.recv_multipart()
            try:
                self._receive(frames)
            except Exception as exc:
                self.counters["control.errors"] += 1
                log.error("control socket: %r", exc)

    def _receive(self, frames: list[bytes]) -> None:
        if len(frames) < 2:
            self.counters["control.rx_malformed.frame-count"] += 1
            return
        ident, payload = frames[0], list(frames[1:])
        try:
            env = decode(payload)
        except MalformedMessage as exc:
            self.counters[f"control.rx_malformed.{exc.reason}"] += 1
            return
        if not env.is_command or env.to != "parent":
            self.counters["control.rx_malformed.not-a-command"] += 1
            return
        self.counters["control.rx"] += 1
        task = asyncio.get_running_loop().create_task(self._answer(ident, env.src, env))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, ident: bytes, src: str, env: Any) -> None:
        body: dict[str, Any]
        try:
            cls = M.CONTROL.get(env.type)
            if cls is None:
                self.counters[f"control.rx_unknown.{env.type}"[:120]] += 1
                raise ValueError(
                    f"unknown command {env.command!r} (known: {', '.join(CONTROL_COMMANDS)})"
                )
            try:
                msg = cls.from_body(env.body)
            except M.InvalidBody as exc:
                self.counters[f"control.rx_invalid.{env.type}.{exc.reason}"] += 1
                raise ValueError(f"invalid {env.command} body: {exc}") from None
            body = {"ok": True, "result": (await self.handler(msg)).to_body()}
        except Exception as exc:
            body = {"ok": False, "error": str(exc) or type(exc).__name__}
        reply = self.broker.envelope(REPLY_TYPE, body, to=src, id_=env.id)
        try:
            send_nowait(self.sock, [ident, *encode(reply)])
        except (zmq.ZMQError, MalformedMessage) as exc:
            self.counters["control.tx_dropped"] += 1
            log.warning("control reply dropped: %r", exc)

    def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        self.sock.close(linger=0)
        with contextlib.suppress(OSError):
            Path(self.path).unlink()


# ---- metrics ---------------------------------------------------------------------------------
def parse_listen(text: str) -> tuple[str, int]:
    """``127.0.0.1:9650``, ``[::1]:9650`` or ``:9650`` (all addresses) → (host, port)."""
    text = text.strip()
    if text.startswith("tcp://"):
        text = text[len("tcp://") :]
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"metrics endpoint {text!r}: expected ADDR:PORT")
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port)


#: a probe's answer: (HTTP code, text)
Probe = Callable[[], tuple[int, str]]


def _alive() -> tuple[int, str]:
    return 200, "ok\n"


class MetricsServer:
    """A tiny HTTP/1.0 responder: GET /metrics → Prometheus text format 0.0.4; /livez and
    /readyz answer 200 or 503 for container probes (``ready``; /livez: the loop answers)."""

    def __init__(
        self, render: Callable[[], Awaitable[str]], counters: Any, ready: Probe | None = None
    ) -> None:
        self.render = render
        self.counters = counters
        self.probes: dict[str, Probe] = {"/livez": _alive, "/readyz": ready or _alive}
        self.server: asyncio.base_events.Server | None = None

    async def start(self, listen: str) -> tuple[str, int]:
        host, port = parse_listen(listen)
        self.server = await asyncio.start_server(self._client, host, port, limit=8192)
        sockname = self.server.sockets[0].getsockname()
        return str(sockname[0]), int(sockname[1])

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            # one deadline for the whole request: a client trickling headers cannot
            # hold a connection open
            request = await asyncio.wait_for(self._read_request(reader), METRICS_READ_TIMEOUT)
            parts = request.decode("latin-1").split()
            path = parts[1].split("?")[0] if len(parts) >= 2 else ""
            if len(parts) < 2 or parts[0] not in ("GET", "HEAD"):
                await self._send(writer, 405, "method not allowed\n")
            elif path in self.probes:
                code, text = self.probes[path]()
                await self._send(writer, code, text, head=parts[0] == "HEAD")
            elif path not in ("/", "/metrics"):
                await self._send(writer, 404, "not found: try /metrics, /livez, /readyz\n")
            else:
                self.counters["metrics.scrapes"] += 1
                text = await self.render()
                await self._send(writer, 200, text, head=parts[0] == "HEAD")
        except (TimeoutError, ConnectionError, asyncio.LimitOverrunError, ValueError):
            self.counters["metrics.bad_requests"] += 1
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    @staticmethod
    async def _read_request(reader: asyncio.StreamReader) -> bytes:
        request = await reader.readline()
        for _ in range(100):  # skip the headers
            line = await reader.readline()
            if line in (b"\r\n", b"\n", b""):
                return request
        raise ValueError("too many header lines")

    @staticmethod
    async def _send(writer: asyncio.StreamWriter, code: int, text: str, head: bool = False) -> None:
        reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed"}.get(
            code, "Service Unavailable"
        )
        data = text.encode()
        writer.write(
            f"HTTP/1.0 {code} {reason}\r\n"
            "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
            f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode()
        )
        if not head:
            writer.write(data)
        await writer.drain()

    def close(self) -> None:
        if self.server is not None:
            self.server.close()


# ---- dump files ------------------------------------------------------------------------------
def write_atomic(path: str, text: str) -> None:
    """Write to ``path.tmp.<pid>`` then rename, so a reader never sees half a file."""
    tmp = f"{path}.tmp.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def now_text(now: float | None = None) -> str:
    return time.strftime("%a %b %d %H:%M:%S %Y", time.localtime(now))


# ---- wiring ----------------------------------------------------------------------------------
class Services:
    """Attach every operator surface to ``parent``; ``pid_files`` were acquired already."""

    def __init__(
        self,
        parent: Parent,
        pid_files: DaemonPidFiles | None = None,
        notifier: SdNotifier | None = None,
    ) -> None:
        self.parent = parent
        self.pid_files = pid_files
        self.notifier = notifier or SdNotifier(None)
        self.control: ControlServer | None = None
        self.metrics: MetricsServer | None = None
        self.metrics_address: tuple[str, int] | None = None
        self.is_ready = False
        self._tasks: list[asyncio.Task[Any]] = []
        self._dump_lock: asyncio.Lock | None = None
        p = parent
        p.on_started.append(self._started)
        p.on_ready.append(self._ready)
        p.on_reloading.append(self._reloading)
        p.on_stopping.append(self._stopping)
        p.on_stopped.append(self._stopped)
        if pid_files is not None:
            p.on_child_started.append(pid_files.child_started)
            p.on_child_exited.append(pid_files.child_exited)
        p.on_signal[signal.SIGUSR1] = lambda: self._spawn(self.write_data_dump())
        p.on_signal[signal.SIGUSR2] = lambda: self._spawn(self.write_stats_dump())
        p.on_signal[SIGJSON] = lambda: self._spawn(self.write_json_dump())
        p.on_signal[SIGSTATS_CLEAR] = lambda: self._spawn(self.write_stats_dump())
        p.on_signal[SIGTDUMP] = self.log_tasks

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.append(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        with contextlib.suppress(ValueError):
            self._tasks.remove(task)
        if not task.cancelled() and task.exception() is not None:
            self.parent.counters["errors.services"] += 1
            log.error("parent service failed: %r", task.exception())

    # ---- hooks -------------------------------------------------------------------------
    def _started(self, broker: Broker) -> None:
        self._dump_lock = asyncio.Lock()
        if self.pid_files is not None:
            self.pid_files.write_main(os.getpid())
            self.pid_files.sync(set(self.parent._wanted_children(self.parent.config)))
        self.control = ControlServer(broker, self.handle_command)
        self._spawn(self.control.run())
        if self.parent.options.metrics:
            self._spawn(self._start_metrics(self.parent.options.metrics))
        if self.notifier.enabled and self.notifier.watchdog:
            self._spawn(self._watchdog_pings(self.notifier.watchdog))

    async def _start_metrics(self, listen: str) -> None:
        self.metrics = MetricsServer(self.render_metrics, self.parent.counters, self.readiness)
        try:
            self.metrics_address = await self.metrics.start(listen)
        except (OSError, ValueError) as exc:
            log.error("cannot serve metrics on %s: %s", listen, exc)
            self.metrics = None
            return
        log.info("Metrics on http://%s:%d/metrics", *self.metrics_address)

    async def _watchdog_pings(self, period: float) -> None:
        while True:
            self.notifier.ping()
            await asyncio.sleep(period)

    def _status_line(self) -> str:
        names = ", ".join(self.parent.children) or "no children"
        return f"running ({names}), config generation {self.parent.generation}"

    def _ready(self) -> None:
        self.is_ready = True
        self.notifier.ready(self._status_line())

    def readiness(self) -> tuple[int, str]:
        """/readyz: 200 once started (startup script run, children spawned) while every
        wanted child runs; 503 before, while stopping, or with a child down."""
        if self.parent.stopping:
            return 503, "stopping\n"
        if not self.is_ready:
            return 503, "starting\n"
        down = sorted(n for n, c in self.parent.children.items() if c.wanted and not c.alive())
        if down:
            return 503, f"not running: {', '.join(down)}\n"
        return 200, "ready\n"

    def _reloading(self, starting: bool) -> None:
        if starting:
            self.notifier.reloading()
            return
        self._apply_reloaded_settings()
        if self.pid_files is not None:
            self.pid_files.sync(set(self.parent.children))
            for child in self.parent.children.values():
                if child.alive():
                    self.pid_files.child_started(child)
        self.notifier.ready(self._status_line())

    def _apply_reloaded_settings(self) -> None:
        """A reload may change the ``pykeepalived { }`` block's event tap, metrics endpoint
        and watchdog period; values given on the command line win and stay."""
        from pykeepalived.actors.parent.actor import effective_options

        parent = self.parent
        cleared: dict[str, Any] = {n: None for n in RELOADABLE if not self._explicit(n)}
        if not cleared:
            return
        wanted = effective_options(replace(parent.options, **cleared), parent.config)
        changes = {
            n: getattr(wanted, n)
            for n in cleared
            if getattr(wanted, n) != getattr(parent.options, n)
        }
        if not changes:
            return
        parent.options = replace(parent.options, **changes)
        log.info("Reload changes %s", ", ".join(f"{k} to {v}" for k, v in changes.items()))
        if "event_tap" in changes and parent.broker is not None:
            parent.broker.set_tcp_tap(changes["event_tap"])
        if "metrics" in changes:
            if self.metrics is not None:
                self.metrics.close()
                self.metrics = None
                self.metrics_address = None
            if changes["metrics"]:
                self._spawn(self._start_metrics(changes["metrics"]))
        if changes.get("watchdog_interval"):
            parent.interval = float(changes["watchdog_interval"])
            for child in parent.children.values():
                if child.liveness is not None:
                    child.liveness.interval = parent.interval

    def _explicit(self, name: str) -> bool:
        """Given on the command line (which wins over the config block)?"""
        return name in self.parent.explicit_options

    def _stopping(self) -> None:
        self.notifier.stopping()

    def _stopped(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self.control is not None:
            self.control.close()
        if self.metrics is not None:
            self.metrics.close()
        if self.pid_files is not None:
            self.pid_files.release_all()
        self.notifier.close()

    # ---- commands ----------------------------------------------------------------------
    async def handle_command(self, msg: M.Command) -> M.Reply:
        parent = self.parent
        if isinstance(msg, M.ControlStatus):
            return M.DaemonStatus.from_body(await parent.gather_status())
        if isinstance(msg, M.ControlReload):
            if parent.stopping:
                raise RuntimeError("the daemon is stopping")
            before = parent.generation
            await parent.reload()
            while parent._reload_lock.locked():  # queued behind a running reload
                await asyncio.sleep(0.05)
            last = parent.last_reload
            return M.ReloadOutcome(
                ok=bool(last.get("ok")),
                errors=tuple(str(e) for e in last.get("errors", ())),
                generation=int(last.get("generation", parent.generation)),
                previous_generation=before,
            )
        if isinstance(msg, M.ControlStop):
            parent.request_stop()
            return M.StopAck(True, os.getpid())
        if isinstance(msg, M.ControlDump):
            status = await self.gather_dump()
            if msg.json:
                return M.DumpReply(status, instances=tuple(report.json_dump(status)))
            names = ("parent", *parent.children)
            return M.DumpReply(status, text=report.format_data(status, names, now_text()))
        if isinstance(msg, M.ControlStats):
            status = await parent.gather_status()
            return M.StatsReply(report.format_stats(status, now_text()))
        raise ValueError(f"unknown command {msg.name!r}")

    async def gather_dump(self) -> dict[str, Any]:
        """gather_status plus each process's memory-check report."""
        parent = self.parent
        status = await parent.gather_status()
        memcheck: dict[str, Any] = {"parent": parent_memcheck(parent)}
        if parent.broker is not None and parent.options.mem_check:
            names = [n for n, c in parent.children.items() if c.alive()]
            replies = await asyncio.gather(
                *(parent.broker.request(n, M.Memcheck(), timeout=5.0) for n in names),
                return_exceptions=True,
            )
            for name, reply in zip(names, replies, strict=True):
                if isinstance(reply, M.Reply):
                    memcheck[name] = reply.to_body()
                else:
                    memcheck[name] = {"error": str(reply)}
        elif not parent.options.mem_check:
            memcheck = {"parent": {"enabled": False}}
        status["memcheck"] = memcheck
        return status

    # ---- dumps -------------------------------------------------------------------------
    def _dump_paths(self) -> tuple[str, str | None, str | None]:
        gd = getattr(self.parent.config, "global_defs", None)
        state_file = getattr(gd, "state_dump_file", None)
        tag = None
        if getattr(gd, "data_use_instance", False):
            ns = self.parent.options.namespace or getattr(self.parent.config, "net_namespace", None)
            inst = getattr(self.parent.config, "instance", None)
            if ns or inst:
                tag = f"{ns or ''}_{inst or ''}"
        return report.tmp_dir_from(os.environ.get("TMPDIR")), state_file, tag

    async def write_data_dump(self) -> list[str]:
        """SIGUSR1: one file per keepalived process kind, as keepalived names them."""
        assert self._dump_lock is not None
        async with self._dump_lock:
            status = await self.gather_dump()
            tmp_dir, state_file, tag = self._dump_paths()
            directory = report.dump_directory(state_file, tmp_dir)
            written = []
            stamp = now_text()
            for suffix, names in report.DATA_FILES:
                present = tuple(n for n in names if n == "parent" or n in self.parent.children)
                if not present:
                    continue
                path = os.path.join(directory, report.dump_file_name(state_file, suffix, tag))
                write_atomic(path, report.format_data(status, present, stamp))
                written.append(path)
            log.info("Data dump written to %s", ", ".join(written))
            return written

    async def write_stats_dump(self) -> str:
        status = await self.parent.gather_status()
        path = os.path.join(self._dump_paths()[0], "keepalived.stats")
        write_atomic(path, report.format_stats(status, now_text()))
        log.info("Statistics written to %s", path)
        return path

    async def write_json_dump(self) -> str:
        status = await self.parent.gather_status()
        path = os.path.join(self._dump_paths()[0], "keepalived.json")
        write_atomic(path, json.dumps(report.json_dump(status), indent=2, default=str) + "\n")
        log.info("JSON dump written to %s", path)
        return path

    def log_tasks(self) -> None:
        """TDUMP: keepalived dumps its threads; the parent logs its asyncio tasks."""
        tasks = sorted(asyncio.all_tasks(), key=lambda t: t.get_name())
        log.info("TDUMP: %d tasks in the parent's loop", len(tasks))
        for task in tasks:
            frame = task.get_stack(limit=1)
            where = f"{frame[0].f_code.co_filename}:{frame[0].f_lineno}" if frame else "-"
            log.info("TDUMP:   %s %s at %s", task.get_name(), task.get_coro(), where)

    async def render_metrics(self) -> str:
        return report.render_metrics(await self.parent.gather_status())


def parent_memcheck(parent: Parent) -> dict[str, Any]:
    """The parent's own tracemalloc growth since its baseline (see daemon.run_daemon)."""
    return memcheck_report(getattr(parent, "mem_baseline", None))
