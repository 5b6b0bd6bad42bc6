"""The Prometheus exposition of the daemon's gathered status (pure; text format 0.0.4).

Two sets of series:

* ``keepalived_*``: those of mehdy/keepalived-exporter v1.7 with its names, labels and
  value encodings, so dashboards and alerts written for it read pykeepalived unchanged
  (docs/ARCHITECTURE.md, "Metrics"). They come from the VRRP actor's status: per
  instance ``stats`` (keepalived's fourteen counters, ``actors/vrrp/stats.py``), ``vips``
  and ``evips`` in keepalived's text form, ``garp_delay``; per vrrp_script its verdict
  (``scripts``) and run state (``script_states``).
* ``pykeepalived_*``: the rest (processes, bus and actor counters, VRRP priorities and
  timer lateness, virtual and real servers, checkers, script runs).

Input is ``Parent.gather_status()`` (see ``report.py``); nothing here does I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from pykeepalived.actors.parent import report

#: the exporter's encodings (its parser's lists, by position)
SCRIPT_STATUS = {"BAD": 0, "GOOD": 1}
SCRIPT_STATES = {"idle": 0, "running": 1, "requested termination": 2, "forcing termination": 3}

#: exporter series name → keepalived's stats field (labels iname, intf, vrid)
EXPORTER_COUNTERS = (
    ("keepalived_advertisements_received_total", "advert_rcvd", "Adverts received."),
    ("keepalived_advertisements_sent_total", "advert_sent", "Adverts sent."),
    ("keepalived_become_master_total", "become_master", "Transitions to MASTER."),
    ("keepalived_release_master_total", "release_master", "Transitions out of MASTER."),
    ("keepalived_packet_length_errors_total", "packet_len_err", "Adverts of a bad length."),
    (
        "keepalived_advertisements_interval_errors_total",
        "advert_interval_err",
        "Adverts with another advert interval.",
    ),
    ("keepalived_ip_ttl_errors_total", "ip_ttl_err", "Adverts with a TTL/hop limit not 255."),
    ("keepalived_invalid_type_received_total", "invalid_type_rcvd", "Packets not adverts."),
    ("keepalived_address_list_errors_total", "addr_list_err", "Adverts with a bad address list."),
    ("keepalived_authentication_invalid_total", "invalid_authtype", "Unknown auth types."),
    ("keepalived_authentication_mismatch_total", "authtype_mismatch", "Other auth types."),
    ("keepalived_authentication_failure_total", "auth_failure", "Failed authentications."),
    ("keepalived_priority_zero_received_total", "pri_zero_rcvd", "Priority 0 adverts received."),
    ("keepalived_priority_zero_sent_total", "pri_zero_sent", "Priority 0 adverts sent."),
)

Sample = tuple[dict[str, Any], Any]


class Exposition:
    """Families in order; each HELP/TYPE once, samples whose value is no number dropped."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(self, name: str, kind: str, help_text: str, samples: Iterable[Sample]) -> None:
        rows = [(labels, _number(value)) for labels, value in samples]
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")
        for labels, value in rows:
            if value is None:
                continue
            if labels:
                text = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
                self.lines.append(f"{name}{{{text}}} {value}")
            else:
                self.lines.append(f"{name} {value}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _map(value: Any) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}


def _seq(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _items(value: Any) -> list[tuple[Any, Any]]:
    """A dict's items sorted by key text (keys from the bus may be of any type)."""
    return sorted(_map(value).items(), key=lambda kv: str(kv[0]))


def _children(status: dict[str, Any]) -> dict[Any, dict[str, Any]]:
    return {n: c for n, c in _map(status.get("children")).items() if isinstance(c, dict)}


def _label(value: Any) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: Any) -> str | None:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "+Inf" if value > 0 else "-Inf"
        return repr(value)
    return None


def render(status: dict[str, Any]) -> str:
    out = Exposition()
    vrrp_ok = _answered(status, "vrrp") or "vrrp" not in _children(status)
    out.family("keepalived_up", "gauge", "1 when the VRRP process answers.", [({}, vrrp_ok)])
    if vrrp_ok:
        exporter_series(out, status)
    process_series(out, status)
    vrrp_series(out, status)
    server_series(out, status)
    script_run_series(out, status)
    return out.text()


def _answered(status: dict[str, Any], child: str) -> bool:
    c = _children(status).get(child)
    return c is not None and bool(c.get("alive")) and "status" in c


# ---- the exporter's series ---------------------------------------------------------------
def parse_vip(text: str) -> tuple[str, str] | None:
    """The exporter's reading of ``ADDR dev DEV ...``: (ADDR, DEV), None if shorter."""
    parts = str(text).split(" ")
    return (parts[0], parts[2]) if len(parts) >= 3 else None


def _state_number(inst: dict[str, Any]) -> int:
    return report.KEEPALIVED_STATE_NUMBERS.get(str(inst.get("state")), 0)


def _common(inst: dict[str, Any]) -> dict[str, Any]:
    return {"iname": inst["instance"], "intf": inst.get("interface", ""), "vrid": inst.get("vrid")}


def _vip_samples(inst: dict[str, Any], key: str) -> list[Sample]:
    rows: list[Sample] = []
    for text in _seq(inst.get(key)):
        vip = parse_vip(text)
        if vip is not None:
            labels = {**_common(inst), "intf": vip[1], "ip_address": vip[0]}
            rows.append((labels, _state_number(inst)))
    if key == "vips" and not _seq(inst.get(key)):  # the exporter's series for an instance sans VIPs
        rows.append(({**_common(inst), "ip_address": ""}, _state_number(inst)))
    return rows


def exporter_series(out: Exposition, status: dict[str, Any]) -> None:
    instances = report.vrrp_instances(status)
    out.family(
        "keepalived_vrrp_state",
        "gauge",
        "VRRP state per virtual address: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT.",
        [s for i in instances for s in _vip_samples(i, "vips")],
    )
    out.family(
        "keepalived_vrrp_excluded_state",
        "gauge",
        "VRRP state per excluded virtual address: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT.",
        [s for i in instances for s in _vip_samples(i, "evips")],
    )
    for name, field, help_text in EXPORTER_COUNTERS:
        rows = [(_common(i), _map(i.get("stats")).get(field, 0)) for i in instances]
        out.family(name, "counter", help_text, rows)
    out.family(
        "keepalived_gratuitous_arp_delay_total",
        "counter",
        "The instance's garp_master_delay in seconds (as the exporter reports it).",
        [(_common(i), i.get("garp_delay", 0)) for i in instances],
    )
    vrrp = report.child_state(status, "vrrp")
    verdicts = _items(vrrp.get("scripts"))
    states = _items(vrrp.get("script_states"))
    out.family(
        "keepalived_script_status",
        "gauge",
        "vrrp_script verdict: 0 BAD, 1 GOOD.",
        [({"name": n}, SCRIPT_STATUS.get(str(v).upper())) for n, v in verdicts],
    )
    out.family(
        "keepalived_script_state",
        "gauge",
        "vrrp_script run state: 0 idle, 1 running, 2 requested termination, 3 forcing it.",
        [({"name": n}, SCRIPT_STATES.get(str(v))) for n, v in states],
    )


# ---- pykeepalived's own -------------------------------------------------------------------
def process_series(out: Exposition, status: dict[str, Any]) -> None:
    parent = _map(status.get("parent"))
    children = _children(status)
    out.family("pykeepalived_up", "gauge", "The parent answers.", [({}, 1)])
    out.family(
        "pykeepalived_uptime_seconds",
        "gauge",
        "Seconds since the parent started.",
        [({}, parent.get("uptime", 0.0))],
    )
    out.family(
        "pykeepalived_config_generation",
        "gauge",
        "Configuration generation (1 + reloads).",
        [({}, parent.get("generation", 0))],
    )
    out.family(
        "pykeepalived_child_up",
        "gauge",
        "1 when the child runs and answers status.",
        [({"child": n}, _answered(status, n)) for n in children],
    )
    out.family(
        "pykeepalived_child_restarts_total",
        "counter",
        "Restarts of each child.",
        [({"child": n}, c.get("restarts", 0)) for n, c in children.items()],
    )
    out.family(
        "pykeepalived_parent_events_total",
        "counter",
        "The parent's counters (bus.* are the broker's).",
        [({"name": k}, v) for k, v in _items(parent.get("counters"))],
    )
    rows: list[Sample] = []
    for n, c in children.items():
        for k, v in _items(_map(c.get("status")).get("counters")):
            rows.append(({"actor": n, "name": k}, v))
    out.family("pykeepalived_actor_events_total", "counter", "Each actor's own counters.", rows)


def vrrp_series(out: Exposition, status: dict[str, Any]) -> None:
    instances = report.vrrp_instances(status)
    if instances:
        out.family(
            "pykeepalived_vrrp_state",
            "gauge",
            "VRRP instance state: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT, 4 STOP.",
            [
                ({"iname": i["instance"]}, report.STATE_NUMBERS.get(str(i.get("state")), 0))
                for i in instances
            ],
        )
        out.family(
            "pykeepalived_vrrp_priority",
            "gauge",
            "Effective VRRP priority.",
            [({"iname": i["instance"]}, i.get("priority")) for i in instances],
        )
    late = report.child_state(status, "vrrp").get("timer_lateness")
    if isinstance(late, dict):
        for key, what in (("p50", "median"), ("p99", "99th percentile"), ("max", "maximum")):
            out.family(
                f"pykeepalived_vrrp_timer_lateness_{key}_seconds",
                "gauge",
                f"VRRP timer lateness, {what} over the recent timers.",
                [({}, late.get(key))],
            )


def server_series(out: Exposition, status: dict[str, Any]) -> None:
    services = report.virtual_servers(status)
    quorum: list[Sample] = []
    health: list[Sample] = []
    weight: list[Sample] = []
    traffic: dict[str, list[Sample]] = {}
    for vs in services:
        vs_labels = {"virtual_server": vs["virtual_server"], "protocol": vs["protocol"]}
        if "quorum_up" in vs:
            quorum.append((vs_labels, bool(vs["quorum_up"])))
        traffic_samples(traffic, "virtual_server", vs_labels, vs.get("traffic"))
        for rs in vs["real_servers"]:
            labels = {**vs_labels, "real_server": rs["real_server"]}
            if "healthy" in rs:
                health.append((labels, bool(rs["healthy"])))
            if "weight" in rs:
                weight.append((labels, rs["weight"]))
            traffic_samples(traffic, "realserver", labels, rs.get("traffic"))
    if quorum:
        out.family("pykeepalived_virtual_server_quorum_up", "gauge", "Quorum is met.", quorum)
    if health:
        out.family("pykeepalived_realserver_up", "gauge", "Real server health verdict.", health)
    if weight:
        out.family("pykeepalived_realserver_weight", "gauge", "Real server weight.", weight)
    for name, rows in traffic.items():
        what = name.split("_total")[0].rpartition("_")[2]
        out.family(name, "counter", f"{what.capitalize()} the datapath counted.", rows)
    checker_series(out, status)


#: the datapath's traffic fields → (series suffix, direction label or None)
TRAFFIC = {
    "connections": ("connections_total", None),
    "packets_in": ("packets_total", "in"),
    "packets_out": ("packets_total", "out"),
    "bytes_in": ("bytes_total", "in"),
    "bytes_out": ("bytes_total", "out"),
}


def traffic_samples(
    into: dict[str, list[Sample]], kind: str, labels: dict[str, Any], traffic: Any
) -> None:
    """IPVS counts all five per service and server; nftables connections per service."""
    for field, value in _items(traffic):
        if field in TRAFFIC and isinstance(value, int) and not isinstance(value, bool):
            suffix, direction = TRAFFIC[field]
            extra = {"direction": direction} if direction else {}
            into.setdefault(f"pykeepalived_{kind}_{suffix}", []).append(
                ({**labels, **extra}, value)
            )


def checker_series(out: Exposition, status: dict[str, Any]) -> None:
    up: list[Sample] = []
    failures: list[Sample] = []
    for vs in report._as_list(report.child_state(status, "checker").get("virtual_servers")):
        for rs in report._real_servers(vs):
            for check in _seq(rs.get("checkers")):
                if not isinstance(check, dict):
                    continue
                labels = {
                    "virtual_server": vs.get("virtual_server", "?"),
                    "protocol": vs.get("protocol", "tcp"),
                    "real_server": rs.get("real_server", "?"),
                    "checker": check.get("checker", check.get("kind", "?")),
                }
                up.append((labels, bool(check.get("up"))))
                failures.append((labels, check.get("failures")))
    if up:
        out.family("pykeepalived_checker_up", "gauge", "The checker's verdict.", up)
        out.family(
            "pykeepalived_checker_failures",
            "gauge",
            "Consecutive failed attempts of the checker now.",
            failures,
        )


def script_run_series(out: Exposition, status: dict[str, Any]) -> None:
    outcomes = ("started", "ok", "failed", "signalled", "timed_out", "refused", "exec_error")
    rows: list[Sample] = []
    for actor in sorted(_children(status), key=str):
        runs = _map(report.child_state(status, actor).get("script_runs"))
        for script, counts in _items(runs.get("by_name")):
            if isinstance(counts, dict):
                for outcome in outcomes:
                    labels = {"actor": actor, "script": script, "outcome": outcome}
                    rows.append((labels, counts.get(outcome, 0)))
    if rows:
        out.family(
            "pykeepalived_script_runs_total",
            "counter",
            "Script runs by outcome (started counts every start).",
            rows,
        )
