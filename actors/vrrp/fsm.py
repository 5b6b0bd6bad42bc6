"""The VRRP state machine of one instance: RFC 3768/5798 §6.4 with keepalived's choices.

Pure: every entry point takes ``now`` (monotonic seconds) and returns a list of commands
for the shell to carry out, in order. Timers are commands too (:class:`SetTimer` /
:class:`CancelTimer`); the shell calls :meth:`Instance.timer` when one fires, and the
machine ignores a timer it no longer has pending (or one that fires early), so a late or
stale callback can never cause a transition.

Design notes
------------
* Times are kept in seconds as floats but computed from integer microseconds the way
  keepalived does (v2 skew ``(256 - p) / 256`` s; v3 skew ``(256 - p) * cs * 625 / 16``
  µs), so our Master_Down_Interval equals keepalived's to the microsecond.
* Priority used for Skew_Time is the effective priority (base + tracker weights); an
  address owner uses 255.
* keepalived, not the RFC, decides three things that peers notice: (1) an owner goes
  straight to Master only when also configured ``state MASTER``; every other instance
  starts in Backup and waits a full Master_Down_Interval; (2) a Master answers a
  lower-priority advert with an advert at once (RFC 9568; off with
  ``lower_prio_no_advert``) and a GARP burst (``garp_lower_prio_repeat``); (3) leaving
  Master for Fault sends a priority-0 advert, like a stop, so peers take over after
  Skew_Time.
* A VIP, eVIP or virtual route removed by another program (:meth:`Instance.address_lost`)
  takes a Master to BACKUP with a priority-0 advert; its down timer is Skew_Time, so it
  wins the re-election it causes unless a higher-priority peer answers first.
* ``preempt_delay`` needs no timer: the first lower-priority advert in Backup records a
  deadline; lower-priority adverts keep resetting the down timer until it has passed.
* Master adverts are paced from the previous deadline (no drift); after a stall longer
  than one interval the pace restarts from now.

Sync groups (:mod:`.sync`): an instance with ``in_group`` set does not take mastership
itself when its down timer expires; it records ``wants_master``, re-arms the timer (as
keepalived does) and waits for the group, which calls :meth:`Instance.sync_master` on
every member once all of them want it. :meth:`Instance.sync_backup` is the group taking
a master member back to BACKUP (with ``release`` after another member's address loss: a
priority-0 advert and a Skew_Time wait, as keepalived); the group's FAULT is an ordinary
fault reason.

Timer names: ``adver`` (Master), ``master_down`` (Backup), ``garp_delay`` (second GARP
burst), ``garp_refresh``, ``garp_lower`` (second burst after a lower-priority advert).
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pykeepalived.conf.model import VrrpInstance

PRIO_OWNER = 255
PRIO_STOP = 0


class State(enum.StrEnum):
    INIT = "INIT"
    BACKUP = "BACKUP"
    MASTER = "MASTER"
    FAULT = "FAULT"
    STOP = "STOP"


# ---- commands ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SendAdvert:
    priority: int


@dataclass(frozen=True, slots=True)
class SetTimer:
    name: str
    at: float


@dataclass(frozen=True, slots=True)
class CancelTimer:
    name: str


@dataclass(frozen=True, slots=True)
class Transition:
    prev: State
    state: State
    reason: str


@dataclass(frozen=True, slots=True)
class Addresses:
    """Install (present) or remove the instance's VIPs, eVIPs, virtual routes and rules."""

    present: bool


@dataclass(frozen=True, slots=True)
class SendGarp:
    """Send ``count`` gratuitous ARPs / unsolicited NAs per address."""

    count: int
    reason: str


@dataclass(frozen=True, slots=True)
class Log:
    level: str  # "info" | "warning" | "debug"
    message: str  # without the "(VI_1) " prefix


@dataclass(frozen=True, slots=True)
class LowerPriorityAdvert:
    """A Master heard a lower-priority advert (notify_master_rx_lower_pri)."""

    src: str
    priority: int


