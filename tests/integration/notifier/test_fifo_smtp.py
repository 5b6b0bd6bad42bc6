"""Notify FIFOs and SMTP alerts from the notifier shell, against real readers and servers."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import email.utils
import grp
import os
import pickle
import pwd
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP

from pykeepalived.conf import model as m
from tests.integration.notifier.helpers import (
    MailSink,
    check_result,
    event,
    fifo_reader,
    lines,
    make_actor,
    needs_root,
    ns,
    read_fifo,
    safe_dir,
    silent_server,
    smtp_server,
    vrrp_state,
    wait_for,
)


def lvs_part(**vs_kw: object) -> tuple[m.VirtualServer, ...]:
    rs = m.RealServer(address="10.0.0.2", port=80, checkers=(m.TcpCheck(kind="TCP_CHECK"),))
    vs = m.VirtualServer(address="10.0.0.1", port=80, real_servers=(rs,), **vs_kw)  # type: ignore[arg-type]
    return (vs,)


@needs_root
def test_fifo_lines_as_keepalived_and_fifo_script_lifecycle(tmp_path: Path) -> None:
    d = safe_dir(tmp_path)
    all_f, vrrp_f, lvs_f = (str(tmp_path / n) for n in ("all.fifo", "vrrp.fifo", "lvs.fifo"))
    args_log = tmp_path / "fifo_script.log"
    reader = d / "reader"
    reader.write_text(f'#!/bin/sh\necho "$@" >> {args_log}\nexec sleep 30\n')
    reader.chmod(0o755)
    gd = m.GlobalDefs(
        script_user="root",
        enable_script_security=True,
        notify_fifo=m.NotifyFifo(path=all_f),
        vrrp_notify_fifo=m.NotifyFifo(path=vrrp_f),
        vrrp_notify_fifo_script=ns(str(reader), "--from-ka"),
        lvs_notify_fifo=m.NotifyFifo(path=lvs_f),
    )
    cfg = m.Config(
        global_defs=gd,
        vrrp_instances=(m.VrrpInstance(name="VI_1", priority=150),),
        vrrp_sync_groups=(m.VrrpSyncGroup(name="G1", group=("VI_1",)),),
        virtual_servers=lvs_part(),
    )
    out: dict[str, str] = {}

    async def main() -> None:
        actor = await make_actor(cfg)
        for path in (all_f, vrrp_f, lvs_f):
            mode = os.stat(path).st_mode
            assert stat.S_ISFIFO(mode) and stat.S_IMODE(mode) == 0o600  # keepalived's umask
        fds = {p: fifo_reader(p) for p in (all_f, vrrp_f, lvs_f)}
        # the same sequence keepalived 2.2.7 wrote in our capture, then the LVS side
        await actor.deliver_event(
            event("vrrp.group", {"group": "G1", "state": "BACKUP", "prev": "INIT"})
        )
        await actor.deliver_event(vrrp_state("VI_1", "BACKUP", 150, "INIT"))
        await actor.deliver_event(vrrp_state("VI_1", "MASTER", 150))
        await actor.deliver_event(
            event("vrrp.group", {"group": "G1", "state": "MASTER", "prev": "BACKUP"})
        )
        await actor.deliver_event(check_result("10.0.0.1:80", "10.0.0.2:80", "TCP_CHECK", False))
        quorum = {"virtual_server": "10.0.0.1:80", "protocol": "tcp", "up": False}
        await actor.deliver_event(event("lb.quorum", quorum, "ipvs"))
        await actor.deliver_event(vrrp_state("VI_1", "STOP", 150, "MASTER"))
        await actor.deliver_event(
            event("vrrp.group", {"group": "G1", "state": "STOP", "prev": "MASTER"})
        )
        for p, fd in fds.items():
            out[p] = read_fifo(fd)
        await wait_for(lambda: bool(lines(args_log)))
        script_pid = next(f.script for f in actor.fifos.fifos.values() if f.script).pid  # type: ignore[union-attr]
        await actor.shutdown()
        for fd in fds.values():
            os.close(fd)
        for path in (all_f, vrrp_f, lvs_f):
            assert not os.path.exists(path)  # created by us, removed at stop
        try:
            os.kill(script_pid, 0)
            raise AssertionError("fifo script still running")
        except ProcessLookupError:
            pass

    asyncio.run(main())
    vrrp_lines = (
        'GROUP "G1" BACKUP 0\n'
        'INSTANCE "VI_1" BACKUP 150\n'
        'INSTANCE "VI_1" MASTER 150\n'
        'GROUP "G1" MASTER 0\n'
    )
    stop_lines = 'INSTANCE "VI_1" STOP 150\nGROUP "G1" STOP 0\n'
    lvs_lines = "RS [10.0.0.2]:tcp:80 [10.0.0.1]:tcp:80 DOWN\nVS [10.0.0.1]:tcp:80 DOWN\n"
    assert out[vrrp_f] == vrrp_lines + stop_lines
    assert out[lvs_f] == lvs_lines
    assert out[all_f] == vrrp_lines + lvs_lines + stop_lines
    assert lines(args_log) == [f"--from-ka {vrrp_f}"]  # the FIFO name is the last argument


@needs_root
def test_a_fifo_script_that_ends_is_reaped_and_logged(tmp_path: Path) -> None:
    d = safe_dir(tmp_path)
    quick = d / "quick"
    quick.write_text("#!/bin/sh\nexit 0\n")
    quick.chmod(0o755)
    gd = m.GlobalDefs(
        script_user="root",
        notify_fifo=m.NotifyFifo(path=str(tmp_path / "n.fifo")),
        notify_fifo_script=ns(str(quick)),
    )

    async def main() -> None:
        actor = await make_actor(m.Config(global_defs=gd))
        proc = next(f.script for f in actor.fifos.fifos.values() if f.script)
        await wait_for(lambda: actor.counters["fifo.script_exits"] == 1)
        assert proc is not None and proc.returncode == 0  # reaped: no zombie left
        await actor.shutdown()

    asyncio.run(main())


def test_existing_fifo_is_kept_and_a_full_pipe_drops_lines(tmp_path: Path) -> None:
    path = str(tmp_path / "pre.fifo")
    os.mkfifo(path, 0o600)
    gd = m.GlobalDefs(vrrp_notify_fifo=m.NotifyFifo(path=path))
    cfg = m.Config(global_defs=gd, vrrp_instances=(m.VrrpInstance(name="VI_1"),))

    async def main() -> None:
        actor = await make_actor(cfg)
        t0 = time.monotonic()
        for _ in range(3000):  # nobody reads: ~100 kB cannot fit a 64 kB pipe
            await actor.deliver_event(vrrp_state("VI_1", "MASTER"))
        assert time.monotonic() - t0 < 5  # never waits on the pipe
        assert actor.counters["fifo.dropped"] > 0
        assert actor.counters["fifo.lines"] > 0
        await actor.shutdown()

    asyncio.run(main())
    assert stat.S_ISFIFO(os.stat(path).st_mode)  # not ours: left in place


def test_reload_moves_a_fifo(tmp_path: Path) -> None:
    old, new = str(tmp_path / "old.fifo"), str(tmp_path / "new.fifo")
    inst = (m.VrrpInstance(name="VI_1"),)
    cfg1 = m.Config(
        global_defs=m.GlobalDefs(vrrp_notify_fifo=m.NotifyFifo(path=old)), vrrp_instances=inst
    )
    cfg2 = m.Config(
        global_defs=m.GlobalDefs(vrrp_notify_fifo=m.NotifyFifo(path=new)), vrrp_instances=inst
    )

    async def main() -> None:
        actor = await make_actor(cfg1)
        assert os.path.exists(old)
        await actor.apply_config(cfg2)
        actor.config = cfg2
        assert not os.path.exists(old) and os.path.exists(new)
        fd = fifo_reader(new)
        await actor.deliver_event(vrrp_state("VI_1", "BACKUP"))
        assert read_fifo(fd) == 'INSTANCE "VI_1" BACKUP 100\n'
        os.close(fd)
        await actor.shutdown()

    asyncio.run(main())


def test_vrrp_only_mode_opens_no_lvs_fifo(tmp_path: Path) -> None:
    vrrp_f, lvs_f = str(tmp_path / "v.fifo"), str(tmp_path / "l.fifo")
    gd = m.GlobalDefs(vrrp_notify_fifo=m.NotifyFifo(path=vrrp_f),
                      lvs_notify_fifo=m.NotifyFifo(path=lvs_f))  # fmt: skip

    async def main() -> None:
        actor = await make_actor(m.Config(global_defs=gd), vrrp_only=True)
        assert os.path.exists(vrrp_f) and not os.path.exists(lvs_f)
        await actor.shutdown()
        actor = await make_actor(m.Config(global_defs=gd), check_only=True)
        assert os.path.exists(lvs_f) and not os.path.exists(vrrp_f)
        await actor.shutdown()

    asyncio.run(main())


def mail_config(port: int, **gd_kw: object) -> m.Config:
    gd = m.GlobalDefs(
        router_id="lb1",
        smtp_server="127.0.0.1",
        smtp_port=port,
        smtp_helo_name="helo.test",
        smtp_connect_timeout=1.0,
        notification_email_from="keepalived@lb1.test",
        notification_email=("ops@example.test", "On Call <oncall@example.test>"),
        **gd_kw,  # type: ignore[arg-type]
    )
    inst = m.VrrpInstance(name="VI_1", priority=150, smtp_alert=True)
    grp = m.VrrpSyncGroup(name="G1", group=("VI_1",), smtp_alert=True)
    return m.Config(
        global_defs=gd,
        vrrp_instances=(inst,),
        vrrp_sync_groups=(grp,),
        virtual_servers=lvs_part(smtp_alert=True),
    )


def test_smtp_alert_of_each_kind_reaches_a_real_server() -> None:
    sink = MailSink()

    async def main() -> None:
        server, port = await smtp_server(sink)
        actor = await make_actor(mail_config(port))
        await actor.deliver_event(vrrp_state("VI_1", "MASTER", 150))
        await actor.deliver_event(
            event("vrrp.group", {"group": "G1", "state": "MASTER", "prev": "BACKUP"})
        )
        await actor.deliver_event(check_result("10.0.0.1:80", "10.0.0.2:80", "TCP_CHECK", False))
        quorum = {"virtual_server": "10.0.0.1:80", "protocol": "tcp", "up": False}
        await actor.deliver_event(event("lb.quorum", quorum, "ipvs"))
        await actor.deliver_event(vrrp_state("VI_1", "STOP", 150, "MASTER"))
        try:
            await wait_for(lambda: len(sink.messages) == 5)
            # the server has the data before our client reads its 250 and 221
            await wait_for(lambda: actor.counters["smtp.sent"] == 5)
            assert actor.counters["smtp.failed"] == 0
        finally:
            await actor.shutdown()
            server.close()
            await server.wait_closed()

    asyncio.run(main())
    got = {msg["Subject"]: msg for msg in sink.parsed()}
    rs_subject = "[lb1] Realserver [10.0.0.2]:tcp:80 of virtual server [10.0.0.1]:tcp:80 - DOWN"
    expected = {
        "[lb1] VRRP Instance VI_1 - Entering MASTER state":
            "=> VRRP Instance is now owning VRRP VIPs <=",
        "[lb1] VRRP Group G1 - Entering MASTER state":
            "=> All VRRP group instances are now in MASTER state <=",
        rs_subject: "=> TCP CHECK failed on service <=",
        "[lb1] Virtualserver [10.0.0.1]:tcp:80 - DOWN": "=> Lost quorum 1+0=1 <= 0 <=",
        "[lb1] VRRP Instance VI_1 - Stopping": "=> VRRP Instance stopping <=",
    }  # fmt: skip
    assert set(got) == set(expected)
    for subject, body in expected.items():
        msg = got[subject]
        assert msg["body"] == body + "\r\n\r\n"  # keepalived's blank line before the dot
        assert msg["From"] == "keepalived@lb1.test"
        assert msg["To"] == "ops@example.test, On Call <oncall@example.test>"
        assert msg["X-Mailer"] == "Keepalived"
        assert email.utils.parsedate_to_datetime(msg["Date"]) is not None
        assert msg["from"] == "keepalived@lb1.test"
        assert msg["rcpt"] == "ops@example.test,oncall@example.test"
        assert list(msg["raw"].split("\r\n")[:5]) == [
            f"Date: {msg['Date']}",
            "From: keepalived@lb1.test",
            f"Subject: {subject}",
            "X-Mailer: Keepalived",
            "To: ops@example.test, On Call <oncall@example.test>",
        ]
    assert sink.helos == ["helo.test"] * 5


@needs_root
def test_hanging_or_dead_mail_server_delays_nothing_and_is_reported(tmp_path: Path) -> None:
    d, log = safe_dir(tmp_path), tmp_path / "log"
    script = d / "m"
    script.write_text(f"#!/bin/sh\necho ran >> {log}\n")
    script.chmod(0o755)
    fifo = str(tmp_path / "v.fifo")
    marks: dict[str, float] = {}

    async def main() -> None:
        server, port, held = await silent_server()
        cfg = mail_config(port, vrrp_notify_fifo=m.NotifyFifo(path=fifo), script_user="root")
        gd = dataclasses.replace(cfg.global_defs, smtp_connect_timeout=2.0)
        inst = m.VrrpInstance(
            name="VI_1", priority=150, smtp_alert=True, notify_master=ns(str(script))
        )
        cfg = m.Config(global_defs=gd, vrrp_instances=(inst,))
        actor = await make_actor(cfg)
        fd = fifo_reader(fifo)
        t0 = time.monotonic()
        await actor.deliver_event(vrrp_state("VI_1", "MASTER", 150))
        marks["handled"] = time.monotonic() - t0
        assert read_fifo(fd) == 'INSTANCE "VI_1" MASTER 150\n'
        await wait_for(lambda: lines(log) == ["ran"])
        marks["script"] = time.monotonic() - t0
        assert len(actor.mailer.in_flight) == 1  # the mail still hangs meanwhile
        await wait_for(lambda: actor.counters["smtp.failed"] == 1, timeout=10)
        marks["failed"] = time.monotonic() - t0
        # a dead relay (nothing listening) fails fast, also counted
        server.close()
        for w in held:
            w.close()
        await server.wait_closed()
        await actor.deliver_event(vrrp_state("VI_1", "BACKUP", 150, "MASTER"))
        await wait_for(lambda: actor.counters["smtp.failed"] == 2, timeout=3)
        # a bounded backlog: beyond it alerts are dropped and counted, never queued
        actor.mailer.backlog = 0
        await actor.deliver_event(vrrp_state("VI_1", "MASTER", 150))
        assert actor.counters["smtp.dropped"] == 1 and not actor.mailer.in_flight
        assert actor.counters["smtp.sent"] == 0
        os.close(fd)
        await actor.shutdown()

    asyncio.run(main())
    assert marks["handled"] < 0.5, marks
    assert marks["script"] < 1.5, marks  # the mail hangs for 4 s meanwhile
    assert 3.9 <= marks["failed"] < 9, marks  # read timeout 2 s, then QUIT's 2 s


def test_umask_is_keepalived_s_while_running_and_restored_at_stop(tmp_path: Path) -> None:
    async def main() -> None:
        before = os.umask(0o022)
        os.umask(before)
        actor = await make_actor(m.Config(global_defs=m.GlobalDefs(umask=0o077)))
        current = os.umask(0o022)
        os.umask(current)
        assert current == 0o077
        await actor.shutdown()
        after = os.umask(0o022)
        os.umask(after)
        assert after == before

    asyncio.run(main())


CRASHING_NOTIFIER = """
import asyncio, pickle, sys
from tests.integration.notifier.helpers import make_actor, vrrp_state

