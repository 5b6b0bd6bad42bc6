"""VRRP keywords: ``vrrp_instance`` and its sub-blocks, ``vrrp_sync_group``, ``garp_group``,
``linkbeat_interfaces``, ``interface_up_down_delays``.

Handlers only record what was written (drafts); :func:`finalize` applies global_defs
defaults, strict mode and keepalived's completion checks (``vrrp_complete_instance``) once
the whole file is read, with keepalived's wording for what it reports.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any, cast

from pykeepalived.conf import values as V
from pykeepalived.conf.keywords import common as C
from pykeepalived.conf.keywords.addresses import address_entry, route_entry, rule_entry
from pykeepalived.conf.model import (
    AuthHmac,
    AuthHmacKey,
    AuthType,
    Family,
    GarpGroup,
    GlobalDefs,
    InterfaceUpDownDelay,
    IPAddress,
    LinkbeatInterface,
    Route,
    TrackRef,
    UnicastPeer,
    UseIpvlan,
    UseVmac,
    VrrpInstance,
    VrrpState,
    VrrpSyncGroup,
)
from pykeepalived.conf.preprocess import Stmt
from pykeepalived.conf.registry import BlockDef, Ctx, Draft

INSTANCE = BlockDef("vrrp_instance")
SYNC = BlockDef("vrrp_sync_group")
AUTH = BlockDef("authentication")
HMAC = BlockDef("auth_hmac")
GARP = BlockDef("garp_group")

#: what pykeepalived does instead, for keywords it accepts without their effect
STRICT = (
    "its derived settings apply, but unicast is not refused, the VIP list of adverts is "
    "not checked and no firewall rules are installed"
)
HIGHER_PRIO = "a master that sees a higher priority steps down without sending an advert first"
EXTRA_IF = (
    "without `all` (VMAC interfaces only) nothing is sent, as there are no VMACs; with "
    "`all`, one GARP/NA every interval for the first VIP of each other interface"
)
TIMER_EXPIRED = "a master that ran late stays master; no drop to BACKUP"
VMAC = "no macvlan is created: adverts and GARPs use the interface and its own MAC"
TRACK_PROCESS = "processes are not tracked: priority and state ignore them"


def _name(d: Draft) -> str:
    return str(d.get("name", "?"))


# ---------------------------------------------------------------- instance scalars


def _state(ctx: Ctx, d: Draft, st: Stmt) -> None:
    w = C.arg(ctx, st)
    if w is None:
        return
    if w == "MASTER":
        d["state"] = VrrpState.MASTER
    elif w == "BACKUP":
        if d.get("state") is VrrpState.MASTER:
            ctx.warning(
                f"({_name(d)}) state previously set as MASTER - ignoring BACKUP", "semantic", st
            )
            return
        d["state"] = VrrpState.BACKUP
    else:
        ctx.error(f"({_name(d)}) unknown state '{w}', defaulting to BACKUP", "invalid-value", st)
        d["state"] = VrrpState.BACKUP
        return
    d["state_configured"] = True


def _interface(ctx: Ctx, d: Draft, st: Stmt) -> None:
    w = C.arg(ctx, st)
    if w is None:
        return
    C.extra(ctx, st, 1)
    if w == "lo":
        ctx.error(
            f"({_name(d)}) cannot use a loopback interface ({w}) for vrrp - ignoring",
            "interface",
            st,
        )
        return
    if len(w) >= 16:
        ctx.error(f"({_name(d)}) interface name '{w}' too long - ignoring", "interface", st)
        return
    d["interface"] = w
    d["_interface_stmt"] = st


def _vrid(ctx: Ctx, d: Draft, st: Stmt) -> None:
    w = C.arg(ctx, st)
    if w is None:
        return
    C.extra(ctx, st, 1)
    v = V.uint(ctx, w, 1, 255)
    if v is None:
        ctx.error(
            f"({_name(d)}): VRID '{w}' not valid - must be between 1 & 255",
            "invalid-value",
            st,
        )
        return
    d["virtual_router_id"] = v


def _priority(ctx: Ctx, d: Draft, st: Stmt) -> None:
    w = C.arg(ctx, st)
    if w is None:
        return
    C.extra(ctx, st, 1)
    v = V.uint(ctx, w, 1, 255)
    if v is None:
        ctx.error(
            f"({_name(d)}) Priority not valid! must be between 1 & 255. Using default 100",
            "invalid-value",
            st,
        )
        d["priority"] = 100
        return
    d["priority"] = v


def _advert_int(ctx: Ctx, d: Draft, st: Stmt) -> None:
    w = C.arg(ctx, st)
    if w is None:
        return
    C.extra(ctx, st, 1)
    v = V.decimal(ctx, w, 0.01, 255, fixed=True)
    if v is None:
        ctx.error(
            f"({_name(d)}) Advert interval ({w}) not valid! Must be > 0 - ignoring",
            "invalid-value",
            st,
        )
        return
    d["advert_int"] = v
    d["_advert_stmt"] = st


def _version(ctx: Ctx, d: Draft, st: Stmt) -> None:
    w = C.arg(ctx, st)
    if w is None:
        return
    C.extra(ctx, st, 1)
    v = V.uint(ctx, w, 2, 3)
    if v is None:
        ctx.error(f"({_name(d)}) Version not valid! must be either 2 or 3", "invalid-value", st)
        return
    d["version"] = v


def _native_ipv6(ctx: Ctx, d: Draft, st: Stmt) -> None:
    d["family"] = Family.INET6
    d["_native_ipv6"] = True


def _ip(field: str, what: str) -> C.Handler:
    def h(ctx: Ctx, d: Draft, st: Stmt) -> None:
        w = C.arg(ctx, st)
        if w is None:
            return
        C.extra(ctx, st, 1)
        a = V.ip_address(ctx, w, what)
        if a is not None:
            d[field] = a
            d[f"_{field}_line"] = st.line
            if field == "unicast_src_ip":
                d["unicast"] = True

    return h


def _mcast_dst(ctx: Ctx, d: Draft, st: Stmt) -> None:
    w = C.arg(ctx, st)
    if w is None:
        return
    C.extra(ctx, st, 1)
    a = V.ip_address(ctx, w, "mcast_dst_ip")
    if a is None:
        return
    if not ipaddress.ip_address(a).is_multicast:
        ctx.error(
            f"({_name(d)}) mcast_dst_ip {w} is not a multicast address - ignoring",
            "invalid-address",
            st,
        )
        return
    d["mcast_dst_ip"] = a


def _unicast_ttl(ctx: Ctx, d: Draft, st: Stmt) -> None:
    w = C.arg(ctx, st)
    if w is None:
        return
    C.extra(ctx, st, 1)
    v = V.uint(ctx, w, 0, 255)
    if v is not None:
        d["unicast_ttl"] = v


def _old_checksum(ctx: Ctx, d: Draft, st: Stmt) -> None:
    if len(st.words) > 1 and st.words[1] != "never":
        ctx.error(
            f"({_name(d)}) old_unicast_checksum parameter '{st.words[1]}' invalid",
            "invalid-value",
            st,
        )
        return
    d["old_unicast_checksum"] = st.words[1] if len(st.words) > 1 else "auto"


def _preempt_delay(ctx: Ctx, d: Draft, st: Stmt) -> None:
    w = C.arg(ctx, st)
    if w is None:
        return
    C.extra(ctx, st, 1)
    v = V.decimal(ctx, w, 0, 1000, fixed=True)
    if v is None:
        ctx.error(
            f"({_name(d)}) Preempt_delay not valid! must be between 0-1000", "invalid-value", st
        )
        return
    d["preempt_delay"] = v


def _garp_uint(field: str, *, zero_as: int | None = None) -> C.Handler:
    return C.uint(
        field,
        0,
        86400 if "delay" in field or field[-7:] == "refresh" else V.INT_MAX,
        zero_as=zero_as,
    )


def _timer_expired_backup(ctx: Ctx, d: Draft, st: Stmt) -> None:
    if len(st.words) == 1:
        d["timer_expired_backup"] = 254
        return
    v = V.uint(ctx, st.words[1], 1, 254)
    if v is not None:
        d["timer_expired_backup"] = v


def _use_vmac(ctx: Ctx, d: Draft, st: Stmt) -> None:
    w = st.words[1:]
    out: dict[str, Any] = {}
    i = 0
    while i < len(w):
        k = w[i]
        if k == "name" and i + 1 < len(w):
            out["name"] = w[i + 1]
            i += 2
        elif k == "netlink_notify_msg":
            out["netlink_notify_msg"] = True
            i += 1
        elif k == "group" and i + 1 < len(w):
            out["group"] = w[i + 1]
            i += 2
        elif k.count(":") in (4, 5) and all(len(p) <= 2 for p in k.split(":")):
            try:
                octets = [int(p, 16) for p in k.split(":")]
            except ValueError:
                ctx.error(f"({_name(d)}) invalid use_vmac MAC address {k}", "invalid-value", st)
                i += 1
                continue
            if octets[0] & 1:
                ctx.error(
                    f"({_name(d)}) use_vmac MAC address {k} is multicast - ignoring",
                    "invalid-value",
                    st,
                )
            else:
                out["mac"] = octets
            i += 1
        elif "name" not in out:
            if len(k) >= 16:
                ctx.error(
                    f"({_name(d)}) VMAC interface name '{k}' too long - ignoring",
                    "invalid-value",
                    st,
                )
            else:
                out["name"] = k
            i += 1
        else:
            ctx.error(f"({_name(d)}) unknown use_vmac parameter {k}", "invalid-value", st)
            i += 1
    d["_use_vmac"] = out


def _use_ipvlan(ctx: Ctx, d: Draft, st: Stmt) -> None:
    w = st.words[1:]
    out: dict[str, Any] = {}
    i = 0
    while i < len(w):
        k = w[i]
        if k == "name" and i + 1 < len(w):
            out["name"] = w[i + 1]
            i += 2
        elif k in ("bridge", "private", "vepa"):
            out["mode"] = k
            i += 1
        elif k == "group" and i + 1 < len(w):
            out["group"] = w[i + 1]
            i += 2
        elif V.prefix(ctx, k, quiet=True) is not None:
            out["address"] = V.prefix(ctx, k, quiet=True)[0]  # type: ignore[index]
            i += 1
        elif "name" not in out:
            out["name"] = k
            i += 1
        else:
            ctx.error(f"({_name(d)}) unknown use_ipvlan parameter {k}", "invalid-value", st)
            i += 1
    d["use_ipvlan"] = UseIpvlan(**out)


def _notify_deleted(ctx: Ctx, d: Draft, st: Stmt) -> None:
    d["notify_deleted"] = True
    if len(st.words) > 1:
        s = V.script(ctx, st.text)
        if s is not None:
            d["notify_deleted_script"] = s


def _debug(ctx: Ctx, d: Draft, st: Stmt) -> None:
    if len(st.words) > 1:
        v = V.uint(ctx, st.words[1], 0, 4)
        if v is not None:
            d["debug"] = v


def _strict(ctx: Ctx, d: Draft, st: Stmt) -> None:
    v = V.boolean(ctx, st.words)
    if v is not None:
        d["strict_mode"] = v


def _accept(value: bool) -> C.Handler:
    def h(ctx: Ctx, d: Draft, st: Stmt) -> None:
        d["accept"] = value

    return h


def _owner_ignore(ctx: Ctx, d: Draft, st: Stmt) -> None:
    v = V.boolean(ctx, st.words)
    if v is not None:
        d["owner_ignore_adverts"] = v
        d["_owner_ignore_stmt"] = st


def _preempt(ctx: Ctx, d: Draft, st: Stmt) -> None:
    d["nopreempt"] = False


def _skip_check(ctx: Ctx, d: Draft, st: Stmt) -> None:
    # keepalived's handler sets the flag whatever the boolean says
    V.boolean(ctx, st.words)
    d["skip_check_adv_addr"] = True


def _garp_extra_if(ctx: Ctx, d: Draft, st: Stmt) -> None:
    w = st.words[1:]
    if w and w[0] == "all":
        d["garp_extra_if_all"] = True
        w = w[1:]
    if not w:
        ctx.error(f"({_name(d)}) {st.words[0]} requires an interval", "missing-parameter", st)
        return
    v = V.uint(ctx, w[0], 0, 86400)
    if v is not None:
        d["garp_extra_if"] = float(v)


def _deprecated_error(message: str) -> C.Handler:
    def h(ctx: Ctx, d: Draft, st: Stmt) -> None:
        ctx.error(message.format(name=_name(d)), "deprecated", st)

    return h


def _lvs_sync_if(ctx: Ctx, d: Draft, st: Stmt) -> None:
    w = C.arg(ctx, st)
    ctx.error(
        f"({_name(d)}) Specifying lvs_sync_daemon_interface against a vrrp is deprecated.",
        "deprecated",
        st,
    )
    ctx.error("        Please use global lvs_sync_daemon", "deprecated", st)
    if w is not None:
        d["lvs_sync_daemon_interface"] = w


# ---------------------------------------------------------------- sub-blocks


def _peer(ctx: Ctx, d: Draft, st: Stmt) -> None:
    w = st.words
    a = V.ip_address(Ctx(), w[0])  # keepalived's own wording below
    if a is None:
        ctx.error(
            f"Configuration error: VRRP instance[{_name(d)}] malformed unicast peer "
            f"address[{w[0]}]. Skipping...",
            "invalid-address",
            st,
        )
        return
    out: dict[str, Any] = {"address": a}
    i = 1
    while i < len(w):
        if w[i] in ("min_ttl", "max_ttl") and i + 1 < len(w):
            v = V.uint(ctx, w[i + 1], 0, 255)
            if v is not None:
                out[w[i]] = v
            i += 2
        else:
            ctx.error(f"({_name(d)}) unknown unicast_peer option '{w[i]}'", "invalid-value", st)
            i += 1
    peers: list[tuple[UnicastPeer, Stmt]] = d.setdefault("_peers", [])
    if any(p.address == a for p, _ in peers):
        ctx.warning(f"({_name(d)}) unicast peer {a} is listed twice", "lint", st)
        return
    peers.append((UnicastPeer(**out), st))
    d["unicast"] = True


def _open_unicast_peer(ctx: Ctx, d: Draft, st: Stmt) -> Draft | None:
    d["unicast"] = True
    d.setdefault("_peers", [])
    return d


def _open_same(ctx: Ctx, d: Draft, st: Stmt) -> Draft | None:
    return d


def _close_noop(ctx: Ctx, child: Draft, parent: Draft) -> None:
    pass


def _auth_type(ctx: Ctx, d: Draft, st: Stmt) -> None:
    w = C.arg(ctx, st)
    if w is None:
        return
    if w not in ("PASS", "AH"):
        ctx.error(f"({_name(d)}) unknown authentication type '{w}'", "invalid-value", st)
        d["_auth_type_bad"] = True
        return
    d["auth_type"] = AuthType(w)


def _auth_pass(ctx: Ctx, d: Draft, st: Stmt) -> None:
    w = C.arg(ctx, st)
    if w is None:
        return
    pw = " ".join(st.words[1:]) if False else w
    if len(pw.encode()) > 8:
        ctx.warning("Truncating auth_pass to 8 characters", "semantic", st)
        pw = pw.encode()[:8].decode(errors="ignore")
    d["auth_pass"] = pw
    d["_auth_stmt"] = st


AUTH.scalar("auth_type", _auth_type)
AUTH.scalar("auth_pass", _auth_pass)


def _hmac_key(ctx: Ctx, d: Draft, st: Stmt) -> None:
    if len(st.words) < 3:
        ctx.error("auth_hmac key requires ID VALUE", "missing-parameter", st)
        return
    kid = V.uint(ctx, st.words[1], 1, 255)
    if kid is None:
        return
    d.setdefault("_hmac_keys", []).append(AuthHmacKey(id=kid, value=st.words[2]))


def _hmac_choice(field: str, options: tuple[str, ...]) -> C.Handler:
    return C.choice(field, {o: o for o in options})


HMAC.scalar("key", _hmac_key)
HMAC.scalar("active_key", C.uint("_hmac_active_key", 1, 255))
HMAC.scalar("anti_replay", _hmac_choice("_hmac_anti_replay", ("time", "monotonic")))
HMAC.scalar("time_window", C.uint("_hmac_time_window", 1, 300))
HMAC.scalar("mode", _hmac_choice("_hmac_mode", ("enforce", "permissive", "receive-only")))


def _open_hmac(ctx: Ctx, d: Draft, st: Stmt) -> Draft | None:
    d["_hmac"] = True
    return d


def _track_blocks(b: BlockDef) -> None:
    b.values("track_interface", C.track_entry("track_interface", -253, 253, what="track interface"))
    b.values(
        "track_script",
        C.track_entry("track_script", -253, 253, what="track script", exists="scripts"),
    )
    b.values(
        "track_file",
        C.track_entry("track_file", -254, 254, what="track file", exists="track_files"),
    )
    b.values(
        "track_process",
        C.track_entry("track_process", -254, 254, what="track process", exists="processes"),
    )
    b.values(
        "track_bfd",
        C.track_entry("track_bfd", -253, 253, what="track bfd", exists="bfd"),
        unimplemented="BFD sessions (no BFD actor)",
    )


# ---------------------------------------------------------------- instance table

I = INSTANCE  # noqa: E741
I.scalar("state", _state)
I.scalar("interface", _interface)
I.scalar("vrf", C.string("vrf"), unimplemented="VRF binding of VRRP sockets")
I.scalar("virtual_router_id", _vrid)
I.scalar("priority", _priority)
I.scalar("advert_int", _advert_int)
I.scalar("version", _version)
I.scalar(
    "native_ipv6",
    _native_ipv6,
    deprecated="native_ipv6 is deprecated - the family follows the VIPs",
)
I.scalar("mcast_src_ip", _ip("mcast_src_ip", "mcast_src_ip address"))
I.scalar("unicast_src_ip", _ip("unicast_src_ip", "unicast_src_ip address"))
I.scalar("mcast_dst_ip", _mcast_dst)
I.scalar(
    "track_src_ip",
    C.flag("track_src_ip"),
    unimplemented="losing the source address does not send the instance to FAULT",
)
I.scalar("unicast_ttl", _unicast_ttl)
I.scalar("unicast_fault_no_peer", C.flag("unicast_fault_no_peer"))
I.scalar("check_unicast_src", C.flag("check_unicast_src"))
I.scalar("old_unicast_checksum", _old_checksum)
I.scalar(
    "v3_checksum_as_v2",
    C.boolean("v3_checksum_as_v2"),
    unimplemented="only the global_defs form sets the checksum form",
)
I.scalar(
    "dont_track_primary",
    C.flag("dont_track_primary"),
    unimplemented="the instance still goes to FAULT when its own interface goes down",
)
I.scalar("nopreempt", C.flag("nopreempt"))
I.scalar("preempt", _preempt)
I.scalar("preempt_delay", _preempt_delay)
I.scalar("accept", _accept(True))
I.scalar(
    "no_accept",
    _accept(False),
    unimplemented="no firewall rules are installed: the VIPs accept traffic in every state",
)
I.scalar("skip_check_adv_addr", _skip_check)
I.scalar("strict_mode", _strict, unimplemented=STRICT, partial=True)
I.scalar("lower_prio_no_advert", C.boolean("lower_prio_no_advert"))
I.scalar(
    "higher_prio_send_advert",
    C.boolean("higher_prio_send_advert"),
    unimplemented=HIGHER_PRIO,
)
I.scalar("owner_ignore_adverts", _owner_ignore)
I.scalar("garp_master_delay", C.uint("garp_master_delay", 0, 86400))
I.scalar("garp_master_repeat", C.repeat("garp_master_repeat", instance=True))
I.scalar("garp_master_refresh", C.uint("garp_master_refresh", 0, 86400))
I.scalar("garp_master_refresh_repeat", C.repeat("garp_master_refresh_repeat", instance=True))
I.scalar("garp_lower_prio_delay", C.uint("garp_lower_prio_delay", 0, 86400))
I.scalar("garp_lower_prio_repeat", C.uint("garp_lower_prio_repeat", 0, V.INT_MAX))
I.scalar("garp_extra_if", _garp_extra_if, unimplemented=EXTRA_IF, partial=True)
I.scalar(
    "vmac_garp_intvl",
    _garp_extra_if,
    deprecated='Keyword "vmac_garp_intvl" is deprecated - please use "garp_extra_if"',
    unimplemented=EXTRA_IF,
    partial=True,
    reported=True,
)
I.scalar("down_timer_adverts", C.uint("down_timer_adverts", 1, 100))
I.scalar("timer_expired_backup", _timer_expired_backup, unimplemented=TIMER_EXPIRED)
I.scalar(
    "thread_timer_expired",
    _timer_expired_backup,
    deprecated="thread_timer_expired is deprecated - please use timer_expired_backup",
    unimplemented=TIMER_EXPIRED,
)
I.scalar("use_vmac", _use_vmac, unimplemented=VMAC)
I.scalar("use_vmac_addr", C.flag("use_vmac_addr"), unimplemented=VMAC)
I.scalar("vmac_xmit_base", C.flag("vmac_xmit_base"), unimplemented=VMAC)
I.scalar("use_ipvlan", _use_ipvlan, unimplemented="ipvlan interfaces")
I.scalar(
    "promote_secondaries",
    C.flag("promote_secondaries"),
    unimplemented="the interface's promote_secondaries setting is left as it is",
)
I.scalar("no_virtual_ipaddress", C.flag("no_virtual_ipaddress"))
for _k in (
    "notify_master",
    "notify_backup",
    "notify_fault",
    "notify_stop",
    "notify",
    "notify_master_rx_lower_pri",
):
    I.scalar(_k, C.script(_k))
I.scalar(
    "notify_deleted",
    _notify_deleted,
    unimplemented="an instance removed by a reload goes to STOP and runs notify_stop",
)
I.scalar("notify_priority_changes", C.boolean("notify_priority_changes"))
I.scalar("smtp_alert", C.boolean("smtp_alert"))
I.scalar("debug", _debug)
I.scalar(
    "kernel_rx_buf_size",
    C.uint("kernel_rx_buf_size", 0),  # 0 accepted by 2.2.7 (measured)
    unimplemented="the kernel's default socket buffer size is used",
)
I.scalar(
    "linkbeat_use_polling",
    _deprecated_error(
        "({name}) linkbeat_use_polling is deprecated - please use linkbeat_interfaces"
    ),
)
I.scalar(
    "lvs_sync_daemon_interface",
    _lvs_sync_if,
    unimplemented="not turned into a global lvs_sync_daemon; no sync daemon is started",
)
I.values("virtual_ipaddress", address_entry("_vips", static=False))
I.values("virtual_ipaddress_excluded", address_entry("_evips", static=False))
I.values("virtual_routes", route_entry("_vroutes", static=False))
I.values("virtual_rules", rule_entry("_vrules", static=False))
I.values("unicast_peer", _peer, open=_open_unicast_peer)
I.sub("authentication", AUTH, _open_same, _close_noop, unimplemented=None)
I.sub(
    "auth_hmac",
    HMAC,
    _open_hmac,
    _close_noop,
    unimplemented="adverts go out without HMAC and received ones are not verified",
)
_track_blocks(INSTANCE)
INSTANCE.keywords["track_process"].unimplemented = TRACK_PROCESS


# ---------------------------------------------------------------- sync group


def _global_tracking(ctx: Ctx, d: Draft, st: Stmt) -> None:
    ctx.error(
        f"({_name(d)}) global_tracking is deprecated. Use track_interface/script/file on the "
        "sync group",
        "deprecated",
        st,
    )
    d["sync_group_tracking_weight"] = True


def _sg_member(ctx: Ctx, d: Draft, st: Stmt) -> None:
    members: list[tuple[str, Stmt]] = d.setdefault("_group", [])
    for w in st.words:
        members.append((w, st))


def _open_sg_group(ctx: Ctx, d: Draft, st: Stmt) -> Draft | None:
    if "_group" in d:
        ctx.error(f"Group list already specified for sync group {_name(d)}", "duplicate", st)
        return None
    d["_group"] = []
    return d


SYNC.values("group", _sg_member, open=_open_sg_group)
_track_blocks(SYNC)
SYNC.keywords["track_process"].unimplemented = TRACK_PROCESS
for _k in ("notify_master", "notify_backup", "notify_fault", "notify_stop", "notify"):
    SYNC.scalar(_k, C.script(_k))
SYNC.scalar("smtp_alert", C.boolean("smtp_alert"))
SYNC.scalar("notify_priority_changes", C.boolean("notify_priority_changes"))
SYNC.scalar("sync_group_tracking_weight", C.flag("sync_group_tracking_weight"))
SYNC.scalar(
    "global_tracking",
    _global_tracking,
)


# ---------------------------------------------------------------- garp_group


def _garp_ifaces(ctx: Ctx, d: Draft, st: Stmt) -> None:
    d.setdefault("interfaces", []).extend(st.words)


def _garp_iface(ctx: Ctx, d: Draft, st: Stmt) -> None:
    w = C.arg(ctx, st)
    if w is not None:
        d.setdefault("interfaces", []).append(w)


def _garp_intvl(field: str) -> C.Handler:
    # keepalived 2.2.7 takes 0 here (measured), unlike the global vrrp_garp_interval
    return C.decimal(field, 0, 4294.967295)


GARP.scalar("garp_interval", _garp_intvl("garp_interval"))
GARP.scalar("gna_interval", _garp_intvl("gna_interval"))
GARP.scalar("interface", _garp_iface)
GARP.values("interfaces", _garp_ifaces)


def _open_garp(ctx: Ctx, root: Draft, st: Stmt) -> Draft | None:
    C.extra(ctx, st, 0)
    return {"_stmt": st}


def _close_garp(ctx: Ctx, d: Draft, root: Draft) -> None:
    if "garp_interval" not in d and "gna_interval" not in d:
        ctx.error("garp_group has no interval specified - removing", "missing", d["_stmt"])
        return
    if not d.get("interfaces"):
        ctx.warning("garp_group has no interfaces specified - removing", "lint", d["_stmt"])
        return
    root.setdefault("_garp_groups", []).append(
        GarpGroup(
            garp_interval=d.get("garp_interval", 0.0),
            gna_interval=d.get("gna_interval", 0.0),
            interfaces=tuple(d["interfaces"]),
        )
    )


# ---------------------------------------------------------------- root value blocks


def _linkbeat(ctx: Ctx, d: Draft, st: Stmt) -> None:
    w = st.words
    method = None
    if len(w) > 1:
        if w[1] not in ("MII", "ETHTOOL", "IOCTL"):
            ctx.error(f"Unknown linkbeat method '{w[1]}' for {w[0]}", "invalid-value", st)
        else:
            method = w[1]
    d.setdefault("_linkbeat", []).append(LinkbeatInterface(name=w[0], method=method))


def _updown(ctx: Ctx, d: Draft, st: Stmt) -> None:
    w = st.words
    if len(w) < 2:
        ctx.error(
            f"interface_up_down_delays: {w[0]} requires a down delay", "missing-parameter", st
        )
        return
    down = V.decimal(ctx, w[1], 0, 255)
    up = V.decimal(ctx, w[2], 0, 255) if len(w) > 2 else 0.0
    if down is None or up is None:
        return
    d.setdefault("_updown", []).append(
        InterfaceUpDownDelay(interface=w[0], down_delay=down, up_delay=up)
    )


# ---------------------------------------------------------------- open/close


def _open_instance(ctx: Ctx, root: Draft, st: Stmt) -> Draft | None:
    name = C.arg(ctx, st, 1, "vrrp_instance name")
    if name is None:
        return None
    C.extra(ctx, st, 1)
    seen = ctx.shared.setdefault("instances", {})
    if name in seen:
        ctx.error(f"vrrp instance {name} already defined", "duplicate", st)
        return None
    seen[name] = st
    return {"name": name, "_stmt": st}


def _close_instance(ctx: Ctx, d: Draft, root: Draft) -> None:
    d["_close"] = ctx.stmt
    root.setdefault("_vrrp_instances", []).append(d)


def _open_sync(ctx: Ctx, root: Draft, st: Stmt) -> Draft | None:
    name = C.arg(ctx, st, 1, "vrrp_sync_group name")
    if name is None:
        return None
    seen = ctx.shared.setdefault("sync_groups", set())
    if name in seen:
        ctx.error(f"vrrp sync group {name} already defined", "duplicate", st)
        return None
    seen.add(name)
    return {"name": name, "_stmt": st}


def _close_sync(ctx: Ctx, d: Draft, root: Draft) -> None:
    root.setdefault("_sync_groups", []).append(d)


def register_root(root: BlockDef) -> None:
    root.sub("vrrp_instance", INSTANCE, _open_instance, _close_instance)
    root.sub("vrrp_sync_group", SYNC, _open_sync, _close_sync)
    root.sub("garp_group", GARP, _open_garp, _close_garp)
    root.values(
        "linkbeat_interfaces",
        _linkbeat,
        unimplemented="link state polling (netlink is used)",
    )
    root.values(
        "interface_up_down_delays",
        _updown,
        unimplemented="interface changes act at once, without delay",
    )


# ---------------------------------------------------------------- completion


def _scripts_of(d: Draft) -> dict[str, Any]:
    return {
        k: d[k]
        for k in ("notify_master", "notify_backup", "notify_fault", "notify_stop", "notify")
        if k in d
    }


def finalize(ctx: Ctx, root: Draft, gd: GlobalDefs) -> dict[str, Any]:
    """Build VrrpInstance / VrrpSyncGroup models with defaults and completion checks."""
    drafts: list[Draft] = root.get("_vrrp_instances", [])
    sync_drafts: list[Draft] = root.get("_sync_groups", [])
    by_name = {d["name"]: d for d in drafts}

    # sync groups first: membership changes instance tracking weights
    member_of: dict[str, Draft] = {}
    groups: list[VrrpSyncGroup] = []
    for sd in sync_drafts:
        names: list[str] = []
        for name, st in sd.get("_group", []):
            if name not in by_name:
                ctx.error(
                    (
                        f"Virtual router {name} specified in sync group {sd['name']} doesn't "
                        "exist - ignoring"
                    ),
                    "reference",
                    st,
                )
                continue
            if name in member_of:
                ctx.error(
                    (
                        f"VRRP instance {name} is already in sync group "
                        f"{member_of[name]['name']} - ignoring"
                    ),
                    "duplicate",
                    st,
                )
                continue
            member_of[name] = sd
            names.append(name)
        if not names:
            ctx.error(
                f"Sync group {sd['name']} has no virtual router(s). removing",
                "semantic",
                sd["_stmt"],
            )
            continue
        if len(names) == 1:
            ctx.warning(
                (
                    f"Sync group {sd['name']} has only 1 virtual router(s) - this probably isn't "
                    "what you want"
                ),
                "semantic",
                sd["_stmt"],
            )
        groups.append(
            VrrpSyncGroup(
                name=sd["name"],
                group=tuple(names),
                track_interface=tuple(sd.get("track_interface", ())),
                track_script=tuple(sd.get("track_script", ())),
                track_file=tuple(sd.get("track_file", ())),
                track_process=tuple(sd.get("track_process", ())),
                track_bfd=tuple(sd.get("track_bfd", ())),
                smtp_alert=_smtp(sd, gd),
                notify_priority_changes=sd.get(
                    "notify_priority_changes", gd.vrrp_notify_priority_changes
                ),
                sync_group_tracking_weight=sd.get("sync_group_tracking_weight", False),
                file=sd["_stmt"].file,
                line=sd["_stmt"].line,
                **_scripts_of(sd),
            )
        )

    instances: list[VrrpInstance] = []
    vrid_use: dict[tuple[str, int, Family], str] = {}
    missing_if = False
    for d in drafts:
        inst = _complete_instance(ctx, d, gd, member_of.get(d["name"]))
        if inst is None:
            # keepalived checks the interfaces as it reads them: said for a dropped one too
            refs = d.get("track_interface", ())
            missing_if |= _missing_interfaces(ctx, d, d["name"], d.get("interface"), refs)
            continue
        missing_if |= _missing_interfaces(ctx, d, inst.name, inst.interface, inst.track_interface)
        where = {
            id(obj): est for key in ("_vips", "_evips", "_vroutes") for obj, est in d.get(key, ())
        }
        for vip in (*inst.virtual_ipaddress, *inst.virtual_ipaddress_excluded):
            if vip.dev and ctx.interfaces is not None and vip.dev not in ctx.interfaces:
                ctx.error(
                    f"WARNING - interface {vip.dev} for ip address {vip.address} doesn't exist",
                    "interface",
                    where.get(id(vip), d["_stmt"]),
                )
                missing_if = True
        for r in inst.virtual_routes:
            for dev in [r.dev] + [nh.dev for nh in r.nexthops]:
                if dev and ctx.interfaces is not None and dev not in ctx.interfaces:
                    ctx.error(
                        f"WARNING - interface {dev} for VROUTE nexthop doesn't exist",
                        "interface",
                        where.get(id(r), d["_stmt"]),
                    )
                    missing_if = True
            if not r.no_track and not r.dev and not any(nh.dev for nh in r.nexthops):
                ctx.warning(
                    f"Warning - cannot track route {route_dest(r)} with no interface "
                    "specified, not tracking",
                    "semantic",
                    where.get(id(r), d["_stmt"]),
                )
        key_if = inst.interface or inst.unicast_src_ip or ""
        key = (key_if, inst.virtual_router_id, inst.family)
        if key in vrid_use and not inst.unicast:
            fam = "IPv4" if inst.family is Family.INET else "IPv6"
            ctx.error(
                (
                    f"{vrid_use[key]} and {inst.name} both use VRID {inst.virtual_router_id} "
                    f"with {fam} on interface {key_if}"
                ),
                "duplicate",
                d["_stmt"],
            )
        else:
            vrid_use[key] = inst.name
        instances.append(inst)
    if missing_if:
        ctx.at("", 0, "error", "Non-existent interface specified in configuration", "interface")
    names_ok = {i.name for i in instances}
    groups = [
        g if all(n in names_ok for n in g.group) else _prune_group(g, names_ok) for g in groups
    ]
    return {
        "vrrp_instances": tuple(instances),
        "vrrp_sync_groups": tuple(g for g in groups if g.group),
        "garp_groups": tuple(root.get("_garp_groups", ())),
        "linkbeat_interfaces": tuple(root.get("_linkbeat", ())),
        "interface_up_down_delays": tuple(root.get("_updown", ())),
    }


def route_dest(r: Route) -> str:
    """A route's destination as keepalived prints it (``default`` → ``0.0.0.0/0``)."""
    if r.dest != "default":
        return r.dest
    return "0.0.0.0/0" if r.family is Family.INET else "::/0"


