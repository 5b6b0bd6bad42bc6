"""The checker's schedule of attempts, keepalived 2.2.7 against pykeepalived, on the wire.

Both daemons run the same configuration at the same time in their own lab hosts (``k``:
Debian's keepalived ``-C``, ``p``: ``pykeepalived -C --lb-backend dry-run``) and check the
same real servers in host ``r``, where tcpdump records every SYN. Each attempt is a new
connection (a new source port), so the first SYN of each (source address, port) is the
moment that daemon started an attempt. Times are compared as offsets from each daemon's
own first attempt (start-up durations differ), within ``TOLERANCE``.

The kernel here has no IPVS, and keepalived's checker process exits when it cannot
initialise it; ``fakeipvs.c`` (built with gcc, loaded with LD_PRELOAD into keepalived
only) answers the IPVS socket options as an empty IPVS table would. The checks are
keepalived's own.

Two real servers, connect_timeout 3, delay_loop 10, retry 2, delay_before_retry 1:

* TCP_CHECK on a listener that goes silent (an nftables drop of its SYNs) after the first
  success: timeouts end 3 s after each attempt, and every delay counts from that end;
  down at the third consecutive timeout; TCP_CHECK retries while down too.
* HTTP_GET on a server that answers after 2 s, stopped later (connections refused):
  delay_loop counts from the end of the slow answer; HTTP_GET does not retry once down.
* TCP_CHECK on a port silent from the start: the first attempt is decisive (down when it
  times out, no retries first); and the same with ``alpha``: no verdict change at all
  (it starts down), the same attempts.

A second test adds a silent TCP_CHECK by a reload (SIGHUP to both): keepalived does not
let its first attempt decide alone (that is a daemon-start rule), it retries as usual.

Not compared here: keepalived's first attempt comes 1 s (its bootstrap delay) plus the
random warm-up after its checker starts, pykeepalived's after the warm-up alone.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.daemon import Daemon
from tests.lab import KEEPALIVED, Host, Lab, Proc

pytestmark = [pytest.mark.netns, pytest.mark.interop]

TOLERANCE = 0.3  # seconds, on offsets from the daemon's first attempt
TCP_PORT, HTTP_PORT, SILENT_PORT, ALPHA_PORT = 8090, 8091, 8092, 8093
#: offsets (s) from the first attempt, keepalived 2.2.7 as measured (see module doc)
TCP_STARTS = [0, 10, 14, 18, 31, 35]  # 10: silent; 13, 17 ended +1; 21 ended: down, +10
TCP_DOWN = 21.0
HTTP_STARTS = [0, 12, 24, 25, 26, 36]  # each answer takes 2 s; stopped at ~20: refused
HTTP_DOWN = 26.0
SILENT_STARTS = [0, 13, 17, 21, 34]  # timed out at 3: down at once; 13 = 3 + 10; ...
SILENT_DOWN = 3.0
SILENT_AT, STOP_AT, RUN_FOR = 5.0, 20.0, 40.5
CUTOFF = 37.0  # attempts compared: offsets below this (later ones may fall outside the run)

CONF = """
global_defs {{
    router_id timing
}}
virtual_server {vip} 80 {{
    delay_loop 10
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server {rs} {tcp} {{
        TCP_CHECK {{
            connect_timeout 3
            retry 2
            delay_before_retry 1
            warmup 0
        }}
    }}
    real_server {rs} {http} {{
        HTTP_GET {{
            url {{
                path /
                status_code 200
            }}
            connect_timeout 3
            retry 2
            delay_before_retry 1
            warmup 0
        }}
    }}
    real_server {rs} {silent} {{
        TCP_CHECK {{
            connect_timeout 3
            retry 2
            delay_before_retry 1
            warmup 0
        }}
    }}
    real_server {rs} {alpha} {{
        alpha
        TCP_CHECK {{
            connect_timeout 3
            retry 2
            delay_before_retry 1
            warmup 0
        }}
    }}
}}
"""

ALPHA_REASON = "alpha: down until the first successful check"

#: an HTTP server that answers every GET after 2 s
SLOW_HTTP = """
import http.server, sys, time
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        time.sleep(2.0)
        self.send_response(200)
        self.send_header("Content-Length", "3")
        self.end_headers()
        self.wfile.write(b"ok\\n")
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), H).serve_forever()
"""

#: runs a command and prefixes each output line with the wall-clock time
STAMP = """
import subprocess, sys, time
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
for line in p.stdout:
    sys.stdout.write(f"{time.time():.3f} {line.decode(errors='replace')}")
    sys.stdout.flush()