Command = (
    SendAdvert | SetTimer | CancelTimer | Transition | Addresses | SendGarp | Log
    | LowerPriorityAdvert
)  # fmt: skip


# ---- parameters -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Params:
    """The settings of one instance that the state machine reads."""

    name: str
    vrid: int
    version: int = 2
    priority: int = 100
    advert_int_cs: int = 100  # centiseconds (v2: whole seconds * 100)
    start_master: bool = False  # `state MASTER`
    preempt: bool = True  # not `nopreempt`
    preempt_delay: float = 0.0
    down_timer_adverts: int = 3
    lower_prio_no_advert: bool = False
    owner_ignore_adverts: bool = False
    garp_master_delay: float = 5.0
    garp_master_repeat: int = 5
    garp_master_refresh: float = 0.0
    garp_master_refresh_repeat: int = 1
    garp_lower_prio_delay: float = 5.0
    garp_lower_prio_repeat: int = 5
    ah: bool = False  # AH auth: keepalived never starts such an instance as MASTER

    @classmethod
    def from_instance(cls, inst: VrrpInstance) -> Params:
        version = inst.version
        if version == 2:
            cs = max(1, min(255, int(inst.advert_int + 0.5))) * 100
        else:
            cs = max(1, min(4095, int(inst.advert_int * 100 + 0.5)))
        return cls(
            name=inst.name,
            vrid=inst.virtual_router_id,
            version=version,
            priority=inst.priority,
            advert_int_cs=cs,
            start_master=str(inst.state) == "MASTER",
            preempt=not inst.nopreempt,
            preempt_delay=inst.preempt_delay,
            down_timer_adverts=inst.down_timer_adverts,
            lower_prio_no_advert=inst.lower_prio_no_advert,
            owner_ignore_adverts=inst.owner_ignore_adverts,
            garp_master_delay=inst.garp_master_delay,
            garp_master_repeat=inst.garp_master_repeat,
            garp_master_refresh=inst.garp_master_refresh,
            garp_master_refresh_repeat=inst.garp_master_refresh_repeat,
            garp_lower_prio_delay=inst.garp_lower_prio_delay,
            garp_lower_prio_repeat=inst.garp_lower_prio_repeat,
            ah=str(inst.auth_type) == "AH",
        )


