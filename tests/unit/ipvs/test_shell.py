"""The ipvs shell on the in-memory bus and the virtual clock, with a recording backend.

The shell runs as it does after the fork (tests/seams.py): the checker and VRRP actors
are played by publishing their events on the bus, the parent by sending commands.
The backend is the dry-run one (actors/ipvs/driver.py), recording each ``apply`` call,
so a test sees exactly which kernel operations one verdict cost. No root, no kernel.
"""

from __future__ import annotations

import asyncio
import pickle
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest

from pykeepalived.actors.base import Options
from pykeepalived.actors.ipvs import driver
from pykeepalived.actors.ipvs.actor import PUBLISH_BATCH, IpvsActor
from pykeepalived.actors.ipvs.rules import DestId, Op, Service, ServiceId
from pykeepalived.bus.testing import InMemoryBus, VirtualClock, VirtualClockLoop, wait_until
from pykeepalived.conf.loader import load_text
from pykeepalived.conf.model import Config
from tests.seams import ShellRun, start_shell
from tests.timeline import Timeline

T0 = 1000.0
Vrun = Callable[..., Any]
HEAD = "virtual_server 10.0.0.1 80 {\n  lb_algo wrr\n  lb_kind NAT\n  protocol TCP\n"


class Recording(driver.DryRunBackend):
    """The dry-run backend, keeping each apply call's operations apart (one pass each) and
    the table they leave (what ``dump`` reports, at start too); ``fail`` makes the next
    apply fail as the kernel might, changing nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.passes: list[list[str]] = []
        self.table: dict[ServiceId, Service] = {}  # what "the kernel" holds
        self.fail: str | None = None

    async def dump(self) -> dict[ServiceId, Service]:
        return dict(self.table)

    async def apply(self, ops: Sequence[Op], new_state: Mapping[ServiceId, Service]) -> None:
        if self.fail is not None:
            why, self.fail = self.fail, None
            raise driver.BackendError(why)
        self.passes.append([str(op) for op in ops])
        self.table = dict(new_state)
        await super().apply(ops, new_state)


class ReadyIpvs(IpvsActor):
    set_up = False

    async def setup(self) -> None:
        await super().setup()
        self.set_up = True


def is_set_up(actor: Any) -> bool:
    return bool(actor.set_up)


@pytest.fixture
def backend(monkeypatch: pytest.MonkeyPatch) -> Recording:
    rec = Recording()

    async def open_backend(name: str) -> driver.Backend:
        assert name == "dry-run"
        return rec

    monkeypatch.setattr(driver, "open_backend", open_backend)
    return rec


def conf(text: str) -> Config:
    return load_text(text).config


def clock() -> VirtualClock:
    return VirtualClock(start=T0)


async def start(text: str, **opts: Any) -> tuple[ShellRun, Timeline]:
    bus = InMemoryBus()
    timeline = Timeline(bus, ("lb.",))
    options = Options(runtime_dir="/nonexistent", host="testhost", lb_backend="dry-run", **opts)
    run = await start_shell(ReadyIpvs, conf(text), bus=bus, options=options, ready=is_set_up)
    return run, timeline


def verdict(real_server: str, up: bool, weight: int | None = None, **kw: Any) -> dict[str, Any]:
    body = {
        "virtual_server": "10.0.0.1:80", "protocol": "tcp", "real_server": real_server,
        "checker": "TCP_CHECK", "up": up, "reason": "test", "weight": weight,
    }  # fmt: skip
    body.update(kw)
    return body


async def settle(run: ShellRun) -> None:
    """Until every event published so far is handled and its flush applied. On the virtual
    clock time moves only when nothing is ready to run: once it has moved, the shell is
    idle, and then nothing may be left queued or pending."""
    actor = run.actor
    assert isinstance(actor, IpvsActor)
    loop = asyncio.get_running_loop()
    assert isinstance(loop, VirtualClockLoop)
    port = run.bus.ports["ipvs"]
    before = loop.time()

    def idle() -> bool:
        quiet = port.events.empty() and not actor.flush_scheduled and not actor.lock.locked()
        return loop.time() > before and quiet

    await wait_until(idle, 5, what="events applied")


def held(run: ShellRun, backend: Recording) -> dict[str, int]:
    """The one service's destinations and weights as the shell believes the kernel holds
    them, which must be what the backend really holds."""
    actor = run.actor
    assert isinstance(actor, IpvsActor)
    assert actor.actual == backend.table
    (svc,) = actor.actual.values()
    return {str(dest): attrs.weight for dest, attrs in svc.dests.items()}


def lb_events(tl: Timeline, since: int = 0) -> list[tuple[str, dict[str, Any]]]:
    return [(env.type, dict(env.body)) for _, env in tl.seen[since:]]


def realserver(rs: str, weight: int, active: bool, vs: str = "10.0.0.1:80") -> tuple[str, Any]:
    body = {"virtual_server": vs, "protocol": "tcp", "real_server": rs}
    return ("lb.realserver", {**body, "weight": weight, "active": active})


def quorum(up: bool, vs: str = "10.0.0.1:80") -> tuple[str, Any]:
    return ("lb.quorum", {"virtual_server": vs, "protocol": "tcp", "up": up})


TWO = (
    HEAD
    + """  real_server 10.0.0.2 8080 { weight 3
    TCP_CHECK { connect_timeout 1 } }
  real_server 10.0.0.3 8080 { weight 1
    TCP_CHECK { connect_timeout 1 } }
}
"""
)


# ---- verdicts in, operations and events out ------------------------------------------------
def test_verdicts_become_the_minimal_diff_and_lb_events(vrun: Vrun, backend: Recording) -> None:
    async def main() -> tuple[Counter[str], dict[str, Any]]:
        run, tl = await start(TWO)
        assert backend.passes == [
            [
                "add_service tcp:10.0.0.1:80 sched=wrr flags=0x0",
                "add_dest tcp:10.0.0.1:80 -> 10.0.0.2:8080 NAT weight=3",
                "add_dest tcp:10.0.0.1:80 -> 10.0.0.3:8080 NAT weight=1",
            ]
        ]
        assert lb_events(tl) == [
            quorum(True),
            realserver("10.0.0.2:8080", 3, True),
            realserver("10.0.0.3:8080", 1, True),
        ]
        n = len(tl.seen)
        run.publish("check.result", verdict("10.0.0.3:8080", False))
        await settle(run)
        assert backend.passes[1:] == [["del_dest tcp:10.0.0.1:80 -> 10.0.0.3:8080"]]
        assert lb_events(tl, n) == [realserver("10.0.0.3:8080", 0, False)]
        # the same verdict again changes nothing: no pass, no event
        run.publish("check.result", verdict("10.0.0.3:8080", False))
        await settle(run)
        assert len(backend.passes) == 2
        # two verdicts published together are applied in one pass
        n = len(tl.seen)
        run.publish("check.result", verdict("10.0.0.3:8080", True))
        run.publish("check.result", verdict("10.0.0.2:8080", True, weight=5))
        await settle(run)
        assert backend.passes[2:] == [
            [
                "set_dest tcp:10.0.0.1:80 -> 10.0.0.2:8080 NAT weight=5",
                "add_dest tcp:10.0.0.1:80 -> 10.0.0.3:8080 NAT weight=1",
            ]
        ]
        assert sorted(lb_events(tl, n), key=str) == sorted(
            [realserver("10.0.0.2:8080", 5, True), realserver("10.0.0.3:8080", 1, True)], key=str
        )
        # bad events are counted, never raised, never applied
        run.publish("check.result", {"virtual_server": 1})
        run.publish("check.result", verdict("10.9.9.9:1", False))
        run.publish("check.result", verdict("10.0.0.2:8080", False, virtual_server="10.0.0.7:80"))
        await settle(run)
        weights = held(run, backend)
        counters = Counter(run.actor.counters)
        assert run.actor.status()["backend"] == "dry-run"
        await run.stop()
        return counters, weights

    counters, weights = vrun(main(), clock=clock())
    assert counters["bus.rx_invalid.check.result.bad-type"] == 1
    assert counters["events.unknown_real_server"] == 2
    assert len(backend.passes) == 4  # the bad events cost nothing; the stop removes all
    assert backend.passes[-1] == ["del_service tcp:10.0.0.1:80"]
    assert weights == {"10.0.0.2:8080": 5, "10.0.0.3:8080": 1}


QUORUM = (
    HEAD
    + """  quorum 4
  hysteresis 1
  sorry_server 10.0.0.9 80
  real_server 10.0.0.2 80 { weight 2
    TCP_CHECK { } }
  real_server 10.0.0.3 80 { weight 2
    TCP_CHECK { } }
  real_server 10.0.0.4 80 { weight 2
    inhibit_on_failure
    TCP_CHECK { } }
}
"""
)


def test_quorum_hysteresis_sorry_server_and_inhibit_on_failure(
    vrun: Vrun, backend: Recording
) -> None:
    """quorum 4, hysteresis 1: lost below 3, regained from 5. While lost the sorry server
    replaces the real servers; the inhibited one stays in the table at weight 0."""

    async def main() -> list[Any]:
        run, tl = await start(QUORUM)
        steps: list[Any] = []

        async def verdicts(*changes: tuple[str, bool]) -> None:
            n = len(tl.seen)
            for rs, up in changes:
                run.publish("check.result", verdict(rs, up))
            await settle(run)
            steps.append((lb_events(tl, n), held(run, backend)))

        await verdicts(("10.0.0.4:80", False))  # 4 left: above 3, quorum kept
        await verdicts(("10.0.0.2:80", False))  # 2 left: below 3, quorum lost
        await verdicts(("10.0.0.2:80", True))  # 4: below 5, still lost
        await verdicts(("10.0.0.4:80", True))  # 6: regained
        await run.stop()
        return steps

    steps = vrun(main(), clock=clock())
    rs2, rs3, rs4, sorry = "10.0.0.2:80", "10.0.0.3:80", "10.0.0.4:80", "10.0.0.9:80"
    assert steps[0] == ([realserver(rs4, 0, False)], {rs2: 2, rs3: 2, rs4: 0})
    events, table = steps[1]
    assert table == {rs4: 0, sorry: 1}
    assert sorted(events, key=str) == sorted(
        [quorum(False), realserver(rs2, 0, False), realserver(rs3, 0, False),
         realserver(sorry, 1, True)], key=str,
    )  # fmt: skip
    assert steps[2] == ([], {rs4: 0, sorry: 1})  # hysteresis: 4 is not enough
    events, table = steps[3]
    assert table == {rs2: 2, rs3: 2, rs4: 2}
    assert sorted(events, key=str) == sorted(
        [quorum(True), realserver(rs2, 2, True), realserver(rs3, 2, True),
         realserver(rs4, 2, True), realserver(sorry, 0, False)], key=str,
    )  # fmt: skip


SYNC = """
global_defs { lvs_sync_daemon eth0 VI_1 id 7 }
vrrp_instance VI_1 { interface eth0
  virtual_router_id 51
  priority 100
  virtual_ipaddress { 10.0.0.1/24 } }
