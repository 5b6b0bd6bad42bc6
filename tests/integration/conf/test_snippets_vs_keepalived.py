"""Small configurations written for pykeepalived (each exercising one rule), checked
against Debian's ``keepalived -t`` in a namespace with ``eth0``: the same exit code.

Known, deliberate differences are tested separately at the end.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pykeepalived.conf import load
from tests.integration.conf.conftest import Namespace

pytestmark = [pytest.mark.netns]
# snippets whose flagged lines may differ (none now: a block nested in a value block is
# read as keepalived reads it, its '}' ending the value block)
STRUCTURAL: set[str] = set()
_LINE = re.compile(r"\((?P<file>[^:()]+): Line (?P<line>\d+)\)")

# ruff: noqa: E501

INST = "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 5\n{}\n virtual_ipaddress {{\n 10.0.0.1\n }}\n}}\n"
VS = "virtual_server 10.0.0.1 80 {{\n lb_algo rr\n lb_kind NAT\n protocol TCP\n{}\n real_server 10.0.0.2 80 {{\n{}\n }}\n}}\n"
GD = "global_defs {{\n{}\n}}\n"
SNIPPETS = {
    "ok": INST.format(""),
    "prio0": INST.format(" priority 0"),
    "advert_bad": INST.format(" advert_int 0"),
    "advert_big": INST.format(" advert_int 300"),
    "v3_adv": INST.format(" version 3\n advert_int 0.05"),
    "state_after": INST.format(" state MASTER\n state BACKUP"),
    "garp_delay": INST.format(" garp_master_delay 10"),
    "garp_repeat0": INST.format(" garp_master_repeat 0"),
    "preempt_delay_big": INST.format(" preempt_delay 2000"),
    "unicast_peer_ok": INST.format(" unicast_src_ip 10.0.0.5\n unicast_peer {\n 10.0.0.6\n }"),
    "unicast_peer_dup": INST.format(" unicast_peer {\n 10.0.0.6\n 10.0.0.6\n }"),
    "unicast_peer_v6": INST.format(" unicast_peer {\n 2001:db8::6\n }"),
    "use_vmac": INST.format(" use_vmac"),
    "track_if_ok": INST.format(" track_interface {\n eth0 weight 10\n }"),
    "vip_label": INST.format("").replace("10.0.0.1\n", "10.0.0.1/24 dev eth0 label eth0:1\n"),
    "vip_bad": INST.format("").replace("10.0.0.1\n", "10.0.0.300\n"),
    "vip_scope": INST.format("").replace("10.0.0.1\n", "10.0.0.1 scope foo\n"),
    "evip": INST.format(" virtual_ipaddress_excluded {\n 2001:db8::1\n }"),
    "vroute_ok": INST.format(" virtual_routes {\n 10.9.0.0/16 via 10.0.0.254 dev eth0\n }"),
    "vrule_ok": INST.format(" virtual_rules {\n from 10.0.0.0/8 table 100 priority 100\n }"),
    "auth_pass_ok": INST.format(" authentication {\n auth_type PASS\n auth_pass abc\n }"),
    "auth_bad_type": INST.format(" authentication {\n auth_type FOO\n auth_pass abc\n }"),
    "smtp_alert": INST.format(" smtp_alert"),
    "notify_nonexist": INST.format(" notify_master /nonexist/x.sh"),
    "dont_track": INST.format(" dont_track_primary"),
    "mcast_src": INST.format(" mcast_src_ip 10.0.0.9"),
    "strict_accept": "global_defs {\n vrrp_strict\n}\n" + INST.format(" accept"),
    "gd_router": "global_defs {\n router_id x\n notification_email {\n a@b.c\n }\n smtp_server 10.0.0.1\n smtp_connect_timeout 30\n}\n",
    "gd_version_bad": "global_defs {\n vrrp_version 4\n}\n",
    "gd_mcast_bad": "global_defs {\n vrrp_mcast_group4 10.0.0.1\n}\n",
    "gd_script_user_bad": "global_defs {\n script_user nosuchuserxx\n}\n",
    "gd_unknown": "global_defs {\n foo_bar\n}\n",
    "root_unknown": "foo_bar baz\n",
    "brace_extra": "global_defs {\n}\n}\n",
    "brace_missing": "global_defs {\n router_id x\n",
    "brace_stray": "{\n}\n",
    "vs_ok": VS.format("", " weight 1"),
    "vs_persist": VS.format(" persistence_timeout 600", ""),
    "vs_sorry": VS.format(" sorry_server 10.0.0.9 80", ""),
    "vs_quorum": VS.format(" quorum 2\n hysteresis 1", ""),
    "vs_dr": VS.format("", " lvs_method DR").replace("lb_kind NAT", "lb_kind DR"),
    "vs_tun": VS.format("", "").replace("lb_kind NAT", "lb_kind TUN"),
    "vs_delay": VS.format(" delay_loop 0", ""),
    "rs_weight_bad": VS.format("", " weight -1"),
    "rs_http_ok": VS.format(
        "", " HTTP_GET {\n url {\n path /\n status_code 200\n }\n connect_timeout 3\n }"
    ),
    "rs_http_digest_bad": VS.format("", " HTTP_GET {\n url {\n path /\n digest xyz\n }\n }"),
    "rs_http_status_bad": VS.format("", " HTTP_GET {\n url {\n path /\n status_code 999\n }\n }"),
    "rs_tcp_port_bad": VS.format("", " TCP_CHECK {\n connect_port 70000\n }"),
    "rs_dns": VS.format("", " DNS_CHECK {\n type A\n name example.org\n }"),
    "rs_dns_badtype": VS.format("", " DNS_CHECK {\n type FOO\n }"),
    "rs_ping": VS.format("", " PING_CHECK {\n }"),
    "rs_smtp": VS.format("", " SMTP_CHECK {\n helo_name x\n }"),
    "rs_misc_nopath": VS.format("", " MISC_CHECK {\n misc_timeout 5\n }"),
    "vsg_ok": "virtual_server_group G {\n 10.0.0.1 80\n 10.0.0.2-5 80\n}\nvirtual_server group G {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n real_server 10.0.0.9 80 {\n }\n}\n",
    "vsg_missing": "virtual_server group NOPE {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n real_server 10.0.0.9 80 {\n }\n}\n",
    "vsg_bad_range": "virtual_server_group G {\n 10.0.0.5-2 80\n}\n",
    "script_ok": 'vrrp_script s {\n script "/nonexist/x"\n interval 2\n weight 10\n}\n'
    + INST.format(" track_script {\n s\n }"),
    "script_weight_bad": 'vrrp_script s {\n script "/nonexist/x"\n weight 300\n}\n'
    + INST.format(" track_script {\n s\n }"),
    "script_noscript": "vrrp_script s {\n interval 2\n}\n",
    "track_file_ok": "track_file f {\n file /tmp/x\n weight 5\n}\n"
    + INST.format(" track_file {\n f\n }"),
    "sync_ok": INST.format("")
    + INST.format("").replace("VI_1", "VI_2").replace("id 5", "id 6")
    + "vrrp_sync_group G {\n group {\n VI_1\n VI_2\n }\n}\n",
    "sync_missing_member": INST.format("") + "vrrp_sync_group G {\n group {\n VI_1\n VI_9\n }\n}\n",
    "static_addr_ok": "static_ipaddress {\n 10.1.0.1/24 dev eth0\n}\n",
    "static_addr_nodev": "static_ipaddress {\n 10.1.0.1/24\n}\n",
    "static_route_ok": "static_routes {\n 10.2.0.0/16 via 10.0.0.1 dev eth0\n}\n",
    "garp_group_ok": "garp_group {\n garp_interval 0.1\n interface eth0\n}\n",
    "linkbeat": "linkbeat_interfaces {\n eth0\n}\n",
    "updown": "interface_up_down_delays {\n eth0 1 2\n}\n",
    "seq": "~SEQ(N,1,3) static_ipaddress { 10.3.0.$N/32 dev eth0 }\n",
    "def": "$P=120\n" + INST.format(" priority $P"),
    "include_missing": "include /nonexist/*.conf\nincludea /nonexist/x.conf\n",
    "quote_unterminated": 'global_defs {\n router_id "abc\n}\n',
    "b_bool_bad": INST.format(" smtp_alert maybe"),
    "b_vrid_0": INST.format(" virtual_router_id 0"),
    "b_vrid_abc": INST.format(" virtual_router_id abc"),
    "b_version_1": INST.format(" version 1"),
    "b_ttl": INST.format(" unicast_ttl 300\n unicast_peer {\n 10.0.0.6\n }"),
    "b_mcast_dst_bad": INST.format(" mcast_dst_ip 10.0.0.1"),
    "b_owner_ignore_nonowner": INST.format(" owner_ignore_adverts"),
    "b_down_timer_0": INST.format(" down_timer_adverts 0"),
    "b_nopreempt_backup": INST.format(" state BACKUP\n nopreempt"),
    "b_debug_9": INST.format(" debug 9"),
    "b_track_script_dup": 'vrrp_script s {\n script "/bin/true"\n}\n'
    + INST.format(" track_script {\n s\n s\n }"),
    "b_track_if_dup": INST.format(" track_interface {\n eth0\n eth0\n }"),
    "b_vip_dup": INST.format("").replace("10.0.0.1\n", "10.0.0.1\n 10.0.0.1\n"),
    "b_vip_prefix_bad": INST.format("").replace("10.0.0.1\n", "10.0.0.1/40\n"),
    "b_vip_v6_linklocal": INST.format("").replace("10.0.0.1\n", "fe80::1/64\n 2001:db8::5\n"),
    "b_vip_v6_nolinklocal": INST.format("").replace("10.0.0.1\n", "2001:db8::5\n"),
    "b_evip_mixed": INST.format(" virtual_ipaddress_excluded {\n 2001:db8::1\n 10.9.9.9\n }"),
    "b_route_nodest": INST.format(" virtual_routes {\n via 10.0.0.1 dev eth0\n }"),
    "b_route_unknown_opt": INST.format(" virtual_routes {\n 10.5.0.0/16 dev eth0 bogus 1\n }"),
    "b_rule_noaction": INST.format(" virtual_rules {\n from 10.0.0.0/8 priority 5\n }"),
    "b_rule_goto": INST.format(" virtual_rules {\n from 10.0.0.0/8 goto 100 priority 5\n }"),
    "b_auth_long": INST.format(" authentication {\n auth_type PASS\n auth_pass 123456789012\n }"),
    "b_auth_nopass": INST.format(" authentication {\n auth_type PASS\n }"),
    "b_sync_single": INST.format("") + "vrrp_sync_group G {\n group {\n VI_1\n }\n}\n",
    "b_sync_notify": INST.format("")
    + INST.format("").replace("VI_1", "VI_2").replace("id 5", "id 6")
    + "vrrp_sync_group G {\n group {\n VI_1\n VI_2\n }\n notify_master /nonexist/x\n smtp_alert\n}\n",
    "b_gd_smtp_port": "global_defs {\n smtp_server 10.0.0.1 25\n}\n",
    "b_gd_lvs_timeouts": "global_defs {\n lvs_timeouts tcp 900 tcpfin 120 udp 300\n}\n",
    "b_gd_lvs_sync": "global_defs {\n lvs_sync_daemon eth0 VI_1 id 5\n}\n" + INST.format(""),
    "b_gd_notify_fifo": "global_defs {\n notify_fifo /tmp/ka.fifo\n}\n",
    "b_gd_umask": "global_defs {\n umask 022\n}\n",
    "b_gd_default_if": "global_defs {\n default_interface eth7\n}\n",
    "b_gd_mcast6": "global_defs {\n vrrp_mcast_group6 ff02::1:2\n}\n",
    "b_gd_startup": "global_defs {\n startup_script /nonexist/s\n startup_script_timeout 5\n}\n",
    "b_gd_dynamic": "global_defs {\n dynamic_interfaces\n}\n"
    + INST.format("").replace("interface eth0", "interface eth9"),
    "b_vs_fwmark": "virtual_server fwmark 5 {\n lb_algo rr\n lb_kind DR\n real_server 10.0.0.2 {\n }\n}\n",
    "b_vs_v6": "virtual_server 2001:db8::1 80 {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n real_server 2001:db8::2 80 {\n }\n}\n",
    "b_vs_mixed_family": "virtual_server 10.0.0.1 80 {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n real_server 2001:db8::2 80 {\n }\n}\n",
    "b_vs_sched_sh_flags": VS.format(" lb_algo sh\n sh-port\n sh-fallback", ""),
    "b_vs_persist_gran": VS.format(" persistence_granularity 255.255.255.0", ""),
    "b_vs_dup_rs": "virtual_server 10.0.0.1 80 {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n real_server 10.0.0.2 80 {\n }\n real_server 10.0.0.2 80 {\n }\n}\n",
    "b_vs_dup_vs": VS.format("", "") + VS.format("", ""),
    "b_vs_ha_suspend": VS.format(" ha_suspend", ""),
    "b_vs_virtualhost": VS.format(" virtualhost www.x", ""),
    "b_vs_proto_bad": VS.format("", "").replace("protocol TCP", "protocol FOO"),
    "b_vs_kind_bad": VS.format("", "").replace("lb_kind NAT", "lb_kind XYZ"),
    "b_rs_inhibit": VS.format("", " inhibit_on_failure"),
    "b_rs_notify": VS.format("", " notify_up /nonexist/up\n notify_down /nonexist/down"),
    "b_http_two_urls": VS.format(
        "",
        " HTTP_GET {\n url {\n path /a\n }\n url {\n path /b\n digest 9b3a0c85a887a256d6939da88aabd8cd\n }\n }",
    ),
    "b_http_proto": VS.format("", " HTTP_GET {\n http_protocol 1.1\n url {\n path /\n }\n }"),
    "b_http_proto_bad": VS.format("", " HTTP_GET {\n http_protocol 2.0\n url {\n path /\n }\n }"),
    "b_ssl_ok": VS.format("", " SSL_GET {\n url {\n path /\n }\n }"),
    "b_misc_ok": VS.format("", ' MISC_CHECK {\n misc_path "/nonexist/x arg"\n misc_dynamic\n }'),
    "b_smtp_host": VS.format("", " SMTP_CHECK {\n host {\n connect_ip 10.0.0.5\n }\n }"),
    "b_dns_name_bad": VS.format("", " DNS_CHECK {\n name a..b\n }"),
    "b_file_check": "track_file f {\n file /tmp/x\n}\n"
    + VS.format("", " FILE_CHECK {\n track_file f\n }"),
    "b_file_check_unknown": VS.format("", " FILE_CHECK {\n track_file nope\n }"),
    "b_tcp_retry": VS.format("", " TCP_CHECK {\n retry 3\n delay_before_retry 2\n warmup 5\n }"),
    "b_tcp_bindto_bad": VS.format("", " TCP_CHECK {\n bindto 1.2.3\n }"),
    "b_process": "vrrp_track_process p {\n process sshd\n weight 10\n}\n"
    + INST.format(" track_process {\n p\n }"),
    "b_bfd": "bfd_instance b {\n neighbor_ip 10.0.0.9\n}\n" + INST.format(" track_bfd {\n b\n }"),
    "b_bfd_noip": "bfd_instance b {\n min_rx 20\n}\n",
    "b_garp_group_noint": "garp_group {\n garp_interval 1\n}\n",
    "b_track_group": "track_group TG {\n group {\n VI_1\n }\n}\n"
    + INST.format("")
    + "static_ipaddress {\n 10.7.0.1/24 dev eth0 track_group TG\n}\n",
    "b_ssl_block": "SSL {\n password x\n ca /nonexist/ca\n}\n",
    "b_seqx": "static_ipaddress {\n~SEQx(N, 0x10, 0x12) 2001:db8::${N}/128 dev eth0\n}\n",
    "b_lst": "static_ipaddress {\n~LST(N, 1, 5) 10.4.0.${N}/32 dev eth0\n}\n",
    "b_def_multi": "$VIP=\\\n virtual_ipaddress { \\\n 10.0.0.9 \\\n }\nvrrp_instance VI_1 {\n interface eth0\n virtual_router_id 5\n $VIP\n}\n",
    "b_comment_quote": 'global_defs {\n router_id "a#b" # comment\n}\n',
    "b_inline_braces": "vrrp_instance VI_1 { interface eth0\n virtual_router_id 5\n virtual_ipaddress { 10.0.0.1 } }\n",
    "b_block_extra_param": INST.format(" track_interface xx {\n eth0\n }"),
    "b_value_block_nested": INST.format(" virtual_ipaddress_excluded {\n 10.9.0.1 {\n }\n }"),
    "c_gd_smtp_timeout_bad": GD.format(" smtp_connect_timeout abc"),
    "c_gd_down_timer_bad": GD.format(" vrrp_down_timer_adverts 200"),
    "c_gd_rx_bufs": GD.format(" vrrp_rx_bufs_policy MTU\n vrrp_rx_bufs_multiplier 4"),
    "c_gd_rx_bufs_bad": GD.format(" vrrp_rx_bufs_policy FOO"),
    "c_gd_priority_bad": GD.format(" vrrp_priority 30"),
    "c_gd_rt_priority": GD.format(" vrrp_rt_priority 50"),
    "c_gd_cpu_aff": GD.format(" vrrp_cpu_affinity 0"),
    "c_gd_cpu_aff_bad": GD.format(" vrrp_cpu_affinity 99"),
    "c_gd_startup_timeout_bad": GD.format(" startup_script_timeout 2000"),
    "c_gd_garp_extra_if": GD.format(" vrrp_garp_extra_if 120"),
    "c_gd_garp_delay_bad": GD.format(" vrrp_garp_master_delay abc"),
    "c_gd_lvs_timeouts_bad": GD.format(" lvs_timeouts tcp abc"),
    "c_gd_lvs_flush_stop_bad": GD.format(" lvs_flush_on_stop FOO"),
    "c_gd_notify_fifo_script": GD.format(" notify_fifo /tmp/f\n notify_fifo_script /nonexist/s"),
    "c_gd_mcast4_ok": GD.format(" vrrp_mcast_group4 224.0.0.19"),
    "c_gd_email_from": GD.format(' notification_email_from "A B <a@b.c>"'),
    "c_gd_skip_check": GD.format(" vrrp_skip_check_adv_addr"),
    "c_gd_strict_bad_bool": GD.format(" vrrp_strict xyz"),
    "c_gd_startup_delay": GD.format(" vrrp_startup_delay 5"),
    "c_gd_min_garp": GD.format(" vrrp_min_garp true"),
    "c_gd_router_id_missing": GD.format(" router_id"),
    "c_gd_default_if": GD.format(" default_interface eth0"),
    "c_gd_random_seed": GD.format(" random_seed 123"),
    "c_gd_vmac_prefix": GD.format(" vmac_prefix vx"),
    "c_gd_dbus": GD.format(" enable_dbus"),
    "c_gd_snmp": GD.format(" enable_snmp_vrrp"),
    "c_gd_reload_check": GD.format(" reload_check_config /tmp/x.log"),
    "c_gd_nftables": GD.format(" nftables"),
    "c_gd_process_names": GD.format(" process_names"),
    "c_gd_checker_log": GD.format(" checker_log_all_failures"),
    "c_vs_delay_bad": VS.format(" delay_loop abc", ""),
    "c_vs_persist_bad": VS.format(" persistence_timeout abc", ""),
    "c_vs_quorum_bad": VS.format(" quorum 0", ""),
    "c_vs_weight_vs": VS.format(" weight 3", ""),
    "c_vs_sorry_bad": VS.format(" sorry_server 10.0.0.300 80", ""),
    "c_vs_retry_bad": VS.format(" retry abc", ""),
    "c_vs_conn_timeout": VS.format(" connect_timeout 2.5", ""),
    "c_vs_ip_family_bad": VS.format(" ip_family foo", ""),
    "c_rs_port_bad": "virtual_server 10.0.0.1 80 {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n real_server 10.0.0.2 99999 {\n }\n}\n",
    "c_rs_uthreshold": VS.format("", " uthreshold 100\n lthreshold 10"),
    "c_rs_weight_big": VS.format("", " weight 9999999999"),
    "c_tcp_conn_timeout_bad": VS.format("", " TCP_CHECK {\n connect_timeout abc\n }"),
    "c_tcp_retry_bad": VS.format("", " TCP_CHECK {\n retry -1\n }"),
    "c_tcp_fwmark": VS.format("", " TCP_CHECK {\n fwmark 5\n }"),
    "c_tcp_unknown": VS.format("", " TCP_CHECK {\n foo 5\n }"),
    "c_http_status_range_bad": VS.format(
        "", " HTTP_GET {\n url {\n path /\n status_code 300-200\n }\n }"
    ),
    "c_http_virtualhost": VS.format(
        "", " HTTP_GET {\n virtualhost x.y\n url {\n path /\n virtualhost a.b\n }\n }"
    ),
    "c_http_regex": VS.format("", ' HTTP_GET {\n url {\n path /\n regex "OK"\n }\n }'),
    "c_http_regex_bad": VS.format("", ' HTTP_GET {\n url {\n path /\n regex "("\n }\n }'),
    "c_misc_timeout_bad": VS.format(
        "", " MISC_CHECK {\n misc_path /nonexist/x\n misc_timeout abc\n }"
    ),
    "c_smtp_helo_quoted": VS.format("", ' SMTP_CHECK {\n helo_name "a b"\n }'),
    "c_dns_type_lower": VS.format("", " DNS_CHECK {\n type aaaa\n }"),
    "c_udp_req_reply": VS.format(
        "", " UDP_CHECK {\n require_reply\n min_reply_length 5\n max_reply_length 3\n }"
    ),
    "c_ping_retry": VS.format("", " PING_CHECK {\n retry 4\n }"),
    "c_vi_garp_refresh": INST.format(" garp_master_refresh 30\n garp_master_refresh_repeat 2"),
    "c_vi_lower_prio": INST.format(" garp_lower_prio_delay 3\n garp_lower_prio_repeat 2"),
    "c_vi_preempt": INST.format(" preempt"),
    "c_vi_accept_noaccept": INST.format(" accept\n no_accept"),
    "c_vi_interface_long": INST.format("").replace("interface eth0", "interface abcdefghijklmnopq"),
    "c_vi_priority_neg": INST.format(" priority -5"),
    "c_vi_state_master_prio": INST.format(" state MASTER\n priority 150"),
    "c_vi_track_file_missing": INST.format(" track_file {\n nosuch\n }"),
    "c_vi_track_process_missing": INST.format(" track_process {\n nosuch\n }"),
    "c_vi_track_bfd_missing": INST.format(" track_bfd {\n nosuch\n }"),
    "c_vi_track_if_reverse": INST.format(" track_interface {\n eth0 weight 10 reverse\n }"),
    "c_vi_use_vmac_named": INST.format(" use_vmac vrrp.5"),
    "c_vi_vmac_xmit": INST.format(" use_vmac\n vmac_xmit_base"),
    "c_vi_unicast_ttl_nopeer": INST.format(" unicast_ttl 5"),
    "c_vi_check_unicast_src": INST.format(" check_unicast_src\n unicast_peer {\n 10.0.0.6\n }"),
    "c_script_interval_bad": 'vrrp_script s {\n script "/bin/true"\n interval abc\n}\n',
    "c_script_rise_0": 'vrrp_script s {\n script "/bin/true"\n rise 0\n}\n',
    "c_script_dup": 'vrrp_script s {\n script "/bin/true"\n}\nvrrp_script s {\n script "/bin/true"\n}\n',
    "c_script_unused": 'vrrp_script s {\n script "/bin/true"\n}\n',
    "c_track_file_weight_bad": "track_file f {\n file /tmp/x\n weight 300\n}\n",
    "c_track_file_nofile": "track_file f {\n weight 3\n}\n",
    "c_process_noproc": "vrrp_track_process p {\n weight 3\n}\n",
    "c_process_quorum_bad": "vrrp_track_process p {\n process x\n quorum 0\n}\n",
    "c_sync_dup_member": INST.format("")
    + INST.format("").replace("VI_1", "VI_2").replace("id 5", "id 6")
    + "vrrp_sync_group G {\n group {\n VI_1\n VI_2\n }\n}\nvrrp_sync_group H {\n group {\n VI_1\n }\n}\n",
    "c_static_rule_nopref": "static_rules {\n from 10.0.0.0/8 table 100\n}\n",
    "c_static_route_blackhole": "static_routes {\n blackhole 10.8.0.0/16\n}\n",
    "c_static_addr_brd": "static_ipaddress {\n 10.1.0.1/24 brd + dev eth0\n}\n",
    "c_vsg_subnet": "virtual_server_group G {\n 10.0.0.0/30 80\n}\n",
    "c_vsg_fwmark_family": "virtual_server_group G {\n fwmark 5 inet6\n}\n",
    "c_seq_bad": "~SEQ(N, 1, 0, 3) static_ipaddress { 10.0.0.$N dev eth0 }\n",
    "d_seq_vips": INST.format(" virtual_ipaddress_excluded {\n~SEQ(N, 1, 3) 10.1.0.${N}/32\n }"),
    "d_seq_bad_ip": INST.format(
        " virtual_ipaddress_excluded {\n~SEQ(N, 250, 10, 300) 10.1.0.${N}/32\n }"
    ),
    "d_seqx": INST.format(" virtual_ipaddress_excluded {\n~SEQx(N, 0xa, 0xc) 2001:db8::${N}\n }"),
    "d_lst": INST.format(" virtual_ipaddress_excluded {\n~LST(N, 5, 7, 9) 10.2.0.${N}\n }"),
    "d_lst_multi": INST.format(
        " virtual_ipaddress_excluded {\n~LST({A,B}, {1,2},{3,4}) 10.${A}.${B}.1\n }"
    ),
    "d_def_prio": "$P=150\n" + INST.format(" priority $P"),
    "d_def_prio_bad": "$P=abc\n" + INST.format(" priority $P"),
    "d_def_undefined": INST.format(" priority $NOPE"),
    "d_def_hash": "$H=${_HASH}\n" + INST.format(" priority 100 $H trailing junk"),
    "d_def_multiline": "$INST=\\\nvrrp_instance VI_${N} { \\\n interface eth0 \\\n virtual_router_id ${N} \\\n virtual_ipaddress { \\\n 10.0.${N}.1 \\\n } \\\n}\n$N=1\n$INST\n$N=2\n$INST\n",
    "d_cond_match": "@x $P=200\n@^x $P=100\n" + INST.format(" priority $P"),
    "d_cond_in_block": INST.format(" @x priority 200\n @y priority 300"),
    "d_cond_var": "$IFX=@x\n" + INST.format(" $IFX priority 77"),
    "d_random": INST.format(" priority ${_RANDOM 10 10}"),
    "d_instance": "global_defs {\n router_id ${_INSTANCE}\n}\n",
    "d_escape_hash": "global_defs {\n router_id a\\#b\n}\n",
    "d_bang_comment": "global_defs {\n router_id a ! comment\n}\n",
    "d_crlf": "global_defs {\r\n router_id a\r\n}\r\n",
    "d_tabs": "global_defs\t{\n\trouter_id\ta\n}\n",
    "d_braces_one_line": "global_defs { router_id a }\n",
    "d_open_next_line": "global_defs\n{\n router_id a\n}\n",
    "d_close_same_line": "global_defs {\n router_id a }\n",
    "d_missing_brace_block": "global_defs\n router_id a\n",
    "d_long_line": "global_defs {\n router_id " + "a" * 1100 + "\n}\n",
    "d_seq_step0": "~SEQ(N, 1, 0, 3) global_defs { router_id $N }\n",
    "d_include_rel": "include sub/x.conf\n",
    "e_vip_brd": INST.format("").replace("10.0.0.1\n", "10.0.0.1/24 brd 10.0.0.255 dev eth0\n"),
    "e_vip_peer": INST.format("").replace("10.0.0.1\n", "10.0.0.1 peer 10.0.0.2/32 dev eth0\n"),
    "e_vip_unknown_opt": INST.format("").replace("10.0.0.1\n", "10.0.0.1 foo bar\n"),
    "e_vip_label_long": INST.format("").replace(
        "10.0.0.1\n", "10.0.0.1 label eth0:abcdefghijklmn\n"
    ),
    "e_vip_v6_nodad": INST.format("").replace(
        "10.0.0.1\n", "fe80::1/64 -nodad\n 2001:db8::9 preferred_lft forever\n"
    ),
    "e_vip_no_track": INST.format("").replace("10.0.0.1\n", "10.0.0.1 no_track\n"),
    "e_vip_track_group": INST.format("").replace("10.0.0.1\n", "10.0.0.1 track_group X\n"),
    "e_route_table_name": INST.format(
        " virtual_routes {\n 10.9.0.0/16 via 10.0.0.254 dev eth0 table main\n }"
    ),
    "e_route_src": INST.format(" virtual_routes {\n src 10.0.0.1 to 10.9.0.0/16 dev eth0\n }"),
    "e_route_metric": INST.format(
        " virtual_routes {\n 10.9.0.0/16 dev eth0 metric 50 mtu 1400\n }"
    ),
    "e_route_v6": INST.format(" virtual_routes {\n 2001:db8:1::/48 via 2001:db8::1 dev eth0\n }"),
    "e_route_unreachable": INST.format(" virtual_routes {\n unreachable 10.99.0.0/16\n }"),
    "e_route_default": INST.format(" virtual_routes {\n default via 10.0.0.254 dev eth0\n }"),
    "e_route_bad_via": INST.format(" virtual_routes {\n 10.9.0.0/16 via 10.0.0.300 dev eth0\n }"),
    "e_rule_fwmark": INST.format(" virtual_rules {\n fwmark 5 table 100 priority 10\n }"),
    "e_rule_iif": INST.format(" virtual_rules {\n iif eth0 table 100 priority 10\n }"),
    "e_rule_blackhole": INST.format(" virtual_rules {\n from 10.0.0.0/8 blackhole priority 10\n }"),
    "e_rule_bad_opt": INST.format(
        " virtual_rules {\n from 10.0.0.0/8 table 100 priority 10 bogus\n }"
    ),
    "e_rule_v6": INST.format(" virtual_rules {\n from 2001:db8::/32 table 100 priority 10\n }"),
    "e_use_vmac_mac": INST.format(" use_vmac vm1 02:00:00:00:00:01"),
    "e_use_vmac_mcast_mac": INST.format(" use_vmac vm1 01:00:00:00:00:01"),
    "e_use_vmac_xmit_unicast": INST.format(" use_vmac\n unicast_peer {\n 10.0.0.6\n }"),
    "e_notify_deleted": INST.format(" notify_deleted"),
    "e_notify_rx_lower": INST.format(" notify_master_rx_lower_pri /nonexist/x"),
    "e_sync_tracking_weight": INST.format(" track_interface {\n eth0 weight 10\n }")
    + INST.format("").replace("VI_1", "VI_2").replace("id 5", "id 6")
    + "vrrp_sync_group G {\n group {\n VI_1\n VI_2\n }\n sync_group_tracking_weight\n}\n",
    "e_sync_global_tracking": INST.format("")
    + INST.format("").replace("VI_1", "VI_2").replace("id 5", "id 6")
    + "vrrp_sync_group G {\n group {\n VI_1\n VI_2\n }\n global_tracking\n}\n",
    "e_sync_track_script": 'vrrp_script s {\n script "/bin/true"\n}\n'
    + INST.format("")
    + INST.format("").replace("VI_1", "VI_2").replace("id 5", "id 6")
    + "vrrp_sync_group G {\n group {\n VI_1\n VI_2\n }\n track_script {\n s\n }\n}\n",
    "e_priority_owner_track": INST.format(
        " priority 255\n track_interface {\n eth0 weight -10\n }"
    ),
    "e_two_vips_v6_first": INST.format("").replace("10.0.0.1\n", "2001:db8::1\n 10.0.0.1\n"),
    "e_evip_dev": INST.format(" virtual_ipaddress_excluded {\n 10.3.3.3/24 dev eth0\n }"),
    "e_garp_extra_all": INST.format(" garp_extra_if all 30"),
    "e_lower_prio_no_advert": INST.format(" lower_prio_no_advert false"),
    "e_kernel_rx": INST.format(" kernel_rx_buf_size 1000"),
    "e_mcast_src_v6_mismatch": INST.format(" mcast_src_ip 2001:db8::5"),
    "e_static_route_track_group": "track_group TG {\n group {\n VI_1\n }\n}\n"
    + INST.format("")
    + "static_routes {\n 10.8.0.0/16 dev eth0 track_group TG\n}\n",
    "e_static_rule": "static_rules {\n from 10.0.0.0/8 table 100 priority 10\n}\n",
    "e_linkbeat_method_bad": "linkbeat_interfaces {\n eth0 FOO\n}\n",
    "e_updown_bad": "interface_up_down_delays {\n eth0 abc\n}\n",
    "e_updown_big": "interface_up_down_delays {\n eth0 300\n}\n",
    "e_root_child_wait": "child_wait_time 3\n",
    "e_root_instance": "instance foo\n",
    "e_root_use_pid_dir": "use_pid_dir\n",
    "f_vs_lvs_sched": VS.format("", "").replace("lb_algo rr", "lvs_sched wlc"),
    "f_vs_lvs_method_tun": VS.format("", "").replace(
        "lb_kind NAT", "lvs_method TUN type gue port 5555"
    ),
    "f_vs_tun_gue_noport": VS.format("", "").replace("lb_kind NAT", "lvs_method TUN type gue"),
    "f_vs_sh_flags_wrong": VS.format(" sh-port", ""),
    "f_vs_ops": VS.format(" ops", "").replace("protocol TCP", "protocol UDP"),
    "f_vs_persist_engine": VS.format(
        " persistence_timeout 300\n persistence_engine sip", ""
    ).replace("protocol TCP", "protocol UDP"),
    "f_vs_gran_v6": "virtual_server 2001:db8::1 80 {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n persistence_granularity 64\n real_server 2001:db8::2 80 {\n }\n}\n",
    "f_vs_sorry_method": VS.format(" sorry_server 10.0.0.9 80\n sorry_server_lvs_method DR", ""),
    "f_vs_sorry_method_first": VS.format(
        " sorry_server_lvs_method DR\n sorry_server 10.0.0.9 80", ""
    ),
    "f_vs_warmup": VS.format(" warmup 3", ""),
    "f_vs_alpha_omega": VS.format(
        " alpha\n omega\n quorum_up /nonexist/u\n quorum_down /nonexist/d", ""
    ),
    "f_vs_smtp_alert": VS.format(" smtp_alert", ""),
    "f_vs_snmp_name": VS.format(" snmp_name web", ""),
    "f_vs_port_0": "virtual_server 10.0.0.1 0 {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n persistence_timeout 60\n real_server 10.0.0.2 0 {\n }\n}\n",
    "f_vs_noport": "virtual_server 10.0.0.1 {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n real_server 10.0.0.2 {\n }\n}\n",
    "f_vs_fwmark_v6_family": "virtual_server fwmark 7 {\n lb_algo rr\n lb_kind DR\n ip_family inet6\n real_server 2001:db8::2 {\n }\n}\n",
    "f_rs_tun_mixed_family": "virtual_server 10.0.0.1 80 {\n lb_algo rr\n lb_kind TUN\n protocol TCP\n real_server 2001:db8::2 80 {\n }\n}\n",
    "f_http_fast_recovery": VS.format("", " HTTP_GET {\n fast_recovery\n url {\n path /\n }\n }"),
    "f_http_nb_get_retry": VS.format("", " HTTP_GET {\n nb_get_retry 3\n url {\n path /\n }\n }"),
    "f_http_regex_opts": VS.format(
        "",
        " HTTP_GET {\n url {\n path /\n regex OK\n regex_options caseless\n regex_no_match\n }\n }",
    ),
    "f_http_status_list": VS.format(
        "", " HTTP_GET {\n url {\n path /\n status_code 200 201 300-302\n }\n }"
    ),
    "f_ssl_sni": VS.format("", " SSL_GET {\n enable_sni\n url {\n path /\n }\n }"),
    "f_smtp_host_port": VS.format(
        "",
        " SMTP_CHECK {\n host {\n connect_ip 10.0.0.5\n connect_port 2525\n bindto 10.0.0.1\n }\n }",
    ),
    "f_dns_name_root": VS.format("", " DNS_CHECK {\n name .\n }"),
    "f_udp_payload_odd": VS.format("", " UDP_CHECK {\n payload abc\n }"),
    "f_ping_v6": "virtual_server 2001:db8::1 80 {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n real_server 2001:db8::2 80 {\n PING_CHECK {\n }\n }\n}\n",
    "f_file_check_weight": "track_file f {\n file /tmp/x\n}\n"
    + VS.format("", " FILE_CHECK {\n track_file f\n weight 10 reverse\n }"),
    "f_bfd_check": "bfd_instance b {\n neighbor_ip 10.0.0.2\n}\n"
    + VS.format("", " BFD_CHECK {\n name b\n }"),
    "f_bfd_check_unknown": VS.format("", " BFD_CHECK {\n name nob\n }"),
    "f_script_init_fail": 'vrrp_script s {\n script "/bin/true"\n init_fail\n}\n',
    "f_script_weight_rev": 'vrrp_script s {\n script "/bin/true"\n weight 10 reverse\n}\n',
    "f_tf_init": "track_file f {\n file /tmp/pyk-x\n init_file 5 overwrite\n}\n",
    "f_tf_weight_rev": "track_file f {\n file /tmp/x\n weight -5 reverse\n}\n",
    "f_proc_params": "vrrp_track_process p {\n process nginx -g\n param_match initial\n quorum 2\n quorum_max 4\n delay 1\n}\n",
    "f_proc_full": "vrrp_track_process p {\n process sshd\n full_command\n}\n",
    "f_bfd_opts": "bfd_instance b {\n neighbor_ip 10.0.0.2\n source_ip 10.0.0.1\n min_rx 50\n min_tx 50\n idle_tx 1000\n multiplier 3\n passive\n ttl 64\n max_hops 1\n}\n",
    "f_bfd_src_family": "bfd_instance b {\n neighbor_ip 10.0.0.2\n source_ip 2001:db8::1\n}\n",
}


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_snippet_exit_code_matches(
    namespaces: dict[str, Namespace], tmp_path: Path, name: str
) -> None:
    ns = namespaces["eth"]
    path = tmp_path / f"{name}.conf"
    path.write_text(SNIPPETS[name])
    rc, output = ns.keepalived_test(path, "-i", "pyk")
    ours = load(path, config_id="pyk", interfaces=ns.interfaces())
    assert ours.exit_code == rc, (output, [d.format() for d in ours.diagnostics])
    their_lines = {int(m["line"]) for m in _LINE.finditer(output) if m["file"] == str(path)}
    our_lines = {d.line for d in ours.diagnostics if not d.advisory}
    if name not in STRUCTURAL:
        assert their_lines <= our_lines, (output, [d.format() for d in ours.diagnostics])


def test_keepalived_crash_same_messages(namespaces: dict[str, Namespace], tmp_path: Path) -> None:
    """A url block without a path crashes keepalived 2.2.7's -t (SIGSEGV) after its two
    messages; pykeepalived prints the same messages at the same lines and exits 5."""
    path = tmp_path / "nopath.conf"
    path.write_text(
        VS.format("", " HTTP_GET {\n url {\n digest 9b3a0c85a887a256d6939da88aabd8cd\n }\n }")
    )
    rc, output = namespaces["eth"].keepalived_test(path)
    ours = load(path, config_id="pyk")
    assert rc < 0 or rc > 128, output
    assert ours.exit_code == 5
    for d in ours.diagnostics:
        assert f"({path}: Line {d.line}) {d.message}" in output


NEWER_THAN_2_2_7 = {
    "timer_expired_backup": INST.format(" nopreempt\n timer_expired_backup"),
    "auth_hmac": INST.format(
        " auth_hmac {\n key 1 0123456789abcdef0123456789abcdef\n active_key 1\n }"
    ),
    "owner_ignore_adverts": INST.format(" priority 255\n owner_ignore_adverts"),
}


@pytest.mark.parametrize("keyword", sorted(NEWER_THAN_2_2_7))
def test_known_difference_newer_keywords(
    namespaces: dict[str, Namespace], tmp_path: Path, keyword: str
) -> None:
    """Keywords of the 2.4 catalogue that Debian's 2.2.7 does not know yet: it reports them
    as unknown, pykeepalived implements (or accepts) them."""
    path = tmp_path / f"{keyword}.conf"
    path.write_text(NEWER_THAN_2_2_7[keyword])
    rc, output = namespaces["eth"].keepalived_test(path)
    ours = load(path, config_id="pyk", interfaces=namespaces["eth"].interfaces())
    assert f"Unknown keyword '{keyword}'" in output
    assert (rc, ours.exit_code) == (5, 0)


def test_known_difference_env_definition(namespaces: dict[str, Namespace], tmp_path: Path) -> None:
    """``${_ENV NAME}`` arrived after keepalived 2.2.7 (the catalogue's 2.4 has it): Debian's
    keepalived leaves it unsubstituted and trips over the braces; pykeepalived expands it."""
    path = tmp_path / "env.conf"
    path.write_text(INST.format(" priority ${_ENV PYK_NO_SUCH_VAR}1"))
    rc, _ = namespaces["eth"].keepalived_test(path)
    ours = load(path, config_id="pyk", interfaces=namespaces["eth"].interfaces(), env={})
    assert (rc, ours.exit_code) == (5, 0)
    assert ours.config is not None and ours.config.vrrp_instances[0].priority == 1


def test_known_difference_pykeepalived_block(
    namespaces: dict[str, Namespace], tmp_path: Path
) -> None:
    """keepalived reports the pykeepalived block (docs/ARCHITECTURE.md §7) as unknown
    keywords; pykeepalived reads it."""
    path = tmp_path / "pyk.conf"
    path.write_text("pykeepalived {\n lb_backend auto\n}\n")
    rc, _ = namespaces["eth"].keepalived_test(path)
    assert (rc, load(path, config_id="pyk").exit_code) == (5, 0)
