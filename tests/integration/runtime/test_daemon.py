"""The whole daemon as real processes: watchdog, signals, reload, pid files, control, tap.

The children are the toy actors of ``toys.py`` (real actors on the real bus, started by the
real parent from its forkserver) so these tests do not depend on the protocol shells.
Nothing here needs root or namespaces: every socket is in the test's own directory or on
loopback.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import zmq

from pykeepalived.actors.parent.broker import TAP_HWM
from pykeepalived.bus import topology
from pykeepalived.bus.envelope import decode
from tests.daemon import DaemonBus
from tests.integration.runtime.runner import (
    REPO,
    STATIC_CONF,
    ToyDaemon,
    alive,
    wait_until,
)

WATCHDOG = "0.3"


def _wait_subscribed(sub: zmq.Socket[bytes], peer: DaemonBus) -> None:
    """zmq's slow joiner: ping until ``sub`` hears an event, then drop what it heard."""
    for seq in range(100):
        peer.request("vrrp", "ping", {"seq": -seq})
        if sub.poll(100):
            while sub.poll(100):
                sub.recv_multipart()
            return
    raise TimeoutError("the subscriber never received an event")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _scrape(port: int) -> str:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
    except OSError:
        return ""
    return data.decode()


@pytest.fixture
def daemon() -> Iterator[ToyDaemon]:
    """A fresh daemon for tests that kill, stop or reconfigure things."""
    d = ToyDaemon(STATIC_CONF, "--watchdog-interval", WATCHDOG)
    try:
        d.wait_ready(30)
        yield d
    finally:
        d.stop()


@pytest.fixture(scope="module")
def shared() -> Iterator[ToyDaemon]:
    """One daemon (with metrics and --mem-check) for the tests that must not disturb it:
    each of them checks that no child was restarted."""
    port, tap_port = _free_port(), _free_port()
    d = ToyDaemon(STATIC_CONF, "--watchdog-interval", WATCHDOG, "--metrics",
                  f"127.0.0.1:{port}", "--mem-check",
                  "--event-tap", f"tcp://127.0.0.1:{tap_port}")  # fmt: skip
    d.metrics_port = port  # type: ignore[attr-defined]
    d.tap_port = tap_port  # type: ignore[attr-defined]
    try:
        d.wait_ready(30)
        yield d
    finally:
        d.stop()


def test_kill_each_child_restarts_it_with_an_event(daemon: ToyDaemon) -> None:
    for name, old_pid in daemon.children_pids().items():
        mark = len(daemon.events())
        os.kill(old_pid, signal.SIGKILL)
        env = daemon.wait_event(
            "watchdog.restart", lambda e, n=name: e.body["child"] == n, timeout=10, after=mark
        )
        assert env.body["old_pid"] == old_pid and env.body["pid"] != old_pid
        assert "killed by signal 9" in env.body["reason"]
        daemon.wait_event("toy.started", lambda e, p=env.body["pid"]: e.pid == p, timeout=10)
        new_pid = env.body["pid"]
        assert wait_until(lambda n=name, p=new_pid: daemon.children_pids()[n] == p)
    status = daemon.status()
    assert all(c["restarts"] == 1 and "status" in c for c in status["children"].values())
    # the vrrp pid file follows the restarted child
    assert int(daemon.vrrp_pid_file.read_text()) == status["children"]["vrrp"]["pid"]


def test_sigstop_child_is_killed_and_restarted_by_the_watchdog(daemon: ToyDaemon) -> None:
    interval = float(WATCHDOG)
    pid = daemon.children_pids()["netlink"]
    mark = len(daemon.events())
    t0 = time.monotonic()
    os.kill(pid, signal.SIGSTOP)
    try:
        env = daemon.wait_event("watchdog.restart", lambda e: e.body["old_pid"] == pid,
                                timeout=15, after=mark)  # fmt: skip
    finally:
        if alive(pid):
            os.kill(pid, signal.SIGCONT)
    elapsed = time.monotonic() - t0
    assert "no hello reply" in env.body["reason"]
    # silent for > 3 intervals, noticed at the next ping, then SIGTERM (+SIGCONT): it
    # stops at once; 2 s of slack for a loaded 2-core machine
    assert elapsed < 4 * interval + 2.0, elapsed
    assert wait_until(lambda: not alive(pid), 5)


