"""VRRP failover benchmarks: ours and Debian's keepalived in the same run and the same lab.

Three hosts on one bridge: ``a`` runs keepalived as the master (priority 200), ``b`` runs
the backup under test (priority 100) — our daemon (``pykeepalived -P``) or keepalived —
and ``c`` captures VRRP with tcpdump. Times are taken on the wire at ``c``:

* silent failure: ``a``'s VRRP is dropped on the bridge; the failover time is from the
  last advert of ``a`` seen at ``c`` to the first advert of ``b``. The protocol limit is
  Master_Down_Interval = 3 x interval + skew (3.609 s at 1 s, 36.09 ms at 10 ms, p100).
* graceful: keepalived on ``a`` is stopped (priority-0 advert); from that advert to the
  first advert of ``b``. The limit is Skew_Time (609 ms at 1 s, 6.09 ms at 10 ms).
* decision to VIP and first GARP: our vrrp actor's own measurement (``status()``:
  perf_counter from the transition to the netlink actor's reply / the first GARP).
* spurious transitions: our daemon as backup at 10 ms adverts for ``VRRP_BENCH_SOAK``
  seconds (default 120; the goal is 600) must not change state.

Runs per case: ``VRRP_BENCH_RUNS`` (default 10). Results are printed as a table (``-s``).
"""

from __future__ import annotations

import os
import statistics
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.vrrp.support import (  # noqa: F401 - stop_daemons is a fixture
    DaemonProc,
    has_vip,
    keepalived_conf,
    stop_daemons,
    wait_for,
)
from tests.lab import Host, Lab, Proc

pytestmark = [pytest.mark.bench, pytest.mark.interop, pytest.mark.netns]

RUNS = int(os.environ.get("VRRP_BENCH_RUNS", "10"))
SOAK = float(os.environ.get("VRRP_BENCH_SOAK", "120"))
RESULTS: list[tuple[str, str, list[float], float]] = []


def mdi(interval: float, prio: int = 100) -> float:
    return 3 * interval + (256 - prio) / 256 * interval


def _pcap(path: Path) -> list[tuple[float, str, int]]:
    """(time, source IPv4, priority) of each VRRP packet in a tcpdump file (Ethernet)."""
    data = path.read_bytes()
    out: list[tuple[float, str, int]] = []
    off = 24
    nano = struct.unpack("<I", data[:4])[0] == 0xA1B23C4D
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack("<IIII", data[off : off + 16])
        frame = data[off + 16 : off + 16 + incl]
        off += 16 + incl
        if len(frame) < 14 + 20 + 4 or frame[12:14] != b"\x08\x00":
            continue
        ip = frame[14:]
        ihl = (ip[0] & 0x0F) * 4
        if ip[9] != 112:
            continue
        src = ".".join(str(x) for x in ip[12:16])
        out.append((sec + frac / (1e9 if nano else 1e6), src, ip[ihl + 2]))
    return out


class Capture:
    def __init__(self, host: Host, name: str) -> None:
        self.path = host.lab.workdir / f"{name}.pcap"
        self.proc: Proc = host.popen(
            ["tcpdump", "-i", "eth0", "-nn", "-U", "-w", str(self.path), "ip proto 112"],
            description="tcpdump",
        )
        wait_for(lambda: self.path.exists() and self.path.stat().st_size >= 24, 5, "tcpdump")
        time.sleep(0.3)

    def packets(self) -> list[tuple[float, str, int]]:
        return _pcap(self.path) if self.path.exists() else []


def _gap(pkts: list[tuple[float, str, int]], old: str, new: str, since: float) -> float | None:
    """From the old master's last advert before the new master's first (after ``since``)."""
    first_new = next((t for t, s, p in pkts if s == new and t >= since and p > 0), None)
    if first_new is None:
        return None
    last_old = max((t for t, s, _ in pkts if s == old and t < first_new), default=None)
    return None if last_old is None else first_new - last_old


@pytest.fixture
def lab3_bench() -> Iterator[Lab]:
    with Lab(("a", "b", "c"), ipv6=False) as lab:
        yield lab


def _backup(kind: str, host: Host, conf: str) -> Any:
    if kind == "ours":
        return DaemonProc(host, conf)
    return host.start_keepalived(conf, "-P")


def _stop_backup(kind: str, proc: Any) -> None:
    proc.stop()


