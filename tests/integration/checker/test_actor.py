"""The checker shell driven for real (loop, sockets, timers) with a recording bus:
start verdicts, a flapping server, several checkers per real server, reload as a
difference, ha_suspend, omega at shutdown, status()."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
import os
import select
import socket
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from pykeepalived.actors.base import Options
from pykeepalived.actors.checker.actor import CheckerActor, address_is_local
from pykeepalived.conf import model as m
from tests.integration.checker import servers


class RecordingBus:
    """Stands in for the BusClient: keeps every published envelope body."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def envelope(self, type_: str, body: dict[str, Any], **_: Any) -> tuple[str, dict[str, Any]]:
        return (type_, body)

    def send(self, env: tuple[str, dict[str, Any]]) -> bool:
        self.events.append(env)
        return True

    def results(self, real_server: str | None = None) -> list[dict[str, Any]]:
        return [
            b
            for t, b in self.events
            if t == "check.result" and (real_server is None or b["real_server"] == real_server)
        ]


def tcp(**kw: Any) -> m.TcpCheck:
    base = {"delay_loop": 0.2, "connect_timeout": 0.5, "retry": 0, "warmup": 0.0}
    base.update(kw)
    return m.TcpCheck(**base)


def vs_config(*rss: m.RealServer, **kw: Any) -> m.Config:
    vs = m.VirtualServer(address="127.0.0.1", port=80, real_servers=rss, **kw)
    return m.Config(virtual_servers=(vs,))


async def make_actor(config: m.Config, **opts: Any) -> tuple[CheckerActor, RecordingBus]:
    actor = CheckerActor(config, Options(**opts))
    bus = RecordingBus()
    actor.bus = bus  # type: ignore[assignment]
    await actor.setup()
    return actor, bus


async def wait_for(pred: Callable[[], bool], timeout: float = 5.0) -> None:
    end = asyncio.get_running_loop().time() + timeout
    while not pred():
        if asyncio.get_running_loop().time() > end:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)


async def listener() -> tuple[asyncio.Server, int]:
    srv = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    return srv, srv.sockets[0].getsockname()[1]


def test_start_verdicts_then_failure_and_recovery_with_reasons() -> None:
    async def main() -> None:
        srv, port = await listener()
        closed = servers.free_port()
        cfg = vs_config(
            m.RealServer(address="127.0.0.1", port=port, checkers=(tcp(),)),
            m.RealServer(address="127.0.0.2", port=closed, checkers=(tcp(alpha=True),)),
            m.RealServer(address="127.0.0.3", port=port),  # no checker: never published
        )
        actor, bus = await make_actor(cfg)
        first = bus.results()
        assert [(b["real_server"], b["up"]) for b in first] == [
            (f"127.0.0.1:{port}", True),
            (f"127.0.0.2:{closed}", False),
        ]
        assert first[0] == {
            "virtual_server": "127.0.0.1:80", "protocol": "tcp",
            "real_server": f"127.0.0.1:{port}", "checker": "TCP_CHECK",
            "up": True, "reason": "start", "weight": None,
        }  # fmt: skip
        await asyncio.sleep(0.6)
        # nothing changed: still one event each (alpha RS stays down, refused)
        assert len(bus.results()) == 2
        srv.close()
        await srv.wait_closed()
        await wait_for(lambda: len(bus.results(f"127.0.0.1:{port}")) == 2)
        down = bus.results(f"127.0.0.1:{port}")[-1]
        assert down["up"] is False and down["reason"] == "connection refused"
        st = actor.status()
        (vs,) = st["virtual_servers"]
        alive = {r["real_server"]: r["alive"] for r in vs["real_servers"]}
        assert alive == {f"127.0.0.1:{port}": False, f"127.0.0.2:{closed}": False}
        srv2 = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", port)
        await wait_for(lambda: len(bus.results(f"127.0.0.1:{port}")) == 3)
        assert bus.results(f"127.0.0.1:{port}")[-1]["up"] is True
        assert actor.attempts > 5
        await actor.shutdown()
        srv2.close()

    run(main())


