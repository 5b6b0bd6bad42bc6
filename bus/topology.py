"""Where the bus's sockets live: ipc:// endpoints under the runtime directory.

``zmq.IPC_PATH_MAX_LEN`` is 107 bytes here, so runtime directories must be short; the
parent refuses a directory whose socket paths would not fit.
"""

from __future__ import annotations

from pathlib import Path

IPC_PATH_MAX = 107

BUS = "bus.sock"  # ROUTER in the parent; one DEALER per child (commands, replies, events in)
EVENTS = "events.sock"  # PUB in the parent; one SUB per child (events out)
TAP = "tap.sock"  # PUB in the parent: every event, for tools (mode 0600)
CONTROL = "control.sock"  # ROUTER in the parent: pykeepalivectl


def endpoint(runtime_dir: str | Path, name: str) -> str:
    path = Path(runtime_dir) / name
    text = str(path)
    if len(text.encode()) > IPC_PATH_MAX:
        raise ValueError(
            f"runtime directory {runtime_dir!s} is too long for a unix socket path "
            f"({len(text.encode())} > {IPC_PATH_MAX} bytes): choose a shorter --runtime-dir"
        )
    return f"ipc://{text}"


def socket_path(runtime_dir: str | Path, name: str) -> Path:
    return Path(runtime_dir) / name
