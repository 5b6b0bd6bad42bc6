"""How every script of the daemon may run, as whom, and how it is ended (pure).

One policy for notify scripts, ``vrrp_script``, MISC_CHECK, the FIFO scripts and the
startup/shutdown scripts; :mod:`pykeepalived.actors.scripts` is the one I/O module that
carries it out.

Security (keepalived's ``lib/notify.c`` ``check_script_secure``):

* a command starting ``</`` only tests that a file opens: nothing to check (run by sh);
* a bare command name is searched in ``PATH`` (as the script's user) and must be found
  executable there; keepalived warns that a full path should be given;
* the resolved file must be executable by the script's uid/gid, else it is disabled;
* when the script runs with root privileges (uid or gid 0, or a set-uid/set-gid root
  file) every component of its path, and of its real path when a symbolic link was
  followed, must be owned by root and not writable by a non-root group or by others
  (directories with the sticky bit excepted). Otherwise the script is *insecure*: with
  ``enable_script_security`` it is refused ("Unsafe permissions found for script ...
  - disabling."), without it it runs and the whole configuration counts as a security
  violation (keepalived's ``-t`` exit code 6).

Whom it runs as (:func:`script_identity`): the script's own ``user [group]``, else the
global ``script_user [group]``, else ``keepalived_script`` when that account exists, else
the daemon's own ids (root) - refused when ``enable_script_security`` is on, as keepalived
then fails the default user.

Running (:data:`POLICIES`, :func:`exec_argv`, :func:`script_rlimits`): a script file that
the kernel cannot exec (no ``#!``) and the ``</file`` test go through ``/bin/sh -c`` with
keepalived's quoting; anything else is exec'd directly, never through a shell. Checks
(``vrrp_script``, MISC_CHECK) have their output read into a bounded buffer and whatever
they leave running in their process group killed when they exit; notify, FIFO and
startup/shutdown scripts write to /dev/null and may leave daemons behind, as keepalived
lets them. At the timeout every kind gets SIGTERM to its whole group, then SIGKILL
``grace`` seconds later (keepalived: 2 s), and a script that dies of our SIGTERM has its
group killed at once. Limits the daemon raised for itself are put back for scripts.

Design: the file system is an argument (:class:`FileSystem`), so the rules are tested on
fabricated trees; the I/O module passes one backed by ``os``. Nothing here changes ids or
starts processes.
"""

from __future__ import annotations

import stat as st
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class FileInfo:
    """What ``stat``/``lstat`` said about a path (mode bits with the file type)."""

    mode: int
    uid: int
    gid: int


class FileSystem(Protocol):
    """The few file-system questions the rules ask."""

    def lstat(self, path: str) -> FileInfo | None: ...

    def stat(self, path: str) -> FileInfo | None: ...

    def realpath(self, path: str) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome for one script.

    ``argv`` is what to execute (the command resolved to a full path); ``runnable`` says
    whether it may run at all; ``insecure`` marks a root script with unsafe path
    permissions; ``messages`` are keepalived's log lines, in order.
    """

    argv: tuple[str, ...]
    runnable: bool
    insecure: bool = False
    is_script: bool = False
    shell_test: bool = False
    messages: tuple[str, ...] = field(default=())


def is_executable(info: FileInfo, uid: int, gid: int) -> bool:
    """keepalived's ``is_executable``: root needs any x bit, others the matching class."""
    mode = info.mode
    if uid == 0:
        return bool(mode & (st.S_IXUSR | st.S_IXGRP | st.S_IXOTH))
    if uid == info.uid:
        return bool(mode & st.S_IXUSR)
    if gid == info.gid:
        return bool(mode & st.S_IXGRP)
    return bool(mode & st.S_IXOTH)


def path_prefixes(path: str) -> Iterator[tuple[str, bool]]:
    """``/a/b/c`` → ``("/", False), ("/a", False), ("/a/b", False), ("/a/b/c", True)``."""
    parts = [p for p in path.split("/") if p]
    yield "/", not parts
    acc = ""
    for i, part in enumerate(parts):
        acc += "/" + part
        yield acc, i == len(parts) - 1


