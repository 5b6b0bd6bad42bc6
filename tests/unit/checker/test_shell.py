"""The checker shell on the in-memory bus and the virtual clock, with scripted probes.

Every timing rule is checked at the exact virtual second keepalived's rules give (the
FSM's own rules are in test_fsm.py; here it is the shell that must carry them out: one
timer heap, probes started and cancelled, verdicts published and paced). No root, no
sockets (except the last tests, which run real probes against loopback), no sleeping.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
import socket
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from pykeepalived.actors.base import Options
from pykeepalived.actors.checker import actor as actor_mod
from pykeepalived.actors.checker.actor import address_is_local
from pykeepalived.actors.checker.fsm import CheckFsm
from pykeepalived.actors.checker.probes_net import Mux
from pykeepalived.bus.testing import InMemoryBus, VirtualClock, VirtualClockLoop, wait_until
from pykeepalived.conf import model as m
from pykeepalived.conf.loader import load_text
from tests.seams import ShellRun, start_shell
from tests.timeline import Timeline
from tests.unit.checker.scripted import (
    Boom,
    Down,
    Hang,
    Probes,
    ReadyChecker,
    Timeout,
    Up,
    is_set_up,
    scripted_checker,
)

T0 = 1000.0  # the virtual clock's start: setup, the start verdicts and first attempts
VIP = "192.0.2.10"  # TEST-NET-1: never local here
Vrun = Callable[..., Any]


def at(seconds: float) -> Any:
    return pytest.approx(T0 + seconds, abs=1e-6)


def clock(io_grace: float = 0.0) -> VirtualClock:
    return VirtualClock(start=T0, io_grace=io_grace)


async def elapse_to(t: float) -> None:
    """Let virtual time run to T0 + t (the loop fires every timer due on the way)."""
    loop = asyncio.get_running_loop()
    assert isinstance(loop, VirtualClockLoop), "virtual time only"
    await asyncio.sleep(T0 + t - loop.time())


def tcp(**kw: Any) -> m.TcpCheck:
    base: dict[str, Any] = {"delay_loop": 10.0, "connect_timeout": 3.0, "retry": 0}
    base.update(kw)
    return m.TcpCheck(warmup=base.pop("warmup", 0.0), **base)


def rs(host: str, *checkers: Any, port: int = 80) -> m.RealServer:
    return m.RealServer(address=host, port=port, checkers=checkers or (tcp(),))


def vs(*servers: m.RealServer, address: str = "10.0.0.1", **kw: Any) -> m.VirtualServer:
    return m.VirtualServer(address=address, port=80, real_servers=servers, **kw)


def cfg(*vss: m.VirtualServer) -> m.Config:
    return m.Config(virtual_servers=vss)


async def start(probes: Probes, config: m.Config, **opts: Any) -> tuple[ShellRun, Timeline]:
    bus = InMemoryBus()
    timeline = Timeline(bus, ("check.",))
    options = Options(runtime_dir="/nonexistent", host="testhost", **opts)
    run = await start_shell(
        scripted_checker(probes), config, bus=bus, options=options, ready=is_set_up
    )
    return run, timeline


def verdicts(tl: Timeline, real_server: str) -> list[tuple[float, bool, str]]:
    results = tl.of("check.result")
    return [(t, b["up"], b["reason"]) for t, b in results if b["real_server"] == real_server]


async def apply(run: ShellRun, new: m.Config, generation: int = 2) -> dict[str, Any]:
    body = {"config": pickle.dumps(new), "generation": generation}
    return await run.command("config.apply", body)


# ---- timing: keepalived's rules at the exact virtual second ------------------------------
TIMING_CONF = """
virtual_server 10.0.0.1 80 {
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 10.0.0.2 80 {
    TCP_CHECK {
      connect_timeout 3
      delay_loop 10
      retry 2
      delay_before_retry 1
      warmup 0
    }
  }
  real_server 10.0.0.3 80 {
    TCP_CHECK {
      connect_timeout 3
      delay_loop 10
      retry 2
      delay_before_retry 1
      warmup 0
    }
  }
  real_server 10.0.0.4 80 {
    TCP_CHECK {
      connect_timeout 3
      delay_loop 10
      retry 2
      delay_before_retry 1
      warmup 0
    }
  }
}
"""


def test_timeouts_and_retries_give_the_down_verdict_at_keepalived_s_time(vrun: Vrun) -> None:
    """connect_timeout 3, delay_loop 10, retry 2, delay_before_retry 1, as keepalived
    2.2.7 does it on the wire (tests/integration/checker/test_timing_interop.py): every
    delay counts from the END of the attempt before it."""
    probes = Probes()
    probes.script("10.0.0.2:80", [Up(), Timeout()])  # up at 0, then silent
    probes.script("10.0.0.3:80", Up(after=2.0))  # healthy but each answer takes 2 s
    probes.script("10.0.0.4:80", Timeout())  # silent from the start

    async def main() -> tuple[Timeline, Probes]:
        run, tl = await start(probes, load_text(TIMING_CONF).config)
        await elapse_to(53.5)
        await run.stop()
        return tl, probes

    tl, p = vrun(main(), clock=clock())
    # up until the third consecutive timeout, which ends at 21
    assert verdicts(tl, "10.0.0.2:80") == [
        (at(0), True, "start"),
        (at(21), False, "connect timed out after 3 s"),
    ]
    # 10 after the success; retries 1 s after each timeout ended (13, 17); then 10 s
    # after the last one ended (21 + 10); while down the same retry cycle runs again
    assert p.starts("10.0.0.2:80") == [at(t) for t in (0, 10, 14, 18, 31, 35, 39, 52)]
    assert [a.ended for a in p.of("10.0.0.2:80")][:4] == [at(0), at(13), at(17), at(21)]
    # a slow success: delay_loop after it ended, so the period is 12 s
    assert verdicts(tl, "10.0.0.3:80") == [(at(0), True, "start")]
    assert p.starts("10.0.0.3:80") == [at(0), at(12), at(24), at(36), at(48)]
    # the first attempt is decisive: down when it times out, no retries before that
    assert verdicts(tl, "10.0.0.4:80") == [
        (at(0), True, "start"),
        (at(3), False, "connect timed out after 3 s"),
    ]
    assert p.starts("10.0.0.4:80") == [at(t) for t in (0, 13, 17, 21, 34, 38, 42)]


def test_alpha_rise_and_fall_follow_the_server(vrun: Vrun) -> None:
    """alpha starts down; one success is up (rise 1), at the moment the attempt ends;
    while down each failed cycle is retry + 1 attempts; when up, retry 1 = two failures.
    Every delay counts from the end of the attempt before it."""
    probes = Probes()
    healthy = (25.0, 45.0)  # the server answers from 25 s to 45 s

    def server(now: float) -> Any:
        return Up(after=0.25) if healthy[0] <= now - T0 < healthy[1] else Down()

    probes.script("10.0.0.2:80", server)
    chk = tcp(alpha=True, retry=1, delay_before_retry=1.0)

    async def main() -> tuple[Timeline, Probes]:
        run, tl = await start(probes, cfg(vs(rs("10.0.0.2", chk))))
        await elapse_to(62)
        await run.stop()
        return tl, probes

    tl, p = vrun(main(), clock=clock())
    assert verdicts(tl, "10.0.0.2:80") == [
        (at(0), False, "alpha: down until the first successful check"),
        (at(32.25), True, "connected"),
        (at(53.5), False, "connection refused"),
    ]
    # down: the first attempt decides (0 -> 10), then cycles of two attempts 1 s apart
    # (10, 11 -> 21, 22 -> 32); 32 is answered at 32.25: up, next at 42.25, done at
    # 42.5; the server stopped at 45, so 52.5 fails, its retry at 53.5 too: down
    assert p.starts("10.0.0.2:80") == [at(t) for t in (0, 10, 11, 21, 22, 32, 42.25, 52.5, 53.5)]


def test_a_new_weight_while_up_is_a_new_verdict(vrun: Vrun) -> None:
    probes = Probes()
    probes.script("10.0.0.2:80", [Up(weight=5), Up(weight=5), Up(weight=7)])

    async def main() -> Timeline:
        run, tl = await start(probes, cfg(vs(rs("10.0.0.2"))))
        await elapse_to(25)
        await run.stop()
        return tl

    tl = vrun(main(), clock=clock())
    got = [(t, b["up"], b["weight"]) for t, b in tl.of("check.result")]
    assert got == [(at(0), True, None), (at(0), True, 5), (at(20), True, 7)]


def test_flapping_server_alternates_verdicts_without_repeats(vrun: Vrun) -> None:
    probes = Probes()
    probes.script("10.0.0.2:80", lambda now: Up() if int((now - T0) // 20) % 2 else Down())

    async def main() -> Timeline:
        run, tl = await start(probes, cfg(vs(rs("10.0.0.2", tcp(delay_loop=5.0)))))
        await elapse_to(100)
        await run.stop()
        return tl

    tl = vrun(main(), clock=clock())
    got = [(t, up) for t, up, _ in verdicts(tl, "10.0.0.2:80")]
    # down during [0, 20), up during [20, 40)...; retry 0: one failure is down
    assert got == [
        (at(0), True), (at(0), False), (at(20), True), (at(40), False),
        (at(60), True), (at(80), False), (at(100), True),
    ]  # fmt: skip


def test_warmup_spreads_the_first_attempts(vrun: Vrun) -> None:
    probes = Probes()
    servers = [rs(f"10.0.1.{i}", tcp(warmup=5.0)) for i in range(1, 21)]

    async def main() -> Probes:
        run, _ = await start(probes, cfg(vs(*servers)))
        await elapse_to(5.01)
        await run.stop()
        return probes

    p = vrun(main(), clock=clock())
    first = [a.started - T0 for a in p.attempts]
    assert len(first) == 20 and all(0 <= t <= 5.0 for t in first)
    assert len(set(first)) > 10  # spread, not all at once


# ---- the scheduler ----------------------------------------------------------------------
def test_start_verdicts_are_paced_and_attempts_wait_for_the_burst(vrun: Vrun) -> None:
    """1,200 checks: 500 start verdicts, a 10 ms pause, 500 more, a pause, the last 200;
    the first attempts are armed only after the whole burst."""
    probes = Probes()
    servers = [rs(f"10.2.{i // 250}.{i % 250 + 1}") for i in range(1200)]

    async def main() -> tuple[Timeline, Probes]:
        run, tl = await start(probes, cfg(vs(*servers)))
        await elapse_to(1)
        await run.stop()
        return tl, probes

    tl, p = vrun(main(), clock=clock())
    start_verdicts = [(t, b) for t, b in tl.of("check.result") if b["reason"] == "start"]
    per_moment = Counter(round(t - T0, 6) for t, _ in start_verdicts)
    assert per_moment == {0.0: 500, 0.01: 500, 0.02: 200}
    assert [b["real_server"] for _, b in start_verdicts] == [f"{s.address}:80" for s in servers]
    assert len(p.attempts) == 1200 and all(a.started == at(0.02) for a in p.attempts)


def test_due_attempts_start_in_slices_with_the_loop_free_between(vrun: Vrun) -> None:
    probes = Probes()
    n = 450
    servers = [rs(f"10.3.{i // 250}.{i % 250 + 1}") for i in range(n)]

    async def main() -> list[int]:
        run, _ = await start(probes, cfg(vs(*servers)))
        loop = asyncio.get_running_loop()
        seen: list[int] = []

        def sample() -> None:  # an unrelated callback, as a hello arriving
            seen.append(len(probes.attempts))
            if seen[-1] < 2 * n:
                loop.call_soon(sample)

        loop.call_at(T0 + 10, sample)  # when all 450 second attempts are due at once
        await elapse_to(10.5)
        await run.stop()
        return seen

    seen = vrun(main(), clock=clock())
    assert seen[-1] == 2 * n
    steps = [b - a for a, b in zip([n, *seen], seen, strict=False)]
    assert max(steps) <= actor_mod.TICK_BATCH and len([s for s in steps if s]) >= 3, seen


def test_a_probe_that_never_reports_is_abandoned_by_the_sweep(vrun: Vrun) -> None:
    """The sweep runs every STUCK_SWEEP (5 s) and abandons an attempt older than its own
    bound (connect_timeout 3) + STUCK_SLACK (5): the one started at 0 goes at 10 s."""
    probes = Probes()
    probes.script("10.0.0.2:80", Hang())

    async def main() -> tuple[Timeline, Probes, Counter[str]]:
        run, tl = await start(probes, cfg(vs(rs("10.0.0.2"))))
        await elapse_to(20.5)
        counters = Counter(run.actor.counters)
        await run.stop()
        return tl, probes, counters

    tl, p, counters = vrun(main(), clock=clock())
    assert verdicts(tl, "10.0.0.2:80") == [
        (at(0), True, "start"),
        (at(10), False, "probe did not finish in time (abandoned)"),
    ]
    assert p.of("10.0.0.2:80")[0].cancelled_at == at(10)
    assert counters["checks.stuck_attempts"] == 1
    # the abandoned attempt ends at 10: the next one is delay_loop after that
    assert p.starts("10.0.0.2:80")[:2] == [at(0), at(20)]


def test_a_probe_that_raises_at_start_fails_only_its_attempt(vrun: Vrun) -> None:
    probes = Probes()
    probes.script("10.0.0.2:80", Boom())

    async def main() -> tuple[Timeline, Probes, Counter[str]]:
        run, tl = await start(probes, cfg(vs(rs("10.0.0.2"), rs("10.0.0.3"))))
        await elapse_to(25)
        counters = Counter(run.actor.counters)
        await run.stop()
        return tl, probes, counters

    tl, p, counters = vrun(main(), clock=clock())
    assert verdicts(tl, "10.0.0.2:80") == [
        (at(0), True, "start"),
        (at(0), False, "internal error in probe: RuntimeError('boom')"),
    ]
    assert p.starts("10.0.0.2:80") == [at(0), at(10), at(20)]  # it keeps its rhythm
    assert counters["errors.probe"] == 3
    assert p.starts("10.0.0.3:80") == [at(0), at(10), at(20)]


def test_the_scheduler_survives_an_exception_while_starting_an_attempt(vrun: Vrun) -> None:
    class BrokenFsm(CheckFsm):
        __slots__ = ()

        def due(self, now: float) -> bool:
            raise RuntimeError("fsm bug")

    probes = Probes()

    async def main() -> tuple[Probes, Counter[str]]:
        run, _ = await start(probes, cfg(vs(*(rs(f"10.0.4.{i}") for i in (1, 2, 3)))))
        bad = next(r for r in run.actor.runs.values() if r.spec.key.real_server == "10.0.4.1:80")
        bad.fsm = BrokenFsm(bad.spec.timing)
        await elapse_to(35)
        counters = Counter(run.actor.counters)
        await run.stop()
        return probes, counters

    p, counters = vrun(main(), clock=clock())
    for good in ("10.0.4.2:80", "10.0.4.3:80"):
        assert p.starts(good) == [at(0), at(10), at(20), at(30)]
    assert p.starts("10.0.4.1:80") == [at(0)]
    assert counters["errors.fire"] == 3  # retried every delay_loop: at 10, 20 and 30 s


# ---- ha_suspend ---------------------------------------------------------------------------
VRRP_STATE = {
    "instance": "VI_1", "vrid": 51, "family": "inet", "interface": "eth0",
    "state": "MASTER", "prev": "BACKUP", "priority": 100, "reason": "",
}  # fmt: skip
NETLINK_ADDR_GONE = {
    "ifname": "eth0", "ifindex": 2, "address": VIP, "family": "inet", "present": False,
    "scope": "global", "label": "eth0", "peer": None, "flags": 0, "secondary": False,
    "tentative": False,
}  # fmt: skip


def test_ha_suspend_follows_vrrp_and_netlink_events_and_the_poll(vrun: Vrun) -> None:
    probes = Probes()
    probes.script("10.0.0.2:80", Up(after=2.0))  # an attempt is in flight for 2 s
    config = cfg(vs(rs("10.0.0.2"), address=VIP, ha_suspend=True))

    async def main() -> tuple[Timeline, Probes, list[bool]]:
        run, tl = await start(probes, config)
        loop = asyncio.get_running_loop()
        (check,) = run.actor.runs.values()
        suspended = [check.fsm.suspended]
        await elapse_to(3.5)
        assert probes.attempts == []  # nothing checked while the VIP is elsewhere
        probes.local.add(VIP)
        run.publish("vrrp.state", VRRP_STATE)  # taken at once, not at the 4 s poll
        await wait_until(lambda: probes.attempts, 1, what="resumed")
        await elapse_to(4.5)
        probes.local.clear()
        run.publish("netlink.addr", NETLINK_ADDR_GONE)
        await wait_until(lambda: check.fsm.suspended, 1, what="suspended")
        suspended.append(check.fsm.suspended)
        await elapse_to(6.0)
        run.publish("vrrp.state", VRRP_STATE)
        loop.call_at(T0 + 6.1, probes.local.add, VIP)  # the address follows a moment later
        await elapse_to(7.3)
        probes.local.clear()  # gone without an event: the 1 s poll finds it
        await elapse_to(9)
        suspended.append(check.fsm.suspended)
        await run.stop()
        return tl, probes, suspended

    tl, p, suspended = vrun(main(), clock=clock())
    assert suspended == [True, True, True]
    # resumed at the event (3.5), cancelled at the next event (4.5); resumed by the second
    # look 0.2 s after an event (6.2); suspended by the poll (8.0), in flight again
    assert [(a.started, a.cancelled_at) for a in p.attempts] == [
        (at(3.5), at(4.5)),
        (at(6.2), at(8.0)),
    ]
    assert len(tl.of("check.result")) == 1  # the start verdict: suspending is no verdict


def test_ha_suspend_uses_a_real_bind_to_tell_local_addresses(vrun: Vrun) -> None:
    """The real address test (a UDP bind, no root needed): 127.0.0.1 is local, a
    TEST-NET address is not; its virtual server's checks do not run."""
    assert not address_is_local(VIP) and address_is_local("127.0.0.1")
    probes = Probes()

    class RealAddressTest(scripted_checker(probes)):  # type: ignore[misc]
        address_test = staticmethod(address_is_local)

    async def main() -> dict[str, Any]:
        config = cfg(
            vs(rs("10.0.0.2"), address=VIP, ha_suspend=True),
            vs(rs("10.0.0.3"), address="127.0.0.1", ha_suspend=True),
        )
        run = await start_shell(RealAddressTest, config, ready=is_set_up)
        await elapse_to(2)
        status: dict[str, Any] = run.actor.status()
        await run.stop()
        return status

    status = vrun(main(), clock=clock())
    assert status["ha_addresses"] == {VIP: False, "127.0.0.1": True}
    assert probes.starts("10.0.0.2:80") == [] and probes.starts("10.0.0.3:80") == [at(0)]


