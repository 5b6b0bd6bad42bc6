"""Tracked objects: ``vrrp_script``, ``track_file`` (and deprecated ``vrrp_track_file``),
``vrrp_track_process`` and ``bfd_instance``. Each registers its name in ``ctx.shared`` when
its block closes, so later ``track_*`` lines can check the reference as keepalived does
(an object must be defined before it is tracked)."""

from __future__ import annotations

from typing import cast

from pykeepalived.conf import values as V
from pykeepalived.conf.keywords import common as C
from pykeepalived.conf.model import BfdInstance, TrackFile, TrackProcess, VrrpScript
from pykeepalived.conf.preprocess import Stmt
from pykeepalived.conf.registry import BlockDef, Ctx, Draft

SCRIPT = BlockDef("vrrp_script")
TRACK_FILE = BlockDef("track_file")
PROCESS = BlockDef("vrrp_track_process")
BFD = BlockDef("bfd_instance")


def _weight(
    lo: int, hi: int, *, reverse_words: tuple[str, ...] = ("reverse",), kind: str = ""
) -> C.Handler:
    """``weight W [reverse]``; ``kind`` names the block in keepalived's second message
    (``vrrp_script NAME weight W must be in [lo, hi]``), when it gives one."""

    def h(ctx: Ctx, d: Draft, st: Stmt) -> None:
        w = C.arg(ctx, st)
        if w is None:
            return
        v = V.integer(ctx, w, lo, hi)
        if v is None:
            if kind:
                msg = f"{kind} {d['name']} weight {w} must be in [{lo}, {hi}]"
                ctx.error(msg, "invalid-value", st)
            return
        d["weight"] = v
        if len(st.words) > 2:
            if st.words[2] in reverse_words:
                d["reverse"] = st.words[2] == "reverse"
            else:
                ctx.error(f"Unknown weight option '{st.words[2]}'", "invalid-value", st)

    return h


def _named_open(kind: str, shared: str) -> C.OpenFn:  # type: ignore[name-defined]
    def o(ctx: Ctx, root: Draft, st: Stmt) -> Draft | None:
        name = C.arg(ctx, st, 1, f"{kind} name")
        if name is None:
            return None
        C.extra(ctx, st, 1)
        if name in ctx.shared.setdefault(shared, {}):
            # keepalived 2.2.7's -t says nothing here; the first definition is kept
            ctx.warning(f"{kind} {name} already defined - ignoring", "lint", st)
            return None
        return {"name": name, "_stmt": st}

    return o


# ---------------------------------------------------------------- vrrp_script


def _interval(field: str) -> C.Handler:
    def h(ctx: Ctx, d: Draft, st: Stmt) -> None:
        w = C.arg(ctx, st)
        if w is None:
            return
        v = V.decimal(ctx, w, 0, 4294.967295, places=3)
        if v is None:
            ctx.error(
                f"({d['name']}): vrrp script {field} '{w}' must be between 1 and 4294 - ignoring",
                "invalid-value",
                st,
            )
            return
        if v == 0:
            ctx.error(
                f"({d['name']}): vrrp script {field} must be greater than 0, setting to 1",
                "invalid-value",
                st,
            )
        d[field] = v or 1.0

    return h


def _rise_fall(field: str) -> C.Handler:
    def h(ctx: Ctx, d: Draft, st: Stmt) -> None:
        w = C.arg(ctx, st)
        if w is None:
            return
        v = V.uint(ctx, w, 1, V.INT_MAX)
        if v is None:
            ctx.error(
                f"({d['name']}): vrrp script {field} value '{w}' invalid, defaulting to 1",
                "invalid-value",
                st,
            )
            v = 1
        d[field] = v

    return h


def _no_default_user(d: Draft, root: Draft) -> bool:
    """keepalived 2.2.7, as it reads a vrrp_script: with ``enable_script_security`` a
    script that has no user of its own needs ``script_user`` or the ``keepalived_script``
    account; without either it is removed (and instances tracking it then do not)."""
    gd = root.get("_global", {})
    if "_user" in d or not gd.get("enable_script_security") or gd.get("script_user"):
        return False
    return not C.account_exists("keepalived_script", None)


