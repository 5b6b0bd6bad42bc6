"""Pure renderings of the daemon's gathered status: ctl status, dumps, stats, JSON, metrics.

Input is the dict of ``Parent.gather_status()``::

    {"parent": {pid, uptime, generation, counters, host},
     "children": {name: {pid, alive, restarts, uptime, status: {actor, pid, uptime,
                  generation, counters, state}} | {..., error}},
     "memcheck": {name: {...}}   # only in data dumps with --mem-check}

Each child's ``state`` is whatever its actor's ``status()`` returns. The readers here are
tolerant: VRRP instances are read from the vrrp actor's ``instances`` (a list of dicts or
a map name → dict), virtual servers from the ipvs actor's and the checker's
``virtual_servers`` (merged by service); anything missing is simply not shown.

Nothing here does I/O; time comes in as an argument where it is shown.
"""

from __future__ import annotations

import json
import os.path
from typing import Any

#: keepalived's numeric states in its JSON dump (vrrp_json.c)
KEEPALIVED_STATE_NUMBERS = {"INIT": 0, "BACKUP": 1, "MASTER": 2, "FAULT": 3, "STOP": 98}
STATE_NUMBERS = {"INIT": 0, "BACKUP": 1, "MASTER": 2, "FAULT": 3, "STOP": 4}


# ---- reading the gathered status --------------------------------------------------------
def child_state(status: dict[str, Any], name: str) -> dict[str, Any]:
    children = status.get("children")
    child = children.get(name) if isinstance(children, dict) else None
    inner = child.get("status") if isinstance(child, dict) else None
    state = inner.get("state") if isinstance(inner, dict) else None
    return state if isinstance(state, dict) else {}


def vrrp_instances(status: dict[str, Any]) -> list[dict[str, Any]]:
    """Every VRRP instance as a dict with at least ``instance``; sorted by name."""
    raw = child_state(status, "vrrp").get("instances")
    items: list[dict[str, Any]] = []
    if isinstance(raw, dict):
        for name, data in raw.items():
            if isinstance(data, dict):
                items.append({"instance": str(name), **data})
    elif isinstance(raw, list):
        for data in raw:
            if isinstance(data, dict):
                name = data.get("instance", data.get("name", data.get("iname", "?")))
                items.append({**data, "instance": str(name)})
    return sorted(items, key=lambda d: d["instance"])


def vrrp_groups(status: dict[str, Any]) -> list[dict[str, Any]]:
    raw = child_state(status, "vrrp").get("groups", child_state(status, "vrrp").get("sync_groups"))
    out: list[dict[str, Any]] = []
    if isinstance(raw, dict):
        out = [{"group": str(k), **v} for k, v in raw.items() if isinstance(v, dict)]
    elif isinstance(raw, list):
        out = [
            {**g, "group": str(g.get("group", g.get("name", "?")))}
            for g in raw
            if isinstance(g, dict)
        ]
    return sorted(out, key=lambda g: g["group"])


def _service_key(vs: dict[str, Any]) -> tuple[str, str]:
    return str(vs.get("virtual_server", vs.get("name", "?"))), str(vs.get("protocol", "tcp"))


def _as_list(raw: Any) -> list[dict[str, Any]]:
    if isinstance(raw, dict):
        return [
            {"virtual_server": str(k), **v} if "virtual_server" not in v else v
            for k, v in raw.items()
            if isinstance(v, dict)
        ]
    if isinstance(raw, list):
        return [v for v in raw if isinstance(v, dict)]
    return []


def _real_servers(vs: dict[str, Any]) -> list[dict[str, Any]]:
    raw = vs.get("real_servers", [])
    if isinstance(raw, dict):
        return [{"real_server": str(k), **v} for k, v in raw.items() if isinstance(v, dict)]
    if isinstance(raw, list):
        return [r for r in raw if isinstance(r, dict)]
    return []


