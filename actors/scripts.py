"""The one place the daemon forks scripts (I/O): vetting, starting, watching, ending.

Every script - notify scripts, ``vrrp_script``, MISC_CHECK, the notify FIFO scripts and
the startup/shutdown scripts - is vetted by :func:`vet` (whom it runs as and keepalived's
security rules, :mod:`~pykeepalived.actors.script_policy`) and run by a
:class:`ScriptRunner` in the caller's asyncio loop, without threads:

* the child gets a new session (so its own process group), supplementary groups set to
  its gid alone (as keepalived's ``setgroups(1, &gid)``), then setgid, then setuid; stdin
  on /dev/null; stdout/stderr on /dev/null or, for checks, a pipe read into a bounded
  buffer; cwd ``/``; the daemon's umask (keepalived's 0177 unless configured); signal
  dispositions back to default; the limits of :func:`~.script_policy.script_rlimits`;
  the nice value and scheduling policy the daemon was started with; and
  ``PR_SET_PDEATHSIG`` SIGTERM, set after the uid change (which clears it), so a script
  does not outlive the process that started it. The environment is the daemon's, as
  keepalived passes its own.
* its exit is watched through a pidfd on the loop; at the timeout its whole process group
  gets SIGTERM, then SIGKILL after the policy's grace; when a timed-out script (or any
  check) ends, whatever is still in its group is killed, so nothing it started survives
  it - unless it left the group on purpose (``setsid``), which only a cgroup could stop.
* every run is counted per script name (:class:`~.script_policy.ScriptStats`, in
  :meth:`ScriptRunner.status`) and in the actor's counters (``scripts.started``,
  ``scripts.ok``, ``scripts.failed``, ``scripts.signalled``, ``scripts.timed_out``,
  ``scripts.refused``, ``scripts.exec_error``, ``scripts.leftovers_killed``,
  ``scripts.leftovers_left``).

The child is set up by a ``preexec_fn``, so CPython forks rather than vforks (with a
uid/gid change it forks in any case): the loop waits for the fork and the exec, measured
at about 4 ms for a 100 MB process and under 1 ms for a small one.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import grp
import logging
import os
import pwd
import resource
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from pykeepalived.actors import script_policy as sp
from pykeepalived.actors.script_policy import Result

#: keepalived's default umask (``IXUSR|IRWXG|IRWXO``), which its scripts inherit
DEFAULT_UMASK = 0o177
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PR_SET_PDEATHSIG = 1
READ_CHUNK = 65536
#: after SIGKILL, how long before a script that is still not gone is reported
LOST_AFTER = 10.0

_RLIMITS = {"NOFILE": resource.RLIMIT_NOFILE, "CORE": resource.RLIMIT_CORE}
if hasattr(resource, "RLIMIT_RTTIME"):
    _RLIMITS["RTTIME"] = resource.RLIMIT_RTTIME
#: the nice value this process had when it was started (the VRRP actor lowers its own)
START_NICE = os.getpriority(os.PRIO_PROCESS, 0)
_LIBC = ctypes.CDLL(None, use_errno=True)

Done = Callable[[Result], None]


# ------------------------------------------------------------------------------ vetting


class OsFileSystem:
    """:class:`script_policy.FileSystem` backed by ``os``."""

    def lstat(self, path: str) -> sp.FileInfo | None:
        try:
            s = os.lstat(path)
        except OSError:
            return None
        return sp.FileInfo(s.st_mode, s.st_uid, s.st_gid)

    def stat(self, path: str) -> sp.FileInfo | None:
        try:
            s = os.stat(path)
        except OSError:
            return None
        return sp.FileInfo(s.st_mode, s.st_uid, s.st_gid)

    def realpath(self, path: str) -> str | None:
        if not os.path.exists(path):
            return None
        return os.path.realpath(path)


def lookup_user(name: str) -> tuple[int, int] | None:
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        if name.isdigit():
            return int(name), int(name)
        return None
    return pw.pw_uid, pw.pw_gid


def lookup_group(name: str) -> int | None:
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        return int(name) if name.isdigit() else None


@dataclass(frozen=True, slots=True)
class Defaults:
    """The global settings vetting needs: ``script_user [group]``, script security."""

    user: str | None = None
    group: str | None = None
    security: bool = False

    @classmethod
    def of(cls, global_defs: object) -> Defaults:
        return cls(
            getattr(global_defs, "script_user", None),
            getattr(global_defs, "script_group", None),
            bool(getattr(global_defs, "enable_script_security", False)),
        )


def umask_of(global_defs: object) -> int:
    """The umask scripts get: ``global_defs umask``, else keepalived's default."""
    um = getattr(global_defs, "umask", None)
    return DEFAULT_UMASK if um is None else int(um) & 0o777


