"""The ipvs shell driven directly with the dry-run backend (no bus, no kernel), on the
virtual clock (bus/testing.py): waits are on conditions and cost no real time."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest

from pykeepalived.actors.base import CommandError, Options
from pykeepalived.actors.ipvs import driver, nft
from pykeepalived.actors.ipvs.actor import IpvsActor
from pykeepalived.bus import messages as M
from pykeepalived.bus.envelope import Envelope
from pykeepalived.bus.testing import run_virtual, wait_until
from pykeepalived.conf.loader import load_text

CONF = """
virtual_server 10.0.0.1 80 {
  lb_algo wrr
  lb_kind NAT
  protocol TCP
  real_server 10.0.0.2 8080 { weight 3
    TCP_CHECK { connect_timeout 1 } }
  real_server 10.0.0.3 8080 { weight 1
    TCP_CHECK { connect_timeout 1 } }
}
"""
EXTRA = """
virtual_server 10.0.0.5 443 {
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 10.0.0.2 443 { }
}
"""


def event(type_: str, body: dict[str, Any]) -> Envelope:
    return Envelope(v=1, type=type_, src="checker", host="h", pid=1, seq=1, ts=0.0, body=body)


async def no_checker(to: str, cmd: M.Command, timeout: float = 2.0) -> M.Reply:
    raise CommandError(f"actor {to} is not running")


async def start(
    text: str, request: Any = no_checker, **opts: Any
) -> tuple[IpvsActor, list[tuple[str, dict[str, Any]]]]:
    actor = IpvsActor(load_text(text).config, Options(lb_backend="dry-run", **opts))
    published: list[tuple[str, dict[str, Any]]] = []
    actor.publish = lambda t, b: published.append((t, b))  # type: ignore[method-assign]
    actor.request = request  # type: ignore[method-assign]
    await actor.setup()
    return actor, published


def test_life_cycle() -> None:
    async def run() -> None:
        actor, published = await start(CONF)
        applied = actor.backend.applied  # type: ignore[attr-defined]
        assert applied[0].startswith("add_service tcp:10.0.0.1:80 sched=wrr")
        assert len(applied) == 3
        assert (
            "lb.quorum",
            {"virtual_server": "10.0.0.1:80", "protocol": "tcp", "up": True},
        ) in published
        published.clear()
        body = {
            "virtual_server": "10.0.0.1:80",
            "protocol": "tcp",
            "real_server": "10.0.0.3:8080",
            "checker": "TCP_CHECK",
            "up": False,
            "reason": "refused",
            "weight": None,
        }
        await actor.deliver_event(event("check.result", body))
        removal = "del_dest tcp:10.0.0.1:80 -> 10.0.0.3:8080"
        await wait_until(lambda: applied[-1] == removal, 1, what="the spawned flush applied")
        assert published == [
            (
                "lb.realserver",
                {
                    "virtual_server": "10.0.0.1:80",
                    "protocol": "tcp",
                    "real_server": "10.0.0.3:8080",
                    "weight": 0,
                    "active": False,
                },
            )
        ]
        # malformed and unknown events are counted, never raised
        await actor.deliver_event(event("check.result", {"virtual_server": 1}))
        await actor.deliver_event(event("check.result", {**body, "virtual_server": "10.9.9.9:1"}))
        assert actor.counters["bus.rx_invalid.check.result.bad-type"] == 1
        assert actor.counters["events.unknown_real_server"] == 1
        # reload: a new service is added, the old one untouched
        n = len(applied)
        await actor.apply_config(load_text(CONF + EXTRA).config)
        assert applied[n:] == [
            "add_service tcp:10.0.0.5:443 sched=rr flags=0x0",
            "add_dest tcp:10.0.0.5:443 -> 10.0.0.2:443 NAT weight=1",
        ]
        # reload back: only the dropped service goes
        n = len(applied)
        await actor.apply_config(load_text(CONF).config)
        assert applied[n:] == ["del_service tcp:10.0.0.5:443"]
        status = actor.status()
        assert status["backend"] == "dry-run"
        assert [rs["weight"] for rs in status["virtual_servers"][0]["real_servers"]] == [3, 0]
        n = len(applied)
        await actor.shutdown()
        assert applied[n:] == ["del_service tcp:10.0.0.1:80"]

    run_virtual(run())


def test_dont_release_keeps_the_table() -> None:
    async def run() -> None:
        actor, _ = await start(CONF, dont_release_ipvs=True)
        n = len(actor.backend.applied)  # type: ignore[attr-defined]
        await actor.shutdown()
        assert len(actor.backend.applied) == n  # type: ignore[attr-defined]

    run_virtual(run())


def test_sync_daemon_follows_vrrp() -> None:
    conf = (
        """
