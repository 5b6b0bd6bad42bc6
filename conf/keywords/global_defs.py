"""Keywords of ``global_defs { }``, the root-level process options, and the
``pykeepalived { }`` block (docs/ARCHITECTURE.md §7)."""

from __future__ import annotations

import re

from pykeepalived.conf import values as V
from pykeepalived.conf.keywords import common as C
from pykeepalived.conf.model import LbBackend, LvsSyncDaemon, NotifyFifo
from pykeepalived.conf.preprocess import Stmt
from pykeepalived.conf.registry import BlockDef, Ctx, Draft

GLOBAL = BlockDef("global_defs")
PYK = BlockDef("pykeepalived")

SNMP = "SNMP agent"
DBUS = "D-Bus interface"
SCHED = "process scheduling and memory locking"
FW = "firewall rules for accept mode (no_accept)"
NAMES = "process renaming"
HOUSE = "configuration housekeeping of keepalived's parent"
EXTRA_IF = (
    "without `all` (VMAC interfaces only) nothing is sent, as there are no VMACs; with "
    "`all`, one GARP/NA every interval for the first VIP of each other interface"
)
STRICT = (
    "its derived settings apply, but unicast is not refused, the VIP list of adverts is "
    "not checked and no firewall rules are installed"
)
NO_DELAY = "VRRP starts at once"
NO_VMAC = "no VMAC interfaces are created"
BUFS = "the kernel's default socket buffer size is used"
IPROUTE = "iproute2 tables are read from /usr/share/iproute2, /usr/lib/iproute2, /etc/iproute2"


def _open_global(ctx: Ctx, root: Draft, st: Stmt) -> Draft | None:
    C.extra(ctx, st, 0)
    return root.setdefault("_global", {"_stmt": st})


def _close_global(ctx: Ctx, d: Draft, root: Draft) -> None:
    pass


def _open_pyk(ctx: Ctx, root: Draft, st: Stmt) -> Draft | None:
    C.extra(ctx, st, 0)
    return root.setdefault("_pykeepalived", {"_stmt": st})


# ---------------------------------------------------------------- handlers needing logic


def _script_user(ctx: Ctx, d: Draft, st: Stmt) -> None:
    w = C.arg(ctx, st)
    if w is None:
        return
    user, _, group = w.partition(":")
    if len(st.words) > 2:
        group = st.words[2].lstrip(":")
    C.extra(ctx, st, 2)
    if not C.account_exists(user, group or None):
        ctx.error("Error setting global script uid/gid", "reference", st)
        return
    d["script_user"] = user
    if group:
        d["script_group"] = group


def _timed_script(field: str) -> C.Handler:
    return C.script(field)


def _fifo(field: str) -> C.Handler:
    def h(ctx: Ctx, d: Draft, st: Stmt) -> None:
        words = V.split_quoted(st.text)
        if len(words) < 2:
            ctx.error(f"{st.words[0]} requires a FIFO path", "missing-parameter", st)
            return
        d[field] = NotifyFifo(
            path=words[1],
            user=words[2] if len(words) > 2 else None,
            group=words[3] if len(words) > 3 else None,
        )

    return h


def _notification_email(ctx: Ctx, d: Draft, st: Stmt) -> None:
    d.setdefault("notification_email", []).append(" ".join(st.words))


def _open_email(ctx: Ctx, d: Draft, st: Stmt) -> Draft:
    d["_emails_before"] = len(d.get("notification_email", ()))
    return d


def _close_email(ctx: Ctx, d: Draft, root: Draft) -> None:
    if len(d.get("notification_email", ())) == d.pop("_emails_before", 0):
        ctx.error("Warning - empty notification_email block", "missing")


_HOSTNAME = re.compile(r"(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9-]{1,63})*\.?")


