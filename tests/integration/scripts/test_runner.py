"""The one script runner against real scripts: grandchildren, SIGTERM ignored, endless
output, unknown users, unsafe paths, whom and how a script runs (root: runs as nobody)."""

from __future__ import annotations

import asyncio
import logging
import os
import pwd
import resource
import signal
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from pykeepalived.actors import script_policy as sp
from pykeepalived.actors.scripts import Defaults, ScriptRunner, Vetted, vet

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="runs scripts as other users")

AS_ROOT = Defaults(user="root")


#: the /proc SigIgn bits of the signals Python (and any program) cannot set
GLIBC_RESERVED = sum(1 << (n - 1) for n in range(1, 65) if n not in signal.valid_signals())


def script(d: Path, name: str, body: str, mode: int = 0o755) -> str:
    p = d / name
    p.write_text("#!/bin/sh\n" + body)
    p.chmod(mode)
    return str(p)


def runner() -> ScriptRunner:
    return ScriptRunner(asyncio.get_running_loop(), logging.getLogger("test"), Counter())


def vetted(argv: tuple[str, ...], defaults: Defaults = AS_ROOT, user: str | None = None) -> Vetted:
    v = vet(argv, user, None, defaults)
    assert v.refused is None, v.refused
    return v


def gone(pid: int) -> bool:
    """The process has ended (a zombie waiting for init to reap it has ended too)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


async def until(pred: Callable[[], bool], timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < end, "condition not reached in time"
        await asyncio.sleep(0.02)


def read_pid(path: Path) -> int:
    return int(path.read_text().split()[0])


@pytest.mark.parametrize("kind", ["vrrp_script", "misc_check", "notify", "startup"])
def test_timeout_ends_the_script_and_the_grandchild_it_started(
    where: tuple[Path, Path], kind: str
) -> None:
    d, out = where
    # the grandchild ignores SIGTERM: only the group SIGKILL after the leader died ends it
    s = script(d, "forks", f"(trap '' TERM; exec sleep 300) &\necho $! > {out}/gc\n"
                           f"echo $$ > {out}/leader\nsleep 300\n")  # fmt: skip

    async def main() -> sp.Result:
        r = runner()
        res = await r.run("forks", kind, vetted((s,)), timeout=0.5)
        assert not r.running
        await until(lambda: gone(read_pid(out / "gc")))
        assert r.counters["scripts.timed_out"] == 1 and r.counters["scripts.started"] == 1
        assert r.stats["forks"].timed_out == 1
        return res

    res = asyncio.run(main())
    assert res.outcome == "timed_out" and res.returncode == -15  # our SIGTERM ended it
    assert res.leftovers  # the grandchild was still there when the leader went
    assert gone(read_pid(out / "leader")) and gone(read_pid(out / "gc"))


def test_a_script_ignoring_sigterm_gets_sigkill_after_the_grace(where: tuple[Path, Path]) -> None:
    d, out = where
    s = script(d, "stubborn", f"trap '' TERM\necho $$ > {out}/pid\nwhile :; do sleep 0.1; done\n")

    async def main() -> tuple[sp.Result, float]:
        t0 = time.monotonic()
        res = await runner().run("stubborn", "vrrp_script", vetted((s,)), timeout=0.3)
        return res, time.monotonic() - t0

    res, took = asyncio.run(main())
    assert res.outcome == "timed_out" and res.returncode == -9
    assert 0.3 + sp.KILL_GRACE <= took < 0.3 + sp.KILL_GRACE + 2.0
    assert gone(read_pid(out / "pid"))


def rss() -> int:
    with open("/proc/self/status") as fh:
        line = next(x for x in fh if x.startswith("VmRSS:"))
    return int(line.split()[1]) * 1024


def test_endless_output_is_bounded_and_killed_at_the_timeout() -> None:
    async def main() -> tuple[sp.Result, int]:
        r = runner()
        await r.run("warm", "vrrp_script", vetted(("/bin/true",)), timeout=1)
        before = rss()
        res = await r.run("yes", "vrrp_script", vetted(("/usr/bin/yes",)), timeout=1.5)
        return res, rss() - before

    res, grown = asyncio.run(main())
    assert res.outcome == "timed_out" and res.returncode == -15
    assert res.output == b"y\n" * (sp.OUTPUT_KEEP // 2)  # the head is kept
    # drained at most a pipe's worth per DRAIN_PAUSE: `yes` alone writes GB/s
    assert sp.OUTPUT_KEEP < res.output_bytes < 8 * 1024 * 1024
    assert grown < 16 * 1024 * 1024


def test_a_user_that_does_not_exist_is_refused_clearly_and_counted(
    where: tuple[Path, Path],
) -> None:
    d, out = where
    s = script(d, "never", f"touch {out}/ran\n")
    v = vet((s,), "no-such-user-h2", None, Defaults())
    assert v.refused == "Script user 'no-such-user-h2' does not exist"

    async def main() -> tuple[sp.Result, ScriptRunner]:
        r = runner()
        return await r.run("never", "vrrp_script", v, timeout=1), r

    res, r = asyncio.run(main())
    assert res.outcome == "refused" and res.error == v.refused
    assert r.counters["scripts.refused"] == 1 and r.counters["scripts.started"] == 0
    assert r.status()["by_name"]["never"]["refused"] == 1  # type: ignore[index]
    assert not (out / "ran").exists()


def test_default_user_without_keepalived_script_fails_under_script_security() -> None:
    v = vet(("/bin/true",), None, None, Defaults(security=True))
    assert v.refused == "Unable to set default user keepalived_script for script"


def test_a_world_writable_directory_makes_a_root_script_refused_under_security(
    where: tuple[Path, Path],
) -> None:
    d, out = where
    d.chmod(0o777)
    s = script(d, "unsafe", f"touch {out}/ran\n")
    refused = vet((s,), None, None, Defaults(user="root", security=True))
    assert refused.refused == f"Unsafe permissions found for script '{s}' - disabling."
    allowed = vet((s,), None, None, Defaults(user="root", security=False))
    assert allowed.refused is None and allowed.insecure  # runs, a security violation

    async def main() -> ScriptRunner:
        r = runner()
        assert (await r.run("unsafe", "notify", refused, timeout=1)).outcome == "refused"
        assert (await r.run("unsafe", "notify", allowed, timeout=5)).outcome == "ok"
        return r

    r = asyncio.run(main())
    assert r.stats["unsafe"].refused == 1 and r.stats["unsafe"].ok == 1
    assert (out / "ran").exists()


def test_whom_and_how_a_script_runs(where: tuple[Path, Path]) -> None:
    d, out = where
    s = script(
        d,
        "probe",
        f"""exec > {out}/probe.$1