def test_kill_parent_every_child_exits_and_the_pid_file_is_free_again() -> None:
    d = ToyDaemon()
    try:
        pids = list(d.wait_ready(30) and d.children_pids().values())
        assert len(pids) == 3 and all(alive(p) for p in pids)
        os.kill(d.proc.pid, signal.SIGKILL)
        d.proc.popen.wait(5)
        assert wait_until(lambda: not any(alive(p) for p in pids), 10), [
            p for p in pids if alive(p)
        ]
    finally:
        d.stop()
    # the lock died with the process: a new daemon on the same pid files starts
    # (same pid files and runtime dir: the stale sockets are replaced too)
    again = ToyDaemon(STATIC_CONF, workdir=d.dir)
    try:
        again.wait_ready(30)
        assert int(again.pid_file.read_text()) == again.proc.pid
    finally:
        again.stop()


def test_bad_config_on_sighup_keeps_the_running_daemon(daemon: ToyDaemon) -> None:
    before = daemon.status()
    pids = daemon.children_pids()
    daemon.conf_path.write_text(STATIC_CONF + "\nbogus_keyword 1\n")
    mark = len(daemon.events())
    daemon.proc.signal(signal.SIGHUP)
    env = daemon.wait_event("config.reload", timeout=30, after=mark)
    assert env.body["ok"] is False
    assert any("bogus_keyword" in e for e in env.body["errors"])
    after = daemon.status()
    assert daemon.children_pids() == pids
    assert after["parent"]["generation"] == before["parent"]["generation"]
    assert all(c["status"]["state"]["applied"] == 0 for c in after["children"].values())
    # pykeepalivectl reload reports the refusal too, exit 1
    out = daemon.ctl("reload", timeout=60)
    assert out.returncode == 1 and "bogus_keyword" in out.stderr
    # a good file is applied by every child as a difference: no child restarts
    daemon.conf_path.write_text(STATIC_CONF.replace("toy1", "toy2"))
    out = daemon.ctl("reload", timeout=60)
    assert out.returncode == 0, out.stderr
    status = daemon.status()
    assert daemon.children_pids() == pids
    assert status["parent"]["generation"] == before["parent"]["generation"] + 1
    assert all(c["status"]["state"]["applied"] == 1 for c in status["children"].values())
    assert all(c["status"]["generation"] == 2 for c in status["children"].values())
    # the pykeepalived { } block's endpoints and watchdog period follow a reload
    port = _free_port()
    block = f"pykeepalived {{\n    metrics 127.0.0.1:{port}\n    watchdog_interval 0.5\n}}\n"
    daemon.conf_path.write_text(block + STATIC_CONF)
    assert daemon.ctl("reload", timeout=60).returncode == 0
    assert wait_until(lambda: _scrape(port).startswith("HTTP/1.0 200"), 10)
    # a child restarted after the reload runs the new generation too
    old = pids["vrrp"]
    os.kill(old, signal.SIGKILL)
    assert wait_until(lambda: daemon.children_pids()["vrrp"] != old, 10)
    assert wait_until(lambda: "status" in daemon.status()["children"]["vrrp"], 10)
    assert daemon.status()["children"]["vrrp"]["status"]["generation"] == 3


def test_slow_tap_subscriber_does_not_slow_the_daemon(shared: ToyDaemon) -> None:
    daemon = shared
    ctx = zmq.Context()
    slow = ctx.socket(zmq.SUB)  # subscribes to everything and never reads
    slow.setsockopt(zmq.RCVHWM, 10)
    slow.setsockopt(zmq.RCVBUF, 4096)
    slow.setsockopt(zmq.SUBSCRIBE, b"")
    slow.setsockopt(zmq.LINGER, 0)
    slow.connect(topology.endpoint(daemon.runtime_dir, topology.TAP))
    peer = DaemonBus(daemon.runtime_dir)
    try:
        _wait_subscribed(slow, peer)
        n = TAP_HWM + 10_000  # more than one subscriber's queue holds
        peer.request("netlink", "flood_stats", {})
        t0 = time.monotonic()
        peer.request("vrrp", "flood", {"n": n}, timeout=20)
        # every event reaches the subscribed actor (the netlink toy counts them), while
        # the tap's slow readers (this one, and the test's own reader) only lose theirs
        assert wait_until(
            lambda: peer.request("netlink", "flood_stats_peek", {})["seen"] == n, 30, 0.2
        ), peer.request("netlink", "flood_stats_peek", {})
        flood_time = time.monotonic() - t0
        t1 = time.monotonic()
        status = daemon.status()
        status_time = time.monotonic() - t1
        counters = status["parent"]["counters"]
        assert flood_time < 20 and status_time < 5, (flood_time, status_time)
        # the slow reader's queue overflowed and was cut (PUB drops silently for it)
        # instead of holding anything up: it can read only a fraction of the flood
        got = 0
        while slow.poll(200):
            slow.recv_multipart()
            got += 1
        assert got <= TAP_HWM + 1_000 < n, got
        assert counters["bus.events"] >= n
        assert all(c["restarts"] == 0 for c in status["children"].values())
    finally:
        peer.close()
        slow.close(0)
        ctx.term()


