"""Fixtures of the reflector's namespace tests (see ``harness.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import lab as lab_mod
from tests.integration.netlink.harness import Harness, inside


@pytest.fixture
def harness(lab: lab_mod.Lab, tmp_path: Path) -> Iterator[Harness]:
    host = lab["a"]
    with inside(host.netns):
        yield Harness(host, tmp_path)
