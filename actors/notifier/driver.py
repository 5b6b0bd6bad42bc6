"""The notifier's I/O pieces: script processes, notify FIFOs, SMTP connections.

Each piece lives in the actor's one asyncio loop and never blocks it:

* :class:`ScriptRunner` forks scripts with an argv (:func:`spawn`; no shell unless the
  command is keepalived's ``</file`` test form or a file without ``#!``), in their own
  process group, as their user, stdio on /dev/null, dying with this process
  (``PR_SET_PDEATHSIG`` through util-linux's ``setpriv``, as keepalived sets it); exits
  are watched through a pidfd on the loop; a script past its timeout has its whole
  process group killed (SIGKILL, as keepalived). Scripts of one queue run one after the
  other, queues side by side.
* :class:`FifoSet` creates (mkfifo 0644, chown to the configured user) and opens the
  notify FIFOs ``O_RDWR|O_NONBLOCK`` as keepalived does, starts each ``*_fifo_script``
  with the FIFO's name appended, writes lines without ever waiting (a full pipe drops the
  line and counts it), and at the end stops the scripts and removes FIFOs it created.
* :class:`Mailer` sends each alert on its own connection, as keepalived does, driving
  :class:`~pykeepalived.actors.notifier.smtp.SmtpDialogue`; connect and every read are
  bounded by ``smtp_connect_timeout``; failures are logged in keepalived's words and
  counted. A dead or hanging relay costs one pending task per alert, nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import grp
import logging
import os
import pwd
import signal
import socket
import stat
import subprocess
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from pykeepalived.actors.notifier import format as fmt
from pykeepalived.actors.notifier import security
from pykeepalived.actors.notifier.policy import RunScript, Script
from pykeepalived.actors.notifier.smtp import SmtpDialogue

PR_SET_PDEATHSIG = 1
#: how many finished script runs (and sent mails) are remembered for status and tests
HISTORY = 64
#: keepalived's default umask (``IXUSR|IRWXG|IRWXO``): FIFOs 0600, script files 0600
DEFAULT_UMASK = 0o177
#: at most this many alerts talk to the relay at once; more wait their turn
MAIL_CONCURRENCY = 16
#: alerts waiting or in flight beyond this are dropped (and counted): a dead relay and a
#: flapping instance must not grow memory without bound
MAIL_BACKLOG = 256


# ------------------------------------------------------------------------ file system


class OsFileSystem:
    """:class:`security.FileSystem` backed by ``os``."""

    def lstat(self, path: str) -> security.FileInfo | None:
        try:
            s = os.lstat(path)
        except OSError:
            return None
        return security.FileInfo(s.st_mode, s.st_uid, s.st_gid)

    def stat(self, path: str) -> security.FileInfo | None:
        try:
            s = os.stat(path)
        except OSError:
            return None
        return security.FileInfo(s.st_mode, s.st_uid, s.st_gid)

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
class Vetted:
    """A script after identity and security checks: what to exec, as whom, or why not."""

    argv: tuple[str, ...]
    uid: int
    gid: int
    refused: str | None = None
    insecure: bool = False
    is_script: bool = False
    shell_test: bool = False
    messages: tuple[str, ...] = ()
    needs_shell: bool = False  # a script file without ``#!`` (nor ELF): run by /bin/sh


def vet(
    script: Script,
    default_user: str | None,
    default_group: str | None,
    script_security: bool,
    fs: security.FileSystem | None = None,
) -> Vetted:
    """Resolve whom ``script`` runs as and apply keepalived's security rules to it."""
    ident = security.script_identity(
        script.user,
        script.group,
        default_user,
        default_group,
        script_security,
        lookup_user,
        lookup_group,
        (os.geteuid(), os.getegid()),
    )
    if ident.error is not None:
        return Vetted(script.argv, -1, -1, refused=ident.error, messages=(ident.error,))
    verdict = security.check_script(
        script.argv,
        ident.uid,
        ident.gid,
        script_security,
        fs or OsFileSystem(),
        os.environ.get("PATH") or security_default_path(),
    )
    refused = None
    if not verdict.runnable:
        refused = verdict.messages[-1] if verdict.messages else "refused"
    return Vetted(
        verdict.argv,
        ident.uid,
        ident.gid,
        refused,
        verdict.insecure,
        verdict.is_script,
        verdict.shell_test,
        verdict.messages,
        verdict.is_script and refused is None and not _has_exec_magic(verdict.argv[0]),
    )


