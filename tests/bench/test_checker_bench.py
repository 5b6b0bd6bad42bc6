"""Checker at scale (``make bench``): 10,000 real servers with TCP_CHECK at delay_loop 1 s,
and 2,000 with HTTP_GET, all on loopback addresses inside a namespace the bench creates.

Three processes run in the namespace, each started by this file (``python FILE ROLE``):

* ``server``: the real servers. One wildcard listener (0.0.0.0:PORT in the namespace)
  stands for every 127.1.x.y address; it accepts and closes (``tcp``) or answers a
  fixed HTTP response (``http``). A wildcard socket means 10,000 servers need one fd.
* ``victims``: ten more real servers on their own addresses (127.2.0.k:PORT2); the bench
  kills this process to stop them and measures the time to each down verdict.
* ``driver``: the checker actor itself (``CheckerActor`` with its real probes, timers
  and FSMs; the bus replaced by the in-memory one, whose log keeps every timestamped event).
  It reports, as JSON lines: attempts per second and the CPU seconds per wall second of
  its own process over a steady window, its RSS growth per real server, and the wall
  time of each verdict.

Figures printed (``-s``): checks/s, CPU (fraction of one core, and per check: the
capacity of one core, which does not depend on what else runs), memory per real server,
and the stop-to-down-verdict times (median and max over 3 rounds of 10 servers). The
asserts are the issue's goals with slack for this shared 2-core machine where noted.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import signal
import socket
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import pytest

N_TCP = 10_000
N_HTTP = 2_000
N_VICTIMS = 10
PORT = 9000
VICTIM_PORT = 9001
DELAY_LOOP = 1.0
CONNECT_TIMEOUT = 1.0
STEADY = 10.0
ROUNDS = 3
HTTP_BODY = b"<html>ok</html>\n"
SERVER_WORKERS = 3


def rs_address(i: int) -> str:
    return f"127.1.{i // 250}.{i % 250 + 1}"


def victim_address(k: int) -> str:
    return f"127.2.0.{k + 1}"


# ---- roles run inside the namespace -------------------------------------------------------
def role_server(kind: str) -> None:
    """Accept-and-close (tcp) or accept-answer-close (http), blocking, as fast as possible."""
    lst = socket.socket()
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lst.bind(("0.0.0.0", PORT))
    lst.listen(4096)
    response = b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(HTTP_BODY) + HTTP_BODY
    # three workers share the listener: the real servers must not be what falls behind
    for _ in range(SERVER_WORKERS - 1):
        if os.fork() == 0:
            break
    print("listening", flush=True)
    while True:
        conn, _ = lst.accept()
        if kind == "http":
            conn.settimeout(1.0)
            try:
                conn.recv(4096)
                conn.sendall(response)
            except OSError:
                pass
        conn.close()


def role_victims() -> None:
    import selectors

    sel = selectors.DefaultSelector()
    for k in range(N_VICTIMS):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((victim_address(k), VICTIM_PORT))
        s.listen(64)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    print("listening", flush=True)
    while True:
        for key, _ in sel.select():
            try:
                conn, _ = key.fileobj.accept()  # type: ignore[union-attr]
                conn.close()
            except OSError:
                pass


def _rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def role_driver(kind: str, n: int) -> None:
    from pykeepalived.actors.base import Options
    from pykeepalived.actors.checker.actor import CheckerActor
    from pykeepalived.bus.testing import InMemoryBus
    from pykeepalived.conf import model as m

    def emit(**kw: Any) -> None:
        print(json.dumps(kw), flush=True)

    def checker() -> Any:
        common = {
            "delay_loop": DELAY_LOOP,
            "connect_timeout": CONNECT_TIMEOUT,
            "retry": 0,
            "warmup": DELAY_LOOP,
        }
        if kind == "http":
            return m.HttpGetCheck(urls=(m.Url(path="/health"),), **common)
        return m.TcpCheck(**common)

    async def main() -> None:
        rss0 = _rss()
        chk = checker()
        n_victims = N_VICTIMS if kind == "tcp" else 0
        rss_list = [
            m.RealServer(address=rs_address(i), port=PORT, checkers=(chk,))
            for i in range(n - n_victims)
        ]
        rss_list += [
            m.RealServer(address=victim_address(k), port=VICTIM_PORT, checkers=(chk,))
            for k in range(n_victims)
        ]
        vs = m.VirtualServer(address="10.255.0.1", port=80, real_servers=tuple(rss_list))
        config = m.Config(virtual_servers=(vs,))
        rss_config = _rss()
        actor = CheckerActor(config, Options())
        bus = InMemoryBus()  # every envelope kept in bus.log, stamped (ts) when published
        actor.bus = bus.client("checker", CheckerActor.subscriptions, actor.counters)
        await actor.setup()
        await asyncio.sleep(2 * DELAY_LOOP)  # warm-up spread and first rounds
        a0, c0, t0 = actor.attempts, time.process_time(), time.monotonic()
        f0 = actor.failed_attempts
        await asyncio.sleep(STEADY)
        a1, c1, t1 = actor.attempts, time.process_time(), time.monotonic()
        f1 = actor.failed_attempts
        rss_run = _rss()
        downs = sum(1 for r in actor.runs.values() if not r.fsm.up)
        emit(
            phase="steady",
            checks_per_s=(a1 - a0) / (t1 - t0),
            failed_per_s=(f1 - f0) / (t1 - t0),
            cpu=(c1 - c0) / (t1 - t0),
            rs_down=downs,
            mem_per_rs_actor=(rss_run - rss_config) / n,
            mem_per_rs_total=(rss_run - rss0) / n,
            fd_limit=actor.fd_limit,
            loop_lag_max=actor.loop_lag_max,
        )
        # stop-to-down rounds: the bench kills the victims and restarts them
        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[bytes] = asyncio.Queue()
        fd = sys.stdin.fileno()
        pending = bytearray()

        def readable() -> None:
            data = os.read(fd, 4096)
            if not data:
                loop.remove_reader(fd)
                lines.put_nowait(b"")
                return
            pending.extend(data)
            while b"\n" in pending:
                line, _, rest = bytes(pending).partition(b"\n")
                pending[:] = rest
                lines.put_nowait(line)

        loop.add_reader(fd, readable)
        while True:
            line = await lines.get()
            if not line or line.strip() == b"quit":
                break
            if line.strip() == b"report":
                victims = {f"{victim_address(k)}:{VICTIM_PORT}" for k in range(N_VICTIMS)}
                events = [
                    (e.ts, e.body["real_server"], e.body["up"])
                    for e in bus.events("check.result")
                    if e.body["real_server"] in victims
                ]
                emit(phase="verdicts", events=events)
        await actor.shutdown()

    asyncio.run(main())


# ---- the bench ----------------------------------------------------------------------------
_CONSUMED: dict[str, int] = {}


def _read_json(proc: Any, phase: str, timeout: float) -> dict[str, Any]:
    """The next not yet consumed JSON line of ``phase`` in the process's output."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        objs = [json.loads(x) for x in proc.output().splitlines() if x.startswith("{")]
        of_phase = [o for o in objs if o.get("phase") == phase]
        n = _CONSUMED.get(phase, 0)
        if len(of_phase) > n:
            _CONSUMED[phase] = n + 1
            return of_phase[n]  # type: ignore[no-any-return]
        if not proc.alive():
            raise AssertionError(f"{proc.description} exited:\n{proc.output()[-3000:]}")
        time.sleep(0.05)
    raise AssertionError(f"no {phase} line within {timeout} s:\n{proc.output()[-3000:]}")


