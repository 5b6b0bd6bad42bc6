"""The checker shell with real probes against real servers on loopback: the reasons real
sockets, processes and inotify give, several checkers per real server, IPv6, no leaks.

The shell runs on a real loop and the in-memory bus (tests/seams.py); every wait is on
a condition. Timing and scheduling (retries, pacing, reload, ha_suspend, omega, the
stuck-attempt sweep...) are unit-tested on the virtual clock in
tests/unit/checker/test_shell.py.
"""

from __future__ import annotations

import asyncio
import os
import select
import socket
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from pykeepalived.actors.base import Options
from pykeepalived.bus.testing import wait_until
from pykeepalived.conf import model as m
from tests.integration.checker import servers
from tests.seams import ShellRun, start_shell
from tests.unit.checker.scripted import ReadyChecker, is_set_up


def results(run: ShellRun, real_server: str | None = None) -> list[dict[str, Any]]:
    return [
        b
        for b in run.bus.bodies("check.result")
        if real_server is None or b["real_server"] == real_server
    ]


def tcp(**kw: Any) -> m.TcpCheck:
    base = {"delay_loop": 0.2, "connect_timeout": 0.5, "retry": 0, "warmup": 0.0}
    base.update(kw)
    return m.TcpCheck(**base)


def vs_config(*rss: m.RealServer, **kw: Any) -> m.Config:
    vs = m.VirtualServer(address="127.0.0.1", port=80, real_servers=rss, **kw)
    return m.Config(virtual_servers=(vs,))


async def make_actor(config: m.Config, **opts: Any) -> ShellRun:
    options = Options(runtime_dir="/nonexistent", host="testhost", **opts)
    return await start_shell(ReadyChecker, config, options=options, ready=is_set_up)


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
        shell = await make_actor(cfg)
        actor = shell.actor
        first = results(shell)
        assert [(b["real_server"], b["up"]) for b in first] == [
            (f"127.0.0.1:{port}", True),
            (f"127.0.0.2:{closed}", False),
        ]
        assert first[0] == {
            "virtual_server": "127.0.0.1:80", "protocol": "tcp",
            "real_server": f"127.0.0.1:{port}", "checker": "TCP_CHECK",
            "up": True, "reason": "start", "weight": None,
        }  # fmt: skip
        # three rounds of attempts change nothing: still one event each (alpha RS refused)
        await wait_until(lambda: actor.attempts >= 6, 5, what="three rounds of attempts")
        assert len(results(shell)) == 2
        srv.close()
        await srv.wait_closed()
        await wait_until(lambda: len(results(shell, f"127.0.0.1:{port}")) == 2, 5, what="down")
        down = results(shell, f"127.0.0.1:{port}")[-1]
        assert down["up"] is False and down["reason"] == "connection refused"
        st = actor.status()
        (vs,) = st["virtual_servers"]
        alive = {r["real_server"]: r["alive"] for r in vs["real_servers"]}
        assert alive == {f"127.0.0.1:{port}": False, f"127.0.0.2:{closed}": False}
        srv2 = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", port)
        await wait_until(lambda: len(results(shell, f"127.0.0.1:{port}")) == 3, 5, what="up")
        assert results(shell, f"127.0.0.1:{port}")[-1]["up"] is True
        await shell.stop()
        srv2.close()

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
        shell = await make_actor(vs_config(rs))
        await wait_until(lambda: len(results(shell)) >= 5, 5, what="every verdict")
        latest = {b["checker"]: b for b in results(shell)}
        assert latest["TCP_CHECK#1"]["up"] is True
        assert latest["TCP_CHECK#2"]["up"] is False
        assert latest["MISC_CHECK"]["up"] is True and latest["MISC_CHECK"]["weight"] == 7
        (vs,) = shell.actor.status()["virtual_servers"]
        assert vs["real_servers"][0]["alive"] is False
        await shell.stop()
        srv.close()

    run(main())


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
        # the first filler's handshake done, the one-slot accept queue is full
        await wait_until(lambda: select.select([], fillers[:1], [], 0)[1], 2, what="filled")
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
        shell = await make_actor(vs_config(*rss))

        def every_outcome_seen() -> bool:
            latest = {b["real_server"]: b for b in results(shell)}
            return (
                shell.actor.attempts > 40
                and latest[f"127.0.0.1:{ok_port}"]["up"] is True
                and "timed out" in latest[f"127.0.0.1:{full_port}"]["reason"]
                and "timed out" in latest[f"127.0.0.1:{hang.port}"]["reason"]
                and "reset" in latest[f"127.0.0.1:{reset.port}"]["reason"]
            )

        await wait_until(every_outcome_seen, 10, what="each outcome, over 40 attempts")
        await shell.stop()

        def attempt_tasks() -> list[asyncio.Task[Any]]:
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            return [t for t in others if "attempt" in repr(t.get_coro())]

        # cancelled probe tasks end on the loop's next turns
        await wait_until(lambda: not attempt_tasks(), 2, what="probe tasks gone")
        leaked = _open_fds() - baseline
        for s in fillers:
            s.close()
        lst.close()
        await hang.close()
        await reset.close()
        ok_srv.close()
        # the loop's own epoll mux may stay open: at most one fd more than before
        assert leaked <= 1, leaked

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
        shell = await make_actor(m.Config(virtual_servers=(vs,)))
        await wait_until(lambda: len(results(shell)) >= 3, 5, what="the down verdict")
        latest = {b["real_server"]: b for b in results(shell)}
        assert latest[f"[::1]:{port}"]["up"] is True
        assert latest[f"[::1]:{closed}"]["up"] is False
        assert latest[f"[::1]:{closed}"]["virtual_server"] == "[::1]:80"
        await shell.stop()
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
        shell = await make_actor(cfg)
        (check,) = shell.actor.runs.values()
        # the first read (at once, warmup 0) is over before the file changes
        await wait_until(lambda: check.fsm.attempts and not check.fsm.attempting, 2, what="read")
        state.write_text("1\n")  # close_write
        await wait_until(lambda: len(results(shell)) == 2, timeout=2)
        tmp = tmp_path / "rs.tmp"
        tmp.write_text("0\n")
        tmp.rename(state)  # moved into place
        await wait_until(lambda: len(results(shell)) == 3, timeout=2)
        state.unlink()
        await wait_until(lambda: len(results(shell)) == 4, timeout=2)
        await shell.stop()
        return [(b["up"], b["reason"]) for b in results(shell)]

    res = run(main())
    assert [up for up, _ in res] == [True, False, True, False]
    assert "holds 1" in res[1][1] and "cannot read" in res[3][1]


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
        await wait_until(lambda: bool(errors), timeout=2)
        assert isinstance(errors[0], ValueError)
        mux.forget(a.fileno())
        a.close()
        b.close()

    run(main())
