"""Pid files with open-file-description write locks, as keepalived's ``-p``/``-r``/``-c``.

A pid file is held for the daemon's whole life by an OFD lock (``F_OFD_SETLK``) on its
open file description. The lock belongs to the description, not to a process, so it
survives the daemonising fork (the description is shared) and vanishes with the last
descriptor, i.e. whenever the daemon dies, even by SIGKILL: a stale file never blocks a
new start, and a second daemon on the same file is refused with the pid of the first.

The parent holds every lock, also for its children's files (``-r`` holds the vrrp child's
pid, ``-c`` the checker child's): a child's restart only rewrites the number.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import struct
from pathlib import Path

# struct flock on Linux/x86-64 and aarch64: short l_type, short l_whence, off_t l_start,
# off_t l_len, pid_t l_pid (must be 0 for OFD locks), padded to 32 bytes
_FLOCK = "hhqqi4x"


class PidFileLocked(RuntimeError):
    """Another live daemon holds the pid file."""

    def __init__(self, path: str, pid: int | None) -> None:
        who = f"pid {pid}" if pid else "another process"
        super().__init__(
            f"daemon is already running: {path} is locked by {who}; stop it first or give "
            "this daemon its own pid files (-p/-r/-c) and its own --runtime-dir"
        )
        self.path = path
        self.pid = pid


def _lock(fd: int) -> None:
    request = struct.pack(_FLOCK, fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
    fcntl.fcntl(fd, fcntl.F_OFD_SETLK, request)


def holder_pid(path: str | Path) -> int | None:
    """The pid of the process holding ``path`` locked, or None when nobody holds it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        query = struct.pack(_FLOCK, fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
        answer = fcntl.fcntl(fd, fcntl.F_OFD_GETLK, query)
        l_type = struct.unpack(_FLOCK, answer)[0]
        if l_type == fcntl.F_UNLCK:
            return None
        return read_pid(path) or -1
    finally:
        os.close(fd)


def read_pid(path: str | Path) -> int | None:
    try:
        text = Path(path).read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


class PidFile:
    """One locked pid file. ``acquire`` before daemonising, ``write`` once the pid is known."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self.fd: int | None = None

    @property
    def held(self) -> bool:
        return self.fd is not None

    def acquire(self) -> None:
        """Open and lock; raise PidFileLocked if a live daemon holds it."""
        if self.fd is not None:
            return
        parent = os.path.dirname(self.path)
        if parent:
            os.makedirs(parent, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            _lock(fd)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                raise PidFileLocked(self.path, read_pid(self.path)) from None
            raise
        self.fd = fd

    def write(self, pid: int) -> None:
        assert self.fd is not None, "acquire() first"
        data = f"{pid}\n".encode()
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, data, 0)

    def clear(self) -> None:
        """Keep the lock but say no process runs (a child between restarts)."""
        if self.fd is not None:
            os.ftruncate(self.fd, 0)

    def release(self) -> None:
        """Remove the file (while still holding the lock, so no one races us) and unlock."""
        if self.fd is None:
            return
        with contextlib.suppress(OSError):
            # only unlink the file we hold: it may have been replaced meanwhile
            if os.stat(self.path).st_ino == os.fstat(self.fd).st_ino:
                os.unlink(self.path)
        os.close(self.fd)
        self.fd = None


def remove_stale(path: str | Path) -> bool:
    """Remove a pid file nobody holds (a subsystem that does not run); True if removed."""
    if holder_pid(path) is not None:
        return False
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    return True
