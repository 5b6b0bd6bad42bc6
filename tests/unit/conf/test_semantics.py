# ruff: noqa: E501  (configuration snippets read better on one line)
"""keepalived's defaults and completion rules, as the model resolves them."""

from __future__ import annotations

import dataclasses
import pickle

import msgpack

from pykeepalived.conf.model import (
    AuthType,
    Config,
    Family,
    HttpGetCheck,
    LvsMethod,
    MiscCheck,
    Protocol,
    SmtpCheck,
    VrrpState,
)
from tests.unit.conf.helpers import clean, messages, parse

VS_FULL = "virtual_server 10.0.0.1 80 {{\n lvs_sched rr\n lvs_method NAT\n protocol TCP\n{}\n}}\n"


def inst_text(body: str = "", name: str = "VI_1", vrid: int = 5, vips: str = "10.0.0.1") -> str:
    return (
        f"vrrp_instance {name} {{\n interface eth0\n virtual_router_id {vrid}\n{body}\n"
        f" virtual_ipaddress {{\n {vips}\n }}\n}}\n"
    )


def test_vrrp_defaults() -> None:
    i = clean(inst_text()).vrrp_instances[0]
    assert (i.state, i.priority, i.advert_int, i.version, i.family) == (
        VrrpState.BACKUP, 100, 1.0, 2, Family.INET)  # fmt: skip
    assert (i.garp_master_delay, i.garp_master_repeat, i.garp_master_refresh) == (5.0, 5, 0.0)
    assert (i.garp_lower_prio_delay, i.garp_lower_prio_repeat) == (5.0, 5)
    assert (i.down_timer_adverts, i.accept, i.nopreempt, i.strict_mode) == (3, True, False, False)
    assert i.virtual_ipaddress[0].address == "10.0.0.1/32"
    assert i.mcast_dst_ip is None and i.unicast_peers == ()


def test_state_master_without_priority_is_owner() -> None:
    i = clean(inst_text(" state MASTER")).vrrp_instances[0]
    assert i.priority == 255 and i.is_owner
    i = clean(inst_text(" priority 255")).vrrp_instances[0]
    assert i.state is VrrpState.MASTER


def test_ipv6_instance_is_version_3() -> None:
    i = clean(inst_text(vips="fe80::1/64\n 2001:db8::1")).vrrp_instances[0]
    assert (i.family, i.version) == (Family.INET6, 3)
    assert i.virtual_ipaddress[1].address == "2001:db8::1/128"


def test_vip_family_mismatch_dropped() -> None:
    r = parse(inst_text(vips="10.0.0.1\n 2001:db8::1"))
    assert "(VI_1): address family must match VRRP instance [2001:db8::1] - ignoring" in messages(r)
    assert r.config is not None and len(r.config.vrrp_instances[0].virtual_ipaddress) == 1


def test_v2_fractional_advert_rounded_v3_kept() -> None:
    r = parse(inst_text(" advert_int 0.5"))
    assert (
        "(VI_1) VRRPv2 advertisement interval 0.500000s must be an integer. rounding" in messages(r)
    )
    assert r.config is not None and r.config.vrrp_instances[0].advert_int == 1.0
    i = clean(inst_text(" version 3\n advert_int 0.013")).vrrp_instances[0]
    assert i.advert_int == 0.01


def test_strict_mode_effects() -> None:
    c = clean("global_defs {\n vrrp_strict\n}\n" + inst_text())
    i = c.vrrp_instances[0]
    assert i.strict_mode and not i.accept and i.lower_prio_no_advert
    assert (i.garp_lower_prio_delay, i.garp_lower_prio_repeat) == (0.0, 0)
    r = parse(
        "global_defs {\n vrrp_strict\n}\n"
        + inst_text(" authentication {\n auth_type PASS\n auth_pass x\n }")
    )
    assert "(VI_1) Strict mode does not support authentication. Ignoring." in messages(r)
    assert r.config is not None and r.config.vrrp_instances[0].auth_type is AuthType.NONE


