"""systemd's notify protocol (``sd_notify``) for the parent, without libsystemd.

When systemd starts the daemon with ``Type=notify`` it puts a datagram socket's path in
``NOTIFY_SOCKET`` (a leading ``@`` means the abstract namespace). The parent sends
newline-separated ``KEY=value`` datagrams: ``READY=1`` once every child has answered its
first hello, ``RELOADING=1`` (with ``MONOTONIC_USEC``, as ``Type=notify-reload`` wants)
while a SIGHUP reload runs and ``READY=1`` after it, ``STOPPING=1`` at the start of an
orderly stop, and ``STATUS=`` lines for ``systemctl status``.

``WATCHDOG_USEC`` (with ``WATCHDOG_PID`` naming us, or absent) asks for ``WATCHDOG=1``
at least that often; the parent pings at half the period from its own event loop, so a
stalled loop stops the pings and systemd restarts the service.

The variables are removed from the environment once read, so children, notify scripts
and the config-parsing process never talk to systemd in the daemon's name.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import MutableMapping

ENV_KEYS = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")


def parse_address(value: str) -> str | bytes:
    """``@name`` → the abstract socket ``\\0name``; anything else is a filesystem path."""
    if value.startswith("@"):
        return b"\0" + value[1:].encode()
    return value


def watchdog_period(env: MutableMapping[str, str], pid: int) -> float | None:
    """Seconds between WATCHDOG=1 pings (half of WATCHDOG_USEC), or None when not asked."""
    usec = env.get("WATCHDOG_USEC", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    wanted_pid = env.get("WATCHDOG_PID", "")
    if wanted_pid and (not wanted_pid.isdigit() or int(wanted_pid) != pid):
        return None
    return int(usec) / 2_000_000


def format_message(**fields: str | int) -> bytes:
    """``format_message(READY=1, STATUS="x")`` → ``b"READY=1\\nSTATUS=x"``."""
    lines = []
    for key, value in fields.items():
        text = str(value)
        if "\n" in text:
            raise ValueError(f"sd_notify value for {key} contains a newline")
        lines.append(f"{key}={text}")
    return "\n".join(lines).encode()


class SdNotifier:
    """Sends notifications when systemd asked for them; a no-op otherwise."""

    def __init__(self, address: str | bytes | None, watchdog: float | None = None) -> None:
        self.address = address
        self.watchdog = watchdog
        self.sent: int = 0
        self.errors: int = 0
        self._sock: socket.socket | None = None
        if address is not None:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)

    @classmethod
    def from_environment(cls, env: MutableMapping[str, str] | None = None) -> SdNotifier:
        """Read (and remove) NOTIFY_SOCKET / WATCHDOG_USEC / WATCHDOG_PID."""
        env = os.environ if env is None else env
        raw = env.get("NOTIFY_SOCKET", "")
        period = watchdog_period(env, os.getpid())
        for key in ENV_KEYS:
            env.pop(key, None)
        if not raw:
            return cls(None)
        return cls(parse_address(raw), period)

    @property
    def enabled(self) -> bool:
        return self._sock is not None

    def notify(self, **fields: str | int) -> bool:
        if self._sock is None or self.address is None:
            return False
        try:
            self._sock.sendto(format_message(**fields), self.address)
        except OSError:
            self.errors += 1
            return False
        self.sent += 1
        return True

    def ready(self, status: str) -> bool:
        return self.notify(READY=1, STATUS=status, MAINPID=os.getpid())

    def reloading(self) -> bool:
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        return self.notify(RELOADING=1, STATUS="Reloading configuration", MONOTONIC_USEC=usec)

    def stopping(self) -> bool:
        return self.notify(STOPPING=1, STATUS="Stopping")

    def ping(self) -> bool:
        return self.notify(WATCHDOG=1)

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None
