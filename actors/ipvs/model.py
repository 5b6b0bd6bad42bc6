"""The load-balancer policy (pure): virtual servers + health verdicts → desired rule set.

This module owns keepalived's LVS semantics, independent of any kernel datapath:

* a real server is *alive* when every one of its checkers says up (one without checkers is
  always alive); before a checker's first verdict it counts as up, unless ``alpha`` (then
  as down), as keepalived does;
* an alive real server is in the table with its weight (a MISC_CHECK ``misc_dynamic`` or
  FILE_CHECK verdict carries a new weight, which replaces the configured one); a dead one
  is removed, or kept with weight 0 under ``inhibit_on_failure``;
* the quorum is the sum of the weights of the alive real servers, compared with
  ``quorum ± hysteresis``: it is lost when the sum drops below ``quorum - hysteresis`` (or
  to 0) and regained when it reaches ``quorum + hysteresis``;
* while the quorum is lost, a ``sorry_server`` replaces the real servers (with
  ``sorry_server_inhibit`` it stays in the table with weight 0 the rest of the time);
* ``ha_suspend``: while the virtual address is not local (its VRRP instance is not
  master) the virtual server is frozen: verdicts are recorded, the table does not move;
* ``virtual_server group`` expands to one kernel service per address of each range and
  per firewall mark; ``fwmark`` services are keyed by mark;
* the LVS sync daemon follows the mastership of the VRRP instance it names
  (:func:`sync_daemon_role`).

Everything here is data in, data out: :class:`LbModel` takes verdicts and VRRP facts and
answers :meth:`LbModel.desired` (a :mod:`.rules` rule set) and :meth:`LbModel.views`
(per virtual server, each real server's weight and whether it takes traffic, and the
quorum), from which the shell derives its ``lb.realserver``/``lb.quorum`` events with
:func:`view_events`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pykeepalived.actors.ipvs.rules import (
    SCHEDULERS,
    SVC_F_ONEPACKET,
    SVC_F_PERSISTENT,
    SVC_F_SCHED1,
    SVC_F_SCHED2,
    SVC_F_SCHED3,
    DestAttrs,
    DestId,
    Method,
    Service,
    ServiceAttrs,
    ServiceId,
)
from pykeepalived.bus.messages import LbQuorum, LbRealServer

#: keepalived's persistence timeout when only a granularity is given
DEFAULT_PERSISTENCE = 360
#: most services one group range may expand to (a typo like 10.0.0.1-10.9.0.1 is refused)
MAX_RANGE = 65536

SCHED_FLAG_BITS = {
    "flag-1": SVC_F_SCHED1,
    "flag-2": SVC_F_SCHED2,
    "flag-3": SVC_F_SCHED3,
    "sh-fallback": SVC_F_SCHED1,
    "sh-port": SVC_F_SCHED2,
    "mh-fallback": SVC_F_SCHED1,
    "mh-port": SVC_F_SCHED2,
}
TUN_TYPES = {"ipip": 0, "gue": 1, "gre": 2}
TUN_CSUM = {"nocsum": 0, "csum": 1, "remcsum": 2}


class SpecError(ValueError):
    """A virtual server this model cannot express."""


@dataclass(frozen=True, slots=True)
class RealSpec:
    """One real server as the policy needs it."""

    key: str  # bus spelling "10.0.0.2:80"
    address: str
    port: int | None
    weight: int = 1
    method: Method = Method.NAT
    tun_type: int = 0
    tun_port: int = 0
    tun_flags: int = 0
    inhibit_on_failure: bool = False
    alpha: bool = False
    checkers: int = 0  # how many checkers judge it (0 = always alive)


@dataclass(frozen=True, slots=True)
class SorrySpec:
    key: str
    address: str
    port: int | None
    method: Method = Method.NAT
    inhibit: bool = False


@dataclass(frozen=True, slots=True)
class VirtualSpec:
    """One ``virtual_server`` block, with its group already expanded to ``services``."""

    key: str  # bus spelling: "10.0.0.1:80", "fwmark:7", "group:NAME"
    protocol: str
    services: tuple[ServiceId, ...]
    attrs: ServiceAttrs
    real_servers: tuple[RealSpec, ...] = ()
    quorum: int = 1
    hysteresis: int = 0
    sorry: SorrySpec | None = None
    ha_suspend: bool = False
    address: str | None = None  # the virtual address (for ha_suspend), None for fwmark/group

    @property
    def id(self) -> tuple[str, str]:
        return (self.key, self.protocol)


def service_attrs(
    scheduler: str,
    *,
    persistence_timeout: int | None = None,
    persistence_granularity: str | None = None,
    persistence_engine: str | None = None,
    ops: bool = False,
    sched_flags: Iterable[str] = (),
    family: str = "inet",
) -> ServiceAttrs:
    """Kernel service attributes from keepalived's virtual_server keywords."""
    if scheduler not in SCHEDULERS:
        raise SpecError(
            f"unknown scheduler {scheduler!r} (IPVS has {', '.join(sorted(SCHEDULERS))})"
        )
    flags = 0
    timeout = persistence_timeout or 0
    if persistence_granularity and not timeout:
        timeout = DEFAULT_PERSISTENCE
    netmask = ""
    if timeout:
        flags |= SVC_F_PERSISTENT
        netmask = persistence_granularity or ("255.255.255.255" if family == "inet" else "128")
    if ops:
        flags |= SVC_F_ONEPACKET
    for name in sched_flags:
        bit = SCHED_FLAG_BITS.get(name)
        if bit is None:
            raise SpecError(f"unknown scheduler flag {name!r}")
        flags |= bit
    return ServiceAttrs(scheduler, flags, timeout, netmask, persistence_engine or "")


