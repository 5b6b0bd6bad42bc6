"""The ``vrrp_sync_group`` aggregator: one group's state over its member instances (pure).

The shell reports each member after every change (:meth:`Group.observe`: its FSM state,
whether it has a fault of its own, whether it wants to be master) and carries out the
orders returned, in order. Nothing here does I/O or reads a clock.

keepalived 2.2.7's rules, as observed in the lab (two directors, ``VI_EXT`` + ``VI_INT``):

* FAULT: one member with a fault of its own takes every member to FAULT (a master member
  sends priority 0 and drops its VIPs, a backup member just enters FAULT). The group is
  FAULT until no member has a fault of its own; then every member goes to BACKUP at once.
  The group fault is a fault *reason* on every member (:func:`fault_reason`), so the
  members' own reasons keep stacking under it.
* MASTER: a member whose down timer expires (or whose skew ran out after a priority 0
  advert) *wants* master but stays BACKUP (keepalived re-arms its timer) until every
  other member wants master too; the member that completes the set becomes master first,
  then the others (``Syncing instances to MASTER state``). A member stops wanting master
  when it accepts an advert (a higher-priority master, or any with ``nopreempt`` / during
  ``preempt_delay``), so one member hearing a better master keeps the whole group BACKUP.
* BACKUP: a master member that hears a higher priority goes to BACKUP and takes the
  other masters with it (no priority 0: they simply stop advertising).
* Notifications: members first, then the group (FIFO ``INSTANCE ... / GROUP ...``), except
  at start-up, where keepalived announces the group's BACKUP before its members'
  ``BACKUP (init)``; a group starting in FAULT is announced after its members. On
  shutdown the members go to STOP and then the group.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field


class GroupState(enum.StrEnum):
    INIT = "INIT"
    BACKUP = "BACKUP"
    MASTER = "MASTER"
    FAULT = "FAULT"
    STOP = "STOP"


def fault_reason(group: str) -> str:
    """The fault reason the group puts on its members while it is in FAULT."""
    return f"sync group {group}"


# ---- orders -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Promote:
    """Take this BACKUP member to MASTER (``Instance.sync_master``)."""

    member: str


@dataclass(frozen=True, slots=True)
class Demote:
    """Take this MASTER member to BACKUP (``Instance.sync_backup``)."""

    member: str


@dataclass(frozen=True, slots=True)
class Fault:
    """Set (``on``) or clear the group's fault reason on this member."""

    member: str
    on: bool


@dataclass(frozen=True, slots=True)
class GroupTransition:
    group: str
    prev: GroupState
    state: GroupState
    reason: str = ""  # "resume": every member took up MASTER again after an actor restart


@dataclass(frozen=True, slots=True)
class GroupLog:
    message: str  # without the "VRRP_Group(G) " prefix


Order = Promote | Demote | Fault | GroupTransition | GroupLog


# ---- the aggregator ---------------------------------------------------------------------


@dataclass(slots=True)
class MemberView:
    """What the group knows of one member (the member's FSM is the truth)."""

    state: str = "INIT"
    own_fault: bool = False
    wants_master: bool = False