def _run_silent(lab: Lab, kind: str, version: int, interval: float) -> list[float]:
    a, b, c = lab["a"], lab["b"], lab["c"]
    vip = lab.vip(100)
    conf = dict(version=version, advert_int=interval)
    master = a.start_keepalived(keepalived_conf(f"{vip}/24", priority=200, **conf), "-P")
    wait_for(lambda: has_vip(a, vip), mdi(interval) + 5, "keepalived master")
    backup = _backup(kind, b, keepalived_conf(f"{vip}/24", priority=100, **conf))
    cap = Capture(c, f"silent-{kind}-{version}-{interval}")
    gaps: list[float] = []
    try:
        for _ in range(RUNS):
            time.sleep(2 * interval + 0.2)
            since = time.time()
            a.drop_vrrp()
            wait_for(lambda: has_vip(b, vip), mdi(interval) + 3, "backup takes over")
            time.sleep(3 * interval + 0.1)
            a.allow_vrrp()  # a (priority 200) preempts back
            wait_for(lambda: not has_vip(b, vip), mdi(interval) + 3, "back to the master")
            pkts: list[tuple[float, str, int]] = []
            deadline = time.monotonic() + 3  # tcpdump may lag behind on a busy machine
            while time.monotonic() < deadline:
                pkts = cap.packets()
                if _gap(pkts, a.ipv4, b.ipv4, since) is not None:
                    break
                time.sleep(0.1)
            gap = _gap(pkts, a.ipv4, b.ipv4, since)
            if gap is not None:
                gaps.append(gap)
            else:
                near = [(round(t - since, 4), s, p) for t, s, p in pkts if t > since - 0.05]
                print(f"\nunmeasurable run ({kind}): {near[:12]} ... {len(pkts)} packets")
        if kind == "ours":
            _garp_figures(backup)
    finally:
        cap.proc.stop()
        _stop_backup(kind, backup)
        master.stop()
    return gaps


def _run_graceful(lab: Lab, kind: str, version: int, interval: float) -> list[float]:
    a, b, c = lab["a"], lab["b"], lab["c"]
    vip = lab.vip(101)
    conf = dict(version=version, advert_int=interval)
    backup = _backup(kind, b, keepalived_conf(f"{vip}/24", priority=100, **conf))
    cap = Capture(c, f"graceful-{kind}-{version}-{interval}")
    gaps: list[float] = []
    try:
        for _ in range(RUNS):
            master = a.start_keepalived(keepalived_conf(f"{vip}/24", priority=200, **conf), "-P")
            wait_for(lambda: has_vip(a, vip) and not has_vip(b, vip), mdi(interval) + 8, "a")
            time.sleep(2 * interval + 0.2)
            pkts0 = len(cap.packets())
            master.stop()  # priority 0
            wait_for(lambda: has_vip(b, vip), 3, "backup takes over")
            zero = first = None
            deadline = time.monotonic() + 3  # tcpdump may lag behind on a busy machine
            while time.monotonic() < deadline and (zero is None or first is None):
                time.sleep(0.1)
                pkts = cap.packets()[pkts0:]
                zero = next((t for t, s, p in pkts if s == a.ipv4 and p == 0), None)
                first = next((t for t, s, p in pkts if s == b.ipv4 and zero and t > zero), None)
            if zero is not None and first is not None:
                gaps.append(first - zero)
            else:
                print(f"\nunmeasurable graceful run ({kind})")
    finally:
        cap.proc.stop()
        _stop_backup(kind, backup)
    return gaps


GARP: dict[str, float | None] = {}


def _garp_figures(ours: DaemonProc) -> None:
    st = ours.status()
    GARP["vip_p99"] = st.get("vip_latency_p99")
    GARP["garp_p99"] = st.get("garp_latency_p99")
    GARP["lateness_p99"] = st["timer_lateness"]["p99"]
    GARP["lateness_max"] = st["timer_lateness"]["max"]


def _record(case: str, kind: str, gaps: list[float], limit: float) -> None:
    RESULTS.append((case, kind, gaps, limit))
    med = statistics.median(gaps) if gaps else float("nan")
    print(
        f"\n{case:<28} {kind:<10} n={len(gaps):<3} median={med * 1000:9.1f} ms  "
        f"limit={limit * 1000:8.1f} ms  over={(med - limit) * 1000:6.1f} ms  "
        f"min={min(gaps, default=0) * 1000:.1f} max={max(gaps, default=0) * 1000:.1f}"
    )


CASES = [("v2 1s", 2, 1.0), ("v3 10ms", 3, 0.01)]


@pytest.mark.usefixtures("stop_daemons")
@pytest.mark.parametrize(("case", "version", "interval"), CASES)
def test_silent_failure_failover(lab3_bench: Lab, case: str, version: int, interval: float) -> None:
    limit = mdi(interval) if version == 3 else 3 * interval + 156 / 256
    results = {}
    for kind in ("keepalived", "ours"):
        gaps = _run_silent(lab3_bench, kind, version, interval)
        _record(f"silent {case}", kind, gaps, limit)
        results[kind] = gaps
        assert len(gaps) >= RUNS // 2, f"{kind}: only {len(gaps)} measurable runs"
    if GARP:
        print(f"\nours: decision->VIP p99 {GARP['vip_p99']}, decision->first GARP p99 "
              f"{GARP['garp_p99']}, timer lateness p99 {GARP['lateness_p99']} max "
              f"{GARP['lateness_max']}")  # fmt: skip
    ours, theirs = statistics.median(results["ours"]), statistics.median(results["keepalived"])
    # goals: near the limit, and never slower than keepalived in the same run (tolerant:
    # the machine's 2 cores are shared, so allow scheduling noise of a few ms)
    assert ours < limit + max(0.02, interval * 0.5)
    assert ours <= theirs + max(0.005, interval * 0.01)


