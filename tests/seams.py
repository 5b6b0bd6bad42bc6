"""Running one actor shell on the in-memory bus and the virtual clock, for shell unit tests.

``ShellRun`` starts an actor exactly as ``child_main`` does after the fork — constructor,
bus port, ``_serve`` — but on an :class:`~pykeepalived.bus.testing.InMemoryBus`, so a test
plays the other actors with peers and reads what the shell published from ``bus.log``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pykeepalived.actors.base import Actor, Options
from pykeepalived.bus.testing import InMemoryBus, Peer, wait_until


class ShellRun:
    def __init__(self, actor: Actor, bus: InMemoryBus, task: asyncio.Task[None]) -> None:
        self.actor = actor
        self.bus = bus
        self.task = task
        self.tester: Peer = bus.peer("parent")

    async def command(
        self, command: str, body: dict[str, Any] | None = None, timeout: float = 5.0
    ) -> dict[str, Any]:
        """Send a command as the parent would and return the reply body."""
        port = self.tester.port
        msg_id = len(self.bus.log) + 1_000_000
        port.send(port.envelope(f"cmd.{command}", body or {}, to=self.actor.name, id_=msg_id))

        def reply() -> Any:
            return next((e for e in self.bus.log if e.is_reply and e.id == msg_id), None)

        env = await wait_until(reply, timeout, what=f"reply to {command}")
        return dict(env.body)

    def publish(self, type_: str, body: dict[str, Any]) -> None:
        """An event from another actor (it reaches the shell if it subscribes to it)."""
        self.tester.publish(type_, body)

    async def stop(self) -> None:
        self.actor.request_stop()
        await asyncio.wait_for(self.task, 15)
        self.bus.close()


async def start_shell(
    cls: type[Actor],
    config: Any,
    bus: InMemoryBus | None = None,
    options: Options | None = None,
    ready: Any = None,
) -> ShellRun:
    """Construct ``cls`` on the running loop, connect it to ``bus`` and run its ``_serve``."""
    bus = bus or InMemoryBus()
    actor = cls(config, options or Options(runtime_dir="/nonexistent", host="testhost"))
    actor.bus = bus.client(cls.name, cls.subscriptions, actor.counters)
    task = asyncio.get_running_loop().create_task(actor._serve())
    run = ShellRun(actor, bus, task)
    if ready is not None:
        await wait_until(lambda: ready(actor), 30, what="shell ready")
    return run