global_defs { lvs_sync_daemon eth0 VI_1 id 7 }
vrrp_instance VI_1 { interface eth0
  virtual_router_id 51
  priority 100
  virtual_ipaddress { 10.0.0.1/24 } }
"""
        + CONF
    )

    async def run() -> None:
        actor, _ = await start(conf)
        backend = actor.backend
        assert backend.daemon[0] == "backup" and backend.daemon[1].sync_id == 7  # type: ignore[attr-defined]
        body = {
            "instance": "VI_1",
            "vrid": 51,
            "family": "inet",
            "interface": "eth0",
            "state": "MASTER",
            "prev": "BACKUP",
            "priority": 100,
            "reason": "",
        }
        await actor.deliver_event(event("vrrp.state", body))
        assert backend.daemon[0] == "master"  # type: ignore[attr-defined]
        await actor.deliver_event(event("vrrp.state", {**body, "state": "BACKUP"}))
        assert backend.daemon[0] == "backup"  # type: ignore[attr-defined]

    run_virtual(run())


def test_refused_service_is_reported_and_the_rest_applied(monkeypatch: pytest.MonkeyPatch) -> None:
    """A backend that cannot forward DR (nftables) leaves that service out, with lb.error."""

    class NatOnly(driver.DryRunBackend):
        def check(self, rules):  # type: ignore[no-untyped-def]
            return nft.check(rules)

    async def fake_open(name: str) -> driver.Backend:
        return NatOnly()

    monkeypatch.setattr(driver, "open_backend", fake_open)
    dr = CONF + EXTRA.replace("lb_kind NAT", "lb_kind DR")

    async def run() -> None:
        actor, published = await start(dr)
        applied = actor.backend.applied  # type: ignore[attr-defined]
        assert not any("10.0.0.5:443" in line for line in applied)
        assert any(line.startswith("add_service tcp:10.0.0.1:80") for line in applied)
        errors = [b for t, b in published if t == "lb.error"]
        assert len(errors) == 1 and "needs kernel IPVS" in str(errors[0]["error"])
        assert actor.status()["refused"] == ["tcp:10.0.0.5:443"]

    run_virtual(run())


def test_start_up_events_are_paced_in_order() -> None:
    servers = "\n".join(
        f"  real_server 10.2.{i // 250}.{i % 250 + 1} 80 {{ }}" for i in range(1200)
    )
    head = "virtual_server 10.0.0.1 80 {\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n"
    conf = f"{head}{servers}\n}}\n"

    async def run() -> None:
        _actor, published = await start(conf)
        assert len(published) == 500  # the first batch at once, the rest after pauses
        await wait_until(lambda: len(published) == 1201, 1, what="every start-up event")
        assert published[0][0] == "lb.quorum"
        keys = [b["real_server"] for t, b in published[1:]]
        assert keys == [f"10.2.{i // 250}.{i % 250 + 1}:80" for i in range(1200)]

    run_virtual(run())
    asyncio.run(run())


def test_a_started_ipvs_actor_takes_the_checkers_current_verdicts() -> None:
    """A restarted ipvs actor asks the checker for every verdict; an event that arrives
    while it waits is newer and wins over the reply."""
    down = M.CheckResult("10.0.0.1:80", "tcp", "10.0.0.3:8080", "TCP_CHECK", False, "x", None)
    stale = M.CheckResult("10.0.0.1:80", "tcp", "10.0.0.2:8080", "TCP_CHECK", False, "x", None)
    asked: list[tuple[str, M.Command]] = []
    gate = asyncio.Event()

    async def checker(to: str, cmd: M.Command, timeout: float = 2.0) -> M.Reply:
        asked.append((to, cmd))
        await gate.wait()
        return M.CheckerVerdicts((down, stale))

    async def run() -> tuple[IpvsActor, list[str]]:
        actor, _ = await start(CONF, request=checker)
        await asyncio.sleep(0)
        fresh = dataclasses.replace(stale, up=True, reason="newer")
        await actor.deliver_event(event(fresh.TYPE, fresh.to_body()))
        gate.set()
        await wait_until(lambda: actor.counters["verdicts.resynced"] == 2, 1, what="resync")
        await asyncio.sleep(0.1)  # virtual: the flush the resync scheduled has run
        return actor, list(actor.backend.applied)  # type: ignore[attr-defined]

    actor, applied = run_virtual(run())
    assert asked == [("checker", M.CheckerVerdictsRequest())]
    assert "del_dest tcp:10.0.0.1:80 -> 10.0.0.3:8080" in applied
    assert not any("10.0.0.2:8080" in op for op in applied if op.startswith("del_dest"))
    assert actor.counters["verdicts.resynced"] == 2