while read -r k v; do case $k in SigBlk:|SigIgn:) printf '%s\t%s\n' "$k" "$v";; esac; done \
    < /proc/$$/status
id -u; id -g; id -G; ulimit -n; ulimit -c; umask; pwd
ps -o pid=,pgid=,sid= -p $$
readlink /proc/$$/fd/0
""",
    )
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # as the checker does
    ignored = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGHUP, signal.SIGINT)}

    async def main() -> None:
        r = runner()
        assert (await r.run("p", "vrrp_script", vetted((s, "global"), Defaults("nobody")))).ok
        assert (await r.run("p", "vrrp_script", vetted((s, "own"), AS_ROOT, "nobody"))).ok
        assert (await r.run("p", "notify", vetted((s, "root")))).ok

    try:
        asyncio.run(main())
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        for sig, handler in ignored.items():  # the actors ignore SIGHUP and SIGINT
            signal.signal(sig, handler)
    pw = pwd.getpwnam("nobody")
    nobody, nogroup = str(pw.pw_uid), str(pw.pw_gid)
    for tag, uid, gid in (
        ("global", nobody, nogroup),
        ("own", nobody, nogroup),
        ("root", "0", "0"),
    ):
        lines = (out / f"probe.{tag}").read_text().splitlines()
        # dispositions and mask as inherited at exec (read with builtins: dash blocks
        # every signal for a moment around each vfork). glibc reserves signals 32 and 33
        # for itself (no program can set them, so none can reset them): an ignore of those
        # that our own environment handed down is not the runner's to clear
        assert lines[0] == "SigBlk:\t0000000000000000"
        key, _, mask = lines[1].partition("\t")
        assert key == "SigIgn:" and int(mask, 16) & ~GLIBC_RESERVED == 0, lines[1]
        lines = lines[2:]
        assert lines[:3] == [uid, gid, gid], (tag, lines)  # no other groups
        assert lines[3] == str(min(sp.SCRIPT_NOFILE, hard)) and lines[4] == "0"
        assert lines[5] == "0177" and lines[6] == "/"
        pid, pgid, sid = lines[7].split()
        assert pid == pgid == sid  # its own session and process group
        assert lines[8] == "/dev/null"


def test_a_check_leaves_nothing_behind_a_notify_may(where: tuple[Path, Path]) -> None:
    d, out = where
    s = script(d, "bg", f"sleep 300 &\necho $! > {out}/bg.$1\nexit 0\n")

    async def main() -> tuple[sp.Result, sp.Result]:
        r = runner()
        check = await r.run("c", "vrrp_script", vetted((s, "check")), timeout=5)
        note = await r.run("n", "notify", vetted((s, "notify")), timeout=5)
        await until(lambda: gone(read_pid(out / "bg.check")))
        assert r.counters["scripts.leftovers_killed"] == 1
        assert r.counters["scripts.leftovers_left"] == 1
        return check, note

    check, note = asyncio.run(main())
    assert check.ok and check.leftovers and note.ok and note.leftovers
    left = read_pid(out / "bg.notify")
    try:
        assert not gone(left)  # keepalived lets a notify script start a service
    finally:
        os.kill(left, 9)


def test_cancelling_the_wait_kills_the_script(where: tuple[Path, Path]) -> None:
    d, out = where
    s = script(d, "long", f"echo $$ > {out}/pid\nsleep 300\n")

    async def main() -> ScriptRunner:
        r = runner()
        task = asyncio.ensure_future(r.run("long", "vrrp_script", vetted((s,)), timeout=60))
        await until(lambda: (out / "pid").exists() and bool(r.running))
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await until(lambda: not r.running)
        return r

    r = asyncio.run(main())
    assert gone(read_pid(out / "pid"))
    assert r.counters["scripts.abandoned"] == 1


def test_a_file_without_shebang_runs_through_sh_with_keepalived_quoting(
    where: tuple[Path, Path],
) -> None:
    d, out = where
    p = d / "plain"
    p.write_text(f'for a in "$@"; do echo "[$a]"; done > {out}/args\n')
    p.chmod(0o755)
    v = vetted((str(p), "a b"))
    assert v.via_shell

    async def main() -> sp.Result:
        return await runner().run("plain", "notify", v, ("MASTER",), timeout=5)

    assert asyncio.run(main()).ok
    assert (out / "args").read_text().splitlines() == ["[a b]", "[MASTER]"]