def test_an_address_test_that_fails_counts_and_keeps_checking(vrun: Vrun) -> None:
    probes = Probes()

    def broken(address: str) -> bool:
        raise OSError(97, "Address family not supported")

    class Broken(scripted_checker(probes)):  # type: ignore[misc]
        address_test = staticmethod(broken)

    async def main() -> int:
        run = await start_shell(
            Broken, cfg(vs(rs("10.0.0.2"), address=VIP, ha_suspend=True)), ready=is_set_up
        )
        await elapse_to(1.5)
        errors = run.actor.counters["ha_suspend.errors"]
        await run.stop()
        return errors

    assert vrun(main(), clock=clock()) == 2  # at start and at the 1 s poll
    assert probes.starts("10.0.0.2:80") == [at(0)]  # treated as local: checks run


# ---- commands, reload, stop ----------------------------------------------------------------
def test_verdicts_command_answers_every_current_verdict(vrun: Vrun) -> None:
    probes = Probes()
    probes.script("10.0.0.3:80", Down())

    async def main() -> tuple[dict[str, Any], dict[str, Any], Timeline]:
        run, tl = await start(probes, cfg(vs(rs("10.0.0.2"), rs("10.0.0.3"))))
        await wait_until(lambda: len(tl.of("check.result")) == 3, 5, what="the down verdict")
        reply = await run.command("checker.verdicts")
        bad = await run.command("bogus")
        await run.stop()
        return reply, bad, tl

    reply, bad, tl = vrun(main(), clock=clock())
    latest = {b["real_server"]: b for _, b in tl.of("check.result")}
    assert reply["ok"] is True
    assert sorted(reply["result"]["results"], key=lambda b: b["real_server"]) == [
        latest["10.0.0.2:80"],
        latest["10.0.0.3:80"],
    ]
    assert latest["10.0.0.3:80"]["up"] is False
    assert bad == {"ok": False, "error": "unknown command 'bogus' for checker"}