def test_auth_rules() -> None:
    r = parse(inst_text(" authentication {\n auth_type PASS\n auth_pass 123456789\n }"))
    assert "Truncating auth_pass to 8 characters" in messages(r)
    assert r.config is not None and r.config.vrrp_instances[0].auth_pass == "12345678"
    r = parse(inst_text(" version 3\n authentication {\n auth_type PASS\n auth_pass a\n }"))
    assert "(VI_1) VRRP version 3 does not support authentication. Ignoring." in messages(r)
    r = parse(
        inst_text(
            " state MASTER\n priority 100\n authentication {\n auth_type AH\n auth_pass a\n }"
        )
    )
    assert (
        "(VI_1) Initial state master is incompatible with AH authentication - clearing"
        in messages(r)
    )
    assert r.config is not None and r.config.vrrp_instances[0].state is VrrpState.BACKUP


def test_completion_messages_match_keepalived() -> None:
    assert "(VI_1) the virtual router id must be set" in messages(
        parse("vrrp_instance VI_1 {\n interface eth0\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n")
    )
    assert "(VI_1) Unknown interface!" in messages(
        parse("vrrp_instance VI_1 {\n virtual_router_id 5\n}\n")
    )
    assert "(VI_1) No VIP specified; at least one is sensible" in messages(
        parse("vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 5\n}\n")
    )
    r = parse(inst_text() + inst_text(name="VI_2", vips="10.0.0.2"))
    assert "VI_1 and VI_2 both use VRID 5 with IPv4 on interface eth0" in messages(r)
    r = parse(inst_text() + inst_text(vrid=6))
    assert "vrrp instance VI_1 already defined" in messages(r)
    r = parse(inst_text(" state MASTER\n nopreempt"))
    assert (
        "(VI_1) Warning - nopreempt will not work with initial state MASTER - clearing"
        in messages(r)
    )
    r = parse(inst_text(" state master"))
    assert "(VI_1) unknown state 'master', defaulting to BACKUP" in messages(r)


def test_unicast_without_peers_falls_back() -> None:
    r = parse(inst_text(" unicast_src_ip 10.0.0.5"))
    assert any(
        "A unicast keyword has been specified without any unicast peers" in m for m in messages(r)
    )
    i = clean(inst_text(" unicast_src_ip 10.0.0.5\n unicast_peer {\n 10.0.0.6\n }")).vrrp_instances[
        0
    ]
    assert i.unicast and i.unicast_peers[0].address == "10.0.0.6"


def test_track_references_and_weights() -> None:
    r = parse(inst_text(" track_script {\n nosuch\n }"))
    assert "(VI_1) track script nosuch not found, ignoring..." in messages(r)
    r = parse(inst_text(" track_interface {\n eth1 weight 300\n }"))
    assert messages(r) == [
        "number '300' outside range [-254, 254]",
        "(VI_1) weight 300 for eth1 must be between [-253..253] inclusive. Ignoring...",
    ]
    r = parse(inst_text(" track_interface {\n eth1 weight -254\n }"))
    assert messages(r) == ["(VI_1) weight for eth1 cannot be +/-254. Setting to +/-253"]
    assert r.config is not None and r.config.vrrp_instances[0].track_interface[0].weight == -253
    r = parse(inst_text(" track_interface {\n eth0\n }"))
    assert "(VI_1) Ignoring track_interface eth0 since own interface" in messages(r)
    text = 'vrrp_script s {\n script "/bin/true"\n weight -10\n}\n' + inst_text(
        " track_script {\n s\n }"
    )
    i = clean(text).vrrp_instances[0]
    assert i.track_script[0].name == "s" and i.track_script[0].weight is None


