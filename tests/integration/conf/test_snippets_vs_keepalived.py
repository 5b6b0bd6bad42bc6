"""Small configurations written for pykeepalived (each exercising one rule), checked
against Debian's ``keepalived -t`` in a namespace with ``eth0``: the same exit code.

Known, deliberate differences are tested separately at the end.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pykeepalived.conf import load
from tests.integration.conf.conftest import Namespace

pytestmark = [pytest.mark.netns]

# ruff: noqa: E501

INST = "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 5\n{}\n virtual_ipaddress {{\n 10.0.0.1\n }}\n}}\n"
VS = "virtual_server 10.0.0.1 80 {{\n lb_algo rr\n lb_kind NAT\n protocol TCP\n{}\n real_server 10.0.0.2 80 {{\n{}\n }}\n}}\n"
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


def test_known_difference_pykeepalived_block(
    namespaces: dict[str, Namespace], tmp_path: Path
) -> None:
    """keepalived reports DESIGN section 4's block as unknown keywords; pykeepalived reads it."""
    path = tmp_path / "pyk.conf"
    path.write_text("pykeepalived {\n lb_backend auto\n}\n")
    rc, _ = namespaces["eth"].keepalived_test(path)
    assert (rc, load(path, config_id="pyk").exit_code) == (5, 0)
