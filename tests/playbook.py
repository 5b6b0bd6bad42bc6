"""Playbooks for the pure cores: inputs in, commands out, compared step by step.

A playbook is a script of alternating inputs and the exact commands each one must produce::

    pb = Playbook(lambda now, name, *args: getattr(inst, name)(now, *args))
    pb >> (0.0, "start")
    pb << SetTimer("master_down", 3.6)
    pb >> (3.6, "on_timer", "master_down")
    pb << SendAdvert(100) << Transition(B, M, "timeout")
    assert pb

``>>`` queues an input (a tuple handed to the driver), ``<<`` an expected command of the
input before it. ``assert pb`` (or ``pb.run()``) plays the script: after each input, the
commands it returned must equal the expectations that follow it, in order. A mismatch fails
with a line diff of expected and actual commands; so does a command the script did not
expect, and so does an expectation written after the last input that nothing consumed. A
``keep`` predicate drops commands a playbook is not about (log lines, say) before comparing.
The model is mitmproxy's proxy-layer playbooks.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

Driver = Callable[..., Iterable[Any]]


class PlaybookError(AssertionError):
    """The core did something other than the playbook says."""


@dataclass
class _Step:
    inputs: tuple[Any, ...]
    expected: list[Any] = field(default_factory=list)


class Playbook:
    def __init__(self, driver: Driver, keep: Callable[[Any], bool] | None = None) -> None:
        self.driver = driver
        self.keep = keep
        self.steps: list[_Step] = []
        self.dangling: list[Any] = []  # expectations written before any input
        self.played = 0
        self.history: list[tuple[tuple[Any, ...], list[Any]]] = []

    def __rshift__(self, inputs: Any) -> Playbook:
        self.steps.append(_Step(inputs if isinstance(inputs, tuple) else (inputs,)))
        return self

    def __lshift__(self, command: Any) -> Playbook:
        if not self.steps:
            self.dangling.append(command)
        else:
            self.steps[-1].expected.append(command)
        return self

    def expect(self, *commands: Any) -> Playbook:
        for command in commands:
            self << command
        return self

    def run(self) -> None:
        if self.dangling:
            raise PlaybookError(f"expectations before any input: {self.dangling!r}")
        for index in range(self.played, len(self.steps)):
            step = self.steps[index]
            got = [c for c in self.driver(*step.inputs) if self.keep is None or self.keep(c)]
            self.history.append((step.inputs, got))
            self.played = index + 1
            if got != step.expected:
                raise PlaybookError(self._explain(index, step, got))

    def __bool__(self) -> bool:
        self.run()
        return True

    def _explain(self, index: int, step: _Step, got: Sequence[Any]) -> str:
        want = [repr(c) for c in step.expected]
        have = [repr(c) for c in got]
        diff = "\n".join(difflib.ndiff(want, have))
        missing = len(step.expected) - len(got)
        if got and not step.expected:
            what = "commands nobody expected"
        elif missing > 0 and step.expected[: len(got)] == list(got):
            what = f"{missing} expected command(s) never came"
        else:
            what = "commands differ"
        return (
            f"playbook step {index} {step.inputs!r}: {what}\n"
            f"(- expected, + actual)\n{diff}\n"
            f"earlier steps passed: {[s for s, _ in self.history[:-1]]!r}"
        )
