"""The metrics exposition: keepalived-exporter v1.7's series, pykeepalived's own, promtool."""

from __future__ import annotations

import asyncio
import logging
import shutil
import subprocess
from collections import Counter
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pykeepalived.actors import scripts as script_io
from pykeepalived.actors.parent import metrics
from pykeepalived.actors.vrrp import stats as vrrp_stats

#: the field names the readers look for, so the junk reaches them
KEYS = ("instances", "vips", "evips", "stats", "scripts", "script_states", "timer_lateness",
        "script_runs", "by_name", "virtual_servers", "real_servers", "checkers", "state",
        "interface", "vrid", "virtual_server", "real_server", "quorum_up", "weight", "alive",
        "up", "failures", "garp_delay", "p50", "healthy", "protocol")  # fmt: skip

STATS = vrrp_stats.keepalived_stats(
    {"adverts_rx": 40, "adverts_tx": 7, "transitions.MASTER": 2, "release_master": 1,
     "rx_drop.truncated": 1, "rx_drop.bad_length": 2, "rx_drop.bad_ttl": 3,
     "rx_drop.auth_failed": 1, "rx_drop.ah_bad_icv": 1, "priority_zero_tx": 1,
     "rx_drop.bad_auth_type": 4, "rx_drop.interval_mismatch": 5}
)  # fmt: skip

STATUS: dict[str, Any] = {
    "parent": {"uptime": 9.5, "generation": 1, "counters": {"bus.events": 3}},
    "children": {
        "vrrp": {"alive": True, "restarts": 1, "status": {"counters": {"bus.tx": 2}, "state": {
            "instances": {
                "VI_1": {"state": "MASTER", "priority": 100, "vrid": 51, "interface": "eth0",
                         "stats": STATS, "garp_delay": 5,
                         "vips": ["10.1.0.1/24 dev eth0 scope global",
                                  "10.2.0.1 dev eth1 scope global"],
                         "evips": ["10.10.0.1 dev eth0 scope global"]},
                "VI_2": {"state": "FAULT", "priority": 0, "vrid": 52, "interface": "eth2",
                         "stats": vrrp_stats.keepalived_stats({}), "vips": [], "evips": []},
            },
            "scripts": {"chk_a": "good", "chk_b": "bad"},
            "script_states": {"chk_a": "running", "chk_b": "idle"},
            "timer_lateness": {"count": 3, "p50": 0.0001, "p99": 0.002, "max": 0.003},
            "script_runs": {"running": {}, "by_name": {"vrrp_script chk_a": {
                "started": 4, "ok": 3, "failed": 1}}},
        }}},
        "checker": {"alive": True, "restarts": 0, "status": {"counters": {}, "state": {
            "virtual_servers": [{"virtual_server": "10.0.0.1:80", "protocol": "tcp",
                                 "real_servers": [{"real_server": "10.0.1.1:80", "alive": False,
                                                   "checkers": [{"checker": "TCP_CHECK",
                                                                 "up": False,
                                                                 "failures": 2}]}]}]}}},
        "ipvs": {"alive": True, "restarts": 0, "status": {"counters": {}, "state": {
            "virtual_servers": [{"virtual_server": "10.0.0.1:80", "protocol": "tcp",
                                 "quorum_up": False, "traffic": {
                                     "connections": 1234, "packets_in": 5, "packets_out": 4,
                                     "bytes_in": 500, "bytes_out": 400},
                                 "real_servers": [{"real_server": "10.0.1.1:80",
                                                   "weight": 0, "traffic": {
                                                       "connections": 1200, "bytes_out": 9,
                                                       "junk": 1, "bytes_in": "x"}}]}]}}},
        "notifier": {"alive": False, "restarts": 3, "error": "gone"},
    },
}  # fmt: skip


def samples(text: str) -> dict[str, float]:
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def test_keepalived_stats_sum_the_actor_counters_in_keepalived_fields() -> None:
    assert list(STATS) == list(vrrp_stats.KEEPALIVED_STATS)  # all fourteen, always
    assert STATS["packet_len_err"] == 3 and STATS["auth_failure"] == 2
    assert STATS["invalid_authtype"] == 4 and STATS["authtype_mismatch"] == 0
    assert STATS["advert_interval_err"] == 5 and STATS["pri_zero_sent"] == 1
    assert vrrp_stats.keepalived_stats({})["advert_rcvd"] == 0


