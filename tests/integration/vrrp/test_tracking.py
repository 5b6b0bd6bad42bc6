"""vrrp_script and track_file moving a live instance's priority and state (lab host)."""

from __future__ import annotations

import dataclasses

import pytest

from pykeepalived.conf.model import NotifyScript, TrackFile, TrackRef, VrrpScript
from tests.integration.vrrp.support import VrrpProc, config, has_vip, instance, wait_for
from tests.lab import Lab

pytestmark = pytest.mark.netns


def test_script_fault_and_file_weight(lab: Lab) -> None:
    a = lab["a"]
    vip = lab.vip(120)
    flag = lab.workdir / "healthy"
    flag.write_text("")
    weight_file = lab.workdir / "weight"
    weight_file.write_text("0\n")
    inst = instance(vip, priority=150, version=3, advert_int=0.1,
                    track_script=(TrackRef(name="chk"),),
                    track_file=(TrackRef(name="tf", weight=-10),))  # fmt: skip
    cfg = dataclasses.replace(
        config(inst),
        vrrp_scripts=(
            VrrpScript(
                name="chk",
                script=NotifyScript(argv=("test", "-f", str(flag))),
                interval=0.2,
                timeout=1.0,
                weight=0,
                rise=2,
                fall=2,
            ),
        ),
        track_files=(TrackFile(name="tf", file=str(weight_file)),),
    )
    ours = VrrpProc(a, cfg)
    ours.wait_state("MASTER", timeout=3)
    wait_for(lambda: has_vip(a, vip), 2, "VIP")
    weight_file.write_text("3\n")  # 3 x -10: priority 120
    wait_for(lambda: ours.status()["instances"]["VI_1"]["priority"] == 120, 3, "priority 120")
    # the change is announced (notify_priority_changes FIFO lines come from this event)
    prio = ours.events("vrrp.priority")
    assert [e["body"] for e in prio] == [
        {"instance": "VI_1", "state": "MASTER", "priority": 120, "prev_priority": 150}
    ], prio
    n = len(ours.states())
    flag.unlink()  # the script fails twice (fall 2): FAULT, VIP removed
    fault = ours.wait_state("FAULT", timeout=3, after=n)
    assert fault["body"]["reason"] == "script chk failed"
    wait_for(lambda: not has_vip(a, vip), 2, "VIP removed")
    assert ours.status()["scripts"] == {"chk": "bad"}
    flag.write_text("")
    ours.wait_state("BACKUP", timeout=3, after=n + 1)
    ours.wait_state("MASTER", timeout=3, after=n + 2)  # alone on the segment