async def main() -> None:
    actor = await make_actor(pickle.loads(open(sys.argv[1], "rb").read()))
    await actor.deliver_event(vrrp_state("VI_1", "MASTER"))
    print("ready", flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


@needs_root
@pytest.mark.parametrize("which", ["fifo_script", "notify_master"])
def test_scripts_die_with_a_crashed_notifier(tmp_path: Path, which: str) -> None:
    d = safe_dir(tmp_path)
    pid_log = tmp_path / "script.pid"
    script = d / "script"
    script.write_text(f"#!/bin/sh\necho $$ > {pid_log}\nexec sleep 60\n")
    script.chmod(0o755)
    gd = m.GlobalDefs(
        script_user="root",
        notify_fifo=m.NotifyFifo(path=str(tmp_path / "n.fifo")),
        notify_fifo_script=ns(str(script)) if which == "fifo_script" else None,
    )
    inst = m.VrrpInstance(
        name="VI_1", notify_master=ns(str(script)) if which == "notify_master" else None
    )
    cfg_path = tmp_path / "cfg.pickle"
    cfg_path.write_bytes(pickle.dumps(m.Config(global_defs=gd, vrrp_instances=(inst,))))
    repo = Path(__file__).resolve().parents[3]
    proc = subprocess.Popen(
        [sys.executable, "-c", CRASHING_NOTIFIER, str(cfg_path)],
        cwd=repo, stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(repo)},
    )  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
        end = time.monotonic() + 5
        while not (pid_log.exists() and pid_log.read_text().strip()):
            assert time.monotonic() < end, f"the {which} did not start"
            time.sleep(0.02)
        reader_pid = int(pid_log.read_text())
        os.kill(reader_pid, 0)  # running
        proc.kill()  # the notifier crashes
        proc.wait(5)
        end = time.monotonic() + 5
        while True:
            try:
                os.kill(reader_pid, 0)
            except ProcessLookupError:
                break
            # it may linger as a zombie until init reaps it: check its state
            try:
                state = Path(f"/proc/{reader_pid}/stat").read_text().split(") ")[1][0]
            except FileNotFoundError:
                break
            if state == "Z":
                break
            assert time.monotonic() < end, f"the {which} outlived the notifier"
            time.sleep(0.02)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        if proc.stdout is not None:
            proc.stdout.close()
        if pid_log.exists() and pid_log.read_text().strip():  # never leave it behind
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid_log.read_text()), signal.SIGKILL)