def test_reload_keeps_unchanged_checks_restarts_changed_ones_and_diffs_the_rest(
    vrun: Vrun,
) -> None:
    probes = Probes()
    # answers in 1.5 s: the attempt at 11.5 (10 after 1.5) is in flight at the reload
    probes.script("10.0.0.3:80", Up(after=1.5))
    keep, change, drop = rs("10.0.0.1"), rs("10.0.0.2"), rs("10.0.0.3")
    changed = rs("10.0.0.2", tcp(connect_timeout=2.0))
    add = rs("10.0.0.4")

    async def main() -> tuple[Timeline, Probes, dict[str, Any], bool]:
        run, tl = await start(probes, cfg(vs(keep, change, drop)))
        kept_key = next(k for k in run.actor.runs if k.real_server == "10.0.0.1:80")
        kept_run = run.actor.runs[kept_key]
        await elapse_to(12)
        reply = await apply(run, cfg(vs(keep, changed, add)))
        same = run.actor.runs[kept_key] is kept_run
        await elapse_to(25)
        await run.stop()
        return tl, probes, reply, same

    tl, p, reply, same = vrun(main(), clock=clock())
    assert reply == {"ok": True, "result": {"generation": 2}}
    assert same  # the kept check is the same object, its state intact
    assert p.starts("10.0.0.1:80") == [at(0), at(10), at(20)]  # its rhythm untouched
    assert p.starts("10.0.0.2:80") == [at(0), at(10), at(12), at(22)]  # cycle restarted
    dropped = p.of("10.0.0.3:80")
    assert [a.started for a in dropped] == [at(0), at(11.5)]
    assert dropped[-1].cancelled_at == at(12)  # its in-flight attempt abandoned
    assert p.starts("10.0.0.4:80") == [at(12), at(22)]
    # only the added check published (its start verdict); the kept and changed stayed quiet
    after = [(t, b["real_server"], b["reason"]) for t, b in tl.of("check.result") if t > T0]
    assert after == [(at(12), "10.0.0.4:80", "start")]


