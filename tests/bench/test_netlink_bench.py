"""Netlink reflector benchmarks (``make bench``): VIP add latency and table memory.

1. **VIP add → visible in the kernel**, two ways, in a lab namespace:

   * *actor*: ``Reflector.addresses_set`` called in-process (the actor's own work: parse,
     ledger, one RTM_NEWADDR request and its ack);
   * *bus*: the whole path a VRRP actor uses: a command over the daemon's zmq bus to the
     running netlink child, which applies it and replies.

   The clock stops when the reply is back. Visibility is then checked, without waiting,
   on an independent rtnetlink socket subscribed to address notifications: the kernel's
   RTM_NEWADDR for that address must already be queued there, so "acknowledged" really
   means "visible to every other program". p50/p99 over ``N_VIPS`` adds, median over
   ``ROUNDS`` rounds. The issue's goal is p99 under 2 ms.

2. **Memory with 10,000 addresses in the table**: ``ip -batch`` adds 10,000 addresses in
   the namespace of a running daemon; the netlink child's RSS (from ``/proc``) before and
   after, and, in-process, the bytes tracemalloc attributes to the table per address.
"""

from __future__ import annotations

import gc
import logging
import statistics
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from pykeepalived.actors.netlink.driver import Monitor
from pykeepalived.bus.codec import to_wire
from pykeepalived.conf.model import IPAddress
from tests.daemon import Daemon, DaemonBus
from tests.integration.netlink.harness import Harness, inside, run
from tests.lab import Lab

pytestmark = [pytest.mark.bench, pytest.mark.netns]

N_VIPS = 300
ROUNDS = 3
N_TABLE = 10_000
RTMGRP_IPV4_IFADDR = 0x10


def _pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def _vip(i: int) -> dict[str, Any]:
    return to_wire(IPAddress(address=f"10.240.{i // 250}.{i % 250 + 1}/32", dev="eth0"))


def _visible(mon: Monitor, address: str) -> bool:
    """True if an RTM_NEWADDR for ``address`` is already queued on ``mon`` (no waiting)."""
    for msg in mon.read():
        if msg.get("event") == "RTM_NEWADDR" and f"{msg.get('IFA_LOCAL')}/32" == address:
            return True
    return False


def _report(name: str, rounds: list[list[float]]) -> tuple[float, float]:
    p50 = statistics.median(_pct(r, 50) for r in rounds)
    p99 = statistics.median(_pct(r, 99) for r in rounds)
    print(
        f"\n[netlink bench] VIP add -> visible ({name}): p50 {p50 * 1e3:.3f} ms, "
        f"p99 {p99 * 1e3:.3f} ms (median of {len(rounds)} rounds x {N_VIPS} adds)"
    )
    return p50, p99


def test_vip_add_latency_in_the_actor(lab: Lab, tmp_path: Path) -> None:
    host = lab["a"]
    with inside(host.netns):
        h = Harness(host, tmp_path, keep_events=False)

        async def body() -> list[list[float]]:
            r = h.reflector()
            await r.start({})
            mon = Monitor(groups=RTMGRP_IPV4_IFADDR, rcvbuf=1 << 22)
            mon.open()
            rounds = []
            for _ in range(ROUNDS):
                times = []
                for i in range(N_VIPS):
                    item = _vip(i)
                    t0 = time.perf_counter()
                    reply = await r.addresses_set(
                        {"owner": "vrrp/B", "present": True, "addresses": [item]}
                    )
                    times.append(time.perf_counter() - t0)
                    assert reply["errors"] == []
                    assert _visible(mon, item["address"]), item
                rounds.append(times)
                await r.addresses_set(
                    {
                        "owner": "vrrp/B",
                        "present": False,
                        "addresses": [_vip(i) for i in range(N_VIPS)],
                    }
                )
                mon.read(limit=10_000)
            mon.close()
            await r.stop()
            return rounds

        rounds = run(body(), timeout=120)
    _, p99 = _report("in the actor", rounds)
    assert p99 < 0.010  # goal 2 ms; 10 ms leaves room for this shared 2-core machine