@needs_root
def test_fifo_owner_from_its_user_and_group(tmp_path: Path) -> None:
    path = str(tmp_path / "owned.fifo")
    gd = m.GlobalDefs(notify_fifo=m.NotifyFifo(path=path, user="nobody", group="nogroup"))

    async def main() -> None:
        actor = await make_actor(m.Config(global_defs=gd))
        st = os.stat(path)
        assert (st.st_uid, st.st_gid) == (
            pwd.getpwnam("nobody").pw_uid,
            grp.getgrnam("nogroup").gr_gid,
        )
        await actor.shutdown()

    asyncio.run(main())


def test_smtp_server_by_ipv6_address_and_by_name() -> None:
    sink = MailSink()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        v6 = await loop.create_server(lambda: SMTP(sink, hostname="sink6"), "::1", 0)
        v4, port4 = await smtp_server(sink)
        expected = {"::1": v6.sockets[0].getsockname()[1], "localhost": port4}
        for host, port in expected.items():
            cfg = mail_config(port)
            gd = dataclasses.replace(cfg.global_defs, smtp_server=host)
            actor = await make_actor(m.Config(global_defs=gd, vrrp_instances=cfg.vrrp_instances))
            settings = actor.mailer.settings
            assert settings is not None and settings.port == port
            assert settings.host == ("::1" if host == "::1" else "127.0.0.1")  # resolved once
            n = len(sink.messages)
            await actor.deliver_event(vrrp_state("VI_1", "MASTER", 150))
            await wait_for(lambda n=n: len(sink.messages) == n + 1)  # type: ignore[misc]
            await actor.shutdown()
        for server in (v6, v4):
            server.close()
            await server.wait_closed()

    asyncio.run(main())
    assert [x["Subject"] for x in sink.parsed()] == [
        "[lb1] VRRP Instance VI_1 - Entering MASTER state"
    ] * 2