def test_vip_text_shows_the_prefix_as_keepalived_does() -> None:
    assert vrrp_stats.vip_text("10.1.0.1/24", "eth0") == "10.1.0.1/24 dev eth0 scope global"
    assert vrrp_stats.vip_text("10.1.0.1/32", "eth0", "host") == "10.1.0.1 dev eth0 scope host"
    assert vrrp_stats.vip_text("2001:db8::1/128", "e") == "2001:db8::1 dev e scope global"
    assert vrrp_stats.vip_text("2001:db8::1/64", "e").startswith("2001:db8::1/64 dev e ")
    assert metrics.parse_vip("10.1.0.1/24 dev eth0 scope global") == ("10.1.0.1/24", "eth0")
    assert metrics.parse_vip("10.1.0.1") is None


def test_exporter_series_names_labels_and_values() -> None:
    m = samples(metrics.render(STATUS))
    assert m["keepalived_up"] == 1
    vi1 = 'iname="VI_1",intf="eth0",vrid="51"'
    # one state series per VIP; intf is the VIP's device
    assert m[f'keepalived_vrrp_state{{{vi1},ip_address="10.1.0.1/24"}}'] == 2
    assert m['keepalived_vrrp_state{iname="VI_1",intf="eth1",vrid="51",ip_address="10.2.0.1"}'] == 2
    assert m[f'keepalived_vrrp_excluded_state{{{vi1},ip_address="10.10.0.1"}}'] == 2
    # an instance without VIPs still has its state, with an empty address
    assert m['keepalived_vrrp_state{iname="VI_2",intf="eth2",vrid="52",ip_address=""}'] == 3
    assert m[f"keepalived_advertisements_received_total{{{vi1}}}"] == 40
    assert m[f"keepalived_advertisements_sent_total{{{vi1}}}"] == 7
    assert m[f"keepalived_become_master_total{{{vi1}}}"] == 2
    assert m[f"keepalived_release_master_total{{{vi1}}}"] == 1
    assert m[f"keepalived_packet_length_errors_total{{{vi1}}}"] == 3
    assert m[f"keepalived_advertisements_interval_errors_total{{{vi1}}}"] == 5
    assert m[f"keepalived_ip_ttl_errors_total{{{vi1}}}"] == 3
    assert m[f"keepalived_authentication_invalid_total{{{vi1}}}"] == 4
    assert m[f"keepalived_authentication_failure_total{{{vi1}}}"] == 2
    assert m[f"keepalived_priority_zero_sent_total{{{vi1}}}"] == 1
    assert m[f"keepalived_gratuitous_arp_delay_total{{{vi1}}}"] == 5
    assert m['keepalived_authentication_mismatch_total{iname="VI_2",intf="eth2",vrid="52"}'] == 0
    assert m['keepalived_script_status{name="chk_a"}'] == 1
    assert m['keepalived_script_status{name="chk_b"}'] == 0
    assert m['keepalived_script_state{name="chk_a"}'] == 1
    assert m['keepalived_script_state{name="chk_b"}'] == 0
    per_instance = [n for n, _, _ in metrics.EXPORTER_COUNTERS]
    for name in per_instance:
        assert sum(1 for k in m if k.startswith(name + "{")) == 2, name


def test_pykeepalived_series() -> None:
    m = samples(metrics.render(STATUS))
    assert m['pykeepalived_child_up{child="notifier"}'] == 0
    assert m['pykeepalived_child_restarts_total{child="notifier"}'] == 3
    assert m['pykeepalived_parent_events_total{name="bus.events"}'] == 3
    assert m['pykeepalived_actor_events_total{actor="vrrp",name="bus.tx"}'] == 2
    assert m["pykeepalived_vrrp_timer_lateness_p99_seconds"] == 0.002
    assert m["pykeepalived_vrrp_timer_lateness_max_seconds"] == 0.003
    vs = 'virtual_server="10.0.0.1:80",protocol="tcp"'
    rs = vs + ',real_server="10.0.1.1:80"'
    assert m[f"pykeepalived_virtual_server_quorum_up{{{vs}}}"] == 0
    assert m[f"pykeepalived_virtual_server_connections_total{{{vs}}}"] == 1234
    assert m[f'pykeepalived_virtual_server_packets_total{{{vs},direction="in"}}'] == 5
    assert m[f'pykeepalived_virtual_server_bytes_total{{{vs},direction="out"}}'] == 400
    assert m[f"pykeepalived_realserver_connections_total{{{rs}}}"] == 1200
    assert m[f'pykeepalived_realserver_bytes_total{{{rs},direction="out"}}'] == 9
    assert not any(k.startswith("pykeepalived_realserver_packets") for k in m)
    assert f'pykeepalived_realserver_bytes_total{{{rs},direction="in"}}' not in m
    assert m[f"pykeepalived_realserver_up{{{rs}}}"] == 0
    assert m[f"pykeepalived_realserver_weight{{{rs}}}"] == 0
    assert m[f'pykeepalived_checker_up{{{rs},checker="TCP_CHECK"}}'] == 0
    assert m[f'pykeepalived_checker_failures{{{rs},checker="TCP_CHECK"}}'] == 2
    run = 'actor="vrrp",script="vrrp_script chk_a"'
    assert m[f'pykeepalived_script_runs_total{{{run},outcome="failed"}}'] == 1
    assert m[f'pykeepalived_script_runs_total{{{run},outcome="timed_out"}}'] == 0


