"""Script security, as keepalived checks it when it loads a configuration.

Every script keyword (notify_*, vrrp_script ``script``, MISC_CHECK ``misc_path``,
quorum_up/down, notify_up/down, startup/shutdown scripts, *notify_fifo_script) names a
program. Each is resolved (``PATH`` search for a bare name) and examined:

* not found or not accessible → "Script %s cannot be accessed" (keepalived logs this and
  drops the script; ``-t`` does not count it), except a ``vrrp_script``: "Disabling
  track script %s since not found/accessible", which ``-t`` counts (the VRRP side only
  when every interface exists, as keepalived's VRRP process gets that far only then);
* it would run as root while ``enable_script_security`` is off → keepalived's
  ``SECURITY VIOLATION - scripts are being executed but script_security not enabled.``
  (``-t`` exits 6);
* ``enable_script_security`` is on and a script running as root could be modified by a
  non-root user (the file or a directory on its path is not owned by root, or is
  writable by group/other, sticky directories excepted) → "Unsafe permissions found for
  script '%s' - disabling." and the script is removed from the model, as keepalived
  disables it (a ``vrrp_script`` that is disabled takes its ``track_script`` entries
  with it: "Disabling track script %s due to insecure");
* a script whose own user/group does not exist is dropped: "Invalid user/group for notify
  script %s - ignoring" (logged only; -t exits 0), but for startup/shutdown scripts
  "Invalid startup script" (a config error). vrrp_script and MISC_CHECK users are checked
  when their block is read (``conf/keywords/common.py`` ``script_user``);
* ``enable_script_security`` with no ``script_user`` and no ``keepalived_script`` user →
  "Unable to set default user keepalived_script for script" (a config error, as -t).

The user a script runs as: its own ``user``, else global ``script_user``, else
``keepalived_script`` when that account exists, else root.
"""

from __future__ import annotations

import os
import pwd
import stat
from dataclasses import fields, is_dataclass, replace
from typing import Any

from pykeepalived.conf.diagnostics import SECURITY_VIOLATION, Diagnostic
from pykeepalived.conf.model import (
    Config,
    MiscCheck,
    NotifyScript,
    VrrpInstance,
    VrrpScript,
    VrrpSyncGroup,
)

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _uid_of(user: str | None) -> int | None:
    if user is None:
        return None
    if user.isdigit():
        return int(user)
    try:
        return pwd.getpwnam(user).pw_uid
    except KeyError:
        return -1


def resolve(argv0: str, path_env: str | None = None) -> str | None:
    """The file a script's first word names (PATH search for bare names)."""
    if "/" in argv0:
        return argv0 if os.path.exists(argv0) else None
    for d in (path_env or os.environ.get("PATH") or DEFAULT_PATH).split(":"):
        cand = os.path.join(d or ".", argv0)
        if os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    return None


def insecure(path: str) -> bool:
    """True if a non-root user could change what ``path`` runs."""
    p = os.path.abspath(path)
    parts = []
    while True:
        parts.append(p)
        parent = os.path.dirname(p)
        if parent == p:
            break
        p = parent
    for comp in parts:
        try:
            st = os.stat(comp)
        except OSError:
            return True
        if st.st_uid != 0:
            return True
        is_dir = stat.S_ISDIR(st.st_mode)
        if (st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)) and not (
            is_dir and st.st_mode & stat.S_ISVTX
        ):
            return True
    return False


def _scripts(config: Config) -> list[tuple[str, NotifyScript, Any]]:
    """Every script of the configuration: (side, script, the object that holds it).

    Explicit rather than a generic walk over the model: a large configuration has
    hundreds of thousands of model objects and only a handful of script fields.
    """
    out: list[tuple[str, NotifyScript, Any]] = []
    gd = config.global_defs
    for name in _GLOBAL_SCRIPTS:
        s = getattr(gd, name)
        if s is not None:
            out.append(("vrrp", s, gd))
    if config.vrrp_instances:
        # keepalived's VRRP process checks every vrrp_script, tracked or not (measured:
        # an untracked one that cannot be run is "Disabling track script"); with no
        # instance there is no VRRP process and nothing is checked
        for vs in config.vrrp_scripts:
            out.append(("vrrp", vs.script, vs))
    for holder in (*config.vrrp_instances, *config.vrrp_sync_groups):
        for name in _VRRP_NOTIFY:
            s = getattr(holder, name, None)
            if s is not None:
                out.append(("vrrp", s, holder))
    for v in config.virtual_servers:
        for s in (v.quorum_up, v.quorum_down):
            if s is not None:
                out.append(("checker", s, v))
        for rs in v.real_servers:
            for s in (rs.notify_up, rs.notify_down):
                if s is not None:
                    out.append(("checker", s, rs))
            for c in rs.checkers:
                if isinstance(c, MiscCheck) and c.misc_path is not None:
                    out.append(("checker", c.misc_path, c))
    return out


_GLOBAL_SCRIPTS = (
    "startup_script",
    "shutdown_script",
    "notify_fifo_script",
    "vrrp_notify_fifo_script",
    "lvs_notify_fifo_script",
)
_VRRP_NOTIFY = (
    "notify_master",
    "notify_backup",
    "notify_fault",
    "notify_stop",
    "notify",
    "notify_deleted_script",
    "notify_master_rx_lower_pri",
)