def _raw_unix(path: Path, data: bytes) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(2)
        s.connect(str(path))
        try:
            s.sendall(data)
            time.sleep(0.05)
        except OSError:
            pass  # zmq may drop the connection mid-way: that is its answer to garbage


def test_random_bytes_on_every_socket_crash_nothing(shared: ToyDaemon) -> None:
    daemon = shared
    pids = daemon.children_pids()
    rng = __import__("random").Random(4)
    names = (topology.BUS, topology.EVENTS, topology.TAP, topology.CONTROL)
    for name in names:
        path = topology.socket_path(daemon.runtime_dir, name)
        for size in (1, 10, 64, 1000, 70_000):
            _raw_unix(path, bytes(rng.getrandbits(8) for _ in range(size)))
        # a valid ZMTP greeting followed by junk
        _raw_unix(path, b"\xff" + b"\x00" * 8 + b"\x7f\x03\x00NULL" + b"\x00" * 48 + b"\x04junk")
    ctx = zmq.Context()
    try:
        for name in (topology.BUS, topology.CONTROL):
            dealer = ctx.socket(zmq.DEALER)
            dealer.setsockopt(zmq.LINGER, 0)
            dealer.setsockopt(zmq.IDENTITY, b"fuzz")
            dealer.connect(topology.endpoint(daemon.runtime_dir, name))
            for _ in range(200):
                frames = [bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 40)))
                          for _ in range(rng.randint(1, 4))]  # fmt: skip
                dealer.send_multipart(frames)
            dealer.close(500)
        sub = ctx.socket(zmq.PUB)  # a PUB talking to a PUB: refused by the handshake
        sub.setsockopt(zmq.LINGER, 0)
        sub.connect(topology.endpoint(daemon.runtime_dir, topology.EVENTS))
        sub.send_multipart([b"vrrp.state", b"\x00"])
        sub.close(0)
    finally:
        ctx.term()

    def malformed() -> int:
        counters = daemon.status()["parent"]["counters"]
        return sum(v for k, v in counters.items() if "malformed" in k)

    assert wait_until(lambda: malformed() > 100, 10, 0.1), malformed()
    assert daemon.proc.alive()
    status = daemon.status()
    assert daemon.children_pids() == pids
    assert all(c["restarts"] == 0 and "status" in c for c in status["children"].values())


def test_pid_files_locked_written_and_removed() -> None:
    stale = None
    d = ToyDaemon()
    try:
        d.checkers_pid_file.write_text("99999\n")  # a leftover from a dead checker
        stale = d.checkers_pid_file
        status = d.wait_ready(30)
        assert int(d.pid_file.read_text()) == d.proc.pid
        assert int(d.vrrp_pid_file.read_text()) == status["children"]["vrrp"]["pid"]
        # no checker runs in this config: its pid file is removed
        assert wait_until(lambda: not stale.exists(), 5)
        # a second daemon on the same pid file is refused, clearly, exit 1
        second = subprocess.run(
            [sys.executable, "-m", "pykeepalived", "-n", "-l", "-f", str(d.conf_path),
             "--runtime-dir", str(d.dir / "run2"), "-p", str(d.pid_file),
             "-r", str(d.dir / "v2.pid"), "-c", str(d.dir / "c2.pid")],
            capture_output=True, text=True, timeout=30, cwd=REPO,
        )  # fmt: skip
        assert second.returncode == 1
        assert "already running" in second.stderr and str(d.proc.pid) in second.stderr
        # other pid files but the same runtime dir: refused too (its sockets are taken)
        third = subprocess.run(
            [sys.executable, "-m", "pykeepalived", "-n", "-l", "-f", str(d.conf_path),
             "--runtime-dir", str(d.runtime_dir), "-p", str(d.dir / "m3.pid"),
             "-r", str(d.dir / "v3.pid"), "-c", str(d.dir / "c3.pid")],
            capture_output=True, text=True, timeout=30, cwd=REPO,
        )  # fmt: skip
        assert third.returncode == 1 and "pykeepalived.pid" in third.stderr
        for name in (topology.CONTROL, topology.TAP, topology.BUS, topology.EVENTS):
            mode = os.stat(topology.socket_path(d.runtime_dir, name)).st_mode & 0o777
            assert mode == 0o600, (name, oct(mode))
        assert d.proc.alive() and d.status()["children"]
        # pykeepalivectl stop: an orderly stop, exit 0, every pid file removed
        out = d.ctl("stop")
        assert out.returncode == 0 and str(d.proc.pid) in out.stdout
        assert d.proc.popen.wait(20) == 0
        assert d.ctl("status").returncode == 3
    finally:
        d.stop()
    assert not d.pid_file.exists() and not d.vrrp_pid_file.exists()


