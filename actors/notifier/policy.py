"""What to notify, for which event, in which order (pure).

Owns the notifier's decisions, as keepalived 2.2.7 takes them in ``vrrp_notify.c`` and
``check/ipwrapper.c`` plus the checkers' ``smtp_alert`` calls:

* ``vrrp.state`` → the instance's ``notify_<state>`` script, then its generic ``notify``
  script (``INSTANCE name STATE prio``), then the FIFO line, then the mail (once per state:
  keepalived remembers the last state it mailed; ``no_email_faults`` silences FAULT).
  INIT has no notifies; DELETED is reported as FAULT unless ``notify_deleted`` is set.
  A restarted vrrp actor taking up the state it had (reason ``resume``) is not announced
  again when this actor already knows that state.
* ``vrrp.group`` → the group's scripts (``GROUP name STATE 0``), FIFO line, mail; a
  ``resume`` group MASTER this actor already knows is not announced again (as instances).
* ``vrrp.rx_lower_pri`` (``{instance, src, priority}``, the priority being the advert's)
  → ``notify_master_rx_lower_pri`` and a ``MASTER_RX_LOWER_PRI`` FIFO line with the
  instance's own effective priority (no generic notify, no mail, as keepalived).
* ``vrrp.priority`` (``{instance, state, priority, prev_priority}``, sent by the vrrp actor
  when tracking changes an effective priority) → ``MASTER_PRIORITY``/``BACKUP_PRIORITY`` FIFO
  lines when ``notify_priority_changes`` (or the global ``vrrp_notify_priority_changes``).
* ``check.result`` → the real server's state is the conjunction of its checkers' verdicts
  (each checker starts up, or down with ``alpha``). A change of the real server's state
  runs ``notify_up``/``notify_down`` and writes the ``RS`` FIFO line; a change of one
  checker's verdict mails (when the real server has ``smtp_alert``, and, with
  ``no_checker_emails``, only if the real server's state changed) with the checker's own
  wording. A first verdict that confirms an ``alpha`` start re-announces the state
  (keepalived's has_run rule). ``rs_init_notifies`` announces live servers at start.
* Verdicts sent because the daemon stops (``omega``; the optional ``stopping`` field, or
  the checker's ``checker stopping (omega)`` reason) announce live servers down with
  ``=> Shutting down <=`` mails and the one-second stop-time script limit, as keepalived.
* ``lb.quorum`` → on a change of the virtual server's quorum state (the ipvs actor
  decides it; the initial state is keepalived's ``set_quorum_states``): ``quorum_up`` /
  ``quorum_down``, the ``VS`` FIFO line, the mail (``Gained quorum q+h=t <= sum``).
* A reload that removes a live real server announces it down (mail ``=> Removing <=``);
  with ``fifo_write_vrrp_states_on_reload`` it writes every group's and instance's current
  state to the FIFOs again.

Design: events are bus bodies (dicts), validated here (``ValueError`` on a malformed
one); the output is a list of :class:`RunScript`, :class:`WriteFifo` and
:class:`SendMail` commands in keepalived's order. Scripts carry a ``queue``: the shell runs
the scripts of one queue (one instance, group, real server or virtual server) one after
the other, in that order, and different queues side by side. keepalived starts every
script at once and so guarantees no order; here the order of one instance's transitions
is kept, at the price that a slow script delays the next of *its* instance only. Hence a
timeout for every script (keepalived has none for notifies: ``DEFAULT_SCRIPT_TIMEOUT``),
and STOP scripts in a queue of their own so that they always run at shutdown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pykeepalived.actors.notifier import format as fmt
from pykeepalived.bus.messages import (
    CheckResult,
    LbQuorum,
    VrrpGroup,
    VrrpPriority,
    VrrpRxLowerPri,
    VrrpState,
)
from pykeepalived.conf import model as m

#: seconds a notify script may run when the configuration gives no timeout; keepalived
#: lets them run for ever, which would stall the per-instance order behind a hung script
DEFAULT_SCRIPT_TIMEOUT = 30.0
#: keepalived kills the scripts it starts while stopping after one second (TIMER_HZ)
STOP_SCRIPT_TIMEOUT = 1.0


# ----------------------------------------------------------------------------- settings


@dataclass(frozen=True, slots=True)
class Script:
    """A script to run: argv without the extra words, whom it runs as, its timeout."""

    argv: tuple[str, ...]
    user: str | None = None
    group: str | None = None
    timeout: float | None = None


@dataclass(frozen=True, slots=True)
class InstanceSettings:
    name: str
    priority: int = 100
    scripts: Mapping[str, Script] = field(default_factory=dict)  # state → notify_<state>
    generic: Script | None = None
    rx_lower_pri: Script | None = None
    notify_deleted: bool = False
    smtp_alert: bool = False
    priority_changes: bool = False


@dataclass(frozen=True, slots=True)
class GroupSettings:
    name: str
    scripts: Mapping[str, Script] = field(default_factory=dict)
    generic: Script | None = None
    smtp_alert: bool = False


@dataclass(frozen=True, slots=True)
class RealServerSettings:
    key: str  # bus spelling
    ka: str  # keepalived spelling
    weight: int = 1
    notify_up: Script | None = None
    notify_down: Script | None = None
    smtp_alert: bool = True
    checkers: Mapping[str, bool] = field(default_factory=dict)  # bus checker name → alpha


@dataclass(frozen=True, slots=True)
class VirtualServerSettings:
    key: str
    protocol: str
    ka: str
    quorum: int = 1
    hysteresis: int = 0
    quorum_up: Script | None = None
    quorum_down: Script | None = None
    smtp_alert: bool = False
    real_servers: Mapping[str, RealServerSettings] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Settings:
    router_id: str
    smtp: bool = False  # a server and at least one recipient
    no_email_faults: bool = False
    no_checker_emails: bool = False
    rs_init_notifies: bool = False
    priority_changes: bool = False
    fifo_states_on_reload: bool = False
    script_timeout: float = DEFAULT_SCRIPT_TIMEOUT
    instances: Mapping[str, InstanceSettings] = field(default_factory=dict)
    groups: Mapping[str, GroupSettings] = field(default_factory=dict)
    virtual_servers: Mapping[tuple[str, str], VirtualServerSettings] = field(default_factory=dict)


def script_of(s: m.NotifyScript | None) -> Script | None:
    """The notifier's view of a configured script keyword (None when absent or empty)."""
    if s is None or not s.argv:
        return None
    return Script(tuple(s.argv), s.user, s.group, s.timeout)