def expand_range(start: str, end: str) -> list[str]:
    """Every address from ``start`` to ``end`` inclusive (a virtual_server_group range)."""
    a = ipaddress.ip_address(start)
    b = ipaddress.ip_address(end)
    if a.version != b.version or int(b) < int(a):
        raise SpecError(f"bad address range {start}-{end}")
    if int(b) - int(a) >= MAX_RANGE:
        raise SpecError(f"address range {start}-{end} is larger than {MAX_RANGE} addresses")
    return [str(ipaddress.ip_address(n)) for n in range(int(a), int(b) + 1)]


def next_quorum(up: bool, total: int, quorum: int, hysteresis: int) -> bool:
    """keepalived's quorum with hysteresis: the new quorum state given the live weight."""
    if up:
        return not (total == 0 or total < quorum - hysteresis)
    return total > 0 and total >= quorum + hysteresis


def sync_daemon_role(vrrp_state: str | None) -> str:
    """The IPVS sync daemon role for the state of the VRRP instance it follows.

    keepalived starts the backup daemon, turns it into the master daemon when the instance
    becomes master and back to backup when it leaves master.
    """
    return "master" if vrrp_state == "MASTER" else "backup"


@dataclass(frozen=True, slots=True)
class RealView:
    weight: int  # weight in the table (0 when absent or inhibited)
    active: bool  # takes new connections (present with weight > 0)
    alive: bool  # the checkers' verdict


@dataclass(frozen=True, slots=True)
class VirtualView:
    quorum_up: bool
    real_servers: dict[str, RealView]  # the sorry server appears under its key too


@dataclass
class _VsState:
    spec: VirtualSpec
    # real server key -> checker name -> (up, weight)
    results: dict[str, dict[str, tuple[bool, int | None]]] = field(default_factory=dict)
    quorum_up: bool = True
    suspended: bool = False
    frozen: tuple[dict[DestId, DestAttrs], VirtualView] | None = None


