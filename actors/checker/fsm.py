"""The health-check decision machine: attempts in, verdicts and timers out (pure).

One :class:`CheckFsm` per checker per real server. It owns keepalived's decision
semantics and nothing else: no sockets, no clock (``now`` is an argument, the random
warm-up fraction too), no processes. The shell feeds it events and carries out the
commands it returns.

Semantics (keepalived 2.2.7's, as observed on the wire in the namespace lab, see
``tests/integration/checker/test_timing_interop.py``):

* A checker starts **up**, or **down** with ``alpha``; that first verdict is published
  at start ("once at start").
* The first attempt runs after a random delay in ``[0, warmup]`` (``warmup 0``: at once).
* The **first** attempt's result is decisive on its own: a failure is a down verdict at
  once, without retries (keepalived's "has not run yet" rule), a success is up. Only at
  daemon start: a check added by a reload (``first_is_decisive=False``) retries as usual.
* Every later delay counts from the moment an attempt **ends** (success, failure or
  timeout), never from when it started: ``delay_loop`` after a success or after the last
  attempt of a failed cycle, ``delay_before_retry`` after a failure with retries left.
  So a slow check or a timeout stretches the period by its own duration. The exception
  is MISC_CHECK (``Timing.from_start``): keepalived counts its delays from the moment
  the script was launched, and never schedules in the past.
* A success makes an up verdict at once (rise is one success) and clears the retry
  count. A failure with fewer than ``retry`` failures counted is retried; the
  ``retry + 1``-th consecutive failure ends the cycle: the verdict is down (when up) and
  the next attempt waits ``delay_loop``. The reason of a down verdict is the last
  failure's reason.
* While **down**, most checkers do not retry: a failure waits ``delay_loop``. TCP_CHECK
  (``Timing.retry_while_down``) runs its retry cycle while down too: ``retry + 1``
  attempts ``delay_before_retry`` apart, then ``delay_loop`` (publishing nothing new).
* While suspended (``ha_suspend``: the virtual address is not local) no attempt runs
  and the verdict stays as it was; resuming schedules an attempt at once.
* A weight (MISC_CHECK ``misc_dynamic``, FILE_CHECK) travels with the verdict; a change
  of weight while up is a new verdict too.

Design note: the machine never looks at how long an attempt took; the shell enforces
timeouts and reports them as failed attempts with a reason. An attempt result that
arrives while no attempt is outstanding (a stale result after a reload or a suspend) is
ignored and counted by the shell through the returned :class:`Ignored` command.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Timing:
    """The scheduling options of one checker, already resolved (checker → RS → VS)."""

    delay_loop: float = 60.0
    retry: int = 1
    delay_before_retry: float = 1.0
    warmup: float = 60.0
    alpha: bool = False
    log_all_failures: bool = False
    #: TCP_CHECK: a down server gets the whole retry cycle too (the others: one attempt)
    retry_while_down: bool = False
    #: MISC_CHECK: delays count from the attempt's start, not its end
    from_start: bool = False


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of one attempt, as a probe reports it."""

    ok: bool
    reason: str
    weight: int | None = None


# ---- commands --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Verdict:
    """Publish this verdict (it differs from the last one published)."""

    up: bool
    reason: str
    weight: int | None


@dataclass(frozen=True, slots=True)
class RunAt:
    """Run the next attempt at monotonic time ``at`` (replaces any earlier timer)."""

    at: float


@dataclass(frozen=True, slots=True)
class LogFailure:
    """An attempt failed without changing the verdict (logged with ``log_all_failures``)."""

    reason: str
    attempt: int
    of: int


@dataclass(frozen=True, slots=True)
class Ignored:
    """An input arrived that the current state has no use for (counted by the shell)."""

    why: str


Command = Verdict | RunAt | LogFailure | Ignored


