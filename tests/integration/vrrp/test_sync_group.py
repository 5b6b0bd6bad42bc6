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

import dataclasses
import time

import pytest

from pykeepalived.conf.model import NotifyScript, TrackFile, TrackRef, VrrpScript, VrrpSyncGroup
from tests.integration.vrrp.support import (  # noqa: F401 - stop_daemons is a fixture
    DaemonProc,
    VrrpProc,
    config,
    has_vip,
    instance,
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
    report = ours_a.daemon.ctl("status").stdout
    assert "VRRP sync groups:" in report and "MASTER" in report.split("VRRP sync groups:")[1]
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


@pytest.mark.parametrize("extra", ["    nopreempt", "    preempt_delay 3"])
def test_return_with_nopreempt_or_preempt_delay(lab: Lab, extra: str) -> None:
    """keepalived 2.2.7 in the lab: with ``nopreempt`` the returning director's group stays
    BACKUP; with ``preempt_delay 3`` it takes both VIPs back 3 s + a down interval after
    the first lower-priority advert (seen: 5 s after the link returned)."""
    a, b = lab["a"], lab["b"]
    add_internal_segment(lab)
    fifo_a, _ = start_fifo_reader(a, "notify")
    fifo_b, _ = start_fifo_reader(b, "notify")
    ours_a = DaemonProc(a, sync_conf(lab, 200, fifo_a, advert_int=ADV, extra=extra))
    ours_b = DaemonProc(b, sync_conf(lab, 100, fifo_b, advert_int=ADV, extra=extra))
    wait_for(lambda: holds_both(a, lab) and holds_none(b, lab), 2 * TAKEOVER, "a master")
    a.run(["ip", "link", "set", "eth1", "down"])
    wait_for(lambda: holds_both(b, lab) and both(ours_b, "MASTER"), TAKEOVER, "b master")
    a.run(["ip", "link", "set", "eth1", "up"])
    t0 = time.monotonic()
    wait_for(lambda: both(ours_a, "BACKUP") and group_states(ours_a)[-1] == "BACKUP", 3,
             "a's group BACKUP")  # fmt: skip
    if "nopreempt" in extra:
        with pytest.raises(AssertionError):  # an observation window: a must NOT take over
            wait_for(lambda: not holds_none(a, lab), 4 * 3 * ADV, "a takes a VIP")
        assert holds_both(b, lab) and group_states(ours_b)[-1] == "MASTER"
        return
    took = wait_for(lambda: holds_both(a, lab) and holds_none(b, lab), 3 + 2 * TAKEOVER,
                    "VIPs back on a after the delay") - t0  # fmt: skip
    assert 3.0 <= took <= 3.0 + 3 * ADV + 2.5, took
    wait_for(lambda: both(ours_b, "BACKUP") and group_states(ours_b)[-1] == "BACKUP", 3,
             "b's group BACKUP")  # fmt: skip


def test_group_tracking_applies_to_every_member(lab: Lab) -> None:
    """The group's track_file weight moves both members' priority (keepalived applies group
    weights even without sync_group_tracking_weight, seen in the lab); the group's
    unweighted track_script failing faults both members; recovery brings both back."""
    a = lab["a"]
    flag = lab.workdir / "healthy"
    flag.write_text("")
    weight_file = lab.workdir / "weight"
    weight_file.write_text("0\n")
    v1, v2 = lab.vip(110), lab.vip(111)
    i1 = instance(v1, name="VI_1", vrid=61, priority=200, version=3, advert_int=0.2)
    i2 = instance(v2, name="VI_2", vrid=62, priority=150, version=3, advert_int=0.2)
    group = VrrpSyncGroup(
        name="G", group=("VI_1", "VI_2"), track_script=(TrackRef(name="chk"),),
        track_file=(TrackRef(name="tf", weight=-10),),
    )  # fmt: skip
    cfg = dataclasses.replace(
        config(i1, i2),
        vrrp_sync_groups=(group,),
        vrrp_scripts=(
            VrrpScript(
                name="chk",
                script=NotifyScript(argv=("test", "-f", str(flag))),
                interval=0.2,
                timeout=1.0,
                weight=0,
                rise=1,
                fall=1,
            ),
        ),
        track_files=(TrackFile(name="tf", file=str(weight_file)),),
    )
    ours = VrrpProc(a, cfg)

    def groups() -> list[str]:
        return [e["body"]["state"] for e in ours.events("vrrp.group")]

    wait_for(lambda: groups()[-1:] == ["MASTER"], 3, "group MASTER")
    wait_for(lambda: has_vip(a, v1) and has_vip(a, v2), 2, "both VIPs")
    weight_file.write_text("3\n")  # 3 x -10 on each member
    prio = lambda: {n: i["priority"] for n, i in ours.status()["instances"].items()}  # noqa: E731
    wait_for(lambda: prio() == {"VI_1": 170, "VI_2": 120}, 3, "both priorities lowered")
    flag.unlink()
    wait_for(lambda: groups()[-1:] == ["FAULT"], 3, "group FAULT")
    wait_for(lambda: not has_vip(a, v1) and not has_vip(a, v2), 2, "both VIPs removed")
    st = ours.status()
    assert {n: i["state"] for n, i in st["instances"].items()} == {"VI_1": "FAULT", "VI_2": "FAULT"}
    assert st["groups"]["G"]["state"] == "FAULT"
    flag.write_text("")
    wait_for(lambda: groups()[-2:] == ["BACKUP", "MASTER"], 4, "group BACKUP then MASTER")
    wait_for(lambda: has_vip(a, v1) and has_vip(a, v2), 2, "both VIPs back")
    bodies = [e["body"] for e in ours.events("vrrp.group")]
    assert bodies[0] == {"group": "G", "state": "BACKUP", "prev": "INIT"}
    assert [(b["prev"], b["state"]) for b in bodies[1:]] == [
        ("BACKUP", "MASTER"), ("MASTER", "FAULT"), ("FAULT", "BACKUP"), ("BACKUP", "MASTER"),
    ]  # fmt: skip


def test_kill9_of_a_master_group_resumes_it_as_master(lab: Lab) -> None:
    """A restarted vrrp actor whose members all resume MASTER does not announce the group
    BACKUP first: the group comes back as MASTER, reason ``resume`` (the notifier then
    stays silent about a state it already knows)."""
    a = lab["a"]
    v1, v2 = lab.vip(112), lab.vip(113)
    cfg = dataclasses.replace(
        config(
            instance(v1, name="VI_1", vrid=63, priority=200),
            instance(v2, name="VI_2", vrid=64, priority=200),
        ),
        vrrp_sync_groups=(VrrpSyncGroup(name="G", group=("VI_1", "VI_2")),),
    )
    ours = VrrpProc(a, cfg)
    wait_for(lambda: [e["body"]["state"] for e in ours.events("vrrp.group")][-1:] == ["MASTER"],
             6, "group MASTER")  # fmt: skip
    wait_for(lambda: has_vip(a, v1) and has_vip(a, v2), 2, "both VIPs")
    n = len(ours.events("vrrp.group"))
    ours.kill9()
    again = VrrpProc(a, cfg)  # same workdir: the state file of the killed actor
    wait_for(lambda: len(again.events("vrrp.group")) > n, 5, "a group event after restart")
    assert again.events("vrrp.group")[n]["body"] == {
        "group": "G", "state": "MASTER", "prev": "INIT", "reason": "resume",
    }  # fmt: skip
    assert has_vip(a, v1) and has_vip(a, v2)
