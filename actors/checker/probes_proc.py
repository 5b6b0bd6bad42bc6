"""Probes that are not network conversations: MISC_CHECK (a forked program) and
FILE_CHECK (a tracked file's value) (I/O).

MISC_CHECK runs the configured program through the daemon's one script runner
(:mod:`pykeepalived.actors.scripts`): vetted once per configuration (whom it runs as,
keepalived's script security), never through a shell unless keepalived would use one,
in its own session and process group, as its user with no other groups, output bounded.
At ``misc_timeout`` (else the ``delay_loop``) its process group gets SIGTERM, SIGKILL two
seconds later, and the attempt fails when the program has gone; whatever it leaves in
its group is killed when it ends. Exit codes: 0 up; with ``misc_dynamic`` 1 is down and
2..255 is up with weight ``status - 2``; without it any non-zero status is down.

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
import signal
import struct
from collections.abc import Callable

from pykeepalived.actors.checker import wire
from pykeepalived.actors.checker.fsm import Outcome
from pykeepalived.actors.checker.probes_net import Done
from pykeepalived.actors.script_policy import Result
from pykeepalived.actors.scripts import Run, ScriptRunner, Vetted

FILE_READ_MAX = 4096


class MiscProbe:
    """One run of a MISC_CHECK program, through the daemon's one script runner."""

    def __init__(
        self,
        runner: ScriptRunner,
        name: str,
        vetted: Vetted,
        timeout: float,
        dynamic: bool = False,
    ) -> None:
        self.runner = runner
        self.name = name
        self.vetted = vetted
        self.timeout = timeout
        self.dynamic = dynamic
        self.run: Run | None = None
        self.done: Done | None = None

    def start(self, done: Done) -> None:
        self.done = done
        self.run = self.runner.start(
            self.name, "misc_check", self.vetted, timeout=self.timeout, on_done=self._finished
        )

    def _finished(self, result: Result) -> None:
        self.run = None
        done, self.done = self.done, None
        if done is not None:
            done(self._judge(result))

    def _judge(self, r: Result) -> Outcome:
        name = os.path.basename(self.vetted.argv[0])
        if r.error is not None:
            return Outcome(False, f"cannot run {self.vetted.argv[0]}: {r.error}")
        if r.timed_out:
            return Outcome(False, f"{name} timed out after {self.timeout:g} s")
        rc = r.returncode if r.returncode is not None else -1
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

    def cancel(self) -> None:
        """Abandon the attempt: the program's group is killed and still reaped."""
        self.done = None
        if self.run is not None:
            self.runner.abandon(self.run)
            self.run = None


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