def _smtp_host_ok(host: str) -> bool:
    """keepalived takes an address, or a host name it can resolve (getaddrinfo)."""
    import ipaddress
    import socket

    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    if host.replace(".", "").isdigit():  # inet_aton's forms ("0", "127.1"), no lookup
        try:
            socket.inet_aton(host)
        except OSError:
            return False
        return True
    if _HOSTNAME.fullmatch(host) is None:
        return False
    try:
        return bool(socket.getaddrinfo(host, None, type=socket.SOCK_STREAM))
    except (OSError, UnicodeError):
        return False


def _smtp_server(ctx: Ctx, d: Draft, st: Stmt) -> None:
    w = C.arg(ctx, st)
    if w is None:
        return
    C.extra(ctx, st, 2)
    port = st.words[2] if len(st.words) > 2 else "25"
    if (len(st.words) > 2 and V.uint(ctx, port, 1, 65535) is None) or not _smtp_host_ok(w):
        ctx.error(f"Invalid smtp server {w} {port}", "invalid-address", st)
        return
    d["smtp_server"] = w
    d["smtp_port"] = int(port)


def _smtp_connect_timeout(ctx: Ctx, d: Draft, st: Stmt) -> None:
    w = C.arg(ctx, st)
    if w is None:
        return
    v = V.uint(ctx, w, 0, V.UINT_MAX)
    if v is not None:
        d["smtp_connect_timeout"] = float(v or 1)


def _bare_flag(field: str, what: str) -> C.Handler:
    """keepalived 2.2.7 takes ``vrrp_strict`` and ``vrrp_skip_check_adv_addr`` as bare
    flags: a word after them is not checked (later versions read a boolean). A boolean
    is honoured; anything else is noted and, as 2.2.7 does, the flag is on."""

    def h(ctx: Ctx, d: Draft, st: Stmt) -> None:
        if len(st.words) > 1 and st.words[1] in V.FALSE_WORDS:
            d[field] = False
            return
        if len(st.words) > 1 and st.words[1] not in V.TRUE_WORDS:
            ctx.warning(f"{field}: '{st.words[1]}' is not a boolean - {what} is on", "lint", st)
        d[field] = True

    return h


_strict = _bare_flag("vrrp_strict", "strict mode")


def _vrrp_version(ctx: Ctx, d: Draft, st: Stmt) -> None:
    w = C.arg(ctx, st)
    if w is None:
        return
    v = V.uint(ctx, w, 2, 3)
    if v is None:
        ctx.error("VRRP Error: Version must be either 2 or 3", "invalid-value", st)
        return
    d["vrrp_version"] = v


def _mcast(field: str, family: int) -> C.Handler:
    def h(ctx: Ctx, d: Draft, st: Stmt) -> None:
        w = C.arg(ctx, st)
        if w is None:
            return
        a = V.ip_address(ctx, w, "multicast address")
        if a is None:
            return
        import ipaddress

        ip = ipaddress.ip_address(a)
        if ip.version != family or not ip.is_multicast:
            ctx.error(
                f"{st.words[0]} '{w}' is not an IPv{family} multicast address",
                "invalid-address",
                st,
            )
            return
        d[field] = a

    return h


def _garp_interval(field: str) -> C.Handler:
    def h(ctx: Ctx, d: Draft, st: Stmt) -> None:
        w = C.arg(ctx, st)
        if w is None:
            return
        v = V.decimal(ctx, w, 0.000001, 4294.967295)
        if v is None:
            ctx.error(f"{st.words[0]} '{w}' is invalid", "invalid-value", st)
            return
        d[field] = v

    return h


def _garp_extra_if(prefix: str) -> C.Handler:
    def h(ctx: Ctx, d: Draft, st: Stmt) -> None:
        w = st.words[1:]
        if w and w[0] == "all":
            d[prefix + "_all"] = True
            w = w[1:]
        if not w:
            ctx.error(f"{st.words[0]} requires an interval", "missing-parameter", st)
            return
        v = V.uint(ctx, w[0], 0 if prefix == "garp_extra_if" else 1, 86400)
        if v is not None:
            d[prefix] = float(v)

    return h