def test_flapping_server_gives_alternating_verdicts_without_repeats() -> None:
    async def main() -> None:
        _, port = await listener()  # reserve a port number
        _.close()
        await _.wait_closed()
        rs = m.RealServer(address="127.0.0.1", port=port, checkers=(tcp(delay_loop=0.1),))
        actor, bus = await make_actor(vs_config(rs))
        for _i in range(3):
            srv = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", port)
            await asyncio.sleep(0.5)
            srv.close()
            await srv.wait_closed()
            await asyncio.sleep(0.5)
        await actor.shutdown()
        ups = [b["up"] for b in bus.results()]
        # start up, then down (nothing listening), then up/down per flap
        assert ups[:2] == [True, False]
        assert all(a != b for a, b in itertools.pairwise(ups)), ups
        assert ups.count(True) >= 4 and ups.count(False) >= 3

    run(main())


def test_retry_delays_the_down_verdict() -> None:
    async def main() -> None:
        closed = servers.free_port()
        chk = tcp(retry=2, delay_before_retry=0.3, delay_loop=5)
        rs = m.RealServer(address="127.0.0.1", port=closed, checkers=(chk,))
        actor, bus = await make_actor(vs_config(rs))
        t0 = asyncio.get_running_loop().time()
        await wait_for(lambda: len(bus.results()) == 2)
        took = asyncio.get_running_loop().time() - t0
        assert 0.55 < took < 2.0  # two retries of 0.3 s after the first failure
        assert actor.failed_attempts == 3
        await actor.shutdown()

    run(main())


def test_several_checkers_on_one_real_server_are_named_and_judged_apart() -> None:
    async def main() -> None:
        srv, port = await listener()
        closed = servers.free_port()
        rs = m.RealServer(
            address="127.0.0.1",
            port=port,
            checkers=(tcp(), tcp(connect_port=closed), m.MiscCheck(
                misc_path=m.NotifyScript(argv=("/bin/sh", "-c", "exit 9")), misc_dynamic=True,
                delay_loop=0.2, warmup=0.0)),
        )  # fmt: skip
        actor, bus = await make_actor(vs_config(rs))
        await wait_for(lambda: len(bus.results()) >= 5)
        latest = {b["checker"]: b for b in bus.results()}
        assert latest["TCP_CHECK#1"]["up"] is True
        assert latest["TCP_CHECK#2"]["up"] is False
        assert latest["MISC_CHECK"]["up"] is True and latest["MISC_CHECK"]["weight"] == 7
        (vs,) = actor.status()["virtual_servers"]
        assert vs["real_servers"][0]["alive"] is False
        await actor.shutdown()
        srv.close()

    run(main())


def test_reload_keeps_unchanged_checks_and_diffs_the_rest() -> None:
    async def main() -> None:
        srv, port = await listener()
        keep = m.RealServer(address="127.0.0.1", port=port, checkers=(tcp(delay_loop=0.3),))
        change = m.RealServer(address="127.0.0.2", port=port, checkers=(tcp(),))
        drop = m.RealServer(address="127.0.0.3", port=port, checkers=(tcp(),))
        actor, bus = await make_actor(vs_config(keep, change, drop))
        await asyncio.sleep(0.5)
        kept_run = next(r for k, r in actor.runs.items() if k.real_server.startswith("127.0.0.1"))
        attempts_before = kept_run.fsm.attempts
        n_events = len(bus.results())
        add = m.RealServer(address="127.0.0.4", port=port, checkers=(tcp(),))
        changed = dataclasses.replace(change, checkers=(tcp(connect_timeout=0.4),))
        new = vs_config(keep, changed, add)
        await actor.apply_config(new)
        actor.config = new
        assert {k.real_server.split(":")[0] for k in actor.runs} == {
            "127.0.0.1", "127.0.0.2", "127.0.0.4"
        }  # fmt: skip
        assert actor.runs[kept_run.spec.key] is kept_run  # same object, state intact
        assert kept_run.fsm.attempts >= attempts_before
        # only the added check published (its start verdict); kept/changed stayed quiet
        new_events = bus.results()[n_events:]
        assert [b["real_server"].split(":")[0] for b in new_events] == ["127.0.0.4"]
        changed_run = next(
            r for k, r in actor.runs.items() if k.real_server.startswith("127.0.0.2")
        )
        assert changed_run.spec.target.connect_timeout == 0.4
        await asyncio.sleep(0.4)
        assert kept_run.fsm.attempts > attempts_before
        await actor.shutdown()
        srv.close()

    run(main())


