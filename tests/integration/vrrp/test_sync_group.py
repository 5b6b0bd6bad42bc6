"""A vrrp_sync_group on two of our directors: the internal link of the master fails.

LVS-NAT-like lab (tests/integration/vrrp/syncgroup.py): ``VI_EXT`` on the external
segment and ``VI_INT`` on the internal one, in one sync group on both directors. As
keepalived 2.2.7 does (seen in the lab, see tests/interop/test_sync_group_interop.py):
when the master's internal link goes down, both its instances go to FAULT and BOTH VIPs
move to the peer; when the link returns, the old master's group goes BACKUP, then
preempts (higher priority) and takes both VIPs back; on a stop the members go to STOP,
then the group. The FIFO carries keepalived's order: the members' lines, then the group's.
"""

from __future__ import annotations

import pytest

from tests.integration.vrrp.support import (  # noqa: F401 - stop_daemons is a fixture
    DaemonProc,
    stop_daemons,
    wait_for,
)
from tests.integration.vrrp.syncgroup import (
    add_internal_segment,
    fifo_lines,
    holds_both,
    holds_none,
    notify_script,
    start_fifo_reader,
    sync_conf,
)
from tests.lab import Lab

pytestmark = [pytest.mark.netns, pytest.mark.usefixtures("stop_daemons")]

ADV = 0.5
TAKEOVER = 3 * ADV + 3  # a down interval plus slack for the busy machine


def group_states(d: DaemonProc) -> list[str]:
    return [e.body["state"] for e in d.daemon.events("vrrp.group")]


def instance_state(d: DaemonProc, name: str) -> str | None:
    states = [e.body["state"] for e in d.daemon.events("vrrp.state")
              if e.body["instance"] == name]  # fmt: skip
    return states[-1] if states else None


def both(d: DaemonProc, state: str) -> bool:
    return all(instance_state(d, n) == state for n in ("VI_EXT", "VI_INT"))


def test_internal_link_failure_moves_both_vips_and_they_come_back(lab: Lab) -> None:
    a, b = lab["a"], lab["b"]
    add_internal_segment(lab)
    fifo_a, _ = start_fifo_reader(a, "notify")
    fifo_b, _ = start_fifo_reader(b, "notify")
    script, script_out = notify_script(a)
    ours_a = DaemonProc(a, sync_conf(lab, 200, fifo_a, advert_int=ADV, notify=script))
    ours_b = DaemonProc(b, sync_conf(lab, 100, fifo_b, advert_int=ADV))
    wait_for(lambda: holds_both(a, lab) and holds_none(b, lab), 2 * TAKEOVER, "a master")
    wait_for(lambda: group_states(ours_a)[-1:] == ["MASTER"], 3, "a's group MASTER")
    assert group_states(ours_b)[-1] == "BACKUP" and both(ours_b, "BACKUP")
    groups = ours_a.status()["groups"]
    assert groups["G"]["state"] == "MASTER", groups
    n_a = len(fifo_lines(a, "notify"))

    a.run(["ip", "link", "set", "eth1", "down"])  # the master's internal link fails
    wait_for(lambda: holds_both(b, lab), TAKEOVER, "both VIPs on b")
    wait_for(lambda: both(ours_b, "MASTER") and group_states(ours_b)[-1] == "MASTER", 3,
             "b's instances and group MASTER")  # fmt: skip
    wait_for(lambda: both(ours_a, "FAULT") and holds_none(a, lab), 3, "a all FAULT, no VIPs")
    wait_for(lambda: len(fifo_lines(a, "notify")) >= n_a + 3, 3, "a's FIFO lines")
    assert fifo_lines(a, "notify")[n_a:] == [
        'INSTANCE "VI_INT" FAULT 200', 'INSTANCE "VI_EXT" FAULT 200', 'GROUP "G" FAULT 0',
    ]  # fmt: skip
    assert ours_a.status()["groups"]["G"]["state"] == "FAULT"
    # VI_EXT's own link is fine: its fault is the group's
    ext = ours_a.status()["instances"]["VI_EXT"]
    assert ext["fault_reasons"] == ["sync group G"], ext
    n_a = len(fifo_lines(a, "notify"))

    a.run(["ip", "link", "set", "eth1", "up"])  # back: a's group goes BACKUP, then preempts
    wait_for(lambda: holds_both(a, lab) and holds_none(b, lab), 2 * TAKEOVER, "VIPs back on a")
    wait_for(lambda: both(ours_a, "MASTER") and both(ours_b, "BACKUP"), 3, "states back")
    wait_for(lambda: len(fifo_lines(a, "notify")) >= n_a + 6, 3, "a's FIFO lines")
    back = fifo_lines(a, "notify")[n_a:]
    assert back[:3] == [
        'INSTANCE "VI_INT" BACKUP 200', 'INSTANCE "VI_EXT" BACKUP 200', 'GROUP "G" BACKUP 0',
    ], back  # fmt: skip
    assert sorted(back[3:5]) == ['INSTANCE "VI_EXT" MASTER 200', 'INSTANCE "VI_INT" MASTER 200']
    assert back[5] == 'GROUP "G" MASTER 0'
    assert group_states(ours_b)[-1] == "BACKUP"

    n_a = len(fifo_lines(a, "notify"))
    ours_a.stop()  # the members stop, then the group (keepalived's FIFO order)
    wait_for(lambda: len(fifo_lines(a, "notify")) >= n_a + 3, 3, "a's STOP lines")
    assert fifo_lines(a, "notify")[n_a:] == [
        'INSTANCE "VI_EXT" STOP 200', 'INSTANCE "VI_INT" STOP 200', 'GROUP "G" STOP 0',
    ]  # fmt: skip
    wait_for(lambda: holds_both(b, lab), TAKEOVER, "b takes both VIPs on a's stop")
    # the group's scripts: notify_<state> and the generic notify (GROUP G STATE 0), for
    # every group transition after the notifier came up (the start-up BACKUP may precede it)
    ran = script_out.read_text().splitlines()
    pairs = [(ran[i], ran[i + 1]) for i in range(len(ran) - 1)]
    for state in ("MASTER", "FAULT", "BACKUP", "STOP"):
        assert {(f"notify_{state.lower()}", f"GROUP G {state} 0"),
                (f"GROUP G {state} 0", f"notify_{state.lower()}")} & set(pairs), ran  # fmt: skip
    assert ran[-2:] in (["notify_stop", "GROUP G STOP 0"], ["GROUP G STOP 0", "notify_stop"])