def _dynamic_interfaces(ctx: Ctx, d: Draft, st: Stmt) -> None:
    d["dynamic_interfaces"] = True
    if len(st.words) > 1:
        if st.words[1] == "allow_if_changes":
            d["dynamic_interfaces_allow_if_changes"] = True
        else:
            ctx.error(f"Unknown dynamic_interfaces option '{st.words[1]}'", "invalid-value", st)


def _rx_bufs_policy(ctx: Ctx, d: Draft, st: Stmt) -> None:
    w = C.arg(ctx, st)
    if w is None:
        return
    if w.upper() in ("MTU", "ADVERT"):
        d["vrrp_rx_bufs_policy"] = w.upper()
    elif V.uint(ctx, w, 0) is not None:  # 0 accepted by 2.2.7 (measured)
        d["vrrp_rx_bufs_policy"] = w


def _words(field: str, *, maxn: int | None = None) -> C.Handler:
    def h(ctx: Ctx, d: Draft, st: Stmt) -> None:
        vals = st.words[1:]
        if maxn is not None and len(vals) > maxn:
            C.extra(ctx, st, maxn)
            vals = vals[:maxn]
        d[field] = tuple(vals)

    return h


def _nftables(field: str, default: str) -> C.Handler:
    def h(ctx: Ctx, d: Draft, st: Stmt) -> None:
        d[field] = st.words[1] if len(st.words) > 1 else default
        C.extra(ctx, st, 1)

    return h


def _cpu_affinity(field: str) -> C.Handler:
    def h(ctx: Ctx, d: Draft, st: Stmt) -> None:
        import os

        cpus: list[int] = []
        top = (os.cpu_count() or 1) - 1
        for w in st.words[1:]:
            v = V.uint(ctx, w, 0, top)
            if v is None:
                ctx.error(f"Invalid cpu_id:{w} specified for {field.split('_')[0]} process",
                          "invalid-value", st)  # fmt: skip
                continue
            cpus.append(v)
        d[field] = tuple(cpus)

    return h


def _rlimit(field: str) -> C.Handler:
    def h(ctx: Ctx, d: Draft, st: Stmt) -> None:
        w = C.arg(ctx, st)
        if w is None:
            return
        v = V.uint(ctx, w, 1)
        if v is not None:
            d[field] = 2 if v == 1 else v

    return h


_UMASK_BITS = {
    "IRUSR": 0o400, "IWUSR": 0o200, "IXUSR": 0o100, "IRGRP": 0o040, "IWGRP": 0o020,
    "IXGRP": 0o010, "IROTH": 0o004, "IWOTH": 0o002, "IXOTH": 0o001,
    "IRWXU": 0o700, "IRWXG": 0o070, "IRWXO": 0o007,
}  # fmt: skip


def _umask(ctx: Ctx, d: Draft, st: Stmt) -> None:
    w = C.arg(ctx, st)
    if w is None:
        return
    text = "".join(st.words[1:])
    if text[:1].isdigit():
        try:
            d["umask"] = int(text, 0) if not re.fullmatch(r"0[0-7]+", text) else int(text, 8)
        except ValueError:
            ctx.error(f"Invalid umask value '{text}'", "invalid-value", st)
        return
    mask = 0
    for part in text.split("|"):
        bit = _UMASK_BITS.get(part.strip())
        if bit is None:
            ctx.error(f"Unknown umask bit '{part}'", "invalid-value", st)
            return
        mask |= bit
    d["umask"] = mask


def _max_auto_priority(ctx: Ctx, d: Draft, st: Stmt) -> None:
    if len(st.words) == 1:
        d["max_auto_priority"] = 99
        return
    v = V.integer(ctx, st.words[1], -1, 99)
    if v is not None:
        d["max_auto_priority"] = v


