"""A killed VRRP actor of a master comes back as master with no VIP flap (the crash recovery
of actors/vrrp/actor.py)."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from tests.integration.vrrp.support import (  # noqa: F401 - stop_daemons is a fixture
    DaemonProc,
    VrrpProc,
    config,
    has_vip,
    instance,
    keepalived_conf,
    stop_daemons,
    wait_for,
)
from tests.lab import Lab

pytestmark = [pytest.mark.netns, pytest.mark.interop]


@pytest.mark.parametrize("auth", ["none", "AH"])
def test_kill9_of_a_master_resumes_without_a_vip_flap(lab: Lab, auth: str) -> None:
    """With AH the resumed master must also continue above the sequence peers have seen."""
    a, b = lab["a"], lab["b"]
    vip = lab.vip(110)
    extra = "" if auth == "none" else "    authentication {\n auth_type AH\n auth_pass k1\n }"
    ka = b.start_keepalived(keepalived_conf(f"{vip}/24", priority=100, extra=extra), "-P")
    kw = {} if auth == "none" else {"auth_type": "AH", "auth_pass": "k1"}
    cfg = config(instance(vip, priority=200, **kw))
    ours = VrrpProc(a, cfg)
    ours.wait_state("MASTER", timeout=6)
    wait_for(lambda: has_vip(a, vip) and not has_vip(b, vip), 5, "settled: VIP on ours only")
    ka_log_before = ka.output()
    # watch the VIP on both sides from now on
    gaps: list[str] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            if not has_vip(a, vip):
                gaps.append("VIP missing on ours")
            if has_vip(b, vip):
                gaps.append("VIP on keepalived")
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        n = len(ours.states())
        ours.kill9()
        t0 = time.monotonic()
        again = VrrpProc(a, cfg)  # same workdir: same runtime dir and state file
        first = again.wait_state("MASTER", timeout=5, after=n)
        took = time.monotonic() - t0
        assert first["body"]["reason"] == "resume" and first["body"]["prev"] == "INIT"
        time.sleep(2.0)
    finally:
        stop.set()
        watcher.join()
    assert took < 3.6, f"restart took {took:.2f}s: the peer would have taken over"
    assert not gaps, gaps[:5]
    assert ka.output()[len(ka_log_before) :].count("Entering MASTER STATE") == 0
    assert "already proceeded" not in ka.output()[len(ka_log_before) :]
    assert again.states()[n:] == ["MASTER"]


def test_clean_stop_does_not_resume(lab: Lab) -> None:
    a = lab["a"]
    vip = lab.vip(111)
    cfg = config(instance(vip, priority=200, version=3, advert_int=0.1))
    ours = VrrpProc(a, cfg)
    ours.wait_state("MASTER", timeout=3)
    ours.stop()
    n = len(ours.states())
    again = VrrpProc(a, cfg)
    first = again.wait_state("BACKUP", timeout=3, after=n)
    assert first["body"]["reason"] == "init"


@pytest.mark.usefixtures("stop_daemons")
def test_daemon_watchdog_restart_of_a_master_vrrp_actor_keeps_the_vip(lab: Lab) -> None:
    """The whole daemon: kill -9 its vrrp child; the parent restarts it; no flap."""
    a, b = lab["a"], lab["b"]
    vip = lab.vip(112)
    ka = b.start_keepalived(keepalived_conf(f"{vip}/24", priority=100), "-P")
    ours = DaemonProc(a, keepalived_conf(f"{vip}/24", priority=200))
    ours.wait_state("MASTER", timeout=8)
    wait_for(lambda: has_vip(a, vip) and not has_vip(b, vip), 5, "settled: VIP on ours only")
    ka_log_before = ka.output()
    n = len(ours.states())
    gaps: list[str] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            if not has_vip(a, vip):
                gaps.append("VIP missing on ours")
            if has_vip(b, vip):
                gaps.append("VIP on keepalived")
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        old = ours.vrrp_pid()
        os.kill(old, signal.SIGKILL)
        t0 = time.monotonic()
        first = ours.wait_state("MASTER", timeout=6, after=n)
        took = time.monotonic() - t0
        time.sleep(2.0)
    finally:
        stop.set()
        watcher.join()
    assert first["body"]["reason"] == "resume", first
    restart = ours.daemon.wait_event("watchdog.restart", timeout=1)
    assert restart.body["old_pid"] == old
    assert took < 3.6, f"restart took {took:.2f}s: the peer would have taken over"
    assert not gaps, gaps[:5]
    assert ka.output()[len(ka_log_before) :].count("Entering MASTER STATE") == 0
