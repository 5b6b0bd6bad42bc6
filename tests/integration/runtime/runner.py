"""Whole-daemon runs for the runtime tests: ``tests.daemon.Daemon`` with toy children.

``ToyDaemon(config_text, *args, toys=True)`` starts the real command line (through
``toyd``) on this host with its own runtime dir, pid files and TMPDIR (so SIGUSR1/2 and
JSON dumps land in the test's directory); ``toys=False`` runs the real actor shells.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import zmq

from pykeepalived.bus import topology
from tests import daemon as daemon_mod
from tests import lab as lab_mod
from tests.integration.runtime import toys

REPO = Path(__file__).resolve().parents[3]

#: the smallest config that makes the parent start vrrp + netlink + notifier
STATIC_CONF = """
global_defs {
    router_id toy1
}
static_ipaddress {
    192.0.2.1/32 dev lo
}
"""


class ToyDaemon(daemon_mod.Daemon):
    def __init__(
        self,
        config: str = STATIC_CONF,
        *extra: str,
        toys_for: dict[str, str] | None = None,
        env: dict[str, str] | None = None,
        workdir: Path | None = None,
        start: bool = True,
        netns: str | None = None,
    ) -> None:
        import tempfile

        self.host = None
        self.dir = workdir or Path(tempfile.mkdtemp(prefix="pkr", dir="/tmp"))
        self.runtime_dir = self.dir / "run"
        self.conf_path = self.dir / "keepalived.conf"
        self.conf_path.write_text(config)
        self.pid_file = self.dir / "keepalived.pid"
        self.vrrp_pid_file = self.dir / "vrrp.pid"
        self.checkers_pid_file = self.dir / "checkers.pid"
        self.argv = [
            sys.executable, "-m", "tests.integration.runtime.toyd", "-n", "-l", "-D",
            "-f", str(self.conf_path), "--runtime-dir", str(self.runtime_dir),
            "-p", str(self.pid_file), "-r", str(self.vrrp_pid_file),
            "-c", str(self.checkers_pid_file), *extra,
        ]  # fmt: skip
        if netns:
            self.argv = ["ip", "netns", "exec", netns, *self.argv]
        full_env = dict(os.environ)
        full_env.update(env or {})
        full_env["PYTHONPATH"] = str(REPO)
        full_env["TMPDIR"] = str(self.dir)
        full_env["PKTEST_ACTORS"] = json.dumps(toys.ALL if toys_for is None else toys_for)
        self.env = full_env
        self.log_path = self.dir / "daemon.log"
        self.seen = []
        if not start:
            return
        self._ctx = zmq.Context()
        self._sub = self._ctx.socket(zmq.SUB)
        self._sub.setsockopt(zmq.SUBSCRIBE, b"")
        self._sub.setsockopt(zmq.LINGER, 0)
        self._sub.connect(topology.endpoint(self.runtime_dir, topology.TAP))
        with self.log_path.open("ab") as log:
            popen = subprocess.Popen(
                self.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, env=full_env, cwd=REPO,
            )  # fmt: skip
        self.proc = lab_mod.Proc(popen, "pykeepalived (toy)", self.log_path)
        lab_mod.LIVE_PROCESSES[popen.pid] = "pykeepalived (toy)"

    def ctl(self, *args: str, timeout: float = 10.0) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "pykeepalived.ctl", "--runtime-dir", str(self.runtime_dir),
                *args]  # fmt: skip
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=REPO)

    def children_pids(self) -> dict[str, int]:
        return {n: c["pid"] for n, c in self.status()["children"].items()}


def alive(pid: int) -> bool:
    """True for a live process (a zombie waiting for its reaper counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def wait_until(pred, timeout: float = 10.0, step: float = 0.05) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return bool(pred())