def test_ha_suspend_pauses_checks_while_the_address_is_not_local() -> None:
    async def main() -> None:
        srv, port = await listener()
        rs = m.RealServer(address="127.0.0.1", port=port, checkers=(tcp(),))
        absent = "192.0.2.10"  # TEST-NET-1: never configured here
        assert not address_is_local(absent)
        cfg = m.Config(virtual_servers=(
            m.VirtualServer(address=absent, port=80, ha_suspend=True, real_servers=(rs,)),
            m.VirtualServer(address="127.0.0.1", port=81, ha_suspend=True, real_servers=(rs,)),
        ))  # fmt: skip
        actor, bus = await make_actor(cfg)
        await asyncio.sleep(0.5)
        runs = {k.virtual_server: r for k, r in actor.runs.items()}
        assert runs[f"{absent}:80"].fsm.suspended and runs[f"{absent}:80"].fsm.attempts == 0
        assert not runs["127.0.0.1:81"].fsm.suspended and runs["127.0.0.1:81"].fsm.attempts >= 2
        assert len(bus.results()) == 2  # both published their start verdict
        assert actor.status()["ha_addresses"] == {absent: False, "127.0.0.1": True}
        await actor.shutdown()
        srv.close()

    run(main())


def test_omega_publishes_down_at_shutdown_unless_dont_release_ipvs() -> None:
    async def main(dont_release: bool) -> list[dict[str, Any]]:
        srv, port = await listener()
        rs = m.RealServer(address="127.0.0.1", port=port, checkers=(tcp(),))
        actor, bus = await make_actor(vs_config(rs, omega=True), dont_release_ipvs=dont_release)
        await actor.shutdown()
        srv.close()
        return bus.results()

    released = run(main(False))
    assert [b["up"] for b in released] == [True, False]
    assert released[-1]["reason"] == "checker stopping (omega)"
    kept = run(main(True))
    assert [b["up"] for b in kept] == [True]


def test_bad_checker_config_fails_each_attempt_with_the_reason() -> None:
    async def main() -> list[dict[str, Any]]:
        bad_dns = m.DnsCheck(type="WKS", delay_loop=0.2, warmup=0.0, retry=0)
        missing = m.FileCheck(track_file="nope", delay_loop=0.2)
        rs = m.RealServer(address="127.0.0.1", port=53, checkers=(bad_dns, missing))
        actor, bus = await make_actor(vs_config(rs))
        await wait_for(lambda: len(bus.results()) >= 4)
        await actor.shutdown()
        assert actor.counters["checks.config_errors"] == 2
        return bus.results()

    res = run(main())
    downs = {b["checker"]: b["reason"] for b in res if not b["up"]}
    assert "unsupported DNS query type 'WKS'" in downs["DNS_CHECK"]
    assert "no track_file 'nope'" in downs["FILE_CHECK"]


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_no_fd_or_task_leak_over_many_attempts_of_every_outcome() -> None:
    """Successes, refusals, timeouts (a full backlog), HTTP hangs and resets, over and
    over: once stopped, the process holds no more sockets than before."""

    async def main() -> None:
        ok_srv, ok_port = await listener()
        hang = servers.HttpServer(mode="hang")
        await hang.start()
        reset = servers.HttpServer(mode="reset")
        await reset.start()
        lst = socket.socket()
        lst.bind(("127.0.0.1", 0))
        lst.listen(0)
        full_port = lst.getsockname()[1]
        fillers = []
        for _ in range(3):  # fill the accept queue: later SYNs are dropped
            f = socket.socket()
            f.setblocking(False)
            f.connect_ex(("127.0.0.1", full_port))
            fillers.append(f)
        await asyncio.sleep(0.1)
        closed = servers.free_port()
        baseline = _open_fds()
        quick = {"delay_loop": 0.05, "connect_timeout": 0.15, "retry": 0, "warmup": 0.0}
        url = (m.Url(path="/"),)
        rss = [
            m.RealServer(address="127.0.0.1", port=ok_port, checkers=(m.TcpCheck(**quick),)),
            m.RealServer(address="127.0.0.2", port=closed, checkers=(m.TcpCheck(**quick),)),
            m.RealServer(address="127.0.0.1", port=full_port, checkers=(m.TcpCheck(**quick),)),
            m.RealServer(address="127.0.0.1", port=hang.port,
                         checkers=(m.HttpGetCheck(urls=url, **quick),)),
            m.RealServer(address="127.0.0.1", port=reset.port,
                         checkers=(m.HttpGetCheck(urls=url, **quick),)),
        ]  # fmt: skip
        actor, bus = await make_actor(vs_config(*rss))
        await asyncio.sleep(1.5)
        await actor.shutdown()
        await asyncio.sleep(0.1)
        assert actor.attempts > 40
        latest = {b["real_server"]: b for b in bus.results()}
        assert latest[f"127.0.0.1:{ok_port}"]["up"] is True
        assert "timed out" in latest[f"127.0.0.1:{full_port}"]["reason"]
        assert "timed out" in latest[f"127.0.0.1:{hang.port}"]["reason"]
        assert "reset" in latest[f"127.0.0.1:{reset.port}"]["reason"]
        leaked = _open_fds() - baseline
        for s in fillers:
            s.close()
        lst.close()
        await hang.close()
        await reset.close()
        ok_srv.close()
        # the loop's own epoll mux may stay open: at most one fd more than before
        assert leaked <= 1, leaked
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        assert not [t for t in others if "attempt" in repr(t.get_coro())], others

    run(main())