def _lvs_timeouts(ctx: Ctx, d: Draft, st: Stmt) -> None:
    w = st.words[1:]
    if not w:
        ctx.error("lvs_timeouts requires at least one of tcp, tcpfin, udp", "missing-parameter", st)
        return
    i = 0
    while i < len(w):
        name = w[i]
        if name not in ("tcp", "tcpfin", "udp"):
            ctx.error(f"Unknown option {name} specified for lvs_timeouts", "invalid-value", st)
            i += 1
            continue
        if i + 1 >= len(w):
            ctx.error(
                f"No value specified for lvs_timeout {name} - ignoring", "missing-parameter", st
            )
            break
        v = V.uint(ctx, w[i + 1], 0, 31 * 86400)
        if v is not None:
            d[f"lvs_timeouts_{name}"] = v
        i += 2


def _lvs_flush_on_stop(ctx: Ctx, d: Draft, st: Stmt) -> None:
    if len(st.words) > 1:
        if st.words[1] != "VS":
            ctx.error(f"Unknown lvs_flush_on_stop type {st.words[1]}", "invalid-value", st)
            return
        d["lvs_flush_on_stop"] = "VS"
    else:
        d["lvs_flush_on_stop"] = "all"


def _lvs_sync_daemon(ctx: Ctx, d: Draft, st: Stmt) -> None:
    w = st.words[1:]
    if not w:
        ctx.error("lvs_sync_daemon requires an interface", "missing-parameter", st)
        return
    out: dict[str, object] = {"interface": w[0]}
    i = 1
    positional = 0
    limits = {"id": (0, 255), "maxlen": (1, 65507), "port": (1, 65535), "ttl": (1, 255)}
    while i < len(w):
        word = w[i]
        if word == "inst" and i + 1 < len(w):
            out["instance"] = w[i + 1]
            i += 2
        elif word in limits and i + 1 < len(w):
            lo, hi = limits[word]
            v = V.uint(ctx, w[i + 1], lo, hi)
            if v is not None:
                out[word] = v
            i += 2
        elif word == "group" and i + 1 < len(w):
            a = V.ip_address(ctx, w[i + 1], "lvs_sync_daemon group")
            if a is not None:
                out["group"] = a
            i += 2
        elif positional == 0 and "instance" not in out:
            out["instance"] = word
            positional = 1
            i += 1
        elif positional == 1 and word.isdigit():
            out["id"] = int(word)
            positional = 2
            i += 1
        else:
            ctx.error(f"Unknown lvs_sync_daemon option {word}", "invalid-value", st)
            i += 1
    d["lvs_sync_daemon"] = LvsSyncDaemon(**out)  # type: ignore[arg-type]


_INCLUDE_CHECK = {"readable": "r", "match": "m", "wildcard_match": "w", "brace_match": "b"}


def _include_check(ctx: Ctx, d: Draft, st: Stmt) -> None:
    words = st.words[1:]
    if not words:
        d["include_check"] = tuple(_INCLUDE_CHECK)
        ctx.shared["include_check"] = "rmwb"
        return
    cur: set[str] = set(d.get("include_check", ()))
    for i, w in enumerate(words):
        sign = w[0] if w[:1] in "+-" else ""
        name = w[1:] if sign else w
        if name not in _INCLUDE_CHECK:
            ctx.error(f"Unknown include_check option '{w}'", "invalid-value", st)
            continue
        if sign == "-":
            cur.discard(name)
        elif sign == "+" or i > 0:
            cur.add(name)
        else:
            cur = {name}
    d["include_check"] = tuple(sorted(cur))
    ctx.shared["include_check"] = "".join(_INCLUDE_CHECK[c] for c in cur)


def _reload_check_config(ctx: Ctx, d: Draft, st: Stmt) -> None:
    d["reload_check_config"] = st.words[1] if len(st.words) > 1 else "/dev/null"


def _json_version(ctx: Ctx, d: Draft, st: Stmt) -> None:
    w = C.arg(ctx, st)
    if w is not None:
        v = V.uint(ctx, w, 1, 2)
        if v is not None:
            d["json_version"] = v


def _dump_file(field: str) -> C.Handler:
    def h(ctx: Ctx, d: Draft, st: Stmt) -> None:
        w = C.arg(ctx, st)
        if w is not None:
            if not w:
                ctx.error(f"{st.words[0]} requires a non-empty path", "invalid-value", st)
                return
            d[field] = w

    return h


