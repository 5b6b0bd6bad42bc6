"""The daemon says in its log, at start and on reload, which accepted keywords pykeepalived
does not implement: each once, with file and line, as ``-t`` prints it.

The real parse worker runs (a short child process, as in the daemon); nothing else starts.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from pykeepalived.actors.base import Options
from pykeepalived.actors.parent import actor as parent_actor
from pykeepalived.actors.parent import daemon
from pykeepalived.actors.parent.sdnotify import SdNotifier
from pykeepalived.bus.testing import InMemoryBus
from pykeepalived.conf.model import Config
from tests.unit.runtime.fakes import BusBroker

PLAIN = "global_defs {\n router_id r1\n}\n"
# an instance would need a real interface; global and root keywords do not
WITH_UNIMPLEMENTED = "global_defs {\n router_id r1\n vrrp_startup_delay 5\n}\nchild_wait_time 10\n"
STARTUP_DELAY = "'vrrp_startup_delay' is accepted but not implemented by pykeepalived"
WAIT = "'child_wait_time' is accepted but not implemented by pykeepalived"


def _lines(caplog: pytest.LogCaptureFixture, needle: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if needle in r.getMessage()]


def test_start_logs_each_unimplemented_keyword_once_with_file_and_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    conf = tmp_path / "keepalived.conf"
    conf.write_text(WITH_UNIMPLEMENTED)
    options = Options(config_file=str(conf), host="h")
    caplog.set_level(logging.WARNING, logger="pykeepalived.parent")
    config = asyncio.run(daemon.first_load(options, SdNotifier(None)))
    assert config is not None and config.global_defs.vrrp_startup_delay == 5
    (line,) = _lines(caplog, STARTUP_DELAY)
    assert line.startswith(f"({conf}: Line 3) ")
    (line,) = _lines(caplog, WAIT)
    assert line.startswith(f"({conf}: Line 5) ")
    assert {r.levelno for r in caplog.records if "not implemented" in r.getMessage()} == {
        logging.WARNING
    }


def test_a_reload_that_brings_an_unimplemented_keyword_logs_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    conf = tmp_path / "keepalived.conf"
    conf.write_text(PLAIN)

    async def body() -> None:
        parent = parent_actor.Parent(Options(config_file=str(conf), host="h"), Config())
        parent.broker = BusBroker(InMemoryBus())  # type: ignore[assignment]
        # nothing to run in either file, so no child is started
        parent._wanted_children = lambda config: set()  # type: ignore[method-assign]
        assert await parent.reload() is True
        assert _lines(caplog, "not implemented") == []
        conf.write_text(PLAIN + "child_wait_time 10\n")
        assert await parent.reload() is True

    caplog.set_level(logging.WARNING, logger="pykeepalived.parent")
    asyncio.run(body())
    (line,) = _lines(caplog, WAIT)
    assert line.startswith(f"({conf}: Line 4) ")


def test_lvs_sync_daemon_under_vrrp_only_is_said_at_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The ipvs actor runs the sync daemon; -P does not start it, so the start says so."""
    conf = tmp_path / "keepalived.conf"
    conf.write_text("global_defs {\n lvs_sync_daemon lo\n}\n")
    caplog.set_level(logging.WARNING, logger="pykeepalived.parent")
    for vrrp_only in (False, True):
        options = Options(config_file=str(conf), host="h", vrrp_only=vrrp_only)
        assert asyncio.run(daemon.first_load(options, SdNotifier(None))) is not None
        said = _lines(caplog, "lvs_sync_daemon is not started with -P")
        assert len(said) == (1 if vrrp_only else 0)