def test_ipv6_real_servers() -> None:
    async def main() -> None:
        srv = await asyncio.start_server(lambda r, w: w.close(), "::1", 0)
        port = srv.sockets[0].getsockname()[1]
        closed = servers.free_port()
        vs = m.VirtualServer(address="::1", port=80, real_servers=(
            m.RealServer(address="::1", port=port, checkers=(tcp(),)),
            m.RealServer(address="::1", port=closed, checkers=(tcp(),)),
        ))  # fmt: skip
        actor, bus = await make_actor(m.Config(virtual_servers=(vs,)))
        await wait_for(lambda: len(bus.results()) >= 3)
        latest = {b["real_server"]: b for b in bus.results()}
        assert latest[f"[::1]:{port}"]["up"] is True
        assert latest[f"[::1]:{closed}"]["up"] is False
        assert latest[f"[::1]:{closed}"]["virtual_server"] == "[::1]:80"
        await actor.shutdown()
        srv.close()

    run(main())


def test_file_check_reacts_to_writes_at_once(tmp_path: Path) -> None:
    """delay_loop is 30 s: every verdict after the first comes from inotify."""
    state = tmp_path / "rs.state"
    state.write_text("0\n")

    async def main() -> list[tuple[bool, Any]]:
        chk = m.FileCheck(track_file="switch", weight=0, delay_loop=30.0, warmup=0.0)
        rs = m.RealServer(address="127.0.0.1", port=80, checkers=(chk,))
        vs = m.VirtualServer(address="127.0.0.1", port=80, real_servers=(rs,))
        cfg = m.Config(virtual_servers=(vs,),
                       track_files=(m.TrackFile(name="switch", file=str(state)),))  # fmt: skip
        actor, bus = await make_actor(cfg)
        await asyncio.sleep(0.2)
        state.write_text("1\n")  # close_write
        await wait_for(lambda: len(bus.results()) == 2, timeout=2)
        tmp = tmp_path / "rs.tmp"
        tmp.write_text("0\n")
        tmp.rename(state)  # moved into place
        await wait_for(lambda: len(bus.results()) == 3, timeout=2)
        state.unlink()
        await wait_for(lambda: len(bus.results()) == 4, timeout=2)
        await actor.shutdown()
        return [(b["up"], b["reason"]) for b in bus.results()]

    res = run(main())
    assert [up for up, _ in res] == [True, False, True, False]
    assert "holds 1" in res[1][1] and "cannot read" in res[3][1]