class CheckFsm:
    """keepalived's retry / alpha / warm-up logic for one checker."""

    __slots__ = (
        "attempting",
        "attempts",
        "failures",
        "has_run",
        "last_attempt_at",
        "last_reason",
        "next_at",
        "reason",
        "started_at",
        "suspended",
        "timing",
        "up",
        "weight",
    )

    def __init__(self, timing: Timing, *, first_is_decisive: bool = True) -> None:
        self.timing = timing
        self.up = not timing.alpha
        self.reason = "alpha: down until the first successful check" if timing.alpha else "start"
        self.weight: int | None = None
        self.failures = 0  # consecutive failed attempts in the current retry cycle
        self.attempting = False
        self.suspended = False
        self.next_at: float | None = None
        self.attempts = 0
        self.last_attempt_at: float | None = None
        # no attempt has completed yet: the first one is decisive (at daemon start only)
        self.has_run = not first_is_decisive
        self.started_at = 0.0  # when the attempt in flight started
        self.last_reason = ""

    # ---- inputs ------------------------------------------------------------------------
    def start(self, now: float, rand01: float) -> list[Command]:
        """The checker comes into existence: publish its first verdict, arm the warm-up."""
        delay = max(0.0, self.timing.warmup) * min(max(rand01, 0.0), 1.0)
        cmds: list[Command] = [Verdict(self.up, self.reason, self.weight)]
        if not self.suspended:
            cmds.append(self._arm(now + delay))
        return cmds

    def due(self, now: float) -> bool:
        """The timer fired: True when an attempt should start now (the shell starts it)."""
        if self.suspended or self.attempting:
            return False
        self.attempting = True
        self.started_at = now
        self.next_at = None
        self.attempts += 1
        self.last_attempt_at = now
        return True

    def attempt_done(self, now: float, outcome: Outcome) -> list[Command]:
        """An attempt finished (success, failure or timeout, all as an Outcome)."""
        if not self.attempting:
            return [Ignored("result with no attempt outstanding")]
        self.attempting = False
        self.last_reason = outcome.reason
        if self.suspended:
            return [Ignored("result while suspended")]
        first, self.has_run = not self.has_run, True
        if outcome.ok:
            return self._succeeded(now, outcome)
        return self._failed(now, outcome, first)

    def suspend(self) -> list[Command]:
        """ha_suspend: the virtual address went away. Attempts stop; the verdict stays."""
        if self.suspended:
            return []
        self.suspended = True
        self.attempting = False
        self.failures = 0
        self.next_at = None
        return []

    def resume(self, now: float) -> list[Command]:
        """ha_suspend: the virtual address is local again; check at once."""
        if not self.suspended:
            return []
        self.suspended = False
        return [self._arm(now)]

    def retime(self, timing: Timing, now: float) -> list[Command]:
        """A reload changed this checker's options: keep the verdict, restart the cycle."""
        self.timing = timing
        self.failures = 0
        if self.suspended or self.attempting:
            return []
        return [self._arm(now + min(timing.delay_loop, max(0.0, timing.warmup)))]

    # ---- helpers -----------------------------------------------------------------------
    def _succeeded(self, now: float, outcome: Outcome) -> list[Command]:
        """Up at once; the next attempt ``delay_loop`` after this one ended."""
        self.failures = 0
        cmds: list[Command] = []
        if not self.up or outcome.weight != self.weight:
            self.up = True
            self.reason = outcome.reason
            self.weight = outcome.weight
            cmds.append(Verdict(True, outcome.reason, outcome.weight))
        cmds.append(self._arm(self._after(now, self.timing.delay_loop)))
        return cmds

    def _failed(self, now: float, outcome: Outcome, first: bool) -> list[Command]:
        """Retry ``delay_before_retry`` later while retries are left (when up, or down
        with ``retry_while_down``); else end the cycle: down, next in ``delay_loop``."""
        t = self.timing
        retrying = self.up or t.retry_while_down
        if not first and retrying and self.failures < t.retry:
            self.failures += 1
            return [
                LogFailure(outcome.reason, self.failures, t.retry + 1),
                self._arm(self._after(now, t.delay_before_retry)),
            ]
        self.failures = 0
        nxt = self._arm(self._after(now, t.delay_loop))
        if not self.up:
            of = t.retry + 1 if retrying and not first else 1
            return [LogFailure(outcome.reason, of, of), nxt]
        self.up = False
        self.reason = outcome.reason
        self.weight = outcome.weight
        return [Verdict(False, outcome.reason, outcome.weight), nxt]

    def _after(self, now: float, delay: float) -> float:
        """``delay`` after the attempt ended, or after it started with ``from_start``
        (then never in the past)."""
        if self.timing.from_start:
            return max(now, self.started_at + delay)
        return now + delay

    def _arm(self, at: float) -> RunAt:
        self.next_at = at
        return RunAt(at)

    def snapshot(self) -> dict[str, object]:
        return {
            "up": self.up,
            "reason": self.reason,
            "weight": self.weight,
            "failures": self.failures,
            "attempts": self.attempts,
            "suspended": self.suspended,
            "last_reason": self.last_reason,
        }


def rs_alive(verdicts: list[bool]) -> bool:
    """A real server is alive only when every one of its checkers is up (none: always up)."""
    return all(verdicts)