@dataclass(frozen=True, slots=True)
class Vetted:
    """A script after identity and security checks: what to exec, as whom, or why not."""

    argv: tuple[str, ...]
    uid: int
    gid: int
    refused: str | None = None
    insecure: bool = False
    is_script: bool = False
    via_shell: bool = False  # the ``</file`` test, or a file without ``#!``
    messages: tuple[str, ...] = ()

    @property
    def as_root(self) -> bool:
        return self.is_script and (self.uid == 0 or self.gid == 0)


def vet(
    argv: tuple[str, ...],
    user: str | None,
    group: str | None,
    defaults: Defaults,
    fs: sp.FileSystem | None = None,
) -> Vetted:
    """Resolve whom ``argv`` runs as and apply keepalived's security rules to it."""
    ident = sp.script_identity(
        user, group, defaults.user, defaults.group, defaults.security,
        lookup_user, lookup_group, (os.geteuid(), os.getegid()),
    )  # fmt: skip
    if ident.error is not None:
        return Vetted(argv, -1, -1, refused=ident.error, messages=(ident.error,))
    verdict = sp.check_script(
        argv, ident.uid, ident.gid, defaults.security, fs or OsFileSystem(),
        os.environ.get("PATH") or DEFAULT_PATH,
    )  # fmt: skip
    refused = None
    if not verdict.runnable:
        refused = verdict.messages[-1] if verdict.messages else "refused"
    no_magic = verdict.is_script and refused is None and not _exec_magic(verdict.argv[0])
    return Vetted(
        verdict.argv, ident.uid, ident.gid, refused, verdict.insecure, verdict.is_script,
        verdict.shell_test or no_magic, verdict.messages,
    )  # fmt: skip