"""


def _build_shim(workdir: Path) -> Path:
    if shutil.which("gcc") is None:
        pytest.skip("needs gcc to build the IPVS socket-option shim for keepalived")
    out = workdir / "fakeipvs.so"
    src = Path(__file__).with_name("fakeipvs.c")
    subprocess.run(["gcc", "-shared", "-fPIC", "-O2", "-o", str(out), str(src), "-ldl"],
                   check=True, capture_output=True)  # fmt: skip
    return out


def _start_keepalived(lab: Lab, host: Host, conf: str, shim: Path) -> Proc:
    path = lab.workdir / "k.conf"
    path.write_text(conf)
    base = lab.workdir / "k"
    argv = [
        "env", f"LD_PRELOAD={shim}", sys.executable, "-c", STAMP,
        KEEPALIVED, "-n", "-l", "-D", "-C", "-f", str(path),
        "-p", f"{base}.pid", "-c", f"{base}-check.pid",
    ]  # fmt: skip
    return host.popen(argv, description="keepalived (stamped)")


def _silence(host: Host, *ports: int) -> None:
    """Drop SYNs to ``ports`` in ``host``'s input (tcpdump still sees them arrive)."""
    rules = NFT_DROP.format(ports=", ".join(map(str, ports)), ports_id=ports[0])
    subprocess.run(["ip", "netns", "exec", host.netns, "nft", "-f", "-"],
                   input=rules, text=True, check=True, capture_output=True)  # fmt: skip


NFT_DROP = """
table inet timing {{
    chain in{ports_id} {{
        type filter hook input priority 0; policy accept;
        tcp dport {{ {ports} }} drop
    }}
}}
"""


def attempt_starts(capture: str, src: str, port: int) -> list[float]:
    """First-SYN times of each connection from ``src`` to ``port`` (tcpdump -tt -n)."""
    seen: dict[str, float] = {}
    for line in capture.splitlines():
        parts = line.split()
        if len(parts) < 5 or parts[1] != "IP" or "Flags [S]" not in line:
            continue
        ip, sport = parts[2].rsplit(".", 1)
        dport = parts[4].rstrip(":").rsplit(".", 1)[1]
        if ip == src and dport == str(port):
            seen.setdefault(sport, float(parts[0]))
    return sorted(seen.values())


def offsets(times: list[float]) -> list[float]:
    return [round(t - times[0], 3) for t in times if t - times[0] < CUTOFF] if times else []


def close_to(got: list[float], want: list[float]) -> bool:
    return len(got) == len(want) and all(
        abs(g - w) <= TOLERANCE for g, w in zip(got, want, strict=True)
    )


def keepalived_removals(log: str, rs: str) -> list[float]:
    """Stamped times of keepalived's "Removing service <rs>" lines (the down verdicts)."""
    addr, port = rs.rsplit(":", 1)
    needle = f"Removing service [{addr}]:tcp:{port} "
    return [float(line.split(" ", 1)[0]) for line in log.splitlines() if needle in line]


