"""Address, route and rule lines (``ip addr`` / ``ip route`` / ``ip rule`` syntax) and the
root blocks ``static_ipaddress``, ``static_routes``, ``static_rules``, ``track_group``.

The same line parsers serve ``virtual_ipaddress[_excluded]``, ``virtual_routes`` and
``virtual_rules`` of a vrrp_instance (``static`` False: ``track_group`` refused there).
"""

from __future__ import annotations

import ipaddress

from pykeepalived.conf import values as V
from pykeepalived.conf.keywords import common as C
from pykeepalived.conf.model import Family, IPAddress, Nexthop, Route, Rule, TrackGroup
from pykeepalived.conf.preprocess import Stmt
from pykeepalived.conf.registry import BlockDef, Ctx, Draft

_SCOPES = {"global", "site", "link", "host", "nowhere"}
_ADDR_FLAGS = {"home": "home", "-nodad": "nodad", "nodad": "nodad", "mngtmpaddr": "mngtmpaddr",
               "noprefixroute": "noprefixroute", "autojoin": "autojoin"}  # fmt: skip


def _prefix_len_checked(ctx: Ctx, word: str, st: Stmt) -> str:
    """keepalived 2.2.7 keeps an address whose prefix length is bad, at the full length
    (measured: ``invalid number '24;'``, then ``Invalid address prefix len ...``)."""
    addr, _, plen = word.partition("/")
    try:
        maxlen = 32 if ipaddress.ip_address(addr).version == 4 else 128
    except ValueError:
        return word
    if not plen or (plen.isdigit() and plen.isascii() and int(plen) <= maxlen):
        return word
    V.uint(ctx, plen, 0, maxlen)
    ctx.error(
        f"Invalid address prefix len {plen} for address {word} - using {maxlen}",
        "invalid-value",
        st,
    )
    return addr


def parse_address(ctx: Ctx, st: Stmt, *, static: bool) -> IPAddress | None:
    """One address line; problems are reported and the entry kept where keepalived keeps it."""
    w = st.words
    p = V.prefix(ctx, _prefix_len_checked(ctx, w[0], st), "address", quiet=True)
    if p is None:
        ctx.error(f"VRRP parsed invalid IP {w[0]}. skipping IP...", "invalid-address", st)
        return None
    addr, fam = p
    out: dict[str, object] = {"address": addr, "family": fam}
    i = 1
    while i < len(w):
        k = w[i]
        nxt = w[i + 1] if i + 1 < len(w) else None
        if k == "dev" and nxt is not None:
            out["dev"] = nxt
            i += 2
        elif k == "scope" and nxt is not None:
            if nxt not in _SCOPES and not nxt.isdigit():
                ctx.error(f"Invalid address scope '{nxt}'", "invalid-value", st)
            else:
                out["scope"] = nxt
            i += 2
        elif k in ("broadcast", "brd") and nxt is not None:
            if fam is Family.INET6:
                ctx.error("IPv6 addresses cannot have a broadcast address", "invalid-value", st)
            elif nxt in ("+", "-") or V.ip_address(ctx, nxt, "broadcast address") is not None:
                out["broadcast"] = nxt
            i += 2
        elif k == "label" and nxt is not None:
            if len(nxt) >= 16:
                ctx.error(f"Label '{nxt}' too long - ignoring", "invalid-value", st)
            else:
                out["label"] = nxt
            i += 2
        elif k == "peer" and nxt is not None:
            # keepalived 2.2.7 takes a bare address here; anything else drops the entry
            pp = V.prefix(ctx, nxt, "peer address", quiet=True)
            if pp is None or "/" in nxt:
                ctx.error(f"Invalid peer address {nxt}", "invalid-address", st)
                ctx.error(f"VRRP parsed invalid IP {nxt}. skipping IP...", "invalid-address", st)
                return None
            out["peer"] = pp[0]
            i += 2
        elif k in _ADDR_FLAGS:
            out[_ADDR_FLAGS[k]] = True
            i += 1
        elif k == "preferred_lft" and nxt is not None:
            if nxt == "forever":
                out["preferred_lft"] = 0xFFFFFFFF
            else:
                v = V.uint(ctx, nxt, 0, 0xFFFFFFFF)
                if v is not None:
                    out["preferred_lft"] = v
            i += 2
        elif k == "no_track" and not static:
            out["no_track"] = True
            i += 1
        elif k == "use_vmac" and not static:
            out["use_vmac"] = True
            ctx.warning(
                "'use_vmac' (address option) is accepted but not implemented by pykeepalived "
                "(no macvlan is created: the address goes on its own interface)",
                "unimplemented",
                st,
            )
            i += 1
        elif k == "track_group" and static and nxt is not None:
            out["track_group"] = nxt
            i += 2
        else:
            ctx.error(
                f"Unknown configuration entry '{k}' for ip address - ignoring", "invalid-value", st
            )
            i += 1
    return IPAddress(**out)  # type: ignore[arg-type]


