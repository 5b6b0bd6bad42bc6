"""The load-balancer rule set and its minimal diff (pure).

A rule set is what a kernel load balancer holds: services (keyed by family, protocol,
address and port, or by firewall mark) each with attributes (scheduler, persistence,
flags) and destinations (real servers, keyed by address and port) with a weight and a
forwarding method. The same shapes describe the desired state (computed by
:mod:`.model` from configuration and health verdicts) and the actual state (dumped from
the kernel, or recorded by a backend).

:func:`diff` gives the operations that turn an actual set into a desired one, and
:func:`apply` performs operations on a rule set in memory. The property the tests check
is ``apply(actual, diff(desired, actual)) == desired``. The diff is minimal in the
sense that matters for traffic: an unchanged service or destination is never touched
(so none of its connections is disturbed), a changed attribute is edited in place
(``set_*``) rather than deleted and re-added, and a service's destinations are not
deleted one by one when the whole service goes.

Operation order within one diff: destination deletions first, then service deletions,
then service additions and edits, then destination additions and edits. A backend that
applies them in that order never refers to a service that does not exist.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

# IPVS service flags (linux/ip_vs.h)
SVC_F_PERSISTENT = 0x1
SVC_F_HASHED = 0x2
SVC_F_ONEPACKET = 0x4
SVC_F_SCHED1 = 0x8
SVC_F_SCHED2 = 0x10
SVC_F_SCHED3 = 0x20

# IPVS forwarding methods (conn flags, linux/ip_vs.h)
FWD_MASQ = 0
FWD_TUNNEL = 2
FWD_DROUTE = 3

#: every scheduler the Linux IPVS code has (ip_vs_*.c modules), plus keepalived's spelling
SCHEDULERS = frozenset(
    {"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "mh", "sed", "nq", "fo", "ovf", "twos"}
)


class Method(StrEnum):
    """Forwarding method of a destination (keepalived's lvs_method words)."""

    NAT = "NAT"
    DR = "DR"
    TUN = "TUN"

    @property
    def fwd(self) -> int:
        return {Method.NAT: FWD_MASQ, Method.DR: FWD_DROUTE, Method.TUN: FWD_TUNNEL}[self]

    @classmethod
    def from_fwd(cls, fwd: int) -> Method:
        return {FWD_MASQ: cls.NAT, FWD_DROUTE: cls.DR, FWD_TUNNEL: cls.TUN}.get(fwd & 0x7, cls.DR)


@dataclass(frozen=True, slots=True, order=True)
class ServiceId:
    """Identity of a kernel service: ``fwmark`` > 0 for a firewall-mark service, else the
    address/port/protocol triple. ``family`` is ``inet`` or ``inet6``."""

    family: str
    protocol: str
    address: str = ""
    port: int = 0
    fwmark: int = 0

    def __str__(self) -> str:
        if self.fwmark:
            return f"fwmark:{self.fwmark}"
        host = f"[{self.address}]" if self.family == "inet6" else self.address
        return f"{self.protocol}:{host}:{self.port}"


@dataclass(frozen=True, slots=True)
class ServiceAttrs:
    """What can be edited on an existing service."""

    scheduler: str = "wlc"
    flags: int = 0
    timeout: int = 0  # persistence timeout in seconds, 0 = not persistent
    netmask: str = ""  # persistence granularity ("255.255.255.0" or an IPv6 prefix length)
    pe_name: str = ""  # persistence engine


@dataclass(frozen=True, slots=True, order=True)
class DestId:
    address: str
    port: int = 0

    def __str__(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}"


@dataclass(frozen=True, slots=True)
class DestAttrs:
    weight: int = 1
    method: Method = Method.NAT
    tun_type: int = 0
    tun_port: int = 0
    tun_flags: int = 0


@dataclass(frozen=True, slots=True)
class Service:
    """A service with its destinations."""

    attrs: ServiceAttrs = field(default_factory=ServiceAttrs)
    dests: Mapping[DestId, DestAttrs] = field(default_factory=dict)


RuleSet = Mapping[ServiceId, Service]


class OpKind(StrEnum):
    ADD_SERVICE = "add_service"
    SET_SERVICE = "set_service"
    DEL_SERVICE = "del_service"
    ADD_DEST = "add_dest"
    SET_DEST = "set_dest"
    DEL_DEST = "del_dest"


@dataclass(frozen=True, slots=True)
class Op:
    """One kernel operation. ``attrs`` is set for add/set_service, ``dest`` for *_dest and
    ``dest_attrs`` for add/set_dest."""

    kind: OpKind
    service: ServiceId
    attrs: ServiceAttrs | None = None
    dest: DestId | None = None
    dest_attrs: DestAttrs | None = None

    def __str__(self) -> str:
        text = f"{self.kind} {self.service}"
        if self.attrs is not None:
            text += f" sched={self.attrs.scheduler} flags={self.attrs.flags:#x}"
            if self.attrs.timeout:
                text += f" persistent={self.attrs.timeout}"
        if self.dest is not None:
            text += f" -> {self.dest}"
        if self.dest_attrs is not None:
            text += f" {self.dest_attrs.method} weight={self.dest_attrs.weight}"
        return text


def diff(desired: RuleSet, actual: RuleSet, scope: Iterable[ServiceId] | None = None) -> list[Op]:
    """Operations turning ``actual`` into ``desired``.

    ``scope`` limits which actual services may be deleted (the ones this daemon owns);
    by default every service of ``actual`` is in scope. Services outside the scope and not
    desired are left alone.
    """
    in_scope = set(actual) if scope is None else set(scope)
    del_dests: list[Op] = []
    del_services: list[Op] = []
    add_services: list[Op] = []
    add_dests: list[Op] = []
    for sid in sorted(actual):
        if sid not in desired and sid in in_scope:
            del_services.append(Op(OpKind.DEL_SERVICE, sid))
    for sid in sorted(desired):
        want = desired[sid]
        have = actual.get(sid)
        if have is None:
            add_services.append(Op(OpKind.ADD_SERVICE, sid, attrs=want.attrs))
            for did in sorted(want.dests):
                add_dests.append(Op(OpKind.ADD_DEST, sid, dest=did, dest_attrs=want.dests[did]))
            continue
        if have.attrs != want.attrs:
            add_services.append(Op(OpKind.SET_SERVICE, sid, attrs=want.attrs))
        for did in sorted(have.dests):
            if did not in want.dests:
                del_dests.append(Op(OpKind.DEL_DEST, sid, dest=did))
        for did in sorted(want.dests):
            old = have.dests.get(did)
            new = want.dests[did]
            if old is None:
                add_dests.append(Op(OpKind.ADD_DEST, sid, dest=did, dest_attrs=new))
            elif old != new:
                add_dests.append(Op(OpKind.SET_DEST, sid, dest=did, dest_attrs=new))
    return [*del_dests, *del_services, *add_services, *add_dests]


class OpError(ValueError):
    """An operation that does not fit the rule set it is applied to."""


def apply(rules: RuleSet, ops: Iterable[Op]) -> dict[ServiceId, Service]:
    """A new rule set: ``rules`` with ``ops`` performed, as the kernel would (strictly).

    ``rules`` is not changed; services no operation touches are shared with it (they are
    immutable), so the cost follows the number of operations, not the size of the set.
    """
    out: dict[ServiceId, Service] = dict(rules)
    for op in ops:
        svc = out.get(op.service)
        if op.kind is OpKind.ADD_SERVICE:
            if svc is not None or op.attrs is None:
                raise OpError(f"cannot {op}: exists or no attributes")
            out[op.service] = Service(op.attrs, {})
            continue
        if svc is None:
            raise OpError(f"cannot {op}: no such service")
        dests = dict(svc.dests)
        if op.kind is OpKind.SET_SERVICE:
            assert op.attrs is not None
            out[op.service] = Service(op.attrs, dests)
        elif op.kind is OpKind.DEL_SERVICE:
            del out[op.service]
        else:
            if op.dest is None:
                raise OpError(f"cannot {op}: no destination")
            present = op.dest in dests
            if op.kind is OpKind.DEL_DEST:
                if not present:
                    raise OpError(f"cannot {op}: no such destination")
                del dests[op.dest]
            else:
                if op.dest_attrs is None or present != (op.kind is OpKind.SET_DEST):
                    raise OpError(f"cannot {op}: destination presence does not fit")
                dests[op.dest] = op.dest_attrs
            out[op.service] = Service(svc.attrs, dests)
    return out


def normalise(rules: RuleSet) -> dict[ServiceId, Service]:
    """Plain-dict copy, so two rule sets compare by value."""
    return {sid: Service(s.attrs, dict(s.dests)) for sid, s in rules.items()}