def test_a_check_added_by_a_reload_retries_before_its_down_verdict(vrun: Vrun) -> None:
    """At daemon start a first failure is decisive; for a check a reload adds, keepalived
    2.2.7 retries first (measured in the lab: three timeouts, then down)."""
    probes = Probes()
    probes.script("10.0.0.2:80", Timeout())
    probes.script("10.0.0.3:80", Timeout())
    silent = tcp(retry=2, delay_before_retry=1.0)

    async def main() -> Timeline:
        run, tl = await start(probes, cfg(vs(rs("10.0.0.2", silent))))
        await elapse_to(5)
        await apply(run, cfg(vs(rs("10.0.0.2", silent), rs("10.0.0.3", silent))))
        await elapse_to(30)
        await run.stop()
        return tl

    tl = vrun(main(), clock=clock())
    assert verdicts(tl, "10.0.0.2:80")[1] == (at(3), False, "connect timed out after 3 s")
    # added at 5: timeouts end at 8, 12 and 16; the third is the down verdict
    assert verdicts(tl, "10.0.0.3:80") == [
        (at(5), True, "start"),
        (at(16), False, "connect timed out after 3 s"),
    ]
    assert probes.starts("10.0.0.3:80")[:4] == [at(5), at(9), at(13), at(26)]