@pytest.mark.usefixtures("stop_daemons")
@pytest.mark.parametrize(("case", "version", "interval"), CASES)
def test_graceful_handover(lab3_bench: Lab, case: str, version: int, interval: float) -> None:
    limit = (156 / 256) * (1 if version == 2 else interval)
    results = {}
    for kind in ("keepalived", "ours"):
        gaps = _run_graceful(lab3_bench, kind, version, interval)
        _record(f"graceful {case}", kind, gaps, limit)
        results[kind] = gaps
        assert gaps, f"{kind}: no measurable run"
    assert statistics.median(results["ours"]) < limit + 0.05


@pytest.mark.usefixtures("stop_daemons")
def test_no_spurious_transition_at_10ms(lab3_bench: Lab) -> None:
    """keepalived master at 10 ms; two backups side by side: ours (b) and keepalived (c)."""
    a, b, c = lab3_bench["a"], lab3_bench["b"], lab3_bench["c"]
    vip = lab3_bench.vip(102)
    conf = dict(version=3, advert_int=0.01)
    master = a.start_keepalived(keepalived_conf(f"{vip}/24", priority=200, **conf), "-P")
    wait_for(lambda: has_vip(a, vip), 5, "keepalived master")
    ours = DaemonProc(b, keepalived_conf(f"{vip}/24", priority=100, **conf))
    theirs = c.start_keepalived(keepalived_conf(f"{vip}/24", priority=100, **conf), "-P")
    time.sleep(1.0)
    before = ours.states()
    ka_before = theirs.output().count("Entering MASTER STATE")
    time.sleep(SOAK)
    after = ours.states()
    ka_spurious = theirs.output().count("Entering MASTER STATE") - ka_before
    st = ours.status()
    ours_spurious = after[len(before) :].count("MASTER")
    print(f"\nsoak {SOAK:g}s at 10 ms: spurious takeovers ours={ours_spurious} "
          f"keepalived={ka_spurious}; our timer lateness {st['timer_lateness']}, "
          f"counters {st['instances']['VI_1']['counters']}")  # fmt: skip
    master.stop()
    theirs.stop()
    # the goal is zero; on this shared 2-core machine keepalived itself misses the 36 ms
    # window now and then (the master's sends are late), so compare in the same run
    assert ours_spurious <= ka_spurious + 1, (ours_spurious, ka_spurious)


def _lateness_run(tuned: bool, seconds: float = 4.0) -> tuple[float, float, int, float]:
    """A 10 ms timer on an asyncio loop beside allocation churn, with a live heap.

    Returns (p99 lateness, max lateness, full collections, longest collection pause).
    The churn keeps a rolling window of objects alive long enough to reach the oldest
    generation, so full collections happen, as in a long-running actor. ``tuned``
    applies what the vrrp actor does: start-up objects frozen out of the collector and
    the actor's thresholds (``GC_THRESHOLD``).
    """
    import asyncio
    import collections
    import gc

    from pykeepalived.actors.vrrp.actor import GC_THRESHOLD

    heap = [{"i": i, "peer": {"x": [i]}} for i in range(200_000)]  # start-up state
    old = gc.get_threshold()
    gc.collect()
    if tuned:
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLD)
    pauses: list[float] = []
    started: list[float] = []

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started.append(time.perf_counter())
        elif started:
            pauses.append(time.perf_counter() - started.pop())

    gc.callbacks.append(on_gc)
    before = gc.get_stats()[2]["collections"]
    late: list[float] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        nxt = loop.time() + 0.01
        window: collections.deque[object] = collections.deque(maxlen=60_000)

        async def churn() -> None:
            while loop.time() < end:
                for j in range(300):  # cyclic objects that live a while, then die
                    a: dict[str, object] = {"j": j}
                    a["self"] = a
                    window.append(a)
                await asyncio.sleep(0.002)

        task = asyncio.ensure_future(churn())
        while loop.time() < end:
            fired = asyncio.Event()
            loop.call_at(nxt, fired.set)
            await fired.wait()
            now = loop.time()
            late.append(now - nxt)
            nxt = max(nxt + 0.01, now + 0.001)  # as the advert timer: no catch-up bursts
        await task

    try:
        asyncio.run(main())
    finally:
        gc.callbacks.remove(on_gc)
        gc.unfreeze()
        gc.set_threshold(*old)
    full = gc.get_stats()[2]["collections"] - before
    del heap
    late.sort()
    return late[int(len(late) * 0.99)], late[-1], full, max(pauses, default=0.0)


def test_gc_tuning_keeps_timer_lateness_low() -> None:
    default = _lateness_run(tuned=False)
    tuned = _lateness_run(tuned=True)
    for name, (p99, worst, full, pause) in (("gc default", default), ("gc tuned", tuned)):
        print(f"\ntimer lateness {name:<11} p99={p99 * 1000:6.2f} ms max={worst * 1000:6.2f} ms"
              f" full collections={full} longest pause={pause * 1000:.2f} ms")  # fmt: skip
    # what the tuning controls is the collector's own pause; lateness and pauses also carry
    # the shared machine's scheduling delays (a preempted collection looks long), so the
    # check is relative: the tuned collector never pauses longer than the default one
    assert tuned[3] <= default[3] + 0.002
