"""Playbooks for the sync-group aggregator (member views in, orders out), then the group
driving real member state machines the way the shell does (keepalived 2.2.7's orders)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pykeepalived.actors.vrrp import fsm
from pykeepalived.actors.vrrp.sync import (
    Demote,
    Fault,
    Group,
    GroupLog,
    GroupState,
    GroupTransition,
    Order,
    Promote,
    fault_reason,
)

GB, GM, GF, GI, GS = (
    GroupState.BACKUP, GroupState.MASTER, GroupState.FAULT, GroupState.INIT, GroupState.STOP,
)  # fmt: skip
EXT, INT = "VI_EXT", "VI_INT"


def gt(prev: GroupState, state: GroupState) -> GroupTransition:
    return GroupTransition("G", prev, state)


Step = tuple[str, tuple[Any, ...], Sequence[Order]]


def play(group: Group, steps: Sequence[Step]) -> None:
    for i, (what, args, expect) in enumerate(steps):
        got = getattr(group, what)(*args)
        assert got == list(expect), f"step {i} ({what}{args}): {got}"


def started() -> Group:
    g = Group("G", (EXT, INT))
    play(g, [
        ("start", ({EXT: False, INT: False},), [gt(GI, GB)]),
        ("observe", (EXT, "BACKUP", False, False), []),
        ("observe", (INT, "BACKUP", False, False), []),
    ])  # fmt: skip
    return g


def test_start_announces_backup_before_members_and_fault_after_them() -> None:
    started()  # GROUP BACKUP first (keepalived's FIFO at start), members after
    g = Group("G", (EXT, INT))
    play(g, [
        # a member faulty at start: every member gets the group's fault before starting
        ("start", ({EXT: False, INT: True},), [Fault(EXT, True), Fault(INT, True)]),
        ("observe", (EXT, "FAULT", False, False), []),
        ("observe", (INT, "FAULT", True, False), [
            GroupLog("Syncing instances to FAULT state"),
            Fault(INT, True), Fault(EXT, True), gt(GI, GF),
        ]),
    ])  # fmt: skip


def test_master_only_when_every_member_wants_it() -> None:
    g = started()
    play(g, [
        # VI_EXT's down timer expired: it waits, VI_INT does not want master yet
        ("observe", (EXT, "BACKUP", False, True), []),
        ("observe", (EXT, "BACKUP", False, True), []),
        # VI_INT's expires too: it goes first, then the group syncs VI_EXT
        ("observe", (INT, "BACKUP", False, True), [
            Promote(INT), GroupLog("Syncing instances to MASTER state"), Promote(EXT),
            gt(GB, GM),
        ]),
        ("observe", (INT, "MASTER", False, True), []),
        ("observe", (EXT, "MASTER", False, True), []),
    ])  # fmt: skip
    assert g.state is GM


def test_a_member_hearing_a_master_holds_the_group_in_backup() -> None:
    g = started()
    play(g, [
        ("observe", (EXT, "BACKUP", False, True), []),
        ("observe", (INT, "BACKUP", False, False), []),  # accepted an advert
        ("observe", (EXT, "BACKUP", False, True), []),  # timer again: still blocked
    ])  # fmt: skip
    assert g.state is GB


def test_one_master_hearing_higher_priority_takes_the_group_to_backup() -> None:
    g = started()
    g.observe(EXT, "BACKUP", False, True)
    g.observe(INT, "BACKUP", False, True)
    g.observe(INT, "MASTER", False, True)
    g.observe(EXT, "MASTER", False, True)
    play(g, [
        ("observe", (EXT, "BACKUP", False, False), [
            GroupLog("Syncing instances to BACKUP state"), Demote(INT), gt(GM, GB),
        ]),
        ("observe", (INT, "BACKUP", False, False), []),
    ])  # fmt: skip


def test_one_fault_faults_all_and_the_last_recovery_returns_all_to_backup() -> None:
    g = started()
    play(g, [
        ("observe", (INT, "FAULT", True, False), [
            GroupLog("Syncing instances to FAULT state"),
            Fault(INT, True), Fault(EXT, True), gt(GB, GF),
        ]),
        ("observe", (EXT, "FAULT", False, False), []),
        # VI_EXT fails on its own too, then VI_INT recovers: still FAULT
        ("observe", (EXT, "FAULT", True, False), []),
        ("observe", (INT, "FAULT", False, False), []),
        # VI_EXT recovers last: it leaves first, the group syncs VI_INT, then the group
        ("observe", (EXT, "FAULT", False, False), [
            Fault(EXT, False), GroupLog("Syncing instances to BACKUP state"),
            Fault(INT, False), gt(GF, GB),
        ]),
        ("observe", (EXT, "BACKUP", False, False), []),
        ("observe", (INT, "BACKUP", False, False), []),
    ])  # fmt: skip


def test_a_member_master_by_itself_takes_the_others_and_stop_comes_last() -> None:
    g = started()
    play(g, [
        # e.g. resumed as master after a crash of the actor
        ("observe", (EXT, "MASTER", False, True), [
            GroupLog("Syncing instances to MASTER state"), Promote(INT), gt(GB, GM),
        ]),
        ("observe", (INT, "MASTER", False, True), []),
        ("observe", (EXT, "STOP", False, False), []),
        ("observe", (INT, "STOP", False, False), [gt(GM, GS)]),
        ("observe", (INT, "BACKUP", False, True), []),  # nothing after STOP
    ])  # fmt: skip


def test_resumed_members_make_the_group_master_without_a_backup_first() -> None:
    g = Group("G", (EXT, INT))
    assert g.start({EXT: False, INT: False}, resume=True) == []  # no BACKUP announced
    play(g, [
        ("observe", (EXT, "MASTER", False, True), []),
        ("observe", (INT, "MASTER", False, True), [GroupTransition("G", GI, GM, "resume")]),
    ])  # fmt: skip
    g = Group("G", (EXT, INT))
    g.start({EXT: False, INT: False}, resume=False)
    assert g.state is GB


def test_unknown_member_and_status() -> None:
    g = started()
    assert g.observe("nope", "FAULT", True, False) == []
    st = g.status()
    assert st["state"] == "BACKUP" and set(st["members"]) == {EXT, INT}  # type: ignore[arg-type]


# ---- the group driving real member state machines -----------------------------------------


class Shell:
    """What actor.py does: run orders on the member FSMs, observe after every change."""

    def __init__(self, prios: dict[str, int]) -> None:
        self.members = {
            n: fsm.Instance(fsm.Params(name=n, vrid=i + 1, priority=p), address="10.0.0.2",
                            in_group=True)
            for i, (n, p) in enumerate(prios.items())
        }  # fmt: skip
        self.group = Group("G", tuple(prios))
        self.log: list[str] = []
        self.run_group(self.group.start({n: False for n in prios}))
        for n, inst in self.members.items():
            self.run(n, inst.start(0.0))

    def own(self, n: str) -> bool:
        return bool(self.members[n].fault_reasons - {fault_reason("G")})

    def run(self, n: str, cmds: list[fsm.Command]) -> None:
        for c in cmds:
            if isinstance(c, fsm.Transition):
                self.log.append(f"INSTANCE {n} {c.state}")
            elif isinstance(c, fsm.SendAdvert) and c.priority == 0:
                self.log.append(f"{n} priority 0")
        inst = self.members[n]
        self.run_group(self.group.observe(n, str(inst.state), self.own(n), inst.wants_master))

    def run_group(self, orders: list[Order]) -> None:
        for o in orders:
            if isinstance(o, GroupTransition):
                self.log.append(f"GROUP G {o.state}")
            elif isinstance(o, Promote):
                self.run(o.member, self.members[o.member].sync_master(1.0))
            elif isinstance(o, Demote):
                self.run(o.member, self.members[o.member].sync_backup(1.0))
            elif isinstance(o, Fault):
                self.run(o.member, self.members[o.member].set_fault(1.0, fault_reason("G"), o.on))


def test_shell_order_matches_keepalived_fifo_for_the_lvs_nat_failover() -> None:
    sh = Shell({EXT: 200, INT: 200})
    assert sh.log == ["GROUP G BACKUP", f"INSTANCE {EXT} BACKUP", f"INSTANCE {INT} BACKUP"]
    sh.log.clear()
    ext, intl = sh.members[EXT], sh.members[INT]
    # VI_EXT's timer first: it stays BACKUP (timer re-armed), then VI_INT's completes it
    cmds = ext.timer(10.0, "master_down")
    assert ext.state is fsm.State.BACKUP and ext.wants_master
    assert cmds == [fsm.SetTimer("master_down", 10.0 + ext.master_down)]
    sh.run(EXT, cmds)
    assert sh.log == []
    sh.run(INT, intl.timer(10.0, "master_down"))
    assert sh.log == [f"INSTANCE {INT} MASTER", f"INSTANCE {EXT} MASTER", "GROUP G MASTER"]
    sh.log.clear()
    # the internal link fails: both leave master with priority 0, the group is FAULT
    sh.run(INT, intl.set_fault(20.0, "eth1 down", True))
    assert sh.log == [
        f"{INT} priority 0", f"INSTANCE {INT} FAULT", f"{EXT} priority 0",
        f"INSTANCE {EXT} FAULT", "GROUP G FAULT",
    ]  # fmt: skip
    sh.log.clear()
    sh.run(INT, intl.set_fault(30.0, "eth1 down", False))
    assert sh.log == [f"INSTANCE {INT} BACKUP", f"INSTANCE {EXT} BACKUP", "GROUP G BACKUP"]
    assert ext.fault_reasons == set() and intl.fault_reasons == set()


def test_shell_higher_priority_on_one_member_demotes_the_group() -> None:
    sh = Shell({EXT: 100, INT: 100})
    ext, intl = sh.members[EXT], sh.members[INT]
    sh.run(EXT, ext.timer(10.0, "master_down"))
    sh.run(INT, intl.timer(10.0, "master_down"))
    assert (ext.state, intl.state) == (fsm.State.MASTER, fsm.State.MASTER)
    sh.log.clear()
    sh.run(EXT, ext.advert(11.0, "10.0.0.9", 200, 100))
    assert sh.log == [f"INSTANCE {EXT} BACKUP", f"INSTANCE {INT} BACKUP", "GROUP G BACKUP"]
    # VI_INT hears nobody, times out, but VI_EXT hears the master: the group stays BACKUP
    sh.log.clear()
    sh.run(INT, intl.timer(20.0, "master_down"))
    sh.run(EXT, ext.advert(20.5, "10.0.0.9", 200, 100))
    assert sh.log == [] and intl.state is fsm.State.BACKUP and intl.wants_master
    # the master stops (priority 0): VI_EXT's skew runs out, now both want it
    sh.run(EXT, ext.advert(21.0, "10.0.0.9", 0, 100))
    sh.run(EXT, ext.timer(21.0 + ext.skew, "master_down"))
    assert sh.log == [f"INSTANCE {EXT} MASTER", f"INSTANCE {INT} MASTER", "GROUP G MASTER"]


def test_shell_nopreempt_member_accepting_lower_priority_keeps_group_backup() -> None:
    sh = Shell({EXT: 200, INT: 200})
    ext, intl = sh.members[EXT], sh.members[INT]
    ext.params = fsm.Params(name=EXT, vrid=1, priority=200, preempt=False)
    sh.run(EXT, ext.timer(10.0, "master_down"))  # EXT wants master, waits for INT
    assert ext.wants_master
    sh.run(EXT, ext.advert(10.1, "10.0.0.9", 100, 100))  # nopreempt: accepted, not ready
    assert not ext.wants_master
    sh.log.clear()
    sh.run(INT, intl.timer(10.2, "master_down"))  # INT wants master: EXT holds it back
    assert sh.log == [] and sh.group.state is GB
    assert (ext.state, intl.state) == (fsm.State.BACKUP, fsm.State.BACKUP)
