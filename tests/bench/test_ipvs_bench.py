"""Bench: the nftables backend at 2,000 virtual servers x 10 real servers (``make bench``).

Two figures, each measured in a fresh network namespace by a worker process (libnftables
acts on the namespace of the process that calls it):

* programming the whole table from nothing: policy → rule set → diff → one transaction;
* one real server change at that size: a verdict into the policy, the incremental diff of
  its virtual server, one transaction rewriting that service's chain, the events. Its
  p50/p99 are printed next to the same figure for a 20-service table, to show the cost
  does not grow with the table (goal: p99 < 5 ms).

Run the worker by hand: ``ip netns exec NS .venv/bin/python tests/bench/test_ipvs_bench.py N``.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid

import pytest

pytestmark = [pytest.mark.bench, pytest.mark.netns, pytest.mark.timeout(600)]

REPEATS = 3
CHANGES = 400


def _specs(n_vs: int, n_rs: int):  # type: ignore[no-untyped-def]
    from pykeepalived.actors.ipvs.model import RealSpec, VirtualSpec, service_attrs
    from pykeepalived.actors.ipvs.rules import ServiceId

    specs = []
    for i in range(n_vs):
        addr = f"10.{100 + i // 250}.{i % 250}.1"
        reals = tuple(
            RealSpec(f"172.16.{i % 250}.{j + 2}:8080", f"172.16.{i % 250}.{j + 2}", 8080,
                     weight=1 + j % 3, checkers=1)
            for j in range(n_rs)
        )  # fmt: skip
        specs.append(
            VirtualSpec(f"{addr}:80", "tcp", (ServiceId("inet", "tcp", addr, 80),),
                        service_attrs("wrr"), reals)
        )  # fmt: skip
    return specs


async def _worker(n_vs: int, n_rs: int) -> dict[str, object]:
    from pykeepalived.actors.ipvs.driver import NftBackend
    from pykeepalived.actors.ipvs.model import LbModel, view_events
    from pykeepalived.actors.ipvs.rules import apply, diff

    specs = _specs(n_vs, n_rs)
    program: list[float] = []
    for _ in range(REPEATS):
        backend = NftBackend(table=f"bench{uuid.uuid4().hex[:6]}")
        await backend.open()
        t0 = time.perf_counter()
        model = LbModel(specs)
        desired = model.desired()
        ops = diff(desired, {})
        await backend.apply(ops, desired)
        program.append(time.perf_counter() - t0)
        actual = apply({}, ops)
        assert len(await backend.dump()) == n_vs
        last = backend
    # one real server change at that size, through the shell's incremental path; the
    # actor freezes its start-up objects out of the collector the same way
    gc.collect()
    gc.freeze()
    model_views = model.views()
    rng = random.Random(1)
    change: list[float] = []
    for k in range(CHANGES):
        spec = specs[rng.randrange(n_vs)]
        rs = spec.real_servers[rng.randrange(n_rs)]
        t0 = time.perf_counter()
        model.on_check_result(spec.key, "tcp", rs.key, "TCP_CHECK", k % 2 == 1)
        ids = {spec.id}
        want = model.desired(ids)
        have = {s: actual[s] for s in spec.services if s in actual}
        ops = diff(want, have, set(spec.services))
        actual = apply(actual, ops)
        await last.apply(ops, actual)
        new_views = model.views(ids)
        view_events({spec.id: model_views[spec.id]}, new_views)
        model_views.update(new_views)
        change.append(time.perf_counter() - t0)
    q = statistics.quantiles(change, n=100)
    return {
        "virtual_servers": n_vs,
        "real_servers": n_vs * n_rs,
        "program_s_median": statistics.median(program),
        "program_s_runs": [round(x, 3) for x in program],
        "change_ms_p50": statistics.median(change) * 1000,
        "change_ms_p99": q[98] * 1000,
        "changes": len(change),
    }


def _run_in_namespace(n_vs: int, n_rs: int) -> dict[str, object]:
    ns = f"pkbench{os.getpid()}x{n_vs}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        out = subprocess.run(
            ["ip", "netns", "exec", ns, sys.executable, __file__, str(n_vs), str(n_rs)],
            capture_output=True, text=True, timeout=500, check=True,
        )  # fmt: skip
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_nftables_2000_vs_of_10_rs() -> None:
    big = _run_in_namespace(2000, 10)
    small = _run_in_namespace(20, 10)
    for r in (big, small):
        print(
            f"\nipvs nftables bench: {r['virtual_servers']} VS x 10 RS: program "
            f"{r['program_s_median']:.3f} s (median of {REPEATS}: {r['program_s_runs']}); "
            f"one RS change p50 {r['change_ms_p50']:.2f} ms p99 {r['change_ms_p99']:.2f} ms "
            f"({r['changes']} changes)"
        )
    goal = (
        "met" if float(big["change_ms_p99"]) < 5.0 else "NOT met on this (shared, loaded) machine"
    )  # type: ignore[arg-type]
    print(f"goal p99 < 5 ms at 2,000 VS: {goal}")
    # what must hold whatever the load: the median is far under the goal and the cost of a
    # change does not grow with the table (the same p99 as a table of 20, within noise)
    assert float(big["change_ms_p50"]) < 5.0  # type: ignore[arg-type]
    assert float(big["change_ms_p99"]) < 2 * float(small["change_ms_p99"]) + 5.0  # type: ignore[arg-type]


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_worker(int(sys.argv[1]), int(sys.argv[2])))))