def virtual_servers(status: dict[str, Any]) -> list[dict[str, Any]]:
    """Services merged from the ipvs actor (weights, active) and the checker (health)."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for source in ("ipvs", "checker"):
        for vs in _as_list(child_state(status, source).get("virtual_servers")):
            key = _service_key(vs)
            entry = merged.setdefault(
                key, {"virtual_server": key[0], "protocol": key[1], "real_servers": {}}
            )
            for field in ("quorum_up", "up", "scheduler", "lb_kind", "sorry_server", "active",
                          "traffic"):  # fmt: skip
                if field in vs and field not in entry:
                    entry[field] = vs[field]
            for rs in _real_servers(vs):
                name = str(rs.get("real_server", rs.get("address", "?")))
                target = entry["real_servers"].setdefault(name, {"real_server": name})
                if source == "checker":
                    target["healthy"] = bool(rs.get("alive", rs.get("up", False)))
                    checks = rs.get("checkers")
                    target["checkers"] = [
                        str(c.get("checker", c.get("kind", "?")))
                        for c in (checks if isinstance(checks, list) else [])
                        if isinstance(c, dict)
                    ]
                else:
                    for field in ("weight", "active", "inhibited", "healthy", "traffic"):
                        if field in rs and field not in target:
                            target[field] = rs[field]
    out = []
    for key in sorted(merged):
        entry = merged[key]
        entry["real_servers"] = [entry["real_servers"][k] for k in sorted(entry["real_servers"])]
        out.append(entry)
    return out


# ---- pykeepalivectl status ---------------------------------------------------------------
def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h{minutes:02d}m"
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def format_status(status: dict[str, Any]) -> str:
    """The human form of ``pykeepalivectl status``."""
    parent = status.get("parent", {})
    lines = [
        f"pykeepalived on {parent.get('host', '?')}: parent pid {parent.get('pid', '?')}, "
        f"up {_duration(parent.get('uptime', 0))}, config generation "
        f"{parent.get('generation', '?')}",
        "",
        "Processes:",
    ]
    children = status.get("children", {})
    if not children:
        lines.append("  (no children: nothing in the configuration to run)")
    for name, child in children.items():
        if child.get("alive"):
            health = "ok" if "status" in child else f"NOT ANSWERING ({child.get('error', '?')})"
            state = f"pid {child.get('pid')}, up {_duration(child.get('uptime', 0))}"
        else:
            health, state = "DOWN", "not running"
        lines.append(f"  {name:<9} {state:<28} restarts {child.get('restarts', 0):<3} {health}")
    instances = vrrp_instances(status)
    if instances:
        lines += ["", "VRRP instances:"]
        for inst in instances:
            extra = []
            for key in ("vrid", "interface", "family"):
                if inst.get(key) is not None:
                    extra.append(f"{key} {inst[key]}")
            prio = inst.get("priority", inst.get("effective_priority", "?"))
            base = inst.get("base_priority")
            prio_text = f"{prio}" + (f" (base {base})" if base not in (None, prio) else "")
            lines.append(
                f"  {inst['instance']:<16} {inst.get('state', '?'):<7} priority {prio_text}"
                + (f"  [{', '.join(extra)}]" if extra else "")
            )
    groups = vrrp_groups(status)
    if groups:
        lines += ["", "VRRP sync groups:"]
        for g in groups:
            lines.append(f"  {g['group']:<16} {g.get('state', '?')}")
    services = virtual_servers(status)
    if services:
        lines += ["", "Virtual servers:"]
        for vs in services:
            quorum = vs.get("quorum_up", vs.get("up"))
            qtext = "" if quorum is None else ("  quorum up" if quorum else "  QUORUM DOWN")
            lines.append(f"  {vs['virtual_server']} {vs['protocol']}{qtext}")
            for rs in vs["real_servers"]:
                bits = []
                if "weight" in rs:
                    bits.append(f"weight {rs['weight']}")
                if "healthy" in rs:
                    bits.append("UP" if rs["healthy"] else "DOWN")
                if rs.get("active") is False:
                    bits.append("inactive")
                if rs.get("checkers"):
                    bits.append("checks " + ",".join(rs["checkers"]))
                lines.append(f"    -> {rs['real_server']:<24} {'  '.join(bits)}")
    return "\n".join(lines) + "\n"


# ---- SIGUSR1 data dump, SIGUSR2 stats, JSON ------------------------------------------------
def dump_directory(state_dump_file: str | None, tmp_dir: str) -> str:
    """keepalived's open_dump_file: the state_dump_file's directory if absolute, else tmp."""
    if state_dump_file and os.path.isabs(state_dump_file):
        if state_dump_file.endswith("/"):
            return state_dump_file.rstrip("/") or "/"
        return os.path.dirname(state_dump_file) or "/"
    return tmp_dir


def dump_file_name(
    state_dump_file: str | None, suffix: str, instance_tag: str | None = None
) -> str:
    """``keepalived.data`` with ``_parent``/``_check`` inserted (``suffix``), as keepalived."""
    base = "keepalived.data"
    if state_dump_file and not state_dump_file.endswith("/"):
        base = os.path.basename(state_dump_file) or base
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    name = f"{stem}{suffix}" + (f".{ext}" if ext else "")
    if instance_tag:
        name += f".{instance_tag}"
    return name


def tmp_dir_from(env_tmpdir: str | None) -> str:
    """keepalived's tmp_dir: ``$TMPDIR`` when it is an absolute path, else /tmp."""
    if env_tmpdir and os.path.isabs(env_tmpdir):
        return env_tmpdir
    return "/tmp"


#: which processes' status goes in which data file (keepalived: parent, vrrp, check)
DATA_FILES = (
    ("_parent", ("parent", "notifier")),
    ("", ("vrrp", "netlink")),
    ("_check", ("checker", "ipvs")),
)


