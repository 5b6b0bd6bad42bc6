"""The notifier's I/O pieces: notify script queues, notify FIFOs, SMTP connections.

Each piece lives in the actor's one asyncio loop and never blocks it:

* :class:`ScriptQueues` runs notify scripts through the daemon's one script runner
  (:mod:`pykeepalived.actors.scripts`: vetted identity and security, own session and
  process group, stdio on /dev/null, SIGTERM then SIGKILL to the group at the timeout).
  Scripts of one queue run one after the other, queues side by side.
* :class:`FifoSet` creates (mkfifo 0644, chown to the configured user) and opens the
  notify FIFOs ``O_RDWR|O_NONBLOCK`` as keepalived does, starts each ``*_fifo_script``
  with the FIFO's name appended (no timeout; it dies with the notifier), writes lines
  without ever waiting (a full pipe drops the line and counts it), and at the end stops
  the scripts and removes FIFOs it created.
* :class:`Mailer` sends each alert on its own connection, as keepalived does, driving
  :class:`~pykeepalived.actors.notifier.smtp.SmtpDialogue`; connect and every read are
  bounded by ``smtp_connect_timeout``; failures are logged in keepalived's words and
  counted. A dead or hanging relay costs one pending task per alert, nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import pwd
import socket
import stat
import subprocess
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pykeepalived.actors.notifier import format as fmt
from pykeepalived.actors.notifier.policy import RunScript, Script
from pykeepalived.actors.notifier.smtp import SmtpDialogue
from pykeepalived.actors.script_policy import Result
from pykeepalived.actors.scripts import (
    DEFAULT_UMASK,
    Run,
    ScriptRunner,
    Vetted,
    lookup_group,
    lookup_user,
)

#: seconds a FIFO script gets between SIGTERM and SIGKILL when its FIFO closes
FIFO_STOP_GRACE = 1.0
#: how many finished script runs (and sent mails) are remembered for status and tests
HISTORY = 64
#: at most this many alerts talk to the relay at once; more wait their turn
MAIL_CONCURRENCY = 16
#: alerts waiting or in flight beyond this are dropped (and counted): a dead relay and a
#: flapping instance must not grow memory without bound
MAIL_BACKLOG = 256


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
    run: Run

    @property
    def proc(self) -> subprocess.Popen[bytes]:
        return self.run.proc


@dataclass
class ScriptQueues:
    """Notify scripts in queues: one after the other within a queue, queues side by side.

    The processes are the daemon's one :class:`~pykeepalived.actors.scripts.ScriptRunner`'s.
    """

    runner: ScriptRunner
    vetted: Callable[[Script], Vetted]
    queues: dict[str, deque[RunScript]] = field(default_factory=dict)
    running: dict[str, _Running] = field(default_factory=dict)
    history: deque[Finished] = field(default_factory=lambda: deque(maxlen=HISTORY))
    idle: asyncio.Event = field(default_factory=asyncio.Event)
    on_finish: Callable[[Finished], None] | None = None

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
        name = f"{job.what or 'script'} {job.queue}"
        run = self.runner.start(name, "notify", v, job.extra, job.timeout,
                                lambda r: self._done(job, r))  # fmt: skip
        if run is None:  # refused or not started: _done records it soon
            return False
        self.running[job.queue] = _Running(job, run)
        return True

    def _done(self, job: RunScript, r: Result) -> None:
        if r.pid:  # it ran: its queue may go on
            self.running.pop(job.queue, None)
        self._record(Finished(job.queue, job.what, job.argv, r.pid, r.started, r.ended,
                              r.returncode, r.timed_out, r.error))  # fmt: skip
        if r.pid:
            self._start_next(job.queue)
        elif not self.queues and not self.running:
            self.idle.set()

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

    async def stop(self, grace: float) -> None:
        """Drop what is queued; end what runs (SIGTERM, then SIGKILL after ``grace``)."""
        self.queues.clear()
        await self.runner.stop_all(grace)
        self.idle.set()


# -------------------------------------------------------------------------------- FIFOs


@dataclass
class _FifoScript:
    run: Any = None  # the scripts.Run
    closing: bool = False

    @property
    def pid(self) -> int:
        return int(self.run.pid) if self.run is not None else 0

    @property
    def returncode(self) -> int | None:
        return self.run.proc.returncode if self.run is not None else None


@dataclass
class _Fifo:
    path: str
    fd: int
    created: bool
    script: _FifoScript | None = None


@dataclass
class FifoSet:
    """The open notify FIFOs, by role: ``notify`` (all lines), ``vrrp``, ``lvs``."""

    log: logging.Logger
    counters: Counter[str]
    runner: ScriptRunner | None = None  # runs the FIFO scripts
    fifos: dict[str, _Fifo] = field(default_factory=dict)  # path → fifo
    roles: dict[str, str] = field(default_factory=dict)  # role → path
    umask: int = DEFAULT_UMASK

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
            if proc is not None and self.runner is not None:
                proc.closing = True
                self.runner.terminate(proc.run, FIFO_STOP_GRACE)
            return False
        self.fifos[path] = _Fifo(path, fd, created, proc)
        self.roles[role] = path
        return True

    def _start_script(self, role: str, path: str, v: Vetted) -> _FifoScript | None:
        """Start the FIFO's reader with the FIFO's name appended. It runs as long as the
        notifier does, and no longer (keepalived's PR_SET_PDEATHSIG)."""
        if self.runner is None:
            return None
        holder = _FifoScript()

        def exited(r: Result) -> None:
            if r.pid and not holder.closing:  # it ended on its own: log it, as keepalived
                self.counters["fifo.script_exits"] += 1
                self.log.info("%snotify fifo script terminated", _prefix(role))

        name = f"{_prefix(role)}notify_fifo_script"
        run = self.runner.start(name, "fifo", v, (path,), None, exited)
        if run is None:
            return None
        holder.run = run
        return holder

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
            if fifo.script is not None and self.runner is not None:
                fifo.script.closing = True
                self.runner.terminate(fifo.script.run, FIFO_STOP_GRACE)
            for role in [r for r, p in self.roles.items() if p == path]:
                del self.roles[role]

    def status(self) -> dict[str, str]:
        return dict(self.roles)


def _prefix(role: str) -> str:
    return "" if role == "notify" else f"{role} "


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
