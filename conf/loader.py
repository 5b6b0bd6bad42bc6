"""Loading a configuration: preprocess → shape (lark) → keyword walk → model → checks.

:func:`load` is the entry point the parent process calls (in a short-lived child) and
``-t`` uses. It never raises on bad input: every problem becomes a
:class:`~pykeepalived.conf.diagnostics.Diagnostic`; an unexpected internal failure is
reported as one too (code ``internal``) rather than a traceback.
"""

from __future__ import annotations

import functools
import gc
import os
import random
import socket
from collections.abc import Collection
from dataclasses import replace
from pathlib import Path
from typing import Any

from pykeepalived.conf.diagnostics import Diagnostic, LoadResult
from pykeepalived.conf.keywords import addresses, global_defs, lvs, trackers, vrrp
from pykeepalived.conf.model import Config, GlobalDefs, PyKeepalivedSettings
from pykeepalived.conf.preprocess import Preprocessor, Stmt
from pykeepalived.conf.registry import ROOT_NAME, BlockDef, Ctx, Draft, all_keywords, walk
from pykeepalived.conf.shape import parse_shape


@functools.cache
def root_block() -> BlockDef:
    """The root of keepalived's keyword tree; each feature module registers its part."""
    root = BlockDef(ROOT_NAME)
    global_defs.register_root(root)
    addresses.register_root(root)
    trackers.register_root(root)
    vrrp.register_root(root)
    lvs.register_root(root)
    _mark_measured(root)
    return root


def _mark_measured(root: BlockDef) -> None:
    """Flag the keywords keepalived 2.2.7 does not know (``keywords/newer.py``), and give
    keywords keepalived's second message for a bad value (``keywords/followups.py``)."""
    from pykeepalived.conf.keywords.followups import FOLLOW_UPS, ON_ANY_INVALID
    from pykeepalived.conf.keywords.newer import NEWER_THAN_2_2_7

    todo, seen = [root], set()
    while todo:
        b = todo.pop()
        if id(b) in seen:
            continue
        seen.add(id(b))
        for name, kw in b.keywords.items():
            if name in NEWER_THAN_2_2_7.get(b.name, ()):
                kw.newer = True
            kw.followup = FOLLOW_UPS.get(b.name, {}).get(name, kw.followup)
            kw.followup_any = (b.name, name) in ON_ANY_INVALID
            if kw.block is not None:
                todo.append(kw.block)


@functools.cache
def _keyword_set() -> frozenset[str]:
    return frozenset(all_keywords(root_block()))


def default_config_id() -> str:
    """keepalived's default config-id: the node name up to the first dot."""
    return socket.gethostname().split(".", 1)[0]


def _model_fields(d: Draft) -> dict[str, Any]:
    return {k: v for k, v in d.items() if not k.startswith("_")}


def _global_defs(ctx: Ctx, d: Draft) -> GlobalDefs:
    fields = _model_fields(d)
    for k in ("notification_email", "vrrp_iptables", "vrrp_ipsets"):
        if isinstance(fields.get(k), list):
            fields[k] = tuple(fields[k])
    for k in (
        "startup_script_timeout",
        "shutdown_script_timeout",
        "smtp_connect_timeout",
        "vrrp_garp_master_delay",
        "vrrp_garp_master_refresh",
        "vrrp_garp_lower_prio_delay",
    ):
        if k in fields and fields[k] is not None:
            fields[k] = float(fields[k])
    # the startup/shutdown scripts carry their own time limit, so a runner needs no lookup
    for name in ("startup_script", "shutdown_script"):
        script = fields.get(name)
        if script is not None:
            fields[name] = replace(script, timeout=float(fields.get(f"{name}_timeout", 10.0)))
    return GlobalDefs(**fields)


def build(stmts: list[Stmt], ctx: Ctx, *, config_id: str, files: list[str]) -> Config:
    """Walk the statements with the keyword tables and build the model."""
    root: Draft = {}
    ctx.shared["all_keywords"] = _keyword_set()
    tree = parse_shape(stmts)
    walk(ctx, tree, root_block(), root)
    if root.get("net_namespace") or root.get("_global", {}).get("dynamic_interfaces"):
        # the daemon would run in another namespace, or interfaces may appear later
        # (dynamic_interfaces): this namespace's interfaces say nothing, as for keepalived
        ctx.interfaces = None
    gd = _global_defs(ctx, root.get("_global", {}))
    pyk = PyKeepalivedSettings(**_model_fields(root.get("_pykeepalived", {})))
    parts: dict[str, Any] = {}
    parts.update(vrrp.finalize(ctx, root, gd))
    parts.update(lvs.finalize(ctx, root, gd))
    statics = _statics(ctx, root, gd)
    return Config(
        global_defs=gd,
        pykeepalived=pyk,
        net_namespace=root.get("net_namespace"),
        net_namespace_ipvs=root.get("net_namespace_ipvs"),
        namespace_with_ipsets=root.get("namespace_with_ipsets", False),
        use_pid_dir=root.get("use_pid_dir", False),
        instance=root.get("instance"),
        child_wait_time=root.get("child_wait_time", 5),
        linkbeat_use_polling=root.get("linkbeat_use_polling", False),
        track_groups=tuple(root.get("_track_groups", {}).values()),
        vrrp_scripts=tuple(s for s, _ in root.get("_vrrp_scripts", [])),
        track_files=tuple(s for s, _ in root.get("_track_files", [])),
        track_processes=tuple(s for s, _ in root.get("_track_processes", [])),
        bfd_instances=tuple(s for s, _ in root.get("_bfd_instances", [])),
        config_id=config_id,
        files=tuple(files),
        **statics,
        **parts,
    )