def test_vip_add_latency_over_the_bus(lab: Lab) -> None:
    a = lab["a"]
    conf = f"static_ipaddress {{\n {lab.vip(9)}/32 dev eth0\n}}\n"
    with Daemon(a, conf) as d:
        d.wait_ready()
        bus = DaemonBus(d.runtime_dir, name="nlbench")
        try:
            with inside(a.netns):
                mon = Monitor(groups=RTMGRP_IPV4_IFADDR, rcvbuf=1 << 22)
                mon.open()
            rounds = []
            for _ in range(ROUNDS):
                times = []
                for i in range(N_VIPS):
                    item = _vip(i)
                    t0 = time.perf_counter()
                    reply = bus.reply(
                        "netlink",
                        "addresses.set",
                        {"owner": "vrrp/B", "present": True, "addresses": [item]},
                    )
                    times.append(time.perf_counter() - t0)
                    assert reply["ok"] and reply["result"]["errors"] == [], reply
                    assert _visible(mon, item["address"]), item
                rounds.append(times)
                bus.reply(
                    "netlink",
                    "addresses.set",
                    {
                        "owner": "vrrp/B",
                        "present": False,
                        "addresses": [_vip(i) for i in range(N_VIPS)],
                    },
                    timeout=30,
                )
                mon.read(limit=10_000)
            mon.close()
            # the same round trip with no kernel work: what the bus itself costs
            empty = []
            for _ in range(N_VIPS):
                t0 = time.perf_counter()
                assert bus.reply("netlink", "owned", {"owner": "nobody"})["ok"]
                empty.append(time.perf_counter() - t0)
        finally:
            bus.close()
    _, p99 = _report("over the bus", rounds)
    print(
        f"[netlink bench] bus round trip alone (owned command): p50 "
        f"{_pct(empty, 50) * 1e3:.3f} ms, p99 {_pct(empty, 99) * 1e3:.3f} ms"
    )
    assert p99 < 0.020


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _batch(path: Path, n: int) -> Path:
    path.write_text(
        "".join(
            f"addr add 10.{200 + i // 62500}.{i // 250 % 250}.{i % 250 + 1}/32 dev eth0\n"
            for i in range(n)
        )
    )
    return path


def test_memory_with_10000_addresses(lab: Lab, tmp_path: Path) -> None:
    a = lab["a"]
    batch = _batch(tmp_path / "add.batch", N_TABLE)
    conf = f"static_ipaddress {{\n {lab.vip(9)}/32 dev eth0\n}}\n"
    with Daemon(a, conf) as d:
        d.wait_ready()
        pid = d.child_pid("netlink")
        time.sleep(0.5)
        before = _rss_kib(pid)
        t0 = time.perf_counter()
        a.run(["ip", "-batch", str(batch)], timeout=120)
        bus = DaemonBus(d.runtime_dir, name="nlmem")
        try:
            deadline = time.monotonic() + 60
            while True:
                st = bus.reply("netlink", "status", {})["result"]
                if st["state"].get("addresses", 0) >= N_TABLE:
                    break
                assert time.monotonic() < deadline, st
                time.sleep(0.2)
        finally:
            bus.close()
        settle = time.perf_counter() - t0
        after = _rss_kib(pid)
        resyncs = st["state"]["resyncs"]
    print(
        f"\n[netlink bench] netlink child RSS {before} KiB -> {after} KiB with {N_TABLE} more "
        f"addresses ({(after - before) * 1024 / N_TABLE:.0f} B/address); table caught up in "
        f"{settle:.2f} s including ip -batch; {resyncs} ENOBUFS resyncs"
    )

    # the table alone, measured by tracemalloc in-process
    with inside(a.netns):
        h = Harness(a, tmp_path, keep_events=False)

        async def body() -> tuple[int, int]:
            timed = h.reflector()
            t0 = time.perf_counter()
            await timed.start({})
            took = time.perf_counter() - t0
            timed.close()
            r = h.reflector()
            r.log.setLevel(logging.WARNING)
            gc.collect()
            tracemalloc.start()
            base = tracemalloc.get_traced_memory()[0]
            await r.start({})
            gc.collect()  # the dump's messages are garbage by now
            used = tracemalloc.get_traced_memory()[0] - base
            count = r.table.address_count()
            tracemalloc.stop()
            r.close()
            print(
                f"\n[netlink bench] start-up (or ENOBUFS resync) dump of {count} addresses "
                f"into the table: {took:.2f} s"
            )
            return used, count

        used, count = run(body(), timeout=60)
    print(
        f"[netlink bench] reflector after its start-up dump (tracemalloc, table included): "
        f"{used / 1024:.0f} KiB for {count} "
        f"addresses = {used / count:.0f} B/address"
    )
    assert count >= N_TABLE
    assert used / count < 2048
