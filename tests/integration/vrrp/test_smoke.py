"""Our VRRP actor alone and against itself in the lab (no keepalived)."""

from __future__ import annotations

import pytest

from tests.integration.vrrp.support import VrrpProc, config, has_vip, instance, wait_for
from tests.lab import Lab

pytestmark = pytest.mark.netns


def test_two_of_ours_elect_and_fail_over(lab: Lab) -> None:
    a, b = lab["a"], lab["b"]
    vip = lab.vip(100)
    ours_a = VrrpProc(a, config(instance(vip, priority=200, version=3, advert_int=0.1)))
    ours_b = VrrpProc(b, config(instance(vip, priority=100, version=3, advert_int=0.1)))
    ours_a.wait_state("MASTER", timeout=5)
    wait_for(lambda: has_vip(a, vip), 3, "VIP on a")
    assert ours_b.states() == ["BACKUP"]
    assert not has_vip(b, vip)
    ours_a.stop()  # priority 0, VIP removed
    ours_b.wait_state("MASTER", timeout=3)
    wait_for(lambda: has_vip(b, vip), 3, "VIP on b")
    assert not has_vip(a, vip)
    st = ours_b.status()["instances"]["VI_1"]
    assert st["counters"]["priority_zero_rx"] == 1
