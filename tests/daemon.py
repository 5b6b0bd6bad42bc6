"""Run the real pykeepalived daemon in a lab host (or on the host itself) and watch its tap.

``Daemon(host, config_text, *extra_args)`` writes the config, starts
``python -m pykeepalived -n -l -D`` with its own runtime dir and pid files inside the host's
network namespace, and subscribes to the event tap at once (before the daemon binds it:
zmq reconnects), so start-up events are seen. ``wait_event`` returns the first matching
event, including ones that arrived before the call.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import zmq

from pykeepalived.bus import topology
from pykeepalived.bus.envelope import Envelope, MalformedMessage, decode
from tests import lab as lab_mod

Predicate = Callable[[Envelope], bool]


class Daemon:
    def __init__(
        self,
        host: lab_mod.Host | None,
        config: str,
        *extra: str,
        env: dict[str, str] | None = None,
    ) -> None:
        self.host = host
        self.dir = Path(tempfile.mkdtemp(prefix="pkd", dir="/tmp"))
        self.runtime_dir = self.dir / "run"
        self.conf_path = self.dir / "keepalived.conf"
        self.conf_path.write_text(config)
        self.argv = [
            sys.executable, "-m", "pykeepalived", "-n", "-l", "-D",
            "-f", str(self.conf_path), "--runtime-dir", str(self.runtime_dir),
            "-p", str(self.dir / "keepalived.pid"), "-r", str(self.dir / "vrrp.pid"),
            "-c", str(self.dir / "checkers.pid"), *extra,
        ]  # fmt: skip
        self.seen: list[Envelope] = []
        self._ctx = zmq.Context()
        self._sub = self._ctx.socket(zmq.SUB)
        self._sub.setsockopt(zmq.SUBSCRIBE, b"")
        self._sub.setsockopt(zmq.LINGER, 0)
        self._sub.connect(topology.endpoint(self.runtime_dir, topology.TAP))
        if host is not None:
            self.proc = host.popen(self.argv, description="pykeepalived", env=env)
        else:
            log_path = self.dir / "daemon.log"
            with log_path.open("wb") as log:
                popen = subprocess.Popen(
                    self.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    start_new_session=True, env=env,
                )  # fmt: skip
            self.proc = lab_mod.Proc(popen, "pykeepalived", log_path)
            lab_mod.LIVE_PROCESSES[popen.pid] = "pykeepalived (host)"

    # ---- events ------------------------------------------------------------------------
    def _drain(self, timeout_ms: int) -> bool:
        """Read whatever arrives within timeout_ms; True if anything was read."""
        got = False
        while self._sub.poll(timeout_ms):
            try:
                self.seen.append(decode(self._sub.recv_multipart()))
            except MalformedMessage:
                continue
            got = True
            timeout_ms = 0
        return got

    def wait_event(
        self, type_prefix: str, pred: Predicate | None = None, timeout: float = 10.0,
        after: int = 0,
    ) -> Envelope:  # fmt: skip
        """The first event (from index ``after``) whose type starts with ``type_prefix``."""
        deadline = time.monotonic() + timeout
        index = after
        while True:
            while index < len(self.seen):
                env = self.seen[index]
                index += 1
                if env.type.startswith(type_prefix) and (pred is None or pred(env)):
                    return env
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(
                    f"no {type_prefix} event within {timeout:g} s; seen: "
                    f"{[(e.type, e.body) for e in self.seen[-20:]]}\n--- daemon log ---\n"
                    f"{self.proc.output()[-4000:]}"
                )
            if not self.proc.alive():
                self._drain(50)
                if index >= len(self.seen):
                    raise RuntimeError(f"daemon exited ({self.proc.popen.returncode}):\n"
                                       f"{self.proc.output()[-4000:]}")  # fmt: skip
            self._drain(int(min(remaining, 0.1) * 1000))

    def events(self, type_prefix: str = "") -> list[Envelope]:
        self._drain(0)
        return [e for e in self.seen if e.type.startswith(type_prefix)]

    # ---- control -----------------------------------------------------------------------
    def ctl(self, *args: str, timeout: float = 10.0) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "pykeepalived.ctl", "--runtime-dir", str(self.runtime_dir),
                *args]  # fmt: skip
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)

    def status(self) -> dict[str, Any]:
        out = self.ctl("status", "--json")
        if out.returncode != 0:
            raise RuntimeError(f"pykeepalivectl status failed: {out.stderr}")
        result: dict[str, Any] = json.loads(out.stdout)
        return result

    def wait_ready(self, timeout: float = 20.0) -> dict[str, Any]:
        """Poll status until every child answers; returns the status."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if not self.proc.alive():
                raise RuntimeError(f"daemon exited:\n{self.proc.output()[-4000:]}")
            try:
                status = self.status()
                children = status.get("children", {})
                if children and all("status" in c for c in children.values()):
                    return status
                last = json.dumps(status)[:2000]
            except (RuntimeError, json.JSONDecodeError, subprocess.TimeoutExpired) as exc:
                last = str(exc)
            time.sleep(0.1)
        raise TimeoutError(f"daemon not ready: {last}\n{self.proc.output()[-4000:]}")

    def child_pid(self, name: str) -> int:
        pid = self.status()["children"][name]["pid"]
        assert isinstance(pid, int)
        return pid

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM to the parent alone (an orderly stop), then the whole group if needed."""
        if self.proc.alive():
            self.proc.signal(signal.SIGTERM)
            try:
                self.proc.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        code = self.proc.stop(grace=3.0)
        self._sub.close(0)
        self._ctx.term()
        return code

    def __enter__(self) -> Daemon:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.alive() or not self._ctx.closed:
            self.stop()