@dataclass(slots=True)
class Group:
    """One sync group; ``members`` in configuration order."""

    name: str
    members: tuple[str, ...]
    state: GroupState = GroupState.INIT
    views: dict[str, MemberView] = field(default_factory=dict)
    transitions: int = 0
    resuming: bool = False

    def __post_init__(self) -> None:
        for m in self.members:
            self.views.setdefault(m, MemberView())

    # ---- helpers -------------------------------------------------------------------------
    def _others(self, member: str) -> list[str]:
        return [m for m in self.members if m != member]

    def _move(self, out: list[Order], state: GroupState, reason: str = "") -> None:
        prev, self.state = self.state, state
        self.transitions += 1
        out.append(GroupTransition(self.name, prev, state, reason))

    def _first(self, member: str) -> list[str]:
        """Every member, the one that caused the change first."""
        return [member, *self._others(member)]

    # ---- inputs --------------------------------------------------------------------------
    def start(self, own_faults: Mapping[str, bool], *, resume: bool = False) -> list[Order]:
        """Before the members start: FAULT them all if one is faulty, else announce BACKUP.

        ``resume``: every member resumes MASTER (a restarted vrrp actor); the group then
        announces nothing now and MASTER (reason ``resume``) once they have.
        """
        out: list[Order] = []
        if self.state is not GroupState.INIT:
            return out
        for m in self.members:
            self.views[m].own_fault = bool(own_faults.get(m))
        self.resuming = resume
        faulty = [m for m in self.members if self.views[m].own_fault]
        if faulty:
            out += [Fault(m, True) for m in self.members]
            # the group's FAULT is announced when the members have entered it (observe)
        elif not resume:
            self._move(out, GroupState.BACKUP)
        return out

    def observe(self, member: str, state: str, own_fault: bool, wants_master: bool) -> list[Order]:
        """A member's current view, after any change of it; returns the group's orders."""
        out: list[Order] = []
        view = self.views.get(member)
        if view is None or self.state is GroupState.STOP:
            return out
        was = view.state
        view.state, view.own_fault, view.wants_master = state, own_fault, wants_master
        if state == "STOP":
            if all(v.state == "STOP" for v in self.views.values()):
                self._move(out, GroupState.STOP)
            return out
        if any(v.state == "INIT" for v in self.views.values()):
            return out  # still starting: nothing to synchronise yet
        if any(v.own_fault for v in self.views.values()):
            if self.state is not GroupState.FAULT:
                self._to_fault(out, member)
            return out
        if self.state is GroupState.FAULT:
            self._leave_fault(out, member)
        elif self.state is GroupState.INIT:
            self._settle(out)
        elif state == "MASTER" and self.state is not GroupState.MASTER:
            self._to_master(out, member, already=True)
        elif state == "BACKUP" and wants_master and self.state is not GroupState.MASTER:
            if all(self._ready(m) for m in self._others(member)):
                self._to_master(out, member, already=False)
        elif state == "BACKUP" and was == "MASTER" and self.state is GroupState.MASTER:
            self._to_backup(out, member)
        return out

    def _ready(self, member: str) -> bool:
        v = self.views[member]
        return v.state == "MASTER" or (v.state == "BACKUP" and v.wants_master)

    def _to_fault(self, out: list[Order], member: str) -> None:
        out.append(GroupLog("Syncing instances to FAULT state"))
        culprit = member if self.views[member].own_fault else next(
            m for m in self.members if self.views[m].own_fault
        )  # fmt: skip
        out += [Fault(m, True) for m in self._first(culprit)]
        self._move(out, GroupState.FAULT)

    def _leave_fault(self, out: list[Order], member: str) -> None:
        first, *rest = self._first(member)
        out.append(Fault(first, False))
        out.append(GroupLog("Syncing instances to BACKUP state"))
        out += [Fault(m, False) for m in rest]
        self._move(out, GroupState.BACKUP)

    def _settle(self, out: list[Order]) -> None:
        """Every member has started: the group takes their common state."""
        states = {v.state for v in self.views.values()}
        if "FAULT" in states:
            self._move(out, GroupState.FAULT)
        elif states == {"MASTER"}:
            self._move(out, GroupState.MASTER, "resume" if self.resuming else "")
        else:
            self._move(out, GroupState.BACKUP)

    def _to_master(self, out: list[Order], member: str, *, already: bool) -> None:
        if not already:
            out.append(Promote(member))
        out.append(GroupLog("Syncing instances to MASTER state"))
        out += [Promote(m) for m in self._others(member) if self.views[m].state != "MASTER"]
        self._move(out, GroupState.MASTER)

    def _to_backup(self, out: list[Order], member: str) -> None:
        out.append(GroupLog("Syncing instances to BACKUP state"))
        out += [Demote(m) for m in self._others(member) if self.views[m].state == "MASTER"]
        self._move(out, GroupState.BACKUP)

    def status(self) -> dict[str, object]:
        return {
            "state": str(self.state),
            "members": {
                m: {
                    "state": v.state,
                    "own_fault": v.own_fault,
                    "wants_master": v.wants_master,
                }
                for m, v in self.views.items()
            },
            "transitions": self.transitions,
        }
