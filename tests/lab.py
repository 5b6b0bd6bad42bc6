"""The network-namespace test lab: hosts on a bridge, cut links, dropped VRRP, keepalived peers.

A ``Lab`` is N hosts, each a fresh network namespace with one veth (``eth0``) whose peer sits
on a Linux bridge in a private "switch" namespace (the kernel here has veth and bridge, no
dummy links). Every host gets an IPv4 address in ``10.<k>.<n>.0/24`` and an IPv6 address in
``fd00:<k>:<n>::/64`` where ``k``/``n`` are unique per lab, so two labs never share a prefix.

Names are unique per test run (``pk<pid>x<n>-<host>``) because namespaces are global to the
machine. Everything a lab creates (namespaces, processes) is recorded in module-level
registries; ``Lab.close()`` removes it even when a test fails, and the session hook in
``tests/conftest.py`` fails the run if anything recorded is still there at the end.

Traffic only ever goes to addresses inside these namespaces or to loopback.
"""

from __future__ import annotations

import itertools
import os
import shlex
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

RUN_PREFIX = f"pk{os.getpid() % 100000}x"
_lab_counter = itertools.count(1)

#: every namespace created by this test run and not yet deleted
LIVE_NAMESPACES: set[str] = set()
#: every process started by this test run (pid -> description) and not yet reaped
LIVE_PROCESSES: dict[int, str] = {}

KEEPALIVED = "/usr/sbin/keepalived"


def sh(args: Sequence[str] | str, *, check: bool = True, timeout: float = 30) -> str:
    """Run a command on the host; return stdout; raise with stderr included on failure."""
    argv = shlex.split(args) if isinstance(args, str) else list(args)
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError(
            f"command failed ({proc.returncode}): {' '.join(argv)}\n{proc.stdout}{proc.stderr}"
        )
    return proc.stdout


def namespaces_of_this_run() -> list[str]:
    out = sh(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in out.splitlines() if line.startswith(RUN_PREFIX)]


def _terminate(pid: int, grace: float = 3.0) -> None:
    """End a process this run started: SIGTERM to its group, then SIGKILL after grace."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        except PermissionError:
            os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done == pid:
                return
            time.sleep(0.02)


@dataclass
class Proc:
    """A process started in a host; stopped by pid (its own process group) at cleanup."""

    popen: subprocess.Popen[bytes]
    description: str
    log_path: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive():
            os.kill(self.pid, sig)

    def stop(self, grace: float = 5.0) -> int | None:
        if self.alive():
            _terminate(self.pid, grace)
        LIVE_PROCESSES.pop(self.pid, None)
        try:
            return self.popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            return None

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""


@dataclass
class Host:
    lab: Lab
    name: str
    netns: str
    index: int
    ipv4: str
    ipv6: str
    veth_peer: str  # the bridge-side end, in the switch namespace
    procs: list[Proc] = field(default_factory=list)

    def run(self, args: Sequence[str] | str, *, check: bool = True, timeout: float = 30) -> str:
        argv = shlex.split(args) if isinstance(args, str) else list(args)
        return sh(["ip", "netns", "exec", self.netns, *argv], check=check, timeout=timeout)

    def popen(
        self, args: Sequence[str], *, description: str = "", env: dict[str, str] | None = None
    ) -> Proc:
        """Start a long-running command in this host, output to a log file in the lab dir."""
        log_path = self.lab.workdir / f"{self.name}-{len(self.procs)}.log"
        log = log_path.open("wb")
        popen = subprocess.Popen(
            ["ip", "netns", "exec", self.netns, *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
        )
        log.close()
        proc = Proc(popen, description or " ".join(args), log_path)
        LIVE_PROCESSES[popen.pid] = f"{self.netns}: {proc.description}"
        self.procs.append(proc)
        return proc

    # link and traffic faults ----------------------------------------------------------
    def cut_link(self) -> None:
        """Take the bridge side of this host's veth down: eth0 loses carrier."""
        sh(["ip", "-n", self.lab.switch, "link", "set", self.veth_peer, "down"])

    def restore_link(self) -> None:
        sh(["ip", "-n", self.lab.switch, "link", "set", self.veth_peer, "up"])

    def drop_vrrp(self) -> None:
        """Silently drop VRRP (IP protocol 112) and AH (51) leaving this host, v4 and v6.

        The drop happens on the bridge, so the host's sends still succeed: to the daemon
        in the host nothing is wrong, exactly like a master whose uplink silently fails.
        """
        table = f"drop_{self.veth_peer}"
        rules = (
            f"table bridge {table} {{\n"
            " chain vdrop { type filter hook forward priority 0; policy accept;\n"
            f'  iifname "{self.veth_peer}" ip protocol {{ 112, 51 }} drop\n'
            f'  iifname "{self.veth_peer}" ip6 nexthdr {{ 112, 51 }} drop\n'
            " }\n"
            "}\n"
        )
        subprocess.run(
            ["ip", "netns", "exec", self.lab.switch, "nft", "-f", "-"],
            input=rules, text=True, check=True, capture_output=True,
        )  # fmt: skip

    def allow_vrrp(self) -> None:
        sh(["ip", "netns", "exec", self.lab.switch, "nft", "delete", "table", "bridge",
            f"drop_{self.veth_peer}"], check=False)  # fmt: skip

    def addresses(self, ifname: str = "eth0") -> list[str]:
        out = self.run(["ip", "-o", "addr", "show", "dev", ifname])
        return [line.split()[3] for line in out.splitlines()]

    def ping(self, address: str, count: int = 1, timeout: int = 2) -> bool:
        cmd = ["ping", "-6" if ":" in address else "-4", "-c", str(count), "-W", str(timeout)]
        return (
            subprocess.run(
                ["ip", "netns", "exec", self.netns, *cmd, address], capture_output=True
            ).returncode
            == 0
        )

    def start_keepalived(self, config: str, *extra: str) -> Proc:
        """Start Debian's keepalived in this host with its own config and pid files."""
        conf = self.lab.workdir / f"{self.name}-keepalived.conf"
        conf.write_text(config)
        base = self.lab.workdir / f"{self.name}-ka"
        argv = [
            KEEPALIVED, "-n", "-l", "-D", "-f", str(conf),
            "-p", f"{base}.pid", "-r", f"{base}-vrrp.pid", "-c", f"{base}-check.pid",
            *extra,
        ]  # fmt: skip
        return self.popen(argv, description="keepalived")


