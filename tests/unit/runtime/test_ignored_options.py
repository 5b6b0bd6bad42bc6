"""Command-line options pykeepalived accepts but does not act on are named at start and
at -t (keepalived's options, parsed so scripts keep working, never silently)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pykeepalived import cli
from pykeepalived.actors.parent import daemon


def test_ignored_options_are_said_at_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    started: list[Any] = []

    def fake_run(options: Any, args: Any) -> int:
        started.append(options)
        return 0

    monkeypatch.setattr(daemon, "run_daemon", fake_run)
    assert cli.main(["-n", "-X", "-e", "--all", "-f", "/nonexistent.conf"]) == 0
    assert started, "the daemon still starts"
    err = capsys.readouterr().err.splitlines()
    assert [line.split(" is ")[0] for line in err] == [
        "pykeepalived: -X/--release-vips",
        "pykeepalived: -e/--all-config",
        "pykeepalived: --all",
    ]
    assert all("is accepted but not implemented by pykeepalived" in line for line in err)


def test_no_warning_without_them(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(daemon, "run_daemon", lambda options, args: 0)
    assert cli.main(["-n", "-f", "/nonexistent.conf"]) == 0
    assert capsys.readouterr().err == ""


def test_config_test_names_them_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text("global_defs {\n router_id r1\n}\n")
    assert cli.main(["-X", "-f", str(conf), "-t"]) == 0
    assert "-X/--release-vips is accepted but not implemented" in capsys.readouterr().err