def test_sync_group_drops_weighted_trackers_unless_tracking_weight() -> None:
    base = inst_text(" track_interface {\n eth1 weight -20\n eth2\n }") + inst_text(
        name="VI_2", vrid=6, vips="10.0.0.2"
    )
    r = parse(base + "vrrp_sync_group G {\n group {\n VI_1\n VI_2\n }\n}\n")
    assert "(VI_1) ignoring tracked interface eth1 with weight -20 due to SYNC group" in messages(r)
    c = r.config
    assert c is not None
    # keepalived ignores the weighted tracker altogether (a failure changes nothing); the
    # unweighted one stays (its failure faults the instance, and so the group)
    assert [(t.name, t.weight) for t in c.vrrp_instances[0].track_interface] == [("eth2", None)]
    c = clean(
        base + "vrrp_sync_group G {\n group {\n VI_1\n VI_2\n }\n sync_group_tracking_weight\n}\n"
    )
    assert c.vrrp_instances[0].track_interface[0].weight == -20


def test_legacy_sync_group_members_are_unknown_and_group_removed() -> None:
    r = parse(inst_text() + "vrrp_sync_group VG1 {\n VI_1\n}\n")
    assert "Unknown keyword 'VI_1'" in " ".join(messages(r))
    assert "Sync group VG1 has no virtual router(s). removing" in messages(r)


def test_vmac_defaults() -> None:
    i = clean(inst_text(" use_vmac")).vrrp_instances[0]
    assert i.use_vmac is not None and (i.use_vmac.name, i.use_vmac.mac) == (
        "vrrp.5",
        "00:00:5e:00:01:05",
    )
    assert i.promote_secondaries
    i = clean(inst_text(" use_vmac vm1 02:11:22:33:44", vips="fe80::1")).vrrp_instances[0]
    assert i.use_vmac is not None and i.use_vmac.mac == "02:11:22:33:44:05"


def test_global_garp_defaults_flow_into_instances() -> None:
    c = clean(
        "global_defs {\n vrrp_garp_master_delay 2\n vrrp_garp_lower_prio_repeat 1\n}\n"
        + inst_text()
    )
    i = c.vrrp_instances[0]
    assert (i.garp_master_delay, i.garp_lower_prio_delay, i.garp_lower_prio_repeat) == (2.0, 2.0, 1)
    i = clean("global_defs {\n vrrp_min_garp\n}\n" + inst_text()).vrrp_instances[0]
    assert (i.garp_master_repeat, i.garp_master_delay) == (1, 0.0)


def test_smtp_alert_inheritance() -> None:
    c = clean("global_defs {\n smtp_alert\n}\n" + inst_text())
    assert c.vrrp_instances[0].smtp_alert
    c = clean("global_defs {\n smtp_alert\n smtp_alert_vrrp off\n}\n" + inst_text())
    assert not c.vrrp_instances[0].smtp_alert


def test_route_and_rule_lines() -> None:
    c = clean(inst_text(
        " virtual_routes {\n blackhole 198.51.100.0/24 no_track\n 10.9.0.0/16 src 10.0.0.1 dev eth0 table 100"
        " nexthop via 10.0.0.2 dev eth0 weight 2 nexthop via 10.0.0.3 dev eth1\n }\n"
        " virtual_rules {\n from 10.0.0.0/8 table 100 priority 10\n fwmark 0x10/0xff goto 20 priority 11\n }"
    ))  # fmt: skip
    r1, r2 = c.vrrp_instances[0].virtual_routes
    assert r1.type == "blackhole" and r1.dest == "198.51.100.0/24"
    assert [nh.via for nh in r2.nexthops] == ["10.0.0.2", "10.0.0.3"] and r2.nexthops[0].weight == 2
    q1, q2 = c.vrrp_instances[0].virtual_rules
    assert (q1.from_, q1.action, q1.table) == ("10.0.0.0/8", "table", "100")
    assert (q2.fwmark, q2.fwmask, q2.action, q2.goto) == (16, 255, "goto", 20)