def unsafe_component(path: str, fs: FileSystem) -> tuple[str | None, str | None]:
    """(problem, component): the first reason ``path`` is not root-safe, or (None, None).

    problem is ``"missing"``, ``"type"`` (a non-directory in the middle, or the file is
    neither regular nor a link) or ``"perms"``.
    """
    for component, last in path_prefixes(path):
        info = fs.lstat(component)
        if info is None:
            return "missing", component
        is_dir = st.S_ISDIR(info.mode)
        if (not last and not is_dir) or (
            last and not st.S_ISREG(info.mode) and not st.S_ISLNK(info.mode)
        ):
            return "type", component
        checked_for_write = (is_dir and not info.mode & st.S_ISVTX) or st.S_ISREG(info.mode)
        writable_by_others = (info.gid != 0 and info.mode & st.S_IWGRP) or (info.mode & st.S_IWOTH)
        if info.uid != 0 or (checked_for_write and writable_by_others):
            return "perms", component
    return None, None


def find_in_path(
    name: str, search_path: str, uid: int, gid: int, fs: FileSystem
) -> tuple[str | None, bool]:
    """Search ``name`` along ``search_path`` → (full path or None, permission_denied)."""
    denied = False
    for directory in search_path.split(":"):
        candidate = f"{directory or '.'}/{name}" if directory != "/" else f"/{name}"
        info = fs.stat(candidate)
        if info is None:
            continue
        if not st.S_ISREG(info.mode) or not is_executable(info, uid, gid):
            denied = True
            continue
        return candidate, False
    return None, denied


def check_script(
    argv: tuple[str, ...],
    uid: int,
    gid: int,
    script_security: bool,
    fs: FileSystem,
    search_path: str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
) -> Verdict:
    """Apply keepalived's rules to one script run as ``uid``/``gid``."""
    msgs: list[str] = []
    if not argv or not argv[0]:
        return Verdict(argv, False, messages=("empty script command - disabling",))
    cmd = argv[0]
    if cmd.startswith("<") and cmd[1:].lstrip(" \t").startswith("/"):
        return Verdict(argv, True, shell_test=True)
    if "/" not in cmd:
        found, denied = find_in_path(cmd, search_path, uid, gid, fs)
        if found is None:
            why = "Permissions failure for script" if denied else "Cannot find script"
            verb = "in path - disabling"
            return Verdict(argv, False, messages=(f"{why} {cmd} {verb}",))
        msgs.append(
            f"WARNING - script `{cmd}` resolved by path search to `{found}`. "
            "Please specify full path."
        )
        argv = (found, *argv[1:])
        cmd = found
    if uid != 0:  # keepalived resolves the path as the script's user: directories must let it in
        for component, last in path_prefixes(cmd):
            info = fs.stat(component)
            if last or info is None or not st.S_ISDIR(info.mode):
                break
            if not is_executable(info, uid, gid):
                msgs.append(f"Script {cmd} cannot be accessed - Permission denied")
                return Verdict(argv, False, messages=tuple(msgs))
    real = fs.realpath(cmd)
    if real is None:
        msgs.append(f"Script {cmd} cannot be accessed - No such file or directory")
        return Verdict(argv, False, messages=tuple(msgs))
    # keepalived runs the real path, keeping the name it was called by when that name
    # is a link to the same file in the real directory (some programs read argv[0])
    real_for_perms: str | None = None
    if real != cmd:
        orig_name = cmd.rsplit("/", 1)[1]
        real_dir, real_name = real.rsplit("/", 1)
        new_path = real
        if orig_name != real_name:
            candidate = f"{real_dir or ''}/{orig_name}"
            if fs.realpath(candidate) == real:
                new_path, real_for_perms = candidate, real
        argv = (new_path, *argv[1:])
        cmd = new_path
    info = fs.stat(real_for_perms or cmd)
    if info is None:
        msgs.append(f"Unable to access script `{cmd}` - disabling")
        return Verdict(argv, False, messages=tuple(msgs))
    if not is_executable(info, uid, gid):
        msgs.append(
            f"WARNING - script '{cmd}' is not executable for uid:gid {uid}:{gid} - disabling."
        )
        return Verdict(argv, False, is_script=True, messages=tuple(msgs))
    needs_protection = (
        uid == 0
        or gid == 0
        or (info.uid == 0 and info.mode & st.S_IXUSR and info.mode & st.S_ISUID)
        or (info.gid == 0 and info.mode & st.S_IXGRP and info.mode & st.S_ISGID)
    )
    if not needs_protection:
        return Verdict(argv, True, is_script=True, messages=tuple(msgs))
    insecure = False
    for path in (cmd, real_for_perms) if real_for_perms else (cmd,):
        problem, _where = unsafe_component(path, fs)
        if problem == "missing":
            msgs.append(f"check_script_secure could not find script '{path}' - disabling")
            return Verdict(argv, False, is_script=True, messages=tuple(msgs))
        if problem == "type":
            msgs.append(f"Wrong file type found in script path '{path}'.")
            return Verdict(argv, False, is_script=True, messages=tuple(msgs))
        if problem == "perms":
            insecure = True
            tail = " - disabling" if script_security else ""
            msgs.append(f"Unsafe permissions found for script '{path}'{tail}.")
            if script_security:
                return Verdict(argv, False, True, True, messages=tuple(msgs))
    return Verdict(argv, True, insecure, True, messages=tuple(msgs))


