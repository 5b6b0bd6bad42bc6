"""Tracked objects that move an instance's priority or put it in FAULT (keepalived rules).

Pure bookkeeping; the shell runs the scripts, reads the files and feeds the results in.

* ``vrrp_script``: :class:`ScriptState` applies rise/fall hysteresis to exit codes (0 is
  success; a timeout is a failure). It starts good unless ``init_fail``.
* Weights (:func:`script_effect`, :func:`file_effect`, :func:`interface_effect`):
  weight 0 means "FAULT while bad"; a positive weight is added while good; a negative
  weight is added while bad. ``reverse`` inverts good and bad. A track_file contributes
  ``value x weight`` (negated by ``reverse``); with weight 0 any non-zero value is a fault,
  and a contribution of -254 or less is a fault too, as in keepalived.
* :func:`effective_priority` sums the contributions onto the base priority; the state
  machine clamps the result to 1..254 and never adjusts an owner (255).
"""

from __future__ import annotations

from dataclasses import dataclass

FAULT_FLOOR = -254


@dataclass(slots=True)
class ScriptState:
    """rise/fall hysteresis of one vrrp_script."""

    rise: int = 1
    fall: int = 1
    good: bool = True
    streak: int = 0  # consecutive results that disagree with ``good``

    @classmethod
    def initial(cls, rise: int, fall: int, init_fail: bool) -> ScriptState:
        return cls(max(1, rise), max(1, fall), not init_fail, 0)

    def result(self, success: bool) -> bool:
        """Record one run; return True when the verdict changed."""
        if success == self.good:
            self.streak = 0
            return False
        self.streak += 1
        if self.streak >= (self.rise if success else self.fall):
            self.good, self.streak = success, 0
            return True
        return False


@dataclass(frozen=True, slots=True)
class Effect:
    delta: int = 0
    fault: bool = False


def _weighted(good: bool, weight: int, reverse: bool) -> Effect:
    if reverse:
        good = not good
    if weight == 0:
        return Effect(0, not good)
    if weight > 0:
        return Effect(weight if good else 0)
    return Effect(0 if good else weight)


def script_effect(good: bool, weight: int, reverse: bool = False) -> Effect:
    return _weighted(good, weight, reverse)


def interface_effect(up: bool, weight: int, reverse: bool = False) -> Effect:
    return _weighted(up, weight, reverse)


def file_effect(value: int, weight: int, reverse: bool = False) -> Effect:
    if weight == 0:
        return Effect(0, value != 0)
    delta = value * weight * (-1 if reverse else 1)
    if delta <= FAULT_FLOOR:
        return Effect(0, True)
    return Effect(delta)


def parse_track_file(text: str) -> int:
    """The integer at the start of a track file; unreadable content counts as 0."""
    token = text.strip().split(maxsplit=1)
    try:
        return int(token[0]) if token else 0
    except ValueError:
        return 0


def effective_priority(base: int, effects: list[Effect]) -> tuple[int, bool]:
    """(base + the sum of deltas, whether any tracked object demands FAULT)."""
    return base + sum(e.delta for e in effects), any(e.fault for e in effects)
