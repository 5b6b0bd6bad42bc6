"""LVS keywords: root ``SSL``, ``virtual_server_group``, ``virtual_server`` and ``real_server``.

:func:`finalize` resolves the inheritance virtual_server → real_server → checker and
keepalived's validation (``validate_check_config``): a virtual server with no real
servers is dropped, families must agree, a group must exist, and so on.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from pykeepalived.conf import values as V
from pykeepalived.conf.keywords import checkers as K
from pykeepalived.conf.keywords import common as C
from pykeepalived.conf.model import (
    Family,
    GlobalDefs,
    LvsMethod,
    Protocol,
    RealServer,
    SorryServer,
    SslContext,
    Tunnel,
    VirtualServer,
    VirtualServerGroup,
    VsgFwmark,
    VsgRange,
)
from pykeepalived.conf.preprocess import Stmt
from pykeepalived.conf.registry import BlockDef, Ctx, Draft

THRESHOLD = "no connection limits are set on the real server"

SSL_BLOCK = BlockDef("SSL")
VS = BlockDef("virtual_server")
RS = BlockDef("real_server")

SCHEDULERS = (
    "rr",
    "wrr",
    "lc",
    "wlc",
    "lblc",
    "sh",
    "mh",
    "dh",
    "fo",
    "ovf",
    "lblcr",
    "sed",
    "nq",
    "twos",
)

# ---------------------------------------------------------------- SSL

for _k in ("password", "ca", "certificate", "key"):
    SSL_BLOCK.scalar(_k, C.string(_k))


def _open_ssl(ctx: Ctx, root: Draft, st: Stmt) -> Draft | None:
    return {"_stmt": st}


def _close_ssl(ctx: Ctx, d: Draft, root: Draft) -> None:
    root["_ssl"] = SslContext(**{k: v for k, v in d.items() if not k.startswith("_")})


# ---------------------------------------------------------------- virtual_server_group


def _vsg_entry(ctx: Ctx, d: Draft, st: Stmt) -> None:
    w = st.words
    if w[0] == "fwmark":
        if len(w) < 2:
            ctx.error("virtual server group fwmark requires a mark", "missing-parameter", st)
            return
        mark = V.uint(ctx, w[1])
        if mark is None:
            return
        fam = None
        if len(w) > 2:
            if w[2] not in ("inet", "inet6"):
                ctx.error(f"Unknown fwmark family '{w[2]}'", "invalid-value", st)
                return
            fam = Family(w[2])
        d.setdefault("_fwmarks", []).append(VsgFwmark(fwmark=mark, family=fam))
        return
    addr = w[0]
    port = None
    if len(w) > 1:
        p = V.uint(ctx, w[1], 0, 65535)
        if p is None:
            return
        port = p or None
    rng = _vsg_range(ctx, addr, st)
    if rng is None:
        return
    start, end, fam = rng
    d.setdefault("_addresses", []).append(VsgRange(start=start, end=end, port=port, family=fam))


def _vsg_range(ctx: Ctx, text: str, st: Stmt) -> tuple[str, str, Family] | None:
    bad = f"Invalid virtual server group IP address/range {text} - skipping"
    try:
        if "/" in text:
            net = ipaddress.ip_network(text, strict=True)
            fam = Family.INET if net.version == 4 else Family.INET6
            return str(net.network_address), str(net.broadcast_address), fam
        if "-" in text:
            a, _, b = text.partition("-")
            start = ipaddress.ip_address(a)
            if "." in b or ":" in b:
                end = ipaddress.ip_address(b)
            elif start.version == 4:
                octets = str(start).split(".")
                last = int(b, 10)
                if last > 255:
                    raise ValueError
                end = ipaddress.ip_address(".".join([*octets[:3], str(last)]))
            else:
                groups = start.exploded.split(":")
                last = int(b, 16)
                if last > 0xFFFF:
                    raise ValueError
                end = ipaddress.ip_address(":".join([*groups[:7], f"{last:x}"]))
            if end.version != start.version:
                raise ValueError
            if int(end) <= int(start):
                ctx.error(
                    "Address range end is not greater than address range start - "
                    f"{text} - skipping",
                    "invalid-address",
                    st,
                )
                return None
            fam = Family.INET if start.version == 4 else Family.INET6
            return str(start), str(end), fam
        ip = ipaddress.ip_address(text)
        fam = Family.INET if ip.version == 4 else Family.INET6
        return str(ip), str(ip), fam
    except ValueError:
        ctx.error(bad, "invalid-address", st)
        return None


def _open_vsg(ctx: Ctx, root: Draft, st: Stmt) -> Draft | None:
    name = C.arg(ctx, st, 1, "virtual_server_group name")
    if name is None:
        return None
    C.extra(ctx, st, 1)
    groups = root.setdefault("_vsgs", {})
    if name in groups:
        ctx.error(f"virtual_server_group {name} already defined - ignoring", "duplicate", st)
        return None
    return {"name": name, "_stmt": st}


def _close_vsg(ctx: Ctx, d: Draft, root: Draft) -> None:
    addrs = d.get("_addresses", [])
    marks = d.get("_fwmarks", [])
    if not addrs and not marks:
        ctx.error(f"virtual server group {d['name']} has no entries - removing", "semantic")
        return
    fams = {a.family for a in addrs} | {m.family for m in marks if m.family is not None}
    if len(fams) > 1:
        ctx.error(
            f"virtual server group {d['name']} mixes IPv4 and IPv6 - removing",
            "semantic",
            d["_stmt"],
        )
        return
    root["_vsgs"][d["name"]] = (
        VirtualServerGroup(name=d["name"], addresses=tuple(addrs), fwmarks=tuple(marks)),
        d["_stmt"],
    )


# ---------------------------------------------------------------- virtual_server scalars


def _sched(ctx: Ctx, d: Draft, st: Stmt) -> None:
    w = C.arg(ctx, st)
    if w is None:
        return
    if w not in SCHEDULERS:
        ctx.error(f"Invalid lvs_scheduler '{w}' - ignoring", "invalid-value", st)
        return
    d["lvs_sched"] = w


def _method(field: str) -> C.Handler:
    def h(ctx: Ctx, d: Draft, st: Stmt) -> None:
        w = st.words
        if len(w) < 2:
            ctx.error(f"{w[0]} requires a method", "missing-parameter", st)
            return
        if w[1] == "NAT":
            d[field] = LvsMethod.NAT
        elif w[1] in ("DR", "DRT"):
            d[field] = LvsMethod.DR
        elif w[1] == "TUN":
            d[field] = LvsMethod.TUN
            t: dict[str, Any] = {}
            i = 2
            while i < len(w):
                if w[i] == "type" and i + 1 < len(w) and w[i + 1] in ("ipip", "gue", "gre"):
                    t["type"] = w[i + 1]
                    i += 2
                elif w[i] == "port" and i + 1 < len(w):
                    p = V.uint(ctx, w[i + 1], 1, 65535)
                    if p is not None:
                        t["port"] = p
                    i += 2
                elif w[i] in ("nocsum", "csum", "remcsum"):
                    t["checksum"] = w[i]
                    i += 1
                else:
                    ctx.error(f"Unknown TUN option '{w[i]}'", "invalid-value", st)
                    i += 1
            if t.get("type") == "gue" and "port" not in t:
                ctx.error("GUE tunnel requires a port", "missing-parameter", st)
            d[field + "_tunnel"] = Tunnel(**t)
        else:
            ctx.error(f"Invalid lvs_method {w[1]}", "invalid-value", st)

    return h


def _protocol(ctx: Ctx, d: Draft, st: Stmt) -> None:
    w = C.arg(ctx, st)
    if w is None:
        return
    try:
        d["protocol"] = Protocol(w.lower())
    except ValueError:
        ctx.error(f"Unknown protocol {w} - ignoring", "invalid-value", st)
        return
    d["_protocol_set"] = True


def _persistence_timeout(ctx: Ctx, d: Draft, st: Stmt) -> None:
    if len(st.words) == 1:
        d["persistence_timeout"] = 360
        return
    v = V.uint(ctx, st.words[1], 1, 31 * 86400)
    if v is not None:
        d["persistence_timeout"] = v


def _granularity(ctx: Ctx, d: Draft, st: Stmt) -> None:
    w = C.arg(ctx, st)
    if w is None:
        return
    if w.isdigit() and 1 <= int(w) <= 128:
        d["persistence_granularity"] = w
        return
    try:
        ipaddress.IPv4Network(f"0.0.0.0/{w}")
    except ValueError:
        ctx.error(f"Invalid persistence_granularity '{w}'", "invalid-value", st)
        return
    d["persistence_granularity"] = w


def _sched_flag(ctx: Ctx, d: Draft, st: Stmt) -> None:
    """``flag-N``, ``sh-*``, ``mh-*``; keepalived checks sh/mh flags against the scheduler
    given so far (so they must follow ``lvs_sched``)."""
    flag = st.words[0]
    family = flag[:2]
    if family in ("sh", "mh") and d.get("lvs_sched", "wlc") != family:
        ctx.error(f"{flag} only applies to {family} scheduler - ignoring", "semantic", st)
        return
    flags: list[str] = d.setdefault("_flags", [])
    if flag not in flags:
        flags.append(flag)


def _ip_family(ctx: Ctx, d: Draft, st: Stmt) -> None:
    w = C.arg(ctx, st)
    if w is None:
        return
    if w not in ("inet", "inet6"):
        ctx.error(f"unknown address family {w}", "invalid-value", st)
        return
    d["ip_family"] = Family(w)


def _sorry_server(ctx: Ctx, d: Draft, st: Stmt) -> None:
    w = C.arg(ctx, st)
    if w is None:
        return
    a = V.ip_address(ctx, w, "sorry_server address")
    if a is None:
        return
    port = None
    if len(st.words) > 2:
        port = V.uint(ctx, st.words[2], 0, 65535)
        if port is None:
            return
        port = port or None
    d["_sorry"] = {"address": a, "port": port}


def _sorry_method(ctx: Ctx, d: Draft, st: Stmt) -> None:
    if "_sorry" not in d:
        ctx.error("sorry_server_lvs_method must follow sorry_server", "semantic", st)
        return
    tmp: Draft = {}
    _method("m")(ctx, tmp, st)
    if "m" in tmp:
        d["_sorry"]["lvs_method"] = tmp["m"]
        if "m_tunnel" in tmp:
            d["_sorry"]["tunnel"] = tmp["m_tunnel"]
            if tmp["m_tunnel"] != Tunnel():
                ctx.warning(
                    "'sorry_server_lvs_method' tunnel options are accepted but not implemented "
                    "by pykeepalived (the sorry server gets a plain ipip tunnel)",
                    "unimplemented",
                    st,
                )


def _delay_loop(ctx: Ctx, d: Draft, st: Stmt) -> None:
    w = C.arg(ctx, st)
    if w is None:
        return
    try:
        v = V.decimal(ctx, w, 0.000001, K.TIMER_MAX)
    finally:
        pass
    if v is None:
        ctx.error(f"virtual server delay loop '{w}' invalid - ignoring", "invalid-value", st)
        return
    d["delay_loop"] = v


def _vs_weight(ctx: Ctx, d: Draft, st: Stmt) -> None:
    w = C.arg(ctx, st)
    if w is None:
        return
    v = V.uint(ctx, w, 1, V.INT_MAX)
    if v is not None:
        d["weight"] = v


def _rs_weight(ctx: Ctx, d: Draft, st: Stmt) -> None:
    w = C.arg(ctx, st)
    if w is None:
        return
    v = V.uint(ctx, w, 0, V.INT_MAX)
    if v is None:
        ctx.error(f"Real server weight {w} is outside range 0-{V.INT_MAX}", "invalid-value", st)
        return
    d["weight"] = v


def _snmp_name(ctx: Ctx, d: Draft, st: Stmt) -> None:
    if len(st.words) != 2:
        ctx.error("snmp_name requires exactly one word", "invalid-value", st)
        return
    d["snmp_name"] = st.words[1]


def _vs_defaults(b: BlockDef) -> None:
    b.scalar("retry", C.uint("retry", 1, V.UINT_MAX))
    b.scalar("delay_before_retry", K._timer("delay_before_retry"))
    b.scalar("warmup", K._timer("warmup"))
    b.scalar("connect_timeout", K._timer("connect_timeout", 0.000001))
    b.scalar("smtp_alert", C.boolean("smtp_alert"))
    b.scalar("virtualhost", C.string("virtualhost"))
    b.scalar("snmp_name", _snmp_name, unimplemented="SNMP agent")
    b.scalar("alpha", C.boolean("alpha"))
    b.scalar("inhibit_on_failure", C.boolean("inhibit_on_failure"))


VS.scalar("lvs_sched", _sched)
VS.scalar("lb_algo", _sched)
VS.scalar("lvs_method", _method("lvs_method"))
VS.scalar("lb_kind", _method("lvs_method"))
VS.scalar("protocol", _protocol)
VS.scalar("persistence_timeout", _persistence_timeout)
VS.scalar("persistence_granularity", _granularity)
VS.scalar("persistence_engine", C.string("persistence_engine"))
VS.scalar("ops", C.flag("ops"))
for _f in ("flag-1", "flag-2", "flag-3", "sh-port", "sh-fallback", "mh-port", "mh-fallback"):
    VS.scalar(_f, _sched_flag)
VS.scalar("hashed", C.flag("_hashed"))
VS.scalar("ip_family", _ip_family)
VS.scalar("ha_suspend", C.flag("ha_suspend"))
VS.scalar("omega", C.flag("omega"))
VS.scalar("quorum", C.uint("quorum", 1, V.UINT_MAX))
VS.scalar("hysteresis", C.uint("hysteresis", 0, V.UINT_MAX))
VS.scalar("quorum_up", C.script("quorum_up"))
VS.scalar("quorum_down", C.script("quorum_down"))
VS.scalar("sorry_server", _sorry_server)
VS.scalar("sorry_server_inhibit", C.flag("_sorry_inhibit"))
VS.scalar("sorry_server_lvs_method", _sorry_method)
VS.scalar("weight", _vs_weight)
VS.scalar("delay_loop", _delay_loop)
_vs_defaults(VS)

RS.scalar("weight", _rs_weight)
RS.scalar("lvs_method", _method("lvs_method"))
RS.scalar("notify_up", C.script("notify_up"))
RS.scalar("notify_down", C.script("notify_down"))
RS.scalar("uthreshold", C.uint("uthreshold"), unimplemented=THRESHOLD)
RS.scalar("lthreshold", C.uint("lthreshold"), unimplemented=THRESHOLD)
RS.scalar("delay_loop", K._timer("delay_loop", 0.000001))
_vs_defaults(RS)
K.register_real_server(RS)


def _open_rs(ctx: Ctx, vs: Draft, st: Stmt) -> Draft | None:
    w = C.arg(ctx, st, 1, "real_server address")
    if w is None:
        return None
    a = V.ip_address(ctx, w, "real server address")
    if a is None:
        return None
    port = None
    if len(st.words) > 2:
        p = V.uint(ctx, st.words[2], 0, 65535)
        if p is None:
            return None
        port = p or None
    C.extra(ctx, st, 2)
    return {"address": a, "port": port, "_port_given": len(st.words) > 2, "_stmt": st}


def _close_rs(ctx: Ctx, rs: Draft, vs: Draft) -> None:
    rs["_close"] = ctx.stmt
    vs.setdefault("_real_servers", []).append(rs)


VS.sub("real_server", RS, _open_rs, _close_rs)


def _open_vs(ctx: Ctx, root: Draft, st: Stmt) -> Draft | None:
    w = st.words
    if len(w) < 2:
        ctx.error("virtual_server requires an address, fwmark or group", "missing-parameter", st)
        return None
    d: Draft = {"_stmt": st}
    if w[1] == "group":
        if len(w) < 3:
            ctx.error("virtual_server group requires a group name", "missing-parameter", st)
            return None
        d["group"] = w[2]
    elif w[1] == "fwmark":
        if len(w) < 3:
            ctx.error("virtual_server fwmark requires a mark", "missing-parameter", st)
            return None
        m = V.uint(ctx, w[2])
        if m is None:
            return None
        d["fwmark"] = m
    else:
        a = V.ip_address(ctx, w[1], "virtual server address")
        if a is None:
            return None
        d["address"] = a
        d["family"] = V.family_of(a)
        if len(w) > 2:
            p = V.uint(ctx, w[2], 0, 65535)
            if p is None:
                return None
            d["port"] = p or None
    return d


def _close_vs(ctx: Ctx, d: Draft, root: Draft) -> None:
    root.setdefault("_virtual_servers", []).append(d)


def register_root(root: BlockDef) -> None:
    root.sub("SSL", SSL_BLOCK, _open_ssl, _close_ssl)
    root.values(
        "virtual_server_group", _vsg_entry, open=_open_vsg, close=_close_vsg, header_args=True
    )
    root.sub("virtual_server", VS, _open_vs, _close_vs)


# ---------------------------------------------------------------- finalize


def _smtp_checker(d: Draft, gd: GlobalDefs, rs_default: bool) -> bool:
    if "smtp_alert" in d:
        return bool(d["smtp_alert"])
    if gd.smtp_alert_checker is not None:
        return gd.smtp_alert_checker
    if gd.smtp_alert is not None:
        return gd.smtp_alert
    return rs_default


def finalize(ctx: Ctx, root: Draft, gd: GlobalDefs) -> dict[str, Any]:
    vsgs: dict[str, tuple[VirtualServerGroup, Stmt]] = root.get("_vsgs", {})
    out: list[VirtualServer] = []
    seen: dict[tuple[Any, ...], Stmt] = {}
    for d in root.get("_virtual_servers", []):
        vs = _finalize_vs(ctx, d, gd, vsgs)
        if vs is None:
            continue
        key = (vs.key, vs.protocol)
        if key in seen:
            ctx.warning(  # keepalived 2.2.7's -t is silent; the second one is ignored
                f"Virtual server {vs.key} ({vs.protocol}) is defined more than once - ignoring",
                "lint",
                d["_stmt"],
            )
            continue
        seen[key] = d["_stmt"]
        out.append(vs)
    return {
        "virtual_servers": tuple(out),
        "virtual_server_groups": tuple(g for g, _ in vsgs.values()),
        "ssl": root.get("_ssl"),
    }


def _vs_tag(d: Draft, proto: Protocol | None) -> str:
    """keepalived's spelling of a service in messages: ``[10.0.0.1]:tcp:80``, ``FWM 1``."""
    if "fwmark" in d:
        return f"FWM {d['fwmark']}"
    if "group" in d:
        return f"GROUP {d['group']}"
    port = d.get("port") or 0
    return f"[{d['address']}]:{proto.value if proto else 'none'}:{port}"