def security_violation(any_root_script: bool, any_insecure: bool, script_security: bool) -> str:
    """keepalived's summary line when scripts run without script security, else ""."""
    if script_security or not any_root_script:
        return ""
    extra = " There are insecure scripts." if any_insecure else ""
    return (
        f"SECURITY VIOLATION - scripts are being executed but script_security not enabled.{extra}"
    )


@dataclass(frozen=True, slots=True)
class Identity:
    """Whom a script runs as, or why it cannot run."""

    uid: int
    gid: int
    error: str | None = None


def script_identity(
    user: str | None,
    group: str | None,
    default_user: str | None,
    default_group: str | None,
    script_security: bool,
    lookup_user: Callable[[str], tuple[int, int] | None],
    lookup_group: Callable[[str], int | None],
    our_ids: tuple[int, int],
) -> Identity:
    """Resolve the uid/gid as keepalived: the script's own user/group, else the global
    ``script_user``, else ``keepalived_script`` when that user exists, else our own ids
    (refused with ``enable_script_security``: keepalived then fails the default user).
    """
    if user is None and default_user is not None:
        user, group = default_user, default_group
    if user is not None:
        ids = lookup_user(user)
        if ids is None:
            return Identity(-1, -1, f"Script user '{user}' does not exist")
        uid, gid = ids
        if group is not None:
            g = lookup_group(group)
            if g is None:
                return Identity(-1, -1, f"Script group '{group}' does not exist")
            gid = g
        return Identity(uid, gid)
    ids = lookup_user("keepalived_script")
    if ids is not None:
        return Identity(*ids)
    if script_security:
        return Identity(-1, -1, "Unable to set default user keepalived_script for script")
    return Identity(*our_ids)


# --------------------------------------------------------------------------- running


#: seconds between the SIGTERM sent at a timeout and the SIGKILL (keepalived: 2 s)
KILL_GRACE = 2.0
#: bytes of a check's output kept for status and logs; the rest is read and dropped
OUTPUT_KEEP = 4096
#: once past OUTPUT_KEEP, the pipe is drained at most once per this many seconds: a
#: script writing without end then blocks on the full pipe (costing the daemon nearly
#: nothing) until its timeout kills it
DRAIN_PAUSE = 0.1
#: soft RLIMIT_NOFILE for scripts (the kernel's and systemd's default; select() needs
#: fds below 1024); the hard limit stays as inherited, so a script may raise its own
SCRIPT_NOFILE = 1024
#: how many scripts are counted by name; beyond that they share one ``(other)`` row
STATS_NAMES = 256
#: the shell keepalived's ``system()`` uses
SHELL = "/bin/sh"


@dataclass(frozen=True, slots=True)
class RunPolicy:
    """How one kind of script is run and ended."""

    capture: bool  # stdout+stderr into a bounded pipe (else /dev/null, as keepalived)
    kill_leftovers: bool  # kill what it left in its process group when it exits by itself
    grace: float = KILL_GRACE


#: per kind of script. A check runs every few seconds: anything it leaves behind would
#: pile up. A notify or startup script may legitimately start a service, as in keepalived.
POLICIES: Mapping[str, RunPolicy] = {
    "vrrp_script": RunPolicy(capture=True, kill_leftovers=True),
    "misc_check": RunPolicy(capture=True, kill_leftovers=True),
    "notify": RunPolicy(capture=False, kill_leftovers=False),
    "fifo": RunPolicy(capture=False, kill_leftovers=False),
    "startup": RunPolicy(capture=False, kill_leftovers=False),
    "shutdown": RunPolicy(capture=False, kill_leftovers=False),
}


def shell_command(argv: tuple[str, ...]) -> str:
    """keepalived's ``cmd_str``: every word in single quotes, except a leading ``<``/``>``."""
    words = []
    for i, w in enumerate(argv):
        words.append(w if i == 0 and w[:1] in ("<", ">") else f"'{w}'")
    return " ".join(words)