def test_rule_without_preference_gets_keepalived_numbers() -> None:
    r = parse("static_rules {\n from 10.0.0.0/8 table 1\n to 10.1.0.0/16 table 2\n}\n")
    assert [m for m in messages(r) if "preference" in m] == [
        "Rule has no preference specified - setting to 16384. This is probably not what you want.",
        "Rule has no preference specified - setting to 16383. This is probably not what you want.",
    ]


def test_route_deprecations_and_bad_rule_address() -> None:
    r = parse(
        "static_routes {\n 10.1.0.0/16 gw 10.0.0.1 dev eth0\n 10.2.0.0/16 via 10.0.0.1 dev eth0 or 10.0.0.2\n}\n"
    )
    assert '"gw" for routes is deprecated. Please use "via"' in messages(r)
    assert '"or" for routes is deprecated. Please use "nexthop"' in messages(r)
    assert r.config is not None and len(r.config.static_routes[1].nexthops) == 2
    r = parse("static_rules {\n to 192.168.100./24 table 1 priority 5\n}\n")
    assert messages(r) == [
        "Invalid rule to address 192.168.100./24",
        "VRRP parsed invalid IP 192.168.100./24. skipping IP...",
    ]


def test_static_address_takes_default_interface() -> None:
    c = clean("global_defs {\n default_interface eth2\n}\nstatic_ipaddress {\n 192.0.2.1/24\n}\n")
    assert c.static_ipaddress[0].dev == "eth2"


def test_virtual_server_inheritance() -> None:
    c = clean(VS_FULL.format(
        " delay_loop 10\n connect_timeout 3\n retry 2\n inhibit_on_failure\n virtualhost vs.example\n"
        " real_server 10.0.0.2 80 {\n  weight 4\n  delay_before_retry 7\n"
        "  HTTP_GET {\n   url {\n    path /\n   }\n  }\n  MISC_CHECK {\n   misc_path /bin/true\n   retry 9\n  }\n }\n"
        " real_server 10.0.0.3 {\n  TCP_CHECK {\n   connect_port 81\n  }\n }"
    ))  # fmt: skip
    vs = c.virtual_servers[0]
    assert (
        vs.key == "10.0.0.1:80" and vs.protocol is Protocol.TCP and vs.lvs_method is LvsMethod.NAT
    )
    r1, r2 = vs.real_servers
    http, misc = r1.checkers
    assert isinstance(http, HttpGetCheck) and isinstance(misc, MiscCheck)
    assert (http.delay_loop, http.connect_timeout, http.retry, http.delay_before_retry) == (
        10.0,
        3.0,
        2,
        7.0,
    )
    assert (http.connect_ip, http.connect_port, http.virtualhost) == ("10.0.0.2", 80, "vs.example")
    assert http.warmup == 10.0 and http.urls[0].status_codes == ((200, 299),)
    assert misc.retry == 9 and misc.connect_ip is None
    assert r1.weight == 4 and r1.inhibit_on_failure
    assert r2.port == 80 and r2.checkers[0].connect_port == 81


def test_checker_type_defaults() -> None:
    c = clean(VS_FULL.format(
        " real_server 10.0.0.2 80 {\n  DNS_CHECK {\n  }\n  MISC_CHECK {\n   misc_path /bin/true\n  }\n"
        "  SSL_GET {\n   url {\n    path /\n   }\n  }\n }"
    ))  # fmt: skip
    dns, misc, ssl = c.virtual_servers[0].real_servers[0].checkers
    assert (dns.retry, dns.delay_before_retry, dns.type, dns.name) == (3, 60.0, "SOA", ".")
    assert misc.retry == 0 and misc.misc_timeout is None
    assert (ssl.retry, ssl.delay_before_retry, ssl.kind) == (1, 3.0, "SSL_GET")


