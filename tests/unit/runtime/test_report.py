"""Pure renderings of gathered status: ctl status, dumps, stats, keepalived JSON, metrics."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pykeepalived.actors.parent import report

STATUS: dict[str, Any] = {
    "parent": {"pid": 10, "uptime": 3725.0, "generation": 2, "host": "lb1",
               "counters": {"bus.events": 7, "bus.tap_dropped": 1}},
    "children": {
        "vrrp": {"pid": 11, "alive": True, "restarts": 1, "uptime": 12.5, "status": {
            "actor": "vrrp", "pid": 11, "uptime": 12.5, "generation": 2,
            "counters": {"bus.tx": 5},
            "state": {
                "instances": {
                    "VI_2": {"state": "BACKUP", "priority": 90, "vrid": 52},
                    "VI_1": {"state": "MASTER", "priority": 110, "base_priority": 100,
                             "vrid": 51, "interface": "eth0", "vips": ["10.0.0.1/32"],
                             "stats": {"advert_rcvd": 4}},
                },
                "groups": [{"group": "G1", "state": "MASTER"}],
            }}},
        "checker": {"pid": 12, "alive": True, "restarts": 0, "uptime": 3.0, "status": {
            "actor": "checker", "pid": 12, "uptime": 3.0, "generation": 2, "counters": {},
            "state": {"virtual_servers": [
                {"virtual_server": "10.0.0.1:80", "protocol": "tcp", "real_servers": [
                    {"real_server": "10.0.1.1:80", "alive": True,
                     "checkers": [{"checker": "TCP_CHECK"}]},
                    {"real_server": "10.0.1.2:80", "alive": False, "checkers": []}]}]}}},
        "ipvs": {"pid": 13, "alive": True, "restarts": 0, "uptime": 3.0, "status": {
            "actor": "ipvs", "pid": 13, "uptime": 3.0, "generation": 2, "counters": {},
            "state": {"virtual_servers": {"10.0.0.1:80": {
                "protocol": "tcp", "quorum_up": True,
                "real_servers": {"10.0.1.1:80": {"weight": 3, "active": True},
                                 "10.0.1.2:80": {"weight": 0, "active": False}}}}}}},
        "notifier": {"pid": None, "alive": False, "restarts": 2, "uptime": 0.0,
                     "error": "notifier is not connected"},
    },
}  # fmt: skip


def test_instances_and_services_are_read_tolerantly() -> None:
    insts = report.vrrp_instances(STATUS)
    assert [i["instance"] for i in insts] == ["VI_1", "VI_2"]
    vs = report.virtual_servers(STATUS)
    assert len(vs) == 1 and vs[0]["quorum_up"] is True
    rs = {r["real_server"]: r for r in vs[0]["real_servers"]}
    assert rs["10.0.1.1:80"] == {"real_server": "10.0.1.1:80", "weight": 3, "active": True,
                                 "healthy": True, "checkers": ["TCP_CHECK"]}  # fmt: skip
    assert rs["10.0.1.2:80"]["healthy"] is False and rs["10.0.1.2:80"]["weight"] == 0
    # list-shaped instances work too, and junk is skipped
    odd = {"children": {"vrrp": {"status": {"state": {"instances": [
        {"name": "X", "state": "FAULT"}, "junk", 3]}}}}}  # fmt: skip
    assert report.vrrp_instances(odd) == [{"name": "X", "state": "FAULT", "instance": "X"}]
    assert report.vrrp_instances({}) == [] and report.virtual_servers({"children": 1}) == []


def test_format_status_shows_processes_instances_and_servers() -> None:
    text = report.format_status(STATUS)
    assert "parent pid 10, up 1h02m05s, config generation 2" in text
    assert "notifier  not running" in text and "DOWN" in text
    assert "VI_1             MASTER  priority 110 (base 100)" in text
    assert "vrid 51, interface eth0" in text
    assert "G1               MASTER" in text
    assert "10.0.0.1:80 tcp  quorum up" in text
    assert "-> 10.0.1.2:80" in text and "weight 0  DOWN  inactive" in text
    assert "restarts 1" in text


def test_json_dump_keeps_keepalived_keys() -> None:
    data = report.json_dump(STATUS)
    first = data[0]
    assert first["data"]["iname"] == "VI_1" and first["data"]["state"] == 2
    assert first["data"]["priority"] == 100 and first["data"]["effective_priority"] == 110
    assert first["data"]["vips"] == ["10.0.0.1/32"] and first["stats"] == {"advert_rcvd": 4}
    assert data[1]["data"]["state"] == 1
    assert first["data"]["evips"] == [] and first["data"]["garp_delay"] is None
    odd = {"children": {"vrrp": {"status": {"state": {"instances": {"X": {"evips": 3}}}}}}}
    assert report.json_dump(odd)[0]["data"]["evips"] == []
    json.dumps(data)  # JSON-able


def test_data_and_stats_dumps_do_not_change_the_status() -> None:
    before = copy.deepcopy(STATUS)
    status = {**STATUS, "memcheck": {"vrrp": {"enabled": True, "current": 10, "peak": 20,
              "top_growth": [{"where": "a.py:1", "size_diff": 512, "count_diff": 3}]},
              "checker": {"enabled": False}}}  # fmt: skip
    text = report.format_data(status, ("vrrp", "checker", "absent"), "now")
    assert "------< vrrp >------" in text and "VI_1:" in text
    assert "+512 B" in text and "a.py:1" in text
    assert "memory check (checker): off" in text and "absent" not in text
    stats = report.format_stats(STATUS, "now")
    assert "VRRP Instance: VI_1" in stats and "advert_rcvd: 4" in stats
    assert "Process: notifier" in stats and "restarts: 2" in stats
    assert before == STATUS


def test_dump_paths_follow_keepalived() -> None:
    assert report.tmp_dir_from("relative") == "/tmp" and report.tmp_dir_from("/x") == "/x"
    assert report.dump_directory(None, "/tmp") == "/tmp"
    assert report.dump_directory("/var/dump/state.txt", "/tmp") == "/var/dump"
    assert report.dump_directory("/var/dump/", "/tmp") == "/var/dump"
    assert report.dump_directory("rel.data", "/tmp") == "/tmp"
    assert report.dump_file_name(None, "_parent") == "keepalived_parent.data"
    assert report.dump_file_name(None, "") == "keepalived.data"
    assert report.dump_file_name("/x/state.txt", "_check") == "state_check.txt"
    assert report.dump_file_name("/x/noext", "_check", "ns_i") == "noext_check.ns_i"


def _parse_metrics(text: str) -> dict[str, float]:
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        out[name] = float(value)
    return out


def test_metrics_text_format() -> None:
    text = report.render_metrics(STATUS)
    m = _parse_metrics(text)
    assert m['pykeepalived_child_restarts_total{child="notifier"}'] == 2
    assert m['pykeepalived_child_up{child="notifier"}'] == 0
    assert m['pykeepalived_child_up{child="vrrp"}'] == 1
    assert m['pykeepalived_vrrp_state{iname="VI_1"}'] == 2
    assert m['pykeepalived_vrrp_priority{iname="VI_2"}'] == 90
    assert m['pykeepalived_parent_events_total{name="bus.tap_dropped"}'] == 1
    assert m['pykeepalived_actor_events_total{actor="vrrp",name="bus.tx"}'] == 5
    key = 'virtual_server="10.0.0.1:80",protocol="tcp",real_server="10.0.1.2:80"'
    assert m[f"pykeepalived_realserver_up{{{key}}}"] == 0
    assert m[f"pykeepalived_realserver_weight{{{key}}}"] == 0
    for line in text.splitlines():
        if line.startswith("# TYPE"):
            assert line.split()[3] in ("gauge", "counter")


@settings(deadline=None, max_examples=60)
@given(st.text(max_size=20), st.integers(-5, 5))
def test_metric_labels_are_escaped(name: str, restarts: int) -> None:
    status = {"children": {name: {"alive": True, "restarts": restarts, "status": {}}}}
    text = report.render_metrics(status)
    for line in text.split("\n"):
        if line.startswith("pykeepalived_child_restarts_total"):
            assert line.endswith(f" {restarts}")
            inner = line[line.index("{") + 1 : line.rindex("}")]
            assert "\n" not in inner
            # every quote inside the label value is escaped
            value = inner[len('child="') : -1]
            assert value.replace('\\"', "").count('"') == 0