def _close_script(ctx: Ctx, d: Draft, root: Draft) -> None:
    name = d["name"]
    if "script" not in d:
        ctx.error(f"No script set for vrrp_script {name} - removing", "missing")
        return
    s = d["script"]
    if "_user_bad" in d:  # keepalived drops it; instances tracking it then do not
        ctx.error(f"Unable to set uid/gid for script {C.cmd_str(s.argv)}", "reference",
                  d["_user_bad"])  # fmt: skip
        return
    if _no_default_user(d, root):
        ctx.error("Unable to set default user keepalived_script for script", "missing")
        ctx.error(f"Unable to set default user for vrrp script {name} - removing", "missing")
        ctx.shared["default_user_reported"] = True
        return
    interval = d.get("interval", 1.0)
    s = s.__class__(
        argv=s.argv,
        raw=s.raw,
        user=d.get("_user", s.user),
        group=d.get("_group", s.group),
        timeout=d.get("timeout", interval),
    )
    vs = VrrpScript(
        name=name,
        script=s,
        interval=interval,
        timeout=cast(float, d.get("timeout", interval)),
        weight=d.get("weight", 0),
        reverse=d.get("reverse", False),
        rise=d.get("rise", 1),
        fall=d.get("fall", 1),
        init_fail=d.get("init_fail", False),
    )
    ctx.shared.setdefault("scripts", {})[name] = vs
    root.setdefault("_vrrp_scripts", []).append((vs, d["_stmt"]))


SCRIPT.scalar("script", C.script_field("script"))
SCRIPT.scalar("interval", _interval("interval"))
SCRIPT.scalar("timeout", _interval("timeout"))
SCRIPT.scalar("weight", _weight(-253, 253, kind="vrrp_script"))
SCRIPT.scalar("rise", _rise_fall("rise"))
SCRIPT.scalar("fall", _rise_fall("fall"))
SCRIPT.scalar("user", C.script_user)
SCRIPT.scalar("init_fail", C.flag("init_fail"))


# ---------------------------------------------------------------- track_file


def _init_file(ctx: Ctx, d: Draft, st: Stmt) -> None:
    d["init_file"] = True
    for w in st.words[1:]:
        if w == "overwrite":
            d["init_overwrite"] = True
        else:
            v = V.integer(ctx, w, -V.INT_MAX, V.INT_MAX)
            if v is not None:
                d["init_value"] = v


def _close_track_file(ctx: Ctx, d: Draft, root: Draft) -> None:
    name = d["name"]
    if "file" not in d:
        ctx.error(f"No file set for track_file {name} - removing", "missing")
        return
    tf = TrackFile(
        name=name,
        file=d["file"],
        weight=d.get("weight", 1),
        reverse=d.get("reverse", False),
        init_file=d.get("init_file", False),
        init_value=d.get("init_value", 0),
        init_overwrite=d.get("init_overwrite", False),
    )
    ctx.shared.setdefault("track_files", {})[name] = tf
    root.setdefault("_track_files", []).append((tf, d["_stmt"]))


TRACK_FILE.scalar("file", C.string("file"))
TRACK_FILE.scalar("weight", _weight(-254, 254, reverse_words=("reverse", "noreverse")))
TRACK_FILE.scalar("init_file", _init_file)


# ---------------------------------------------------------------- vrrp_track_process


def _process(ctx: Ctx, d: Draft, st: Stmt) -> None:
    words = V.split_quoted(st.text)
    if len(words) < 2:
        ctx.error("process requires a process name", "missing-parameter", st)
        return
    d["process"] = words[1]
    d["params"] = tuple(words[2:])


def _param_match(ctx: Ctx, d: Draft, st: Stmt) -> None:
    if len(st.words) == 1:
        d["param_match"] = "exact"
        d["full_command"] = True
        return
    if st.words[1] not in ("initial", "partial"):
        ctx.error(f"Unknown param_match type '{st.words[1]}'", "invalid-value", st)
        return
    d["param_match"] = st.words[1]
    d["full_command"] = True


def _delay(field: str | None) -> C.Handler:
    def h(ctx: Ctx, d: Draft, st: Stmt) -> None:
        w = C.arg(ctx, st)
        if w is None:
            return
        v = V.decimal(ctx, w, 0.000001, 3600)
        if v is None:
            return
        if field is None:
            d["fork_delay"] = d["terminate_delay"] = v
        else:
            d[field] = v

    return h


def _close_process(ctx: Ctx, d: Draft, root: Draft) -> None:
    name = d["name"]
    if "process" not in d:
        ctx.error(f"track process '{name}' process name not specified", "missing")
        return
    q = d.get("quorum", 1)
    qmax = d.get("quorum_max")
    if qmax is not None and qmax < q and qmax != 0:
        ctx.error(
            f"vrrp_track_process {name} quorum_max {qmax} < quorum {q}", "invalid-value", d["_stmt"]
        )
    tp = TrackProcess(
        name=name,
        process=d["process"],
        params=d.get("params", ()),
        param_match=d.get("param_match", "exact"),
        full_command=d.get("full_command", bool(d.get("params"))),
        weight=d.get("weight", 0),
        reverse=d.get("reverse", False),
        quorum=q,
        quorum_max=qmax,
        fork_delay=d.get("fork_delay", 0.0),
        terminate_delay=d.get("terminate_delay", 0.0),
    )
    ctx.shared.setdefault("processes", {})[name] = tp
    root.setdefault("_track_processes", []).append((tp, d["_stmt"]))