def test_reload_turning_ha_suspend_on_and_off(vrun: Vrun) -> None:
    probes = Probes()

    def config(ha: bool) -> m.Config:
        return cfg(vs(rs("10.0.0.2"), address=VIP, ha_suspend=ha))

    async def main() -> list[bool]:
        run, _ = await start(probes, config(False))
        (check,) = run.actor.runs.values()
        await elapse_to(15)
        await apply(run, config(True))
        states = [check.fsm.suspended]
        await elapse_to(45)
        await apply(run, config(False), generation=3)
        states.append(check.fsm.suspended)
        await elapse_to(50)
        await run.stop()
        return states

    assert vrun(main(), clock=clock()) == [True, False]
    # running, frozen from 15 s to 45 s, checked at once when resumed, then every 10 s
    assert probes.starts("10.0.0.2:80") == [at(0), at(10), at(45)]


@pytest.mark.parametrize("dont_release", [False, True])
def test_omega_publishes_down_at_stop_unless_dont_release_ipvs(
    vrun: Vrun, dont_release: bool
) -> None:
    probes = Probes()
    probes.script("10.0.0.2:80", Up(after=5.0))
    config = cfg(vs(rs("10.0.0.2"), omega=True), vs(rs("10.0.0.3"), address="10.0.0.9"))

    async def main() -> tuple[Timeline, Probes, int]:
        run, tl = await start(probes, config, dont_release_ipvs=dont_release)
        await elapse_to(17)  # attempts at 0 (done at 5) and 15 (in flight)
        await run.stop()
        n = len(probes.attempts)
        await elapse_to(60)  # nothing runs any more: every timer was cancelled
        assert len(probes.attempts) == n
        return tl, probes, len(run.actor.runs)

    tl, p, left = vrun(main(), clock=clock())
    results = tl.of("check.result")
    final = [(t, b["real_server"], b["up"], b["reason"]) for t, b in results if t > T0]
    if dont_release:
        assert final == []
    else:
        assert final == [(at(17), "10.0.0.2:80", False, "checker stopping (omega)")]
    assert p.of("10.0.0.2:80")[-1].cancelled_at == at(17)  # the in-flight attempt
    assert left == 0