def _run(lab: Lab) -> tuple[str, str, dict[str, float]]:
    """Run both daemons through the scenario; return the capture, keepalived's stamped
    log and pykeepalived's down verdict times by real server."""
    k, p, r = lab["k"], lab["p"], lab["r"]
    shim = _build_shim(lab.workdir)
    ports = f"portrange {TCP_PORT}-{ALPHA_PORT}"
    cap = r.popen(["tcpdump", "-tt", "-n", "-l", "-i", "eth0",
                   f"tcp[tcpflags] & tcp-syn != 0 and ({ports})"])  # fmt: skip
    r.popen([sys.executable, "-m", "http.server", str(TCP_PORT), "--bind", r.ipv4])
    slow = r.popen([sys.executable, "-c", SLOW_HTTP, r.ipv4, str(HTTP_PORT)])
    _silence(r, SILENT_PORT, ALPHA_PORT)
    time.sleep(1.0)  # tcpdump and the servers listening
    conf = CONF.format(vip=lab.vip(100), rs=r.ipv4, tcp=TCP_PORT, http=HTTP_PORT,
                       silent=SILENT_PORT, alpha=ALPHA_PORT)  # fmt: skip
    ka = _start_keepalived(lab, k, conf, shim)
    with Daemon(p, conf, "-C", "--lb-backend", "dry-run") as py:
        begin = time.time()
        silenced = stopped = False
        while time.time() < begin + RUN_FOR:
            py._drain(100)
            if not silenced and time.time() > begin + SILENT_AT:
                _silence(r, TCP_PORT)
                silenced = True
            if not stopped and time.time() > begin + STOP_AT:
                slow.stop()
                stopped = True
        results = py.events("check.result")
        py_downs = {e.body["real_server"]: e.ts for e in results
                    if e.body["up"] is False and e.body["reason"] != ALPHA_REASON}  # fmt: skip
    ka.stop()
    time.sleep(0.5)  # the last packets reach tcpdump's output
    cap.stop()
    return cap.output(), ka.output(), py_downs


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="needs tcpdump")
@pytest.mark.skipif(shutil.which("nft") is None, reason="needs nft")
@pytest.mark.timeout(120)
def test_attempt_schedule_matches_keepalived() -> None:
    with Lab(("k", "p", "r"), ipv6=False) as lab:
        capture, ka_log, py_downs = _run(lab)
        sources = {"keepalived": lab["k"].ipv4, "pykeepalived": lab["p"].ipv4}
        rs_addr = lab["r"].ipv4
    cases: dict[int, tuple[list[float], float | None]] = {
        TCP_PORT: (TCP_STARTS, TCP_DOWN),
        HTTP_PORT: (HTTP_STARTS, HTTP_DOWN),
        SILENT_PORT: (SILENT_STARTS, SILENT_DOWN),
        ALPHA_PORT: (SILENT_STARTS, None),  # never up, so never a down verdict
    }
    timelines: dict[tuple[str, int], tuple[list[float], float | None]] = {}
    for name, src in sources.items():
        for port in cases:
            rs = f"{rs_addr}:{port}"
            starts = attempt_starts(capture, src, port)
            if name == "keepalived":
                downs = keepalived_removals(ka_log, rs)
            else:
                downs = [py_downs[rs]] if rs in py_downs else []
            down = round(downs[0] - starts[0], 3) if downs and starts else None
            timelines[(name, port)] = (offsets(starts), down)
    report = "\n".join(f"{n} :{port}: attempts {a}, down at {d}"
                       for (n, port), (a, d) in timelines.items())  # fmt: skip
    print(report)
    for port, (want, want_down) in cases.items():
        ka, py = timelines[("keepalived", port)], timelines[("pykeepalived", port)]
        for got, down in (ka, py):
            assert close_to(got, want), f"{report}\n--- keepalived ---\n{ka_log[-3000:]}"
            if want_down is None:
                assert down is None, report
            else:
                assert down is not None and abs(down - want_down) <= TOLERANCE, report
        assert close_to(py[0], ka[0]), report  # and so within tolerance of each other


