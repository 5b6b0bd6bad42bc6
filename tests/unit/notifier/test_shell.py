"""The notifier shell on the in-memory bus and the virtual clock: events in, FIFO lines,
scripts and mails out. No root: FIFOs live in a temp dir, mails go to 127.0.0.1, and the
script runner is replaced by one that records what the shell asks it to run."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import pickle
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP

from pykeepalived.actors.base import Options
from pykeepalived.actors.notifier.actor import STOP_GRACE, NotifierActor
from pykeepalived.actors.notifier.policy import RunScript
from pykeepalived.bus.testing import VirtualClock, run_virtual, wait_until
from pykeepalived.conf import model as m
from tests.seams import ShellRun, start_shell

Journal = list[tuple[str, Any]]


class RecordingRunner:
    """Stands where the shell's notify script queues stand (``driver.ScriptQueues``, which
    hand the processes to the shared runner of ``actors/scripts.py``): the same surface
    (``submit``, ``drain``, ``stop``, ``running``, ``pending``), but it only records, in
    order, what it was given.

    ``fifo`` (a reader's fd) is read at every submit, so the journal shows whether the FIFO
    line was written before or after each script was handed over.
    """

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.fifo: int | None = None
        self.jobs: list[RunScript] = []
        self.running: dict[str, Any] = {}
        self.pending = 0
        #: the grace of every ``stop`` (the shell ends what still runs at shutdown)
        self.stops: list[float] = []

    def submit(self, job: RunScript) -> None:
        self.note_fifo()
        self.jobs.append(job)
        self.journal.append(("script", (job.what, *job.argv)))

    def note_fifo(self) -> None:
        if self.fifo is not None:
            data = read_all(self.fifo)
            if data:
                self.journal.append(("fifo", data))

    async def drain(self, timeout: float) -> bool:
        return True

    async def stop(self, grace: float) -> None:
        self.stops.append(grace)


def read_all(fd: int) -> str:
    chunks = []
    while True:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks).decode()


async def shell(config: m.Config, journal: Journal | None = None, **options: Any) -> ShellRun:
    runner = RecordingRunner(journal if journal is not None else [])

    class Recorded(NotifierActor):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.runner = runner  # type: ignore[assignment]

    opts = Options(runtime_dir="/nonexistent", host="testhost", **options)
    return await start_shell(Recorded, config, options=opts, ready=lambda a: a.core is not None)


def state(name: str, st: str, prio: int = 150, prev: str = "BACKUP") -> dict[str, Any]:
    return {"instance": name, "vrid": 51, "family": "inet", "interface": "eth0",
            "state": st, "prev": prev, "priority": prio, "reason": "test"}  # fmt: skip


def result(up: bool) -> dict[str, Any]:
    return {"virtual_server": "10.0.0.1:80", "protocol": "tcp", "real_server": "10.0.0.2:80",
            "checker": "TCP_CHECK", "up": up, "reason": "test", "weight": None}  # fmt: skip


def ns(*argv: str) -> m.NotifyScript:
    return m.NotifyScript(argv=argv, raw=" ".join(argv))


def lvs() -> tuple[m.VirtualServer, ...]:
    rs = m.RealServer(address="10.0.0.2", port=80, checkers=(m.TcpCheck(kind="TCP_CHECK"),),
                      notify_down=ns("/usr/bin/true", "rs-down"), smtp_alert=True)  # fmt: skip
    return (m.VirtualServer(address="10.0.0.1", port=80, real_servers=(rs,),
                            quorum_down=ns("/usr/bin/true", "q-down")),)  # fmt: skip


def fifo_config(tmp_path: Path, **gd: Any) -> m.Config:
    inst = m.VrrpInstance(name="VI_1", priority=150, notify_master=ns("/usr/bin/true", "m"),
                          notify=ns("/usr/bin/true", "generic"))  # fmt: skip
    fifos = {n: m.NotifyFifo(path=str(tmp_path / f"{n}.fifo")) for n in ("all", "lvs")}
    g = m.GlobalDefs(router_id="lb1", notify_fifo=fifos["all"], lvs_notify_fifo=fifos["lvs"], **gd)
    return m.Config(global_defs=g, vrrp_instances=(inst,), virtual_servers=lvs())


def reader(path: Path) -> int:
    return os.open(path, os.O_RDONLY | os.O_NONBLOCK)


# ---- events → scripts and FIFO lines ------------------------------------------------------
def test_vrrp_state_runs_scripts_then_writes_the_fifo_line(
    vrun: Callable[..., Any], tmp_path: Path
) -> None:
    journal: Journal = []

    async def main() -> None:
        run = await shell(fifo_config(tmp_path), journal)
        runner: RecordingRunner = run.actor.runner  # type: ignore[assignment]
        fd = reader(tmp_path / "all.fifo")
        runner.fifo = fd
        run.publish("vrrp.state", state("VI_1", "MASTER"))
        await wait_until(lambda: len(runner.jobs) == 2, what="two scripts")
        await wait_until(lambda: run.actor.counters["fifo.lines"] == 1, what="fifo line")
        runner.note_fifo()
        # keepalived's order: notify_master, the generic notify, then the FIFO line
        assert journal == [
            ("script", ("notify_master", "/usr/bin/true", "m")),
            ("script", ("notify", "/usr/bin/true", "generic", "INSTANCE", "VI_1", "MASTER",
                        "150")),
            ("fifo", 'INSTANCE "VI_1" MASTER 150\n'),
        ]  # fmt: skip
        assert {j.queue for j in runner.jobs} == {runner.jobs[0].queue}  # one queue, in order
        os.close(fd)
        assert runner.stops == []
        await run.stop()
        assert runner.stops == [STOP_GRACE]  # what still runs at stop is ended

    vrun(main())


def test_check_result_and_quorum_reach_the_lvs_fifo_and_scripts(
    vrun: Callable[..., Any], tmp_path: Path
) -> None:
    async def main() -> None:
        run = await shell(fifo_config(tmp_path))
        runner: RecordingRunner = run.actor.runner  # type: ignore[assignment]
        lvs_fd, all_fd = reader(tmp_path / "lvs.fifo"), reader(tmp_path / "all.fifo")
        run.publish("check.result", result(False))
        quorum = {"virtual_server": "10.0.0.1:80", "protocol": "tcp", "up": False}
        run.publish("lb.quorum", quorum)
        run.publish("vrrp.state", state("VI_1", "MASTER"))  # not an lvs line
        await wait_until(lambda: run.actor.counters["fifo.lines"] >= 4, what="fifo lines")
        lvs_lines = read_all(lvs_fd).splitlines()
        assert lvs_lines == ["RS [10.0.0.2]:tcp:80 [10.0.0.1]:tcp:80 DOWN",
                             "VS [10.0.0.1]:tcp:80 DOWN"]  # fmt: skip
        assert read_all(all_fd).splitlines() == [*lvs_lines, 'INSTANCE "VI_1" MASTER 150']
        assert [j.argv[-1] for j in runner.jobs[:2]] == ["rs-down", "q-down"]
        for fd in (lvs_fd, all_fd):
            os.close(fd)
        await run.stop()
        assert not (tmp_path / "all.fifo").exists()  # the FIFOs this actor made are removed

    vrun(main())


def test_malformed_and_unknown_events_are_counted_and_harmless(
    vrun: Callable[..., Any], tmp_path: Path
) -> None:
    async def main() -> None:
        run = await shell(fifo_config(tmp_path))
        runner: RecordingRunner = run.actor.runner  # type: ignore[assignment]
        run.publish("vrrp.state", {"instance": 5})
        run.publish("check.result", {"virtual_server": "x"})
        run.publish("vrrp.nothing_we_know", {})
        run.publish("vrrp.state", state("VI_1", "MASTER"))
        await wait_until(lambda: runner.jobs, what="the good event's scripts")
        await wait_until(lambda: run.actor.counters["fifo.lines"] == 1, what="its fifo line")
        # the runtime reads every body through the catalogue: the bad ones never get here
        counters = run.actor.counters
        assert counters["bus.rx_invalid.vrrp.state.bad-type"] == 1
        assert counters["bus.rx_invalid.check.result.missing-field"] == 1
        assert counters["bus.rx_unknown.vrrp.nothing_we_know"] == 1
        assert counters["errors.event"] == 0
        # only the good event ran scripts (notify_master and the generic notify)
        assert [j.what for j in runner.jobs] == ["notify_master", "notify"]
        await run.stop()

    vrun(main())


def test_reload_moves_the_fifo(vrun: Callable[..., Any], tmp_path: Path) -> None:
    async def main() -> None:
        run = await shell(fifo_config(tmp_path))
        new = fifo_config(tmp_path)
        moved = dataclasses.replace(
            new.global_defs, notify_fifo=m.NotifyFifo(path=str(tmp_path / "new.fifo"))
        )
        new = dataclasses.replace(new, global_defs=moved)
        reply = await run.command("config.apply", {"config": pickle.dumps(new), "generation": 2})
        assert reply["ok"], reply
        assert not (tmp_path / "all.fifo").exists() and (tmp_path / "new.fifo").exists()
        fd = reader(tmp_path / "new.fifo")
        run.publish("vrrp.state", state("VI_1", "BACKUP", prev="MASTER"))
        await wait_until(lambda: run.actor.counters["fifo.lines"] == 1, what="line")
        assert read_all(fd) == 'INSTANCE "VI_1" BACKUP 150\n'
        os.close(fd)
        await run.stop()

    vrun(main())


# ---- mails -----------------------------------------------------------------------------------
class Sink:
    def __init__(self) -> None:
        self.subjects: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.content.decode()
        self.subjects += [h[9:] for h in raw.split("\r\n") if h.startswith("Subject: ")]
        return "250 OK queued"


def mail_config(port: int, timeout: float = 30.0) -> m.Config:
    g = m.GlobalDefs(router_id="lb1", smtp_server="127.0.0.1", smtp_port=port,
                     smtp_helo_name="helo.test", smtp_connect_timeout=timeout,
                     notification_email_from="keepalived@lb1.test",
                     notification_email=("ops@example.test",))  # fmt: skip
    inst = m.VrrpInstance(name="VI_1", priority=150, smtp_alert=True)
    return m.Config(global_defs=g, vrrp_instances=(inst,))


#: real sockets need real time to move; idle beyond that is skipped (see bus/testing.py)
IO_GRACE = 0.2


def test_alerts_reach_an_smtp_server_on_loopback() -> None:
    sink = Sink()

    async def main() -> list[str]:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: SMTP(sink, hostname="sink.test"), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        run = await shell(mail_config(port))
        run.publish("vrrp.state", state("VI_1", "MASTER"))
        run.publish("vrrp.state", state("VI_1", "MASTER"))  # the same state: mailed once
        run.publish("vrrp.state", state("VI_1", "BACKUP", prev="MASTER"))
        await wait_until(lambda: run.actor.counters["smtp.sent"] == 2, 30, 0.05, "two mails")
        sent = list(run.actor.mailer.sent)  # the subjects of the mails the server took
        await run.stop()
        server.close()
        assert run.actor.counters["smtp.failed"] == 0
        return sent

    mails = run_virtual(main(), clock=VirtualClock(io_grace=IO_GRACE))
    expected = ["[lb1] VRRP Instance VI_1 - Entering MASTER state",
                "[lb1] VRRP Instance VI_1 - Entering BACKUP state"]  # fmt: skip
    assert mails == expected and sink.subjects == expected


def test_a_silent_mail_server_times_out_in_virtual_time(caplog: pytest.LogCaptureFixture) -> None:
    held: list[asyncio.StreamWriter] = []

    async def hold(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        held.append(w)

    async def main() -> tuple[float, dict[str, int]]:
        loop = asyncio.get_running_loop()
        server = await asyncio.start_server(hold, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        run = await shell(mail_config(port, timeout=30.0))
        start = loop.time()
        run.publish("vrrp.state", state("VI_1", "MASTER"))
        await wait_until(lambda: run.actor.mailer.in_flight, 5, 0.05, "a mail in flight")
        await asyncio.wait(set(run.actor.mailer.in_flight), timeout=300)
        took = loop.time() - start
        counters = dict(run.actor.counters)
        for w in held:
            w.close()
        server.close()
        await run.stop()
        return took, counters

    real = time.perf_counter()
    took, counters = run_virtual(main(), clock=VirtualClock(io_grace=IO_GRACE))
    # the greeting never comes: smtp_connect_timeout for it, as much again for the QUIT
    assert 60.0 <= took < 61.0
    assert time.perf_counter() - real < 10.0
    assert counters.get("smtp.failed") == 1 and "smtp.sent" not in counters
    assert "Timeout reading data to remote SMTP server [127.0.0.1]:" in caplog.text


def test_a_dead_mail_server_fails_fast_and_a_full_backlog_drops() -> None:
    async def main() -> None:
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()  # nothing listens there now
        run = await shell(mail_config(port))
        run.publish("vrrp.state", state("VI_1", "MASTER"))
        await wait_until(lambda: run.actor.counters["smtp.failed"] == 1, 5, what="failure")
        run.actor.mailer.backlog = 0
        run.publish("vrrp.state", state("VI_1", "BACKUP", prev="MASTER"))
        await wait_until(lambda: run.actor.counters["smtp.dropped"] == 1, 5, what="drop")
        assert not run.actor.mailer.in_flight
        await run.stop()

    run_virtual(main(), clock=VirtualClock(io_grace=IO_GRACE))