def _deprecated_alias(handler: C.Handler, old: str, new: str) -> tuple[C.Handler, str]:
    return handler, f"{old} is deprecated - please use {new}"


# ---------------------------------------------------------------- table

G = GLOBAL
G.scalar("process_names", C.flag("process_names"), unimplemented=NAMES)
for _k in ("process_name", "vrrp_process_name", "checker_process_name", "bfd_process_name"):
    G.scalar(_k, C.string(_k), unimplemented=NAMES)
G.scalar(
    "lvs_process_name",
    C.string("checker_process_name"),
    deprecated="lvs_process_name is deprecated - please use checker_process_name",
    unimplemented=NAMES,
)
G.scalar(
    "use_symlink_paths",
    C.boolean("use_symlink_paths"),
    unimplemented="script paths are resolved through symlinks, as keepalived does by default",
)
G.scalar(
    "set_supplementary_groups",
    C.boolean("set_supplementary_groups"),
    unimplemented="scripts run with their user's uid and gid, without its supplementary groups",
)
G.scalar("script_user", _script_user)
G.scalar("enable_script_security", C.flag("enable_script_security"))
G.scalar("startup_script", C.script("startup_script"))
G.scalar("startup_script_timeout", C.uint("startup_script_timeout", 1, 1000))
G.scalar("shutdown_script", C.script("shutdown_script"))
G.scalar("shutdown_script_timeout", C.uint("shutdown_script_timeout", 1, 1000))
G.scalar("max_auto_priority", _max_auto_priority, unimplemented=SCHED)
G.scalar(
    "min_auto_priority_delay", C.uint("min_auto_priority_delay", 1, 10000000), unimplemented=SCHED
)
for _p in ("vrrp", "checker", "bfd"):
    # vrrp_priority / vrrp_rt_priority are applied by the vrrp actor (actors/vrrp/actor.py)
    sched = None if _p == "vrrp" else SCHED
    G.scalar(f"{_p}_priority", C.integer(f"{_p}_priority", -20, 19), unimplemented=sched)
    G.scalar(f"{_p}_no_swap", C.flag(f"{_p}_no_swap"), unimplemented=SCHED)
    G.scalar(f"{_p}_rt_priority", C.integer(f"{_p}_rt_priority", 1, 99), unimplemented=sched)
    G.scalar(f"{_p}_cpu_affinity", _cpu_affinity(f"{_p}_cpu_affinity"), unimplemented=SCHED)
    G.scalar(f"{_p}_rlimit_rttime", _rlimit(f"{_p}_rlimit_rttime"), unimplemented=SCHED)
    G.scalar(
        f"{_p}_rlimit_rtime",
        _rlimit(f"{_p}_rlimit_rttime"),
        deprecated=f"{_p}_rlimit_rtime is deprecated - please use {_p}_rlimit_rttime",
        unimplemented=SCHED,
    )
G.scalar("umask", _umask)
G.scalar(
    "random_seed",
    C.uint("random_seed"),
    unimplemented="${_RANDOM} is not seeded from it",
)
# mail / notification
G.scalar("router_id", C.string("router_id", missing="routerid name missing - ignoring"))
G.values("notification_email", _notification_email, open=_open_email, close=_close_email)
G.scalar(
    "notification_email_from",
    C.string("notification_email_from", missing="emailfrom missing - ignoring"),
)
G.scalar("smtp_server", _smtp_server)
G.scalar("smtp_helo_name", C.string("smtp_helo_name"))
G.scalar("smtp_connect_timeout", _smtp_connect_timeout)
for _k in ("smtp_alert", "smtp_alert_vrrp", "smtp_alert_checker"):
    G.scalar(_k, C.boolean(_k))