def checker_names(rs: m.RealServer) -> dict[str, bool]:
    """Bus names of a real server's checkers (``TCP_CHECK``, ``HTTP_GET#2``) → alpha.

    The same naming as the checker actor: ``#n`` only when a kind repeats. BFD_CHECK is
    left out (the checker actor does not run it, so it never reports).
    """
    counts: dict[str, int] = {}
    for chk in rs.checkers:
        counts[chk.kind] = counts.get(chk.kind, 0) + 1
    seen: dict[str, int] = {}
    out: dict[str, bool] = {}
    for chk in rs.checkers:
        seen[chk.kind] = seen.get(chk.kind, 0) + 1
        if chk.kind == "BFD_CHECK":
            continue
        name = chk.kind if counts[chk.kind] == 1 else f"{chk.kind}#{seen[chk.kind]}"
        out[name] = bool(chk.alpha)
    return out


def settings_from_config(
    config: m.Config, hostname: str, script_timeout: float = DEFAULT_SCRIPT_TIMEOUT
) -> Settings:
    """Map the configuration model onto the notifier's settings."""
    gd = config.global_defs
    instances: dict[str, InstanceSettings] = {}
    for inst in config.vrrp_instances:
        scripts = {
            state: sc
            for state, sc in (
                ("MASTER", script_of(inst.notify_master)),
                ("BACKUP", script_of(inst.notify_backup)),
                ("FAULT", script_of(inst.notify_fault)),
                ("STOP", script_of(inst.notify_stop)),
                ("DELETED", script_of(inst.notify_deleted_script)),
            )
            if sc is not None
        }
        instances[inst.name] = InstanceSettings(
            name=inst.name,
            priority=inst.priority,
            scripts=scripts,
            generic=script_of(inst.notify),
            rx_lower_pri=script_of(inst.notify_master_rx_lower_pri),
            notify_deleted=inst.notify_deleted,
            smtp_alert=inst.smtp_alert,
            priority_changes=inst.notify_priority_changes or gd.vrrp_notify_priority_changes,
        )
    groups: dict[str, GroupSettings] = {}
    for grp in config.vrrp_sync_groups:
        scripts = {
            state: sc
            for state, sc in (
                ("MASTER", script_of(grp.notify_master)),
                ("BACKUP", script_of(grp.notify_backup)),
                ("FAULT", script_of(grp.notify_fault)),
                ("STOP", script_of(grp.notify_stop)),
            )
            if sc is not None
        }
        groups[grp.name] = GroupSettings(
            name=grp.name, scripts=scripts, generic=script_of(grp.notify), smtp_alert=grp.smtp_alert
        )
    vss: dict[tuple[str, str], VirtualServerSettings] = {}
    for vs in config.virtual_servers:
        proto = str(vs.protocol.value).lower()
        vs_ka = fmt.ka_service(vs.key, proto)
        rss: dict[str, RealServerSettings] = {}
        for rs in vs.real_servers:
            rss[rs.key] = RealServerSettings(
                key=rs.key,
                ka=fmt.ka_address_service(rs.address, rs.port, proto),
                weight=rs.weight,
                notify_up=script_of(rs.notify_up),
                notify_down=script_of(rs.notify_down),
                smtp_alert=rs.smtp_alert,
                checkers=checker_names(rs),
            )
        vss[(vs.key, proto)] = VirtualServerSettings(
            key=vs.key,
            protocol=proto,
            ka=vs_ka,
            quorum=vs.quorum,
            hysteresis=vs.hysteresis,
            quorum_up=script_of(vs.quorum_up),
            quorum_down=script_of(vs.quorum_down),
            smtp_alert=vs.smtp_alert,
            real_servers=rss,
        )
    return Settings(
        router_id=gd.router_id or hostname,
        smtp=bool(gd.smtp_server) and bool(gd.notification_email),
        no_email_faults=gd.no_email_faults,
        no_checker_emails=gd.no_checker_emails,
        rs_init_notifies=gd.rs_init_notifies,
        priority_changes=gd.vrrp_notify_priority_changes,
        fifo_states_on_reload=gd.fifo_write_vrrp_states_on_reload,
        script_timeout=script_timeout,
        instances=instances,
        groups=groups,
        virtual_servers=vss,
    )