def _prune_group(g: VrrpSyncGroup, names_ok: set[str]) -> VrrpSyncGroup:
    from dataclasses import replace

    return replace(g, group=tuple(n for n in g.group if n in names_ok))


def _smtp(d: Draft, gd: GlobalDefs) -> bool:
    if "smtp_alert" in d:
        return bool(d["smtp_alert"])
    if gd.smtp_alert_vrrp is not None:
        return gd.smtp_alert_vrrp
    if gd.smtp_alert is not None:
        return gd.smtp_alert
    return False


def _missing_interfaces(
    ctx: Ctx, d: Draft, name: str, interface: str | None, tracked: Iterable[TrackRef]
) -> bool:
    """Report an instance's interface and tracked interfaces that this namespace lacks."""
    if ctx.interfaces is None:
        return False
    missing = False
    if interface is not None and interface not in ctx.interfaces:
        ctx.error(
            f"WARNING - interface {interface} for vrrp_instance {name} doesn't exist",
            "interface",
            d.get("_interface_stmt", d["_stmt"]),
        )
        missing = True
    for t in tracked:
        if t.name not in ctx.interfaces:
            ctx.error(
                f"({name}) tracked interface {t.name} doesn't exist",
                "interface",
                d.get("_track_lines", {}).get(("track_interface", t.name), d["_stmt"]),
            )
            missing = True
    return missing