def _has_exec_magic(path: str) -> bool:
    """``#!`` or ELF at the start: the kernel can exec it (keepalived asks libmagic)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError:
        return True  # let exec report what is wrong
    return head[:2] == b"#!" or head == b"\x7fELF"


#: util-linux's setpriv sets the parent-death signal in the child and execs the script:
#: the notifier keeps CPython's vfork spawn (a full fork with a preexec_fn costs several
#: ms of loop time in a big process); without it a preexec_fn does the same
SETPRIV = next((p for p in ("/usr/bin/setpriv", "/bin/setpriv") if os.access(p, os.X_OK)), None)


def spawn(argv: tuple[str, ...], v: Vetted) -> subprocess.Popen[bytes]:
    """Start ``argv`` as keepalived starts scripts: own process group, the script's
    uid/gid, stdio on /dev/null, cwd /, and killed (SIGTERM) if the notifier dies."""
    if v.needs_shell:  # keepalived runs such a file through system(): the shell reads it
        argv = ("/bin/sh", *argv)
    change_ids = v.uid != os.geteuid() or v.gid != os.getegid()
    preexec: Callable[[], None] | None = None
    if SETPRIV is not None:
        argv = (SETPRIV, "--pdeathsig", "TERM", "--", *argv)
    else:  # pragma: no cover - util-linux is essential on Debian
        preexec = _die_with_parent
    return subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # own process group: a timeout kills its children too
        close_fds=True,
        cwd="/",  # the umask is the process's: keepalived's, set by the actor
        user=v.uid if change_ids else None,
        group=v.gid if change_ids else None,
        extra_groups=[v.gid] if change_ids else None,
        preexec_fn=preexec,
    )


def security_default_path() -> str:
    return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def shell_command(argv: tuple[str, ...]) -> str:
    """keepalived's ``cmd_str``: every word in single quotes, except a leading ``<``/``>``."""
    words = []
    for i, w in enumerate(argv):
        words.append(w if i == 0 and w[:1] in ("<", ">") else f"'{w}'")
    return " ".join(words)


# ------------------------------------------------------------------------------ scripts


@dataclass
class Finished:
    """One finished script run, for status and tests."""

    queue: str
    what: str
    argv: tuple[str, ...]
    pid: int
    started: float
    ended: float
    returncode: int | None  # negative: killed by that signal
    timed_out: bool = False
    error: str | None = None


@dataclass
class _Running:
    job: RunScript
    proc: subprocess.Popen[bytes]
    pidfd: int
    started: float
    timer: asyncio.TimerHandle | None = None
    timed_out: bool = False