def all_scripts(settings: Settings) -> list[Script]:
    """Every script the settings may run (for the shell's security vetting)."""
    out: list[Script] = []
    for inst in settings.instances.values():
        out += list(inst.scripts.values())
        out += [s for s in (inst.generic, inst.rx_lower_pri) if s is not None]
    for grp in settings.groups.values():
        out += list(grp.scripts.values())
        out += [grp.generic] if grp.generic is not None else []
    for vs in settings.virtual_servers.values():
        out += [s for s in (vs.quorum_up, vs.quorum_down) if s is not None]
        for rs in vs.real_servers.values():
            out += [s for s in (rs.notify_up, rs.notify_down) if s is not None]
    return out


# ----------------------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True)
class RunScript:
    """Run ``script`` with ``extra`` words appended, after earlier scripts of ``queue``."""

    queue: str
    script: Script
    extra: tuple[str, ...] = ()
    timeout: float = DEFAULT_SCRIPT_TIMEOUT
    what: str = ""

    @property
    def argv(self) -> tuple[str, ...]:
        return (*self.script.argv, *self.extra)


@dataclass(frozen=True, slots=True)
class WriteFifo:
    """Write ``line`` to the global FIFO and to the ``vrrp`` or ``lvs`` FIFO."""

    line: str
    family: str  # "vrrp" | "lvs"