vrrp_instance VI_2 { interface eth0
  virtual_router_id 52
  priority 100
  virtual_ipaddress { 10.0.0.50/24 } }
""" + TWO.replace("protocol TCP\n", "protocol TCP\n  ha_suspend\n")


def vrrp_state(instance: str, state: str) -> dict[str, Any]:
    return {
        "instance": instance, "vrid": 51, "family": "inet", "interface": "eth0",
        "state": state, "prev": "BACKUP", "priority": 100, "reason": "",
    }  # fmt: skip


def test_vrrp_state_drives_the_sync_daemon_and_ha_suspend(vrun: Vrun, backend: Recording) -> None:
    async def main() -> list[Any]:
        run, _ = await start(SYNC)
        seen: list[Any] = []

        def snap() -> None:
            assert backend.daemon is not None
            role, cfg = backend.daemon
            assert cfg.interface == "eth0" and cfg.sync_id == (0 if role is None else 7)
            seen.append((role, run.actor.status()["virtual_servers"][0]["suspended"]))

        snap()
        # suspended (VI_1 is not master here): a verdict is recorded, the table stays
        run.publish("check.result", verdict("10.0.0.3:8080", False))
        await settle(run)
        seen.append(len(backend.passes))
        run.publish("vrrp.state", vrrp_state("VI_2", "MASTER"))  # another instance
        await settle(run)
        snap()
        run.publish("vrrp.state", vrrp_state("VI_1", "MASTER"))
        await settle(run)
        snap()
        seen.append(backend.passes[-1])  # thawed: the recorded verdict applied now
        run.publish("vrrp.state", vrrp_state("VI_1", "BACKUP"))
        await settle(run)
        snap()
        await run.stop()
        snap()
        return seen

    seen = vrun(main(), clock=clock())
    assert seen == [
        ("backup", True),
        1,
        ("backup", True),
        ("master", False),
        ["del_dest tcp:10.0.0.1:80 -> 10.0.0.3:8080"],
        ("backup", True),
        (None, True),  # stopped with the actor
    ]


def test_start_up_events_are_paced_500_per_10_ms(vrun: Vrun, backend: Recording) -> None:
    servers = "\n".join(
        f"  real_server 10.2.{i // 250}.{i % 250 + 1} 80 {{ }}" for i in range(1200)
    )

    async def main() -> Timeline:
        run, tl = await start(f"{HEAD}{servers}\n}}\n")
        await wait_until(lambda: len(tl.seen) == 1201, 1, what="every start-up event")
        await run.stop()
        return tl

    tl = vrun(main(), clock=clock())
    per_window = Counter(round(t - T0, 6) for t, _ in tl.seen)
    assert per_window == {0.0: PUBLISH_BATCH, 0.01: PUBLISH_BATCH, 0.02: 201}
    kinds = [env.type for _, env in tl.seen]
    assert kinds[0] == "lb.quorum" and set(kinds[1:]) == {"lb.realserver"}
    keys = [env.body["real_server"] for _, env in tl.seen[1:]]
    assert keys == [f"10.2.{i // 250}.{i % 250 + 1}:80" for i in range(1200)]  # in order


# ---- reload, adoption, errors, stop ------------------------------------------------------------
EXTRA = """
virtual_server 10.0.0.5 443 {
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 10.0.0.2 443 { }
}
"""


def test_reload_applies_only_the_difference_and_keeps_verdicts(
    vrun: Vrun, backend: Recording
) -> None:
    async def main() -> list[Any]:
        run, tl = await start(TWO + EXTRA)
        run.publish("check.result", verdict("10.0.0.3:8080", False))
        await settle(run)
        out: list[Any] = []
        for generation, text in enumerate(
            (
                TWO.replace("weight 3", "weight 4"),  # one weight changed, one VS gone
                TWO.replace("weight 3", "weight 4") + EXTRA,  # and back
            ),
            start=2,
        ):
            n, m = len(backend.passes), len(tl.seen)
            body = {"config": pickle.dumps(conf(text)), "generation": generation}
            reply = await run.command("config.apply", body)
            out.append((reply, backend.passes[n:], lb_events(tl, m)))
        await run.stop()
        return out

    (r1, ops1, ev1), (r2, ops2, ev2) = vrun(main(), clock=clock())
    assert r1 == {"ok": True, "result": {"generation": 2}}
    assert ops1 == [
        [
            "del_service tcp:10.0.0.5:443",
            "set_dest tcp:10.0.0.1:80 -> 10.0.0.2:8080 NAT weight=4",
        ]
    ]
    assert ev1 == [realserver("10.0.0.2:8080", 4, True)]  # 10.0.0.3 stays down: no event
    assert r2["ok"] is True
    assert ops2 == [
        [
            "add_service tcp:10.0.0.5:443 sched=rr flags=0x0",
            "add_dest tcp:10.0.0.5:443 -> 10.0.0.2:443 NAT weight=1",
        ]
    ]
    assert ev2 == [
        quorum(True, "10.0.0.5:443"),
        realserver("10.0.0.2:443", 1, True, "10.0.0.5:443"),
    ]


def test_an_existing_table_is_adopted_and_foreign_services_left_alone(
    vrun: Vrun, backend: Recording
) -> None:
    async def main() -> tuple[list[list[str]], int, int]:
        # a previous run leaves its table (-I): our service, and one the new config lacks
        first, _ = await start(TWO + EXTRA, dont_release_ipvs=True)
        await first.stop()
        assert len(backend.table) == 2
        backend.passes.clear()
        run, _ = await start(TWO)
        status = run.actor.status()
        await run.stop()
        return backend.passes, status["adopted_at_start"], status["services_in_kernel"]

    passes, adopted, in_kernel = vrun(main(), clock=clock())
    assert (adopted, in_kernel) == (1, 2)
    # nothing to do at start; at stop only what this daemon owns goes (no lvs_flush)
    assert passes == [["del_service tcp:10.0.0.1:80"]]


def test_a_rejected_apply_is_published_counted_and_the_table_reread(
    vrun: Vrun, backend: Recording
) -> None:
    async def main() -> tuple[list[tuple[str, Any]], Counter[str], list[list[str]]]:
        run, tl = await start(TWO)
        n = len(tl.seen)
        backend.fail = "del_dest: No such destination"
        run.publish("check.result", verdict("10.0.0.3:8080", False))
        await settle(run)
        errors = lb_events(tl, n)
        # the verdict stays recorded: the next change of that VS applies it too
        run.publish("check.result", verdict("10.0.0.2:8080", True, weight=5))
        await settle(run)
        counters = Counter(run.actor.counters)
        await run.stop()
        return errors, counters, backend.passes

    errors, counters, passes = vrun(main(), clock=clock())
    assert errors == [
        ("lb.error", {"virtual_server": "", "error": "del_dest: No such destination"})
    ]
    assert counters["errors.apply"] == 1
    # the table was read back unchanged; the next pass applies both verdicts
    assert passes[1] == [
        "del_dest tcp:10.0.0.1:80 -> 10.0.0.3:8080",
        "set_dest tcp:10.0.0.1:80 -> 10.0.0.2:8080 NAT weight=5",
    ]


def test_dont_release_ipvs_leaves_the_table_at_stop(vrun: Vrun, backend: Recording) -> None:
    async def main() -> None:
        run, _ = await start(TWO, dont_release_ipvs=True)
        await run.stop()

    vrun(main(), clock=clock())
    assert len(backend.passes) == 1  # the start; nothing removed at stop
    assert len(backend.table) == 1


def test_status_carries_the_datapaths_traffic_read_in_the_background(
    vrun: Vrun, backend: Recording
) -> None:
    sid = ServiceId("inet", "tcp", "10.0.0.1", 80)
    reads: list[float] = []

    async def traffic(sids: Sequence[ServiceId]) -> dict[ServiceId, driver.ServiceTraffic]:
        reads.append(asyncio.get_running_loop().time())
        assert list(sids) == [sid]
        n = len(reads)
        dests = {DestId("10.0.0.2", 8080): {"connections": 3 * n, "bytes_in": 100},
                 DestId("10.0.0.3", 8080): {"connections": n}}  # fmt: skip
        return {sid: ({"connections": 4 * n, "bytes_in": 100}, dests)}

    backend.traffic = traffic  # type: ignore[method-assign]

    async def main() -> list[dict[str, Any]]:
        run, _ = await start(TWO)
        seen = []
        for _ in range(3):
            seen.append(run.actor.status()["virtual_servers"][0])
            await asyncio.sleep(1.5)
        await run.stop()
        return seen

    first, second, third = vrun(main(), clock=clock())
    # the first status starts a read and shows nothing yet; the next shows what it found
    assert first["traffic"] is None and first["real_servers"][0]["traffic"] is None
    assert second["traffic"] == {"connections": 4, "bytes_in": 100}
    rs = {r["real_server"]: r["traffic"] for r in second["real_servers"]}
    assert rs == {"10.0.0.2:8080": {"connections": 3, "bytes_in": 100},
                  "10.0.0.3:8080": {"connections": 1}}  # fmt: skip
    # 3 s after the first read: a second one, no more (at most one per STATS_EVERY)
    assert len(reads) == 2 and reads[1] - reads[0] >= 2.0
    assert third["traffic"] == {"connections": 4, "bytes_in": 100}
