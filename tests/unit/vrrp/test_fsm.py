"""Playbooks for the VRRP state machine: each step is (time, input) -> exact commands.

Covers every transition of RFC 5798 §6.4 (Initialize, Backup, Master; Stop and Fault as
keepalived adds them) plus keepalived's timers, preemption and GARP schedule. The clock is
injected: every call takes ``now``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pykeepalived.actors.vrrp.fsm import (
    Addresses,
    CancelTimer,
    Command,
    Instance,
    Log,
    LowerPriorityAdvert,
    Params,
    SendAdvert,
    SendGarp,
    SetTimer,
    State,
    Transition,
    master_down_interval,
    skew_time,
)
from pykeepalived.conf.model import AuthType, VrrpInstance, VrrpState
from tests.playbook import Playbook

B, M, F, INIT, S = State.BACKUP, State.MASTER, State.FAULT, State.INIT, State.STOP
MDI_100 = 3.609375  # v2, 1 s, priority 100: 3 + 156/256


def make(**kw: Any) -> Instance:
    address = kw.pop("address", "10.0.0.2")
    params: dict[str, Any] = {"name": "VI_1", "vrid": 51}
    params.update(kw)
    return Instance(Params(**params), address=address)


Step = tuple[float, str, tuple[Any, ...], Sequence[Command]]


def play(inst: Instance, steps: Sequence[Step]) -> None:
    for i, (now, what, args, expect) in enumerate(steps):
        got = getattr(inst, what)(now, *args)
        assert got == list(expect), f"step {i} ({what} at {now}): {got}"


def no_logs(cmds: list[Command]) -> list[Command]:
    return [c for c in cmds if not isinstance(c, Log)]


def become_master(t: float, prio: int = 100, reason: str = "timeout", prev: State = B) -> list:
    return [
        SendAdvert(prio),
        Transition(prev, M, reason),
        Addresses(True),
        SendGarp(5, "master"),
        SetTimer("adver", t + 1),
        SetTimer("garp_delay", t + 5),
    ]


def test_timer_formulas_match_keepalived() -> None:
    assert skew_time(2, 100, 100) == 0.609375
    assert master_down_interval(2, 100, 100) == MDI_100
    assert master_down_interval(2, 100, 500) == 15.609375  # v2 skew ignores the interval
    assert skew_time(3, 100, 100) == 0.609375
    assert skew_time(3, 100, 1) == 0.006093  # µs truncation as keepalived
    assert master_down_interval(3, 100, 1) == pytest.approx(0.036093)
    assert skew_time(3, 90, 100) == 0.648437
    assert skew_time(2, 255, 100) == 0.003906
    assert master_down_interval(3, 100, 10, adverts=30) == pytest.approx(3.060937)


def test_initialize_to_backup_then_timeout_to_master() -> None:
    inst = make()
    play(inst, [
        (0.0, "start", (), [Transition(INIT, B, "init"), SetTimer("master_down", MDI_100)]),
        (1.0, "timer", ("adver",), []),  # not pending: ignored
        (MDI_100, "timer", ("master_down",), become_master(MDI_100)),
    ])  # fmt: skip
    assert inst.state is M and inst.master_address == "10.0.0.2"


def test_early_timer_is_rearmed_not_acted_on() -> None:
    inst = make()
    inst.start(0.0)
    assert inst.timer(1.0, "master_down") == [SetTimer("master_down", MDI_100)]
    assert inst.state is B


def test_owner_with_state_master_starts_master_else_backup() -> None:
    play(make(priority=255, start_master=True), [
        (0.0, "start", (), become_master(0.0, 255, "init", INIT)),
    ])  # fmt: skip
    owner_backup = make(priority=255)
    out = owner_backup.start(0.0)
    assert out == [
        Transition(INIT, B, "init"),
        SetTimer("master_down", 3.003906),
    ]  # µs, as keepalived
    # a non-owner `state MASTER` also waits (keepalived 2.2.7 behaviour, seen on the wire)
    assert make(start_master=True).start(0.0)[0] == Transition(INIT, B, "init")
    # AH: keepalived never starts such an instance as master (it must learn the sequence)
    assert make(priority=255, start_master=True, ah=True).start(0.0)[0] == Transition(
        INIT, B, "init"
    )


def test_master_adverts_are_paced_without_drift() -> None:
    inst = make(priority=255, start_master=True, garp_master_delay=0)
    inst.start(0.0)
    play(inst, [
        (1.003, "timer", ("adver",), [SendAdvert(255), SetTimer("adver", 2.0)]),
        (2.001, "timer", ("adver",), [SendAdvert(255), SetTimer("adver", 3.0)]),
        # a stall longer than an interval: restart the pace from now
        (4.5, "timer", ("adver",), [SendAdvert(255), SetTimer("adver", 5.5)]),
    ])  # fmt: skip


def test_backup_resets_down_timer_on_higher_or_equal_priority() -> None:
    inst = make()
    inst.start(0.0)
    play(inst, [
        (1.0, "advert", ("10.0.0.1", 200, 100), [SetTimer("master_down", 1 + MDI_100)]),
        (2.0, "advert", ("10.0.0.1", 100, 100), [SetTimer("master_down", 2 + MDI_100)]),
    ])  # fmt: skip
    assert inst.master_address == "10.0.0.1"


def test_backup_priority_zero_takes_over_after_skew() -> None:
    inst = make()
    inst.start(0.0)
    out = inst.advert(1.0, "10.0.0.1", 0, 100)
    assert no_logs(out) == [SetTimer("master_down", 1.609375)]
    assert inst.timer(1.609375, "master_down")[1] == Transition(B, M, "timeout")


def test_preempt_discards_lower_priority_so_the_backup_takes_over() -> None:
    inst = make(priority=150)
    inst.start(0.0)
    down = master_down_interval(2, 150, 100)
    out = inst.advert(1.0, "10.0.0.1", 100, 100)
    assert no_logs(out) == [] and "discarding" in out[0].message  # type: ignore[union-attr]
    assert inst.timers["master_down"] == down  # not reset
    assert inst.timer(down, "master_down")[1] == Transition(B, M, "timeout")


def test_nopreempt_accepts_lower_priority_master() -> None:
    inst = make(priority=150, preempt=False)
    inst.start(0.0)
    down = master_down_interval(2, 150, 100)
    assert inst.advert(1.0, "10.0.0.1", 100, 100) == [SetTimer("master_down", 1 + down)]


def test_preempt_delay_accepts_lower_priority_until_it_expires() -> None:
    inst = make(priority=150, preempt_delay=10.0)
    inst.start(0.0)
    down = master_down_interval(2, 150, 100)
    out = inst.advert(1.0, "10.0.0.1", 100, 100)
    assert no_logs(out) == [SetTimer("master_down", 1 + down)]
    assert no_logs(inst.advert(10.0, "10.0.0.1", 100, 100)) == [SetTimer("master_down", 10 + down)]
    # past the delay: discarded, so the down timer runs out
    assert no_logs(inst.advert(11.0, "10.0.0.1", 100, 100)) == []
    # a higher-priority advert cancels the delay; the next lower one starts it afresh
    inst.advert(12.0, "10.0.0.1", 200, 100)
    assert inst.preempt_deadline is None
    assert no_logs(inst.advert(13.0, "10.0.0.1", 100, 100)) == [SetTimer("master_down", 13 + down)]


def _master(**kw: Any) -> Instance:
    inst = make(priority=kw.pop("priority", 100), start_master=True, **kw)
    inst.params = Params(**{**_fields(inst.params), "priority": 255})
    inst.start(0.0)
    inst.params = Params(**{**_fields(inst.params), "priority": inst.effective_priority})
    return inst


def _fields(p: Params) -> dict[str, Any]:
    return {f: getattr(p, f) for f in p.__slots__}  # type: ignore[attr-defined]


def test_master_steps_down_to_higher_priority() -> None:
    inst = _master()
    out = no_logs(inst.advert(2.0, "10.0.0.1", 200, 100))
    assert out == [
        CancelTimer("adver"),
        CancelTimer("garp_delay"),
        Transition(M, B, "higher priority advert"),
        Addresses(False),
        SetTimer("master_down", 2 + MDI_100),
    ]
    assert inst.master_address == "10.0.0.1"


def test_equal_priority_higher_address_wins() -> None:
    inst = _master(address="10.0.0.2")
    out = no_logs(inst.advert(2.0, "10.0.0.1", 100, 100))  # lower address: we stay master
    assert out == [SendAdvert(100), SendGarp(5, "lower priority advert"),
                   SetTimer("garp_lower", 7.0), LowerPriorityAdvert("10.0.0.1", 100)]  # fmt: skip
    assert inst.state is M
    out = no_logs(inst.advert(3.0, "10.0.0.3", 100, 100))
    assert Transition(M, B, "higher priority advert") in out
    v6 = _master(address="fe80::5")
    assert v6.advert(1.0, "fe80::9", 100, 100)[-1] == SetTimer("master_down", 1 + MDI_100)


def test_master_lower_priority_options() -> None:
    inst = _master(lower_prio_no_advert=True, garp_lower_prio_repeat=0)
    out = no_logs(inst.advert(2.0, "10.0.0.1", 50, 100))
    assert out == [LowerPriorityAdvert("10.0.0.1", 50)]
    inst2 = _master(garp_lower_prio_delay=0)
    out = no_logs(inst2.advert(2.0, "10.0.0.1", 50, 100))
    assert out == [SendAdvert(100), SendGarp(5, "lower priority advert"),
                   LowerPriorityAdvert("10.0.0.1", 50)]  # fmt: skip
    inst3 = _master()
    inst3.advert(2.0, "10.0.0.1", 50, 100)
    assert inst3.timer(7.0, "garp_lower") == [SendGarp(5, "lower priority delay")]


def test_master_answers_priority_zero_with_an_advert() -> None:
    inst = _master()
    assert inst.advert(0.5, "10.0.0.1", 0, 100) == [SendAdvert(100), SetTimer("adver", 1.5)]


def test_owner_ignore_adverts() -> None:
    inst = make(priority=255, start_master=True, owner_ignore_adverts=True)
    inst.start(0.0)
    assert inst.advert(1.0, "10.0.0.9", 255, 100) == []
    assert inst.state is M


def test_garp_second_burst_and_refresh() -> None:
    inst = make(priority=255, start_master=True, garp_master_refresh=60, garp_master_delay=5)
    out = inst.start(0.0)
    assert SetTimer("garp_refresh", 60.0) in out  # from the transition, as keepalived does
    play(inst, [
        (5.0, "timer", ("garp_delay",), [SendGarp(5, "master delay")]),
        (60.0, "timer", ("garp_refresh",),
         [SendGarp(1, "refresh"), SetTimer("garp_refresh", 120.0)]),
    ])  # fmt: skip
    assert make(priority=255, start_master=True, garp_master_repeat=0).start(0.0) == [
        SendAdvert(255), Transition(INIT, M, "init"), Addresses(True), SetTimer("adver", 1.0),
    ]  # fmt: skip


def test_stop_as_master_sends_priority_zero_and_removes_addresses() -> None:
    inst = _master()
    out = inst.stop(1.5)
    assert out == [CancelTimer("adver"), CancelTimer("garp_delay"), SendAdvert(0),
                   Addresses(False), Transition(M, S, "stop")]  # fmt: skip
    assert inst.stop(2.0) == []
    backup = make()
    backup.start(0.0)
    assert backup.stop(1.0) == [CancelTimer("master_down"), Transition(B, S, "stop")]


# ---- an address removed by another program (keepalived: BACKUP, priority 0, re-election) ----
SKEW_200 = 56 / 256  # v2 Skew_Time of priority 200: 0.21875 s


def _vip_lost_playbook(inst: Instance) -> Playbook:
    return Playbook(lambda now, name, *args: getattr(inst, name)(now, *args))


def test_a_master_whose_vip_is_removed_steps_down_sends_priority_zero_and_wins_again() -> None:
    inst = make(priority=200, garp_master_delay=0, garp_master_repeat=1)
    pb = _vip_lost_playbook(inst)
    pb >> (0.0, "start") << Transition(INIT, B, "init") << SetTimer("master_down", 3 + SKEW_200)
    t_m = 3 + SKEW_200
    pb >> (t_m, "timer", "master_down")
    pb.expect(SendAdvert(200), Transition(B, M, "timeout"), Addresses(True),
              SendGarp(1, "master"), SetTimer("adver", t_m + 1))  # fmt: skip
    # halfway between two adverts someone runs `ip addr del` of the VIP
    t_del = t_m + 1.5
    pb >> (t_del, "address_lost", "VIP 10.0.0.100/24")
    pb.expect(
        Log("info", "VIP 10.0.0.100/24 removed by another program"),
        CancelTimer("adver"),
        Transition(M, B, "address removed"),
        SendAdvert(0),
        Addresses(False),
        SetTimer("master_down", t_del + SKEW_200),
    )
    # a second loss report of the same wave (the rest went with Addresses(False)): nothing
    pb >> (t_del + 0.01, "address_lost", "eVIP 10.0.0.101/24")
    # alone (or still the highest), it is master again Skew_Time later, addresses back
    pb >> (t_del + SKEW_200, "timer", "master_down")
    pb.expect(SendAdvert(200), Transition(B, M, "timeout"), Addresses(True),
              SendGarp(1, "master"), SetTimer("adver", t_del + SKEW_200 + 1))  # fmt: skip
    assert pb
    assert inst.state is M and inst.transitions == 4


def test_after_a_vip_loss_a_higher_priority_peer_answering_first_keeps_mastership() -> None:
    inst = make(priority=100)
    pb = _vip_lost_playbook(inst)
    inst.start(0.0)
    inst.timer(MDI_100, "master_down")
    pb >> (5.0, "address_lost", "VIP 10.0.0.100/24")
    pb.expect(Log("info", "VIP 10.0.0.100/24 removed by another program"),
              CancelTimer("adver"), CancelTimer("garp_delay"),
              Transition(M, B, "address removed"), SendAdvert(0), Addresses(False),
              SetTimer("master_down", 5.0 + skew_time(2, 100, 100)))  # fmt: skip
    # the backup peer (priority 200) answered the priority 0 before our skew expired
    pb >> (5.1, "advert", "10.0.0.1", 200, 100) << SetTimer("master_down", 5.1 + MDI_100)
    assert pb
    assert inst.state is B and inst.master_address == "10.0.0.1"


def test_a_vip_loss_outside_master_changes_nothing() -> None:
    backup = make()
    backup.start(0.0)
    fault = make()
    fault.set_fault(0.0, "eth0 down", True)
    fault.start(0.0)
    stopped = make()
    for inst in (backup, fault, stopped, make()):
        before = (inst.state, dict(inst.timers))
        assert inst.address_lost(1.0, "VIP 10.0.0.100/24") == []
        assert (inst.state, inst.timers) == before


def test_a_group_member_losing_its_vip_leaves_master_and_waits_for_the_group() -> None:
    inst = make(garp_master_delay=0)
    inst.in_group = True
    inst.start(0.0)
    inst.sync_master(1.0)
    assert inst.wants_master
    out = no_logs(inst.address_lost(2.0, "VIP 10.0.0.100/24"))
    assert out == [CancelTimer("adver"), Transition(M, B, "address removed"), SendAdvert(0),
                   Addresses(False), SetTimer("master_down", 2.0 + inst.skew)]  # fmt: skip
    assert not inst.wants_master  # the group sees the member leave master
    # its down timer expires: as any member, it records the wish and waits for the group
    assert inst.timer(2.0 + inst.skew, "master_down") == [
        SetTimer("master_down", 2.0 + inst.skew + MDI_100)
    ]
    assert inst.wants_master and inst.state is B


def test_a_group_demotion_after_a_vip_loss_releases_with_priority_zero_too() -> None:
    inst = make(garp_master_delay=0)
    inst.in_group = True
    inst.start(0.0)
    inst.sync_master(1.0)
    assert inst.sync_backup(2.0, release=True) == [
        CancelTimer("adver"), Transition(M, B, "sync group"), SendAdvert(0),
        Addresses(False), SetTimer("master_down", 2.0 + inst.skew),
    ]  # fmt: skip
    assert inst.state is B and not inst.wants_master
    assert inst.sync_backup(2.1, release=True) == []  # not master any more


def test_v3_centisecond_interval_and_adoption() -> None:
    inst = make(version=3, advert_int_cs=1)
    out = inst.start(0.0)
    assert out[-1] == SetTimer("master_down", pytest.approx(0.036093))
    # the master advertises 10 cs: a v3 backup adopts it, so its timers stretch
    out = inst.advert(0.01, "10.0.0.1", 200, 10)
    assert out[-1] == SetTimer("master_down", pytest.approx(0.01 + 0.360937))
    assert inst.master_adver_int_cs == 10
    # becoming master, it advertises its own interval again
    inst.timer(1.0, "master_down")
    assert inst.master_adver_int_cs == 1 and inst.timers["adver"] == pytest.approx(1.01)


def test_fault_from_master_and_recovery() -> None:
    inst = _master()
    out = inst.set_fault(1.2, "eth0 down", True)
    assert out == [CancelTimer("adver"), CancelTimer("garp_delay"), SendAdvert(0),
                   Addresses(False), Transition(M, F, "eth0 down")]  # fmt: skip
    assert inst.set_fault(1.3, "chk_x", True) == []  # stacked reasons
    assert inst.set_fault(1.4, "eth0 down", False) == []
    assert inst.advert(1.5, "10.0.0.1", 200, 100) == []  # FAULT ignores adverts
    out = inst.set_fault(2.0, "chk_x", False)
    assert out == [Transition(F, B, "chk_x"), SetTimer("master_down", 2 + MDI_100)]


def test_fault_before_start_starts_in_fault() -> None:
    inst = make()
    inst.set_fault(0.0, "eth0 down", True)
    assert inst.start(0.0) == [Transition(INIT, F, "init: eth0 down")]


def test_priority_changes_clamp_and_change_the_skew() -> None:
    inst = make()
    inst.start(0.0)
    assert inst.set_priority(1.0, 300) == [
        Log("info", "Changing effective priority from 100 to 254")
    ]
    assert inst.skew == skew_time(2, 254, 100)
    assert inst.set_priority(1.0, 254) == []
    assert make(priority=255).set_priority(0.0, 10) == []


def test_resume_master_after_a_restart() -> None:
    inst = make()
    out = inst.start(0.0, resume_master=True)
    assert out[:3] == [SendAdvert(100), Transition(INIT, M, "resume"), Addresses(True)]


def test_params_from_a_config_instance() -> None:
    vi = VrrpInstance(name="VI_9", virtual_router_id=9, priority=150, advert_int=0.4,
                      version=2, state=VrrpState.MASTER, nopreempt=True,
                      auth_type=AuthType.AH)  # fmt: skip
    p = Params.from_instance(vi)
    assert (p.vrid, p.priority, p.advert_int_cs, p.start_master, p.preempt, p.ah) == (
        9, 150, 100, True, False, True,
    )  # fmt: skip
    v3 = Params.from_instance(VrrpInstance(name="x", version=3, advert_int=0.015))
    assert v3.advert_int_cs == 2  # rounded half-up to 10 ms, as keepalived


_events = st.lists(
    st.one_of(
        st.tuples(st.just("advert"), st.sampled_from(["10.0.0.1", "10.0.0.3"]),
                  st.sampled_from([0, 50, 100, 200, 255]), st.sampled_from([1, 100])),
        st.tuples(st.just("timer"), st.sampled_from(
            ["master_down", "adver", "garp_delay", "garp_lower", "garp_refresh"])),
        st.tuples(st.just("set_fault"), st.sampled_from(["a", "b"]), st.booleans()),
        st.tuples(st.just("set_priority"), st.integers(1, 254)),
        st.tuples(st.just("stop")),
        st.tuples(st.just("start")),
        st.tuples(st.just("address_lost"), st.just("VIP 10.0.0.100")),
    ),
    max_size=40,
)  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(_events, st.sampled_from([2, 3]), st.booleans(), st.floats(0, 5))
def test_invariants_under_random_events(
    events: list[tuple[Any, ...]], version: int, preempt: bool, delay: float
) -> None:
    """Addresses are installed exactly while MASTER; timers belong to their state."""
    inst = make(version=version, preempt=preempt, preempt_delay=delay, garp_master_refresh=3)
    now, installed = 0.0, False
    for ev in events:
        now += 0.37
        name, args = ev[0], ev[1:]
        if name == "timer":
            now = max(now, inst.timers.get(args[0], now))
        for cmd in getattr(inst, name)(now, *args):
            if isinstance(cmd, Addresses):
                assert cmd.present != installed
                installed = cmd.present
            if isinstance(cmd, SendAdvert) and cmd.priority:
                assert inst.state is M
        assert installed == (inst.state is M)
        if inst.state is M:
            assert "adver" in inst.timers and "master_down" not in inst.timers
        elif inst.state is B:
            assert "master_down" in inst.timers and "adver" not in inst.timers
        else:
            assert not inst.timers


# ---- sync group members (the group's side is tests/unit/vrrp/test_sync.py) -------------


def test_group_member_waits_on_timeout_and_is_promoted_by_the_group() -> None:
    inst = make()
    inst.in_group = True
    inst.start(0.0)
    play(inst, [
        # the down timer expires: no mastership, the timer runs again, the member is ready
        (MDI_100, "timer", ("master_down",), [SetTimer("master_down", 2 * MDI_100)]),
        (MDI_100 + 1, "sync_backup", (), []),  # not master: nothing
        (MDI_100 + 1, "sync_master", (),
         [CancelTimer("master_down"), *become_master(MDI_100 + 1, reason="sync group")]),
        (MDI_100 + 1, "sync_master", (), []),  # already master
    ])  # fmt: skip
    assert inst.wants_master


def test_group_member_accepting_an_advert_is_no_longer_ready() -> None:
    inst = make()
    inst.in_group = True
    inst.start(0.0)
    inst.timer(MDI_100, "master_down")
    assert inst.wants_master
    inst.advert(4.0, "10.0.0.1", 200, 100)
    assert not inst.wants_master and inst.state is B
    # a priority-0 advert shortens the wait to skew time, the member is ready after it
    inst.advert(5.0, "10.0.0.1", 0, 100)
    play(inst, [
        (5.0 + inst.skew, "timer", ("master_down",),
         [SetTimer("master_down", 5.0 + inst.skew + MDI_100)]),
    ])  # fmt: skip
    assert inst.wants_master and inst.state is B


def test_group_demotes_a_master_member_without_priority_zero() -> None:
    inst = make(garp_master_delay=0)
    inst.in_group = True
    inst.start(0.0)
    inst.sync_master(1.0)
    play(inst, [
        (2.0, "sync_backup", (), [
            CancelTimer("adver"), Transition(M, B, "sync group"), Addresses(False),
            SetTimer("master_down", 2.0 + MDI_100),
        ]),
    ])  # fmt: skip
    assert not inst.wants_master
    # the group's fault on a master member: priority 0 and the VIPs go, as any fault
    inst.sync_master(3.0)
    out = inst.set_fault(4.0, "sync group G", True)
    assert SendAdvert(0) in out and Addresses(False) in out and inst.state is F
    assert not inst.wants_master