G.scalar("no_email_faults", C.flag("no_email_faults"))
G.scalar("checker_log_all_failures", C.boolean("checker_log_all_failures"))
G.scalar("no_checker_emails", C.boolean("no_checker_emails"))
G.scalar("rs_init_notifies", C.boolean("rs_init_notifies"))
for _k in ("notify_fifo", "vrrp_notify_fifo", "lvs_notify_fifo"):
    G.scalar(_k, _fifo(_k))
    G.scalar(f"{_k}_script", C.script(f"{_k}_script"))
G.scalar("vrrp_notify_priority_changes", C.boolean("vrrp_notify_priority_changes"))
G.scalar("fifo_write_vrrp_states_on_reload", C.flag("fifo_write_vrrp_states_on_reload"))
# VRRP defaults
G.scalar("vrrp_version", _vrrp_version)
G.scalar("vrrp_mcast_group4", _mcast("vrrp_mcast_group4", 4))
G.scalar("vrrp_mcast_group6", _mcast("vrrp_mcast_group6", 6))
G.scalar("default_interface", C.string("default_interface"))
G.scalar("vrrp_garp_master_delay", C.uint("vrrp_garp_master_delay", 0, 86400))
G.scalar("vrrp_garp_master_repeat", C.repeat("vrrp_garp_master_repeat"))
G.scalar("vrrp_garp_master_refresh", C.uint("vrrp_garp_master_refresh", 0, 86400))
G.scalar(
    "vrrp_garp_master_refresh_repeat",
    C.repeat("vrrp_garp_master_refresh_repeat"),
)
G.scalar("vrrp_garp_lower_prio_delay", C.uint("vrrp_garp_lower_prio_delay", 0, 86400))
G.scalar("vrrp_garp_lower_prio_repeat", C.uint("vrrp_garp_lower_prio_repeat", 0, V.INT_MAX))
G.scalar("vrrp_garp_interval", _garp_interval("vrrp_garp_interval"))
G.scalar("vrrp_gna_interval", _garp_interval("vrrp_gna_interval"))
G.scalar("vrrp_min_garp", C.boolean("vrrp_min_garp"))
G.scalar(
    "vrrp_garp_extra_if",
    _garp_extra_if("vrrp_garp_extra_if"),
    unimplemented=EXTRA_IF,
    partial=True,
)
G.scalar(
    "vrrp_vmac_garp_intvl",
    _garp_extra_if("vrrp_garp_extra_if"),
    deprecated="vrrp_vmac_garp_intvl is deprecated - please use vrrp_garp_extra_if",
    unimplemented=EXTRA_IF,
    partial=True,
)
G.scalar("vrrp_down_timer_adverts", C.uint("vrrp_down_timer_adverts", 1, 100))
G.scalar("vrrp_lower_prio_no_advert", C.boolean("vrrp_lower_prio_no_advert"))
G.scalar(
    "vrrp_higher_prio_send_advert",
    C.boolean("vrrp_higher_prio_send_advert"),
    unimplemented="a master that sees a higher priority steps down without sending an advert first",
)
G.scalar("v3_checksum_as_v2", C.flag("v3_checksum_as_v2"))
G.scalar("vrrp_check_unicast_src", C.flag("vrrp_check_unicast_src"))
G.scalar("vrrp_skip_check_adv_addr", _bare_flag("vrrp_skip_check_adv_addr", "skipping the check"))
G.scalar("vrrp_strict", _strict, unimplemented=STRICT, partial=True)
G.scalar("vrrp_owner_ignore_adverts", C.boolean("vrrp_owner_ignore_adverts"))
G.scalar(
    "vrrp_startup_delay",
    C.decimal("vrrp_startup_delay", 0.001, 4294.967295),
    unimplemented=NO_DELAY,
)
G.scalar(
    "vrrp_delay_after_boot",
    C.decimal("vrrp_delay_after_boot", 0, 4294.967295),
    unimplemented=NO_DELAY,
)
G.scalar("dynamic_interfaces", _dynamic_interfaces)
G.scalar(
    "disable_local_igmp",
    C.flag("disable_local_igmp"),
    unimplemented="igmp_link_local_mcast_reports is left as it is",
)
G.scalar(
    "log_unknown_vrids",
    C.flag("log_unknown_vrids"),
    unimplemented="adverts for unknown VRIDs are dropped without a log line",
)
G.scalar("vmac_prefix", C.string("vmac_prefix"), unimplemented=NO_VMAC)
G.scalar("vmac_addr_prefix", C.string("vmac_addr_prefix"), unimplemented=NO_VMAC)
G.scalar("vrrp_rx_bufs_policy", _rx_bufs_policy, unimplemented=BUFS)
G.scalar("vrrp_rx_bufs_multiplier", C.uint("vrrp_rx_bufs_multiplier", 1), unimplemented=BUFS)
for _k in ("vrrp_netlink_cmd_rcv_bufs", "vrrp_netlink_monitor_rcv_bufs", "process_monitor_rcv_bufs",
           "lvs_netlink_cmd_rcv_bufs", "lvs_netlink_monitor_rcv_bufs"):  # fmt: skip
    # only the vrrp netlink monitor socket takes its size from the config
    bufs = None if _k == "vrrp_netlink_monitor_rcv_bufs" else BUFS
    G.scalar(_k, C.uint(_k), unimplemented=bufs)
    G.scalar(f"{_k}_force", C.boolean(f"{_k}_force"), unimplemented=bufs)