# ---- logging and configuration errors -------------------------------------------------------
@pytest.mark.parametrize("log_all", [True, False])
def test_log_all_failures_and_keepalived_s_wording(
    vrun: Vrun, caplog: pytest.LogCaptureFixture, log_all: bool
) -> None:
    caplog.set_level(logging.INFO, logger="pykeepalived.checker")
    probes = Probes()
    probes.script("10.0.0.2:80", [Up(), Down()])  # the first attempt is decisive alone
    chk = tcp(retry=1, delay_before_retry=1.0, log_all_failures=log_all)

    async def main() -> None:
        run, tl = await start(probes, cfg(vs(rs("10.0.0.2", chk))))
        await wait_until(lambda: len(tl.of("check.result")) == 2, 15, what="down verdict")
        await run.stop()

    vrun(main(), clock=clock())
    text = caplog.text
    assert "1 checks start: 1 up, 0 down (alpha)" in text
    assert "TCP_CHECK on service [10.0.0.2]:tcp:80 failed: connection refused." in text
    assert ("failed (attempt 1 of 2): connection refused" in text) is log_all


def test_bad_checker_configuration_fails_each_attempt_with_the_reason(vrun: Vrun) -> None:
    """The real probe factory: a configuration it cannot run becomes a failing probe."""
    bad_dns = m.DnsCheck(type="WKS", delay_loop=10.0, warmup=0.0, retry=0)
    missing = m.FileCheck(track_file="nope", delay_loop=10.0)

    async def main() -> tuple[dict[str, str], int]:
        bus = InMemoryBus()
        tl = Timeline(bus, ("check.",))
        config = cfg(vs(m.RealServer(address="127.0.0.1", port=53, checkers=(bad_dns, missing))))
        run = await start_shell(ReadyChecker, config, bus=bus, ready=is_set_up)
        await wait_until(lambda: len(tl.of("check.result")) == 4, 5, what="down verdicts")
        errors = run.actor.counters["checks.config_errors"]
        await run.stop()
        return {b["checker"]: b["reason"] for _, b in tl.of("check.result") if not b["up"]}, errors

    downs, errors = vrun(main(), clock=clock())
    assert errors == 2
    assert "unsupported DNS query type 'WKS'" in downs["DNS_CHECK"]
    assert "no track_file 'nope'" in downs["FILE_CHECK"]