def test_smtp_host_blocks_become_checkers() -> None:
    c = clean(VS_FULL.format(
        " real_server 10.0.0.2 25 {\n  SMTP_CHECK {\n   helo_name x\n   host {\n    connect_ip 10.0.0.8\n   }\n"
        "   host {\n    connect_ip 10.0.0.9\n    connect_port 2525\n   }\n  }\n }"
    ))  # fmt: skip
    checks = c.virtual_servers[0].real_servers[0].checkers
    assert all(isinstance(k, SmtpCheck) and k.helo_name == "x" for k in checks)
    assert [(k.connect_ip, k.connect_port) for k in checks] == [
        ("10.0.0.8", 25),
        ("10.0.0.9", 2525),
    ]


def test_virtual_server_messages_as_keepalived() -> None:
    r = parse("virtual_server 10.0.0.3 80 {\n lb_algo rr\n}\n")
    assert "Virtual server [10.0.0.3]:none:80 has no real servers - ignoring" in messages(r)
    r = parse("virtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 80 {\n }\n}\n")
    assert messages(r) == [
        "Virtual server [10.0.0.1]:none:80: no protocol set - defaulting to TCP",
        "Virtual server [10.0.0.1]:tcp:80: no scheduler set, setting default 'wlc'",
        "Virtual server [10.0.0.1]:tcp:80: no forwarding method set, setting default NAT",
    ]
    r = parse(
        "virtual_server fwmark 1 {\n protocol TCP\n lb_algo rr\n lb_kind DR\n real_server 10.0.0.2 {\n }\n}\n"
    )
    assert messages(r) == [
        "Warning: Virtual server FWM 1: protocol specified for fwmark - protocol will be ignored"
    ]
    r = parse(VS_FULL.format(" lb_algo foo\n real_server 10.0.0.2 80 {\n HTTP_GET {\n }\n }"))
    assert "Invalid lvs_scheduler 'foo' - ignoring" in messages(r)
    assert "HTTP/SSL_GET checker has no urls specified - ignoring" in messages(r)


def test_virtual_server_group_entries() -> None:
    c = clean(
        "virtual_server_group G {\n 192.168.200.3-10 80\n 10.0.0.0/30 443\n 10.1.0.1 0\n fwmark 7\n"
        " ae00::2-9 80\n}\n".replace(" ae00::2-9 80\n", "")
        + "virtual_server group G {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n real_server 10.0.0.9 80 {\n }\n}\n"
    )
    g = c.virtual_server_groups[0]
    assert [(a.start, a.end, a.port) for a in g.addresses] == [
        ("192.168.200.3", "192.168.200.10", 80), ("10.0.0.0", "10.0.0.3", 443), ("10.1.0.1", "10.1.0.1", None)]  # fmt: skip
    assert g.fwmarks[0].fwmark == 7
    c = clean("virtual_server_group G6 {\n ae00::2-9 80\n}\n")
    assert c.virtual_server_groups[0].addresses[0].end == "ae00::9"


def test_quorum_and_sorry_server() -> None:
    c = clean(VS_FULL.format(
        " quorum 7\n hysteresis 2\n alpha\n omega\n sorry_server 10.0.0.99 8080\n sorry_server_inhibit\n"
        " real_server 10.0.0.2 80 {\n weight 9\n }"
    ))  # fmt: skip
    vs = c.virtual_servers[0]
    assert (vs.quorum, vs.hysteresis, vs.alpha, vs.omega) == (7, 2, True, True)
    assert (
        vs.sorry_server is not None
        and vs.sorry_server.inhibit
        and vs.sorry_server.key == "10.0.0.99:8080"
    )


def test_ipv6_keys() -> None:
    c = clean(
        "virtual_server 2001:db8::1 80 {\n lb_algo rr\n lb_kind NAT\n protocol UDP\n"
        " real_server 2001:db8::2 8080 {\n }\n}\n"
    )
    vs = c.virtual_servers[0]
    assert (vs.key, vs.real_servers[0].key, vs.family) == (
        "[2001:db8::1]:80",
        "[2001:db8::2]:8080",
        Family.INET6,
    )


