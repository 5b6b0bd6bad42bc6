"""A reload is applied as a difference: unchanged instances keep their state."""

from __future__ import annotations

import pytest

from tests.integration.vrrp.support import VrrpProc, config, has_vip, instance, wait_for
from tests.lab import Lab

pytestmark = pytest.mark.netns


def _by_instance(proc: VrrpProc) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for e in proc.events("vrrp.state"):
        out.setdefault(e["body"]["instance"], []).append(e["body"]["state"])
    return out


def test_reload_adds_and_removes_instances_without_touching_the_others(lab: Lab) -> None:
    a = lab["a"]
    vip1, vip2 = lab.vip(130), lab.vip(131)
    one = instance(vip1, name="VI_1", vrid=61, priority=150, version=3, advert_int=0.1)
    two = instance(vip2, name="VI_2", vrid=62, priority=150, version=3, advert_int=0.1)
    ours = VrrpProc(a, config(one))
    ours.wait_state("MASTER", timeout=3)
    ours.reload(config(one, two))
    wait_for(lambda: _by_instance(ours).get("VI_2") == ["BACKUP", "MASTER"], 3, "VI_2 master")
    wait_for(lambda: has_vip(a, vip2), 2, "VIP of VI_2")
    assert _by_instance(ours)["VI_1"] == ["BACKUP", "MASTER"]  # untouched
    ours.reload(config(one))
    wait_for(lambda: _by_instance(ours)["VI_2"][-1] == "STOP", 3, "VI_2 stopped")
    wait_for(lambda: not has_vip(a, vip2), 2, "VIP of VI_2 removed")
    assert _by_instance(ours)["VI_1"] == ["BACKUP", "MASTER"] and has_vip(a, vip1)
    # a changed priority / VIP list is applied in place: no new transition, no flap
    vip3 = lab.vip(132)
    changed = instance(vip3, name="VI_1", vrid=61, priority=160, version=3, advert_int=0.1)
    ours.reload(config(changed))
    wait_for(lambda: ours.status()["instances"]["VI_1"]["priority"] == 160, 3, "new priority")
    wait_for(lambda: has_vip(a, vip3) and not has_vip(a, vip1), 3, "VIP list swapped")
    assert _by_instance(ours)["VI_1"] == ["BACKUP", "MASTER"]
    # a changed VRID cannot be applied in place: the instance restarts
    moved = instance(vip3, name="VI_1", vrid=63, priority=160, version=3, advert_int=0.1)
    ours.reload(config(moved))
    wait_for(lambda: _by_instance(ours)["VI_1"][-2:] == ["BACKUP", "MASTER"]
             and len(_by_instance(ours)["VI_1"]) == 5, 3, "restarted")  # fmt: skip
    assert _by_instance(ours)["VI_1"][2] == "STOP"