G.scalar("iproute_usr_dir", C.string("iproute_usr_dir"), unimplemented=IPROUTE)
G.scalar("iproute_etc_dir", C.string("iproute_etc_dir"), unimplemented=IPROUTE)
# firewall
G.scalar("vrrp_iptables", _words("vrrp_iptables", maxn=2), unimplemented=FW)
G.scalar("vrrp_ipsets", _words("vrrp_ipsets", maxn=6), unimplemented=FW)
G.scalar("nftables", _nftables("nftables", "keepalived"), unimplemented=FW)
G.scalar(
    "nftables_priority", C.integer("nftables_priority", -2147483647, 2147483647), unimplemented=FW
)
G.scalar("nftables_ifindex", C.flag("nftables_ifindex"), unimplemented=FW)
G.scalar("nftables_counters", C.flag("nftables_counters"), unimplemented=FW)
G.scalar(
    "nftables_ipvs",
    _nftables("nftables_ipvs", "keepalived_ipvs"),
    unimplemented="nftables fwmarks for virtual_server_group",
)
G.scalar(
    "nftables_ipvs_priority",
    C.integer("nftables_ipvs_priority", -2147483647, 2147483647),
    unimplemented="nftables fwmarks for virtual_server_group",
)
G.scalar(
    "nftables_ipvs_start_fwmark",
    C.uint("nftables_ipvs_start_fwmark", 1),
    unimplemented="nftables fwmarks for virtual_server_group",
)
# LVS
G.scalar("lvs_timeouts", _lvs_timeouts)
G.scalar("lvs_flush", C.flag("lvs_flush"))
G.scalar("lvs_flush_on_stop", _lvs_flush_on_stop)
G.scalar(
    "lvs_flush_onstop",
    _lvs_flush_on_stop,
    deprecated="lvs_flush_onstop is deprecated - please use lvs_flush_on_stop",
)
# run by the ipvs actor (actors/ipvs/actor.py); the nftables backend says at run time that it cannot
G.scalar("lvs_sync_daemon", _lvs_sync_daemon)
# SNMP / D-Bus / JSON
G.scalar("snmp_socket", C.string("snmp_socket"), unimplemented=SNMP)
for _k in ("enable_traps", "enable_snmp_vrrp", "enable_snmp_checker", "enable_snmp_rfc",
           "enable_snmp_rfcv2", "enable_snmp_rfcv3"):  # fmt: skip
    G.scalar(_k, C.flag(_k), unimplemented=SNMP)
