"""The process-state guard of tests/conftest.py notices and undoes each kind of change."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from tests.conftest import _process_state, _restore


def test_guard_restores_and_names_every_change(tmp_path: Path) -> None:
    before = _process_state()
    old_mask = os.umask(0o077)
    os.chdir(tmp_path)
    sys.excepthook = lambda *a: None
    old_usr2 = signal.signal(signal.SIGUSR2, lambda *a: None)
    changed = _restore(before)
    assert [c.split()[0] for c in changed] == ["umask", "cwd", "sys.excepthook", "SIGUSR2"]
    assert _process_state() == before
    assert os.umask(old_mask) == old_mask
    assert signal.getsignal(signal.SIGUSR2) == old_usr2


def test_guard_is_silent_when_nothing_changed() -> None:
    assert _restore(_process_state()) == []
