"""The checker decision machine: retry, alpha, warm-up, suspend, reload, with an injected clock."""

from __future__ import annotations

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


def started_up(timing: Timing) -> CheckFsm:
    """A machine whose first (decisive) attempt succeeded at 0, next due at delay_loop."""
    fsm = CheckFsm(timing)
    fsm.start(0.0, 0.0)
    attempt(fsm, 0.0, OK)
    return fsm


def test_the_first_attempt_is_decisive_without_retries() -> None:
    """keepalived 2.2.7: a server failing its very first check is down at once."""
    fsm = CheckFsm(Timing(delay_loop=10, retry=2, delay_before_retry=1, warmup=0))
    fsm.start(0.0, 0.0)
    assert fsm.due(0.0)
    cmds = fsm.attempt_done(3.0, Outcome(False, "timed out"))
    assert verdicts(cmds) == [Verdict(False, "timed out", None)]
    assert run_at(cmds) == 13.0  # delay_loop after the attempt ended


def test_a_check_added_by_a_reload_retries_its_first_failure() -> None:
    """keepalived 2.2.7 (measured): the decisive first attempt is a daemon-start rule."""
    fsm = CheckFsm(Timing(delay_loop=10, retry=1, delay_before_retry=1, warmup=0),
                   first_is_decisive=False)  # fmt: skip
    fsm.start(0.0, 0.0)
    assert not verdicts(attempt(fsm, 0.0, FAIL))
    assert verdicts(attempt(fsm, 1.0, FAIL)) == [Verdict(False, "connection refused", None)]


def test_retry_then_down_with_the_last_reason() -> None:
    fsm = started_up(Timing(delay_loop=5, retry=2, delay_before_retry=1, warmup=0))
    c1 = attempt(fsm, 5.0, Outcome(False, "first"))
    assert not verdicts(c1) and run_at(c1) == 6.0
    assert [c for c in c1 if isinstance(c, LogFailure)] == [LogFailure("first", 1, 3)]
    c2 = attempt(fsm, 6.0, Outcome(False, "second"))
    assert not verdicts(c2) and run_at(c2) == 7.0
    c3 = attempt(fsm, 7.0, Outcome(False, "third"))
    assert verdicts(c3) == [Verdict(False, "third", None)]
    assert run_at(c3) == 12.0


def test_tcp_check_runs_the_retry_cycle_while_down_too() -> None:
    """TCP_CHECK down: each cycle is still retry + 1 attempts delay_before_retry apart,
    then delay_loop; nothing new is published, and a success in mid-cycle is up at once."""
    fsm = CheckFsm(
        Timing(delay_loop=5, retry=2, delay_before_retry=1, warmup=0, retry_while_down=True)
    )
    fsm.start(0.0, 0.0)
    attempt(fsm, 0.0, FAIL)  # first attempt: down at once, next at 5
    times = []
    now = 5.0
    for _ in range(6):
        cmds = attempt(fsm, now, FAIL)
        assert not verdicts(cmds)
        now = run_at(cmds)
        times.append(now)
    assert times == [6.0, 7.0, 12.0, 13.0, 14.0, 19.0]
    assert fsm.failures == 0
    attempt(fsm, 19.0, FAIL)
    assert verdicts(attempt(fsm, 20.0, OK)) == [Verdict(True, "ok", None)]
    assert fsm.failures == 0


def test_other_checkers_do_not_retry_while_down() -> None:
    fsm = CheckFsm(Timing(delay_loop=5, retry=2, delay_before_retry=1, warmup=0))
    fsm.start(0.0, 0.0)
    attempt(fsm, 0.0, FAIL)
    cmds = attempt(fsm, 5.0, FAIL)
    assert not verdicts(cmds) and run_at(cmds) == 10.0
    assert [c for c in cmds if isinstance(c, LogFailure)] == [
        LogFailure("connection refused", 1, 1)
    ]


