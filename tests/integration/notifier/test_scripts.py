"""Notify scripts run for real by the notifier shell: arguments, order, timeouts, security."""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import tempfile
import time
from pathlib import Path

from pykeepalived.conf import model as m
from pykeepalived.conf.loader import load_text
from tests.integration.notifier.helpers import (
    check_result,
    event,
    lines,
    make_actor,
    needs_root,
    ns,
    recorder,
    safe_dir,
    vrrp_state,
    wait_for,
)


def group_gone(pgid: int) -> bool:
    """No process is left in the group (zombies reparented to init are reaped shortly)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


pytestmark = [needs_root]

SECURE = m.GlobalDefs(router_id="r1", script_user="root", enable_script_security=True)


def test_instance_scripts_get_keepalived_args_in_transition_order(tmp_path: Path) -> None:
    d, log = safe_dir(tmp_path), tmp_path / "log"
    # notify_master is slow: without per-instance ordering its line would come late
    inst = m.VrrpInstance(
        name="VI_1",
        priority=150,
        notify_master=ns(recorder(d, "master", log, sleep=0.3)),
        notify_backup=ns(recorder(d, "backup", log)),
        notify_fault=ns(recorder(d, "fault", log)),
        notify=ns(recorder(d, "notify", log), "inst", "a b"),
    )
    cfg = m.Config(global_defs=SECURE, vrrp_instances=(inst,))

    async def main() -> None:
        actor = await make_actor(cfg)
        for st in ("BACKUP", "MASTER", "FAULT", "BACKUP"):
            await actor.deliver_event(vrrp_state("VI_1", st, 150))
        await wait_for(lambda: len(lines(log)) == 8)
        await actor.shutdown()
        assert actor.counters["scripts.started"] == 8

    asyncio.run(main())
    assert lines(log) == [
        "backup",
        "notify [inst] [a b] [INSTANCE] [VI_1] [BACKUP] [150]",
        "master",
        "notify [inst] [a b] [INSTANCE] [VI_1] [MASTER] [150]",
        "fault",
        "notify [inst] [a b] [INSTANCE] [VI_1] [FAULT] [150]",
        "backup",
        "notify [inst] [a b] [INSTANCE] [VI_1] [BACKUP] [150]",
    ]


def test_group_and_real_server_and_quorum_scripts_from_a_parsed_config(tmp_path: Path) -> None:
    d, log = safe_dir(tmp_path), tmp_path / "log"
    g = recorder(d, "g", log)
    up = recorder(d, "up", log)
    down = recorder(d, "down", log)
    q = recorder(d, "q", log)
    text = f"""
