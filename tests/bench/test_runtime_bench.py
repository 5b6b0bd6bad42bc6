"""Runtime benchmarks (``make bench``): bus latency and throughput, restart time, idle PSS.

Goals from issue 4: event latency p99 under 1 ms between two actors, a dead child
replaced and answering within 1 s, total PSS of the six processes under 100 MB.

* latency: the vrrp toy publishes an event every 2 ms stamped with ``perf_counter``
  (CLOCK_MONOTONIC, one clock for every process); the netlink toy, subscribed to it,
  records arrival minus stamp: actor → DEALER → broker → PUB → SUB → actor's loop.
* throughput: the vrrp toy publishes as fast as it can (backing off when its own queue is
  full); the netlink toy counts what reaches it through the broker per second.
* restart: SIGKILL a child; time until its replacement answers a ``status`` command
  over the bus (the hello path: the reply comes from the new process's work loop).
* PSS: ``/proc/<pid>/smaps_rollup`` of the parent and its five children at idle, with
  the real actor shells in a lab namespace (a shell that does not exist yet is replaced
  by a toy and named in the output); multiprocessing's helpers (the forkserver and its
  resource tracker) are reported on their own.

Results are printed (``make bench`` runs pytest with ``-s``) as medians over repeats.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import statistics
import time
from pathlib import Path

import pytest

from tests import lab as lab_mod
from tests.daemon import DaemonBus
from tests.integration.runtime import toys
from tests.integration.runtime.runner import STATIC_CONF, ToyDaemon

pytestmark = pytest.mark.bench

REPEATS = 3


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def _report(name: str, data: dict[str, object]) -> None:
    print(f"\nBENCH {name}: {json.dumps(data)}")


def test_bus_latency_and_throughput() -> None:
    d = ToyDaemon(STATIC_CONF)
    peer = None
    try:
        d.wait_ready(30)
        peer = DaemonBus(d.runtime_dir)
        p50s: list[float] = []
        p99s: list[float] = []
        rates: list[float] = []
        delivered: list[float] = []
        for _ in range(REPEATS):
            peer.request("netlink", "latencies", {})
            peer.request("vrrp", "pace", {"n": 1000, "interval": 0.002}, timeout=60)
            time.sleep(0.2)
            lat = peer.request("netlink", "latencies", {})["latencies"]
            assert isinstance(lat, list) and len(lat) >= 990
            p50s.append(_pct(lat, 0.5) * 1e3)
            p99s.append(_pct(lat, 0.99) * 1e3)

            n = 30_000
            peer.request("netlink", "flood_stats", {})
            peer.request("vrrp", "flood", {"n": n}, timeout=10)
            deadline = time.monotonic() + 60
            stats: dict[str, object] = {"seen": 0}
            last_seen = -1
            while time.monotonic() < deadline:
                time.sleep(0.5)
                stats = peer.request("netlink", "flood_stats_peek", {})
                if stats["seen"] == last_seen:
                    break  # nothing more arrived in half a second: the flood is over
                last_seen = int(stats["seen"])  # type: ignore[call-overload]
            stats = peer.request("netlink", "flood_stats", {})
            seen = int(stats["seen"])  # type: ignore[call-overload]
            span = float(stats["last"]) - float(stats["first"])  # type: ignore[arg-type]
            assert seen > n * 0.5, stats
            rates.append(seen / max(span, 1e-9))
            delivered.append(seen / n)
        result = {
            "latency_p50_ms": round(statistics.median(p50s), 3),
            "latency_p99_ms": round(statistics.median(p99s), 3),
            "events_per_s": round(statistics.median(rates)),
            "flood_delivered": round(statistics.median(delivered), 3),
            "repeats": REPEATS,
        }
        _report("bus", result)
        assert result["events_per_s"] > 1000
    finally:
        if peer is not None:
            peer.close()
        d.stop()


def test_child_death_to_replacement_answering() -> None:
    samples: list[float] = []
    for _ in range(2):  # back-off is 0 only for a child's first restart within 60 s
        d = ToyDaemon(STATIC_CONF)
        peer = None
        try:
            d.wait_ready(30)
            peer = DaemonBus(d.runtime_dir)
            for name, old in d.children_pids().items():
                t0 = time.perf_counter()
                os.kill(old, signal.SIGKILL)
                while True:
                    try:
                        reply = peer.request(name, "status", {}, timeout=0.05)
                    except (TimeoutError, AssertionError):
                        continue
                    if reply["pid"] != old:
                        break
                samples.append(time.perf_counter() - t0)
        finally:
            if peer is not None:
                peer.close()
            d.stop()
    result = {
        "restart_median_ms": round(statistics.median(samples) * 1e3, 1),
        "restart_max_ms": round(max(samples) * 1e3, 1),
        "samples": len(samples),
    }
    _report("restart", result)
    assert max(samples) < 5.0


FULL_CONF = """
global_defs {
    router_id bench
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {
        %(vip)s/24 dev eth0
    }
}
virtual_server %(vip)s 80 {
    delay_loop 5
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server %(rs)s 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 2
        }
    }
}
"""


def _pss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    raise AssertionError(f"no Pss in smaps_rollup of {pid}")


@pytest.mark.netns
def test_idle_pss_of_the_six_processes(lab: lab_mod.Lab) -> None:
    a = lab["a"]
    missing = {
        name: path
        for name, path in toys.ALL.items()
        if importlib.util.find_spec(f"pykeepalived.actors.{name}.actor") is None
    }
    conf = FULL_CONF % {"vip": lab.vip(100), "rs": b_addr(lab)}
    totals, forkservers = [], []
    per: dict[str, list[int]] = {}
    for _ in range(REPEATS):
        d = ToyDaemon(conf, "--lb-backend", "dry-run", toys_for=missing, netns=a.netns)
        try:
            status = d.wait_ready(40)
            time.sleep(3.0)  # idle
            pids = {"parent": d.proc.pid} | {
                n: c["pid"] for n, c in status["children"].items() if c.get("pid")
            }
            sizes = {n: _pss_kb(p) for n, p in pids.items()}
            for n, v in sizes.items():
                per.setdefault(n, []).append(v)
            totals.append(sum(sizes.values()))
            fs = [
                int(p)
                for p in os.listdir("/proc")
                if p.isdigit() and _is_forkserver_of(int(p), d.proc.pid)
            ]
            forkservers.append(sum(_pss_kb(p) for p in fs))
        finally:
            d.stop()
    result = {
        "processes": sorted(per),
        "toy_children": sorted(missing),
        "total_pss_mb": round(statistics.median(totals) / 1024, 1),
        "helpers_pss_mb": round(statistics.median(forkservers) / 1024, 1),
        "per_process_mb": {n: round(statistics.median(v) / 1024, 1) for n, v in per.items()},
    }
    _report("pss", result)
    assert len(per) == 6


def b_addr(lab: lab_mod.Lab) -> str:
    return lab["b"].ipv4.split("/")[0]


def _is_forkserver_of(pid: int, parent: int) -> bool:
    """multiprocessing's helpers of the parent: the forkserver and its resource tracker."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    helper = b"forkserver" in cmd or b"resource_tracker" in cmd
    return int(stat.rsplit(")", 1)[1].split()[1]) == parent and helper