def _complete_instance(ctx: Ctx, d: Draft, gd: GlobalDefs, sg: Draft | None) -> VrrpInstance | None:
    name = d["name"]
    st: Stmt = d["_stmt"]
    ctx.stmt = st
    if "virtual_router_id" not in d:
        ctx.error(f"({name}) the virtual router id must be set", "missing", st)
        return None
    unicast = bool(d.get("unicast"))
    if "interface" not in d and not d.get("unicast_src_ip") and "vrf" not in d:
        ctx.error(f"({name}) Unknown interface!", "interface", st)
        return None

    # family: from VIPs, then source/peer addresses
    vips_raw: list[tuple[IPAddress, Stmt]] = d.get("_vips", [])
    family: Family | None = d.get("family")
    if family is None:
        # keepalived takes the family of the first address it reads in the block
        firsts: list[tuple[int, Family]] = []
        if vips_raw:
            firsts.append((vips_raw[0][1].line, vips_raw[0][0].family))
        if d.get("_peers"):
            firsts.append((d["_peers"][0][1].line, V.family_of(d["_peers"][0][0].address)))
        for k in ("unicast_src_ip", "mcast_src_ip"):
            if d.get(k):
                firsts.append((d.get(f"_{k}_line", 0), V.family_of(d[k])))
        family = min(firsts, key=lambda x: x[0])[1] if firsts else Family.INET
    vips: list[IPAddress] = []
    for a, ast in vips_raw:
        if a.family is not family:
            ctx.error(
                f"({name}): address family must match VRRP instance [{ast.words[0]}] - ignoring",
                "invalid-address",
                ast,
            )
            continue
        if a in vips:
            ctx.warning(f"({name}) virtual ip address {a.address} is listed twice", "lint", ast)
            continue
        vips.append(a)
    evips = [a for a, _ in d.get("_evips", [])]

    # version
    version = d.get("version", gd.vrrp_version)
    if family is Family.INET6:
        if d.get("version") == 2:
            ctx.error(
                f"({name}) cannot use IPv6 with VRRP version 2; setting version 3",
                "invalid-value",
                st,
            )
        version = 3

    # advert_int
    advert = d.get("advert_int", 1.0)
    if version == 2 and not float(advert).is_integer():
        ctx.error(
            f"({name}) VRRPv2 advertisement interval {advert:.6f}s must be an integer. rounding",
            "invalid-value",
            d.get("_advert_stmt", st),
        )
        ctx.warning(
            f"({name}) VRRPv2 adverts carry whole seconds; use version 3 for sub-second advert_int",
            "lint",
            d.get("_advert_stmt", st),
        )
        advert = float(max(1, round(advert)))
    elif version == 3:
        advert = round(advert, 2)
        if advert > 40.95:
            ctx.error(
                f"({name}) VRRPv3 advertisement interval {advert}s must be <= 40.95s - setting",
                "invalid-value",
                st,
            )
            advert = 40.95

    # state and priority
    state = d.get("state", VrrpState.BACKUP)
    default_priority = 255 if state is VrrpState.MASTER else 100
    priority = d.get("priority", default_priority)
    if "state" not in d and priority == 255:
        state = VrrpState.MASTER

    strict = d.get("strict_mode", gd.vrrp_strict)
    nopreempt = d.get("nopreempt", False)
    if nopreempt and state is VrrpState.MASTER:
        ctx.error(
            f"({name}) Warning - nopreempt will not work with initial state MASTER - clearing",
            "semantic",
            st,
        )
        ctx.warning(f"({name}) nopreempt needs state BACKUP on every node", "lint", st)
        nopreempt = False

    # authentication
    auth_type: AuthType = d.get("auth_type", AuthType.NONE)
    auth_pass = d.get("auth_pass")
    if auth_type is not AuthType.NONE or auth_pass is not None:
        if strict:
            ctx.error(
                f"({name}) Strict mode does not support authentication. Ignoring.", "semantic", st
            )
            auth_type, auth_pass = AuthType.NONE, None
        elif version == 3:
            ctx.error(
                f"({name}) VRRP version 3 does not support authentication. Ignoring.",
                "semantic",
                st,
            )
            auth_type, auth_pass = AuthType.NONE, None
        elif auth_type is AuthType.NONE:
            # keepalived 2.2.7 ignores the password silently (measured): advice only
            if not d.get("_auth_type_bad"):
                ctx.warning(f"({name}) auth_pass given without auth_type - ignoring", "lint", st)
            auth_pass = None
        elif not auth_pass:
            ctx.error(
                f"({name}) Authentication specified but no password given. Ignoring", "missing", st
            )
            auth_type = AuthType.NONE
        elif auth_type is AuthType.AH and family is Family.INET6:
            ctx.error(
                f"({name}) AH authentication is not supported with IPv6 - ignoring", "semantic", st
            )
            auth_type, auth_pass = AuthType.NONE, None
    if auth_type is AuthType.AH and state is VrrpState.MASTER and priority != 255:
        ctx.error(
            f"({name}) Initial state master is incompatible with AH authentication - clearing",
            "semantic",
            st,
        )
        state = VrrpState.BACKUP
    hmac = None
    if d.get("_hmac"):
        hmac = AuthHmac(
            keys=tuple(d.get("_hmac_keys", ())),
            active_key=d.get("_hmac_active_key"),
            anti_replay=d.get("_hmac_anti_replay", "time"),
            time_window=d.get("_hmac_time_window"),
            mode="enforce" if strict else d.get("_hmac_mode", "enforce"),
        )
        if hmac.active_key is None or all(k.id != hmac.active_key for k in hmac.keys):
            ctx.error(
                f"({name}) auth_hmac active_key not set or unknown - auth_hmac disabled",
                "missing",
                st,
            )
            hmac = None
        elif auth_type is not AuthType.NONE:
            ctx.error(
                (
                    f"({name}) auth_hmac and authentication are mutually exclusive - ignoring "
                    "authentication"
                ),
                "semantic",
                st,
            )
            auth_type, auth_pass = AuthType.NONE, None

    # VIPs
    if not vips and not d.get("no_virtual_ipaddress"):
        ctx.error(f"({name}) No VIP specified; at least one is sensible", "missing", st)
    if d.get("no_virtual_ipaddress") and strict:
        ctx.error(f"({name}) no_virtual_ipaddress is not valid in strict mode", "semantic", st)

    # unicast
    peers = []
    for p, pst in d.get("_peers", []):
        if V.family_of(p.address) is not family:
            ctx.error(
                f"({name}): address family must match VRRP instance [{p.address}] - ignoring",
                "invalid-address",
                pst,
            )
            continue
        peers.append(p)
    unicast_ttl = d.get("unicast_ttl")
    if unicast_ttl is not None and not peers:
        ctx.error(
            f"({name}): Cannot use unicast_ttl without unicast peers - resetting",
            "semantic",
            d.get("_close", st),
        )
        unicast_ttl = None
    if unicast and not peers:
        if d.get("unicast_fault_no_peer"):
            pass
        else:
            ctx.error(
                (
                    f"({name}) A unicast keyword has been specified without any unicast peers. "
                    "Defaulting to multicast. This usage is deprecated - please update "
                    "your configuration."
                ),
                "deprecated",
                st,
            )

    # tracking: owners ignore weights; in a sync group without sync_group_tracking_weight a
    # weighted tracker is dropped altogether (keepalived 2.2.7, seen in the lab: "ignoring
    # tracked file tf with weight -50 due to SYNC group", and the file changes nothing)
    drop_weighted = sg is not None and not sg.get("sync_group_tracking_weight")
    zero_weights = priority == 255 and not drop_weighted
    tracks: dict[str, tuple[TrackRef, ...]] = {}
    for field in ("track_interface", "track_script", "track_file", "track_process", "track_bfd"):
        refs: list[TrackRef] = list(d.get(field, ()))
        if field == "track_interface" and d.get("interface"):
            # one that does not exist is reported as such (when it is read), not as own
            exists = ctx.interfaces is None or d["interface"] in ctx.interfaces
            own = [r for r in refs if r.name == d["interface"] and exists]
            for r in own:
                ctx.error(
                    f"({name}) Ignoring track_interface {r.name} since own interface",
                    "semantic",
                    st,
                )
                refs.remove(r)
        if drop_weighted:
            for r in [r for r in refs if r.weight not in (None, 0)]:
                what = "tracked " + field.removeprefix("track_")
                ctx.warning(
                    f"({name}) ignoring {what} {r.name} with weight {r.weight} due to SYNC group",
                    "semantic",
                    st,
                )
                refs.remove(r)
        if zero_weights and any(r.weight for r in refs):
            why = "an address owner (priority 255)"
            ctx.warning(f"({name}) {field} weights are ignored for {why}", "lint", st)
        if zero_weights:
            refs = [
                TrackRef(name=r.name, weight=0, reverse=r.reverse)
                if r.weight not in (None, 0)
                else r
                for r in refs
            ]
        tracks[field] = tuple(refs)

    # VMAC
    use_vmac = None
    if "_use_vmac" in d:
        u = d["_use_vmac"]
        vrid = d["virtual_router_id"]
        mac_octets = u.get("mac")
        if mac_octets is None:
            mac_octets = [0, 0, 0x5E, 0, 2 if family is Family.INET6 else 1, vrid]
        elif len(mac_octets) == 5:
            mac_octets = [*mac_octets, vrid]
        use_vmac = UseVmac(
            name=u.get("name", f"{gd.vmac_prefix}.{vrid}"),
            mac=":".join(f"{o:02x}" for o in mac_octets),
            netlink_notify_msg=u.get("netlink_notify_msg", False),
            group=u.get("group"),
        )
    vmac_xmit_base = d.get("vmac_xmit_base", False)
    if use_vmac is not None and unicast and peers and not vmac_xmit_base:
        ctx.error(
            f"({name}) unicast with use_vmac requires vmac_xmit_base - setting",
            "semantic",
            d.get("_close", st),
        )
        vmac_xmit_base = True

    # GARP and strict-mode derived settings
    garp_master_delay = float(d.get("garp_master_delay", gd.vrrp_garp_master_delay))
    garp_master_repeat = d.get("garp_master_repeat", gd.vrrp_garp_master_repeat)
    garp_refresh = float(d.get("garp_master_refresh", gd.vrrp_garp_master_refresh))
    garp_refresh_repeat = d.get("garp_master_refresh_repeat", gd.vrrp_garp_master_refresh_repeat)
    lp_delay_default = (
        gd.vrrp_garp_lower_prio_delay
        if gd.vrrp_garp_lower_prio_delay is not None
        else garp_master_delay
    )
    lp_repeat_default = (
        gd.vrrp_garp_lower_prio_repeat
        if gd.vrrp_garp_lower_prio_repeat is not None
        else garp_master_repeat
    )
    garp_lp_delay = float(d.get("garp_lower_prio_delay", 0 if strict else lp_delay_default))
    garp_lp_repeat = cast(int, d.get("garp_lower_prio_repeat", 0 if strict else lp_repeat_default))
    if gd.vrrp_min_garp:
        if "garp_master_repeat" not in d and gd.vrrp_garp_master_repeat == 5:
            garp_master_repeat = 1
        if "garp_master_delay" not in d and gd.vrrp_garp_master_delay == 5.0:
            garp_master_delay = 0.0
        if "garp_lower_prio_delay" not in d and gd.vrrp_garp_lower_prio_delay is None:
            garp_lp_delay = 0.0
        if "garp_lower_prio_repeat" not in d and gd.vrrp_garp_lower_prio_repeat is None:
            garp_lp_repeat = garp_master_repeat
    down_timer_adverts = 3 if strict else d.get("down_timer_adverts", gd.vrrp_down_timer_adverts)

    lower_prio_no_advert = bool(
        d.get(
            "lower_prio_no_advert",
            gd.vrrp_lower_prio_no_advert if gd.vrrp_lower_prio_no_advert is not None else strict,
        )
    )
    higher_prio_send_advert = d.get(
        "higher_prio_send_advert",
        gd.vrrp_higher_prio_send_advert if gd.vrrp_higher_prio_send_advert is not None else False,
    )
    owner_ignore = bool(
        d.get(
            "owner_ignore_adverts",
            gd.vrrp_owner_ignore_adverts
            if gd.vrrp_owner_ignore_adverts is not None
            else (strict and priority == 255),
        )
    )
    if owner_ignore and priority != 255 and "owner_ignore_adverts" in d:
        ctx.error(
            f"({name}) owner_ignore_adverts is only valid for an address owner (priority 255)",
            "semantic",
            d.get("_owner_ignore_stmt", st),
        )
        owner_ignore = False
    accept = d.get("accept", not strict) or priority == 255
    if strict and version == 2 and d.get("accept") and priority != 255:
        ctx.error(
            f"({name}) warning - accept mode for VRRP version 2 does not comply with RFC3768 - "
            "resetting",
            "semantic",
            st,
        )
        accept = False

    return VrrpInstance(
        name=name,
        interface=d.get("interface"),
        vrf=d.get("vrf"),
        state=state,
        state_configured=d.get("state_configured", False),
        virtual_router_id=d["virtual_router_id"],
        priority=priority,
        advert_int=float(advert),
        version=version,
        family=family,
        auth_type=auth_type,
        auth_pass=auth_pass if auth_type is not AuthType.NONE else None,
        auth_hmac=hmac,
        virtual_ipaddress=tuple(vips),
        virtual_ipaddress_excluded=tuple(evips),
        virtual_routes=tuple(r for r, _ in d.get("_vroutes", [])),
        virtual_rules=tuple(r for r, _ in d.get("_vrules", [])),
        no_virtual_ipaddress=d.get("no_virtual_ipaddress", False),
        dont_track_primary=d.get("dont_track_primary", False),
        track_src_ip=d.get("track_src_ip", False),
        mcast_src_ip=d.get("mcast_src_ip"),
        mcast_dst_ip=d.get("mcast_dst_ip"),
        unicast=unicast,
        unicast_src_ip=d.get("unicast_src_ip"),
        unicast_peers=tuple(peers),
        unicast_ttl=unicast_ttl,
        unicast_fault_no_peer=d.get("unicast_fault_no_peer", False),
        check_unicast_src=d.get("check_unicast_src", gd.vrrp_check_unicast_src),
        old_unicast_checksum=d.get("old_unicast_checksum"),
        v3_checksum_as_v2=d.get("v3_checksum_as_v2", gd.v3_checksum_as_v2),
        nopreempt=nopreempt,
        preempt_delay=d.get("preempt_delay", 0.0),
        accept=accept,
        strict_mode=strict,
        skip_check_adv_addr=d.get("skip_check_adv_addr", gd.vrrp_skip_check_adv_addr),
        lower_prio_no_advert=lower_prio_no_advert,
        higher_prio_send_advert=higher_prio_send_advert,
        owner_ignore_adverts=owner_ignore,
        garp_master_delay=garp_master_delay,
        garp_master_repeat=garp_master_repeat,
        garp_master_refresh=garp_refresh,
        garp_master_refresh_repeat=garp_refresh_repeat,
        garp_lower_prio_delay=garp_lp_delay,
        garp_lower_prio_repeat=garp_lp_repeat,
        garp_extra_if=d.get("garp_extra_if", gd.vrrp_garp_extra_if),
        garp_extra_if_all=d.get("garp_extra_if_all", gd.vrrp_garp_extra_if_all),
        down_timer_adverts=down_timer_adverts,
        timer_expired_backup=d.get("timer_expired_backup"),
        use_vmac=use_vmac,
        use_vmac_addr=d.get("use_vmac_addr", False),
        vmac_xmit_base=vmac_xmit_base,
        use_ipvlan=d.get("use_ipvlan"),
        promote_secondaries=d.get("promote_secondaries", False) or use_vmac is not None,
        notify_master=d.get("notify_master"),
        notify_backup=d.get("notify_backup"),
        notify_fault=d.get("notify_fault"),
        notify_stop=d.get("notify_stop"),
        notify=d.get("notify"),
        notify_deleted=d.get("notify_deleted", False),
        notify_deleted_script=d.get("notify_deleted_script"),
        notify_master_rx_lower_pri=d.get("notify_master_rx_lower_pri"),
        notify_priority_changes=bool(
            d.get(
                "notify_priority_changes",
                sg.get("notify_priority_changes", gd.vrrp_notify_priority_changes)
                if sg
                else gd.vrrp_notify_priority_changes,
            )
        ),
        smtp_alert=_smtp(d, gd),
        debug=d.get("debug", 0),
        kernel_rx_buf_size=d.get("kernel_rx_buf_size"),
        lvs_sync_daemon_interface=d.get("lvs_sync_daemon_interface"),
        sync_group=sg["name"] if sg is not None else None,
        file=st.file,
        line=st.line,
        **tracks,
    )
