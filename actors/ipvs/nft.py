"""nftables rendering of a load-balancer rule set (pure: text in, text out).

Design. One table, ``inet pykeepalived`` (the name is configurable), owned by the daemon:

* three verdict maps send a new connection to its service's chain: ``svc4`` keyed by
  ``ip daddr . meta l4proto . th dport``, ``svc6`` the same for IPv6, and ``fwm4`` /
  ``fwm6`` keyed by the packet mark (firewall-mark services);
* two base chains (``prerouting`` at dstnat, ``output`` for connections the director
  makes itself) hold only the map lookups, so their size never depends on the number
  of services;
* each service has a chain named from a hash of its identity. Its first rule is a
  ``counter`` whose comment records the service attributes (scheduler, flags,
  persistence), so a restarted daemon can adopt the table; its second rule, present
  when some destination has a weight, is a ``dnat`` through an anonymous map indexed
  by a selector: ``numgen inc`` (rr, wrr), ``numgen random`` (the connection-count
  schedulers, nearest weighted behaviour), ``jhash`` of the source (sh, mh, and any
  persistent service: the same client keeps its server) or of the destination (dh).
  Each destination owns as many consecutive selector slots as its weight (one for
  ``rr``), so traffic is spread by weight.

A change to one destination rewrites only its service's chain (``flush chain`` + two
rules) in one transaction: the cost does not depend on how many services the table
holds. NAT is the only forwarding this datapath can do: DR and TUN destinations are
refused by :func:`check` with a clear message. conntrack keeps established
connections on the server they were given, so rewriting a chain never moves them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from pykeepalived.actors.ipvs.rules import (
    SVC_F_PERSISTENT,
    SVC_F_SCHED2,
    DestAttrs,
    DestId,
    Method,
    Service,
    ServiceAttrs,
    ServiceId,
)

DEFAULT_TABLE = "pykeepalived"
COMMENT_TAG = "pk1"

NUMGEN_INC = frozenset({"rr", "wrr"})
HASH_SOURCE = frozenset({"sh", "mh"})
HASH_DEST = frozenset({"dh"})
#: schedulers with no nftables equivalent, served by weighted random selection
NEAREST = frozenset({"lc", "wlc", "sed", "nq", "lblc", "lblcr", "fo", "ovf", "twos"})


def chain_name(sid: ServiceId) -> str:
    """A stable chain name for a service (the same across restarts)."""
    ident = f"{sid.family}/{sid.address}/{sid.port}/{sid.fwmark}"
    if not sid.fwmark:
        ident += f"/{sid.protocol}"
    return "s_" + hashlib.sha1(ident.encode()).hexdigest()[:16]


def check(rules: Mapping[ServiceId, Service]) -> list[str]:
    """Why this rule set cannot be programmed with nftables (empty when it can)."""
    errors = []
    for sid, svc in rules.items():
        for did, attrs in svc.dests.items():
            if attrs.method is not Method.NAT:
                errors.append(
                    f"{sid} -> {did}: lb_kind {attrs.method} needs kernel IPVS; the nftables "
                    "backend forwards by NAT only (use lb_backend ipvs, or lb_kind NAT)"
                )
    return errors


def warnings(rules: Mapping[ServiceId, Service]) -> list[str]:
    out = []
    for sid, svc in rules.items():
        sched = svc.attrs.scheduler
        if sched in NEAREST:
            out.append(f"{sid}: scheduler {sched} has no nftables equivalent; weighted random used")
        if svc.attrs.timeout and sched not in HASH_SOURCE | HASH_DEST:
            out.append(f"{sid}: persistence approximated by a hash of the client address")
    return out


def _selector(sid: ServiceId, attrs: ServiceAttrs, total: int) -> str:
    ip = "ip6" if sid.family == "inet6" else "ip"
    sched = attrs.scheduler
    if sched in HASH_DEST:
        return f"jhash {ip} daddr mod {total}"
    if sched in HASH_SOURCE or attrs.flags & SVC_F_PERSISTENT:
        if sched in HASH_SOURCE and attrs.flags & SVC_F_SCHED2 and not sid.fwmark:
            return f"jhash {ip} saddr . th sport mod {total}"
        return f"jhash {ip} saddr mod {total}"
    if sched in NUMGEN_INC:
        return f"numgen inc mod {total}"
    return f"numgen random mod {total}"


def _host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def comment(attrs: ServiceAttrs) -> str:
    """The service attributes as the counter rule's comment (at most 128 characters)."""
    return (
        f"{COMMENT_TAG} {attrs.scheduler} {attrs.flags} {attrs.timeout} "
        f"{attrs.netmask or '-'} {attrs.pe_name or '-'}"
    )