@dataclass
class ScriptRunner:
    loop: asyncio.AbstractEventLoop
    log: logging.Logger
    counters: Counter[str]
    vetted: Callable[[Script], Vetted]
    queues: dict[str, deque[RunScript]] = field(default_factory=dict)
    running: dict[str, _Running] = field(default_factory=dict)
    history: deque[Finished] = field(default_factory=lambda: deque(maxlen=HISTORY))
    idle: asyncio.Event = field(default_factory=asyncio.Event)
    on_finish: Callable[[Finished], None] | None = None
    umask: int = DEFAULT_UMASK

    def __post_init__(self) -> None:
        self.idle.set()

    def submit(self, job: RunScript) -> None:
        """Queue ``job``; it starts at once unless its queue is busy."""
        self.queues.setdefault(job.queue, deque()).append(job)
        self.idle.clear()
        if job.queue not in self.running:
            self._start_next(job.queue)

    @property
    def pending(self) -> int:
        return sum(len(q) for q in self.queues.values()) + len(self.running)

    def _start_next(self, queue: str) -> None:
        q = self.queues.get(queue)
        while q:
            job = q.popleft()
            if self._start(job):
                break
        if not q:
            self.queues.pop(queue, None)
        if not self.queues and not self.running:
            self.idle.set()

    def _start(self, job: RunScript) -> bool:
        v = self.vetted(job.script)
        if v.refused is not None:
            self.counters["scripts.refused"] += 1
            self.log.warning("not running %s %s: %s", job.what, job.script.argv[0], v.refused)
            self._record(Finished(job.queue, job.what, job.argv, 0, time.time(), time.time(), None,
                                  error=v.refused))  # fmt: skip
            return False
        argv = (*v.argv, *job.extra)
        if v.shell_test:
            argv = ("/bin/sh", "-c", shell_command(argv))
        try:
            proc = spawn(argv, v)
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            return self._failed(job, argv, exc)
        try:
            pidfd = os.pidfd_open(proc.pid)
        except OSError:  # pragma: no cover - kernels before 5.3
            pidfd = -1
        run = _Running(job, proc, pidfd, time.time())
        self.running[job.queue] = run
        self.counters["scripts.started"] += 1
        if pidfd >= 0:
            self.loop.add_reader(pidfd, self._exited, job.queue)
        else:  # pragma: no cover
            self._poll(job.queue)
        run.timer = self.loop.call_later(job.timeout, self._timed_out, job.queue)
        return True

    def _failed(self, job: RunScript, argv: tuple[str, ...], exc: Exception) -> bool:
        self.counters["scripts.exec_errors"] += 1
        if isinstance(exc, OSError):
            msg = f"Error exec-ing command '{argv[0]}', error {exc.errno}: {exc.strerror}"
        else:
            msg = f"Error exec-ing command '{argv[0]}': {exc}"
        self.log.error("%s", msg)
        self._record(Finished(job.queue, job.what, argv, 0, time.time(), time.time(), None,
                              error=msg))  # fmt: skip
        return False

    def _poll(self, queue: str) -> None:  # pragma: no cover - no pidfd
        run = self.running.get(queue)
        if run is None:
            return
        if run.proc.poll() is None:
            self.loop.call_later(0.05, self._poll, queue)
        else:
            self._exited(queue)

    def _exited(self, queue: str) -> None:
        run = self.running.get(queue)
        if run is None or run.proc.poll() is None:
            return
        if run.pidfd >= 0:
            self.loop.remove_reader(run.pidfd)
            os.close(run.pidfd)
        if run.timer is not None:
            run.timer.cancel()
        del self.running[queue]
        rc = run.proc.returncode
        if rc != 0 and not run.timed_out:
            self.counters["scripts.nonzero"] += 1
        self._record(Finished(queue, run.job.what, run.job.argv, run.proc.pid, run.started,
                              time.time(), rc, run.timed_out))  # fmt: skip
        self._start_next(queue)

    def _timed_out(self, queue: str) -> None:
        run = self.running.get(queue)
        if run is None:
            return
        run.timer = None
        run.timed_out = True
        self.counters["scripts.timeouts"] += 1
        self.log.warning(
            "%s script %s (pid %d) still running after %g s: killing it",
            run.job.what,
            run.job.argv[0],
            run.proc.pid,
            run.job.timeout,
        )
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(run.proc.pid, signal.SIGKILL)

    def _record(self, fin: Finished) -> None:
        self.history.append(fin)
        if self.on_finish is not None:
            self.on_finish(fin)

    async def drain(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for every queued script to finish; True if all did."""
        try:
            await asyncio.wait_for(self.idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def kill_all(self) -> None:
        """Kill every running script's process group and drop what is queued."""
        self.queues.clear()
        for run in list(self.running.values()):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(run.proc.pid, signal.SIGKILL)
        for queue in list(self.running):
            run = self.running[queue]
            with contextlib.suppress(subprocess.TimeoutExpired):
                run.proc.wait(1.0)
            self._exited(queue)
        self.idle.set()


# -------------------------------------------------------------------------------- FIFOs


@dataclass
class _Fifo:
    path: str
    fd: int
    created: bool
    script: subprocess.Popen[bytes] | None = None


@dataclass
class FifoSet:
    """The open notify FIFOs, by role: ``notify`` (all lines), ``vrrp``, ``lvs``."""

    log: logging.Logger
    counters: Counter[str]
    fifos: dict[str, _Fifo] = field(default_factory=dict)  # path → fifo
    roles: dict[str, str] = field(default_factory=dict)  # role → path
    umask: int = DEFAULT_UMASK
    loop: asyncio.AbstractEventLoop | None = None
    _watch: dict[int, int] = field(default_factory=dict)  # script pid → pidfd

    def open(
        self,
        role: str,
        path: str,
        user: str | None,
        group: str | None,
        script: Vetted | None,
    ) -> bool:
        if path in self.fifos:  # two roles on one FIFO: write each line once
            self.roles[role] = path
            return True
        created = False
        try:
            os.mkfifo(path, 0o644)
            created = True
            os.chmod(path, 0o644 & ~self.umask)  # keepalived's mode after its umask
        except FileExistsError:
            pass
        except OSError as exc:
            self.counters["fifo.errors"] += 1
            self.log.error("Unable to create %snotify fifo %s: %s", _prefix(role), path, exc)
            return False
        if created and user is not None:
            ids = lookup_user(user)
            gid = lookup_group(group) if group is not None else None
            if ids is not None:
                with contextlib.suppress(OSError):
                    os.chown(path, ids[0], gid if gid is not None else ids[1])
        proc = None
        if script is not None:
            proc = self._start_script(role, path, script)
        try:
            fd = os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOFOLLOW)
            if not stat.S_ISFIFO(os.fstat(fd).st_mode):
                os.close(fd)
                raise OSError(errno.EINVAL, "not a FIFO")
        except OSError as exc:
            self.counters["fifo.errors"] += 1
            self.log.error(
                "Unable to open %snotify fifo %s - errno %d", _prefix(role), path, exc.errno or 0
            )
            if created:
                with contextlib.suppress(OSError):
                    os.unlink(path)
            if proc is not None:
                _stop_process_group(proc)
            return False
        self.fifos[path] = _Fifo(path, fd, created, proc)
        self.roles[role] = path
        if proc is not None:
            self._watch_script(role, proc)
        return True

    def _watch_script(self, role: str, proc: subprocess.Popen[bytes]) -> None:
        """Log (as keepalived) and reap a FIFO script that ends on its own."""
        if self.loop is None:
            return
        try:
            pidfd = os.pidfd_open(proc.pid)
        except OSError:  # pragma: no cover - kernels before 5.3
            return
        self._watch[proc.pid] = pidfd

        def exited() -> None:
            if proc.poll() is None:
                return
            self._unwatch(proc.pid)
            self.counters["fifo.script_exits"] += 1
            self.log.info("%snotify fifo script terminated", _prefix(role))

        self.loop.add_reader(pidfd, exited)

    def _unwatch(self, pid: int) -> None:
        pidfd = self._watch.pop(pid, None)
        if pidfd is not None and self.loop is not None:
            self.loop.remove_reader(pidfd)
            os.close(pidfd)

    def _start_script(self, role: str, path: str, v: Vetted) -> subprocess.Popen[bytes] | None:
        if v.refused is not None:
            self.counters["scripts.refused"] += 1
            self.log.warning("not running %snotify_fifo_script: %s", _prefix(role), v.refused)
            return None
        try:
            # a FIFO reader lives as long as we do, and no longer (keepalived's
            # PR_SET_PDEATHSIG): a crashed notifier leaves no reader behind
            return spawn((*v.argv, path), v)
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            self.counters["scripts.exec_errors"] += 1
            self.log.error("Error exec-ing command '%s': %s", v.argv[0], exc)
            return None

    def write(self, line: str, family: str) -> None:
        """Write ``line`` to the global FIFO and the ``family`` one (each path once)."""
        paths = {p for r, p in self.roles.items() if r in ("notify", family)}
        data = line.encode()
        for path in paths:
            fifo = self.fifos.get(path)
            if fifo is None:
                continue
            try:
                os.write(fifo.fd, data)
                self.counters["fifo.lines"] += 1
            except OSError:  # full pipe (nobody reading): keepalived drops the line too
                self.counters["fifo.dropped"] += 1

    def close(self, only: set[str] | None = None) -> None:
        """Close FIFOs (all, or those at the paths in ``only``), stop their scripts."""
        for path in list(self.fifos):
            if only is not None and path not in only:
                continue
            fifo = self.fifos.pop(path)
            if fifo.created:  # unlink first: a reader looping on open cannot reopen it
                with contextlib.suppress(OSError):
                    os.unlink(path)
            with contextlib.suppress(OSError):
                os.close(fifo.fd)
            if fifo.script is not None:
                self._unwatch(fifo.script.pid)
                _stop_process_group(fifo.script)
            for role in [r for r, p in self.roles.items() if p == path]:
                del self.roles[role]

    def status(self) -> dict[str, str]:
        return dict(self.roles)