def _wait_line(proc: Any, text: str, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while text not in proc.output():
        if time.monotonic() > end or not proc.alive():
            raise AssertionError(f"{proc.description}: no {text!r}:\n{proc.output()[-2000:]}")
        time.sleep(0.02)


def _run(kind: str, n: int) -> dict[str, Any]:
    from tests.lab import Lab

    _CONSUMED.clear()
    me = str(Path(__file__).resolve())
    py = sys.executable
    with Lab(("a",), ipv6=False) as lab:
        host = lab["a"]
        server = host.popen([py, me, "server", kind], description=f"{kind} server")
        _wait_line(server, "listening")
        if kind == "tcp":
            victims = host.popen([py, me, "victims"], description="victims")
            _wait_line(victims, "listening")
        # the driver reads commands on stdin: give it a pipe through a FIFO file
        fifo = lab.workdir / "driver.in"
        os.mkfifo(fifo)
        driver = host.popen(
            ["sh", "-c", f'exec {py} {me} driver {kind} {n} < "{fifo}"'],
            description="checker driver",
        )
        ctl = open(fifo, "w")  # noqa: SIM115 - kept open across the rounds
        try:
            steady = _read_json(driver, "steady", 2 * DELAY_LOOP + STEADY + 60)
            down_times: list[float] = []
            for _ in range(ROUNDS if kind == "tcp" else 0):
                victims.signal(signal.SIGKILL)
                stopped = time.time()
                victims.stop()
                # poll the verdicts until all ten are down (or 10 s: then the goal fails)
                downs: dict[str, float] = {}
                give_up = time.monotonic() + 10
                while len(downs) < N_VICTIMS and time.monotonic() < give_up:
                    time.sleep(DELAY_LOOP)
                    ctl.write("report\n")
                    ctl.flush()
                    ev = _read_json(driver, "verdicts", 20)
                    for ts, rs, up in ev["events"]:
                        if not up and ts >= stopped and rs not in downs:
                            downs[rs] = ts - stopped
                assert len(downs) == N_VICTIMS, f"only {len(downs)} of {N_VICTIMS} went down"
                down_times += downs.values()
                restarted = time.time()  # before the start: an up verdict may come at once
                victims = host.popen([py, me, "victims"], description="victims")
                _wait_line(victims, "listening")
                ups: set[str] = set()  # all ten must be up again before the next stop
                give_up = time.monotonic() + 10
                while len(ups) < N_VICTIMS and time.monotonic() < give_up:
                    time.sleep(DELAY_LOOP / 2)
                    ctl.write("report\n")
                    ctl.flush()
                    ev = _read_json(driver, "verdicts", 20)
                    ups |= {rs for ts, rs, up in ev["events"] if up and ts >= restarted}
                assert len(ups) == N_VICTIMS, f"only {len(ups)} of {N_VICTIMS} came back up"
            ctl.write("quit\n")
            ctl.flush()
            steady["down_times"] = down_times
            return steady
        finally:
            ctl.close()
            driver.stop()


def _overloaded() -> bool:
    """More runnable work than CPUs: this process cannot count on a core of its own."""
    return os.getloadavg()[0] > (os.cpu_count() or 1)


def _report(title: str, r: dict[str, Any]) -> None:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\n== {title} (load average {load} on {os.cpu_count()} CPUs)")
    print(
        f"checks/s sustained: {r['checks_per_s']:.0f} (failed attempts/s {r['failed_per_s']:.1f},"
        f" real servers down at the end of the window: {r['rs_down']})"
    )
    per_check = r["cpu"] / max(r["checks_per_s"], 1.0)
    print(
        f"worst loop lag (a timer firing late; a hello would wait as long): "
        f"{r['loop_lag_max'] * 1000:.0f} ms"
    )
    print(
        f"checker CPU: {r['cpu']:.2f} of one core = {per_check * 1e6:.0f} µs per check "
        f"(capacity {1 / per_check:.0f} checks/s per core)"
    )
    print(
        f"memory per real server: {r['mem_per_rs_actor']:.0f} B in the actor "
        f"({r['mem_per_rs_total']:.0f} B including the config model)"
    )
    d = r["down_times"]
    if d:
        goal = DELAY_LOOP + CONNECT_TIMEOUT + 0.1
        print(
            f"stop → down verdict over {len(d)} stops: median {statistics.median(d):.3f} s, "
            f"max {max(d):.3f} s (goal ≤ {goal:.1f} s)"
        )


@pytest.mark.bench
@pytest.mark.netns
@pytest.mark.timeout(300)
def test_tcp_check_10000_real_servers() -> None:
    r = _run("tcp", N_TCP)
    _report(f"TCP_CHECK, {N_TCP} real servers, delay_loop {DELAY_LOOP:g} s", r)
    # one core must be enough for 10,000 checks a second: CPU per check ≤ 100 µs
    assert r["cpu"] / r["checks_per_s"] <= 1.0 / N_TCP
    assert r["rs_down"] == 0
    if _overloaded():
        print("machine overloaded by other work: rate and stop→down goals not asserted")
        return
    assert r["checks_per_s"] > 0.9 * N_TCP / DELAY_LOOP
    assert max(r["down_times"]) <= DELAY_LOOP + CONNECT_TIMEOUT + 0.1


@pytest.mark.bench
@pytest.mark.netns
@pytest.mark.timeout(300)
def test_http_get_2000_real_servers() -> None:
    r = _run("http", N_HTTP)
    _report(f"HTTP_GET, {N_HTTP} real servers, delay_loop {DELAY_LOOP:g} s", r)
    assert r["rs_down"] == 0
    if not _overloaded():
        assert r["checks_per_s"] > 0.9 * N_HTTP / DELAY_LOOP


if __name__ == "__main__":
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    role = sys.argv[1]
    if role == "server":
        role_server(sys.argv[2])
    elif role == "victims":
        role_victims()
    elif role == "driver":
        role_driver(sys.argv[2], int(sys.argv[3]))
