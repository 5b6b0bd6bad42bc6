"""The checker decision machine: retry, alpha, warm-up, suspend, reload, with an injected clock."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pykeepalived.actors.checker.fsm import (
    CheckFsm,
    Ignored,
    LogFailure,
    Outcome,
    RunAt,
    Timing,
    Verdict,
    rs_alive,
)

OK = Outcome(True, "ok")
FAIL = Outcome(False, "connection refused")


def verdicts(cmds: list[object]) -> list[Verdict]:
    return [c for c in cmds if isinstance(c, Verdict)]


def run_at(cmds: list[object]) -> float:
    (r,) = [c for c in cmds if isinstance(c, RunAt)]
    return r.at


def attempt(fsm: CheckFsm, now: float, outcome: Outcome) -> list[object]:
    assert fsm.due(now)
    return list(fsm.attempt_done(now, outcome))


def test_starts_up_and_publishes_once_with_warmup_delay() -> None:
    fsm = CheckFsm(Timing(delay_loop=10, warmup=4))
    cmds = fsm.start(100.0, 0.5)
    assert verdicts(cmds) == [Verdict(True, "start", None)]
    assert run_at(cmds) == 102.0  # half of warmup


def test_warmup_zero_checks_at_once() -> None:
    fsm = CheckFsm(Timing(delay_loop=10, warmup=0))
    assert run_at(fsm.start(5.0, 0.9)) == 5.0


def test_alpha_starts_down_and_first_success_brings_it_up() -> None:
    fsm = CheckFsm(Timing(alpha=True, delay_loop=3, warmup=0))
    (v,) = verdicts(fsm.start(0.0, 0.0))
    assert v.up is False and "alpha" in v.reason
    cmds = attempt(fsm, 0.0, OK)
    assert verdicts(cmds) == [Verdict(True, "ok", None)]
    assert run_at(cmds) == 3.0


def test_retry_then_down_with_the_last_reason() -> None:
    fsm = CheckFsm(Timing(delay_loop=5, retry=2, delay_before_retry=1, warmup=0))
    fsm.start(0.0, 0.0)
    c1 = attempt(fsm, 0.0, Outcome(False, "first"))
    assert not verdicts(c1) and run_at(c1) == 1.0
    assert [c for c in c1 if isinstance(c, LogFailure)] == [LogFailure("first", 1, 3)]
    c2 = attempt(fsm, 1.0, Outcome(False, "second"))
    assert not verdicts(c2) and run_at(c2) == 2.0
    c3 = attempt(fsm, 2.0, Outcome(False, "third"))
    assert verdicts(c3) == [Verdict(False, "third", None)]
    assert run_at(c3) == 7.0
    # already down: more failures publish nothing and wait delay_loop
    c4 = attempt(fsm, 7.0, FAIL)
    assert not verdicts(c4) and run_at(c4) == 12.0


def test_success_between_failures_resets_the_retry_count() -> None:
    fsm = CheckFsm(Timing(delay_loop=5, retry=1, delay_before_retry=1, warmup=0))
    fsm.start(0.0, 0.0)
    attempt(fsm, 0.0, FAIL)
    assert not verdicts(attempt(fsm, 1.0, OK))
    assert not verdicts(attempt(fsm, 6.0, FAIL))  # first failure of a new cycle
    assert verdicts(attempt(fsm, 7.0, FAIL))[0].up is False


def test_retry_zero_goes_down_on_the_first_failure() -> None:
    fsm = CheckFsm(Timing(delay_loop=1, retry=0, warmup=0))
    fsm.start(0.0, 0.0)
    assert verdicts(attempt(fsm, 0.0, FAIL)) == [Verdict(False, "connection refused", None)]


def test_weight_change_while_up_is_a_new_verdict() -> None:
    fsm = CheckFsm(Timing(delay_loop=1, retry=0, warmup=0))
    fsm.start(0.0, 0.0)
    assert verdicts(attempt(fsm, 0.0, Outcome(True, "exit 5", 3))) == [Verdict(True, "exit 5", 3)]
    assert not verdicts(attempt(fsm, 1.0, Outcome(True, "exit 5", 3)))
    assert verdicts(attempt(fsm, 2.0, Outcome(True, "exit 0", None))) == [
        Verdict(True, "exit 0", None)
    ]


def test_suspend_stops_attempts_and_resume_checks_at_once() -> None:
    fsm = CheckFsm(Timing(delay_loop=10, warmup=0))
    fsm.start(0.0, 0.0)
    assert fsm.due(0.0)
    fsm.suspend()
    # the in-flight result is ignored, nothing is armed
    assert fsm.attempt_done(0.5, FAIL) == [Ignored("result with no attempt outstanding")]
    assert not fsm.due(1.0)
    assert fsm.up
    assert fsm.resume(20.0) == [RunAt(20.0)]
    assert fsm.resume(21.0) == []


def test_suspended_before_start_publishes_but_does_not_arm() -> None:
    fsm = CheckFsm(Timing(warmup=0))
    fsm.suspend()
    cmds = fsm.start(0.0, 0.0)
    assert len(cmds) == 1 and isinstance(cmds[0], Verdict)


def test_due_twice_without_result_is_refused() -> None:
    fsm = CheckFsm(Timing(warmup=0))
    fsm.start(0.0, 0.0)
    assert fsm.due(0.0)
    assert not fsm.due(0.1)


def test_retime_keeps_the_verdict() -> None:
    fsm = CheckFsm(Timing(delay_loop=5, retry=0, warmup=0))
    fsm.start(0.0, 0.0)
    attempt(fsm, 0.0, FAIL)
    assert not fsm.up
    cmds = fsm.retime(Timing(delay_loop=2, retry=3, warmup=2), 10.0)
    assert cmds == [RunAt(12.0)]
    assert not fsm.up and fsm.timing.retry == 3


def test_rs_alive_needs_every_checker() -> None:
    assert rs_alive([True, True])
    assert not rs_alive([True, False])
    assert rs_alive([])


@settings(deadline=None, max_examples=200)
@given(
    retry=st.integers(0, 4),
    results=st.lists(st.booleans(), min_size=1, max_size=40),
)
def test_down_exactly_after_retry_plus_one_consecutive_failures(
    retry: int, results: list[bool]
) -> None:
    fsm = CheckFsm(Timing(delay_loop=1, retry=retry, delay_before_retry=0.5, warmup=0))
    fsm.start(0.0, 0.0)
    up, streak, now = True, 0, 0.0
    for ok in results:
        now += 1
        cmds = attempt(fsm, now, OK if ok else FAIL)
        if ok:
            streak = 0
            expect_change = not up
            up = True
        else:
            streak += 1
            expect_change = up and streak == retry + 1
            if expect_change:
                up = False
            if not up:
                streak = 0 if expect_change or streak > retry else streak
        assert bool(verdicts(cmds)) == expect_change
        assert fsm.up == up


def test_period_is_start_to_start_and_never_in_the_past() -> None:
    fsm = CheckFsm(Timing(delay_loop=1, retry=0, warmup=0))
    fsm.start(0.0, 0.0)
    # the loop ran the attempt 0.3 s late and it took 0.05 s: the next slot stays at 1.0
    assert fsm.due(0.3)
    assert run_at(fsm.attempt_done(0.35, OK)) == 1.0
    # an attempt that outlasts the period is followed at once, not in the past
    assert fsm.due(1.0)
    assert run_at(fsm.attempt_done(2.5, OK)) == 2.5
    # retries still wait delay_before_retry after the failure
    fsm2 = CheckFsm(Timing(delay_loop=1, retry=1, delay_before_retry=0.4, warmup=0))
    fsm2.start(0.0, 0.0)
    assert fsm2.due(0.0)
    assert run_at(fsm2.attempt_done(0.2, FAIL)) == pytest.approx(0.6)