PROCESS.scalar("process", _process)
PROCESS.scalar("param_match", _param_match)
PROCESS.scalar("weight", _weight(-254, 254, reverse_words=("reverse", "noreverse")))
PROCESS.scalar("quorum", C.uint("quorum", 1, 65535))
PROCESS.scalar("quorum_max", C.uint("quorum_max", 0, 65535))
PROCESS.scalar("delay", _delay(None))
PROCESS.scalar("terminate_delay", _delay("terminate_delay"))
PROCESS.scalar("fork_delay", _delay("fork_delay"))
PROCESS.scalar("full_command", C.flag("full_command"))


# ---------------------------------------------------------------- bfd_instance


def _ip(field: str) -> C.Handler:
    def h(ctx: Ctx, d: Draft, st: Stmt) -> None:
        w = C.arg(ctx, st)
        if w is None:
            return
        a = V.ip_address(ctx, w, f"{st.words[0]} address")
        if a is not None:
            d[field] = a

    return h


def _ms(field: str, lo: float) -> C.Handler:
    def h(ctx: Ctx, d: Draft, st: Stmt) -> None:
        w = C.arg(ctx, st)
        if w is None:
            return
        v = V.decimal(ctx, w, lo, 4294967.295, places=3)
        if v is not None:
            if field == "min_rx_ms" and v > 10000:
                ctx.warning(f"min_rx {w} ms is very long", "semantic", st)
            d[field] = v

    return h


def _bfd_only(which: str) -> C.Handler:
    def h(ctx: Ctx, d: Draft, st: Stmt) -> None:
        d["vrrp"] = which == "vrrp"
        d["checker"] = which == "checker"

    return h


def _open_bfd(ctx: Ctx, root: Draft, st: Stmt) -> Draft | None:
    d = _named_open("bfd_instance", "bfd")(ctx, root, st)
    if d is not None and len(d["name"]) >= 32:
        ctx.error(
            f"bfd_instance name {d['name']} too long (max 31) - ignoring", "invalid-value", st
        )
        return None
    return d


def _close_bfd(ctx: Ctx, d: Draft, root: Draft) -> None:
    name = d["name"]
    if "neighbor_ip" not in d:
        ctx.error(
            f"Configuration error: BFD instance {name} has no neighbor address set, "
            "disabling instance",
            "missing",
        )
        return
    src = d.get("source_ip")
    if src is not None and V.family_of(src) is not V.family_of(d["neighbor_ip"]):
        ctx.error(
            f"Configuration error: BFD instance {name} source address {src} and neighbor "
            f"address {d['neighbor_ip']} are not of the same family, disabling instance",
            "invalid-address",
        )
        return
    fields = {k: v for k, v in d.items() if not k.startswith("_")}
    b = BfdInstance(**fields)
    ctx.shared.setdefault("bfd", {})[name] = b
    root.setdefault("_bfd_instances", []).append((b, d["_stmt"]))


BFD.scalar("neighbor_ip", _ip("neighbor_ip"))
BFD.scalar("neighbour_ip", _ip("neighbor_ip"))
BFD.scalar("source_ip", _ip("source_ip"))
BFD.scalar("min_rx", _ms("min_rx_ms", 1))
BFD.scalar("min_tx", _ms("min_tx_ms", 1))
BFD.scalar("idle_tx", _ms("idle_tx_ms", 1000))
BFD.scalar("multiplier", C.uint("multiplier", 1, 255))
BFD.scalar("passive", C.flag("passive"))
BFD.scalar("ttl", C.uint("ttl", 1, 255))
BFD.scalar("hoplimit", C.uint("ttl", 1, 255))
BFD.scalar("max_hops", C.integer("max_hops", -1, 255))
BFD.scalar("multihop", C.boolean("multihop"))
BFD.scalar("weight", _weight(-253, 253))
BFD.scalar("vrrp", _bfd_only("vrrp"))
BFD.scalar("checker", _bfd_only("checker"))


def register_root(root: BlockDef) -> None:
    root.sub("vrrp_script", SCRIPT, _named_open("vrrp_script", "scripts"), _close_script)
    root.sub("track_file", TRACK_FILE, _named_open("track_file", "track_files"), _close_track_file)
    root.sub(
        "vrrp_track_file",
        TRACK_FILE,
        _named_open("track_file", "track_files"),
        _close_track_file,
        deprecated="vrrp_track_file is deprecated, please use track_file",
    )
    root.sub(
        "vrrp_track_process",
        PROCESS,
        _named_open("vrrp_track_process", "processes"),
        _close_process,
        unimplemented="processes are not tracked: priority and state ignore them",
    )
    root.sub(
        "bfd_instance",
        BFD,
        _open_bfd,
        _close_bfd,
        unimplemented="BFD sessions (no BFD actor); track_bfd and BFD_CHECK stay up",
    )
