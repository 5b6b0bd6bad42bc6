"""Shared pytest setup: skip rules for root/kernel features, the lab fixture, leak checks."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pykeepalived.bus.testing import run_virtual
from tests import lab as lab_mod

IS_ROOT = os.geteuid() == 0


def _skip_reason(item: pytest.Item) -> str | None:
    if item.get_closest_marker("netns") or item.get_closest_marker("interop"):
        if not IS_ROOT:
            return f"needs root to create network namespaces (running as uid {os.geteuid()})"
        if shutil.which("ip") is None:
            return "needs iproute2's `ip` command (not on PATH)"
    if item.get_closest_marker("interop") and not os.access(lab_mod.KEEPALIVED, os.X_OK):
        return f"needs Debian's keepalived as the peer ({lab_mod.KEEPALIVED} is not installed)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        reason = _skip_reason(item)
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def vrun() -> Iterator[Callable[..., Any]]:
    """Run a coroutine on a fresh virtual-clock loop: ``vrun(main())`` returns its result.

    Idle time is skipped, so timers of seconds cost microseconds; see bus/testing.py.
    """
    yield run_virtual


@pytest.fixture
def lab() -> Iterator[lab_mod.Lab]:
    """Two hosts, ``a`` and ``b``, on a bridge with IPv4 and IPv6; removed after the test."""
    with lab_mod.Lab(("a", "b")) as the_lab:
        yield the_lab


@pytest.fixture
def lab3() -> Iterator[lab_mod.Lab]:
    """Three hosts ``a``, ``b``, ``c`` (``c`` is the observer/client)."""
    with lab_mod.Lab(("a", "b", "c")) as the_lab:
        yield the_lab


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if a namespace or a process this run started is left behind."""
    if not IS_ROOT:
        return
    leaked_ns = sorted(set(lab_mod.namespaces_of_this_run()) | lab_mod.LIVE_NAMESPACES)
    leaked_procs = {pid: d for pid, d in lab_mod.LIVE_PROCESSES.items() if _alive(pid)}
    if leaked_ns or leaked_procs:
        tr = session.config.pluginmanager.get_plugin("terminalreporter")
        msg = f"LEAK: namespaces {leaked_ns} processes {leaked_procs} left behind by the tests"
        if tr is not None:
            tr.write_line(msg, red=True)
        for name in leaked_ns:
            lab_mod.sh(["ip", "netns", "del", name], check=False)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
