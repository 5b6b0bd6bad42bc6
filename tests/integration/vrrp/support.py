"""Test helpers: start the VRRP actor harness in a lab host, build configs, read events."""

from __future__ import annotations

import json
import os
import pickle
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pykeepalived.conf.model import (
    AuthType,
    Config,
    Family,
    GlobalDefs,
    IPAddress,
    UnicastPeer,
    VrrpInstance,
    VrrpState,
)
from tests.lab import Host, Proc


def instance(
    vip: str,
    *,
    name: str = "VI_1",
    vrid: int = 51,
    priority: int = 100,
    version: int = 2,
    advert_int: float = 1.0,
    **kw: Any,
) -> VrrpInstance:
    v6 = ":" in vip
    if "/" not in vip:
        vip += "/64" if v6 else "/24"
    fam = Family.INET6 if v6 else Family.INET
    kw.setdefault("garp_master_delay", 0.0)
    kw.setdefault("garp_master_repeat", 1)
    if "state" in kw:
        kw["state"] = VrrpState(kw["state"])
    if "auth_type" in kw:
        kw["auth_type"] = AuthType(kw["auth_type"])
    if "unicast_peers" in kw:
        kw["unicast_peers"] = tuple(UnicastPeer(address=a) for a in kw["unicast_peers"])
        kw["unicast"] = True
    return VrrpInstance(
        name=name, interface="eth0", virtual_router_id=vrid, priority=priority,
        advert_int=advert_int, version=3 if v6 else version, family=fam,
        virtual_ipaddress=(IPAddress(address=vip, family=fam),), **kw,
    )  # fmt: skip


def config(*instances: VrrpInstance, **globals_: Any) -> Config:
    return Config(global_defs=GlobalDefs(**globals_), vrrp_instances=tuple(instances))


def keepalived_conf(
    vip: str, *, vrid: int = 51, priority: int = 100, version: int = 2,
    advert_int: float = 1.0, extra: str = "", state: str = "BACKUP",
) -> str:  # fmt: skip
    return f"""global_defs {{
    router_id ka
    vrrp_version {version}
    vrrp_garp_master_delay 0
    vrrp_garp_master_repeat 1
}}
vrrp_instance VI_1 {{
    state {state}
    interface eth0
    virtual_router_id {vrid}
    priority {priority}
    advert_int {advert_int}
{extra}
    virtual_ipaddress {{
        {vip}
    }}
}}
"""


class VrrpProc:
    """Our VRRP actor running in ``host`` through the harness."""

    def __init__(self, host: Host, cfg: Config, *args: str, tag: str = "ours") -> None:
        self.host = host
        self.workdir = host.lab.workdir / f"{host.name}-{tag}"
        self.workdir.mkdir(exist_ok=True)
        (self.workdir / "ready").unlink(missing_ok=True)
        cfg_path = self.workdir / "config.pickle"
        cfg_path.write_bytes(pickle.dumps(cfg))
        env = dict(os.environ)
        env["PYTHONPATH"] = str(Path(__file__).resolve().parents[3])
        self.proc: Proc = host.popen(
            [sys.executable, "-m", "tests.integration.vrrp.harness", str(cfg_path),
             str(self.workdir), *args],
            description="vrrp-harness", env=env,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while not (self.workdir / "ready").exists():
            if not self.proc.alive() or time.monotonic() > deadline:
                raise RuntimeError(f"harness did not start:\n{self.proc.output()}")
            time.sleep(0.02)

    def events(self, type_: str | None = None) -> list[dict[str, Any]]:
        path = self.workdir / "events.jsonl"
        if not path.exists():
            return []
        out = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        return [e for e in out if type_ is None or e["type"] == type_]

    def states(self) -> list[str]:
        return [e["body"]["state"] for e in self.events("vrrp.state")]

    def wait_state(self, state: str, timeout: float = 10.0, after: int = 0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for e in self.events("vrrp.state")[after:]:
                if e["body"]["state"] == state:
                    return e
            time.sleep(0.02)
        raise AssertionError(f"no {state} within {timeout}s: {self.states()}\n{self.log()}")

    def status(self) -> dict[str, Any]:
        path = self.workdir / "status.json"
        path.unlink(missing_ok=True)
        self.proc.signal(signal.SIGUSR1)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if path.exists():
                try:
                    return json.loads(path.read_text())
                except ValueError:
                    pass
            time.sleep(0.02)
        raise AssertionError("no status")

    def reload(self, cfg: Config) -> None:
        (self.workdir / "reloaded").unlink(missing_ok=True)
        (self.workdir / "reload.pickle").write_bytes(pickle.dumps(cfg))
        self.proc.signal(signal.SIGHUP)
        wait_for(lambda: (self.workdir / "reloaded").exists(), 5, "reload applied")

    def kill9(self) -> None:
        self.proc.signal(signal.SIGKILL)
        self.proc.popen.wait(5)

    def stop(self) -> None:
        self.proc.stop()

    def log(self) -> str:
        return self.proc.output()


def wait_for(pred: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll ``pred`` until true; return the monotonic time it became true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return time.monotonic()
        time.sleep(0.01)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def has_vip(host: Host, vip: str) -> bool:
    return any(a.split("/")[0] == vip for a in host.addresses())


#: every DaemonProc not yet stopped (the ``stop_daemons`` fixture ends them)
LIVE_DAEMONS: list[DaemonProc] = []


class DaemonProc:
    """The real daemon (``pykeepalived -P``) in ``host``, with VrrpProc's interface."""

    def __init__(self, host: Host, conf_text: str, *args: str) -> None:
        from tests.daemon import Daemon

        self.host = host
        self.daemon = Daemon(host, conf_text, "-P", *args)
        LIVE_DAEMONS.append(self)
        self.daemon.wait_event("vrrp.state", timeout=20)

    def states(self) -> list[str]:
        return [e.body["state"] for e in self.daemon.events("vrrp.state")]

    def wait_state(self, state: str, timeout: float = 10.0, after: int = 0) -> dict[str, Any]:
        self.daemon.events()
        index = [i for i, e in enumerate(self.daemon.seen) if e.type == "vrrp.state"]
        start = index[after] if after < len(index) else len(self.daemon.seen)
        env = self.daemon.wait_event(
            "vrrp.state", lambda e: e.body["state"] == state, timeout=timeout, after=start
        )
        return {"type": env.type, "ts": env.ts, "body": env.body}

    def status(self) -> dict[str, Any]:
        st: dict[str, Any] = self.daemon.status()["children"]["vrrp"]["status"]["state"]
        return st

    def vrrp_pid(self) -> int:
        return self.daemon.child_pid("vrrp")

    def stop(self) -> None:
        if self in LIVE_DAEMONS:
            LIVE_DAEMONS.remove(self)
            self.daemon.stop()

    def log(self) -> str:
        return self.daemon.proc.output()


@pytest.fixture
def stop_daemons() -> Iterator[None]:
    """Stop every DaemonProc a test started (before its lab goes away)."""
    yield
    while LIVE_DAEMONS:
        LIVE_DAEMONS[-1].stop()