def test_log_all_failures_and_keepalived_wording(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="pykeepalived.checker")

    async def main(log_all: bool) -> None:
        closed = servers.free_port()
        chk = tcp(retry=1, delay_before_retry=0.1, delay_loop=5, log_all_failures=log_all)
        rs = m.RealServer(address="127.0.0.1", port=closed, checkers=(chk,))
        actor, bus = await make_actor(vs_config(rs))
        await wait_for(lambda: len(bus.results()) == 2)
        await actor.shutdown()

    run(main(True))
    text = caplog.text
    assert "failed (attempt 1 of 2): connection refused" in text
    assert "TCP_CHECK on service [127.0.0.1]:tcp:" in text and "failed: connection refused." in text
    caplog.clear()
    run(main(False))
    assert "attempt 1 of 2" not in caplog.text
    assert "failed: connection refused." in caplog.text


def test_reload_turning_ha_suspend_on_and_off() -> None:
    async def main() -> None:
        srv, port = await listener()
        rs = m.RealServer(address="127.0.0.1", port=port, checkers=(tcp(),))

        def cfg(ha: bool) -> m.Config:
            vs = m.VirtualServer(address="192.0.2.20", port=80, ha_suspend=ha, real_servers=(rs,))
            return m.Config(virtual_servers=(vs,))

        actor, _bus = await make_actor(cfg(False))
        (run_,) = actor.runs.values()
        await asyncio.sleep(0.3)
        assert not run_.fsm.suspended and run_.fsm.attempts >= 1
        await actor.apply_config(cfg(True))
        actor.config = cfg(True)
        assert actor.runs[run_.spec.key] is run_ and run_.fsm.suspended
        frozen = run_.fsm.attempts
        await asyncio.sleep(0.4)
        assert run_.fsm.attempts == frozen
        await actor.apply_config(cfg(False))
        await asyncio.sleep(0.3)
        assert not run_.fsm.suspended and run_.fsm.attempts > frozen
        await actor.shutdown()
        srv.close()

    run(main())


class NeverProbe:
    """A probe with a bug: it never reports."""

    cancelled = 0

    def start(self, done: Any) -> None:
        pass

    def cancel(self) -> None:
        NeverProbe.cancelled += 1


def test_a_probe_that_never_reports_is_abandoned(monkeypatch: pytest.MonkeyPatch) -> None:
    from pykeepalived.actors.checker import actor as actor_mod

    monkeypatch.setattr(actor_mod, "STUCK_SWEEP", 0.1)
    monkeypatch.setattr(actor_mod, "STUCK_SLACK", 0.1)

    async def main() -> list[dict[str, Any]]:
        rs = m.RealServer(address="127.0.0.1", port=9, checkers=(tcp(connect_timeout=0.2),))
        actor, bus = await make_actor(vs_config(rs))
        (run_,) = actor.runs.values()
        run_.factory = NeverProbe
        await wait_for(lambda: len(bus.results()) == 2, timeout=3)
        await actor.shutdown()
        assert actor.counters["checks.stuck_attempts"] >= 1
        return bus.results()

    res = run(main())
    assert res[-1]["up"] is False and "did not finish" in res[-1]["reason"]
    assert NeverProbe.cancelled >= 1


def test_a_probe_callback_that_raises_fails_only_its_attempt() -> None:
    from pykeepalived.actors.checker.probes_net import Mux

    async def main() -> None:
        loop = asyncio.get_running_loop()
        a, b = socket.socketpair()
        errors: list[BaseException] = []

        class Buggy:
            finished = False

            def ready(self, events: int) -> None:
                raise ValueError("bug")

            def timed_out(self, token: int) -> None:
                pass

            def internal_error(self, exc: BaseException) -> None:
                errors.append(exc)

        mux = Mux.of(loop)
        mux.watch(a.fileno(), select.EPOLLOUT, Buggy())
        await wait_for(lambda: bool(errors), timeout=2)
        assert isinstance(errors[0], ValueError)
        mux.forget(a.fileno())
        a.close()
        b.close()

    run(main())