_ROUTE_TYPES = {"unicast", "local", "nat", "broadcast", "brd", "anycast", "multicast",
                "prohibit", "unreachable", "blackhole", "xresolve", "throw"}  # fmt: skip
_ROUTE_LOCKABLE = {"mtu", "advmss", "rtt", "rttvar", "reordering", "cwnd", "ssthresh", "rto_min",
                   "congctl"}  # fmt: skip
_ROUTE_VALUE_OPTS = {"expires", "hoplimit", "window", "initcwnd", "initrwnd", "features",
                     "quickack", "pref", "ttl-propagate", "fastopen_no_cookie"}  # fmt: skip


def parse_route(ctx: Ctx, st: Stmt, *, static: bool) -> Route | None:
    """One route line; ``or`` and ``gw`` are accepted with keepalived's deprecation text."""
    w = st.words
    out: dict[str, object] = {}
    options: list[tuple[str, str]] = []
    nexthops: list[Nexthop] = []
    forced_family: Family | None = None
    dest: str | None = None
    i = 0
    n = len(w)

    def addr(word: str, what: str) -> str | None:
        a = V.ip_address(ctx, word, what)
        return a

    while i < n:
        k = w[i]
        nxt = w[i + 1] if i + 1 < n else None
        if k in ("inet", "inet6"):
            forced_family = Family(k)
            i += 1
        elif k in _ROUTE_TYPES and dest is None and "type" not in out:
            out["type"] = "broadcast" if k == "brd" else k
            i += 1
        elif k == "to" and nxt is not None and dest is None:
            i += 1
        elif k == "src" and nxt is not None:
            a = addr(nxt, "route src address")
            if a is not None:
                out["src"] = a
            i += 2
        elif k == "from" and nxt is not None:
            p = V.prefix(ctx, nxt, "route from address")
            if p is not None:
                out["from_"] = p[0]
            i += 2
        elif k in ("via", "gw") and nxt is not None:
            if k == "gw":
                ctx.warning('"gw" for routes is deprecated. Please use "via"', "deprecated", st)
            j = i + 1
            if w[j] in ("inet", "inet6") and j + 1 < n:
                j += 1
            a = addr(w[j], "route via address")
            if a is not None:
                out["via"] = a
            i = j + 1
        elif k in ("dev", "oif") and nxt is not None:
            out["dev"] = nxt
            i += 2
        elif k == "table" and nxt is not None:
            out["table"] = nxt
            i += 2
        elif k == "vrf" and nxt is not None:
            out["vrf"] = nxt
            i += 2
        elif k in ("protocol", "proto") and nxt is not None:
            out["protocol"] = nxt
            i += 2
        elif k == "scope" and nxt is not None:
            out["scope"] = nxt
            i += 2
        elif k in ("metric", "priority", "preference") and nxt is not None:
            v = V.uint(ctx, nxt)
            if v is not None:
                out["metric"] = v
            i += 2
        elif k in ("tos", "dsfield") and nxt is not None:
            v = V.uint(ctx, nxt, 0, 255) if not nxt.startswith("0x") else int(nxt, 16)
            if v is not None:
                out["tos"] = v
            i += 2
        elif k == "onlink":
            out["onlink"] = True
            i += 1
        elif k == "realms" and nxt is not None:
            out["realms"] = nxt
            i += 2
        elif k in _ROUTE_LOCKABLE and nxt is not None:
            if nxt == "lock" and i + 2 < n:
                options.append((k, "lock " + w[i + 2]))
                i += 3
            else:
                options.append((k, nxt))
                i += 2
        elif k in _ROUTE_VALUE_OPTS and nxt is not None:
            options.append((k, nxt))
            i += 2
        elif k == "encap" and nxt is not None:
            j = i + 1
            parts = []
            while j < n and w[j] not in ("nexthop",):
                parts.append(w[j])
                j += 1
            options.append(("encap", " ".join(parts)))
            i = j
        elif k == "as" and nxt is not None:
            i += 3 if nxt == "to" else 2
        elif k in ("add", "prepend", "append"):
            options.append(("nlm", k))
            i += 1
        elif k == "no_track":
            out["no_track"] = True
            i += 1
        elif k == "track_group" and nxt is not None:
            if not static:
                ctx.error("track_group is only valid for static routes", "invalid-value", st)
            else:
                out["track_group"] = nxt
            i += 2
        elif k == "or" and nxt is not None:
            ctx.warning('"or" for routes is deprecated. Please use "nexthop"', "deprecated", st)
            if not nexthops and "via" in out:
                nexthops.append(Nexthop(via=str(out.pop("via")), dev=out.get("dev")))  # type: ignore[arg-type]
            a = addr(nxt, "route nexthop address")
            if a is not None:
                nexthops.append(Nexthop(via=a))
            i += 2
        elif k == "nexthop":
            j = i + 1
            nh: dict[str, object] = {}
            while j < n and w[j] != "nexthop":
                kk = w[j]
                vv = w[j + 1] if j + 1 < n else None
                if kk == "via" and vv is not None:
                    jj = j + 1
                    if w[jj] in ("inet", "inet6") and jj + 1 < n:
                        jj += 1
                    a = addr(w[jj], "route nexthop address")
                    if a is not None:
                        nh["via"] = a
                    j = jj + 1
                elif kk == "dev" and vv is not None:
                    nh["dev"] = vv
                    j += 2
                elif kk == "weight" and vv is not None:
                    v = V.uint(ctx, vv, 1, 256)
                    if v is not None:
                        nh["weight"] = v
                    j += 2
                elif kk == "onlink":
                    nh["onlink"] = True
                    j += 1
                elif kk == "realms" and vv is not None:
                    nh["realms"] = vv
                    j += 2
                elif kk == "encap" and vv is not None:
                    j += 2
                    while j < n and w[j] not in ("nexthop", "dev", "weight", "via", "onlink"):
                        j += 1
                else:
                    ctx.error(f"Unknown route nexthop option '{kk}'", "invalid-value", st)
                    j += 1
            nexthops.append(Nexthop(**nh))  # type: ignore[arg-type]
            i = j
        elif dest is None:
            p = V.network(ctx, k, "route destination")
            if p is None:
                return None
            dest = p[0]
            if dest == "default" and p[1] is Family.INET6:
                forced_family = Family.INET6
            elif dest != "default":
                out["family"] = p[1]
            i += 1
        else:
            ctx.error(f"Unknown route option '{k}'", "invalid-value", st)
            i += 1
    if dest is None:
        ctx.error("Route has no destination", "missing-parameter", st)
        return None
    fam = out.get("family")
    if fam is None:
        fam = forced_family
        if fam is None:
            via = out.get("via") or out.get("src")
            fam = V.family_of(str(via)) if via else Family.INET
        out["family"] = fam
    elif forced_family is not None and forced_family is not fam:
        ctx.error("Route family does not match its destination", "invalid-address", st)
        return None
    out["dest"] = dest
    out["options"] = tuple(options)
    out["nexthops"] = tuple(nexthops)
    return Route(**out)  # type: ignore[arg-type]