class Lab:
    """N hosts on one bridge. Use as a context manager, or through the ``lab`` fixture."""

    def __init__(self, hosts: Sequence[str] = ("a", "b"), *, ipv6: bool = True) -> None:
        self.id = next(_lab_counter)
        self.prefix = f"{RUN_PREFIX}{self.id}"
        self.switch = f"{self.prefix}-sw"
        self.workdir = Path(tempfile.mkdtemp(prefix=f"{self.prefix}-"))
        self.hosts: dict[str, Host] = {}
        # unique prefixes per lab: second octet from the pid, third from the counter
        self._k = 100 + (os.getpid() % 100)
        self._n = self.id % 250
        self.ipv4_net = f"10.{self._k}.{self._n}.0/24"
        self.ipv6_net = f"fd00:{self._k}:{self._n}::/64"
        try:
            self._add_netns(self.switch)
            sh(["ip", "-n", self.switch, "link", "add", "br0", "type", "bridge"])
            # no STP, forward at once (a blocking bridge hides the first adverts)
            sh(["ip", "-n", self.switch, "link", "set", "br0", "type", "bridge",
                "forward_delay", "0", "stp_state", "0"])  # fmt: skip
            sh(["ip", "-n", self.switch, "link", "set", "br0", "up"])
            for i, name in enumerate(hosts, start=1):
                self.add_host(name, i, ipv6=ipv6)
            if ipv6:
                self.wait_ipv6_ready()
        except BaseException:
            self.close()
            raise

    def _add_netns(self, name: str) -> None:
        sh(["ip", "netns", "add", name])
        LIVE_NAMESPACES.add(name)
        sh(["ip", "-n", name, "link", "set", "lo", "up"])

    def add_host(self, name: str, index: int, *, ipv6: bool = True) -> Host:
        netns = f"{self.prefix}-{name}"
        peer = f"v{self.id}{name}"[:15]
        self._add_netns(netns)
        sh(["ip", "link", "add", peer, "netns", self.switch, "type", "veth",
            "peer", "name", "eth0", "netns", netns])  # fmt: skip
        sh(["ip", "-n", self.switch, "link", "set", peer, "master", "br0", "up"])
        ipv4 = f"10.{self._k}.{self._n}.{index}"
        ipv6_addr = f"fd00:{self._k}:{self._n}::{index}"
        sh(["ip", "-n", netns, "addr", "add", f"{ipv4}/24", "dev", "eth0"])
        if ipv6:
            sh(["ip", "-n", netns, "addr", "add", f"{ipv6_addr}/64", "dev", "eth0", "nodad"])
        sh(["ip", "-n", netns, "link", "set", "eth0", "up"])
        host = Host(self, name, netns, index, ipv4, ipv6_addr, peer)
        self.hosts[name] = host
        return host

    def wait_ipv6_ready(self, timeout: float = 10.0) -> None:
        """Wait until every host's link-local address has left the tentative state."""
        deadline = time.monotonic() + timeout
        for host in self.hosts.values():
            while time.monotonic() < deadline:
                out = host.run(["ip", "-6", "-o", "addr", "show", "dev", "eth0"])
                if "fe80::" in out and "tentative" not in out:
                    break
                time.sleep(0.05)

    def vip(self, last_octet: int) -> str:
        """An extra IPv4 address in this lab's subnet, for a VIP."""
        return f"10.{self._k}.{self._n}.{last_octet}"

    def vip6(self, suffix: int) -> str:
        return f"fd00:{self._k}:{self._n}::{suffix:x}"

    def __getitem__(self, name: str) -> Host:
        return self.hosts[name]

    def close(self) -> None:
        """Stop every process, then delete every namespace; never raises for what is gone."""
        for host in self.hosts.values():
            for proc in host.procs:
                proc.stop(grace=3.0)
        for name in [*(h.netns for h in self.hosts.values()), self.switch]:
            if name in LIVE_NAMESPACES:
                # processes left in the namespace (started by code under test) are ours too
                for pid in sh(["ip", "netns", "pids", name], check=False).split():
                    _terminate(int(pid), grace=1.0)
                subprocess.run(["ip", "netns", "del", name], capture_output=True)
                LIVE_NAMESPACES.discard(name)

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
