"""Notifier figures (``make bench``; ``-s`` prints them), all on loopback and local files:

* FIFO: events handled per second when every ``vrrp.state`` writes a FIFO line (the
  actor's ``deliver_event`` path: catalogue check included, envelope decoding not), and
  event → line readable latency;
* scripts: event → the script's first instruction (a shell script stamping the clock),
  median over repeats, and the rate of script runs across 20 instance queues;
* SMTP: alerts delivered per second to an aiosmtpd server in the same process, and the
  event-loop lag while 50 alerts hang on a relay that never answers.

Medians over repeats; the asserts are loose (a shared 2-core machine), the printout is
the measurement.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pykeepalived.conf import model as m
from tests.integration.notifier.helpers import (
    MailSink,
    fifo_reader,
    make_actor,
    needs_root,
    ns,
    safe_dir,
    silent_server,
    smtp_server,
    vrrp_state,
)

pytestmark = [pytest.mark.bench]


@pytest.fixture(autouse=True)
def keep_umask() -> Iterator[None]:
    """The notifier sets its process umask (keepalived's); give it back after each test."""
    before = os.umask(0o022)
    os.umask(before)
    yield
    os.umask(before)


def report(name: str, value: float, unit: str) -> None:
    print(f"notifier bench: {name} = {value:.3f} {unit}")


def test_fifo_throughput_and_latency(tmp_path: Path) -> None:
    fifo = str(tmp_path / "v.fifo")
    gd = m.GlobalDefs(vrrp_notify_fifo=m.NotifyFifo(path=fifo))
    cfg = m.Config(global_defs=gd, vrrp_instances=(m.VrrpInstance(name="VI_1"),))
    rates: list[float] = []
    latencies: list[float] = []

    async def main() -> None:
        actor = await make_actor(cfg)
        fd = fifo_reader(fifo)
        events = [vrrp_state("VI_1", s) for s in ("MASTER", "BACKUP") * 500]
        for _ in range(5):
            t0 = time.perf_counter()
            for ev in events:
                await actor.deliver_event(ev)
            rates.append(len(events) / (time.perf_counter() - t0))
            while True:  # empty the pipe between rounds
                try:
                    if not os.read(fd, 1 << 16):
                        break
                except BlockingIOError:
                    break
        for _ in range(200):
            t0 = time.perf_counter()
            await actor.deliver_event(vrrp_state("VI_1", "MASTER"))
            data = os.read(fd, 4096)
            latencies.append(time.perf_counter() - t0)
            assert data.endswith(b"MASTER 100\n")
        os.close(fd)
        assert actor.counters["fifo.dropped"] == 0
        await actor.shutdown()

    asyncio.run(main())
    report("vrrp.state events with a FIFO line per second (median of 5x1000)",
           statistics.median(rates), "events/s")  # fmt: skip
    report("event -> FIFO line readable, median of 200", statistics.median(latencies) * 1e6, "us")
    assert statistics.median(rates) > 2000


@needs_root
def test_script_latency_and_rate(tmp_path: Path) -> None:
    d = safe_dir(tmp_path)
    stamp = tmp_path / "stamps"
    script = d / "stamp"
    script.write_text(f'#!/bin/sh\necho "$1 $(date +%s.%N)" >> {stamp}\n')
    script.chmod(0o755)
    names = [f"VI_{i}" for i in range(20)]
    insts = tuple(m.VrrpInstance(name=n, notify_master=ns(str(script), n)) for n in names)
    gd = m.GlobalDefs(script_user="root", enable_script_security=True)
    cfg = m.Config(global_defs=gd, vrrp_instances=insts)
    latencies: list[float] = []
    rate: list[float] = []

    async def main() -> None:
        actor = await make_actor(cfg)
        for _ in range(30):
            stamp.unlink(missing_ok=True)
            t0 = time.time()
            await actor.deliver_event(vrrp_state("VI_0", "MASTER"))
            await actor.runner.drain(5)
            latencies.append(float(stamp.read_text().split()[1]) - t0)
        for _ in range(3):
            t0 = time.perf_counter()
            for _ in range(5):
                for n in names:
                    await actor.deliver_event(vrrp_state(n, "MASTER"))
            assert await actor.runner.drain(60)
            rate.append(100 / (time.perf_counter() - t0))
        assert actor.counters["scripts.timed_out"] == 0
        await actor.shutdown()

    asyncio.run(main())
    report("event -> script running (shell stamps the clock), median of 30",
           statistics.median(latencies) * 1e3, "ms")  # fmt: skip
    report("script runs per second over 20 queues (median of 3x100)", statistics.median(rate),
           "runs/s")  # fmt: skip
    assert statistics.median(latencies) < 0.5


def test_smtp_rate_and_loop_lag_with_a_hung_relay() -> None:
    sink = MailSink()
    rates: list[float] = []
    lags: list[float] = []

    async def main() -> None:
        server, port = await smtp_server(sink)
        gd = m.GlobalDefs(smtp_server="127.0.0.1", smtp_port=port, smtp_connect_timeout=3,
                          notification_email=("ops@x",),
                          notification_email_from="ka@x")  # fmt: skip
        insts = tuple(m.VrrpInstance(name=f"VI_{i}", smtp_alert=True) for i in range(100))
        actor = await make_actor(m.Config(global_defs=gd, vrrp_instances=insts))
        for rnd in range(3):
            state = ("MASTER", "BACKUP", "MASTER")[rnd]
            n0 = len(sink.messages)
            t0 = time.perf_counter()
            for i in range(100):
                await actor.deliver_event(vrrp_state(f"VI_{i}", state))
            while len(sink.messages) < n0 + 100:
                await asyncio.sleep(0.005)
            rates.append(100 / (time.perf_counter() - t0))
        await actor.shutdown()
        server.close()
        await server.wait_closed()

        hung, hport, held = await silent_server()
        gd2 = m.GlobalDefs(smtp_server="127.0.0.1", smtp_port=hport, smtp_connect_timeout=2,
                           notification_email=("ops@x",))  # fmt: skip
        insts2 = tuple(m.VrrpInstance(name=f"VI_{i}", smtp_alert=True) for i in range(50))
        actor = await make_actor(m.Config(global_defs=gd2, vrrp_instances=insts2))
        for i in range(50):
            await actor.deliver_event(vrrp_state(f"VI_{i}", "MASTER"))
        loop = asyncio.get_running_loop()
        for _ in range(100):  # the loop keeps its 10 ms ticks while 50 mails hang
            t = loop.time()
            await asyncio.sleep(0.01)
            lags.append(loop.time() - t - 0.01)
        assert len(actor.mailer.in_flight) == 50
        await actor.shutdown()
        hung.close()
        for w in held:
            w.close()
        await hung.wait_closed()

    asyncio.run(main())
    report("SMTP alerts delivered per second (aiosmtpd in-process, median of 3x100)",
           statistics.median(rates), "alerts/s")  # fmt: skip
    report("loop lag with 50 alerts hanging, median of 100 ticks",
           statistics.median(lags) * 1e3, "ms")  # fmt: skip
    report("loop lag with 50 alerts hanging, max of 100 ticks", max(lags) * 1e3, "ms")
    assert statistics.median(lags) < 0.05