def test_misc_check_counts_its_delays_from_the_start_of_the_attempt() -> None:
    fsm = CheckFsm(Timing(delay_loop=10, retry=1, delay_before_retry=2, warmup=0, from_start=True))
    fsm.start(0.0, 0.0)
    assert fsm.due(0.0)
    assert run_at(fsm.attempt_done(3.0, OK)) == 10.0  # a 3 s script: still every 10 s
    assert fsm.due(10.0)
    assert run_at(fsm.attempt_done(11.0, FAIL)) == 12.0  # retry 2 s after it started
    assert fsm.due(12.0)
    assert run_at(fsm.attempt_done(25.0, FAIL)) == 25.0  # overran: at once, not the past


def test_success_between_failures_resets_the_retry_count() -> None:
    fsm = started_up(Timing(delay_loop=5, retry=1, delay_before_retry=1, warmup=0))
    attempt(fsm, 5.0, FAIL)
    assert not verdicts(attempt(fsm, 6.0, OK))
    assert not verdicts(attempt(fsm, 11.0, FAIL))  # first failure of a new cycle
    assert verdicts(attempt(fsm, 12.0, FAIL))[0].up is False


def test_retry_zero_goes_down_on_the_first_failure() -> None:
    fsm = started_up(Timing(delay_loop=1, retry=0, warmup=0))
    assert verdicts(attempt(fsm, 1.0, FAIL)) == [Verdict(False, "connection refused", None)]


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


@settings(deadline=None, max_examples=300)
@given(
    retry=st.integers(0, 4),
    results=st.lists(st.booleans(), min_size=1, max_size=40),
    while_down=st.booleans(),
)
def test_down_exactly_after_retry_plus_one_consecutive_failures(
    retry: int, results: list[bool], while_down: bool
) -> None:
    """A model of the rule: the first result decides alone; later, a down verdict needs
    retry + 1 consecutive failures while up; a failed cycle is retry + 1 attempts (while
    down only with retry_while_down, else one), then delay_loop."""
    timing = Timing(
        delay_loop=10, retry=retry, delay_before_retry=1, warmup=0, retry_while_down=while_down
    )
    fsm = CheckFsm(timing)
    fsm.start(0.0, 0.0)
    up, streak, now, first = True, 0, 0.0, True
    for ok in results:
        cmds = attempt(fsm, now, OK if ok else FAIL)
        if ok:
            expect_change, up, streak, delay = not up, True, 0, 10.0
        elif first or streak >= retry or not (up or while_down):
            expect_change, up, streak, delay = up, False, 0, 10.0
        else:
            expect_change, streak, delay = False, streak + 1, 1.0
        first = False
        assert bool(verdicts(cmds)) == expect_change
        assert fsm.up == up
        assert run_at(cmds) == now + delay
        now += delay


def test_delays_count_from_the_end_of_the_attempt() -> None:
    """keepalived 2.2.7 re-arms from the moment an attempt ends, so a slow check or a
    timeout stretches the period (measured: see test_timing_interop.py)."""
    fsm = CheckFsm(Timing(delay_loop=10, retry=2, delay_before_retry=1, warmup=0))
    fsm.start(0.0, 0.0)
    assert fsm.due(0.0)
    assert run_at(fsm.attempt_done(2.0, OK)) == 12.0  # a 2 s success: next at 2 + 10
    assert fsm.due(12.0)
    assert run_at(fsm.attempt_done(15.0, FAIL)) == 16.0  # timed out at 15: retry at 16
    assert fsm.due(16.0)
    assert run_at(fsm.attempt_done(19.0, FAIL)) == 20.0
    assert fsm.due(20.0)
    cmds = fsm.attempt_done(23.0, FAIL)
    assert verdicts(cmds) == [Verdict(False, "connection refused", None)]
    assert run_at(cmds) == 33.0  # delay_loop after the last retry ENDED (not 30)