def test_model_is_picklable_and_msgpackable() -> None:
    c = clean(
        'vrrp_script s {\n script "/bin/true"\n}\n'
        + inst_text(" track_script {\n s\n }\n notify_master \"/bin/echo 'a b'\"")
        + VS_FULL.format(" real_server 10.0.0.2 80 {\n HTTP_GET {\n url {\n path /\n }\n }\n }")
    )
    assert pickle.loads(pickle.dumps(c)) == c
    packed = msgpack.packb(dataclasses.asdict(c))
    assert msgpack.unpackb(packed)["vrrp_instances"][0]["notify_master"]["argv"] == [
        "/bin/echo",
        "a b",
    ]
    from pykeepalived.bus.codec import to_wire

    assert to_wire(c)["virtual_servers"][0]["protocol"] == "tcp"


def test_frozen_model() -> None:
    c = Config()
    try:
        c.instance = "x"  # type: ignore[misc]
    except dataclasses.FrozenInstanceError:
        pass
    else:
        raise AssertionError("Config must be frozen")


def test_more_keepalived_2_2_7_messages() -> None:
    r = parse("global_defs {\n vrrp_garp_master_repeat 0\n}\n" + inst_text(" garp_master_repeat 0"))
    assert messages(r) == [
        "vrrp_garp_master_repeat must be greater than 0, setting to 1",
        "(VI_1): garp_master_repeat must be greater than 0, setting to 1",
    ]
    r = parse("global_defs {\n vrrp_strict\n}\n" + inst_text(" accept"))
    assert (
        "(VI_1) warning - accept mode for VRRP version 2 does not comply with RFC3768 - resetting"
        in messages(r)
    )
    assert r.config is not None and not r.config.vrrp_instances[0].accept
    assert (
        clean("global_defs {\n vrrp_strict\n}\n" + inst_text(" version 3\n accept"))
        .vrrp_instances[0]
        .accept
    )
    r = parse("global_defs {\n script_user no-such-user-here\n}\n")
    assert messages(r) == ["Error setting global script uid/gid"]


def test_quorum_reduced_to_total_weight() -> None:
    r = parse(VS_FULL.format(" quorum 5\n hysteresis 2\n real_server 10.0.0.2 80 {\n weight 2\n }"))
    assert messages(r) == [
        "Warning - quorum 5 for [10.0.0.1]:tcp:80 exceeds total weight of real servers 2, reducing quorum to 2",
        "Virtual server [10.0.0.1]:tcp:80: hysteresis 2 >= quorum 2; setting hysteresis to 0",
    ]
    assert r.config is not None
    vs = r.config.virtual_servers[0]
    assert (vs.quorum, vs.hysteresis) == (2, 0)


def test_advice_where_keepalived_is_silent() -> None:
    r = parse(inst_text(" unicast_peer {\n 10.0.0.6\n 10.0.0.6\n }"))
    assert r.exit_code == 0 and [d.code for d in r.diagnostics] == ["lint"]
    assert r.config is not None and len(r.config.vrrp_instances[0].unicast_peers) == 1
    r = parse(
        "virtual_server group NOPE {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n real_server 10.0.0.9 80 {\n }\n}\n"
    )
    assert r.exit_code == 0 and r.config is not None and r.config.virtual_servers == ()


def test_script_time_limits_are_on_the_script() -> None:
    c = clean(
        "global_defs {\n startup_script /bin/true\n startup_script_timeout 7\n}\n"
        'vrrp_script s {\n script "/bin/true"\n interval 3\n}\n'
        + VS_FULL.format(
            " delay_loop 9\n real_server 10.0.0.2 80 {\n MISC_CHECK {\n misc_path /bin/true\n }\n }"
        )
    )
    assert c.global_defs.startup_script is not None and c.global_defs.startup_script.timeout == 7.0
    assert c.vrrp_scripts[0].script.timeout == 3.0
    misc = c.virtual_servers[0].real_servers[0].checkers[0]
    assert (
        isinstance(misc, MiscCheck) and misc.misc_path is not None and misc.misc_path.timeout == 9.0
    )
