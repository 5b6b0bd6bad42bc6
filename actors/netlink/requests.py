"""Pure translation of configured addresses, routes and rules into rtnetlink requests.

This module owns three things:

* the name tables of iproute2 (scopes, route protocols, tables, route types, rule actions)
  with the kernel's numbers, extendable from the iproute2 files the shell reads
  (:func:`parse_iproute2_names`);
* the *identity* of every item (:func:`address_key`, :func:`route_key`, :func:`rule_key`):
  the fields the kernel itself uses to tell two entries apart, written as a short
  readable string. The same key is computed from a configured item and from a kernel
  message (:func:`key_of_addr_msg` and friends), which is how the reflector knows that a
  deletion it sees is of something the daemon installed;
* the request keyword arguments for pyroute2's ``addr``/``route``/``rule`` calls
  (:func:`address_request`, :func:`route_request`, :func:`rule_request`). They are plain
  dicts, so this module never imports pyroute2; the shell passes them on unchanged.

Items arrive as the configuration model's dataclasses (``IPAddress``, ``Route``,
``Rule``), either straight from ``Config`` (static_*) or rebuilt from a bus body with
``from_wire``. Anything that cannot be expressed raises :class:`ItemError` with a message
that names the item, never a bare exception.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pykeepalived.conf.model import Family, IPAddress, Route, Rule

AF_INET = 2
AF_INET6 = 10

# ifa_flags (linux/if_addr.h)
IFA_F_SECONDARY = 0x01
IFA_F_NODAD = 0x02
IFA_F_OPTIMISTIC = 0x04
IFA_F_DADFAILED = 0x08
IFA_F_HOMEADDRESS = 0x10
IFA_F_DEPRECATED = 0x20
IFA_F_TENTATIVE = 0x40
IFA_F_PERMANENT = 0x80
IFA_F_MANAGETEMPADDR = 0x100
IFA_F_NOPREFIXROUTE = 0x200
IFA_F_MCAUTOJOIN = 0x400

#: RTPROT_KEEPALIVED: keepalived marks its routes and rules with this protocol number
RTPROT_KEEPALIVED = 18
RTNH_F_ONLINK = 4
FIB_RULE_INVERT = 0x2
INFINITY_LIFE_TIME = 0xFFFFFFFF

SCOPES: dict[str, int] = {
    "global": 0,
    "universe": 0,
    "site": 200,
    "link": 253,
    "host": 254,
    "nowhere": 255,
}
PROTOCOLS: dict[str, int] = {
    "unspec": 0,
    "redirect": 1,
    "kernel": 2,
    "boot": 3,
    "static": 4,
    "gated": 8,
    "ra": 9,
    "mrt": 10,
    "zebra": 11,
    "bird": 12,
    "dnrouted": 13,
    "xorp": 14,
    "ntk": 15,
    "dhcp": 16,
    "keepalived": 18,
    "babel": 42,
    "bgp": 186,
    "isis": 187,
    "ospf": 188,
    "rip": 189,
    "eigrp": 192,
}
TABLES: dict[str, int] = {"unspec": 0, "default": 253, "main": 254, "local": 255}
ROUTE_TYPES: dict[str, int] = {
    "unicast": 1,
    "local": 2,
    "broadcast": 3,
    "anycast": 4,
    "multicast": 5,
    "blackhole": 6,
    "unreachable": 7,
    "prohibit": 8,
    "throw": 9,
    "nat": 10,
    "xresolve": 11,
}
#: fib rule actions (linux/fib_rules.h FR_ACT_*); l3mdev is a table lookup plus FRA_L3MDEV
RULE_ACTIONS: dict[str, int] = {
    "table": 1,
    "l3mdev": 1,
    "goto": 2,
    "nop": 3,
    "blackhole": 6,
    "unreachable": 7,
    "prohibit": 8,
}
IP_PROTOCOLS: dict[str, int] = {
    "icmp": 1,
    "tcp": 6,
    "udp": 17,
    "ipv6-icmp": 58,
    "icmpv6": 58,
    "sctp": 132,
}
#: route metrics we can set (the names of ``ip route``; RTAX_* in pyroute2's spelling)
ROUTE_METRICS: dict[str, str] = {
    "mtu": "RTAX_MTU",
    "window": "RTAX_WINDOW",
    "rtt": "RTAX_RTT",
    "rttvar": "RTAX_RTTVAR",
    "ssthresh": "RTAX_SSTHRESH",
    "cwnd": "RTAX_CWND",
    "advmss": "RTAX_ADVMSS",
    "reordering": "RTAX_REORDERING",
    "hoplimit": "RTAX_HOPLIMIT",
    "initcwnd": "RTAX_INITCWND",
    "features": "RTAX_FEATURES",
    "rto_min": "RTAX_RTO_MIN",
    "initrwnd": "RTAX_INITRWND",
    "quickack": "RTAX_QUICKACK",
    "fastopen_no_cookie": "RTAX_FASTOPEN_NO_COOKIE",
}
_PREF = {"low": 3, "medium": 0, "high": 1}


class ItemError(ValueError):
    """An address, route or rule that cannot be turned into a kernel request."""


@dataclass(slots=True)
class Names:
    """Name → number tables in force (built-ins plus what iproute2's files add)."""

    scopes: dict[str, int] = field(default_factory=lambda: dict(SCOPES))
    protocols: dict[str, int] = field(default_factory=lambda: dict(PROTOCOLS))
    tables: dict[str, int] = field(default_factory=lambda: dict(TABLES))
    realms: dict[str, int] = field(default_factory=lambda: {"unknown": 0})

    def number(self, table: Mapping[str, int], what: str, value: str | int) -> int:
        if isinstance(value, int):
            return value
        v = value.strip()
        if v in table:
            return table[v]
        try:
            return int(v, 0)
        except ValueError:
            raise ItemError(f"unknown {what} {value!r}") from None

    def scope(self, value: str | int) -> int:
        return self.number(self.scopes, "scope", value)

    def protocol(self, value: str | int) -> int:
        return self.number(self.protocols, "protocol", value)

    def table(self, value: str | int | None) -> int:
        return 254 if value is None else self.number(self.tables, "table", value)

    def realms_value(self, value: str) -> int:
        src, _, dst = value.rpartition("/")
        to = self.number(self.realms, "realm", dst)
        frm = self.number(self.realms, "realm", src) if src else 0
        return (frm << 16) | to


def parse_iproute2_names(text: str) -> dict[str, int]:
    """Parse one iproute2 names file (``rt_tables``, ``rt_protos``, ...): ``NUMBER NAME``."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        parts = line.split()
        if len(parts) >= 2:
            try:
                out[parts[1]] = int(parts[0], 0)
            except ValueError:
                continue
    return out


# --------------------------------------------------------------------------- helpers


def family_number(family: Family | str) -> int:
    return AF_INET6 if str(family) == "inet6" else AF_INET


def _iface(value: str, what: str) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface:
    try:
        return ipaddress.ip_interface(value)
    except ValueError:
        raise ItemError(f"invalid {what} {value!r}") from None


def _ip(value: str, what: str) -> str:
    try:
        return str(ipaddress.ip_address(value.split("/", 1)[0]))
    except ValueError:
        raise ItemError(f"invalid {what} {value!r}") from None


def _prefix(value: str | None, family: Family) -> tuple[str, int]:
    """(network address, prefix length) of a route/rule prefix; ``default`` → 0-length."""
    if value is None or value in ("default", "any", "all"):
        return ("::" if family is Family.INET6 else "0.0.0.0"), 0
    itf = _iface(value, "prefix")
    return str(itf.ip), itf.network.prefixlen


# ------------------------------------------------------------------------ addresses


def address_key(a: IPAddress) -> str:
    """Identity of an address: family, interface, local address and prefix length."""
    if a.dev is None:
        raise ItemError(f"address {a.address}: no interface (dev) given")
    local = _iface(a.address, "address")
    plen = local.network.prefixlen
    if a.peer:
        plen = _iface(a.peer, "peer address").network.prefixlen
    return f"addr {a.family} {a.dev} {local.ip}/{plen}"


def key_of_addr(ifname: str, family: str, local: str, prefixlen: int) -> str:
    """The key of an address seen in the kernel (see :func:`address_key`)."""
    return f"addr {family} {ifname} {ipaddress.ip_address(local)}/{prefixlen}"


def address_flags(a: IPAddress) -> int:
    flags = 0
    if a.nodad:
        flags |= IFA_F_NODAD
    if a.home:
        flags |= IFA_F_HOMEADDRESS
    if a.mngtmpaddr:
        flags |= IFA_F_MANAGETEMPADDR
    if a.noprefixroute:
        flags |= IFA_F_NOPREFIXROUTE
    if a.autojoin:
        flags |= IFA_F_MCAUTOJOIN
    return flags


def address_request(a: IPAddress, ifindex: int, names: Names) -> dict[str, Any]:
    """pyroute2 ``addr()`` keyword arguments for one address on interface ``ifindex``."""
    local = _iface(a.address, "address")
    is6 = local.version == 6
    req: dict[str, Any] = {"index": ifindex, "family": AF_INET6 if is6 else AF_INET}
    if a.peer:
        peer = _iface(a.peer, "peer address")
        if peer.version != local.version:
            raise ItemError(f"address {a.address}: peer {a.peer} is of another family")
        req["local"] = str(local.ip)
        req["address"] = str(peer.ip)
        req["prefixlen"] = peer.network.prefixlen
    else:
        req["address"] = str(local.ip)
        req["prefixlen"] = local.network.prefixlen
    if a.scope is not None:
        req["scope"] = names.scope(a.scope)
    if a.label:
        if is6:
            raise ItemError(f"address {a.address}: IPv6 addresses have no label")
        req["label"] = a.label
    if a.broadcast:
        if is6:
            raise ItemError(f"address {a.address}: IPv6 addresses have no broadcast")
        if a.broadcast == "+":
            req["broadcast"] = str(local.network.broadcast_address)
        elif a.broadcast != "-":
            req["broadcast"] = _ip(a.broadcast, "broadcast address")
    flags = address_flags(a)
    if flags:
        req["IFA_FLAGS"] = flags
    preferred = a.preferred_lft
    if preferred is None and is6 and local.network.prefixlen == 128:
        preferred = 0  # keepalived's default for a /128: deprecated, never a source address
    if preferred is not None and is6:
        req["preferred_lft"] = preferred
        req["valid_lft"] = INFINITY_LIFE_TIME
    return req


# --------------------------------------------------------------------------- routes


def default_metric(family: Family) -> int:
    """The metric the kernel gives a route without one (IPv6 routes get 1024)."""
    return 1024 if family is Family.INET6 else 0


def route_key(r: Route, names: Names) -> str:
    """Identity of a route: family, table, destination, source prefix, tos and metric."""
    dst, dlen = _prefix(r.dest, r.family)
    key = f"route {r.family} table {names.table(r.table)} {dst}/{dlen}"
    if r.from_:
        src, slen = _prefix(r.from_, r.family)
        key += f" from {src}/{slen}"
    if r.tos:
        key += f" tos {r.tos}"
    metric = r.metric if r.metric is not None else default_metric(r.family)
    return f"{key} metric {metric}"


def key_of_route(
    family: str,
    table: int,
    dst: str | None,
    dst_len: int,
    src: str | None,
    src_len: int,
    tos: int,
    metric: int,
) -> str:
    """The key of a route seen in the kernel (see :func:`route_key`)."""
    fam = Family(family)
    d = str(ipaddress.ip_address(dst)) if dst else ("::" if fam is Family.INET6 else "0.0.0.0")
    key = f"route {family} table {table} {d}/{dst_len}"
    if src and src_len:
        key += f" from {ipaddress.ip_address(src)}/{src_len}"
    if tos:
        key += f" tos {tos}"
    return f"{key} metric {metric}"


def route_request(
    r: Route, ifindex: Callable[[str], int | None], names: Names
) -> tuple[dict[str, Any], list[str]]:
    """pyroute2 ``route()`` keyword arguments, plus warnings for options left unset."""
    warnings: list[str] = []
    fam = family_number(r.family)
    dst, dlen = _prefix(r.dest, r.family)
    req: dict[str, Any] = {"family": fam, "dst": f"{dst}/{dlen}"}
    rtype = r.type or "unicast"
    if rtype not in ROUTE_TYPES:
        raise ItemError(f"route {r.dest}: unknown route type {rtype!r}")
    req["type"] = ROUTE_TYPES[rtype]
    req["table"] = names.table(r.table)
    req["proto"] = names.protocol(r.protocol) if r.protocol is not None else RTPROT_KEEPALIVED
    if r.scope is not None:
        req["scope"] = names.scope(r.scope)
    if r.metric is not None:
        req["priority"] = r.metric
    if r.tos:
        req["tos"] = r.tos
    if r.src:
        req["prefsrc"] = _ip(r.src, "route src")
    if r.from_:
        src, slen = _prefix(r.from_, r.family)
        req["src"] = src
        req["src_len"] = slen
    if r.realms:
        req["flow"] = names.realms_value(r.realms)
    if r.dev:
        idx = ifindex(r.dev)
        if idx is None:
            raise ItemError(f"route {r.dest}: no interface {r.dev!r}")
        req["oif"] = idx
    if r.via:
        req["gateway"] = _ip(r.via, "route via")
    if r.onlink:
        req["flags"] = RTNH_F_ONLINK
    if r.vrf:
        warnings.append(f"route {r.dest}: vrf {r.vrf} is not supported, route put in its table")
    if r.nexthops:
        hops: list[dict[str, Any]] = []
        for nh in r.nexthops:
            hop: dict[str, Any] = {}
            if nh.via:
                hop["gateway"] = _ip(nh.via, "nexthop via")
            if nh.dev:
                idx = ifindex(nh.dev)
                if idx is None:
                    raise ItemError(f"route {r.dest}: nexthop interface {nh.dev!r} missing")
                hop["oif"] = idx
            if nh.weight is not None:
                hop["hops"] = nh.weight - 1  # rtnh_hops is weight-1
            if nh.onlink:
                hop["flags"] = RTNH_F_ONLINK
            if nh.realms:
                hop["flow"] = names.realms_value(nh.realms)
            hops.append(hop)
        req["multipath"] = hops
        req.pop("gateway", None)
    metrics: dict[str, int] = {}
    for name, value in r.options:
        if name == "pref":
            if value not in _PREF:
                raise ItemError(f"route {r.dest}: bad pref {value!r}")
            req["RTA_PREF"] = _PREF[value]
            continue
        if name in ROUTE_METRICS:
            v = value.split()[-1]  # "lock N": the lock flag is not kept
            if name == "features":
                metrics[ROUTE_METRICS[name]] = 1 if v == "ecn" else 0
                continue
            try:
                metrics[ROUTE_METRICS[name]] = int(v.rstrip("ms"))
            except ValueError:
                warnings.append(f"route {r.dest}: {name} {value} not understood, left unset")
            continue
        warnings.append(f"route {r.dest}: option {name} {value} is not supported, left unset")
    if metrics:
        req["metrics"] = metrics
    return req, warnings


# ---------------------------------------------------------------------------- rules


def _range(value: str, what: str) -> str:
    lo, _, hi = value.partition("-")
    try:
        a = int(lo)
        b = int(hi) if hi else a
    except ValueError:
        raise ItemError(f"bad {what} range {value!r}") from None
    return f"{a}:{b}"


def rule_key(r: Rule, names: Names) -> str:
    """Identity of a rule: the fields ``ip rule`` matches on, in a fixed order."""
    parts = [f"rule {r.family} pref {r.priority}"]
    if r.not_:
        parts.append("not")
    if r.from_:
        src, slen = _prefix(r.from_, r.family)
        parts.append(f"from {src}/{slen}")
    if r.to:
        dst, dlen = _prefix(r.to, r.family)
        parts.append(f"to {dst}/{dlen}")
    if r.fwmark is not None:
        parts.append(f"fwmark {r.fwmark}")
    if r.iif:
        parts.append(f"iif {r.iif}")
    if r.oif:
        parts.append(f"oif {r.oif}")
    parts.append(_rule_action_word(r.action, r.table, r.goto, names))
    return " ".join(parts)


def _rule_action_word(action: str, table: str | int | None, goto: int | None, names: Names) -> str:
    if action in ("table", "l3mdev"):
        return "l3mdev" if action == "l3mdev" else f"table {names.table(table)}"
    if action == "goto":
        return f"goto {goto}"
    return action


def key_of_rule(
    family: str,
    priority: int,
    invert: bool,
    src: str | None,
    src_len: int,
    dst: str | None,
    dst_len: int,
    fwmark: int | None,
    iif: str | None,
    oif: str | None,
    action: int,
    table: int,
    goto: int | None,
    l3mdev: bool,
) -> str:
    """The key of a rule seen in the kernel (see :func:`rule_key`)."""
    parts = [f"rule {family} pref {priority}"]
    if invert:
        parts.append("not")
    if src and src_len:
        parts.append(f"from {ipaddress.ip_address(src)}/{src_len}")
    if dst and dst_len:
        parts.append(f"to {ipaddress.ip_address(dst)}/{dst_len}")
    if fwmark is not None:
        parts.append(f"fwmark {fwmark}")
    if iif:
        parts.append(f"iif {iif}")
    if oif:
        parts.append(f"oif {oif}")
    words = {v: k for k, v in RULE_ACTIONS.items() if k not in ("table", "l3mdev")}
    if action == 1:
        parts.append("l3mdev" if l3mdev else f"table {table}")
    elif action == 2:
        parts.append(f"goto {goto}")
    else:
        parts.append(words.get(action, f"action{action}"))
    return " ".join(parts)


def rule_request(r: Rule, names: Names) -> dict[str, Any]:
    """pyroute2 ``rule()`` keyword arguments for one rule."""
    if r.action not in RULE_ACTIONS:
        raise ItemError(f"rule: unknown action {r.action!r}")
    if r.priority is None:
        raise ItemError("rule: no priority (preference) given")
    req: dict[str, Any] = {
        "family": family_number(r.family),
        "priority": r.priority,
        "action": RULE_ACTIONS[r.action],
        "FRA_PROTOCOL": RTPROT_KEEPALIVED if r.protocol is None else names.protocol(r.protocol),
    }
    if r.action == "table":
        if r.table is None:
            raise ItemError(f"rule pref {r.priority}: action table without a table")
        req["table"] = names.table(r.table)
    elif r.action == "l3mdev":
        req["FRA_L3MDEV"] = 1
    elif r.action == "goto":
        if r.goto is None:
            raise ItemError(f"rule pref {r.priority}: goto without a target")
        req["goto"] = r.goto
    if r.not_:
        req["flags"] = FIB_RULE_INVERT
    if r.from_:
        src, slen = _prefix(r.from_, r.family)
        req["src"], req["src_len"] = src, slen
    if r.to:
        dst, dlen = _prefix(r.to, r.family)
        req["dst"], req["dst_len"] = dst, dlen
    if r.tos:
        req["tos"] = r.tos
    if r.fwmark is not None:
        req["fwmark"] = r.fwmark
        req["fwmask"] = r.fwmask if r.fwmask is not None else 0xFFFFFFFF
    if r.realms:
        req["FRA_FLOW"] = names.realms_value(r.realms)
    if r.suppress_prefixlength is not None:
        req["FRA_SUPPRESS_PREFIXLEN"] = r.suppress_prefixlength
    if r.suppress_ifgroup is not None:
        req["FRA_SUPPRESS_IFGROUP"] = names.number({"default": 0}, "group", r.suppress_ifgroup)
    if r.iif:
        req["iifname"] = r.iif
    if r.oif:
        req["oifname"] = r.oif
    if r.tunnel_id is not None:
        req["FRA_TUN_ID"] = r.tunnel_id
    if r.uidrange:
        req["FRA_UID_RANGE"] = _range(r.uidrange, "uidrange")
    if r.ipproto:
        req["FRA_IP_PROTO"] = names.number(IP_PROTOCOLS, "ipproto", r.ipproto)
    if r.sport:
        req["FRA_SPORT_RANGE"] = _range(r.sport, "sport")
    if r.dport:
        req["FRA_DPORT_RANGE"] = _range(r.dport, "dport")
    return req


# ------------------------------------------------------------- keys of kernel messages

_FAMILY_NAMES = {AF_INET: "inet", AF_INET6: "inet6"}


def route_key_of_msg(msg: Any) -> str | None:
    """The key of an RTM_NEWROUTE/RTM_DELROUTE message (None for other families)."""
    family = _FAMILY_NAMES.get(msg.get("family"))
    if family is None:
        return None
    table = msg.get("RTA_TABLE")
    if table is None:
        table = msg.get("table") or 0
    return key_of_route(
        family,
        int(table),
        msg.get("RTA_DST"),
        int(msg.get("dst_len") or 0),
        msg.get("RTA_SRC"),
        int(msg.get("src_len") or 0),
        int(msg.get("tos") or 0),
        int(msg.get("RTA_PRIORITY") or 0),
    )


def rule_key_of_msg(msg: Any) -> str | None:
    """The key of an RTM_NEWRULE/RTM_DELRULE message (None for other families)."""
    family = _FAMILY_NAMES.get(msg.get("family"))
    if family is None:
        return None
    table = msg.get("FRA_TABLE")
    if table is None:
        table = msg.get("table") or 0
    return key_of_rule(
        family,
        int(msg.get("FRA_PRIORITY") or 0),
        bool(int(msg.get("flags") or 0) & FIB_RULE_INVERT),
        msg.get("FRA_SRC"),
        int(msg.get("src_len") or 0),
        msg.get("FRA_DST"),
        int(msg.get("dst_len") or 0),
        msg.get("FRA_FWMARK"),
        msg.get("FRA_IIFNAME"),
        msg.get("FRA_OIFNAME"),
        int(msg.get("action") or 0),
        int(table),
        msg.get("FRA_GOTO"),
        bool(msg.get("FRA_L3MDEV")),
    )
