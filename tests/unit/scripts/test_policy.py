"""The pure parts of running scripts: argv, shell use, limits, outcomes and their counts."""

from __future__ import annotations

import pytest

from pykeepalived.actors import script_policy as sp

INF = -1  # resource.RLIM_INFINITY on Linux


def test_direct_exec_never_involves_a_shell() -> None:
    argv = ("/etc/ka/notify", "a b", "$(rm -rf /)")
    assert sp.exec_argv(argv, ("INSTANCE", "VI_1"), via_shell=False) == (
        "/etc/ka/notify", "a b", "$(rm -rf /)", "INSTANCE", "VI_1",
    )  # fmt: skip


def test_shell_form_quotes_words_as_keepalived_cmd_str() -> None:
    assert sp.exec_argv(("/x/s", "a b"), ("MASTER",), via_shell=True) == (
        "/bin/sh", "-c", "'/x/s' 'a b' 'MASTER'",
    )  # fmt: skip
    # the file test form keeps its leading redirection unquoted
    assert sp.shell_command(("</etc/passwd",)) == "</etc/passwd"


@pytest.mark.parametrize(
    ("head", "magic"),
    [(b"#!/bin/sh", True), (b"\x7fELF", True), (b"echo", False), (b"", False), (b"#", False)],
)
def test_exec_magic(head: bytes, magic: bool) -> None:
    assert sp.has_exec_magic(head) is magic


def test_rlimits_reset_for_scripts() -> None:
    # the checker lifted its soft fd limit to the hard one; -m raised core dumps
    now = {"NOFILE": (20000, 20000), "CORE": (INF, INF), "RTTIME": (5000, 10000)}
    assert sp.script_rlimits(now, INF) == {
        "NOFILE": (sp.SCRIPT_NOFILE, 20000),
        "CORE": (0, INF),
        "RTTIME": (10000, 10000),
    }


def test_rlimits_never_above_the_hard_limit_and_unchanged_ones_left_alone() -> None:
    now = {"NOFILE": (256, 512), "CORE": (0, 0), "RTTIME": (INF, INF)}
    assert sp.script_rlimits(now, INF) == {"NOFILE": (512, 512)}
    assert sp.script_rlimits({"NOFILE": (1024, INF)}, INF) == {}


def test_checks_capture_and_clean_up_notifies_do_not() -> None:
    for kind in ("vrrp_script", "misc_check"):
        assert sp.POLICIES[kind].capture and sp.POLICIES[kind].kill_leftovers
    for kind in ("notify", "fifo", "startup", "shutdown"):
        assert not sp.POLICIES[kind].capture and not sp.POLICIES[kind].kill_leftovers
    assert all(p.grace == 2.0 for p in sp.POLICIES.values())  # keepalived's TERM→KILL gap


@pytest.mark.parametrize(
    ("kw", "outcome"),
    [
        ({"returncode": 0}, "ok"),
        ({"returncode": 1}, "failed"),
        ({"returncode": -9}, "signalled"),
        ({"returncode": 0, "timed_out": True}, "timed_out"),  # trapped TERM, exit 0: late
        ({"returncode": -15, "timed_out": True}, "timed_out"),
        ({"error": "Script user 'x' does not exist", "refused": True}, "refused"),
        ({"error": "Error exec-ing command '/x', error 8: Exec format error"}, "exec_error"),
    ],
)
def test_outcome(kw: dict[str, object], outcome: str) -> None:
    r = sp.Result("s", ("/x",), **kw)  # type: ignore[arg-type]
    assert r.outcome == outcome
    assert r.ok is (outcome == "ok")


def test_stats_count_every_outcome_and_keep_the_last() -> None:
    st = sp.ScriptStats()
    st.record(sp.Result("s", ("/x",), 10, 0, started=1.0, ended=1.5), False)
    st.record(sp.Result("s", ("/x",), 11, -15, True, leftovers=True, output=b"x" * 300), True)
    st.record(sp.Result("s", ("/x",), 12, 0, leftovers=True), False)
    st.record(sp.Result("s", ("/x",), error="no", refused=True), False)
    d = st.as_dict()
    assert (d["ok"], d["timed_out"], d["refused"], d["failed"]) == (2, 1, 1, 0)
    assert (d["leftovers_killed"], d["leftovers_left"]) == (1, 1)
    assert d["last"] == {"outcome": "refused", "returncode": None, "error": "no", "pid": 0,
                         "seconds": 0.0, "output": ""}  # fmt: skip
    st.record(sp.Result("s", ("/x",), 13, 0, output=b"y" * 300), False)
    assert st.last["output"] == "y" * 256  # a bounded tail


def test_stats_table_is_bounded() -> None:
    known: dict[str, object] = {f"s{i}": None for i in range(sp.STATS_NAMES)}
    assert sp.stats_key("s3", known) == "s3"
    assert sp.stats_key("new", known) == "(other)"
    assert sp.stats_key("new", {}) == "new"
