"""One test per keyword: every keyword of every block in the keyword tables is exercised
with a valid value and its effect on the model is checked. A meta-test fails when a
registered keyword has no case here. (``test_compat_table.py`` checks the registry against
the project's keyword table, ``docs/compatibility.md``.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pykeepalived.conf.loader import root_block
from pykeepalived.conf.model import (
    AuthType,
    Config,
    Family,
    LbBackend,
    LvsMethod,
    Protocol,
    VrrpState,
)
from pykeepalived.conf.registry import BlockDef
from tests.unit.conf.helpers import parse

PRELUDE = """
vrrp_script chk { script "/bin/true" }
track_file tf { file /tmp/pyk-tf }
vrrp_track_process tp { process sshd }
bfd_instance bfd1 { neighbor_ip 10.0.0.9 }
"""

INST = """vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  @@
  virtual_ipaddress {
    10.0.0.1/24
  }
}
"""

VS_HEAD = "virtual_server 10.0.0.1 80 {\n lvs_sched rr\n lvs_method NAT\n protocol TCP\n"

TEMPLATES: dict[str, str] = {
    "": "@@\n",
    "global_defs": "global_defs {\n@@\n}\n",
    "pykeepalived": "pykeepalived {\n@@\n}\n",
    "track_group": "track_group TG {\n@@\n}\n" + INST.replace("@@", ""),
    "vrrp_script": 'vrrp_script s2 {\n script "/bin/true"\n@@\n}\n',
    "track_file": "track_file tf2 {\n file /tmp/pyk-tf2\n@@\n}\n",
    "vrrp_track_process": "vrrp_track_process tp2 {\n process foo\n@@\n}\n",
    "bfd_instance": "bfd_instance b2 {\n neighbor_ip 10.0.0.8\n@@\n}\n",
    "vrrp_instance": INST,
    "vrrp_instance/authentication": INST.replace("@@", "authentication {\n@@\n}"),
    "vrrp_instance/auth_hmac": INST.replace(
        "@@", "version 2\nauth_hmac {\n key 1 0123456789abcdef0123456789abcdef\n@@\n}"
    ),
    "vrrp_sync_group": INST.replace("VI_1", "VI_2").replace("51", "52").replace("@@", "")
    + INST.replace("@@", "")
    + "vrrp_sync_group G {\n group {\n VI_1\n VI_2\n }\n@@\n}\n",
    "garp_group": "garp_group {\n interface eth0\n@@\n}\n",
    "SSL": "SSL {\n@@\n}\n",
    "virtual_server": VS_HEAD + "@@\n real_server 10.0.0.2 80 {\n TCP_CHECK {\n }\n }\n}\n",
    "virtual_server/real_server": VS_HEAD + " real_server 10.0.0.2 80 {\n@@\n }\n}\n",
}
_CHECK_BODY = {
    "TCP_CHECK": "",
    "HTTP_GET": "url {\n path /\n }\n",
    "SSL_GET": "url {\n path /\n }\n",
    "MISC_CHECK": 'misc_path "/bin/true"\n',
    "SMTP_CHECK": "",
    "DNS_CHECK": "",
    "UDP_CHECK": "",
    "PING_CHECK": "",
    "FILE_CHECK": "track_file tf\n",
    "BFD_CHECK": "name bfd1\n",
}
for _kind, _body in _CHECK_BODY.items():
    TEMPLATES[f"virtual_server/real_server/{_kind}"] = TEMPLATES[
        "virtual_server/real_server"
    ].replace("@@", f"{_kind} {{\n{_body}@@\n}}")
for _kind in ("HTTP_GET", "SSL_GET"):
    TEMPLATES[f"virtual_server/real_server/{_kind}/url"] = TEMPLATES[
        "virtual_server/real_server"
    ].replace("@@", f"{_kind} {{\n url {{\n path /x\n@@\n }}\n}}")
TEMPLATES["virtual_server/real_server/SMTP_CHECK/host"] = TEMPLATES[
    "virtual_server/real_server"
].replace("@@", "SMTP_CHECK {\n host {\n@@\n }\n}")


def inst(c: Config) -> Any:
    return c.vrrp_instance("VI_1")


def vs(c: Config) -> Any:
    return c.virtual_servers[0]


def rs(c: Config) -> Any:
    return c.virtual_servers[0].real_servers[0]


def chk(c: Config) -> Any:
    return c.virtual_servers[0].real_servers[0].checkers[-1]


def gd(c: Config) -> Any:
    return c.global_defs


Check = Callable[[Config], object]
# (block path, keyword line(s), check on the model, allowed reported codes)
CASES: list[tuple[str, str, Check, tuple[str, ...]]] = []


def case(path: str, line: str, check: Check, *codes: str) -> None:
    CASES.append((path, line, check, codes))


# ---------------------------------------------------------------- root
case("", "net_namespace blue", lambda c: c.net_namespace == "blue")
case("", "net_namespace_ipvs", lambda c: c.net_namespace_ipvs == "")
case("", "namespace_with_ipsets", lambda c: c.namespace_with_ipsets)
case("", "use_pid_dir", lambda c: c.use_pid_dir)
case("", "instance lb1", lambda c: c.instance == "lb1")
case("", "child_wait_time 9", lambda c: c.child_wait_time == 9)
case("", "linkbeat_use_polling", lambda c: c.linkbeat_use_polling)
case("", "global_defs {\n router_id r1\n}", lambda c: gd(c).router_id == "r1")
case(
    "",
    "pykeepalived {\n lb_backend nftables\n}",
    lambda c: c.pykeepalived.lb_backend is LbBackend.NFTABLES,
)
case(
    "",
    "static_ipaddress {\n 192.0.2.1/24 dev eth1 scope link\n}",
    lambda c: (
        c.static_ipaddress[0].address == "192.0.2.1/24" and c.static_ipaddress[0].scope == "link"
    ),
)
case(
    "",
    "static_routes {\n 192.0.2.0/24 via 10.0.0.254 dev eth0\n}",
    lambda c: c.static_routes[0].via == "10.0.0.254",
)
case(
    "",
    "static_rules {\n from 192.0.2.0/24 table 100 preference 10\n}",
    lambda c: c.static_rules[0].table == "100" and c.static_rules[0].priority == 10,
)
case(
    "",
    "track_group TG {\n group {\n VI_1\n }\n}\n" + INST.replace("@@", ""),
    lambda c: c.track_groups[0].group == ("VI_1",),
)
case("", 'vrrp_script s9 {\n script "/bin/true"\n}', lambda c: c.vrrp_script("s9") is not None)
case("", "track_file tf9 {\n file /tmp/x\n}", lambda c: any(t.name == "tf9" for t in c.track_files))
case(
    "",
    "vrrp_track_file tf8 {\n file /tmp/x\n}",
    lambda c: any(t.name == "tf8" for t in c.track_files),
)
case(
    "",
    "vrrp_track_process tp9 {\n process foo\n}",
    lambda c: any(t.name == "tp9" for t in c.track_processes),
)
case(
    "",
    "bfd_instance b9 {\n neighbor_ip 10.0.0.7\n}",
    lambda c: any(b.name == "b9" for b in c.bfd_instances),
)
case("", INST.replace("@@", ""), lambda c: inst(c).virtual_router_id == 51)
case(
    "",
    INST.replace("@@", "")
    + INST.replace("VI_1", "VI_2").replace("51", "52").replace("@@", "")
    + "vrrp_sync_group G {\n group {\n VI_1\n VI_2\n }\n}",
    lambda c: c.vrrp_sync_groups[0].group == ("VI_1", "VI_2") and inst(c).sync_group == "G",
)
case(
    "",
    "garp_group {\n garp_interval 0.5\n interface eth0\n}",
    lambda c: c.garp_groups[0].garp_interval == 0.5,
)
case("", "linkbeat_interfaces {\n eth0 MII\n}", lambda c: c.linkbeat_interfaces[0].method == "MII")
case(
    "",
    "interface_up_down_delays {\n eth0 2 1\n}",
    lambda c: (
        (c.interface_up_down_delays[0].down_delay, c.interface_up_down_delays[0].up_delay) == (2, 1)
    ),
)
case("", "SSL {\n ca /etc/ca.pem\n}", lambda c: c.ssl is not None and c.ssl.ca == "/etc/ca.pem")
case(
    "",
    "virtual_server_group G1 {\n 10.0.0.1 80\n}\n"
    "virtual_server group G1 {\n lvs_sched rr\n lvs_method NAT\n"
    " protocol TCP\n real_server 10.0.0.2 80 {\n }\n}",
    lambda c: (
        c.virtual_server_groups[0].addresses[0].start == "10.0.0.1" and vs(c).key == "group:G1"
    ),
)
case(
    "",
    VS_HEAD + " real_server 10.0.0.2 80 {\n }\n}",
    lambda c: vs(c).key == "10.0.0.1:80" and rs(c).key == "10.0.0.2:80",
)

# ---------------------------------------------------------------- global_defs
G = "global_defs"
case(G, "process_names", lambda c: gd(c).process_names)
for _k in ("process_name", "vrrp_process_name", "checker_process_name", "bfd_process_name"):
    case(G, f"{_k} kaname", lambda c, k=_k: getattr(gd(c), k) == "kaname")
case(G, "lvs_process_name lvsname", lambda c: gd(c).checker_process_name == "lvsname")
case(G, "use_symlink_paths", lambda c: gd(c).use_symlink_paths)
case(G, "set_supplementary_groups yes", lambda c: gd(c).set_supplementary_groups)
case(
    G,
    "script_user nobody nogroup",
    lambda c: (gd(c).script_user, gd(c).script_group) == ("nobody", "nogroup"),
)
case(G, "enable_script_security", lambda c: gd(c).enable_script_security)
case(
    G,
    'startup_script "/bin/echo up" nobody',
    lambda c: gd(c).startup_script.argv == ("/bin/echo", "up"),
)
case(G, "startup_script_timeout 20", lambda c: gd(c).startup_script_timeout == 20.0)
case(G, "shutdown_script /bin/true", lambda c: gd(c).shutdown_script.argv == ("/bin/true",))
case(G, "shutdown_script_timeout 30", lambda c: gd(c).shutdown_script_timeout == 30.0)
case(G, "max_auto_priority", lambda c: gd(c).max_auto_priority == 99)
case(G, "min_auto_priority_delay 5000", lambda c: gd(c).min_auto_priority_delay == 5000)
for _p in ("vrrp", "checker", "bfd"):
    case(G, f"{_p}_priority -5", lambda c, p=_p: getattr(gd(c), f"{p}_priority") == -5)
    case(G, f"{_p}_no_swap", lambda c, p=_p: getattr(gd(c), f"{p}_no_swap"))
    case(G, f"{_p}_rt_priority 50", lambda c, p=_p: getattr(gd(c), f"{p}_rt_priority") == 50)
    case(G, f"{_p}_cpu_affinity 0 1", lambda c, p=_p: getattr(gd(c), f"{p}_cpu_affinity") == (0, 1))
    case(G, f"{_p}_rlimit_rttime 1", lambda c, p=_p: getattr(gd(c), f"{p}_rlimit_rttime") == 2)
    case(G, f"{_p}_rlimit_rtime 7000", lambda c, p=_p: getattr(gd(c), f"{p}_rlimit_rttime") == 7000)
case(G, "umask IWGRP|IWOTH", lambda c: gd(c).umask == 0o022)
case(G, "random_seed 42", lambda c: gd(c).random_seed == 42)
case(G, "router_id lb-1", lambda c: gd(c).router_id == "lb-1")
case(
    G,
    'notification_email {\n a@example.org\n "Ops <ops@example.org>"\n}',
    lambda c: gd(c).notification_email == ("a@example.org", "Ops <ops@example.org>"),
)
case(
    G,
    "notification_email_from ka@example.org",
    lambda c: gd(c).notification_email_from == "ka@example.org",
)
case(
    G,
    "smtp_server 127.0.0.1 2525",
    lambda c: (gd(c).smtp_server, gd(c).smtp_port) == ("127.0.0.1", 2525),
)
case(G, "smtp_helo_name me.example.org", lambda c: gd(c).smtp_helo_name == "me.example.org")
case(G, "smtp_connect_timeout 0", lambda c: gd(c).smtp_connect_timeout == 1.0)
for _k in ("smtp_alert", "smtp_alert_vrrp", "smtp_alert_checker"):
    case(G, f"{_k} off", lambda c, k=_k: getattr(gd(c), k) is False)
case(G, "no_email_faults", lambda c: gd(c).no_email_faults)
case(G, "checker_log_all_failures", lambda c: gd(c).checker_log_all_failures)
case(G, "no_checker_emails true", lambda c: gd(c).no_checker_emails)
case(G, "rs_init_notifies", lambda c: gd(c).rs_init_notifies)
for _k in ("notify_fifo", "vrrp_notify_fifo", "lvs_notify_fifo"):
    case(G, f"{_k} /run/ka.fifo root", lambda c, k=_k: getattr(gd(c), k).path == "/run/ka.fifo")
    case(
        G,
        f'{_k}_script "/bin/cat -u"',
        lambda c, k=_k: getattr(gd(c), f"{k}_script").argv == ("/bin/cat", "-u"),
    )
case(G, "vrrp_notify_priority_changes", lambda c: gd(c).vrrp_notify_priority_changes)
case(G, "fifo_write_vrrp_states_on_reload", lambda c: gd(c).fifo_write_vrrp_states_on_reload)
case(G, "vrrp_version 3", lambda c: gd(c).vrrp_version == 3)
case(G, "vrrp_mcast_group4 224.0.0.19", lambda c: gd(c).vrrp_mcast_group4 == "224.0.0.19")
case(G, "vrrp_mcast_group6 ff02::13", lambda c: gd(c).vrrp_mcast_group6 == "ff02::13")
case(G, "default_interface eth1", lambda c: gd(c).default_interface == "eth1")
case(G, "vrrp_garp_master_delay 3", lambda c: gd(c).vrrp_garp_master_delay == 3.0)
case(G, "vrrp_garp_master_repeat 3", lambda c: gd(c).vrrp_garp_master_repeat == 3)
case(G, "vrrp_garp_master_refresh 60", lambda c: gd(c).vrrp_garp_master_refresh == 60.0)
case(G, "vrrp_garp_master_refresh_repeat 2", lambda c: gd(c).vrrp_garp_master_refresh_repeat == 2)
case(G, "vrrp_garp_lower_prio_delay 1", lambda c: gd(c).vrrp_garp_lower_prio_delay == 1.0)
case(G, "vrrp_garp_lower_prio_repeat 2", lambda c: gd(c).vrrp_garp_lower_prio_repeat == 2)
case(G, "vrrp_garp_interval 0.001", lambda c: gd(c).vrrp_garp_interval == 0.001)
case(G, "vrrp_gna_interval 0.002", lambda c: gd(c).vrrp_gna_interval == 0.002)
case(G, "vrrp_min_garp", lambda c: gd(c).vrrp_min_garp)
case(
    G,
    "vrrp_garp_extra_if all 30",
    lambda c: (gd(c).vrrp_garp_extra_if, gd(c).vrrp_garp_extra_if_all) == (30.0, True),
)
case(G, "vrrp_vmac_garp_intvl 20", lambda c: gd(c).vrrp_garp_extra_if == 20.0)
case(G, "vrrp_down_timer_adverts 5", lambda c: gd(c).vrrp_down_timer_adverts == 5)
case(G, "vrrp_lower_prio_no_advert", lambda c: gd(c).vrrp_lower_prio_no_advert is True)
case(G, "vrrp_higher_prio_send_advert yes", lambda c: gd(c).vrrp_higher_prio_send_advert is True)
case(G, "v3_checksum_as_v2", lambda c: gd(c).v3_checksum_as_v2)
case(G, "vrrp_check_unicast_src", lambda c: gd(c).vrrp_check_unicast_src)
case(G, "vrrp_skip_check_adv_addr", lambda c: gd(c).vrrp_skip_check_adv_addr)
case(G, "vrrp_strict", lambda c: gd(c).vrrp_strict)
case(G, "vrrp_owner_ignore_adverts", lambda c: gd(c).vrrp_owner_ignore_adverts is True)
case(G, "vrrp_startup_delay 2.5", lambda c: gd(c).vrrp_startup_delay == 2.5)
case(G, "vrrp_delay_after_boot 30", lambda c: gd(c).vrrp_delay_after_boot == 30.0)
case(G, "dynamic_interfaces allow_if_changes", lambda c: gd(c).dynamic_interfaces_allow_if_changes)
case(G, "disable_local_igmp", lambda c: gd(c).disable_local_igmp)
case(G, "log_unknown_vrids", lambda c: gd(c).log_unknown_vrids)
case(G, "vmac_prefix vm", lambda c: gd(c).vmac_prefix == "vm")
case(G, "vmac_addr_prefix va", lambda c: gd(c).vmac_addr_prefix == "va")
case(G, "vrrp_rx_bufs_policy mtu", lambda c: gd(c).vrrp_rx_bufs_policy == "MTU")
case(G, "vrrp_rx_bufs_multiplier 4", lambda c: gd(c).vrrp_rx_bufs_multiplier == 4)
for _k in ("vrrp_netlink_cmd_rcv_bufs", "vrrp_netlink_monitor_rcv_bufs", "process_monitor_rcv_bufs",
           "lvs_netlink_cmd_rcv_bufs", "lvs_netlink_monitor_rcv_bufs"):  # fmt: skip
    case(G, f"{_k} 1048576", lambda c, k=_k: getattr(gd(c), k) == 1048576)
    case(G, f"{_k}_force", lambda c, k=_k: getattr(gd(c), f"{k}_force"))
case(G, "iproute_usr_dir /usr/lib/iproute2", lambda c: gd(c).iproute_usr_dir == "/usr/lib/iproute2")
case(G, "iproute_etc_dir /etc/iproute2", lambda c: gd(c).iproute_etc_dir == "/etc/iproute2")
case(G, "vrrp_iptables IN OUT", lambda c: gd(c).vrrp_iptables == ("IN", "OUT"))
case(G, "vrrp_ipsets a b", lambda c: gd(c).vrrp_ipsets == ("a", "b"))
case(G, "nftables", lambda c: gd(c).nftables == "keepalived")
case(G, "nftables_priority -5", lambda c: gd(c).nftables_priority == -5)
case(G, "nftables_ifindex", lambda c: gd(c).nftables_ifindex)
case(G, "nftables_counters", lambda c: gd(c).nftables_counters)
case(G, "nftables_ipvs ka_ipvs", lambda c: gd(c).nftables_ipvs == "ka_ipvs")
case(G, "nftables_ipvs_priority 3", lambda c: gd(c).nftables_ipvs_priority == 3)
case(G, "nftables_ipvs_start_fwmark 5000", lambda c: gd(c).nftables_ipvs_start_fwmark == 5000)
case(
    G,
    "lvs_timeouts tcp 900 udp 60",
    lambda c: (gd(c).lvs_timeouts_tcp, gd(c).lvs_timeouts_udp) == (900, 60),
)
case(G, "lvs_flush", lambda c: gd(c).lvs_flush)
case(G, "lvs_flush_on_stop VS", lambda c: gd(c).lvs_flush_on_stop == "VS")
case(G, "lvs_flush_onstop", lambda c: gd(c).lvs_flush_on_stop == "all")
case(
    G,
    "lvs_sync_daemon eth0 inst VI_1 id 3 port 8848 ttl 2 group 224.0.0.81",
    lambda c: (
        (gd(c).lvs_sync_daemon.instance, gd(c).lvs_sync_daemon.id, gd(c).lvs_sync_daemon.group)
        == ("VI_1", 3, "224.0.0.81")
    ),
)
case(G, "snmp_socket tcp:localhost:705", lambda c: gd(c).snmp_socket == "tcp:localhost:705")
for _k in ("enable_traps", "enable_snmp_vrrp", "enable_snmp_checker", "enable_snmp_rfc",
           "enable_snmp_rfcv2", "enable_snmp_rfcv3", "enable_dbus"):  # fmt: skip
    case(G, _k, lambda c, k=_k: getattr(gd(c), k))
case(G, "enable_snmp_keepalived", lambda c: gd(c).enable_snmp_vrrp)
case(G, "snmp_vs_stats_update_interval 2", lambda c: gd(c).snmp_vs_stats_update_interval == 2.0)
case(G, "snmp_rs_stats_update_interval 1", lambda c: gd(c).snmp_rs_stats_update_interval == 1.0)
case(G, "dbus_service_name org.x.Vrrp", lambda c: gd(c).dbus_service_name == "org.x.Vrrp")
case(G, "dbus_no_interface_name noif", lambda c: gd(c).dbus_no_interface_name == "noif")
case(G, "json_version 2", lambda c: gd(c).json_version == 2)
case(G, "tmp_config_directory /run/x", lambda c: gd(c).tmp_config_directory == "/run/x")
case(G, "config_save_dir /var/tmp", lambda c: gd(c).config_save_dir == "/var/tmp")
case(G, "include_check readable +match", lambda c: gd(c).include_check == ("match", "readable"))
case(G, "reload_check_config", lambda c: gd(c).reload_check_config == "/dev/null")
case(G, "reload_time_file /run/rt", lambda c: gd(c).reload_time_file == "/run/rt")
case(G, "reload_repeat", lambda c: gd(c).reload_repeat)
case(G, "reload_file /run/ka.reload", lambda c: gd(c).reload_file == "/run/ka.reload")
case(G, "data_use_instance", lambda c: gd(c).data_use_instance)
case(G, "state_dump_file /tmp/d/", lambda c: gd(c).state_dump_file == "/tmp/d/")
case(G, "stats_dump_file /tmp/s", lambda c: gd(c).stats_dump_file == "/tmp/s")
case(G, "json_dump_file /tmp/j", lambda c: gd(c).json_dump_file == "/tmp/j")

# ---------------------------------------------------------------- pykeepalived
P = "pykeepalived"
case(P, "lb_backend dry-run", lambda c: c.pykeepalived.lb_backend is LbBackend.DRY_RUN)
case(
    P,
    "event_tap tcp://127.0.0.1:5556",
    lambda c: c.pykeepalived.event_tap == "tcp://127.0.0.1:5556",
)
case(P, "metrics 127.0.0.1:9650", lambda c: c.pykeepalived.metrics == "127.0.0.1:9650")
case(P, "watchdog_interval 0.5", lambda c: c.pykeepalived.watchdog_interval == 0.5)

# ---------------------------------------------------------------- trackers
case("track_group", "group {\n VI_1\n}", lambda c: c.track_groups[0].name == "TG")
S = "vrrp_script"


def script2(c: Config) -> Any:
    return c.vrrp_script("s2")


case(
    S,
    "script \"/bin/test -f '/tmp/a b'\"",
    lambda c: script2(c).script.argv == ("/bin/test", "-f", "/tmp/a b"),
)
case(S, "interval 2", lambda c: script2(c).interval == 2.0 and script2(c).timeout == 2.0)
case(S, "timeout 3", lambda c: script2(c).timeout == 3.0)
case(S, "weight -20 reverse", lambda c: (script2(c).weight, script2(c).reverse) == (-20, True))
case(S, "rise 3", lambda c: script2(c).rise == 3)
case(S, "fall 4", lambda c: script2(c).fall == 4)
case(
    S,
    "user nobody nogroup",
    lambda c: (script2(c).script.user, script2(c).script.group) == ("nobody", "nogroup"),
)
case(S, "init_fail", lambda c: script2(c).init_fail)


def tf2(c: Config) -> Any:
    return next(t for t in c.track_files if t.name == "tf2")


case("track_file", "file /tmp/other", lambda c: tf2(c).file == "/tmp/other")
case("track_file", "weight -3 reverse", lambda c: (tf2(c).weight, tf2(c).reverse) == (-3, True))
case(
    "track_file",
    "init_file 7 overwrite",
    lambda c: (tf2(c).init_value, tf2(c).init_overwrite) == (7, True),
)


def tp2(c: Config) -> Any:
    return next(t for t in c.track_processes if t.name == "tp2")


T = "vrrp_track_process"
case(
    T,
    "process nginx -g daemon",
    lambda c: (tp2(c).process, tp2(c).params) == ("nginx", ("-g", "daemon")),
)
case(T, "param_match partial", lambda c: tp2(c).param_match == "partial" and tp2(c).full_command)
case(T, "weight 10", lambda c: tp2(c).weight == 10)
case(T, "quorum 2", lambda c: tp2(c).quorum == 2)
case(T, "quorum_max 4", lambda c: tp2(c).quorum_max == 4)
case(T, "delay 1.5", lambda c: tp2(c).fork_delay == tp2(c).terminate_delay == 1.5)
case(T, "terminate_delay 2", lambda c: tp2(c).terminate_delay == 2.0)
case(T, "fork_delay 3", lambda c: tp2(c).fork_delay == 3.0)
case(T, "full_command", lambda c: tp2(c).full_command)


def b2(c: Config) -> Any:
    return next(b for b in c.bfd_instances if b.name == "b2")


B = "bfd_instance"
case(B, "neighbor_ip 10.0.0.6", lambda c: b2(c).neighbor_ip == "10.0.0.6")
case(B, "neighbour_ip 10.0.0.5", lambda c: b2(c).neighbor_ip == "10.0.0.5")
case(B, "source_ip 10.0.0.4", lambda c: b2(c).source_ip == "10.0.0.4")
case(B, "min_rx 50", lambda c: b2(c).min_rx_ms == 50)
case(B, "min_tx 40", lambda c: b2(c).min_tx_ms == 40)
case(B, "idle_tx 2000", lambda c: b2(c).idle_tx_ms == 2000)
case(B, "multiplier 3", lambda c: b2(c).multiplier == 3)
case(B, "passive", lambda c: b2(c).passive)
case(B, "ttl 64", lambda c: b2(c).ttl == 64)
case(B, "hoplimit 10", lambda c: b2(c).ttl == 10)
case(B, "max_hops 2", lambda c: b2(c).max_hops == 2)
case(B, "multihop", lambda c: b2(c).multihop)
case(B, "weight -30", lambda c: b2(c).weight == -30)
case(B, "vrrp", lambda c: b2(c).vrrp and not b2(c).checker)
case(B, "checker", lambda c: b2(c).checker and not b2(c).vrrp)

# ---------------------------------------------------------------- vrrp_instance
I = "vrrp_instance"  # noqa: E741
case(I, "state MASTER", lambda c: inst(c).state is VrrpState.MASTER and inst(c).priority == 255)
case(I, "interface eth1", lambda c: inst(c).interface == "eth1")
case(I, "vrf red", lambda c: inst(c).vrf == "red")
case(I, "virtual_router_id 7", lambda c: inst(c).virtual_router_id == 7)
case(I, "priority 150", lambda c: inst(c).priority == 150)
case(I, "advert_int 3", lambda c: inst(c).advert_int == 3.0)
case(I, "version 3\nadvert_int 0.25", lambda c: (inst(c).version, inst(c).advert_int) == (3, 0.25))
case(I, "native_ipv6", lambda c: inst(c).family is Family.INET6, "invalid-address", "missing")
case(I, "mcast_src_ip 10.0.0.3", lambda c: inst(c).mcast_src_ip == "10.0.0.3")
case(
    I,
    "unicast_src_ip 10.0.0.3\nunicast_peer {\n 10.0.0.4\n}",
    lambda c: inst(c).unicast and inst(c).unicast_src_ip == "10.0.0.3",
)
case(I, "mcast_dst_ip 224.0.0.20", lambda c: inst(c).mcast_dst_ip == "224.0.0.20")
case(I, "track_src_ip", lambda c: inst(c).track_src_ip)
case(I, "unicast_ttl 5\nunicast_peer {\n 10.0.0.4\n}", lambda c: inst(c).unicast_ttl == 5)
case(I, "unicast_fault_no_peer", lambda c: inst(c).unicast_fault_no_peer)
case(I, "check_unicast_src", lambda c: inst(c).check_unicast_src)
case(I, "old_unicast_checksum never", lambda c: inst(c).old_unicast_checksum == "never")
case(I, "v3_checksum_as_v2", lambda c: inst(c).v3_checksum_as_v2)
case(I, "dont_track_primary", lambda c: inst(c).dont_track_primary)
case(I, "nopreempt", lambda c: inst(c).nopreempt)
case(I, "nopreempt\npreempt", lambda c: not inst(c).nopreempt)
case(I, "preempt_delay 30", lambda c: inst(c).preempt_delay == 30.0)
case(I, "strict_mode\nversion 3\naccept", lambda c: inst(c).strict_mode and inst(c).accept)
case(I, "no_accept", lambda c: not inst(c).accept)
case(I, "skip_check_adv_addr off", lambda c: inst(c).skip_check_adv_addr)
case(I, "strict_mode on", lambda c: inst(c).strict_mode and not inst(c).accept)
case(I, "lower_prio_no_advert", lambda c: inst(c).lower_prio_no_advert)
case(I, "higher_prio_send_advert", lambda c: inst(c).higher_prio_send_advert)
case(I, "priority 255\nowner_ignore_adverts", lambda c: inst(c).owner_ignore_adverts)
case(I, "garp_master_delay 2", lambda c: inst(c).garp_master_delay == 2.0)
case(I, "garp_master_repeat 3", lambda c: inst(c).garp_master_repeat == 3)
case(I, "garp_master_refresh 60", lambda c: inst(c).garp_master_refresh == 60.0)
case(I, "garp_master_refresh_repeat 2", lambda c: inst(c).garp_master_refresh_repeat == 2)
case(I, "garp_lower_prio_delay 1", lambda c: inst(c).garp_lower_prio_delay == 1.0)
case(I, "garp_lower_prio_repeat 1", lambda c: inst(c).garp_lower_prio_repeat == 1)
case(I, "garp_extra_if 30", lambda c: inst(c).garp_extra_if == 30.0)
case(I, "vmac_garp_intvl 20", lambda c: inst(c).garp_extra_if == 20.0, "deprecated")
case(I, "down_timer_adverts 5", lambda c: inst(c).down_timer_adverts == 5)
case(I, "nopreempt\ntimer_expired_backup", lambda c: inst(c).timer_expired_backup == 254)
case(I, "thread_timer_expired 200", lambda c: inst(c).timer_expired_backup == 200)
case(
    I,
    "use_vmac vrrp51",
    lambda c: inst(c).use_vmac.name == "vrrp51" and inst(c).use_vmac.mac == "00:00:5e:00:01:33",
)
case(I, "use_vmac\nuse_vmac_addr", lambda c: inst(c).use_vmac_addr)
case(I, "vmac_xmit_base", lambda c: inst(c).vmac_xmit_base)
case(I, "use_ipvlan ipv1 10.0.0.20/24 private", lambda c: inst(c).use_ipvlan.mode == "private")
case(I, "promote_secondaries", lambda c: inst(c).promote_secondaries)
case(I, "no_virtual_ipaddress", lambda c: inst(c).no_virtual_ipaddress)
for _k in (
    "notify_master",
    "notify_backup",
    "notify_fault",
    "notify_stop",
    "notify",
    "notify_master_rx_lower_pri",
):
    case(
        I,
        f"{_k} \"/bin/logger -t ka 'a b'\"",
        lambda c, k=_k: getattr(inst(c), k).argv == ("/bin/logger", "-t", "ka", "a b"),
    )
case(
    I,
    "notify_deleted /bin/true",
    lambda c: inst(c).notify_deleted and inst(c).notify_deleted_script.argv == ("/bin/true",),
)
case(I, "notify_priority_changes", lambda c: inst(c).notify_priority_changes)
case(I, "smtp_alert", lambda c: inst(c).smtp_alert)
case(I, "debug 2", lambda c: inst(c).debug == 2)
case(I, "kernel_rx_buf_size 65536", lambda c: inst(c).kernel_rx_buf_size == 65536)
case(I, "linkbeat_use_polling", lambda c: inst(c).name == "VI_1", "deprecated")
case(
    I,
    "lvs_sync_daemon_interface eth0",
    lambda c: inst(c).lvs_sync_daemon_interface == "eth0",
    "deprecated",
)
case(
    I,
    "virtual_ipaddress {\n 10.0.0.2/24 dev eth1 label eth1:1 no_track\n}",
    lambda c: any(v.label == "eth1:1" and v.no_track for v in inst(c).virtual_ipaddress),
)
case(
    I,
    "virtual_ipaddress_excluded {\n 2001:db8::5/64\n}",
    lambda c: inst(c).virtual_ipaddress_excluded[0].family is Family.INET6,
)
case(
    I,
    "virtual_routes {\n 192.0.2.0/24 via 10.0.0.254 dev eth0 metric 5\n}",
    lambda c: inst(c).virtual_routes[0].metric == 5,
)
case(
    I,
    "virtual_rules {\n to 192.0.2.0/24 table 7 priority 100\n}",
    lambda c: inst(c).virtual_rules[0].to == "192.0.2.0/24",
)
case(
    I,
    "unicast_peer {\n 10.0.0.4 min_ttl 250 max_ttl 255\n 10.0.0.5\n}",
    lambda c: (
        [p.address for p in inst(c).unicast_peers] == ["10.0.0.4", "10.0.0.5"]
        and inst(c).unicast_peers[0].min_ttl == 250
    ),
)
case(
    I,
    "authentication {\n auth_type PASS\n auth_pass s3cret\n}",
    lambda c: inst(c).auth_type is AuthType.PASS,
)
case(
    I,
    "auth_hmac {\n key 1 0123456789abcdef0123456789abcdef\n active_key 1\n}",
    lambda c: inst(c).auth_hmac.active_key == 1,
)
case(
    I, "track_interface {\n eth1 weight -20\n}", lambda c: inst(c).track_interface[0].weight == -20
)
case(I, "track_script {\n chk weight 10\n}", lambda c: inst(c).track_script[0].name == "chk")
case(I, "track_file {\n tf weight 2 reverse\n}", lambda c: inst(c).track_file[0].reverse)
case(I, "track_process {\n tp\n}", lambda c: inst(c).track_process[0].name == "tp")
case(I, "track_bfd {\n bfd1 weight -5\n}", lambda c: inst(c).track_bfd[0].weight == -5)
A = "vrrp_instance/authentication"
case(A, "auth_type AH\nauth_pass x", lambda c: inst(c).auth_type is AuthType.AH)
case(A, "auth_type PASS\nauth_pass abc", lambda c: inst(c).auth_pass == "abc")
H = "vrrp_instance/auth_hmac"
case(
    H,
    "key 2 hex:00112233445566778899aabbccddeeff\nactive_key 2",
    lambda c: len(inst(c).auth_hmac.keys) == 2,
)
case(H, "active_key 1", lambda c: inst(c).auth_hmac.active_key == 1)
case(
    H, "active_key 1\nanti_replay monotonic", lambda c: inst(c).auth_hmac.anti_replay == "monotonic"
)
case(H, "active_key 1\ntime_window 10", lambda c: inst(c).auth_hmac.time_window == 10)
case(H, "active_key 1\nmode permissive", lambda c: inst(c).auth_hmac.mode == "permissive")

# ---------------------------------------------------------------- vrrp_sync_group
SG = "vrrp_sync_group"


def sg(c: Config) -> Any:
    return c.vrrp_sync_groups[0]


case(SG, "group {\n VI_1\n}", lambda c: sg(c).group == ("VI_1", "VI_2"), "duplicate")
case(SG, "track_interface {\n eth1\n}", lambda c: sg(c).track_interface[0].name == "eth1")
case(SG, "track_script {\n chk\n}", lambda c: sg(c).track_script[0].name == "chk")
case(SG, "track_file {\n tf\n}", lambda c: sg(c).track_file[0].name == "tf")
case(SG, "track_process {\n tp\n}", lambda c: sg(c).track_process[0].name == "tp")
case(SG, "track_bfd {\n bfd1\n}", lambda c: sg(c).track_bfd[0].name == "bfd1")
for _k in ("notify_master", "notify_backup", "notify_fault", "notify_stop", "notify"):
    case(SG, f'{_k} "/bin/echo {_k}"', lambda c, k=_k: getattr(sg(c), k).argv == ("/bin/echo", k))
case(SG, "smtp_alert", lambda c: sg(c).smtp_alert)
case(
    SG,
    "notify_priority_changes",
    lambda c: sg(c).notify_priority_changes and inst(c).notify_priority_changes,
)
case(SG, "sync_group_tracking_weight", lambda c: sg(c).sync_group_tracking_weight)
case(SG, "global_tracking", lambda c: sg(c).sync_group_tracking_weight, "deprecated")

# ---------------------------------------------------------------- garp_group
case("garp_group", "garp_interval 0.01", lambda c: c.garp_groups[0].garp_interval == 0.01)
case("garp_group", "gna_interval 0.02", lambda c: c.garp_groups[0].gna_interval == 0.02)
case(
    "garp_group",
    "garp_interval 1\ninterface eth1",
    lambda c: c.garp_groups[0].interfaces == ("eth0", "eth1"),
)
case(
    "garp_group",
    "garp_interval 1\ninterfaces {\n eth1\n eth2\n}",
    lambda c: c.garp_groups[0].interfaces == ("eth0", "eth1", "eth2"),
)

# ---------------------------------------------------------------- SSL
for _k in ("password", "ca", "certificate", "key"):
    case("SSL", f"{_k} /etc/ssl/{_k}", lambda c, k=_k: getattr(c.ssl, k) == f"/etc/ssl/{k}")

# ---------------------------------------------------------------- virtual_server
V = "virtual_server"
case(V, "lvs_sched wrr", lambda c: vs(c).lvs_sched == "wrr")
case(
    V,
    "lb_algo sh\nsh-port",
    lambda c: vs(c).lvs_sched == "sh" and vs(c).sched_flags == ("sh-port",),
)
case(
    V,
    "lvs_method DR",
    lambda c: vs(c).lvs_method is LvsMethod.DR and rs(c).lvs_method is LvsMethod.DR,
)
case(
    V,
    "lb_kind TUN type gue port 6080",
    lambda c: vs(c).lvs_method is LvsMethod.TUN and vs(c).tunnel.port == 6080,
)
case(V, "protocol udp", lambda c: vs(c).protocol is Protocol.UDP)
case(V, "persistence_timeout", lambda c: vs(c).persistence_timeout == 360)
case(
    V,
    "persistence_granularity 255.255.255.0",
    lambda c: vs(c).persistence_granularity == "255.255.255.0",
)
case(V, "persistence_engine sip", lambda c: vs(c).persistence_engine == "sip")
case(V, "ops", lambda c: vs(c).ops)
for _f in ("flag-1", "flag-2", "flag-3"):
    case(V, _f, lambda c, f=_f: vs(c).sched_flags == (f,))
case(V, "lvs_sched sh\nsh-fallback", lambda c: vs(c).sched_flags == ("sh-fallback",))
case(V, "lvs_sched mh\nmh-port", lambda c: vs(c).sched_flags == ("mh-port",))
case(V, "lvs_sched mh\nmh-fallback", lambda c: vs(c).sched_flags == ("mh-fallback",))
case(V, "hashed", lambda c: vs(c).key == "10.0.0.1:80")
case(V, "ip_family inet", lambda c: vs(c).ip_family is Family.INET)
case(V, "ha_suspend", lambda c: vs(c).ha_suspend)
case(V, "omega", lambda c: vs(c).omega)
case(V, "weight 5\nquorum 3", lambda c: vs(c).quorum == 3)
case(V, "weight 5\nquorum 3\nhysteresis 1", lambda c: vs(c).hysteresis == 1)
case(V, 'quorum_up "/bin/echo up"', lambda c: vs(c).quorum_up.argv == ("/bin/echo", "up"))
case(V, "quorum_down /bin/true", lambda c: vs(c).quorum_down.argv == ("/bin/true",))
case(V, "sorry_server 10.0.0.9 8080", lambda c: vs(c).sorry_server.key == "10.0.0.9:8080")
case(
    V,
    "sorry_server 10.0.0.9\nsorry_server_inhibit",
    lambda c: vs(c).sorry_server.inhibit and vs(c).sorry_server.port == 80,
)
case(
    V,
    "sorry_server 10.0.0.9 80\nsorry_server_lvs_method DR",
    lambda c: vs(c).sorry_server.lvs_method is LvsMethod.DR,
)
case(V, "weight 5", lambda c: rs(c).weight == 5)
case(V, "delay_loop 10", lambda c: vs(c).delay_loop == 10.0 and chk(c).delay_loop == 10.0)
case(V, "retry 4", lambda c: chk(c).retry == 4)
case(V, "delay_before_retry 2", lambda c: chk(c).delay_before_retry == 2.0)
case(V, "warmup 0", lambda c: chk(c).warmup == 0.0)
case(V, "connect_timeout 2", lambda c: chk(c).connect_timeout == 2.0)
case(V, "smtp_alert", lambda c: vs(c).smtp_alert)
case(V, "virtualhost www.example.org", lambda c: rs(c).virtualhost == "www.example.org")
case(V, "snmp_name web", lambda c: vs(c).snmp_name == "web")
case(V, "alpha", lambda c: vs(c).alpha and chk(c).alpha)
case(V, "inhibit_on_failure", lambda c: rs(c).inhibit_on_failure)
case(
    V,
    "real_server 10.0.0.3 8080 {\n}",
    lambda c: any(r.key == "10.0.0.3:8080" for r in vs(c).real_servers),
)
R = "virtual_server/real_server"
case(R, "weight 0", lambda c: rs(c).weight == 0, "semantic")
case(R, "lvs_method TUN", lambda c: rs(c).lvs_method is LvsMethod.TUN)
case(R, 'notify_up "/bin/echo up"', lambda c: rs(c).notify_up.argv == ("/bin/echo", "up"))
case(R, "notify_down /bin/true", lambda c: rs(c).notify_down.argv == ("/bin/true",))
case(R, "uthreshold 100", lambda c: rs(c).uthreshold == 100)
case(R, "lthreshold 10", lambda c: rs(c).lthreshold == 10)
case(R, "delay_loop 3\nTCP_CHECK {\n}", lambda c: chk(c).delay_loop == 3.0)
case(R, "retry 5\nTCP_CHECK {\n}", lambda c: chk(c).retry == 5)
case(R, "delay_before_retry 4\nTCP_CHECK {\n}", lambda c: chk(c).delay_before_retry == 4.0)
case(R, "warmup 1\nTCP_CHECK {\n}", lambda c: chk(c).warmup == 1.0)
case(R, "connect_timeout 1\nTCP_CHECK {\n}", lambda c: chk(c).connect_timeout == 1.0)
case(R, "smtp_alert no", lambda c: rs(c).smtp_alert is False)
case(R, "virtualhost h.example", lambda c: rs(c).virtualhost == "h.example")
case(R, "snmp_name rs1", lambda c: rs(c).snmp_name == "rs1")
case(R, "alpha", lambda c: rs(c).alpha)
case(R, "inhibit_on_failure", lambda c: rs(c).inhibit_on_failure)
for _kind, _body in _CHECK_BODY.items():
    case(R, f"{_kind} {{\n{_body}}}", lambda c, k=_kind: chk(c).kind == k)

# ---------------------------------------------------------------- checkers: common options
_CONN = {
    "connect_ip": ("connect_ip 10.0.0.50", lambda c: chk(c).connect_ip == "10.0.0.50"),
    "connect_port": ("connect_port 8080", lambda c: chk(c).connect_port == 8080),
    "bindto": ("bindto 10.0.0.60", lambda c: chk(c).bindto == "10.0.0.60"),
    "bind_port": ("bind_port 5000", lambda c: chk(c).bind_port == 5000),
    "bind_if": ("bind_if eth1", lambda c: chk(c).bind_if == "eth1"),
    "connect_timeout": ("connect_timeout 0.5", lambda c: chk(c).connect_timeout == 0.5),
    "fwmark": ("fwmark 9", lambda c: chk(c).fwmark == 9),
}
_SCHED = {
    "retry": ("retry 7", lambda c: chk(c).retry == 7),
    "delay_before_retry": ("delay_before_retry 0.5", lambda c: chk(c).delay_before_retry == 0.5),
    "warmup": ("warmup 2", lambda c: chk(c).warmup == 2.0),
    "delay_loop": ("delay_loop 1.5", lambda c: chk(c).delay_loop == 1.5),
    "alpha": ("alpha", lambda c: chk(c).alpha),
    "log_all_failures": ("log_all_failures", lambda c: chk(c).log_all_failures),
}
for _kind in (
    "TCP_CHECK",
    "HTTP_GET",
    "SSL_GET",
    "SMTP_CHECK",
    "DNS_CHECK",
    "UDP_CHECK",
    "PING_CHECK",
):
    for _line, _check in _CONN.values():
        case(f"{R}/{_kind}", _line, _check)
for _kind in (
    "TCP_CHECK",
    "HTTP_GET",
    "SSL_GET",
    "SMTP_CHECK",
    "DNS_CHECK",
    "UDP_CHECK",
    "PING_CHECK",
    "MISC_CHECK",
):
    for _line, _check in _SCHED.values():
        case(f"{R}/{_kind}", _line, _check)
for _line, _check in _CONN.values():
    case(f"{R}/SMTP_CHECK/host", _line, _check, "obsolete")
case(f"{R}/BFD_CHECK", "alpha", lambda c: chk(c).alpha)

# ---------------------------------------------------------------- HTTP_GET / SSL_GET
for _kind in ("HTTP_GET", "SSL_GET"):
    C_ = f"{R}/{_kind}"
    case(C_, "url {\n path /health\n}", lambda c: [u.path for u in chk(c).urls] == ["/", "/health"])
    case(C_, "http_protocol 1.1", lambda c: chk(c).http_protocol == "1.1")
    case(C_, "virtualhost v.example", lambda c: chk(c).virtualhost == "v.example")
    case(C_, "fast_recovery", lambda c: chk(c).fast_recovery)
    case(C_, "enable_sni", lambda c: chk(c).enable_sni)
    case(C_, "sni_name s.example", lambda c: chk(c).sni_name == "s.example" and chk(c).enable_sni)
    case(C_, "nb_get_retry 2", lambda c: chk(c).retry == 2, "deprecated")
    U = f"{C_}/url"
    case(U, "path /other", lambda c: chk(c).urls[0].path == "/other")
    case(
        U,
        "digest 9b3a0c85a887a256d6939da88aabd8cd",
        lambda c: chk(c).urls[0].digest == "9b3a0c85a887a256d6939da88aabd8cd",
    )
    case(
        U,
        "status_code 200-299 400-499 503",
        lambda c: chk(c).urls[0].status_codes == ((200, 299), (400, 499), (503, 503)),
    )
    case(U, "virtualhost u.example", lambda c: chk(c).urls[0].virtualhost == "u.example")
    case(U, 'regex "^OK\\\\s"', lambda c: chk(c).urls[0].regex == "^OK\\s")
    case(U, "regex OK\nregex_no_match", lambda c: chk(c).urls[0].regex_no_match)
    case(
        U,
        "regex_options caseless multiline",
        lambda c: chk(c).urls[0].regex_options == ("caseless", "multiline"),
    )
    case(U, "regex_stack 32 64", lambda c: chk(c).urls[0].regex_stack == (32, 64))
    case(U, "regex_min_offset 4", lambda c: chk(c).urls[0].regex_min_offset == 4)
    case(U, "regex_max_offset 400", lambda c: chk(c).urls[0].regex_max_offset == 400)
case(f"{R}/SSL_GET", "tls_compliant", lambda c: chk(c).tls_compliant)
case(f"{R}/SSL_GET/url", "tls_compliant", lambda c: chk(c).urls[0].tls_compliant is True)

# ---------------------------------------------------------------- other checkers
M = f"{R}/MISC_CHECK"
case(
    M,
    'misc_path "/bin/test -d /tmp"',
    lambda c: chk(c).misc_path.argv == ("/bin/test", "-d", "/tmp"),
)
case(M, "misc_timeout 5", lambda c: chk(c).misc_timeout == 5.0)
case(M, "misc_dynamic", lambda c: chk(c).misc_dynamic)
case(M, "user nobody", lambda c: chk(c).misc_path.user == "nobody")
SM = f"{R}/SMTP_CHECK"
case(SM, 'helo_name "mx.example.org"', lambda c: chk(c).helo_name == "mx.example.org")
case(
    SM,
    "host {\n connect_ip 10.0.0.70\n}\nhost {\n connect_ip 10.0.0.71\n}",
    lambda c: [k.connect_ip for k in rs(c).checkers] == ["10.0.0.70", "10.0.0.71"],
    "obsolete",
)
case(f"{R}/DNS_CHECK", "type aaaa", lambda c: chk(c).type == "AAAA")
case(f"{R}/DNS_CHECK", "name www.example.org", lambda c: chk(c).name == "www.example.org")
UD = f"{R}/UDP_CHECK"
case(UD, "payload de ad BE EF", lambda c: chk(c).payload == "deadbeef")
case(UD, "require_reply 00x1", lambda c: chk(c).require_reply == "00x1")
case(UD, "min_reply_length 2", lambda c: chk(c).min_reply_length == 2)
case(UD, "max_reply_length 100", lambda c: chk(c).max_reply_length == 100)
case(f"{R}/FILE_CHECK", "track_file tf", lambda c: chk(c).track_file == "tf")
case(
    f"{R}/FILE_CHECK", "weight 20 reverse", lambda c: (chk(c).weight, chk(c).reverse) == (20, True)
)
case(f"{R}/BFD_CHECK", "name bfd1", lambda c: chk(c).name == "bfd1")


def render(path: str, line: str) -> str:
    return PRELUDE + TEMPLATES[path].replace("@@", line)


def _id(c: tuple[str, str, Check, tuple[str, ...]]) -> str:
    return f"{c[0] or 'root'}:{c[1].splitlines()[0]}"


@pytest.mark.parametrize("path,line,check,codes", CASES, ids=[_id(c) for c in CASES])
def test_keyword(path: str, line: str, check: Check, codes: tuple[str, ...]) -> None:
    r = parse(render(path, line))
    assert r.config is not None
    unexpected = [d.format() for d in r.diagnostics if not d.advisory and d.code not in codes]
    assert unexpected == []
    for code in codes:
        if code in ("deprecated", "obsolete"):
            assert any(d.code == code for d in r.diagnostics), code
    assert check(r.config)


def _block_of(path: str) -> BlockDef:
    b = root_block()
    for part in [p for p in path.split("/") if p]:
        nxt = b.keywords[part].block
        assert nxt is not None, path
        b = nxt
    return b


def test_every_keyword_has_a_case() -> None:
    covered: dict[int, set[str]] = {}
    for path, line, _, _ in CASES:
        block = _block_of(path)
        for text_line in line.splitlines():
            words = text_line.split()
            if words:
                covered.setdefault(id(block), set()).add(words[0])
    missing = []
    seen: set[int] = set()
    stack: list[tuple[str, BlockDef]] = [("", root_block())]
    while stack:
        path, b = stack.pop()
        if id(b) in seen:
            continue
        seen.add(id(b))
        for k, kw in b.keywords.items():
            if k not in covered.get(id(b), set()):
                missing.append(f"{path or 'root'}:{k}")
            if kw.block is not None:
                stack.append((f"{path}/{k}" if path else k, kw.block))
    assert missing == []