def _pretty(value: Any, indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                lines.append(f"{pad}{key}:")
                lines += _pretty(item, indent + 2)
            else:
                lines.append(f"{pad}{key} = {_scalar(item)}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, (dict, list)) and item:
                sub = _pretty(item, indent + 2)
                lines.append(f"{pad}- {sub[0].lstrip()}")
                lines += sub[1:]
            else:
                lines.append(f"{pad}- {_scalar(item)}")
    else:
        lines.append(f"{pad}{_scalar(value)}")
    return lines


def _scalar(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (dict, list)):
        return "(none)"
    return str(value)


def format_data(status: dict[str, Any], names: tuple[str, ...], now_text: str) -> str:
    """A SIGUSR1 data dump for the processes in ``names``: each one's whole status."""
    lines = [f"------< pykeepalived data dump: {now_text} >------", ""]
    memcheck = status.get("memcheck", {})
    for name in names:
        if name == "parent":
            section = {k: v for k, v in status.get("parent", {}).items()}
        elif name in status.get("children", {}):
            section = dict(status["children"][name])
        else:
            continue
        lines.append(f"------< {name} >------")
        lines += _pretty(section, 1)
        mem = memcheck.get(name)
        if isinstance(mem, dict):
            lines += format_memcheck(name, mem)
        lines.append("")
    return "\n".join(lines) + "\n"


def format_memcheck(name: str, mem: dict[str, Any]) -> list[str]:
    if not mem.get("enabled"):
        return [f" memory check ({name}): off (start with --mem-check)"]
    lines = [
        f" memory check ({name}): traced {mem.get('current', 0)} bytes now, "
        f"peak {mem.get('peak', 0)}; top growth since start:"
    ]
    for item in mem.get("top_growth", []):
        lines.append(
            f"   {item.get('size_diff', 0):+10d} B {item.get('count_diff', 0):+7d} blocks  "
            f"{item.get('where', '?')}"
        )
    return lines


def format_stats(status: dict[str, Any], now_text: str) -> str:
    """The SIGUSR2 stats dump: per VRRP instance statistics, then every process's counters."""
    lines = [f"------< pykeepalived statistics: {now_text} >------", ""]
    for inst in vrrp_instances(status):
        lines.append(f"VRRP Instance: {inst['instance']}")
        stats = inst.get("stats", inst.get("counters"))
        if isinstance(stats, dict):
            for key in sorted(stats):
                lines.append(f"  {key}: {stats[key]}")
        for key in ("state", "priority", "transitions"):
            if key in inst:
                lines.append(f"  {key}: {inst[key]}")
        lines.append("")
    sections = [("parent", status.get("parent", {}).get("counters", {}))]
    for name, child in status.get("children", {}).items():
        counters = dict((child.get("status") or {}).get("counters", {}))
        counters.setdefault("restarts", child.get("restarts", 0))
        sections.append((name, counters))
    for name, counters in sections:
        lines.append(f"Process: {name}")
        for key in sorted(counters):
            lines.append(f"  {key}: {counters[key]}")
        lines.append("")
    return "\n".join(lines) + "\n"


def json_dump(status: dict[str, Any]) -> list[dict[str, Any]]:
    """keepalived's JSON dump shape: one ``{"data": ..., "stats": ...}`` per VRRP instance.

    ``data`` keeps keepalived's key names that tools read (``iname``, ``vrid``,
    ``ifp_ifname``, ``state`` and ``wantstate`` as keepalived's numbers, ``priority``,
    ``effective_priority``, ``vips``, ``evips``, ``garp_delay``: what keepalived-exporter's
    JSON mode reads, with ``stats``); ``state_name`` and ``pykeepalived`` (the actor's own
    fields) are additions.
    """
    out = []
    for inst in vrrp_instances(status):
        state = str(inst.get("state", "INIT"))
        number = KEEPALIVED_STATE_NUMBERS.get(state, 0)
        vips = inst.get("vips", inst.get("virtual_ipaddress", []))
        evips = inst.get("evips", [])
        data = {
            "iname": inst["instance"],
            "vrid": inst.get("vrid"),
            "ifp_ifname": inst.get("interface"),
            "family": inst.get("family"),
            "state": number,
            "state_name": state,
            "wantstate": KEEPALIVED_STATE_NUMBERS.get(str(inst.get("wantstate", state)), number),
            "priority": inst.get("base_priority", inst.get("priority")),
            "effective_priority": inst.get("priority", inst.get("effective_priority")),
            "vips": [str(v) for v in vips] if isinstance(vips, list) else [],
            "evips": [str(v) for v in evips] if isinstance(evips, list) else [],
            "garp_delay": inst.get("garp_delay"),
            "last_transition": inst.get("last_transition"),
            "pykeepalived": {k: v for k, v in inst.items() if k not in ("stats", "counters")},
        }
        stats = inst.get("stats", inst.get("counters"))
        stats = stats if isinstance(stats, dict) else {}
        out.append({"data": data, "stats": stats})
    return out


# ---- Prometheus text format ------------------------------------------------------------------
def render_metrics(status: dict[str, Any]) -> str:
    """The metrics text (``metrics.py``; docs/ARCHITECTURE.md, "Metrics")."""
    from pykeepalived.actors.parent import metrics

    return metrics.render(status)


def to_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str)
