"""When each bus event arrived, on the loop's clock: a tap port on an InMemoryBus.

``bus.log`` keeps envelopes but their ``ts`` is wall time; shell tests on the virtual clock
want the *virtual* moment a verdict or an ``lb.*`` event was published. A
:class:`Timeline` subscribes like any actor and stamps each event with ``loop.time()``
as it is delivered (delivery is immediate on the in-memory bus, so the stamp is the
moment of publishing). Create it before the shell starts to see the start-up burst.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from pykeepalived.bus.envelope import Envelope
from pykeepalived.bus.testing import InMemoryBus


class Timeline:
    def __init__(self, bus: InMemoryBus, prefixes: Iterable[str], name: str = "timeline") -> None:
        self.port = bus.client(name, prefixes)
        self.seen: list[tuple[float, Envelope]] = []
        self._task = asyncio.get_running_loop().create_task(self._collect())

    async def _collect(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            env = await self.port.recv_event()
            if env is not None:
                self.seen.append((loop.time(), env))

    def of(self, type_: str) -> list[tuple[float, dict[str, Any]]]:
        """``(virtual time, body)`` of every event of ``type_``, in arrival order."""
        return [(t, env.body) for t, env in self.seen if env.type == type_]

    def close(self) -> None:
        self._task.cancel()