_RULE_ACTIONS = {"nop", "blackhole", "unreachable", "prohibit"}


def parse_rule(ctx: Ctx, st: Stmt, *, static: bool) -> Rule | None:
    """One rule line."""
    w = st.words
    out: dict[str, object] = {}
    fam: Family | None = None
    i = 0
    n = len(w)
    action: str | None = None
    while i < n:
        k = w[i]
        nxt = w[i + 1] if i + 1 < n else None
        if k in ("inet", "inet6"):
            fam = Family(k)
            i += 1
        elif k in ("from", "to") and nxt is not None:
            if nxt in ("all", "any", "default"):
                i += 2
                continue
            p = V.prefix(ctx, nxt, f"rule {k} address", quiet=True)
            if p is None:
                ctx.error(f"Invalid rule {k} address {nxt}", "invalid-address", st)
                ctx.error(f"VRRP parsed invalid IP {nxt}. skipping IP...", "invalid-address", st)
                return None
            if fam is not None and p[1] is not fam:
                ctx.error(f"Rule {k} address family mismatch", "invalid-address", st)
                return None
            fam = p[1]
            out["from_" if k == "from" else "to"] = p[0]
            i += 2
        elif k == "not":
            out["not_"] = True
            i += 1
        elif k in ("table", "lookup") and nxt is not None:
            out["table"] = nxt
            action = action or "table"
            i += 2
        elif k in ("preference", "order", "priority") and nxt is not None:
            v = V.uint(ctx, nxt)
            if v is not None:
                out["priority"] = v
            i += 2
        elif k in ("tos", "dsfield") and nxt is not None:
            v = V.uint(ctx, nxt, 0, 255)
            if v is not None:
                out["tos"] = v
            i += 2
        elif k == "fwmark" and nxt is not None:
            mark, _, mask = nxt.partition("/")
            try:
                out["fwmark"] = int(mark, 0)
                if mask:
                    out["fwmask"] = int(mask, 0)
            except ValueError:
                ctx.error(f"Invalid rule fwmark '{nxt}'", "invalid-number", st)
            i += 2
        elif k == "realms" and nxt is not None:
            out["realms"] = nxt
            i += 2
        elif k in ("suppress_prefixlength", "sup_pl") and nxt is not None:
            v = V.uint(ctx, nxt, 0, 128)
            if v is not None:
                out["suppress_prefixlength"] = v
            i += 2
        elif k in ("suppress_ifgroup", "sup_group") and nxt is not None:
            out["suppress_ifgroup"] = nxt
            i += 2
        elif k in ("dev", "iif") and nxt is not None:
            out["iif"] = nxt
            i += 2
        elif k == "oif" and nxt is not None:
            out["oif"] = nxt
            i += 2
        elif k == "tunnel-id" and nxt is not None:
            v = V.uint(ctx, nxt)
            if v is not None:
                out["tunnel_id"] = v
            i += 2
        elif (k in ("uidrange", "sport", "dport") and nxt is not None) or (
            k in ("protocol", "ipproto") and nxt is not None
        ):
            out[k] = nxt
            i += 2
        elif k == "l3mdev":
            action = "l3mdev"
            i += 1
        elif k == "goto" and nxt is not None:
            v = V.uint(ctx, nxt)
            if v is not None:
                out["goto"] = v
            action = "goto"
            i += 2
        elif k == "type" and nxt is not None and nxt in _RULE_ACTIONS | {"goto"}:
            i += 1
        elif k in _RULE_ACTIONS:
            action = k
            i += 1
        elif k == "no_track":
            out["no_track"] = True
            i += 1
        elif k == "track_group" and nxt is not None:
            if not static:
                ctx.error("track_group is only valid for static rules", "invalid-value", st)
            else:
                out["track_group"] = nxt
            i += 2
        else:
            ctx.error(f"Unknown rule option '{k}'", "invalid-value", st)
            i += 1
    if action is None:
        ctx.error("No action specified for rule - ignoring", "missing-parameter", st)
        return None
    out["action"] = action
    out["family"] = fam or Family.INET
    if "priority" not in out:
        seq = ctx.shared.get("rule_pref", 16385) - 1
        ctx.shared["rule_pref"] = seq
        ctx.warning(
            (
                f"Rule has no preference specified - setting to {seq}. This is probably not what "
                "you want."
            ),
            "semantic",
            st,
        )
        out["priority"] = seq
    return Rule(**out)  # type: ignore[arg-type]


