"""The running daemon (real parent, toy children) logs each keyword pykeepalived accepts
without implementing it: once at start and again on a reload that brings one, with file
and line as ``-t`` prints it. No root needed: the static address goes on ``lo`` of the
test's own toy children (toys do not program it)."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from tests.integration.runtime.runner import STATIC_CONF, ToyDaemon, wait_until

NOT_IMPL = "is accepted but not implemented by pykeepalived"
# child_wait_time is line 8: STATIC_CONF is 7 lines, the first one blank
CONF = STATIC_CONF + "child_wait_time 10\n"


@pytest.fixture
def daemon() -> Iterator[ToyDaemon]:
    d = ToyDaemon(CONF)
    try:
        d.wait_ready(30)
        yield d
    finally:
        d.stop()


def _said(d: ToyDaemon, keyword: str) -> list[str]:
    text = d.log_path.read_text(errors="replace")
    return [line for line in text.splitlines() if f"'{keyword}' {NOT_IMPL}" in line]


def test_start_and_reload_log_unimplemented_keywords(daemon: ToyDaemon) -> None:
    (line,) = _said(daemon, "child_wait_time")
    assert f"({daemon.conf_path}: Line 8) 'child_wait_time' {NOT_IMPL} (" in line
    assert _said(daemon, "random_seed") == []
    daemon.conf_path.write_text(CONF + "global_defs {\n random_seed 7\n}\n")
    mark = len(daemon.events())
    daemon.proc.signal(signal.SIGHUP)
    env = daemon.wait_event("config.reload", timeout=30, after=mark)
    assert env.body["ok"] is True
    assert wait_until(lambda: len(_said(daemon, "random_seed")) == 1, 10)
    (line,) = _said(daemon, "random_seed")
    assert f"({daemon.conf_path}: Line 10) 'random_seed' {NOT_IMPL} (" in line
    # every load says it again, as keepalived's reload does
    assert len(_said(daemon, "child_wait_time")) == 2
