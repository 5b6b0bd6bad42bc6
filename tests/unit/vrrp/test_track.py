"""Tracker bookkeeping: script hysteresis and keepalived's weight rules."""

from __future__ import annotations

from pykeepalived.actors.vrrp.track import (
    Effect,
    ScriptState,
    effective_priority,
    file_effect,
    interface_effect,
    parse_track_file,
    script_effect,
)


def test_rise_and_fall_hysteresis() -> None:
    st = ScriptState.initial(rise=2, fall=3, init_fail=False)
    assert st.good
    assert [st.result(False) for _ in range(3)] == [False, False, True] and not st.good
    assert st.result(True) is False and st.result(False) is False  # streak broken
    assert [st.result(True) for _ in range(2)] == [False, True] and st.good
    assert not ScriptState.initial(1, 1, init_fail=True).good


def test_weights() -> None:
    assert script_effect(True, 0) == Effect(0, False)
    assert script_effect(False, 0) == Effect(0, True)
    assert script_effect(True, 10) == Effect(10) and script_effect(False, 10) == Effect(0)
    assert script_effect(False, -20) == Effect(-20) and script_effect(True, -20) == Effect(0)
    assert script_effect(True, -20, reverse=True) == Effect(-20)
    assert interface_effect(False, 0) == Effect(0, True)
    assert interface_effect(True, 5) == Effect(5)


def test_track_file() -> None:
    assert file_effect(3, 10) == Effect(30)
    assert file_effect(3, 10, reverse=True) == Effect(-30)
    assert file_effect(1, 0) == Effect(0, True) and file_effect(0, 0) == Effect(0, False)
    assert file_effect(-254, 1) == Effect(0, True)
    assert parse_track_file(" 42\n") == 42
    assert parse_track_file("junk") == 0 and parse_track_file("") == 0


def test_effective_priority() -> None:
    assert effective_priority(100, [Effect(10), Effect(-30)]) == (80, False)
    assert effective_priority(100, [Effect(0, True)]) == (100, True)
