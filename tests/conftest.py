"""Shared pytest setup: skip rules for root/kernel features, the lab fixture, leak checks,
and the process-state guard around every test."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import threading
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


# Signals whose handlers can be read and set from Python (not SIGKILL/SIGSTOP). SIGALRM
# belongs to pytest-timeout: it installs its handler around each test and resets it to
# SIG_DFL as soon as a test fails (pytest_exception_interact), before fixtures are torn down.
_SIGNALS = sorted(signal.valid_signals() - {signal.SIGKILL, signal.SIGSTOP, signal.SIGALRM})


def _process_state() -> dict[str, Any]:
    mask = os.umask(0o022)
    os.umask(mask)
    return {
        "umask": mask,
        "cwd": os.getcwd(),
        "excepthook": sys.excepthook,
        "signals": {s: signal.getsignal(s) for s in _SIGNALS},
    }


def _restore(before: dict[str, Any]) -> list[str]:
    """Put back what a test changed; say what it was."""
    changed = []
    after = _process_state()
    if after["umask"] != before["umask"]:
        os.umask(before["umask"])
        changed.append(f"umask {before['umask']:04o} -> {after['umask']:04o}")
    if after["cwd"] != before["cwd"]:
        os.chdir(before["cwd"])
        changed.append(f"cwd {before['cwd']} -> {after['cwd']}")
    if after["excepthook"] is not before["excepthook"]:
        sys.excepthook = before["excepthook"]
        changed.append(f"sys.excepthook -> {after['excepthook']!r}")
    for sig, old in before["signals"].items():
        new = after["signals"][sig]
        if new != old and old is not None:  # None: set outside Python, cannot be put back
            signal.signal(sig, old)
            changed.append(f"{signal.Signals(sig).name} handler -> {new!r}")
    return changed


@pytest.fixture(autouse=True)
def _process_hygiene() -> Iterator[None]:
    """Every test leaves umask, cwd, signal handlers and sys.excepthook as it found them.

    Product code changes them (the notifier sets the umask, actors install signal
    handlers), and tests run that code in-process: a leak here would make later tests
    depend on the order they run in. The guard restores the state and fails the test that
    leaked it, so the leak is fixed where it happens."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = _process_state()
    yield
    changed = _restore(before)
    if changed:
        pytest.fail("the test left process state changed: " + "; ".join(changed))


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