def _finalize_vs(
    ctx: Ctx, d: Draft, gd: GlobalDefs, vsgs: dict[str, tuple[VirtualServerGroup, Stmt]]
) -> VirtualServer | None:
    st: Stmt = d["_stmt"]
    label = " ".join(st.words[1:])
    family: Family | None = d.get("family")
    if "group" in d:
        g = vsgs.get(d["group"])
        if g is None:
            ctx.error(
                (
                    f"Virtual server group {d['group']} specified but not configured - ignoring "
                    f"virtual server {label}"
                ),
                "lint",  # keepalived 2.2.7's -t says nothing (the service is never set up)
                st,
            )
            return None
        grp = g[0]
        if grp.addresses:
            family = grp.addresses[0].family
        elif grp.fwmarks and grp.fwmarks[0].family is not None:
            family = grp.fwmarks[0].family
    if "fwmark" in d and d.get("_protocol_set"):
        ctx.warning(
            (
                f"Warning: Virtual server FWM {d['fwmark']}: protocol specified for fwmark - "
                "protocol will be ignored"
            ),
            "semantic",
            st,
        )
    method: LvsMethod = d.get("lvs_method", LvsMethod.NAT)
    tunnel = d.get("lvs_method_tunnel")
    delay_loop = d.get("delay_loop", 60.0)
    vs_vals = {
        "delay_loop": delay_loop,
        "connect_timeout": d.get("connect_timeout", 5.0),
        "retry": d.get("retry"),
        "delay_before_retry": d.get("delay_before_retry"),
        "warmup": d.get("warmup"),
        "alpha": d.get("alpha", False),
        "inhibit_on_failure": d.get("inhibit_on_failure", False),
        "virtualhost": d.get("virtualhost"),
    }
    real: list[RealServer] = []
    seen_rs: set[tuple[str, int | None]] = set()
    for r in d.get("_real_servers", []):
        rst: Stmt = r["_stmt"]
        rfam = V.family_of(r["address"])
        r_method = r.get("lvs_method", method)
        if family is None:
            family = rfam
        if rfam is not family and r_method is not LvsMethod.TUN:
            ctx.error(
                f"Address family of virtual server and real server {r['address']} don't match - "
                "skipping real server.",
                "invalid-address",
                r.get("_close", rst),
            )
            continue
        port = r["port"] if r["_port_given"] else d.get("port")
        if r["_port_given"] and r["port"] is None:
            port = None
        rs_vals = {k: r.get(k, v) for k, v in vs_vals.items()}
        rs_vals["address"] = r["address"]
        rs_vals["port"] = port
        checkers = K.build_checkers(
            ctx, r.get("_checkers", []), rs_vals, gd.checker_log_all_failures
        )
        rs = RealServer(
            address=r["address"],
            port=port,
            family=rfam,
            weight=r.get("weight", d.get("weight", 1)),
            lvs_method=r_method,
            tunnel=r.get("lvs_method_tunnel", tunnel) if r_method is LvsMethod.TUN else None,
            notify_up=r.get("notify_up"),
            notify_down=r.get("notify_down"),
            uthreshold=r.get("uthreshold", 0),
            lthreshold=r.get("lthreshold", 0),
            inhibit_on_failure=rs_vals["inhibit_on_failure"],
            alpha=rs_vals["alpha"],
            smtp_alert=_smtp_checker(r, gd, True),
            virtualhost=rs_vals["virtualhost"],
            snmp_name=r.get("snmp_name"),
            checkers=tuple(checkers),
            file=rst.file,
            line=rst.line,
        )
        if (rs.address, rs.port) in seen_rs:
            ctx.error(
                (
                    f"Real server {rs.key} is defined more than once in virtual server {label} - "
                    "ignoring"
                ),
                "duplicate",
                rst,
            )
            continue
        real.append(rs)
        seen_rs.add((rs.address, rs.port))
    proto = d.get("protocol", Protocol.TCP)
    tag = _vs_tag(d, proto if "protocol" in d or "fwmark" in d else None)
    if not real:
        ctx.error(f"Virtual server {tag} has no real servers - ignoring", "semantic", st)
        return None
    if "fwmark" not in d:
        if "protocol" not in d:
            # keepalived 2.2.7 says it defaults to UDP here; pykeepalived keeps TCP, the
            # documented default (the message still counts for -t as it does there)
            ctx.error(f"Virtual server {tag}: no protocol set - defaulting to TCP", "missing", st)
            tag = _vs_tag(d, Protocol.TCP)
        if "lvs_sched" not in d:
            ctx.error(
                f"Virtual server {tag}: no scheduler set, setting default 'wlc'", "missing", st
            )
        if "lvs_method" not in d:
            ctx.error(
                f"Virtual server {tag}: no forwarding method set, setting default NAT",
                "missing",
                st,
            )
    sorry = None
    if "_sorry" in d:
        s = d["_sorry"]
        sorry = SorryServer(
            address=s["address"],
            port=s["port"] if s["port"] is not None else d.get("port"),
            lvs_method=s.get("lvs_method", method),
            tunnel=s.get("tunnel"),
            inhibit=d.get("_sorry_inhibit", False),
        )
    flags = tuple(d.get("_flags", ()))
    sched = d.get("lvs_sched", "wlc")
    flags = tuple(f for f in flags if f[:2] not in ("sh", "mh") or f[:2] == sched)
    quorum = d.get("quorum", 1)
    hysteresis = d.get("hysteresis", 0)
    total = sum(r.weight for r in real)
    if quorum > total:
        reduced = total
        ctx.warning(
            f"Warning - quorum {quorum} for {tag} exceeds total weight of real servers {total}, "
            f"reducing quorum to {reduced}",
            "semantic",
            st,
        )
        quorum = reduced
    if hysteresis >= quorum:
        # (with quorum 0 keepalived then sets hysteresis to UINT_MAX; 0 behaves the same)
        ctx.warning(
            f"Virtual server {tag}: hysteresis {hysteresis} >= quorum {quorum}; "
            "setting hysteresis to 0",
            "semantic",
            st,
        )
        hysteresis = 0
    persistence_timeout = d.get(
        "persistence_timeout", 360 if "persistence_granularity" in d else None
    )
    if "address" in d and not d.get("port") and persistence_timeout is None:
        ctx.error(
            f"Virtual server {_vs_tag(d, proto)}: zero port only valid for persistent services "
            "- setting",
            "semantic",
            st,
        )
        persistence_timeout = 360
    return VirtualServer(
        address=d.get("address"),
        port=d.get("port"),
        fwmark=d.get("fwmark"),
        group=d.get("group"),
        family=family or Family.INET,
        protocol=d.get("protocol", Protocol.TCP),
        lvs_sched=sched,
        lvs_method=method,
        tunnel=tunnel,
        persistence_timeout=persistence_timeout,
        persistence_granularity=d.get("persistence_granularity"),
        persistence_engine=d.get("persistence_engine"),
        ops=d.get("ops", False),
        sched_flags=flags,
        ip_family=d.get("ip_family"),
        ha_suspend=d.get("ha_suspend", False),
        alpha=vs_vals["alpha"],
        omega=d.get("omega", False),
        quorum=quorum,
        hysteresis=hysteresis,
        quorum_up=d.get("quorum_up"),
        quorum_down=d.get("quorum_down"),
        sorry_server=sorry,
        inhibit_on_failure=vs_vals["inhibit_on_failure"],
        weight=d.get("weight", 1),
        delay_loop=delay_loop,
        connect_timeout=vs_vals["connect_timeout"],
        retry=vs_vals["retry"],
        delay_before_retry=vs_vals["delay_before_retry"],
        warmup=vs_vals["warmup"],
        smtp_alert=_smtp_checker(d, gd, False),
        virtualhost=vs_vals["virtualhost"],
        snmp_name=d.get("snmp_name"),
        real_servers=tuple(real),
        file=st.file,
        line=st.line,
    )