class LbModel:
    """The state of every virtual server; answers the rule set it wants in the kernel."""

    def __init__(self, specs: Sequence[VirtualSpec] = ()) -> None:
        self._vs: dict[tuple[str, str], _VsState] = {}
        self.unknown_results = 0
        self.reconfigure(specs)

    # ---- inputs -------------------------------------------------------------------------
    def reconfigure(self, specs: Sequence[VirtualSpec]) -> None:
        """Take a new configuration; verdicts of surviving real servers are kept."""
        old = self._vs
        self._vs = {}
        for spec in specs:
            if spec.id in self._vs:
                raise SpecError(f"virtual server {spec.key} {spec.protocol} is defined twice")
            prev = old.get(spec.id)
            st = _VsState(spec)
            if prev is not None:
                keys = {rs.key for rs in spec.real_servers}
                st.results = {k: v for k, v in prev.results.items() if k in keys}
                st.quorum_up = prev.quorum_up
                st.suspended = prev.suspended
                self._vs[spec.id] = st
                self._settle(st)
            else:
                self._vs[spec.id] = st
                st.quorum_up = self._total(st) >= spec.quorum and self._total(st) > 0
        # a frozen (suspended) table is recomputed when its spec changed
        for st in self._vs.values():
            if st.suspended:
                st.frozen = None
                st.frozen = self._compute(st)

    def on_check_result(
        self,
        virtual_server: str,
        protocol: str,
        real_server: str,
        checker: str,
        up: bool,
        weight: int | None = None,
    ) -> bool:
        """Record one verdict. False (and counted) when it names nothing configured."""
        st = self._vs.get((virtual_server, protocol))
        if st is None or not any(rs.key == real_server for rs in st.spec.real_servers):
            self.unknown_results += 1
            return False
        st.results.setdefault(real_server, {})[checker] = (bool(up), weight)
        if not st.suspended:
            self._settle(st)
        return True

    def set_suspended(self, virtual_server: str, protocol: str, suspended: bool) -> None:
        """ha_suspend: freeze (or thaw) one virtual server's table."""
        st = self._vs.get((virtual_server, protocol))
        if st is None or not st.spec.ha_suspend or st.suspended == suspended:
            return
        if suspended:
            st.frozen = self._compute(st)
            st.suspended = True
        else:
            st.suspended = False
            st.frozen = None
            self._settle(st)

    def set_local_addresses(self, local: set[str]) -> None:
        """ha_suspend from the set of virtual addresses known to be local right now."""
        for st in self._vs.values():
            if st.spec.ha_suspend and st.spec.address is not None:
                self.set_suspended(st.spec.key, st.spec.protocol, st.spec.address not in local)

    # ---- evaluation ---------------------------------------------------------------------
    @staticmethod
    def _alive(st: _VsState, rs: RealSpec) -> bool:
        if rs.checkers == 0:
            return True
        got = st.results.get(rs.key, {})
        if any(not up for up, _ in got.values()):
            return False
        return not (rs.alpha and len(got) < rs.checkers)

    @staticmethod
    def _weight(st: _VsState, rs: RealSpec) -> int:
        weight = rs.weight
        for _up, dyn in st.results.get(rs.key, {}).values():
            if dyn is not None:
                weight = dyn
        return max(0, weight)

    def _total(self, st: _VsState) -> int:
        return sum(self._weight(st, rs) for rs in st.spec.real_servers if self._alive(st, rs))

    def _settle(self, st: _VsState) -> None:
        spec = st.spec
        st.quorum_up = next_quorum(st.quorum_up, self._total(st), spec.quorum, spec.hysteresis)

    def _compute(self, st: _VsState) -> tuple[dict[DestId, DestAttrs], VirtualView]:
        """Destinations (with ports still unresolved: None → service port) and the view."""
        if st.frozen is not None:
            return st.frozen
        spec = st.spec
        dests: dict[DestId, DestAttrs] = {}
        views: dict[str, RealView] = {}
        sorry_active = spec.sorry is not None and not st.quorum_up
        for rs in spec.real_servers:
            alive = self._alive(st, rs)
            weight = self._weight(st, rs)
            present = alive or rs.inhibit_on_failure
            if not alive:
                weight = 0
            if sorry_active:
                # the sorry server replaces the real servers; inhibited ones stay at 0
                present = rs.inhibit_on_failure
                weight = 0
            if present:
                dests[DestId(rs.address, rs.port if rs.port is not None else -1)] = DestAttrs(
                    weight, rs.method, rs.tun_type, rs.tun_port, rs.tun_flags
                )
            views[rs.key] = RealView(weight if present else 0, present and weight > 0, alive)
        if spec.sorry is not None and (sorry_active or spec.sorry.inhibit):
            sorry = spec.sorry
            weight = 1 if sorry_active else 0
            dests[DestId(sorry.address, sorry.port if sorry.port is not None else -1)] = DestAttrs(
                weight, sorry.method
            )
            views[sorry.key] = RealView(weight, weight > 0, sorry_active)
        elif spec.sorry is not None:
            views[spec.sorry.key] = RealView(0, False, False)
        return dests, VirtualView(st.quorum_up, views)

    # ---- outputs ------------------------------------------------------------------------
    def desired(self, ids: Iterable[tuple[str, str]] | None = None) -> dict[ServiceId, Service]:
        """The rule set wanted in the kernel (only that of the virtual servers ``ids``)."""
        out: dict[ServiceId, Service] = {}
        states = self._vs.values() if ids is None else [self._vs[i] for i in ids if i in self._vs]
        for st in states:
            dests, _view = self._compute(st)
            for sid in st.spec.services:
                resolved = {
                    (DestId(d.address, sid.port) if d.port == -1 else d): a
                    for d, a in dests.items()
                }
                out[sid] = Service(st.spec.attrs, resolved)
        return out

    def views(
        self, ids: Iterable[tuple[str, str]] | None = None
    ) -> dict[tuple[str, str], VirtualView]:
        if ids is None:
            return {vid: self._compute(st)[1] for vid, st in self._vs.items()}
        return {i: self._compute(self._vs[i])[1] for i in ids if i in self._vs}

    def services_of(self, vid: tuple[str, str]) -> tuple[ServiceId, ...]:
        st = self._vs.get(vid)
        return () if st is None else st.spec.services

    def specs(self) -> list[VirtualSpec]:
        return [st.spec for st in self._vs.values()]

    def suspended(self, virtual_server: str, protocol: str) -> bool:
        st = self._vs.get((virtual_server, protocol))
        return st is not None and st.suspended


def view_events(
    before: dict[tuple[str, str], VirtualView], after: dict[tuple[str, str], VirtualView]
) -> list[LbQuorum | LbRealServer]:
    """The ``lb.realserver``/``lb.quorum`` events for what changed between two views.

    A virtual server new in ``after`` reports its quorum and every real server; one gone
    from ``after`` reports nothing (its removal is logged by the shell).
    """
    events: list[LbQuorum | LbRealServer] = []
    for (vs, proto), new in after.items():
        old = before.get((vs, proto))
        if old is None or old.quorum_up != new.quorum_up:
            events.append(LbQuorum(vs, proto, new.quorum_up))
        for rs, rv in new.real_servers.items():
            prev = None if old is None else old.real_servers.get(rs)
            if prev is None or (prev.weight, prev.active) != (rv.weight, rv.active):
                events.append(LbRealServer(vs, proto, rs, rv.weight, rv.active))
    return events
