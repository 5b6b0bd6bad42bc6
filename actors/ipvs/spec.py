"""From the configuration model to the load-balancer policy's own specs (pure).

The ipvs core keeps its own small dataclasses (:mod:`.model`); this module is the one
place that reads ``pykeepalived.conf.model``: it resolves groups into kernel services,
real server ports and methods, persistence and scheduler flags. A virtual server that
cannot be expressed is reported in ``errors`` and left out; the rest still load.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from pykeepalived.actors.ipvs.model import (
    TUN_CSUM,
    TUN_TYPES,
    RealSpec,
    SorrySpec,
    SpecError,
    VirtualSpec,
    expand_range,
    service_attrs,
)
from pykeepalived.actors.ipvs.rules import Method, ServiceId
from pykeepalived.conf import model as m


@dataclass
class Specs:
    virtual: list[VirtualSpec] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _family(address: str) -> str:
    return "inet6" if ipaddress.ip_address(address).version == 6 else "inet"


def _method(method: m.LvsMethod) -> Method:
    return Method(str(method))


def _tunnel(t: m.Tunnel | None) -> tuple[int, int, int]:
    if t is None:
        return 0, 0, 0
    return TUN_TYPES.get(t.type, 0), t.port or 0, TUN_CSUM.get(t.checksum, 0)


def services_of(vs: m.VirtualServer, groups: dict[str, m.VirtualServerGroup]) -> list[ServiceId]:
    """The kernel services one virtual_server stands for."""
    proto = str(vs.protocol)
    family = str(vs.ip_family or vs.family)
    if vs.fwmark is not None:
        return [ServiceId(family, proto, fwmark=vs.fwmark)]
    if vs.group is not None:
        group = groups.get(vs.group)
        if group is None:
            raise SpecError(f"virtual_server_group {vs.group} is not defined")
        out: list[ServiceId] = []
        for entry in group.addresses:
            for addr in expand_range(entry.start, entry.end):
                out.append(ServiceId(_family(addr), proto, addr, entry.port or 0))
        for fw in group.fwmarks:
            out.append(ServiceId(str(fw.family or family), proto, fwmark=fw.fwmark))
        if not out:
            raise SpecError(f"virtual_server_group {vs.group} is empty")
        return out
    if vs.address is None:
        raise SpecError("virtual_server has no address, fwmark or group")
    addr = str(ipaddress.ip_address(vs.address))
    return [ServiceId(_family(addr), proto, addr, vs.port or 0)]


def virtual_spec(vs: m.VirtualServer, groups: dict[str, m.VirtualServerGroup]) -> VirtualSpec:
    services = tuple(services_of(vs, groups))
    family = services[0].family
    attrs = service_attrs(
        vs.lvs_sched,
        persistence_timeout=vs.persistence_timeout,
        persistence_granularity=vs.persistence_granularity,
        persistence_engine=vs.persistence_engine,
        ops=vs.ops,
        sched_flags=vs.sched_flags,
        family=family,
    )
    reals: list[RealSpec] = []
    seen: set[str] = set()
    for rs in vs.real_servers:
        if rs.key in seen:
            raise SpecError(f"real_server {rs.key} appears twice in {vs.key}")
        seen.add(rs.key)
        tun_type, tun_port, tun_flags = _tunnel(rs.tunnel)
        reals.append(
            RealSpec(
                key=rs.key,
                address=str(ipaddress.ip_address(rs.address)),
                port=rs.port,
                weight=rs.weight,
                method=_method(rs.lvs_method),
                tun_type=tun_type,
                tun_port=tun_port,
                tun_flags=tun_flags,
                inhibit_on_failure=rs.inhibit_on_failure,
                alpha=rs.alpha or vs.alpha,
                checkers=len(rs.checkers),
            )
        )
    sorry = None
    if vs.sorry_server is not None:
        ss = vs.sorry_server
        sorry = SorrySpec(
            ss.key,
            str(ipaddress.ip_address(ss.address)),
            ss.port,
            _method(ss.lvs_method),
            ss.inhibit,
        )
    return VirtualSpec(
        key=vs.key,
        protocol=str(vs.protocol),
        services=services,
        attrs=attrs,
        real_servers=tuple(reals),
        quorum=vs.quorum,
        hysteresis=vs.hysteresis,
        sorry=sorry,
        ha_suspend=vs.ha_suspend,
        address=vs.address if vs.fwmark is None and vs.group is None else None,
    )


def specs_from_config(config: m.Config) -> Specs:
    groups = {g.name: g for g in config.virtual_server_groups}
    out = Specs()
    seen_services: dict[ServiceId, str] = {}
    seen_ids: set[tuple[str, str]] = set()
    for vs in config.virtual_servers:
        try:
            spec = virtual_spec(vs, groups)
        except (SpecError, ValueError) as exc:
            out.errors.append(f"virtual_server {vs.key} ({vs.file}:{vs.line}): {exc}")
            continue
        if spec.id in seen_ids:
            out.errors.append(f"virtual_server {vs.key} {spec.protocol} is defined twice; ignored")
            continue
        clash = [s for s in spec.services if s in seen_services]
        if clash:
            out.errors.append(
                f"virtual_server {vs.key}: service {clash[0]} is already given by "
                f"{seen_services[clash[0]]}; ignored"
            )
            continue
        for s in spec.services:
            seen_services[s] = vs.key
        seen_ids.add(spec.id)
        out.virtual.append(spec)
    return out


def vip_instances(config: m.Config) -> dict[str, list[str]]:
    """Virtual address → the vrrp_instances that carry it (for ha_suspend)."""
    out: dict[str, list[str]] = {}
    for inst in config.vrrp_instances:
        for addr in (*inst.virtual_ipaddress, *inst.virtual_ipaddress_excluded):
            ip = str(addr.address).split("/")[0]
            out.setdefault(ip, []).append(inst.name)
    return out
