"""Helpers for the reflector's namespace tests: run it in-process inside a lab host.

The reflector works on "the network namespace the process is in" (the daemon joins its
namespace before anything starts). To drive it from a test without a whole daemon, the
test thread joins the lab host's namespace with setns(2) for the duration of the test and
returns to its own afterwards: sockets opened meanwhile and ``/proc/sys/net`` writes all
land in the lab host, never on the machine's own interfaces.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

from pykeepalived.actors.netlink.actor import Reflector
from pykeepalived.bus import messages as M
from tests import lab as lab_mod

CLONE_NEWNET = 0x40000000


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns failed")


@contextlib.contextmanager
def inside(netns: str) -> Iterator[None]:
    """Run the body with this thread in ``/run/netns/<netns>``."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    target = os.open(f"/run/netns/{netns}", os.O_RDONLY | os.O_CLOEXEC)
    try:
        _setns(target)
        try:
            yield
        finally:
            _setns(home)
    finally:
        os.close(target)
        os.close(home)


async def aset(r: Reflector, body: dict[str, Any]) -> dict[str, Any]:
    """``netlink.addresses.set`` on a reflector, body and reply as on the wire."""
    return (await r.addresses_set(M.AddressesSet.from_body(body))).to_body()


class Harness:
    """A reflector with recorded events, run inside a host's namespace."""

    def __init__(self, host: lab_mod.Host, runtime_dir: Path, keep_events: bool = True) -> None:
        self.host = host
        self.keep_events = keep_events
        self.runtime_dir = runtime_dir
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.counters: dict[str, int] = {}
        self.tasks: set[asyncio.Task[Any]] = set()
        self.log = logging.getLogger("pykeepalived.netlink.test")

    def emit(self, msg: M.Event) -> None:
        if self.keep_events:
            self.events.append((msg.TYPE, msg.to_body()))

    def count(self, name: str, n: int = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + n

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def reflector(self, **kw: Any) -> Reflector:
        return Reflector(
            emit=self.emit,
            log=self.log,
            count=self.count,
            spawn=self.spawn,
            runtime_dir=self.runtime_dir,
            **kw,
        )

    def of(self, type_: str) -> list[dict[str, Any]]:
        return [b for t, b in self.events if t == type_]

    async def until(self, pred: Callable[[], bool], timeout: float = 5.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not pred():
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"condition not met; last events {self.events[-10:]}")
            await asyncio.sleep(0.01)

    def ip(self, *args: str) -> str:
        return self.host.run(["ip", *args])


def run(coro: Coroutine[Any, Any, Any], timeout: float = 20.0) -> Any:
    """Run one test coroutine with a hard time limit."""

    async def bounded() -> Any:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())