global_defs {{
    router_id r1
    script_user root
    enable_script_security
}}
vrrp_sync_group G1 {{
    group {{
        VI_1
    }}
    notify_master "{g} 'group master'"
    notify "{g} generic"
}}
vrrp_instance VI_1 {{
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {{
        10.1.1.1
    }}
}}
virtual_server 10.1.1.1 80 {{
    quorum_down "{q} lost"
    real_server 10.1.1.2 80 {{
        notify_up "{up} rs2"
        notify_down "{down} rs2"
        TCP_CHECK {{
        }}
    }}
}}
"""
    cfg = load_text(text).config
    assert cfg is not None

    async def main() -> None:
        actor = await make_actor(cfg)
        await actor.deliver_event(
            event("vrrp.group", {"group": "G1", "state": "MASTER", "prev": "BACKUP"})
        )
        await actor.deliver_event(check_result("10.1.1.1:80", "10.1.1.2:80", "TCP_CHECK", False))
        await actor.deliver_event(
            event("lb.quorum", {"virtual_server": "10.1.1.1:80", "protocol": "tcp", "up": False})
        )
        await actor.deliver_event(check_result("10.1.1.1:80", "10.1.1.2:80", "TCP_CHECK", True))
        await wait_for(lambda: len(lines(log)) == 5)
        await actor.shutdown()

    asyncio.run(main())
    got = lines(log)
    # one queue per group / real server / virtual server: order holds within each
    assert [x for x in got if x.startswith("g ")] == [
        "g [group master]",
        "g [generic] [GROUP] [G1] [MASTER] [0]",
    ]
    assert [x for x in got if x.startswith(("up", "down"))] == ["down [rs2]", "up [rs2]"]
    assert "q [lost]" in got


def test_hanging_script_is_killed_at_its_timeout_without_delaying_others(tmp_path: Path) -> None:
    d, log = safe_dir(tmp_path), tmp_path / "log"
    hang = d / "hang"
    hang.write_text(f"#!/bin/sh\necho started >> {log}\nsleep 30\necho never >> {log}\n")
    hang.chmod(0o755)
    vi1 = m.VrrpInstance(
        name="VI_1",
        notify_master=ns(str(hang), timeout=1.5),
        notify_backup=ns(recorder(d, "after", log)),
    )
    vi2 = m.VrrpInstance(name="VI_2", notify_master=ns(recorder(d, "other", log)))
    cfg = m.Config(global_defs=SECURE, vrrp_instances=(vi1, vi2))
    marks: dict[str, float] = {}

    async def main() -> None:
        actor = await make_actor(cfg)
        t0 = time.monotonic()
        await actor.deliver_event(vrrp_state("VI_1", "MASTER"))
        await actor.deliver_event(vrrp_state("VI_1", "BACKUP"))
        await actor.deliver_event(vrrp_state("VI_2", "MASTER"))
        await wait_for(lambda: "other" in lines(log))
        marks["other"] = time.monotonic() - t0
        await wait_for(lambda: "after" in lines(log), timeout=5)
        marks["after"] = time.monotonic() - t0
        hung = next(
            f
            for f in actor.runner.history
            if f.what == "notify_master" and f.queue == "instance/VI_1"
        )
        assert hung.timed_out and hung.returncode == -15  # SIGTERM to its group first
        marks["ran"] = hung.ended - hung.started
        # the whole process group went: the script's `sleep 30` child too
        await wait_for(lambda: group_gone(hung.pid), timeout=2)
        assert actor.counters["scripts.timed_out"] == 1
        runs = actor.status()["script_runs"]["by_name"]
        assert runs["notify_master instance/VI_1"]["timed_out"] == 1
        assert runs["notify_master instance/VI_2"]["ok"] == 1
        await actor.shutdown()

    asyncio.run(main())
    assert marks["other"] < 1.0, marks  # another instance's script did not wait
    assert 1.45 <= marks["ran"] < 3.5, marks
    assert marks["after"] >= 1.45, marks  # same instance: after the kill, in order
    assert "never" not in lines(log)


def test_insecure_script_is_refused_and_safe_ones_still_run(tmp_path: Path) -> None:
    d, log = safe_dir(tmp_path), tmp_path / "log"
    open_dir = tmp_path / "open"
    open_dir.mkdir()
    open_dir.chmod(0o777)  # any user may replace the script: not sticky, world-writable
    bad = recorder(open_dir, "bad", log)
    inst = m.VrrpInstance(name="VI_1", notify_master=ns(bad), notify=ns(recorder(d, "good", log)))
    cfg = m.Config(global_defs=SECURE, vrrp_instances=(inst,))

    async def main() -> None:
        actor = await make_actor(cfg)
        await actor.deliver_event(vrrp_state("VI_1", "MASTER"))
        await wait_for(lambda: len(lines(log)) == 1)
        await actor.runner.drain(2)
        refused = [f for f in actor.runner.history if f.error]
        assert [f.error for f in refused] == [
            f"Unsafe permissions found for script '{bad}' - disabling."
        ]
        assert actor.status()["scripts_refused"] == [
            f"{bad}: Unsafe permissions found for script '{bad}' - disabling."
        ]
        assert actor.counters["scripts.refused"] == 1
        await actor.shutdown()

    asyncio.run(main())
    assert lines(log) == ["good [INSTANCE] [VI_1] [MASTER] [100]"]


def test_insecure_script_runs_without_script_security(tmp_path: Path) -> None:
    log = tmp_path / "log"
    open_dir = tmp_path / "open"
    open_dir.mkdir()
    open_dir.chmod(0o777)
    safe_dir(tmp_path)
    inst = m.VrrpInstance(name="VI_1", notify_master=ns(recorder(open_dir, "bad", log)))
    cfg = m.Config(global_defs=m.GlobalDefs(script_user="root"), vrrp_instances=(inst,))

    async def main() -> None:
        actor = await make_actor(cfg)
        await actor.deliver_event(vrrp_state("VI_1", "MASTER"))
        await wait_for(lambda: lines(log) == ["bad"])
        await actor.shutdown()

    asyncio.run(main())


def test_script_without_shebang_goes_to_the_shell_and_missing_one_is_reported(
    tmp_path: Path,
) -> None:
    d, log = safe_dir(tmp_path), tmp_path / "log"
    plain = d / "plain"
    plain.write_text(f'echo "plain $1" >> {log}\n')
    plain.chmod(0o755)
    inst = m.VrrpInstance(
        name="VI_1", notify_master=ns(str(plain), "x"), notify_backup=ns(str(d / "missing"))
    )
    cfg = m.Config(global_defs=SECURE, vrrp_instances=(inst,))

    async def main() -> None:
        actor = await make_actor(cfg)
        await actor.deliver_event(vrrp_state("VI_1", "MASTER"))
        await wait_for(lambda: lines(log) == ["plain x"])
        await actor.deliver_event(vrrp_state("VI_1", "BACKUP"))
        await actor.runner.drain(2)
        errors = [f.error for f in actor.runner.history if f.error]
        assert errors and "cannot be accessed" in str(errors[-1])
        await actor.shutdown()

    asyncio.run(main())


def test_scripts_run_as_their_user_and_unreachable_ones_are_refused(tmp_path: Path) -> None:
    d = Path(tempfile.mkdtemp(prefix="pk-notifier-", dir="/tmp"))
    d.chmod(0o755)  # readable by nobody, writable by root only
    log = d / "log"
    hidden = recorder(safe_dir(tmp_path), "hidden", log)  # under a 0700 directory
    script = d / "who"
    script.write_text(f"#!/bin/sh\nid -u > {log}\n")
    script.chmod(0o755)
    log.touch()
    log.chmod(0o666)
    inst = m.VrrpInstance(
        name="VI_1",
        notify_master=ns(str(script), user="nobody"),
        notify_backup=ns(hidden, user="nobody"),
    )
    cfg = m.Config(global_defs=SECURE, vrrp_instances=(inst,))

    async def main() -> None:
        actor = await make_actor(cfg)
        await actor.deliver_event(vrrp_state("VI_1", "MASTER"))
        await actor.deliver_event(vrrp_state("VI_1", "BACKUP"))
        await wait_for(lambda: bool(lines(log)))
        await actor.runner.drain(2)
        errors = [f.error for f in actor.runner.history if f.error]
        assert errors == [f"Script {hidden} cannot be accessed - Permission denied"]
        await actor.shutdown()

    try:
        asyncio.run(main())
        assert lines(log) == [str(pwd.getpwnam("nobody").pw_uid)]
    finally:
        shutil.rmtree(d)


def test_stop_kills_what_is_still_running(tmp_path: Path) -> None:
    d, log = safe_dir(tmp_path), tmp_path / "log"
    hang = d / "hang"
    hang.write_text("#!/bin/sh\nsleep 30\n")
    hang.chmod(0o755)
    inst = m.VrrpInstance(
        name="VI_1", notify_master=ns(str(hang)), notify_stop=ns(recorder(d, "stop", log))
    )
    cfg = m.Config(global_defs=SECURE, vrrp_instances=(inst,))

    async def main() -> None:
        actor = await make_actor(cfg)
        await actor.deliver_event(vrrp_state("VI_1", "MASTER"))
        await wait_for(lambda: bool(actor.runner.running))
        # the instance stops while notify_master hangs: notify_stop still runs, at once
        await actor.deliver_event(vrrp_state("VI_1", "STOP", prev="MASTER"))
        await wait_for(lambda: lines(log) == ["stop"], timeout=2)
        pid = next(iter(actor.runner.running.values())).proc.pid
        t0 = time.monotonic()
        await actor.shutdown()
        assert time.monotonic() - t0 < 4
        assert not actor.runner.running
        await wait_for(lambda: group_gone(pid), timeout=2)

    asyncio.run(main())


def test_malformed_events_are_counted_and_harmless(tmp_path: Path) -> None:
    d, log = safe_dir(tmp_path), tmp_path / "log"
    inst = m.VrrpInstance(name="VI_1", notify_master=ns(recorder(d, "m", log)))
    cfg = m.Config(global_defs=SECURE, vrrp_instances=(inst,))

    async def main() -> None:
        actor = await make_actor(cfg)
        await actor.deliver_event(event("vrrp.state", ["not", "a", "map"]))
        await actor.deliver_event(event("vrrp.state", {"instance": "VI_1"}))
        await actor.deliver_event(event("check.result", {"up": "maybe"}, "checker"))
        await actor.deliver_event(event("lb.unknown_kind", {}))
        assert actor.counters["bus.rx_invalid.vrrp.state.not-a-map"] == 1
        assert actor.counters["bus.rx_invalid.vrrp.state.missing-field"] == 1
        assert actor.counters["bus.rx_invalid.check.result.missing-field"] == 1
        assert actor.counters["bus.rx_unknown.lb.unknown_kind"] == 1
        # an argument no exec can carry (NUL in a name): an exec error, counted, harmless
        odd = m.VrrpInstance(name="VI\x00odd", notify=ns(recorder(d, "g", log)))
        odd_cfg = m.Config(global_defs=SECURE, vrrp_instances=(inst, odd))
        await actor.apply_config(odd_cfg)
        actor.config = odd_cfg
        await actor.deliver_event(vrrp_state("VI\x00odd", "MASTER"))
        await actor.runner.drain(2)
        assert actor.counters["scripts.exec_error"] == 1
        await actor.deliver_event(vrrp_state("VI_1", "MASTER"))
        await wait_for(lambda: lines(log) == ["m"])
        await actor.shutdown()

    asyncio.run(main())
