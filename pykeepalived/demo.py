"""``make run``: two pykeepalived directors in network namespaces, electing a VRRP master.

What it does, all of it undone on Ctrl-C / SIGTERM (or after ``--duration``):

1. creates four network namespaces with names unique to this run: ``<id>-a`` and
   ``<id>-b`` (the directors), ``<id>-web`` (a real server: Python's http.server) and
   ``<id>-sw`` (a bridge joining them, so nothing is added to the host's own network);
2. writes one keepalived.conf per director: a VRRP instance ``VI_1`` on ``eth0`` with a
   virtual address (priority 150 on a, 100 on b), a static address on ``lo`` and a
   virtual server on the VIP, port 80, whose real server is the web host (TCP_CHECK);
3. starts ``pykeepalived -n -l`` in each namespace with its own runtime dir and pid files,
   prints how to watch (``pykeepalivectl --runtime-dir ... status|tap``) and prefixes each
   director's log lines with its name;
4. reports where the virtual address lives whenever that changes, and fetches
   ``http://VIP/`` there (the load balancer's NAT rules hand it to the web server); with
   ``--failover-after SECONDS`` it stops director a at that point, so the address is seen
   moving to b.

Needs root (namespaces) and iproute2. Only addresses inside the namespaces are used.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

SUBNET = "10.231.{n}.{h}"
VIP_HOST = 100
WEB_HOST = 10

CONFIG = """\
# pykeepalived demo director {name}: written by pykeepalived.demo
global_defs {{
    router_id demo-{name}
}}
static_ipaddress {{
    192.0.2.{index}/32 dev lo
}}
vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority {priority}
    advert_int 1
    virtual_ipaddress {{
        {vip}/24 dev eth0
    }}
}}
virtual_server {vip} 80 {{
    delay_loop 2
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server {web} 80 {{
        weight 1
        TCP_CHECK {{
            connect_timeout 2
        }}
    }}
}}
"""


def sh(*argv: str, check: bool = True) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {proc.stderr.strip()}")
    return proc.stdout


@dataclass
class Director:
    name: str
    netns: str
    address: str
    priority: int
    workdir: Path
    proc: subprocess.Popen[bytes] | None = None
    buffer: bytes = b""
    extra: list[str] = field(default_factory=list)

    @property
    def runtime_dir(self) -> Path:
        return self.workdir / "run"

    def argv(self) -> list[str]:
        w = self.workdir
        return [
            "ip", "netns", "exec", self.netns, sys.executable, "-m", "pykeepalived",
            "-n", "-l", "-f", str(w / "keepalived.conf"), "--runtime-dir", str(self.runtime_dir),
            "-p", str(w / "keepalived.pid"), "-r", str(w / "vrrp.pid"),
            "-c", str(w / "checkers.pid"), *self.extra,
        ]  # fmt: skip

    def has(self, address: str) -> bool:
        out = sh("ip", "-n", self.netns, "-o", "addr", "show", "dev", "eth0", check=False)
        return f" {address}/" in out


class Demo:
    def __init__(self, tag: str | None = None, extra: Sequence[str] = ()) -> None:
        self.tag = tag or f"pkdemo{os.getpid() % 100000}"
        self.n = os.getpid() % 200 + 20
        self.vip = SUBNET.format(n=self.n, h=VIP_HOST)
        self.web = SUBNET.format(n=self.n, h=WEB_HOST)
        self.web_ns = f"{self.tag}-web"
        self.web_proc: subprocess.Popen[bytes] | None = None
        self.switch = f"{self.tag}-sw"
        self.workdir = Path(tempfile.mkdtemp(prefix=f"{self.tag}-", dir="/tmp"))
        self.namespaces: list[str] = []
        self.directors = [
            Director(name, f"{self.tag}-{name}", SUBNET.format(n=self.n, h=i + 1), prio,
                     self.workdir / name, extra=list(extra))
            for i, (name, prio) in enumerate((("a", 150), ("b", 100)))
        ]  # fmt: skip

    # ---- network ---------------------------------------------------------------------
    def _netns(self, name: str) -> None:
        sh("ip", "netns", "add", name)
        self.namespaces.append(name)
        sh("ip", "-n", name, "link", "set", "lo", "up")

    def build(self) -> None:
        self._netns(self.switch)
        sh("ip", "-n", self.switch, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", self.switch, "link", "set", "br0", "up")
        hosts = [(d.name, d.netns, d.address) for d in self.directors]
        for name, netns, address in [*hosts, ("web", self.web_ns, self.web)]:
            self._netns(netns)
            port = f"p{name}"
            sh("ip", "-n", self.switch, "link", "add", port, "type", "veth",
               "peer", "name", "eth0", "netns", netns)  # fmt: skip
            sh("ip", "-n", self.switch, "link", "set", port, "master", "br0", "up")
            sh("ip", "-n", netns, "addr", "add", f"{address}/24", "dev", "eth0")
            sh("ip", "-n", netns, "link", "set", "eth0", "up")
        # the real server the directors health-check: a small web server
        self.web_proc = subprocess.Popen(
            ["ip", "netns", "exec", self.web_ns, sys.executable, "-m", "http.server", "80",
             "--bind", self.web, "--directory", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        for d in self.directors:
            d.workdir.mkdir(parents=True)
            index = d.address.rsplit(".", 1)[1]
            text = CONFIG.format(name=d.name, index=index, priority=d.priority, vip=self.vip,
                                 web=self.web)  # fmt: skip
            (d.workdir / "keepalived.conf").write_text(text)

    # ---- daemons ---------------------------------------------------------------------
    def start(self, director: Director) -> None:
        director.proc = subprocess.Popen(
            director.argv(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip

    def stop(self, director: Director, grace: float = 10.0) -> None:
        proc = director.proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)  # `ip netns exec` execs: this is the parent
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)

    def cleanup(self) -> None:
        for d in self.directors:
            with contextlib.suppress(Exception):
                self.stop(d)
        if self.web_proc is not None and self.web_proc.poll() is None:
            self.web_proc.terminate()
            try:
                self.web_proc.wait(5)
            except subprocess.TimeoutExpired:
                self.web_proc.kill()
                self.web_proc.wait(5)
        for name in reversed(self.namespaces):
            sh("ip", "netns", "del", name, check=False)
        self.namespaces.clear()
        shutil.rmtree(self.workdir, ignore_errors=True)

    # ---- output ----------------------------------------------------------------------
    def intro(self, out: IO[str]) -> None:
        ctl = f"{sys.executable} -m pykeepalived.ctl"
        a, b = self.directors
        print(
            f"pykeepalived demo: directors {a.netns} ({a.address}, priority {a.priority}) and "
            f"{b.netns} ({b.address}, priority {b.priority}) on a bridge in {self.switch};\n"
            f"VRRP instance VI_1 guards {self.vip}; virtual server {self.vip}:80 balances to "
            f"the web server {self.web}:80 in {self.web_ns}.\nWorking files: {self.workdir}\n\n"
            "Watch it from another terminal:\n"
            f"  {ctl} --runtime-dir {a.runtime_dir} status\n"
            f"  {ctl} --runtime-dir {a.runtime_dir} tap\n"
            f"  ip -n {a.netns} addr show eth0\n"
            f"Stop director a to see the address move: "
            f"kill -TERM $(cat {a.workdir / 'keepalived.pid'})\n"
            "Ctrl-C stops both and removes everything.\n",
            file=out,
            flush=True,
        )

    def pump(self, sel: selectors.BaseSelector, timeout: float, out: IO[str]) -> None:
        for key, _ in sel.select(timeout):
            d: Director = key.data
            assert d.proc is not None and d.proc.stdout is not None
            chunk = os.read(d.proc.stdout.fileno(), 65536)
            if not chunk:
                sel.unregister(key.fileobj)
                continue
            d.buffer += chunk
            *lines, d.buffer = d.buffer.split(b"\n")
            for line in lines:
                print(f"[{d.name}] {line.decode(errors='replace')}", file=out, flush=True)

    def status_of(self, director: Director) -> str:
        """``pykeepalivectl status`` of a director, indented, for the demo's output."""
        proc = subprocess.run(
            [sys.executable, "-m", "pykeepalived.ctl", "--runtime-dir",
             str(director.runtime_dir), "status"],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        text = proc.stdout if proc.returncode == 0 else proc.stderr
        return "\n".join(f"[demo] {line}" for line in text.splitlines())

    def fetch(self, director: Director) -> str:
        """GET http://VIP/ from inside a director: the load balancer's rules (DNAT to the
        web server) answer it, so this shows the virtual server carrying traffic."""
        code = (
            "import urllib.request as u\n"
            f"r = u.urlopen('http://{self.vip}/', timeout=3)\n"
            "print(r.status, len(r.read()))"
        )
        argv = ["ip", "netns", "exec", director.netns, sys.executable, "-c", code]
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        except subprocess.TimeoutExpired:
            return "no answer within 10 s"
        if proc.returncode != 0:
            return f"failed: {(proc.stderr.strip().splitlines() or ['?'])[-1]}"
        status, size = proc.stdout.split()
        return f"HTTP {status}, {size} bytes from the web server {self.web}"

    def where(self) -> str:
        holders = [d.name for d in self.directors if d.has(self.vip)]
        return ",".join(holders) or "nobody"


def run(argv: Sequence[str] | None = None, out: IO[str] = sys.stdout) -> int:
    p = argparse.ArgumentParser(prog="python -m pykeepalived.demo", description=__doc__)
    p.add_argument("--duration", type=float, help="stop by itself after this many seconds")
    p.add_argument(
        "--failover-after",
        type=float,
        metavar="SECONDS",
        help="stop director a this many seconds after it holds the address",
    )
    p.add_argument("--once", action="store_true",
                   help="with --failover-after: end once the address has moved")  # fmt: skip
    p.add_argument("--tag", help="namespace name prefix (default pkdemo<pid>)")
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        print("pykeepalived demo: needs root to create network namespaces (try sudo make run)",
              file=sys.stderr)  # fmt: skip
        return 1
    if shutil.which("ip") is None:
        print("pykeepalived demo: needs iproute2's `ip` command", file=sys.stderr)
        return 1
    stop_requested = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stop_requested
        stop_requested = True

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    demo = Demo(args.tag)
    sel = selectors.DefaultSelector()
    try:
        demo.build()
        demo.intro(out)
        for d in demo.directors:
            demo.start(d)
            assert d.proc is not None and d.proc.stdout is not None
            sel.register(d.proc.stdout, selectors.EVENT_READ, d)
        t0 = time.monotonic()
        holder = None
        failed_over = False
        a_since: float | None = None  # when the address was first seen on director a
        next_check = 0.0
        while not stop_requested:
            now = time.monotonic() - t0
            if args.duration is not None and now >= args.duration:
                break
            if (args.failover_after is not None and not failed_over and a_since is not None
                    and now >= a_since + args.failover_after):  # fmt: skip
                print(f"[demo] t={now:.1f}s stopping director a (SIGTERM)", file=out, flush=True)
                demo.stop(demo.directors[0])
                failed_over = True
            demo.pump(sel, 0.2, out)
            if now >= next_check:
                next_check = now + 0.25
                where = demo.where()
                if where != holder:
                    print(f"[demo] t={now:.1f}s {demo.vip} is on: {where}", file=out, flush=True)
                    holder = where
                    for d in demo.directors:
                        if d.name == where:
                            print(f"[demo] GET http://{demo.vip}/ on {d.name}: {demo.fetch(d)}",
                                  file=out, flush=True)  # fmt: skip
                if where == "a" and a_since is None:
                    a_since = now
                    print(demo.status_of(demo.directors[0]), file=out, flush=True)
                if failed_over and where == "b" and args.once:
                    break
            for d in demo.directors:
                if (
                    d.proc is not None
                    and d.proc.poll() is not None
                    and not (failed_over and d is demo.directors[0])
                ):
                    print(f"[demo] director {d.name} exited ({d.proc.returncode})", file=out)
                    stop_requested = True
        print("[demo] stopping and cleaning up", file=out, flush=True)
        return 0
    finally:
        for d in demo.directors:
            demo.stop(d)
        with contextlib.suppress(Exception):
            demo.pump(sel, 0, out)
        sel.close()
        for d in demo.directors:
            if d.proc is not None and d.proc.stdout is not None:
                d.proc.stdout.close()
        demo.cleanup()
        for s, handler in old.items():
            signal.signal(s, handler)


def main() -> None:
    raise SystemExit(run())


if __name__ == "__main__":
    main()