def _exec_magic(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return sp.has_exec_magic(fh.read(4))
    except OSError:
        return True  # let exec report what is wrong


# ------------------------------------------------------------------------------ running


@dataclass(eq=False)
class Run:
    """One running script."""

    name: str
    key: str
    policy: sp.RunPolicy
    argv: tuple[str, ...]
    proc: subprocess.Popen[bytes]
    started: float
    on_done: Done | None
    pidfd: int = -1
    out_fd: int = -1
    output: bytearray = field(default_factory=bytearray)
    output_bytes: int = 0
    timed_out: bool = False
    terminating: bool = False  # we sent its group SIGTERM
    forced: bool = False  # ... and then SIGKILL
    abandoned: bool = False
    timers: list[asyncio.TimerHandle] = field(default_factory=list)
    drain_timer: asyncio.TimerHandle | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid


@dataclass
class ScriptRunner:
    """Starts scripts and watches them in one asyncio loop; counts every run."""

    loop: asyncio.AbstractEventLoop
    log: logging.Logger
    counters: Counter[str]
    umask: int = DEFAULT_UMASK
    running: dict[int, Run] = field(default_factory=dict)
    stats: dict[str, sp.ScriptStats] = field(default_factory=dict)
    _idle: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self._idle.set()

    # ---- starting ----------------------------------------------------------------------
    def start(
        self,
        name: str,
        kind: str,
        vetted: Vetted,
        extra: tuple[str, ...] = (),
        timeout: float | None = None,
        on_done: Done | None = None,
    ) -> Run | None:
        """Start ``vetted`` (plus ``extra`` words) as a ``kind`` script counted as ``name``.

        ``on_done`` gets the :class:`Result` once the script has been reaped - or, soon
        (never from inside this call), the refusal or exec error; None is returned then.
        ``timeout`` None: no time limit (a FIFO reader runs as long as the daemon).
        """
        policy = sp.POLICIES[kind]
        key = sp.stats_key(name, self.stats)
        stats = self.stats.setdefault(key, sp.ScriptStats())
        now = time.time()
        if vetted.refused is not None:
            res = self.refuse(name, vetted)
            if on_done is not None:
                self.loop.call_soon(on_done, res)
            return None
        argv = sp.exec_argv(vetted.argv, extra, vetted.via_shell)
        try:
            proc = self._popen(argv, vetted, policy)
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            msg = _exec_error(argv, exc)
            self.log.error("%s: %s", name, msg)
            self._failed(key, Result(name, argv, error=msg, started=now, ended=now), on_done)
            return None
        run = Run(name, key, policy, argv, proc, now, on_done)
        stats.started += 1
        self.counters["scripts.started"] += 1
        self._watch(run)
        if timeout is not None:
            run.timers.append(
                self.loop.call_later(max(timeout, 0.0), self._timed_out, run, timeout)
            )
        return run

    async def run(
        self, name: str, kind: str, vetted: Vetted, extra: tuple[str, ...] = (),
        timeout: float | None = None,
    ) -> Result:  # fmt: skip
        """:meth:`start` and wait for the result; cancelling the wait kills the script."""
        fut: asyncio.Future[Result] = self.loop.create_future()

        def done(r: Result) -> None:
            if not fut.done():
                fut.set_result(r)

        run = self.start(name, kind, vetted, extra, timeout, done)
        try:
            return await fut
        except asyncio.CancelledError:
            if run is not None:
                self.abandon(run)
            raise

    def refuse(self, name: str, vetted: Vetted) -> Result:
        """Count (and log) that ``name`` will not run: its vetting refused it."""
        now = time.time()
        self.log.warning("not running %s (%s): %s", name, vetted.argv[0], vetted.refused)
        res = Result(name, vetted.argv, error=vetted.refused, refused=True,
                     started=now, ended=now)  # fmt: skip
        self._count(sp.stats_key(name, self.stats), res, killed=False)
        return res

    def _failed(self, key: str, res: Result, on_done: Done | None) -> None:
        self._count(key, res, killed=False)
        if on_done is not None:
            self.loop.call_soon(on_done, res)

    def _popen(
        self, argv: tuple[str, ...], v: Vetted, policy: sp.RunPolicy
    ) -> subprocess.Popen[bytes]:
        change = v.uid != os.geteuid() or v.gid != os.getegid()
        out = subprocess.PIPE if policy.capture else subprocess.DEVNULL
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT if policy.capture else subprocess.DEVNULL,
            start_new_session=True,  # own session and process group
            close_fds=True,
            cwd="/",
            umask=self.umask,
            user=v.uid if change else None,
            group=v.gid if change else None,
            extra_groups=[v.gid] if os.geteuid() == 0 else None,  # only its own gid
            preexec_fn=_child_setup(_limits_now()),
        )

    def _watch(self, run: Run) -> None:
        self.running[run.pid] = run
        self._idle.clear()
        try:
            run.pidfd = os.pidfd_open(run.pid)
        except OSError:  # pragma: no cover - kernels before 5.3
            run.pidfd = -1
        if run.pidfd >= 0:
            self.loop.add_reader(run.pidfd, self._exited, run)
        else:  # pragma: no cover
            self._poll(run)
        if run.proc.stdout is not None:
            run.out_fd = run.proc.stdout.fileno()
            os.set_blocking(run.out_fd, False)
            self.loop.add_reader(run.out_fd, self._read, run)

    # ---- output ------------------------------------------------------------------------
    def _read(self, run: Run) -> None:
        try:
            data = os.read(run.out_fd, READ_CHUNK)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:  # EOF: the script (and all it started) closed its output
            self.loop.remove_reader(run.out_fd)
            return
        run.output_bytes += len(data)
        room = sp.OUTPUT_KEEP - len(run.output)
        if room > 0:
            run.output += data[:room]
        if run.output_bytes > sp.OUTPUT_KEEP:  # drain slowly from now on
            self.loop.remove_reader(run.out_fd)
            run.drain_timer = self.loop.call_later(sp.DRAIN_PAUSE, self._resume_read, run)

    def _resume_read(self, run: Run) -> None:
        run.drain_timer = None
        if run.pid in self.running and run.out_fd >= 0:
            self.loop.add_reader(run.out_fd, self._read, run)

    # ---- ending ------------------------------------------------------------------------
    def _timed_out(self, run: Run, timeout: float) -> None:
        if run.pid not in self.running:
            return
        run.timed_out = True
        last = self.stats[run.key].last.get("outcome")
        level = logging.INFO if last == "timed_out" else logging.WARNING
        self.log.log(level, "%s (pid %d) timed out after %g s: SIGTERM to its process group",
                     run.name, run.pid, timeout)  # fmt: skip
        self.terminate(run)

    def terminate(self, run: Run, grace: float | None = None) -> None:
        """SIGTERM to the script's process group; SIGKILL after ``grace`` (its policy's).
        Once the script has gone, whatever is left in its group is killed."""
        run.terminating = True
        _killpg(run.pid, signal.SIGTERM)
        wait = run.policy.grace if grace is None else grace
        run.timers.append(self.loop.call_later(wait, self._force, run))

    def _force(self, run: Run) -> None:
        if run.pid not in self.running:
            return
        run.forced = True
        _killpg(run.pid, signal.SIGKILL)
        run.timers.append(self.loop.call_later(LOST_AFTER, self._lost, run))

    def _lost(self, run: Run) -> None:
        if run.pid in self.running:
            self.counters["scripts.unkillable"] += 1
            self.log.error("%s (pid %d) failed to terminate after SIGKILL", run.name, run.pid)

    def abandon(self, run: Run) -> None:
        """Kill the script's group now and forget its result (it is still reaped)."""
        run.on_done = None
        run.abandoned = True
        _killpg(run.pid, signal.SIGKILL)

    def _poll(self, run: Run) -> None:  # pragma: no cover - no pidfd
        if run.proc.poll() is None:
            self.loop.call_later(0.05, self._poll, run)
        else:
            self._exited(run)

    def _exited(self, run: Run) -> None:
        if run.proc.poll() is None:
            return  # not yet (spurious wake-up)
        if run.pidfd >= 0:
            self.loop.remove_reader(run.pidfd)
            os.close(run.pidfd)
            run.pidfd = -1
        leftovers = _group_alive(run.pid)
        kill = leftovers and (run.policy.kill_leftovers or run.terminating or run.abandoned)
        if kill:
            _killpg(run.pid, signal.SIGKILL)
        self._close_output(run)
        for t in run.timers:
            t.cancel()
        if run.drain_timer is not None:
            run.drain_timer.cancel()
        del self.running[run.pid]
        res = Result(
            run.name, run.argv, run.pid, run.proc.returncode, run.timed_out,
            output=bytes(run.output), output_bytes=run.output_bytes, leftovers=leftovers,
            started=run.started, ended=time.time(),
        )  # fmt: skip
        if run.abandoned:
            self.counters["scripts.abandoned"] += 1
        else:
            self._count(run.key, res, killed=kill)
        if kill and not run.terminating and not run.abandoned:
            self.log.info("%s (pid %d) exited leaving processes in its group: killed them",
                          run.name, run.pid)  # fmt: skip
        if not self.running:
            self._idle.set()
        if run.on_done is not None:
            run.on_done(res)

    def _close_output(self, run: Run) -> None:
        if run.out_fd < 0:
            return
        with contextlib.suppress(OSError):
            self._read(run)  # what it wrote last
        with contextlib.suppress(ValueError, OSError):
            self.loop.remove_reader(run.out_fd)
        if run.proc.stdout is not None:
            run.proc.stdout.close()
        run.out_fd = -1

    def _count(self, key: str, res: Result, killed: bool) -> None:
        self.stats.setdefault(key, sp.ScriptStats()).record(res, killed)
        self.counters[f"scripts.{res.outcome}"] += 1
        if res.leftovers:
            self.counters["scripts.leftovers_killed" if killed else "scripts.leftovers_left"] += 1

    # ---- all at once -------------------------------------------------------------------
    async def wait_idle(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s until no script runs; True if none does."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def stop_all(self, grace: float = 1.0) -> None:
        """SIGTERM every script's group, SIGKILL after ``grace``, and wait for the reaping."""
        for run in list(self.running.values()):
            self.terminate(run, grace)
        if not await self.wait_idle(grace + 1.0):
            self.log.warning("%d scripts still running at stop", len(self.running))

    def state_of(self, name: str) -> str:
        """keepalived's script state words: idle, running, requested termination,
        forcing termination (the latest run of ``name`` that is still going)."""
        for run in reversed(list(self.running.values())):
            if run.name == name:
                if run.forced:
                    return "forcing termination"
                return "requested termination" if run.terminating else "running"
        return "idle"

    def status(self) -> dict[str, object]:
        return {
            "running": {str(pid): r.name for pid, r in self.running.items()},
            "by_name": {k: s.as_dict() for k, s in sorted(self.stats.items())},
        }


# ------------------------------------------------------------------------------ helpers


def _limits_now() -> dict[str, tuple[int, int]]:
    return {n: resource.getrlimit(r) for n, r in _RLIMITS.items()}


def _child_setup(now: dict[str, tuple[int, int]]) -> Callable[[], None]:
    """The function run in the child after the id change, before exec."""
    limits = [(_RLIMITS[n], v) for n, v in sp.script_rlimits(now, resource.RLIM_INFINITY).items()]
    nice = START_NICE
    parent = os.getpid()
    # caught signals are reset by exec itself; ignored ones (the actors ignore SIGHUP and
    # SIGINT) would be inherited: only those are reset, which keeps the child's Python
    # work before exec (the time the loop waits) short
    ignored = [s for s in signal.valid_signals() if _ignored(s)]

    def setup() -> None:
        # the uid change cleared the parent-death signal: set it now, then make sure
        # the parent did not die in between
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)
        for sig in ignored:
            with contextlib.suppress(OSError, ValueError):
                signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        for res, value in limits:
            with contextlib.suppress(OSError, ValueError):
                resource.setrlimit(res, value)
        with contextlib.suppress(OSError):
            if os.sched_getscheduler(0) != os.SCHED_OTHER:
                os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, 0, nice)

    return setup


def _ignored(sig: int) -> bool:
    try:
        return signal.getsignal(sig) == signal.SIG_IGN
    except (OSError, ValueError):
        return False


def _killpg(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _group_alive(pgid: int) -> bool:
    """True if a process is still in group ``pgid`` (called right after reaping its
    leader: the number cannot have been reused while members keep the group)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _exec_error(argv: tuple[str, ...], exc: Exception) -> str:
    if isinstance(exc, OSError):
        return f"Error exec-ing command '{argv[0]}', error {exc.errno}: {exc.strerror}"
    return f"Error exec-ing command '{argv[0]}': {exc}"