def has_exec_magic(head: bytes) -> bool:
    """``#!`` or ELF at the start of a file: the kernel can exec it (keepalived asks
    libmagic, and runs anything else through ``system()``)."""
    return head[:2] == b"#!" or head[:4] == b"\x7fELF"


def exec_argv(argv: tuple[str, ...], extra: tuple[str, ...], via_shell: bool) -> tuple[str, ...]:
    """What to exec for ``argv`` plus ``extra`` words: directly, or as keepalived's
    ``system(cmd_str)`` for the ``</file`` test and files without ``#!``."""
    full = (*argv, *extra)
    if via_shell:
        return (SHELL, "-c", shell_command(full))
    return full


def script_rlimits(now: Mapping[str, tuple[int, int]], infinity: int) -> dict[str, tuple[int, int]]:
    """The (soft, hard) limits a script gets, given the daemon's current ones.

    * ``NOFILE``: soft :data:`SCRIPT_NOFILE` (the checker lifts its own to the hard limit;
      a script inherits none of that), never above the hard limit;
    * ``CORE``: soft 0 (``-m`` raises the daemon's; scripts dump no core unless they ask);
    * ``RTTIME``: no limit (the realtime budget is the VRRP actor's, not its scripts').

    Hard limits are kept (they cannot be raised again, and a script may want its own
    soft limit up to them). Resources not named here are inherited unchanged.
    """
    out: dict[str, tuple[int, int]] = {}
    for name, wanted in (("NOFILE", SCRIPT_NOFILE), ("CORE", 0), ("RTTIME", infinity)):
        if name not in now:
            continue
        soft, hard = now[name]
        capped = wanted == infinity or (hard != infinity and wanted > hard)
        limit = hard if capped else wanted
        if limit != soft:
            out[name] = (limit, hard)
    return out


@dataclass(frozen=True, slots=True)
class Result:
    """One finished (or refused) run of a script."""

    name: str
    argv: tuple[str, ...]
    pid: int = 0
    returncode: int | None = None  # negative: killed by that signal
    timed_out: bool = False
    error: str | None = None  # refused or could not be started
    refused: bool = False
    output: bytes = b""  # the first OUTPUT_KEEP bytes (checks only)
    output_bytes: int = 0  # how much it wrote in all
    leftovers: bool = False  # processes were still in its group when it exited
    started: float = 0.0
    ended: float = 0.0

    @property
    def outcome(self) -> str:
        """``ok``, ``failed`` (non-zero exit), ``signalled``, ``timed_out``, ``refused``
        or ``exec_error``."""
        if self.refused:
            return "refused"
        if self.error is not None:
            return "exec_error"
        if self.timed_out:
            return "timed_out"
        if self.returncode == 0:
            return "ok"
        if self.returncode is not None and self.returncode < 0:
            return "signalled"
        return "failed"

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


@dataclass(slots=True)
class ScriptStats:
    """The counts of one script (by name) for status."""

    started: int = 0
    ok: int = 0
    failed: int = 0
    signalled: int = 0
    timed_out: int = 0
    refused: int = 0
    exec_error: int = 0
    leftovers_killed: int = 0
    leftovers_left: int = 0
    last: dict[str, object] = field(default_factory=dict)

    def record(self, r: Result, leftovers_killed: bool) -> None:
        outcome = r.outcome
        setattr(self, outcome, getattr(self, outcome) + 1)
        if r.leftovers:
            if leftovers_killed:
                self.leftovers_killed += 1
            else:
                self.leftovers_left += 1
        self.last = {
            "outcome": outcome,
            "returncode": r.returncode,
            "error": r.error,
            "pid": r.pid,
            "seconds": round(max(0.0, r.ended - r.started), 3),
            "output": r.output[-256:].decode("utf-8", "replace"),
        }

    def as_dict(self) -> dict[str, object]:
        return {
            "started": self.started, "ok": self.ok, "failed": self.failed,
            "signalled": self.signalled, "timed_out": self.timed_out,
            "refused": self.refused, "exec_error": self.exec_error,
            "leftovers_killed": self.leftovers_killed,
            "leftovers_left": self.leftovers_left, "last": dict(self.last),
        }  # fmt: skip


def stats_key(name: str, known: Mapping[str, object]) -> str:
    """The row a script is counted in: its name, or ``(other)`` once the table is full."""
    if name in known or len(known) < STATS_NAMES:
        return name
    return "(other)"