# ---- real probes on the virtual clock -------------------------------------------------------
def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _http_ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
    await writer.drain()
    writer.close()


async def _http_hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    await reader.read()  # no answer, until the probe gives up and closes


def test_real_tcp_and_http_probes_against_loopback_run_in_virtual_time(vrun: Vrun) -> None:
    """Real sockets, real connects and HTTP exchanges, timers on the virtual clock:
    io_grace gives the kernel a moment of real time before the clock jumps."""
    closed = _closed_port()
    url = (m.Url(path="/health"),)
    quick = {"connect_timeout": 3.0, "delay_loop": 2.0, "retry": 1, "delay_before_retry": 1.0}

    async def main() -> tuple[Timeline, str]:
        tcp_srv = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
        port = tcp_srv.sockets[0].getsockname()[1]
        ok = await asyncio.start_server(_http_ok, "127.0.0.1", 0)
        hang = await asyncio.start_server(_http_hang, "127.0.0.1", 0)
        config = cfg(vs(
            rs("127.0.0.1", tcp(**quick), port=port),
            rs("127.0.0.2", tcp(**quick), port=closed),
            rs("127.0.0.1", m.HttpGetCheck(urls=url, warmup=0.0, **quick),
               port=ok.sockets[0].getsockname()[1]),
            rs("127.0.0.1", m.HttpGetCheck(urls=url, warmup=0.0, **quick),
               port=hang.sockets[0].getsockname()[1]),
        ))  # fmt: skip
        bus = InMemoryBus()
        tl = Timeline(bus, ("check.",))
        run = await start_shell(ReadyChecker, config, bus=bus, ready=is_set_up)
        await elapse_to(5.5)  # the server at `port` is healthy until then
        tcp_srv.close()
        await tcp_srv.wait_closed()
        await elapse_to(10.5)
        tcp_srv = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", port)
        await elapse_to(12.5)
        await run.stop()
        for srv in (tcp_srv, ok, hang):
            srv.close()
        return tl, f"127.0.0.1:{port}"

    tl, up_rs = vrun(main(), clock=clock(io_grace=0.001))
    refused = f"127.0.0.2:{closed}"
    # refused at once at 0: the first attempt is decisive, down at 0
    assert verdicts(tl, refused) == [(at(0), True, "start"), (at(0), False, "connection refused")]
    # stopped at 5.5: the attempt at 6 fails, its retry at 7 too (down); while down the
    # cycle runs again: 9 and its retry 10 refused, 12 (after the restart at 10.5): up
    got = [(t, up) for t, up, _ in verdicts(tl, up_rs)]
    assert got == [(at(0), True), (at(7), False), (at(12), True)]
    http = {b["real_server"]: (t, b["up"], b["reason"]) for t, b in tl.of("check.result")}
    ok_rs = next(k for k in http if k not in (up_rs, refused) and http[k][1])
    assert http[ok_rs] == (at(0), True, "start")  # answered 200 every time: no new verdict
    hang_rs = next(k for k in http if k not in (up_rs, refused, ok_rs))
    t, up, reason = http[hang_rs]
    # the first attempt times out after 3 s and is decisive: down at 3 s, give or take
    # the probes' deadline sweep (Mux.SWEEP)
    assert not up and "timed out after 3 s" in reason
    assert T0 + 3 <= t <= T0 + 3 + Mux.SWEEP + 1e-6