SENDER = """
import sys, time, zmq
ctx = zmq.Context(); s = ctx.socket(zmq.PUB); s.bind(sys.argv[1]); time.sleep(0.5)
for _ in range(1000):
    s.send_multipart([b"t", repr(time.perf_counter()).encode()]); time.sleep(0.002)
s.send_multipart([b"t", b"end"]); time.sleep(0.2)
s.close(); ctx.term()
"""


def test_raw_zmq_hop_baseline(tmp_path: Path) -> None:
    """The floor under the bus numbers: one PUB→SUB hop between two plain Python
    processes on this machine (no broker, no envelope), received by an asyncio loop."""
    import asyncio
    import subprocess
    import sys

    import zmq.asyncio

    endpoint = f"ipc://{tmp_path}/hop.sock"
    p50s, p99s = [], []
    for _ in range(REPEATS):
        sender = subprocess.Popen([sys.executable, "-c", SENDER, endpoint])

        async def receive() -> list[float]:
            ctx = zmq.asyncio.Context()
            sub = ctx.socket(zmq.SUB)
            sub.setsockopt(zmq.SUBSCRIBE, b"")
            sub.connect(endpoint)
            lat = []
            while True:
                _, value = await sub.recv_multipart()
                if value == b"end":
                    break
                lat.append(time.perf_counter() - float(value))
            sub.close(0)
            ctx.term()
            return lat

        lat = asyncio.run(asyncio.wait_for(receive(), 60))
        sender.wait(10)
        p50s.append(_pct(lat, 0.5) * 1e3)
        p99s.append(_pct(lat, 0.99) * 1e3)
    p50, p99 = statistics.median(p50s), statistics.median(p99s)
    _report("raw_hop", {"p50_ms": round(p50, 3), "p99_ms": round(p99, 3), "repeats": REPEATS})
    assert len(p50s) == REPEATS