def test_a_probe_that_raises_at_start_fails_the_attempt_only() -> None:
    class Exploding:
        def start(self, done: Any) -> None:
            raise RuntimeError("boom")

        def cancel(self) -> None:
            pass

    async def main() -> list[dict[str, Any]]:
        rs = m.RealServer(address="127.0.0.1", port=9, checkers=(tcp(delay_loop=0.1),))
        actor, bus = await make_actor(vs_config(rs))
        (run_,) = actor.runs.values()
        run_.factory = Exploding
        await wait_for(lambda: len(bus.results()) == 2, timeout=3)
        await asyncio.sleep(0.3)
        assert run_.fsm.attempts >= 3  # it keeps being scheduled
        await actor.shutdown()
        return bus.results()

    res = run(main())
    assert res[-1]["up"] is False and "RuntimeError('boom')" in res[-1]["reason"]


def test_due_attempts_are_started_in_slices_leaving_the_loop_free(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A backlog of due checks must not hold the loop: hello and the bus get a turn
    after every TICK_BATCH attempts."""
    from pykeepalived.actors.checker import actor as actor_mod

    monkeypatch.setattr(actor_mod, "TICK_BATCH", 10)

    async def main() -> tuple[list[int], int]:
        srv, port = await listener()
        rss = [m.RealServer(address=f"127.0.3.{i + 1}", port=port, checkers=(tcp(delay_loop=5),))
               for i in range(100)]  # fmt: skip
        actor, _bus = await make_actor(vs_config(*rss))
        seen: list[int] = []

        def sample() -> None:  # an unrelated callback, like a hello arriving
            seen.append(sum(r.fsm.attempts for r in actor.runs.values()))
            if len(seen) < 3:
                asyncio.get_running_loop().call_soon(sample)

        asyncio.get_running_loop().call_soon(sample)  # all 100 attempts are due now
        await asyncio.sleep(0.5)
        total = sum(r.fsm.attempts for r in actor.runs.values())
        await actor.shutdown()
        srv.close()
        return seen, total

    seen, total = run(main())
    assert total == 100  # every check ran once
    # the sampler ran between slices of at most 10 attempts
    assert seen[-1] < 100 and seen == sorted(seen) and seen[-1] - seen[0] <= 30, seen


def test_verdicts_command_gives_every_current_verdict() -> None:

    async def main() -> None:
        srv, port = await listener()
        closed = servers.free_port()
        cfg = vs_config(
            m.RealServer(address="127.0.0.1", port=port, checkers=(tcp(),)),
            m.RealServer(address="127.0.0.1", port=closed, checkers=(tcp(),)),
        )
        actor, bus = await make_actor(cfg)
        await wait_for(lambda: len(bus.results()) == 3)
        reply = await actor.call_command("checker.verdicts", {})
        latest = {b["real_server"]: b for b in bus.results()}
        assert sorted(reply["result"]["results"], key=lambda b: b["real_server"]) == sorted(
            latest.values(), key=lambda b: b["real_server"]
        )
        bogus = await actor.call_command("bogus", {})
        assert bogus["ok"] is False and "unknown command" in bogus["error"]
        await actor.shutdown()
        srv.close()

    run(main())


def test_scheduler_survives_an_exception_while_starting_an_attempt() -> None:
    async def main() -> None:
        srv, port = await listener()
        rss = [m.RealServer(address=f"127.0.4.{i + 1}", port=port, checkers=(tcp(delay_loop=0.1),))
               for i in range(3)]  # fmt: skip
        actor, _bus = await make_actor(vs_config(*rss))
        bad = next(iter(actor.runs.values()))

        from pykeepalived.actors.checker.fsm import CheckFsm

        class BrokenFsm(CheckFsm):
            __slots__ = ()

            def due(self, now: float) -> bool:
                raise RuntimeError("fsm bug")

        bad.fsm = BrokenFsm(bad.spec.timing)
        await asyncio.sleep(0.5)
        good = [r for r in actor.runs.values() if r is not bad]
        assert all(r.fsm.attempts >= 3 for r in good)  # the others kept their rhythm
        assert actor.counters["errors.fire"] >= 2  # and the broken one was retried
        await actor.shutdown()
        srv.close()

    run(main())
