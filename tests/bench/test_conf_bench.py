"""Benchmark: ``-t`` on a generated ~142,000-line configuration (1,000 vrrp_instances,
2,000 virtual_servers of 10 real_servers each), pykeepalived against Debian's
``keepalived -t`` on the same file, in the same run. Medians of REPEATS runs; peak RSS.

Run with ``make bench`` (``pytest -m bench -s tests/bench``). keepalived runs in a fresh
network namespace that has the interfaces the file names (eth0..eth3), as it checks them.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import lab as lab_mod

pytestmark = pytest.mark.bench

REPEATS = 5
N_VI, N_VS, N_RS = 1000, 2000, 10


def generate(n_vi: int = N_VI, n_vs: int = N_VS, n_rs: int = N_RS) -> str:
    """The benchmark configuration (pykeepalived's own generator)."""
    out = ["global_defs {", "    router_id bench", "}"]
    for i in range(n_vi):
        out += [
            f"vrrp_instance VI_{i} {{",
            "    state BACKUP",
            f"    interface eth{i // 250}",
            f"    virtual_router_id {i % 250 + 1}",
            "    priority 100",
            "    advert_int 1",
            "    virtual_ipaddress {",
            f"        10.{i // 250}.{i % 250}.1/32",
            "    }",
            "}",
        ]
    for v in range(n_vs):
        a, b = divmod(v, 250)
        out += [
            f"virtual_server 172.16.{a}.{b + 1} 80 {{",
            "    delay_loop 6",
            "    lb_algo rr",
            "    lb_kind NAT",
            "    protocol TCP",
        ]
        for r in range(n_rs):
            out += [
                f"    real_server 192.168.{a}.{b * 10 % 250 + r + 1} 80 {{",
                "        weight 1",
                "        TCP_CHECK {",
                "            connect_timeout 3",
                "        }",
                "    }",
            ]
        out.append("}")
    return "\n".join(out) + "\n"


_CHILD = """
import json, resource, sys, time
t0 = time.perf_counter()
from pykeepalived.conf import load
t1 = time.perf_counter()
c1 = time.process_time()
r = load(sys.argv[1], config_id="bench", interfaces={"lo", "eth0", "eth1", "eth2", "eth3"})
t2 = time.perf_counter()
c2 = time.process_time()
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "load_cpu": c2 - c1, "exit": r.exit_code,
                  "vi": len(r.config.vrrp_instances), "vs": len(r.config.virtual_servers),
                  "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def _ours(path: Path) -> dict[str, float]:
    t0 = time.perf_counter()
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True, check=True
    ).stdout
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter() - t0
    data = json.loads(out)
    data["wall"] = wall
    data["cpu"] = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return data  # type: ignore[no-any-return]


def _keepalived(ns: str, path: Path) -> tuple[float, int, int, float]:
    """(wall s, exit code, peak RSS KiB, CPU s) of ``keepalived -t`` (its children included)."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        ["ip", "netns", "exec", ns, "/usr/bin/time", "-f", "%M %U %S", lab_mod.KEEPALIVED,
         "-t", "-l", "-n", "-f", str(path)],
        capture_output=True, text=True,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    rss, user, system = proc.stderr.strip().splitlines()[-1].split()
    return wall, proc.returncode, int(rss), float(user) + float(system)


def test_config_test_speed_against_keepalived(tmp_path: Path) -> None:
    if os.geteuid() != 0 or not os.access(lab_mod.KEEPALIVED, os.X_OK):
        pytest.skip("needs root and Debian's keepalived")
    if not os.access("/usr/bin/time", os.X_OK):
        pytest.skip("needs /usr/bin/time for keepalived's peak memory")
    path = tmp_path / "bench.conf"
    path.write_text(generate())
    lines = path.read_text().count("\n")
    ns = f"{lab_mod.RUN_PREFIX}cfb"
    lab_mod.sh(["ip", "netns", "add", ns])
    lab_mod.LIVE_NAMESPACES.add(ns)
    try:
        for i in range(4):
            lab_mod.sh(
                ["ip", "-n", ns, "link", "add", f"eth{i}", "type", "veth", "peer", "name", f"p{i}"]
            )
        ours: list[dict[str, float]] = []
        theirs: list[tuple[float, int, int, float]] = []
        for _ in range(REPEATS):  # interleaved, so both see the same machine load
            theirs.append(_keepalived(ns, path))
            ours.append(_ours(path))
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        lab_mod.LIVE_NAMESPACES.discard(ns)
    ka_wall = statistics.median(t[0] for t in theirs)
    ka_cpu = statistics.median(t[3] for t in theirs)
    our_cpu = statistics.median(o["cpu"] for o in ours)
    our_load_cpu = statistics.median(o["load_cpu"] for o in ours)
    ka_rss = max(t[2] for t in theirs)
    our_load = statistics.median(o["load"] for o in ours)
    our_wall = statistics.median(o["wall"] for o in ours)
    our_import = statistics.median(o["import"] for o in ours)
    our_rss = max(o["maxrss_kb"] for o in ours)
    print(
        f"\nconf bench: {lines} lines, {N_VI} vrrp_instances, {N_VS} virtual_servers x {N_RS}"
        f"\n  keepalived -t        median {ka_wall:.3f} s (CPU {ka_cpu:.3f} s)"
        f"  peak RSS {ka_rss / 1024:.1f} MiB  exit {theirs[0][1]}"
        f"\n  pykeepalived load()  median {our_load:.3f} s  ({our_load / ka_wall:.2f}x keepalived)"
        f"  CPU {our_load_cpu:.3f} s ({our_load_cpu / ka_cpu:.2f}x)"
        f"\n  pykeepalived -t      median {our_wall:.3f} s  (process incl. "
        f"{our_import:.3f} s imports; {our_wall / ka_wall:.2f}x)"
        f"  CPU {our_cpu:.3f} s ({our_cpu / ka_cpu:.2f}x)"
        f"  peak RSS {our_rss / 1024:.1f} MiB  exit {ours[0]['exit']}"
    )
    assert all(o["exit"] == 0 and o["vi"] == N_VI and o["vs"] == N_VS for o in ours)
    assert all(t[1] == 0 for t in theirs)
