"""Run the real pykeepalived daemon in a lab host (or on the host itself) and watch its tap.

``Daemon(host, config_text, *extra_args)`` writes the config, starts
``python -m pykeepalived -n -l -D`` with its own runtime dir and pid files inside the host's
network namespace, and subscribes to the event tap at once (before the daemon binds it:
zmq reconnects), so start-up events are seen. ``wait_event`` returns the first matching
event, including ones that arrived before the call.

``DaemonBus(runtime_dir)`` is a test's own actor on the daemon's bus: the product's
``BusClient`` (a DEALER on ``bus.sock`` under its own name, as every child has), so a
command from a test travels exactly the path a VRRP actor's command takes.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import zmq

from pykeepalived.bus import topology
from pykeepalived.bus.envelope import Envelope, MalformedMessage, decode
from pykeepalived.bus.transport import BusClient
from tests import lab as lab_mod

Predicate = Callable[[Envelope], bool]


def poll_until(cond: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
    """Poll ``cond`` until it is truthy (returned) or ``timeout`` s pass (TimeoutError)."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {timeout:g} s: {what or cond!r}")
        time.sleep(0.05)


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


class DaemonBus:
    """Commands to a running daemon's actors through its broker, as an actor sends them."""

    def __init__(self, runtime_dir: str | Path, name: str = "tester") -> None:
        self.name = name
        self.counters: Counter[str] = Counter()
        self._ids = itertools.count(1)
        self._loop = asyncio.new_event_loop()
        self.port = self._loop.run_until_complete(self._connect(str(runtime_dir)))

    async def _connect(self, runtime_dir: str) -> BusClient:
        return BusClient(self.name, "test", runtime_dir, (), self.counters)

    def reply(
        self, to: str, command: str, body: dict[str, Any], timeout: float = 10.0
    ) -> dict[str, Any]:
        """The reply body of one command (``{"ok": ..., "result"/"error": ...}``)."""
        return self._loop.run_until_complete(self._exchange(to, command, body, timeout))

    def request(
        self, to: str, command: str, body: dict[str, Any], timeout: float = 10.0
    ) -> dict[str, Any]:
        """The result of one command that must succeed."""
        reply = self.reply(to, command, body, timeout)
        assert reply.get("ok"), reply
        result = reply["result"]
        assert isinstance(result, dict)
        return result

    async def _exchange(
        self, to: str, command: str, body: dict[str, Any], timeout: float
    ) -> dict[str, Any]:
        msg_id = next(self._ids)
        self.port.send(self.port.envelope(f"cmd.{command}", body, to=to, id_=msg_id))
        deadline = self._loop.time() + timeout
        while True:
            remaining = deadline - self._loop.time()
            try:
                env = await asyncio.wait_for(self.port.recv_direct(), max(remaining, 0))
            except TimeoutError:
                raise TimeoutError(f"{command} to {to}: no reply within {timeout:g} s") from None
            if env is not None and env.is_reply and env.id == msg_id:
                return dict(env.body)

    def close(self) -> None:
        self.port.close()
        self._loop.close()