# ---- a check added by a reload -------------------------------------------------------------
OLD_PORT, ADDED_PORT = 8094, 8095
#: keepalived 2.2.7: the added check is not decided by its first attempt: it retries
ADDED_STARTS = [0, 4, 8, 21, 25]  # timeouts end at 3, 7, 11 (down), then 21 = 11 + 10
ADDED_DOWN = 11.0
RELOAD_AT, RELOAD_RUN_FOR = 3.0, 31.5

RS_BLOCK = """
    real_server {rs} {port} {{
        TCP_CHECK {{
            connect_timeout 3
            retry 2
            delay_before_retry 1
            warmup 0
        }}
    }}"""


def _reload_conf(lab: Lab, ports: list[int]) -> str:
    servers = "".join(RS_BLOCK.format(rs=lab["r"].ipv4, port=port) for port in ports)
    return (f"global_defs {{\n    router_id reload\n}}\nvirtual_server {lab.vip(100)} 80 {{\n"
            f"    delay_loop 10\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n"
            f"{servers}\n}}\n")  # fmt: skip


def _run_reload(lab: Lab) -> tuple[str, str, dict[str, float]]:
    """Both daemons start with one real server; a SIGHUP adds a silent one."""
    k, p, r = lab["k"], lab["p"], lab["r"]
    shim = _build_shim(lab.workdir)
    cap = r.popen(["tcpdump", "-tt", "-n", "-l", "-i", "eth0",
                   f"tcp[tcpflags] & tcp-syn != 0 and port {ADDED_PORT}"])  # fmt: skip
    _silence(r, ADDED_PORT)
    time.sleep(1.0)
    ka = _start_keepalived(lab, k, _reload_conf(lab, [OLD_PORT]), shim)
    with Daemon(p, _reload_conf(lab, [OLD_PORT]), "-C", "--lb-backend", "dry-run") as py:
        begin = time.time()
        time.sleep(RELOAD_AT)
        both = _reload_conf(lab, [OLD_PORT, ADDED_PORT])
        (lab.workdir / "k.conf").write_text(both)
        py.conf_path.write_text(both)
        os.kill(int((lab.workdir / "k.pid").read_text()), signal.SIGHUP)
        py.proc.signal(signal.SIGHUP)
        while time.time() < begin + RELOAD_RUN_FOR:
            py._drain(100)
        results = py.events("check.result")
        py_downs = {e.body["real_server"]: e.ts for e in results if e.body["up"] is False}
    ka.stop()
    time.sleep(0.5)
    cap.stop()
    return cap.output(), ka.output(), py_downs


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="needs tcpdump")
@pytest.mark.skipif(shutil.which("nft") is None, reason="needs nft")
@pytest.mark.timeout(120)
def test_a_check_added_by_a_reload_retries_like_keepalived() -> None:
    with Lab(("k", "p", "r"), ipv6=False) as lab:
        capture, ka_log, py_downs = _run_reload(lab)
        sources = {"keepalived": lab["k"].ipv4, "pykeepalived": lab["p"].ipv4}
        rs = f"{lab['r'].ipv4}:{ADDED_PORT}"
    lines = []
    timelines = {}
    for name, src in sources.items():
        starts = attempt_starts(capture, src, ADDED_PORT)
        downs = keepalived_removals(ka_log, rs) if name == "keepalived" else (
            [py_downs[rs]] if rs in py_downs else [])  # fmt: skip
        down = round(downs[0] - starts[0], 3) if downs and starts else None
        timelines[name] = (offsets(starts), down)
        lines.append(f"{name} {rs} (added by reload): attempts {offsets(starts)}, down at {down}")
    report = "\n".join(lines)
    print(report)
    for got, down in timelines.values():
        assert close_to(got, ADDED_STARTS), f"{report}\n--- keepalived ---\n{ka_log[-3000:]}"
        assert down is not None and abs(down - ADDED_DOWN) <= TOLERANCE, report