@dataclass(frozen=True, slots=True)
class SendMail:
    subject: str
    body: str


Command = RunScript | WriteFifo | SendMail


# -------------------------------------------------------------------------------- state


def _stopping(msg: CheckResult | LbQuorum) -> bool:
    """A verdict sent because the daemon stops (omega): the optional ``stopping`` field,
    or the checker actor's reason ``checker stopping (omega)``."""
    if msg.stopping:
        return True
    return isinstance(msg, CheckResult) and msg.reason.startswith("checker stopping")


@dataclass
class RealServerState:
    checkers: dict[str, bool]  # checker → up
    has_run: set[str] = field(default_factory=set)
    weights: dict[str, int | None] = field(default_factory=dict)  # MISC dynamic weights

    @property
    def alive(self) -> bool:
        return all(self.checkers.values())


class NotifierCore:
    """The notifier's decisions and the little state they need."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.priorities: dict[str, int] = {}  # instance → last effective priority
        self.last_mailed: dict[str, str] = {}  # "instance/X" | "group/X" → state
        self.states: dict[str, str] = {}  # "instance/X" | "group/X" → state
        self.rs: dict[tuple[str, str, str], RealServerState] = {}
        self.quorum: dict[tuple[str, str], bool] = {}
        self.unknown: int = 0
        self.resumed: int = 0
        self._init_servers(settings, keep=False)

    # ---- configuration ---------------------------------------------------------------
    def _init_servers(self, settings: Settings, keep: bool) -> None:
        old_rs, old_q = self.rs, self.quorum
        self.rs, self.quorum = {}, {}
        for (vs_key, proto), vs in settings.virtual_servers.items():
            for rs_key, rs in vs.real_servers.items():
                k = (vs_key, proto, rs_key)
                prev = old_rs.get(k) if keep else None
                checkers = {name: not alpha for name, alpha in rs.checkers.items()}
                if prev is not None:
                    for name in checkers:
                        if name in prev.checkers:
                            checkers[name] = prev.checkers[name]
                    state = RealServerState(
                        checkers,
                        prev.has_run & set(checkers),
                        {n: w for n, w in prev.weights.items() if n in checkers},
                    )
                else:
                    state = RealServerState(checkers)
                self.rs[k] = state
            prev_q = old_q.get((vs_key, proto)) if keep else None
            self.quorum[(vs_key, proto)] = (
                prev_q
                if prev_q is not None
                else self.weight_sum(vs_key, proto) >= vs.quorum + vs.hysteresis
            )

    def startup(self) -> list[Command]:
        """Notifies due at start: live real servers with ``rs_init_notifies``."""
        out: list[Command] = []
        if not self.settings.rs_init_notifies:
            return out
        for (vs_key, proto), vs in self.settings.virtual_servers.items():
            for rs_key, rs in vs.real_servers.items():
                if self.rs[(vs_key, proto, rs_key)].alive:
                    out += self._rs_notifies(vs, rs, True)
        return out

    def reconfigure(self, settings: Settings) -> list[Command]:
        """Adopt new settings; state of kept servers survives, removed live servers go down."""
        out: list[Command] = []
        for (vs_key, proto), vs in self.settings.virtual_servers.items():
            new_vs = settings.virtual_servers.get((vs_key, proto))
            for rs_key, rs in vs.real_servers.items():
                if new_vs is not None and rs_key in new_vs.real_servers:
                    continue
                st = self.rs.get((vs_key, proto, rs_key))
                if st is None or not st.alive:
                    continue
                out += self._rs_notifies(vs, rs, False)
                if rs.smtp_alert:
                    out += self._mail(
                        fmt.rs_subject(self.settings.router_id, rs.ka, vs.ka, False),
                        fmt.REMOVING_BODY,
                    )
        self.settings = settings
        self._init_servers(settings, keep=True)
        if settings.fifo_states_on_reload:
            out += self._current_states()
        return out

    def _current_states(self) -> list[Command]:
        """``fifo_write_vrrp_states_on_reload``: every group's, then instance's, state again."""
        out: list[Command] = []
        for name in self.settings.groups:
            st = self.states.get(f"group/{name}")
            if st in fmt.VRRP_NOTIFY_STATES:
                out.append(WriteFifo(fmt.fifo_vrrp_line(True, name, st, 0), "vrrp"))
        for name in self.settings.instances:
            st = self.states.get(f"instance/{name}")
            if st in fmt.VRRP_NOTIFY_STATES:
                prio = self.priorities.get(name, self.settings.instances[name].priority)
                out.append(WriteFifo(fmt.fifo_vrrp_line(False, name, st, prio), "vrrp"))
        return out

    # ---- VRRP ------------------------------------------------------------------------
    def on_vrrp_state(self, msg: VrrpState) -> list[Command]:
        name, state, prio = msg.instance, msg.state, msg.priority
        self.priorities[name] = prio
        inst = self.settings.instances.get(name)
        if inst is None:
            self.unknown += 1
            inst = InstanceSettings(name=name)
        if state == "DELETED" and not inst.notify_deleted:
            state = "FAULT"
        key = f"instance/{name}"
        if msg.reason == "resume" and self.states.get(key) == state:
            # the vrrp actor restarted and took up the state it had: nothing happened
            # outside, so nothing is announced again
            self.resumed += 1
            return []
        self.states[key] = state
        if state not in fmt.VRRP_NOTIFY_STATES:
            return []
        timeout = self._timeout(state)
        queue = self._queue(key, state)
        out: list[Command] = []
        script = inst.scripts.get(state)
        if script is not None:
            out.append(
                RunScript(queue, script, (), self._t(script, timeout), f"notify_{state.lower()}")
            )
        if inst.generic is not None:
            extra = fmt.generic_notify_argv((), False, name, state, prio)
            out.append(
                RunScript(queue, inst.generic, extra, self._t(inst.generic, timeout), "notify")
            )
        out.append(WriteFifo(fmt.fifo_vrrp_line(False, name, state, prio), "vrrp"))
        if inst.smtp_alert and self._mail_state_ok(key, state):
            alert = fmt.vrrp_alert(self.settings.router_id, name, state)
            if alert is not None:
                self.last_mailed[key] = state
                out += self._mail(*alert)
        return out

    def on_vrrp_group(self, msg: VrrpGroup) -> list[Command]:
        name, state = msg.group, msg.state
        grp = self.settings.groups.get(name)
        if grp is None:
            self.unknown += 1
            grp = GroupSettings(name=name)
        key = f"group/{name}"
        if msg.reason == "resume" and self.states.get(key) == state:
            self.resumed += 1  # a restarted vrrp actor's group, as it was: nothing to say
            return []
        self.states[key] = state
        if state not in fmt.VRRP_NOTIFY_STATES or state == "DELETED":
            return []
        timeout = self._timeout(state)
        queue = self._queue(key, state)
        out: list[Command] = []
        script = grp.scripts.get(state)
        if script is not None:
            out.append(
                RunScript(queue, script, (), self._t(script, timeout), f"notify_{state.lower()}")
            )
        if grp.generic is not None:
            extra = fmt.generic_notify_argv((), True, name, state, 0)
            out.append(
                RunScript(queue, grp.generic, extra, self._t(grp.generic, timeout), "notify")
            )
        out.append(WriteFifo(fmt.fifo_vrrp_line(True, name, state, 0), "vrrp"))
        if grp.smtp_alert and self._mail_state_ok(key, state):
            alert = fmt.group_alert(self.settings.router_id, name, state)
            if alert is not None:
                self.last_mailed[key] = state
                out += self._mail(*alert)
        return out

    def on_rx_lower_pri(self, msg: VrrpRxLowerPri) -> list[Command]:
        name = msg.instance
        inst = self.settings.instances.get(name)
        if inst is None:
            self.unknown += 1
            inst = InstanceSettings(name=name)
        # the line carries our own effective priority (the body's is the advert's)
        prio = self.priorities.get(name, inst.priority)
        out: list[Command] = []
        if inst.rx_lower_pri is not None:
            out.append(
                RunScript(
                    f"instance/{name}",
                    inst.rx_lower_pri,
                    (),
                    self._t(inst.rx_lower_pri, self.settings.script_timeout),
                    "notify_master_rx_lower_pri",
                )
            )
        out.append(
            WriteFifo(fmt.fifo_vrrp_line(False, name, fmt.MASTER_RX_LOWER_PRI, prio), "vrrp")
        )
        return out

    def on_vrrp_priority(self, msg: VrrpPriority) -> list[Command]:
        name, prio, state = msg.instance, msg.priority, msg.state
        self.priorities[name] = prio
        inst = self.settings.instances.get(name)
        wanted = inst.priority_changes if inst is not None else self.settings.priority_changes
        if state == "INIT" and f"instance/{name}" in self.states:
            return []  # a restarted vrrp actor's start: this notifier announced it before
        if not wanted or state not in ("INIT", "MASTER", "BACKUP"):
            return []
        # keepalived applies the weights known at start (a track_file's value) while the
        # instance is in INIT and announces that as a BACKUP_PRIORITY line
        event = fmt.MASTER_PRIORITY if state == "MASTER" else fmt.BACKUP_PRIORITY
        return [WriteFifo(fmt.fifo_vrrp_line(False, name, event, prio), "vrrp")]

    def _mail_state_ok(self, key: str, state: str) -> bool:
        if self.settings.no_email_faults and state == "FAULT":
            return False
        return self.last_mailed.get(key) != state

    @staticmethod
    def _queue(key: str, state: str) -> str:
        """STOP scripts get a queue of their own: they run at once (with their one-second
        limit) even while an earlier script of the instance still runs, as keepalived
        would, so a hung notify_master cannot swallow the notify_stop at shutdown."""
        return f"{key}/stop" if state == "STOP" else key

    def _timeout(self, state: str) -> float:
        return STOP_SCRIPT_TIMEOUT if state == "STOP" else self.settings.script_timeout

    @staticmethod
    def _t(script: Script, default: float) -> float:
        return script.timeout if script.timeout else default

    # ---- checker / LB ----------------------------------------------------------------
    def on_check_result(self, msg: CheckResult) -> list[Command]:
        vs_key, proto, rs_key = msg.virtual_server, msg.protocol, msg.real_server
        checker, up, reason, weight = msg.checker, msg.up, msg.reason, msg.weight
        vs = self.settings.virtual_servers.get((vs_key, proto))
        rs = vs.real_servers.get(rs_key) if vs is not None else None
        state = self.rs.get((vs_key, proto, rs_key))
        if vs is None or rs is None or state is None:
            self.unknown += 1
            return []
        state.weights[checker] = weight
        first = checker not in state.has_run
        state.has_run.add(checker)
        was_up = state.checkers.setdefault(checker, not rs.checkers.get(checker, False))
        out: list[Command] = []
        if was_up == up:
            if first and not up:  # an alpha start confirmed: keepalived announces it
                out += self._rs_notifies(vs, rs, state.alive)
            return out
        rs_was_alive = state.alive
        state.checkers[checker] = up
        rs_alive = state.alive
        if _stopping(msg):
            # omega at shutdown: keepalived announces each live server down once, its
            # scripts get the stop-time second, the mail says it is shutting down
            if rs_was_alive and not rs_alive:
                out += self._rs_notifies(vs, rs, False, STOP_SCRIPT_TIMEOUT)
                if rs.smtp_alert:
                    subject = fmt.rs_subject(self.settings.router_id, rs.ka, vs.ka, False)
                    out += self._mail(subject, fmt.SHUTDOWN_BODY)
            return out
        if rs_alive != rs_was_alive:
            out += self._rs_notifies(vs, rs, rs_alive)
        if rs.smtp_alert and (rs_alive != rs_was_alive or not self.settings.no_checker_emails):
            text = fmt.checker_body(checker, up, str(reason))
            if text is not None:
                out += self._mail(
                    fmt.rs_subject(self.settings.router_id, rs.ka, vs.ka, rs_alive), text
                )
        return out

    def _rs_notifies(
        self,
        vs: VirtualServerSettings,
        rs: RealServerSettings,
        alive: bool,
        timeout: float | None = None,
    ) -> list[Command]:
        out: list[Command] = []
        script = rs.notify_up if alive else rs.notify_down
        if script is not None:
            out.append(
                RunScript(
                    f"rs/{vs.key}/{vs.protocol}/{rs.key}",
                    script,
                    (),
                    self._t(script, timeout or self.settings.script_timeout),
                    "notify_up" if alive else "notify_down",
                )
            )
        out.append(WriteFifo(fmt.fifo_rs_line(rs.ka, vs.ka, alive), "lvs"))
        return out

    def weight_sum(self, vs_key: str, proto: str) -> int:
        """keepalived's ``weigh_live_realservers``: weights of live real servers."""
        vs = self.settings.virtual_servers.get((vs_key, proto))
        if vs is None:
            return 0
        total = 0
        for rs_key, rs in vs.real_servers.items():
            st = self.rs.get((vs_key, proto, rs_key))
            if st is None or not st.alive:
                continue
            dynamic = [w for w in st.weights.values() if w is not None]
            total += dynamic[-1] if dynamic else rs.weight
        return total

    def on_quorum(self, msg: LbQuorum) -> list[Command]:
        vs_key, proto, up = msg.virtual_server, msg.protocol, msg.up
        vs = self.settings.virtual_servers.get((vs_key, proto))
        if vs is None:
            self.unknown += 1
            return []
        if self.quorum.get((vs_key, proto)) == up:
            return []
        self.quorum[(vs_key, proto)] = up
        stopping = _stopping(msg)
        out: list[Command] = []
        script = vs.quorum_up if up else vs.quorum_down
        if script is not None:
            default = STOP_SCRIPT_TIMEOUT if stopping else self.settings.script_timeout
            out.append(
                RunScript(
                    f"vs/{vs.key}/{vs.protocol}",
                    script,
                    (),
                    self._t(script, default),
                    "quorum_up" if up else "quorum_down",
                )
            )
        out.append(WriteFifo(fmt.fifo_vs_line(vs.ka, up), "lvs"))
        if vs.smtp_alert and stopping:
            out += self._mail(fmt.vs_subject(self.settings.router_id, vs.ka, up), fmt.SHUTDOWN_BODY)
        elif vs.smtp_alert:
            weight_sum = msg.weight_sum
            if weight_sum is None:
                weight_sum = self.weight_sum(vs_key, proto)
            # keepalived's threshold uses the state before the change
            threshold = vs.quorum + vs.hysteresis if up else vs.quorum - vs.hysteresis
            text = fmt.quorum_body(up, False, vs.quorum, vs.hysteresis, threshold, weight_sum)
            out += self._mail(fmt.vs_subject(self.settings.router_id, vs.ka, up), text)
        return out

    def _mail(self, subject: str, body: str) -> list[Command]:
        return [SendMail(subject, body)] if self.settings.smtp else []

    # ---- status ----------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        return {
            "states": dict(self.states),
            "real_servers": {
                f"{vs} {proto} {rs}": {"alive": st.alive, "checkers": dict(st.checkers)}
                for (vs, proto, rs), st in self.rs.items()
            },
            "quorum": {f"{vs} {proto}": up for (vs, proto), up in self.quorum.items()},
        }
