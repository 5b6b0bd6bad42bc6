"""The GARP/NA frame plan (actors/vrrp/arp.py ``Pacer``/``plan``): which address, on which
interface, at which time; pure, no sockets.

The expected plans are what keepalived 2.2.7 put on the wire in a two-segment namespace
lab (tcpdump -tt -e on both segments; the integration test repeats the comparison):
VIPs 10.0.0.100 (eth0), 10.1.0.100 (dev eth1), 10.0.0.101 (eth0), eVIPs 10.1.0.101
(dev eth1) and fd00::101 (eth0); ``vrrp_garp_interval 0.2``, ``vrrp_gna_interval 0.35``,
``garp_master_repeat 3``.
"""

from __future__ import annotations

import pytest

from pykeepalived.actors.vrrp.arp import (
    Pacer,
    Pacing,
    Planned,
    Target,
    extra_if_targets,
    pacing_for,
    plan,
)

T = [Target("10.0.0.100", "eth0"), Target("10.1.0.100", "eth1"), Target("10.0.0.101", "eth0"),
     Target("10.1.0.101", "eth1"), Target("fd00::101", "eth0")]  # fmt: skip


def pacer(**pacing: Pacing) -> Pacer:
    return Pacer(lambda ifname: pacing.get(ifname, Pacing()))


def on(frames: list[Planned], ifname: str) -> list[tuple[float, str]]:
    return [(round(f.at, 6), f.target.ip) for f in frames if f.target.ifname == ifname]


def test_unpaced_bursts_go_at_once_each_address_on_its_own_interface() -> None:
    frames = plan(pacer(), [(10.0, "VI", T, 3)])
    assert {f.at for f in frames} == {10.0}
    assert [f.target for f in frames] == T * 3  # rounds over VIPs then eVIPs, in order
    assert on(frames, "eth1") == [(10.0, "10.1.0.100"), (10.0, "10.1.0.101")] * 3


def test_paced_burst_as_keepalived_sends_it() -> None:
    p = pacer(eth0=Pacing(0.2, 0.35), eth1=Pacing(0.2, 0.35))
    frames = plan(p, [(0.0, "VI", T, 3)])
    # a repeat of an address already waiting adds no frame: 3 per interface, not 6
    assert on(frames, "eth0") == [(0.0, "10.0.0.100"), (0.0, "fd00::101"), (0.2, "10.0.0.100"),
                                  (0.35, "fd00::101"), (0.4, "10.0.0.101")]  # fmt: skip
    assert on(frames, "eth1") == [(0.0, "10.1.0.100"), (0.2, "10.1.0.100"),
                                  (0.4, "10.1.0.101")]  # fmt: skip
    assert p.pending == {} and p.wake() is None


def test_a_second_burst_after_the_delay_repeats_the_pattern() -> None:
    p = pacer(eth0=Pacing(0.2, 0.35), eth1=Pacing(0.2, 0.35))
    frames = plan(p, [(0.0, "VI", T, 3), (3.0, "VI", T, 3), (7.0, "VI", T, 2)])
    first = on([f for f in frames if f.at < 3], "eth1")
    assert on([f for f in frames if 3 <= f.at < 7], "eth1") == [(a + 3, ip) for a, ip in first]
    # a refresh of 2 rounds: each address once at once or after one interval
    assert on([f for f in frames if f.at >= 7], "eth0") == [
        (7.0, "10.0.0.100"), (7.0, "fd00::101"), (7.2, "10.0.0.100"), (7.35, "fd00::101"),
        (7.4, "10.0.0.101")]  # fmt: skip


def test_garp_and_na_have_separate_paces_and_an_unpaced_kind_goes_at_once() -> None:
    p = pacer(eth0=Pacing(garp_interval=0.5))
    targets = [Target("10.0.0.1", "eth0"), Target("10.0.0.2", "eth0"), Target("fd00::1", "eth0")]
    frames = plan(p, [(0.0, "VI", targets, 2)])
    assert on(frames, "eth0") == [(0.0, "10.0.0.1"), (0.0, "fd00::1"), (0.0, "fd00::1"),
                                  (0.5, "10.0.0.1"), (1.0, "10.0.0.2")]  # fmt: skip


def test_a_garp_group_shares_one_pace_between_its_interfaces() -> None:
    shared = Pacing(0.1, 0.0, key="group")
    p = pacer(eth0=shared, eth1=shared)
    targets = [Target("10.0.0.1", "eth0"), Target("10.1.0.1", "eth1")]
    frames = plan(p, [(0.0, "VI", targets, 1)])
    assert [(round(f.at, 6), f.target.ifname) for f in frames] == [(0.0, "eth0"), (0.1, "eth1")]


def test_two_instances_on_one_interface_share_its_pace() -> None:
    p = pacer(eth0=Pacing(0.25))
    frames = plan(p, [(0.0, "A", [Target("10.0.0.1", "eth0")], 1),
                      (0.0, "B", [Target("10.0.0.2", "eth0")], 1)])  # fmt: skip
    assert [(f.at, f.owner) for f in frames] == [(0.0, "A"), (0.25, "B")]


def test_due_before_the_interface_is_free_sends_nothing_and_drop_forgets() -> None:
    p = pacer(eth0=Pacing(1.0))
    assert p.burst(0.0, "VI", T[:1], 2) == [T[0]]
    assert p.wake() == pytest.approx(1.0)
    assert p.due(0.999) == [] and p.pending == {"VI": [T[0]]}
    p.drop("VI")
    assert p.wake() is None and p.due(5.0) == []


def test_pacing_for_an_interface_in_a_group_ignores_the_global_intervals() -> None:
    # keepalived 2.2.7 in the lab: global 0.25/0.4, garp_group { gna_interval 0.3;
    # interface eth1 }: GARPs on eth1 unpaced, NAs on it 0.3 s apart; eth0 global
    groups = [(("eth1",), 0.0, 0.3), (("eth1", "eth2"), 9.0, 9.0)]
    assert pacing_for("eth1", groups, 0.25, 0.4) == Pacing(0.0, 0.3, key="garp_group#0")
    assert pacing_for("eth2", groups, 0.25, 0.4) == Pacing(9.0, 9.0, key="garp_group#1")
    assert pacing_for("eth0", groups, 0.25, 0.4) == Pacing(0.25, 0.4)


def test_extra_if_targets_are_the_first_vip_of_each_other_interface() -> None:
    vips = [Target("10.0.0.1", "eth0"), Target("10.1.0.1", "eth1"), Target("10.1.0.2", "eth1"),
            Target("10.2.0.1", "eth2"), Target("10.0.0.2", "eth0")]  # fmt: skip
    assert extra_if_targets(vips, "eth0") == [vips[1], vips[3]]
    assert extra_if_targets(vips[:1], "eth0") == []
