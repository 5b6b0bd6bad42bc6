"""``-s/--namespace``: move the whole daemon into a named network namespace before it starts."""

from __future__ import annotations

import ctypes
import os

CLONE_NEWNET = 0x40000000


def enter_namespace(name: str) -> None:
    """Join ``/run/netns/NAME`` (as created by ``ip netns add``); exit code 1 on failure."""
    path = f"/run/netns/{name}"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise SystemExit(
            f"pykeepalived: cannot open network namespace {name!r} ({path}): {exc.strerror}"
        ) from exc
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise SystemExit(
                f"pykeepalived: cannot enter network namespace {name!r}: {os.strerror(err)}"
            )
    finally:
        os.close(fd)
