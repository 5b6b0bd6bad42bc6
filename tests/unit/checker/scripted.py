"""Scripted probes for the checker shell: a test says what each attempt does and when.

The checker shell makes one probe per attempt through ``CheckerActor.probe_factory``;
:func:`scripted_checker` gives a subclass whose factory makes :class:`ScriptedProbe`\\ s
instead, and whose ``ha_suspend`` address test reads a set the test controls. A probe's
behaviour is a step: :class:`Up` or :class:`Down` (after some virtual seconds),
:class:`Timeout` (fails after the check's ``connect_timeout``, as the real probes do),
:class:`Hang` (never reports: a probe bug) or :class:`Boom` (raises in ``start``). Every
attempt's start, end and cancellation is recorded with its virtual time, so a test can
assert keepalived's timing rules to the millisecond without a socket or a sleep.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pykeepalived.actors.checker.actor import CheckerActor
from pykeepalived.actors.checker.fsm import Outcome
from pykeepalived.actors.checker.plan import CheckKey, CheckSpec
from pykeepalived.conf import model as m


@dataclass(frozen=True)
class Up:
    after: float = 0.0
    reason: str = "connected"
    weight: int | None = None


@dataclass(frozen=True)
class Down:
    reason: str = "connection refused"
    after: float = 0.0


@dataclass(frozen=True)
class Timeout:
    """Fails after the check's connect_timeout, with the real TCP probe's reason."""


@dataclass(frozen=True)
class Hang:
    """Never reports (only the shell's stuck-attempt sweep ends it)."""


@dataclass(frozen=True)
class Boom:
    """Raises inside ``start``."""


Step = Up | Down | Timeout | Hang | Boom
#: a real server's script: one step for every attempt, a list (the last step repeats),
#: or a function of the attempt's virtual start time
Script = Step | Sequence[Step] | Callable[[float], Step]


@dataclass
class Attempt:
    key: CheckKey
    started: float
    step: Step
    ended: float | None = None
    outcome: Outcome | None = None
    cancelled_at: float | None = None


@dataclass
class Probes:
    """The probe table of one test: scripts by real server, and a record of attempts."""

    default: Step = field(default_factory=Up)
    scripts: dict[str, Script] = field(default_factory=dict)
    local: set[str] = field(default_factory=set)
    attempts: list[Attempt] = field(default_factory=list)

    def script(self, real_server: str, script: Script) -> None:
        self.scripts[real_server] = list(script) if isinstance(script, Sequence) else script

    def step_for(self, key: CheckKey, now: float) -> Step:
        script = self.scripts.get(key.real_server, self.default)
        if isinstance(script, list):
            return script.pop(0) if len(script) > 1 else script[0]
        if callable(script):
            return script(now)
        return script  # type: ignore[return-value]

    def of(self, real_server: str) -> list[Attempt]:
        return [a for a in self.attempts if a.key.real_server == real_server]

    def starts(self, real_server: str) -> list[float]:
        return [a.started for a in self.of(real_server)]

    def is_local(self, address: str) -> bool:
        return address in self.local


class ScriptedProbe:
    """One attempt, played from the script on the loop's clock."""

    def __init__(self, probes: Probes, loop: asyncio.AbstractEventLoop, spec: CheckSpec) -> None:
        self.probes = probes
        self.loop = loop
        self.spec = spec
        self.handle: asyncio.TimerHandle | None = None
        self.attempt: Attempt | None = None

    def start(self, done: Callable[[Outcome], None]) -> None:
        now = self.loop.time()
        step = self.probes.step_for(self.spec.key, now)
        self.attempt = Attempt(self.spec.key, now, step)
        self.probes.attempts.append(self.attempt)
        if isinstance(step, Boom):
            raise RuntimeError("boom")
        if isinstance(step, Hang):
            return
        if isinstance(step, Timeout):
            t = self.spec.target.connect_timeout
            delay, outcome = t, Outcome(False, f"connect timed out after {t:g} s")
        elif isinstance(step, Up):
            delay, outcome = step.after, Outcome(True, step.reason, step.weight)
        else:
            delay, outcome = step.after, Outcome(False, step.reason)
        self.handle = self.loop.call_at(now + delay, self._finish, done, outcome)

    def _finish(self, done: Callable[[Outcome], None], outcome: Outcome) -> None:
        assert self.attempt is not None
        self.attempt.ended = self.loop.time()
        self.attempt.outcome = outcome
        done(outcome)

    def cancel(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
        if self.attempt is not None and self.attempt.ended is None:
            self.attempt.cancelled_at = self.loop.time()


class ReadyChecker(CheckerActor):
    """The real checker shell, telling the test when its setup has finished."""

    set_up = False

    async def setup(self) -> None:
        await super().setup()
        self.set_up = True


def scripted_checker(probes: Probes) -> type[CheckerActor]:
    """A CheckerActor whose probes and address test come from ``probes``."""

    class ScriptedChecker(ReadyChecker):
        address_test = staticmethod(probes.is_local)

        def probe_factory(self, spec: CheckSpec, config: m.Config) -> Any:
            loop = self.loop
            return lambda: ScriptedProbe(probes, loop, spec)

    return ScriptedChecker


def is_set_up(actor: Any) -> bool:
    return bool(actor.set_up)