def address_entry(field: str, *, static: bool) -> C.Handler:
    def h(ctx: Ctx, d: Draft, st: Stmt) -> None:
        a = parse_address(ctx, st, static=static)
        if a is not None:
            d.setdefault(field, []).append((a, st))

    return h


def route_entry(field: str, *, static: bool) -> C.Handler:
    def h(ctx: Ctx, d: Draft, st: Stmt) -> None:
        r = parse_route(ctx, st, static=static)
        if r is not None:
            d.setdefault(field, []).append((r, st))

    return h


def rule_entry(field: str, *, static: bool) -> C.Handler:
    def h(ctx: Ctx, d: Draft, st: Stmt) -> None:
        r = parse_rule(ctx, st, static=static)
        if r is not None:
            d.setdefault(field, []).append((r, st))

    return h


# ---------------------------------------------------------------- track_group

TRACK_GROUP = BlockDef("track_group")


def _tg_member(ctx: Ctx, d: Draft, st: Stmt) -> None:
    d.setdefault("group", []).extend(st.words)


def _open_tg_group(ctx: Ctx, d: Draft, st: Stmt) -> Draft | None:
    if "group" in d:
        ctx.error(
            f"Group already specified for track group {d['name']} - ignoring", "duplicate", st
        )
        return None
    d["group"] = []
    return d


TRACK_GROUP.values("group", _tg_member, open=_open_tg_group)


def _open_track_group(ctx: Ctx, root: Draft, st: Stmt) -> Draft | None:
    name = C.arg(ctx, st)
    if name is None:
        return None
    groups = root.setdefault("_track_groups", {})
    if name in groups:
        ctx.error(f"track_group {name} already defined - ignoring", "duplicate", st)
        return None
    return {"name": name, "_stmt": st}


def _close_track_group(ctx: Ctx, d: Draft, root: Draft) -> None:
    if not d.get("group"):
        ctx.warning(f"Track group {d['name']} has no virtual router(s) - removing", "semantic")
        return
    root["_track_groups"][d["name"]] = TrackGroup(name=d["name"], group=tuple(d["group"]))


def register_root(root: BlockDef) -> None:
    root.values("static_ipaddress", address_entry("static_ipaddress", static=True))
    root.values("static_routes", route_entry("static_routes", static=True))
    root.values("static_rules", rule_entry("static_rules", static=True))
    root.sub(
        "track_group",
        TRACK_GROUP,
        _open_track_group,
        _close_track_group,
    )


def is_link_local6(addr: str) -> bool:
    try:
        return ipaddress.ip_address(addr.split("/")[0]).is_link_local
    except ValueError:
        return False