def test_a_silent_vrrp_process_is_keepalived_down_with_no_vrrp_series() -> None:
    status = {"children": {"vrrp": {"alive": True, "restarts": 0, "error": "timeout"}}}
    text = metrics.render(status)
    assert samples(text)["keepalived_up"] == 0
    assert "keepalived_vrrp_state" not in text
    # no VRRP configured at all: nothing to report, and nothing is wrong
    assert samples(metrics.render({"children": {}}))["keepalived_up"] == 1


def test_script_state_words() -> None:
    loop = asyncio.new_event_loop()
    try:
        runner = script_io.ScriptRunner(loop, logging.getLogger("t"), Counter())
    finally:
        loop.close()
    assert runner.state_of("vrrp_script x") == "idle"
    run = SimpleNamespace(name="vrrp_script x", terminating=False, forced=False)
    runner.running[99] = run  # type: ignore[assignment]
    assert runner.state_of("vrrp_script x") == "running"
    run.terminating = True
    assert runner.state_of("vrrp_script x") == "requested termination"
    run.forced = True
    assert runner.state_of("vrrp_script x") == "forcing termination"
    assert runner.state_of("vrrp_script y") == "idle"


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian's prometheus)")
def test_promtool_accepts_the_exposition() -> None:
    for status in (STATUS, {"children": {}}, {"children": {"vrrp": {"alive": False}}}):
        text = metrics.render(status)
        res = subprocess.run(
            ["promtool", "check", "metrics"], input=text, capture_output=True, text=True,
            timeout=30,
        )  # fmt: skip
        assert res.returncode == 0, res.stdout + res.stderr
        assert res.stdout + res.stderr == ""  # not even a lint warning


LEAF = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
JUNK = st.recursive(
    LEAF,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=12,
)


def shaped(*keys: str, inner: Any = JUNK) -> Any:
    """A dict with some of ``keys``, each junk or (via ``inner``) a deeper shape."""
    return st.dictionaries(st.sampled_from(keys), inner, max_size=len(keys))


RS = shaped("real_server", "checkers", "alive", "weight", "healthy",
            inner=LEAF | st.lists(shaped("checker", "up", "failures"), max_size=2))  # fmt: skip
VS = shaped("virtual_server", "protocol", "quorum_up", "real_servers",
            inner=LEAF | st.lists(RS, min_size=1, max_size=2))  # fmt: skip
INST = shaped("state", "interface", "vrid", "vips", "evips", "stats", "garp_delay", "priority",
              inner=LEAF | JUNK | st.lists(st.text(max_size=30), max_size=2))  # fmt: skip
VRRP = shaped("instances", "scripts", "script_states", "timer_lateness", "script_runs",
              inner=LEAF | JUNK | st.dictionaries(st.text(max_size=4), INST, min_size=1,
                                                  max_size=2))  # fmt: skip
SERVERS = shaped("virtual_servers", "script_runs",
                 inner=LEAF | st.lists(VS, min_size=1, max_size=2))  # fmt: skip


@settings(deadline=None, max_examples=300)
@given(VRRP | JUNK, SERVERS | JUNK, SERVERS | JUNK)
def test_any_status_shape_renders_without_raising(vrrp: Any, checker: Any, ipvs: Any) -> None:
    """Status comes over the bus from other processes: whatever its shape, the scrape works."""
    status = {"parent": {"uptime": "x"}, "children": {
        "vrrp": {"alive": True, "status": {"counters": {1: 2}, "state": vrrp}},
        "checker": {"alive": True, "status": {"state": checker}},
        "ipvs": {"alive": True, "status": {"state": ipvs}}, "junk": 5}}  # fmt: skip
    text = metrics.render(status)
    assert text.startswith("# HELP keepalived_up ") and text.endswith("\n")
    for line in text[:-1].split("\n"):  # only a newline ends a line (not \x1e, ...)
        if not line.startswith("# "):
            float(line.rpartition(" ")[2])  # every sample ends with its value