def check(
    config: Config, *, vrrp_side: bool = True, default_reported: bool = False
) -> tuple[Config, list[Diagnostic]]:
    """Run the checks; returns the config with disabled scripts removed, and diagnostics.

    ``vrrp_side`` False skips the VRRP side's scripts: keepalived's VRRP process stops
    before its script checks when an interface does not exist, so -t says nothing there.
    ``default_reported``: the missing default script user was already reported while the
    configuration was read (keepalived says it once).
    """
    gd = config.global_defs
    diags: list[Diagnostic] = []
    default_user = gd.script_user
    ks_exists = _uid_of("keepalived_script") not in (None, -1)
    if default_user is None and ks_exists:
        default_user = "keepalived_script"
    found = _scripts(config)
    violation: set[str] = set()
    unsafe: set[int] = set()
    reported_default = False
    for side, script, owner in found:
        file = getattr(owner, "file", "") or ""
        line = getattr(owner, "line", 0) or 0
        user = script.user or default_user
        if (
            gd.enable_script_security
            and user is None
            and not reported_default
            and not default_reported
        ):
            diags.append(
                Diagnostic(
                    "error",
                    file,
                    line,
                    "Unable to set default user keepalived_script for script",
                    "missing",
                )
            )
            reported_default = True
        uid = _uid_of(user) if user is not None else os.geteuid()
        if uid == -1:
            diags.append(_unknown_user(owner, script, file, line))
            unsafe.add(id(script))  # keepalived drops the script when it reads it
            continue
        target = resolve(script.argv[0])
        missing = target is None or not os.access(target, os.X_OK)
        if missing and isinstance(owner, VrrpScript) and vrrp_side:
            # keepalived drops a tracked script it cannot run, and -t counts that
            diags.append(
                Diagnostic(
                    "error",
                    "",
                    0,
                    f"Disabling track script {owner.name} since not found/accessible",
                    "script-missing",
                )
            )
            unsafe.add(id(script))
            continue
        if missing or target is None:
            diags.append(
                Diagnostic(
                    "warning",
                    file,
                    line,
                    f"Script {script.argv[0]} cannot be accessed - No such file or directory",
                    "script-location",
                )
            )
            continue
        if uid != 0:
            continue
        if not gd.enable_script_security:
            if side == "checker" or vrrp_side:
                violation.add(side)
            continue
        if insecure(target):
            diags.append(
                Diagnostic(
                    "error",
                    file,
                    line,
                    f"Unsafe permissions found for script '{script.argv[0]}' - disabling.",
                    "script-unsafe",
                )
            )
            unsafe.add(id(script))
    for side in sorted(violation, reverse=True):
        what = "check scripts" if side == "checker" else "scripts"
        diags.append(
            Diagnostic(
                "error",
                "",
                0,
                f"SECURITY VIOLATION - {what} are being executed but script_security not enabled.",
                SECURITY_VIOLATION,
            )
        )
    if unsafe:
        config = _disable(config, unsafe, diags)
    return config, diags


#: the word keepalived names a script keyword by in "Invalid user/group for %s script"
_TYPE_WORDS = {
    "quorum_up": "quorum",
    "quorum_down": "quorum",
    "notify_fifo_script": "notify_fifo",
    "vrrp_notify_fifo_script": "vrrp_notify_fifo",
    "lvs_notify_fifo_script": "lvs_notify_fifo",
}


def _unknown_user(owner: Any, script: NotifyScript, file: str, line: int) -> Diagnostic:
    """keepalived 2.2.7 (measured with -t): a startup/shutdown script whose user does not
    exist is a configuration error ("Invalid startup script"); any other script is
    dropped with a log line only ("Invalid user/group for notify script ... - ignoring"),
    which -t does not count."""
    name = next((f.name for f in fields(owner) if getattr(owner, f.name) is script), "")
    if name in ("startup_script", "shutdown_script"):
        return Diagnostic("error", file, line, f"Invalid {name.split('_')[0]} script", "reference")
    what = _TYPE_WORDS.get(name, "notify")
    return Diagnostic(
        "warning", file, line,
        f"Invalid user/group for {what} script {script.argv[0]} - ignoring", "script-unsafe",
    )  # fmt: skip


def _strip(obj: Any, unsafe: set[int]) -> Any:
    """A copy of ``obj`` with every unsafe NotifyScript field set to None."""
    if not (is_dataclass(obj) and not isinstance(obj, type)):
        if isinstance(obj, tuple):
            items = (_strip(v, unsafe) for v in obj)
            # a MISC_CHECK whose program was disabled is dropped, as keepalived does
            return tuple(x for x in items if not (isinstance(x, MiscCheck) and x.misc_path is None))
        return obj
    changes: dict[str, Any] = {}
    for f in fields(obj):
        v = getattr(obj, f.name)
        if isinstance(v, NotifyScript):
            if id(v) in unsafe:
                changes[f.name] = None
        elif is_dataclass(v) or isinstance(v, tuple):
            nv = _strip(v, unsafe)
            if nv is not v and nv != v:
                changes[f.name] = nv
    return replace(obj, **changes) if changes else obj


def _disable(config: Config, unsafe: set[int], diags: list[Diagnostic]) -> Config:
    dropped = {s.name for s in config.vrrp_scripts if id(s.script) in unsafe}
    scripts = tuple(s for s in config.vrrp_scripts if s.name not in dropped)
    for name in sorted(dropped):
        if any(d.code == "script-missing" and f"script {name} since" in d.message for d in diags):
            continue
        diags.append(
            Diagnostic(
                "warning", "", 0, f"Disabling track script {name} due to insecure", "script-unsafe"
            )
        )
    new = _strip(replace(config, vrrp_scripts=()), unsafe)

    def untrack(x: VrrpInstance | VrrpSyncGroup) -> Any:
        return replace(x, track_script=tuple(t for t in x.track_script if t.name not in dropped))

    return replace(
        new,
        vrrp_scripts=scripts,
        vrrp_instances=tuple(untrack(i) for i in new.vrrp_instances),
        vrrp_sync_groups=tuple(untrack(g) for g in new.vrrp_sync_groups),
    )