def test_systemd_notify_ready_reloading_watchdog_stopping(tmp_path: Path) -> None:
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(0.2)
    messages: list[str] = []

    def wait_for(key: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for m in messages:
                if key in m.split("\n"):
                    messages.remove(m)
                    return m
            try:
                messages.append(sock.recv(4096).decode())
            except TimeoutError:
                pass
        raise TimeoutError(f"no {key}; got {messages}")

    d = ToyDaemon(STATIC_CONF,
                  env={"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "400000"})  # fmt: skip
    try:
        ready = wait_for("READY=1")
        assert f"MAINPID={d.proc.pid}" in ready and "STATUS=running" in ready
        status = d.wait_ready(20)
        wait_for("WATCHDOG=1", 2)
        wait_for("WATCHDOG=1", 2)
        # children never inherit the notify socket
        child = status["children"]["vrrp"]["pid"]
        assert b"NOTIFY_SOCKET" not in Path(f"/proc/{child}/environ").read_bytes()
        d.proc.signal(signal.SIGHUP)
        assert "MONOTONIC_USEC=" in wait_for("RELOADING=1")
        wait_for("READY=1")
        d.proc.signal(signal.SIGTERM)
        wait_for("STOPPING=1")
        assert d.proc.popen.wait(20) == 0
    finally:
        d.stop()
        sock.close()


def test_dumps_on_signals_and_ctl(shared: ToyDaemon) -> None:
    d = shared
    d.proc.signal(signal.SIGUSR1)
    parent_file = d.dir / "keepalived_parent.data"
    vrrp_file = d.dir / "keepalived.data"
    assert wait_until(lambda: parent_file.exists() and vrrp_file.exists(), 10)
    assert not (d.dir / "keepalived_check.data").exists()  # no checker runs
    text = vrrp_file.read_text()
    assert "------< vrrp >------" in text and "VI_1" in text and "netlink" in text
    assert "notifier" in parent_file.read_text()
    # a dump signal sent to a child (tools signal the pid in -r) reaches the parent
    os.kill(int(d.vrrp_pid_file.read_text()), signal.SIGUSR2)
    stats = d.dir / "keepalived.stats"
    assert wait_until(stats.exists, 10)
    assert "VRRP Instance: VI_1" in stats.read_text()
    d.proc.signal(signal.SIGRTMIN + 2)
    js = d.dir / "keepalived.json"
    assert wait_until(js.exists, 10)
    data = json.loads(js.read_text())
    assert data[0]["data"]["iname"] == "VI_1" and data[0]["data"]["state"] == 2
    assert not list(d.dir.glob("*.tmp.*"))
    d.proc.signal(signal.SIGRTMAX)  # TDUMP: logged, nothing dies
    assert wait_until(lambda: "TDUMP:" in d.proc.output(), 10)

    out = d.ctl("status")
    assert out.returncode == 0
    assert "VI_1" in out.stdout and "MASTER" in out.stdout and "notifier" in out.stdout
    out = d.ctl("dump", "--json")
    assert json.loads(out.stdout)[0]["data"]["vrid"] == 51
    out = d.ctl("dump")
    assert "memory check (parent): traced" in out.stdout
    assert "VRRP Instance: VI_1" in d.ctl("stats").stdout
    tap = subprocess.Popen(
        [sys.executable, "-m", "pykeepalived.ctl", "--runtime-dir", str(d.runtime_dir),
         "tap", "--json", "--count", "1", "--for", "20", "config."],
        stdout=subprocess.PIPE, text=True, cwd=REPO,
    )  # fmt: skip
    # zmq's slow joiner: a reload published before the tap's subscription reached the
    # daemon is not seen, so reload until the tap prints one (it ends after one event)
    assert tap.stdout is not None
    for _ in range(10):
        assert d.ctl("reload", timeout=60).returncode == 0
        if select.select([tap.stdout], [], [], 2.0)[0]:
            break
    line = tap.communicate(timeout=30)[0].strip()
    assert json.loads(line)["type"] == "config.reload"


def test_metrics_and_mem_check(shared: ToyDaemon) -> None:
    d = shared
    port = d.metrics_port  # type: ignore[attr-defined]
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.decode().partition("\r\n\r\n")
    assert head.startswith("HTTP/1.0 200") and "text/plain; version=0.0.4" in head
    assert 'pykeepalived_child_restarts_total{child="vrrp"} 0' in body
    assert 'pykeepalived_vrrp_state{iname="VI_1"} 2' in body
    assert 'pykeepalived_actor_events_total{actor="vrrp",name="bus.tx"}' in body
    # keepalived-exporter's series, from the toy's keepalived-shaped instance
    assert "keepalived_up 1" in body
    assert ('keepalived_vrrp_state{iname="VI_1",intf="eth0",vrid="51",'
            'ip_address="192.0.2.10"} 2') in body  # fmt: skip
    assert 'keepalived_advertisements_sent_total{iname="VI_1",intf="eth0",vrid="51"} 3' in body
    for path, answer in ((b"/livez", b"ok\n"), (b"/readyz", b"ready\n")):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET " + path + b" HTTP/1.0\r\n\r\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        assert data.startswith(b"HTTP/1.0 200 ") and data.endswith(b"\r\n\r\n" + answer)
    dump = d.ctl("dump").stdout
    for name in ("parent", "vrrp", "netlink", "notifier"):
        assert f"memory check ({name}): traced" in dump, dump[-3000:]
    assert "top growth since start" in dump
    for request, code in ((b"GET /nope HTTP/1.0\r\n\r\n", b"404"),
                          (b"POST /metrics HTTP/1.0\r\n\r\n", b"405")):  # fmt: skip
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(request)
            assert s.recv(100).split()[1] == code


def test_daemonises_without_dont_fork() -> None:
    d = ToyDaemon(start=False)
    argv = [a for a in d.argv if a != "-n"]
    started = subprocess.run(argv, capture_output=True, timeout=30, cwd=REPO, env=d.env)
    assert started.returncode == 0, started.stderr  # the foreground process returns at once
    assert wait_until(lambda: d.pid_file.exists() and d.pid_file.read_text().strip() != "", 10)
    pid = int(d.pid_file.read_text())
    try:
        assert alive(pid)
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        assert int(stat[2]) != pid  # not a process group leader ...
        assert int(stat[3]) != os.getsid(0)  # ... in a session of its own
        assert wait_until(lambda: d.ctl("status").returncode == 0, 20)
        assert d.ctl("stop").returncode == 0
        assert wait_until(lambda: not alive(pid), 20)
        assert not d.pid_file.exists()
    finally:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_tcp_event_tap_carries_events_not_commands(shared: ToyDaemon) -> None:
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect(f"tcp://127.0.0.1:{shared.tap_port}")  # type: ignore[attr-defined]
    peer = DaemonBus(shared.runtime_dir)
    try:
        _wait_subscribed(sub, peer)
        peer.request("vrrp", "ping", {"seq": 7})
        types = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "toy.pong" not in types:
            if sub.poll(200):
                env = decode(sub.recv_multipart())
                types.append(env.type)
        assert "toy.ping" in types and "toy.pong" in types, types
        assert not any(t.startswith("cmd.") or t == "reply" for t in types)
    finally:
        peer.close()
        sub.close(0)
        ctx.term()


def test_dont_respawn_and_permanent_exit_codes_stop_the_daemon() -> None:
    # -R: a dead child is not restarted, the daemon stops
    d = ToyDaemon(STATIC_CONF, "-R", "-d")
    try:
        d.wait_ready(30)
        assert "router_id toy1" in d.proc.output()  # -d: the parsed configuration, logged
        os.kill(d.children_pids()["notifier"], signal.SIGKILL)
        assert d.proc.popen.wait(20) == 0
        assert "Exiting (--dont-respawn)" in d.proc.output()
        assert not d.events("watchdog.restart")
    finally:
        d.stop()
    # exit status 2 (configuration) is permanent: the daemon stops with it, no loop
    d = ToyDaemon(STATIC_CONF)
    peer = None
    try:
        d.wait_ready(30)
        peer = DaemonBus(d.runtime_dir)
        peer.request("netlink", "exit", {"code": 2})
        assert d.proc.popen.wait(20) == 2
        assert "permanent error 2" in d.proc.output()
    finally:
        if peer is not None:
            peer.close()
        d.stop()