def skew_time(version: int, priority: int, master_adver_int_cs: int) -> float:
    """Skew_Time in seconds, computed in integer µs as keepalived does."""
    p = min(max(priority, 1), PRIO_OWNER)
    if version == 2:
        return ((256 - p) * 1_000_000 // 256) / 1e6
    return ((256 - p) * master_adver_int_cs * 625 // 16) / 1e6


def master_down_interval(
    version: int, priority: int, master_adver_int_cs: int, adverts: int = 3
) -> float:
    """Master_Down_Interval in seconds (``adverts`` is keepalived's down_timer_adverts)."""
    return adverts * master_adver_int_cs / 100 + skew_time(version, priority, master_adver_int_cs)


def _addr_key(address: str) -> int:
    try:
        return int(ipaddress.ip_address(address.split("%")[0]))
    except ValueError:
        return 0


# ---- the machine ------------------------------------------------------------------------


@dataclass(slots=True)
class Instance:
    """One VRRP instance's protocol state (see the module docstring)."""

    params: Params
    address: str = ""  # our primary (source) address: the tie break compares it
    state: State = State.INIT
    effective_priority: int = 0
    master_adver_int_cs: int = 0
    master_address: str | None = None
    timers: dict[str, float] = field(default_factory=dict)
    preempt_deadline: float | None = None
    fault_reasons: set[str] = field(default_factory=set)
    transitions: int = 0
    in_group: bool = False  # a vrrp_sync_group member: the group decides mastership
    wants_master: bool = False  # down timer expired (or master): ready for the group

    def __post_init__(self) -> None:
        if not self.effective_priority:
            self.effective_priority = self.params.priority
        if not self.master_adver_int_cs:
            self.master_adver_int_cs = self.params.advert_int_cs

    # ---- derived values ------------------------------------------------------------------
    @property
    def is_owner(self) -> bool:
        return self.params.priority == PRIO_OWNER

    @property
    def advert_interval(self) -> float:
        return self.params.advert_int_cs / 100

    @property
    def skew(self) -> float:
        return skew_time(self.params.version, self.effective_priority, self._down_base_cs())

    @property
    def master_down(self) -> float:
        return master_down_interval(
            self.params.version,
            self.effective_priority,
            self._down_base_cs(),
            self.params.down_timer_adverts,
        )

    def _down_base_cs(self) -> int:
        # v2 backups never learn the interval (a mismatch is dropped); v3 ones adopt it
        return self.params.advert_int_cs if self.params.version == 2 else self.master_adver_int_cs

    # ---- helpers -------------------------------------------------------------------------
    def _set(self, out: list[Command], name: str, at: float) -> None:
        self.timers[name] = at
        out.append(SetTimer(name, at))

    def _cancel(self, out: list[Command], *names: str) -> None:
        for name in names:
            if self.timers.pop(name, None) is not None:
                out.append(CancelTimer(name))

    def _cancel_all(self, out: list[Command]) -> None:
        self._cancel(out, *list(self.timers))

    def _move(self, out: list[Command], state: State, reason: str) -> None:
        prev = self.state
        self.state = state
        self.transitions += 1
        out.append(Transition(prev, state, reason))

    def _become_backup(self, now: float, out: list[Command], reason: str) -> None:
        was_master = self.state is State.MASTER
        self._cancel(out, "adver", "garp_delay", "garp_refresh", "garp_lower")
        self._move(out, State.BACKUP, reason)
        if was_master:
            out.append(Addresses(False))
        self.preempt_deadline = None
        self.wants_master = False
        self._set(out, "master_down", now + self.master_down)

    def _become_master(self, now: float, out: list[Command], reason: str) -> None:
        p = self.params
        self._cancel(out, "master_down")
        # the advert goes first (the old master drops its VIPs on it), then the news
        out.append(SendAdvert(self.effective_priority))
        self._move(out, State.MASTER, reason)
        self.wants_master = True
        self.master_adver_int_cs = p.advert_int_cs
        self.master_address = self.address or None
        out.append(Addresses(True))
        if p.garp_master_repeat > 0:
            out.append(SendGarp(p.garp_master_repeat, "master"))
        self._set(out, "adver", now + self.advert_interval)
        if p.garp_master_delay > 0 and p.garp_master_repeat > 0:
            self._set(out, "garp_delay", now + p.garp_master_delay)
        if p.garp_master_refresh > 0:
            # the first refresh is garp_master_refresh after becoming master, not after the
            # second burst (keepalived 2.2.7 in the lab: delay 3, refresh 4 -> 4, 8, ...)
            self._set(out, "garp_refresh", now + p.garp_master_refresh)

    # ---- inputs --------------------------------------------------------------------------
    def start(self, now: float, *, resume_master: bool = False) -> list[Command]:
        """Startup (Initialize). ``resume_master``: a restarted actor of a live master."""
        out: list[Command] = []
        if self.state not in (State.INIT, State.STOP):
            return out
        if self.fault_reasons:
            self._move(out, State.FAULT, "init: " + ", ".join(sorted(self.fault_reasons)))
            return out
        if resume_master:
            self._become_master(now, out, "resume")
        elif self.is_owner and self.params.start_master and not self.params.ah:
            self._become_master(now, out, "init")
        else:
            self._become_backup(now, out, "init")
        return out

    def stop(self, now: float) -> list[Command]:
        """Shutdown: a Master sends priority 0 and drops its addresses; all go to STOP."""
        out: list[Command] = []
        if self.state is State.STOP:
            return out
        was_master = self.state is State.MASTER
        self._cancel_all(out)
        if was_master:
            out.append(SendAdvert(PRIO_STOP))
            out.append(Addresses(False))
        self._move(out, State.STOP, "stop")
        return out

    def timer(self, now: float, name: str) -> list[Command]:
        out: list[Command] = []
        at = self.timers.get(name)
        if at is None:
            return out
        if now < at:
            out.append(SetTimer(name, at))  # early wake-up: re-arm, act later
            return out
        del self.timers[name]
        p = self.params
        if name == "master_down" and self.state is State.BACKUP and self.in_group:
            # the group decides (sync.Group.observe); keep the timer running meanwhile
            self.wants_master = True
            self._set(out, "master_down", now + self.master_down)
        elif name == "master_down" and self.state is State.BACKUP:
            self._become_master(now, out, "timeout")
        elif name == "adver" and self.state is State.MASTER:
            out.append(SendAdvert(self.effective_priority))
            nxt = at + self.advert_interval
            if nxt <= now:
                nxt = now + self.advert_interval
            self._set(out, "adver", nxt)
        elif name == "garp_delay" and self.state is State.MASTER:
            out.append(SendGarp(p.garp_master_repeat, "master delay"))
        elif name == "garp_refresh" and self.state is State.MASTER:
            out.append(SendGarp(p.garp_master_refresh_repeat, "refresh"))
            self._set(out, "garp_refresh", now + p.garp_master_refresh)
        elif name == "garp_lower" and self.state is State.MASTER:
            out.append(SendGarp(p.garp_lower_prio_repeat, "lower priority delay"))
        return out

    def advert(self, now: float, src: str, priority: int, max_adver_int_cs: int) -> list[Command]:
        """A valid advert for this instance (every packet check has already passed)."""
        out: list[Command] = []
        if self.state is State.BACKUP:
            self._backup_rx(now, out, src, priority, max_adver_int_cs)
        elif self.state is State.MASTER:
            self._master_rx(now, out, src, priority, max_adver_int_cs)
        return out

    def _backup_rx(
        self, now: float, out: list[Command], src: str, priority: int, interval: int
    ) -> None:
        p = self.params
        if priority == PRIO_STOP:
            self.master_address = src
            out.append(Log("info", "Backup received priority 0 advertisement"))
            self._set(out, "master_down", now + self.skew)
            return
        lower = priority < self.effective_priority
        if lower and p.preempt:
            if p.preempt_delay > 0:
                if self.preempt_deadline is None:
                    self.preempt_deadline = now + p.preempt_delay
                    out.append(Log("info", f"start preempt delay ({p.preempt_delay:g}s)"))
                if now < self.preempt_deadline:
                    self._accept(now, out, src, interval)
                    return
            out.append(
                Log(
                    "info",
                    f"received lower priority ({priority}) advert from {src} - discarding",
                )
            )
            return
        if not lower:
            self.preempt_deadline = None
        self._accept(now, out, src, interval)

    def _accept(self, now: float, out: list[Command], src: str, interval: int) -> None:
        self.master_address = src
        self.wants_master = False  # a master is there: this member holds its group back
        if self.params.version == 3 and interval != self.master_adver_int_cs:
            out.append(
                Log(
                    "info",
                    f"advertisement interval changed: mine={self.master_adver_int_cs}"
                    f" rcv={interval}",
                )
            )
            self.master_adver_int_cs = interval
        self._set(out, "master_down", now + self.master_down)

    def _master_rx(
        self, now: float, out: list[Command], src: str, priority: int, interval: int
    ) -> None:
        p = self.params
        if priority == PRIO_STOP:
            out.append(SendAdvert(self.effective_priority))
            self._set(out, "adver", now + self.advert_interval)
            return
        if self.is_owner and p.owner_ignore_adverts:
            return
        mine = self.effective_priority
        if priority > mine or (priority == mine and _addr_key(src) > _addr_key(self.address)):
            out.append(
                Log(
                    "info",
                    f"Master received advert from {src} with higher priority {priority}, "
                    f"ours {mine}",
                )
            )
            if p.version == 3:
                self.master_adver_int_cs = interval
            self.master_address = src
            self._become_backup(now, out, "higher priority advert")
            return
        out.append(
            Log("info", f"Received advert from {src} with lower priority {priority}, ours {mine}")
        )
        if not p.lower_prio_no_advert:
            out.append(SendAdvert(mine))
        if p.garp_lower_prio_repeat > 0:
            out.append(SendGarp(p.garp_lower_prio_repeat, "lower priority advert"))
            if p.garp_lower_prio_delay > 0:
                self._set(out, "garp_lower", now + p.garp_lower_prio_delay)
        out.append(LowerPriorityAdvert(src, priority))

    def set_fault(self, now: float, reason: str, faulty: bool) -> list[Command]:
        """A tracked interface/script went bad (or recovered). Several reasons may stack."""
        out: list[Command] = []
        before = bool(self.fault_reasons)
        if faulty:
            self.fault_reasons.add(reason)
        else:
            self.fault_reasons.discard(reason)
        after = bool(self.fault_reasons)
        if self.state in (State.INIT, State.STOP) or before == after:
            return out
        if after:
            was_master = self.state is State.MASTER
            self._cancel_all(out)
            if was_master:
                out.append(SendAdvert(PRIO_STOP))
                out.append(Addresses(False))
            self.preempt_deadline = None
            self.wants_master = False
            self._move(out, State.FAULT, reason)
        else:
            self.master_adver_int_cs = self.params.advert_int_cs
            self._become_backup(now, out, reason)
        return out

    def address_lost(self, now: float, what: str) -> list[Command]:
        """Another program removed a tracked VIP, eVIP or virtual route of this instance.

        keepalived's answer: a Master goes to BACKUP at once, sends a priority-0 advert,
        removes the rest of its addresses and re-runs the election with its down timer set
        to Skew_Time (as if it had heard the priority 0 itself), so alone or highest it is
        Master again, with every address put back, Skew_Time later. Other states ignore it.
        """
        out: list[Command] = []
        if self.state is not State.MASTER:
            return out
        out.append(Log("info", f"{what} removed by another program"))
        self._release(now, out, "address removed")
        return out

    def _release(self, now: float, out: list[Command], reason: str) -> None:
        """Leave MASTER for a re-election: priority 0, addresses off, down timer Skew_Time."""
        self._cancel(out, "adver", "garp_delay", "garp_refresh", "garp_lower")
        self._move(out, State.BACKUP, reason)
        out.append(SendAdvert(PRIO_STOP))
        out.append(Addresses(False))
        self.preempt_deadline = None
        self.wants_master = False
        self.master_address = None
        self._set(out, "master_down", now + self.skew)

    def sync_master(self, now: float) -> list[Command]:
        """The sync group takes this BACKUP member to MASTER (every member wants it)."""
        out: list[Command] = []
        if self.state is State.BACKUP:
            self._become_master(now, out, "sync group")
        return out

    def sync_backup(self, now: float, *, release: bool = False) -> list[Command]:
        """The sync group takes this MASTER member to BACKUP (another member lost).

        ``release``: the other member left for a re-election (its address was removed);
        keepalived then has every member send priority 0 and wait Skew_Time as well.
        """
        out: list[Command] = []
        if self.state is State.MASTER and release:
            self._release(now, out, "sync group")
        elif self.state is State.MASTER:
            self._become_backup(now, out, "sync group")
        return out

    def set_priority(self, now: float, priority: int) -> list[Command]:
        """Tracker weights changed the effective priority (owners are never adjusted)."""
        out: list[Command] = []
        if self.is_owner:
            return out
        priority = max(1, min(254, priority))
        if priority == self.effective_priority:
            return out
        old, self.effective_priority = self.effective_priority, priority
        out.append(Log("info", f"Changing effective priority from {old} to {priority}"))
        return out

    def status(self) -> dict[str, object]:
        return {
            "state": str(self.state),
            "priority": self.effective_priority,
            "base_priority": self.params.priority,
            "master_adver_int": self.master_adver_int_cs / 100,
            "skew_time": self.skew,
            "master_down_interval": self.master_down,
            "master_address": self.master_address,
            "fault_reasons": sorted(self.fault_reasons),
            "transitions": self.transitions,
            "wants_master": self.wants_master,
        }