def parse_comment(text: str) -> ServiceAttrs | None:
    parts = text.split()
    if len(parts) != 6 or parts[0] != COMMENT_TAG:
        return None
    try:
        return ServiceAttrs(
            parts[1],
            int(parts[2]),
            int(parts[3]),
            "" if parts[4] == "-" else parts[4],
            "" if parts[5] == "-" else parts[5],
        )
    except ValueError:
        return None


def dnat_rule(sid: ServiceId, svc: Service) -> str | None:
    """The selection rule of a service, or None when no destination takes traffic."""
    live = sorted((d, a) for d, a in svc.dests.items() if a.weight > 0)
    if not live:
        return None
    rr = svc.attrs.scheduler == "rr"
    with_port = not sid.fwmark and any(d.port for d, _ in live)
    elems = []
    slot = 0
    for did, attrs in live:
        n = 1 if rr else attrs.weight
        key = str(slot) if n == 1 else f"{slot}-{slot + n - 1}"
        target = _host(did.address)
        if with_port:
            target += f" . {did.port or sid.port}"
        elems.append(f"{key} : {target}")
        slot += n
    family = "ip6" if sid.family == "inet6" else "ip"
    proto = f"meta l4proto {sid.protocol} " if with_port else ""
    sel = _selector(sid, svc.attrs, slot)
    return f"{proto}dnat {family} to {sel} map {{ {', '.join(elems)} }}"


def _map_key(table: str, sid: ServiceId) -> tuple[str, str]:
    """(map name, element key) of a service in the dispatch maps."""
    if sid.fwmark:
        return ("fwm6" if sid.family == "inet6" else "fwm4"), str(sid.fwmark)
    name = "svc6" if sid.family == "inet6" else "svc4"
    return name, f"{sid.address} . {sid.protocol} . {sid.port}"


def table_skeleton(table: str) -> list[str]:
    """Commands creating the empty table (maps and the two base chains)."""
    lookups = [
        "ip daddr . meta l4proto . th dport vmap @svc4",
        "ip6 daddr . meta l4proto . th dport vmap @svc6",
        "meta nfproto ipv4 meta mark vmap @fwm4",
        "meta nfproto ipv6 meta mark vmap @fwm6",
    ]
    cmds = [
        f"add table inet {table}",
        f"add map inet {table} svc4 {{ type ipv4_addr . inet_proto . inet_service : verdict; }}",
        f"add map inet {table} svc6 {{ type ipv6_addr . inet_proto . inet_service : verdict; }}",
        f"add map inet {table} fwm4 {{ type mark : verdict; }}",
        f"add map inet {table} fwm6 {{ type mark : verdict; }}",
        f"add chain inet {table} prerouting {{ type nat hook prerouting priority dstnat; }}",
        f"add chain inet {table} output {{ type nat hook output priority -100; }}",
    ]
    for chain in ("prerouting", "output"):
        cmds += [f"add rule inet {table} {chain} {rule}" for rule in lookups]
    return cmds


def chain_body(table: str, sid: ServiceId, svc: Service) -> list[str]:
    name = chain_name(sid)
    cmds = [f'add rule inet {table} {name} counter comment "{comment(svc.attrs)}"']
    rule = dnat_rule(sid, svc)
    if rule is not None:
        cmds.append(f"add rule inet {table} {name} {rule}")
    return cmds