G.scalar(
    "enable_snmp_keepalived",
    C.flag("enable_snmp_vrrp"),
    deprecated="enable_snmp_keepalived is deprecated - please use enable_snmp_vrrp",
    unimplemented=SNMP,
)
G.scalar(
    "snmp_vs_stats_update_interval",
    C.decimal("snmp_vs_stats_update_interval", 0.001, 30),
    unimplemented=SNMP,
)
G.scalar(
    "snmp_rs_stats_update_interval",
    C.decimal("snmp_rs_stats_update_interval", 0.001, 30),
    unimplemented=SNMP,
)
G.scalar("enable_dbus", C.flag("enable_dbus"), unimplemented=DBUS)
G.scalar("dbus_service_name", C.string("dbus_service_name"), unimplemented=DBUS)
G.scalar("dbus_no_interface_name", C.string("dbus_no_interface_name"), unimplemented=DBUS)
G.scalar("json_version", _json_version, unimplemented="the JSON dump is always version 1")
# housekeeping
G.scalar("tmp_config_directory", C.string("tmp_config_directory"), unimplemented=HOUSE)
G.scalar("config_save_dir", C.string("config_save_dir"), unimplemented=HOUSE)
G.scalar("include_check", _include_check)
G.scalar(
    "reload_check_config",
    _reload_check_config,
    unimplemented="every reload is checked first anyway; no log file is written",
    partial=True,
)
G.scalar("reload_time_file", C.string("reload_time_file"), unimplemented="scheduled reloads")
G.scalar("reload_repeat", C.flag("reload_repeat"), unimplemented="scheduled reloads")
G.scalar("reload_file", C.string("reload_file"), unimplemented=HOUSE)
G.scalar("data_use_instance", C.boolean("data_use_instance"))
G.scalar("state_dump_file", _dump_file("state_dump_file"))
G.scalar("stats_dump_file", _dump_file("stats_dump_file"))
G.scalar("json_dump_file", _dump_file("json_dump_file"))


# ---------------------------------------------------------------- pykeepalived { }


def _lb_backend(ctx: Ctx, d: Draft, st: Stmt) -> None:
    w = C.arg(ctx, st)
    if w is None:
        return
    try:
        d["lb_backend"] = LbBackend(w)
    except ValueError:
        ctx.error(
            f"lb_backend '{w}' invalid (expected auto, ipvs, nftables or dry-run)",
            "invalid-value",
            st,
        )


def _endpoint(field: str) -> C.Handler:
    def h(ctx: Ctx, d: Draft, st: Stmt) -> None:
        w = C.arg(ctx, st)
        if w is not None:
            d[field] = w
        C.extra(ctx, st, 1)

    return h


PYK.scalar("lb_backend", _lb_backend)
PYK.scalar("event_tap", _endpoint("event_tap"))
PYK.scalar("metrics", _endpoint("metrics"))
PYK.scalar("watchdog_interval", C.decimal("watchdog_interval", 0.01, 3600))


# ---------------------------------------------------------------- root process options


def register_root(root: BlockDef) -> None:
    """Root-level keywords owned by this module."""
    root.sub("global_defs", GLOBAL, _open_global, _close_global)
    root.sub("pykeepalived", PYK, _open_pyk, _close_global)
    root.scalar(
        "net_namespace",
        C.string("net_namespace"),
        unimplemented="network namespaces from the config (use -s)",
    )
    root.scalar(
        "net_namespace_ipvs",
        _nftables("net_namespace_ipvs", ""),
        unimplemented="IPVS in another namespace",
    )
    root.scalar("namespace_with_ipsets", C.flag("namespace_with_ipsets"), unimplemented=FW)
    root.scalar(
        "use_pid_dir",
        C.flag("use_pid_dir"),
        unimplemented="pid files keep their -p/-r/-c (or default) paths",
    )
    root.scalar(
        "instance",
        C.string("instance"),
        unimplemented="it names dump files (data_use_instance), not pid files",
        partial=True,
    )
    root.scalar(
        "child_wait_time",
        C.uint("child_wait_time", 0),
        unimplemented="children get 5 seconds to stop",
    )
    root.scalar(
        "linkbeat_use_polling",
        C.flag("linkbeat_use_polling"),
        unimplemented="link state polling (netlink is used)",
    )