_LIBC = ctypes.CDLL(None, use_errno=True)


def _die_with_parent() -> None:
    """In the forked child, before exec: SIGTERM when the notifier process dies."""
    _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def _prefix(role: str) -> str:
    return "" if role == "notify" else f"{role} "


def _stop_process_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(1.0)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(1.0)


# ----------------------------------------------------------------------------------- SMTP


@dataclass(frozen=True, slots=True)
class MailSettings:
    host: str  # a resolved address
    port: int
    helo_name: str
    mail_from: str
    recipients: tuple[str, ...]
    timeout: float

    @property
    def label(self) -> str:
        return f"[{self.host}]:{self.port}"


def default_mail_from(local_name: str) -> str:
    """keepalived's default sender: ``<our user name>@<local name>``."""
    try:
        user = pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        user = str(os.getuid())
    return f"{user}@{local_name}"


def resolve_smtp_server(server: str) -> str:
    """An address for ``smtp_server`` (a host name is resolved once, at configuration)."""
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in server else socket.AF_INET, server)
        return server
    except OSError:
        pass
    infos = socket.getaddrinfo(server, None, type=socket.SOCK_STREAM)
    return str(infos[0][4][0])


@dataclass
class Mailer:
    loop: asyncio.AbstractEventLoop
    log: logging.Logger
    counters: Counter[str]
    settings: MailSettings | None = None
    in_flight: set[asyncio.Task[None]] = field(default_factory=set)
    sent: deque[str] = field(default_factory=lambda: deque(maxlen=HISTORY))
    backlog: int = MAIL_BACKLOG
    _sem: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(MAIL_CONCURRENCY))

    def send(self, subject: str, body: str, now: datetime | None = None) -> None:
        """Start sending one alert; returns at once."""
        if self.settings is None:
            return
        s = self.settings
        if len(self.in_flight) >= self.backlog:
            self.counters["smtp.dropped"] += 1
            self.log.warning("SMTP alert dropped (%d alerts pending): %s", len(self.in_flight),
                             subject)  # fmt: skip
            return
        date = fmt.rfc822_date(now or datetime.now().astimezone())
        data = fmt.mail_data(date, s.mail_from, subject, s.recipients, body)
        dialogue = SmtpDialogue(s.helo_name, s.mail_from, s.recipients, data, s.label)
        task = self.loop.create_task(self._deliver(dialogue, s, subject), name="smtp-alert")
        self.in_flight.add(task)
        task.add_done_callback(self.in_flight.discard)
        self.counters["smtp.queued"] += 1

    async def _deliver(self, dialogue: SmtpDialogue, s: MailSettings, subject: str) -> None:
        async with self._sem:
            writer: asyncio.StreamWriter | None = None
            try:
                try:
                    reader, writer = await asyncio.wait_for(
                        asyncio.open_connection(s.host, s.port), s.timeout
                    )
                except TimeoutError:
                    self._failed(f"Timeout connecting SMTP server {s.label}.")
                    return
                except OSError:
                    self._failed(f"SMTP connection ERROR to {s.label}.")
                    return
                while not dialogue.finished:
                    try:
                        chunk = await asyncio.wait_for(reader.read(1024), s.timeout)
                    except TimeoutError:
                        out = dialogue.abort(
                            f"Timeout reading data to remote SMTP server {s.label}."
                        )
                    else:
                        out = dialogue.receive(chunk)
                    if out and writer is not None:
                        writer.write(out)
                        await asyncio.wait_for(writer.drain(), s.timeout)
            except (OSError, TimeoutError) as exc:
                dialogue.error = dialogue.error or f"SMTP error with {s.label}: {exc!r}"
            finally:
                if writer is not None:
                    writer.close()
                    with contextlib.suppress(OSError, TimeoutError):
                        await asyncio.wait_for(writer.wait_closed(), 1.0)
            if dialogue.sent_ok:
                self.counters["smtp.sent"] += 1
                self.sent.append(subject)
                self.log.info("SMTP alert successfully sent.")
                if dialogue.error:  # only the QUIT went wrong
                    self.log.info("%s", dialogue.error)
            else:
                self._failed(dialogue.error or f"SMTP alert to {s.label} not sent")

    def _failed(self, message: str) -> None:
        self.counters["smtp.failed"] += 1
        self.log.warning("%s", message)

    async def drain(self, timeout: float) -> None:
        if self.in_flight:
            await asyncio.wait(set(self.in_flight), timeout=timeout)

    def cancel_all(self) -> None:
        for task in list(self.in_flight):
            task.cancel()