def add_service(table: str, sid: ServiceId, svc: Service) -> list[str]:
    name = chain_name(sid)
    mapname, key = _map_key(table, sid)
    return [
        f"add chain inet {table} {name}",
        *chain_body(table, sid, svc),
        f"add element inet {table} {mapname} {{ {key} : jump {name} }}",
    ]


def rewrite_service(table: str, sid: ServiceId, svc: Service) -> list[str]:
    return [f"flush chain inet {table} {chain_name(sid)}", *chain_body(table, sid, svc)]


def del_service(table: str, sid: ServiceId) -> list[str]:
    name = chain_name(sid)
    mapname, key = _map_key(table, sid)
    return [
        f"delete element inet {table} {mapname} {{ {key} }}",
        f"flush chain inet {table} {name}",
        f"delete chain inet {table} {name}",
    ]


# ---- reading a table back (adoption) ----------------------------------------------------
def _ranges(data: Any) -> Iterable[tuple[int, Any]]:
    """(slot count, target) of each element of a dnat map in libnftables JSON."""
    for key, target in data:
        if isinstance(key, dict) and "range" in key:
            lo, hi = key["range"]
            yield int(hi) - int(lo) + 1, target
        else:
            yield 1, target


def parse_table(doc: dict[str, Any]) -> dict[ServiceId, Service]:
    """The rule set held by a table listed with ``nft -j list table`` (libnftables JSON).

    Weights are read back from the slot counts (``rr`` shows every weight as 1, and
    destinations at weight 0 are not in the table): a difference there only costs one
    rewrite of the service chain at adoption, which moves no established connection.
    """
    chains: dict[str, tuple[ServiceAttrs | None, dict[DestId, DestAttrs]]] = {}
    services: dict[str, ServiceId] = {}
    for obj in doc.get("nftables", []):
        if "map" in obj:
            mp = obj["map"]
            name = mp.get("name")
            for key, verdict in mp.get("elem", []) or []:
                target = (
                    verdict.get("jump", {}).get("target") if isinstance(verdict, dict) else None
                )
                if target is None:
                    continue
                if name in ("svc4", "svc6") and isinstance(key, dict) and "concat" in key:
                    addr, proto, port = key["concat"]
                    fam = "inet6" if name == "svc6" else "inet"
                    services[target] = ServiceId(fam, str(proto), str(addr), int(port))
                elif name in ("fwm4", "fwm6"):
                    fam = "inet6" if name == "fwm6" else "inet"
                    # a fwmark service's protocol is not in the table; keepalived's default
                    services[target] = ServiceId(fam, "tcp", fwmark=int(key))
        elif "rule" in obj:
            rule = obj["rule"]
            chain = rule.get("chain", "")
            if not chain.startswith("s_"):
                continue
            attrs, dests = chains.get(chain, (None, {}))
            if "comment" in rule:
                attrs = parse_comment(rule["comment"]) or attrs
            for expr in rule.get("expr", []):
                dnat = expr.get("dnat") if isinstance(expr, dict) else None
                if not dnat:
                    continue
                data = dnat.get("addr", {}).get("map", {}).get("data", {}).get("set", [])
                for slots, target in _ranges(data):
                    if isinstance(target, dict) and "concat" in target:
                        addr, port = target["concat"]
                    else:
                        addr, port = target, 0
                    did = DestId(str(addr), int(port))
                    prev = dests.get(did)
                    weight = slots + (prev.weight if prev else 0)
                    dests[did] = DestAttrs(weight, Method.NAT)
            chains[chain] = (attrs, dests)
    out: dict[ServiceId, Service] = {}
    for chain, sid in services.items():
        attrs, dests = chains.get(chain, (None, {}))
        if attrs is None:
            continue  # not a chain we wrote: leave it alone
        out[sid] = Service(attrs, dests)
    return out