def _statics(ctx: Ctx, root: Draft, gd: GlobalDefs) -> dict[str, Any]:
    from dataclasses import replace

    addrs = []
    missing = False
    for a, st in root.get("static_ipaddress", []):
        if a.dev is None:
            a = replace(a, dev=gd.default_interface)
        if ctx.interfaces is not None and a.dev not in ctx.interfaces:
            ctx.error(
                f"WARNING - interface {a.dev} for ip address {a.ip} doesn't exist", "interface", st
            )
            missing = True
        if a.track_group is not None and a.track_group not in root.get("_track_groups", {}):
            ctx.error(f"track_group {a.track_group} not found", "reference", st)
            a = replace(a, track_group=None)
        addrs.append(a)
    routes = []
    for r, st in root.get("static_routes", []):
        for dev in [r.dev] + [nh.dev for nh in r.nexthops]:
            if dev and ctx.interfaces is not None and dev not in ctx.interfaces:
                ctx.error(
                    f"WARNING - interface {dev} for VROUTE nexthop doesn't exist", "interface", st
                )
                missing = True
        if not r.no_track and not r.dev and not any(nh.dev for nh in r.nexthops):
            dest = vrrp.route_dest(r)
            ctx.warning(
                f"Warning - cannot track route {dest} with no interface specified, not tracking",
                "semantic",
                st,
            )
        routes.append(r)
    rules = [r for r, _ in root.get("static_rules", [])]
    if missing and not any(
        d.message == "Non-existent interface specified in configuration" for d in ctx.diagnostics
    ):
        ctx.at("", 0, "error", "Non-existent interface specified in configuration", "interface")
    return {
        "static_ipaddress": tuple(addrs),
        "static_routes": tuple(routes),
        "static_rules": tuple(rules),
    }


def load(
    path: str | Path,
    *,
    config_id: str | None = None,
    interfaces: Collection[str] | None = None,
    env: dict[str, str] | None = None,
    check_scripts: bool = True,
    seed: int | None = None,
) -> LoadResult:
    """Read, validate and build the configuration in ``path``.

    ``config_id`` is keepalived's ``-i`` (default: host name up to the first dot).
    ``interfaces``: the interface names of the namespace the daemon will run in; when
    given, names in the configuration are checked against them as keepalived does
    (None: not checked). ``check_scripts``: run keepalived's script security checks
    against the file system. Never raises on bad input.
    """
    cid = config_id if config_id is not None else default_config_id()
    pp = Preprocessor(
        config_id=cid,
        env=dict(os.environ) if env is None else env,
        rng=random.Random(seed),
    )
    return _run(pp, lambda: pp.run(str(path)), cid, interfaces, check_scripts)


def load_text(
    text: str,
    *,
    name: str = "<string>",
    config_id: str = "",
    interfaces: Collection[str] | None = None,
    env: dict[str, str] | None = None,
    check_scripts: bool = False,
    base_dir: str | None = None,
    seed: int | None = None,
) -> LoadResult:
    """:func:`load` for a configuration held in a string (tests, fuzzing)."""
    pp = Preprocessor(config_id=config_id, env={} if env is None else env, rng=random.Random(seed))
    return _run(pp, lambda: pp.run_text(text, name, base_dir), config_id, interfaces, check_scripts)


def _run(
    pp: Preprocessor,
    read: Any,
    cid: str,
    interfaces: Collection[str] | None,
    check_scripts: bool,
) -> LoadResult:
    from pykeepalived.conf import lint, security

    # A load allocates hundreds of thousands of small objects and frees none of them until
    # it is done: the cyclic collector's scans are pure overhead here (about a quarter of
    # the time on the benchmark), so it is paused for the load.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        stmts: list[Stmt] = read()
        if not pp.files:  # the main file itself is missing
            return LoadResult(None, list(pp.diagnostics))
        ctx = Ctx(
            config_id=cid, interfaces=frozenset(interfaces) if interfaces is not None else None
        )
        config = build(stmts, ctx, config_id=cid, files=pp.files)
        diags = pp.diagnostics + ctx.diagnostics
        if check_scripts:
            # keepalived's VRRP process stops before its script checks when an interface is
            # missing, or when it would run in another namespace
            no_if = any(d.code == "interface" and d.line == 0 for d in diags)
            config, sec = security.check(
                config,
                vrrp_side=not no_if and not config.net_namespace,
                default_reported=bool(ctx.shared.get("default_user_reported")),
            )
            diags += sec
        diags += lint.lint(config)
        return LoadResult(config, diags)
    except RecursionError:
        return LoadResult(
            None,
            [
                *pp.diagnostics,
                Diagnostic("error", "", 0, "Configuration nested too deeply", "internal"),
            ],
        )
    except Exception as exc:  # a bug here must not take the daemon down: report it
        where = pp._cur_file, pp._cur_line
        return LoadResult(
            None,
            [
                *pp.diagnostics,
                Diagnostic(
                    "error",
                    where[0],
                    where[1],
                    f"internal error while loading the configuration: {exc!r}",
                    "internal",
                ),
            ],
        )
    finally:
        if gc_was_enabled:
            gc.enable()
