"""Where the script tests keep their scripts and what the scripts write."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def where() -> Iterator[tuple[Path, Path]]:
    """(scripts dir only root may write, results dir anyone may write), removed after.

    Under /tmp, not pytest's tmp_path: script security refuses a script whose directories
    up to / are writable by others, and users other than root must reach the results."""
    top = Path(tempfile.mkdtemp(prefix="pkscripts", dir="/tmp"))
    top.chmod(0o755)
    scripts, out = top / "bin", top / "out"
    scripts.mkdir(mode=0o755)
    out.mkdir()
    out.chmod(0o777)
    yield scripts, out
    shutil.rmtree(top, ignore_errors=True)
