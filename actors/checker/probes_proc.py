"""Probes that are not network conversations: MISC_CHECK (a forked program) and
FILE_CHECK (a tracked file's value) (I/O).

MISC_CHECK forks the configured argv (never through a shell) in its own session, with
stdin/stdout/stderr on /dev/null and as the configured user/group. The exit is noticed
through a pidfd on the actor's loop (``os.pidfd_open`` + ``loop.add_reader``), so no child
watcher thread is involved. At ``misc_timeout`` the attempt fails at once; the program's
process group gets SIGTERM, and SIGKILL two seconds later if it is still there, and it
is reaped when it goes. Exit codes: 0 up; with ``misc_dynamic`` 1 is down and 2..255 is
up with weight ``status - 2``; without it any non-zero status is down.

FILE_CHECK reads the tracked file (a few bytes) at each attempt and applies
:func:`pykeepalived.actors.checker.wire.file_verdict`. Like keepalived, which watches
tracked files with inotify, a :class:`FileWatch` on the files' directories makes the
shell run the attempt as soon as a file is written, renamed into place or removed; the
``delay_loop`` attempts remain as a safety net.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import pwd
import signal
import struct
import subprocess
from collections.abc import Callable

from pykeepalived.actors.checker import wire
from pykeepalived.actors.checker.fsm import Outcome
from pykeepalived.actors.checker.probes_net import Done

KILL_GRACE = 2.0
FILE_READ_MAX = 4096


class MiscProbe:
    """One run of a MISC_CHECK program."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        argv: tuple[str, ...],
        timeout: float,
        dynamic: bool = False,
        user: str | None = None,
        group: str | None = None,
    ) -> None:
        self.loop = loop
        self.argv = argv
        self.timeout = timeout
        self.dynamic = dynamic
        self.user = user
        self.group = group
        self.proc: subprocess.Popen[bytes] | None = None
        self.pidfd = -1
        self.timer: asyncio.TimerHandle | None = None
        self.kill_timer: asyncio.TimerHandle | None = None
        self.done: Done | None = None

    def start(self, done: Done) -> None:
        self.done = done
        if not self.argv:
            self._report(Outcome(False, "MISC_CHECK has no misc_path"), soon=True)
            return
        try:
            group: str | int | None = self.group
            extra: list[int] | None = None
            if self.user is not None:
                # the user's own primary group unless one is given, and no inherited
                # supplementary groups (the daemon's are root's)
                if group is None:
                    group = pwd.getpwnam(self.user).pw_gid
                extra = []
            self.proc = subprocess.Popen(
                list(self.argv),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                close_fds=True,
                user=self.user,
                group=group,
                extra_groups=extra,
            )
        except (OSError, ValueError, KeyError, subprocess.SubprocessError) as exc:
            self._report(Outcome(False, f"cannot run {self.argv[0]}: {exc}"), soon=True)
            return
        try:
            self.pidfd = os.pidfd_open(self.proc.pid)
        except OSError:
            self.pidfd = -1
        if self.pidfd >= 0:
            self.loop.add_reader(self.pidfd, self._exited)
        else:  # pragma: no cover - kernels before 5.3
            self._poll_exit()
        self.timer = self.loop.call_at(self.loop.time() + self.timeout, self._timed_out)

    def _poll_exit(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.loop.call_later(0.05, self._poll_exit)
        else:
            self._exited()

    def _exited(self) -> None:
        assert self.proc is not None
        if self.proc.poll() is None:
            return  # spurious wake-up
        self._reap_fd()
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.kill_timer is not None:
            self.kill_timer.cancel()
            self.kill_timer = None
        self._report(self._judge(self.proc.returncode))

    def _judge(self, rc: int) -> Outcome:
        name = os.path.basename(self.argv[0])
        if rc < 0:
            try:
                sig = signal.Signals(-rc).name
            except ValueError:
                sig = str(-rc)
            return Outcome(False, f"{name} killed by {sig}")
        if rc == 0:
            return Outcome(True, f"{name} exited 0", None)
        if self.dynamic and rc >= 2:
            return Outcome(True, f"{name} exited {rc}: weight {rc - 2}", rc - 2)
        return Outcome(False, f"{name} exited {rc}")

    def _timed_out(self) -> None:
        self.timer = None
        self._signal(signal.SIGTERM)
        self.kill_timer = self.loop.call_later(KILL_GRACE, self._signal, signal.SIGKILL)
        self._report(
            Outcome(False, f"{os.path.basename(self.argv[0])} timed out after {self.timeout:g} s")
        )

    def _signal(self, sig: int) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def _reap_fd(self) -> None:
        if self.pidfd >= 0:
            self.loop.remove_reader(self.pidfd)
            os.close(self.pidfd)
            self.pidfd = -1

    def _report(self, outcome: Outcome, soon: bool = False) -> None:
        done, self.done = self.done, None
        if done is None:
            return
        if soon:
            self.loop.call_soon(done, outcome)
        else:
            done(outcome)

    def cancel(self) -> None:
        """Abandon the attempt: the program is killed and still reaped (no zombie)."""
        self.done = None
        if self.proc is not None and self.proc.returncode is None:
            self._signal(signal.SIGKILL)
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


class FileProbe:
    """FILE_CHECK: the tracked file's value decides up/down and the weight."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        path: str,
        weight: int,
        reverse: bool,
        rs_weight: int,
    ) -> None:
        self.loop = loop
        self.path = path
        self.weight = weight
        self.reverse = reverse
        self.rs_weight = rs_weight
        self.handle: asyncio.Handle | None = None

    def start(self, done: Done) -> None:
        self.handle = self.loop.call_soon(done, self.read())

    def read(self) -> Outcome:
        try:
            with open(self.path, "rb") as fh:
                text = fh.read(FILE_READ_MAX).decode("ascii", "replace")
        except OSError as exc:
            return Outcome(False, f"cannot read {self.path}: {exc.strerror}")
        try:
            value = wire.parse_file_value(text)
        except ValueError as exc:
            return Outcome(False, f"{self.path}: {exc}")
        up, weight = wire.file_verdict(value, self.weight, self.reverse, self.rs_weight)
        return Outcome(up, f"{self.path} holds {value}", weight)

    def cancel(self) -> None:
        if self.handle is not None:
            self.handle.cancel()


IN_CLOSE_WRITE = 0x008
IN_MOVED_TO = 0x080
IN_CREATE = 0x100
IN_DELETE = 0x200
IN_Q_OVERFLOW = 0x4000
_EVENT = struct.Struct("iIII")


class FileWatch:
    """inotify on the directories of tracked files; ``on_change(path)`` for each event."""

    MASK = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE

    def __init__(self, loop: asyncio.AbstractEventLoop, on_change: Callable[[str], None]) -> None:
        self.loop = loop
        self.on_change = on_change
        self._libc = ctypes.CDLL(None, use_errno=True)
        fd = self._libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
        self.fd: int = fd
        self.dirs: dict[int, str] = {}
        loop.add_reader(fd, self._read)

    def watch(self, path: str) -> None:
        directory = os.path.dirname(os.path.abspath(path))
        if directory in self.dirs.values():
            return
        wd = self._libc.inotify_add_watch(self.fd, directory.encode(), self.MASK)
        if wd < 0:
            err = ctypes.get_errno()
            raise OSError(err, f"cannot watch {directory}: {os.strerror(err)}")
        self.dirs[wd] = directory

    def _read(self) -> None:
        try:
            data = os.read(self.fd, 65536)
        except BlockingIOError:
            return
        pos = 0
        while pos + _EVENT.size <= len(data):
            wd, mask, _cookie, length = _EVENT.unpack_from(data, pos)
            name = data[pos + _EVENT.size : pos + _EVENT.size + length].rstrip(b"\0")
            pos += _EVENT.size + length
            directory = self.dirs.get(wd)
            if mask & IN_Q_OVERFLOW:
                for d in self.dirs.values():
                    self.on_change(d + "/")
            elif directory is not None and name:
                self.on_change(os.path.join(directory, os.fsdecode(name)))

    def close(self) -> None:
        if self.fd >= 0:
            self.loop.remove_reader(self.fd)
            os.close(self.fd)
            self.fd = -1
