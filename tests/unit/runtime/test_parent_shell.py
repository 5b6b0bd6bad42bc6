"""The parent's supervision on fake children and the in-memory bus, in virtual time.

No process is forked and no ZeroMQ socket is opened: the parent's launcher and broker are
the fakes of ``fakes.py``. Watchdog intervals, kill grace and restart back-off are the
parent's own timers on the virtual clock, so a minute of supervision takes milliseconds.
"""

from __future__ import annotations

import asyncio
import signal
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pykeepalived.actors.base import EXIT_RESTART, Options
from pykeepalived.actors.parent.actor import KILL_GRACE, START_LISTEN_TIMEOUT, Parent
from pykeepalived.actors.parent.policy import START_ORDER
from pykeepalived.bus.testing import InMemoryBus, wait_until
from pykeepalived.conf.model import Config, IPAddress
from tests.unit.runtime.fakes import BusBroker, FakeLauncher

VRRP_CONFIG = Config(static_ipaddress=(IPAddress(address="192.0.2.1/32", dev="eth0"),))
CHILDREN = ("netlink", "notifier", "vrrp")


class Rig:
    """A Parent wired to a fake launcher and an in-memory broker, running on the loop."""

    def __init__(self, tmp_path: Path, config: Config = VRRP_CONFIG, **options: Any) -> None:
        self.bus = InMemoryBus()
        self.launcher = FakeLauncher(self.bus)
        opts = Options(runtime_dir=str(tmp_path / "run"), host="h", watchdog_interval=1.0,
                       config_file=str(tmp_path / "keepalived.conf"), **options)  # fmt: skip
        self.parent = Parent(opts, config)
        self.parent.launcher = self.launcher  # type: ignore[assignment]
        self.parent.broker_factory = BusBroker.factory(self.bus)
        self.ready = asyncio.Event()
        self.parent.on_ready.append(self.ready.set)
        self.task: asyncio.Task[int] | None = None

    async def start(self) -> Rig:
        self.task = asyncio.get_running_loop().create_task(self.parent.run())
        await asyncio.wait_for(self.ready.wait(), 30)
        return self

    async def stop(self) -> int:
        assert self.task is not None
        self.parent.request_stop()
        code = await asyncio.wait_for(self.task, 60)
        self.launcher.close()
        return code

    def restarts(self) -> list[dict[str, Any]]:
        return self.bus.bodies("watchdog.restart")


def test_children_start_in_order_and_answer_hello(vrun: Callable[..., Any], tmp_path: Path) -> None:
    async def main() -> Rig:
        rig = await Rig(tmp_path).start()
        assert [s[1] for s in rig.launcher.starts] == list(CHILDREN)
        assert all(c.ready for c in rig.parent.children.values())
        await asyncio.sleep(10)  # ten watchdog rounds: nobody is judged hung
        assert rig.launcher.signals == [] and rig.restarts() == []
        hellos = rig.launcher.children["vrrp"].peer.calls_of("hello")
        assert len(hellos) >= 10
        assert await rig.stop() == 0
        return rig

    rig = vrun(main())
    # an orderly stop asks each child to stop, vrrp first and the notifier last
    stops = [e.to for e in rig.bus.commands("stop")]
    assert stops == ["vrrp", "netlink", "notifier"]
    assert [name for _, name, code in rig.launcher.exits] == stops
    assert START_ORDER.index("netlink") < START_ORDER.index("vrrp")


def test_a_producer_starts_only_once_its_consumers_listen(
    vrun: Callable[..., Any], tmp_path: Path
) -> None:
    """The notifier's SUB takes 2 s to connect: vrrp (whose first event is the initial
    BACKUP the notifier must see) is started only then."""

    async def main() -> Rig:
        rig = Rig(tmp_path)
        rig.launcher.subscriptions["notifier"] = ("vrrp.", "check.", "lb.")
        rig.launcher.listen_delay["notifier"] = 2.0
        await rig.start()
        starts = {name: t for t, name, _pid, _gen in rig.launcher.starts}
        assert starts["vrrp"] - starts["notifier"] >= 2.0 - 1e-6
        assert rig.parent.children["notifier"].subscriptions == ("vrrp.", "check.", "lb.")
        assert await rig.stop() == 0
        return rig

    vrun(main())


def test_a_stop_during_start_up_starts_no_more_children(
    vrun: Callable[..., Any], tmp_path: Path
) -> None:
    async def main() -> Rig:
        rig = Rig(tmp_path)
        rig.launcher.subscriptions["notifier"] = ("vrrp.",)
        rig.launcher.listen_delay["notifier"] = 3600.0
        rig.task = asyncio.get_running_loop().create_task(rig.parent.run())
        await wait_until(lambda: rig.launcher.started("notifier"), 5, what="notifier started")
        rig.parent.request_stop()
        assert await asyncio.wait_for(rig.task, 60) == 0
        rig.launcher.close()
        return rig

    rig = vrun(main())
    assert [s[1] for s in rig.launcher.starts] == ["netlink", "notifier"]


def test_a_child_that_never_listens_does_not_hold_up_the_rest(
    vrun: Callable[..., Any], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> Rig:
        rig = Rig(tmp_path)
        rig.launcher.subscriptions["notifier"] = ("vrrp.",)
        rig.launcher.listen_delay["notifier"] = 3600.0
        await rig.start()
        starts = {name: t for t, name, _pid, _gen in rig.launcher.starts}
        assert starts["vrrp"] - starts["notifier"] == pytest.approx(START_LISTEN_TIMEOUT, abs=0.1)
        assert await rig.stop() == 0
        return rig

    vrun(main())
    assert "notifier child: not ready after 10 s" in caplog.text


def test_a_child_that_stops_answering_hello_is_killed_and_restarted(
    vrun: Callable[..., Any], tmp_path: Path
) -> None:
    async def main() -> None:
        rig = await Rig(tmp_path).start()
        old_pid = rig.launcher.pid("netlink")
        hung_at = asyncio.get_running_loop().time()
        rig.launcher.children["netlink"].hang()
        await wait_until(rig.restarts, 60, what="watchdog.restart")
        (term_at, term), (_, cont), (kill_at, kill) = rig.launcher.signals_to("netlink")
        assert (term, cont, kill) == (signal.SIGTERM, signal.SIGCONT, signal.SIGKILL)
        # silent for more than three intervals, seen at the next watchdog round
        assert 3.0 < term_at - hung_at <= 4.0 + 1e-6
        assert kill_at - term_at == pytest.approx(KILL_GRACE)  # the hung loop ignored TERM
        (restart,) = rig.restarts()
        assert restart["child"] == "netlink" and restart["old_pid"] == old_pid
        assert restart["pid"] == rig.launcher.pid("netlink") != old_pid
        assert restart["reason"].startswith("no hello reply for ")
        started = rig.launcher.started("netlink")[-1][0]
        assert started == pytest.approx(kill_at)  # the first restart waits for nothing
        assert rig.parent.counters["watchdog.kills"] == 1
        await wait_until(lambda: rig.parent.children["netlink"].ready, 5, what="ready again")
        # the other children were never touched
        assert rig.launcher.signals_to("vrrp") == [] and len(rig.launcher.started("vrrp")) == 1
        assert await rig.stop() == 0

    vrun(main())


def test_a_slow_first_hello_gets_the_startup_grace(
    vrun: Callable[..., Any], tmp_path: Path
) -> None:
    async def main() -> None:
        rig = Rig(tmp_path)
        rig.launcher.silent_from_start.add("notifier")
        task = asyncio.get_running_loop().create_task(rig.parent.run())
        rig.task = task
        await wait_until(lambda: rig.launcher.signals_to("notifier"), 60, what="a kill")
        first_signal = rig.launcher.signals_to("notifier")[0][0]
        started = rig.launcher.started("notifier")[0][0]
        assert 10.0 < first_signal - started <= 11.0 + 1e-6  # not 3 intervals: 10 s
        rig.launcher.silent_from_start.clear()
        await wait_until(rig.restarts, 10, what="restart")
        await rig.stop()

    vrun(main())


@pytest.mark.parametrize("code", [1, 2, 4])
def test_a_permanent_exit_code_stops_the_daemon_without_restart(
    vrun: Callable[..., Any], tmp_path: Path, code: int
) -> None:
    async def main() -> None:
        rig = await Rig(tmp_path).start()
        rig.launcher.children["vrrp"].exit(code)
        assert rig.task is not None
        assert await asyncio.wait_for(rig.task, 60) == code
        assert rig.restarts() == [] and len(rig.launcher.started("vrrp")) == 1
        # the others were stopped in order
        assert [e.to for e in rig.bus.commands("stop")] == ["netlink", "notifier"]
        rig.launcher.close()

    vrun(main())


def test_restart_back_off_grows_and_resets_after_a_long_run(
    vrun: Callable[..., Any], tmp_path: Path
) -> None:
    async def main() -> list[float]:
        rig = await Rig(tmp_path).start()
        for n in range(1, 8):  # crash right after every start
            rig.launcher.children["notifier"].exit(EXIT_RESTART)
            await wait_until(lambda n=n: len(rig.restarts()) == n, 120, what=f"restart {n}")
        starts = [t for t, *_ in rig.launcher.started("notifier")]
        exits = [t for t, name, _ in rig.launcher.exits if name == "notifier"]
        delays = [round(s - e, 6) for e, s in zip(exits, starts[1:], strict=True)]
        # after a run of more than a minute the back-off starts again from zero
        await asyncio.sleep(61)
        rig.launcher.children["notifier"].exit(EXIT_RESTART)
        await wait_until(lambda: len(rig.restarts()) == 8, 120, what="restart 8")
        starts = [t for t, *_ in rig.launcher.started("notifier")]
        delays.append(round(starts[-1] - rig.launcher.exits[-1][0], 6))
        assert rig.restarts()[0]["reason"] == f"child exited with status {EXIT_RESTART}"
        await rig.stop()
        return delays

    assert vrun(main()) == [0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 0.0]


def test_dont_respawn_stops_the_daemon_when_a_child_dies(
    vrun: Callable[..., Any], tmp_path: Path
) -> None:
    async def main() -> None:
        rig = await Rig(tmp_path, dont_respawn=True).start()
        rig.launcher.kill(rig.launcher.pid("netlink"), signal.SIGKILL)
        assert rig.task is not None
        assert await asyncio.wait_for(rig.task, 60) == 0
        assert rig.restarts() == []
        rig.launcher.close()

    vrun(main())


def test_a_child_that_ignores_stop_is_terminated_then_killed(
    vrun: Callable[..., Any], tmp_path: Path
) -> None:
    async def main() -> None:
        rig = await Rig(tmp_path).start()
        rig.launcher.ignore_stop["vrrp"] = True
        rig.launcher.children["vrrp"].process.ignores_term = True
        begin = asyncio.get_running_loop().time()
        assert await rig.stop() == 0
        (term_at, term), (kill_at, kill) = rig.launcher.signals_to("vrrp")
        assert (term, kill) == (signal.SIGTERM, signal.SIGKILL)
        assert term_at - begin == pytest.approx(2.5, abs=0.05)  # half of child_wait_time
        assert kill_at - begin == pytest.approx(5.0, abs=0.05)  # all of it

    vrun(main())


# ---- reload: validated by a real parse worker, applied to every child ---------------------
BAD = """\
    global_defs {
        router_id new
    }
    no_such_keyword 1
    static_ipaddress {
        192.0.2.9/32 dev eth0
    }
"""
GOOD = """\
    global_defs {
        router_id new
    }
    static_ipaddress {
        192.0.2.9/32 dev eth0
    }
"""


def test_reload_is_validated_in_a_parse_worker_and_applied_to_every_child(
    tmp_path: Path,
) -> None:
    """A real loop: the parse worker is a real process (``python -m ...parse_worker``)."""

    async def main() -> Rig:
        rig = Rig(tmp_path)
        conf = Path(rig.parent.options.config_file)
        broker = rig.parent.broker = BusBroker(rig.bus, rig.parent.counters)  # type: ignore[assignment]
        broker.hello_hook = rig.parent._on_hello_reply  # as Parent.run wires it
        serve = asyncio.get_running_loop().create_task(broker.run())
        await rig.parent._start_children()
        conf.write_text(textwrap.dedent(BAD))
        assert await rig.parent.reload() is False
        (failed,) = rig.bus.bodies("config.reload")
        assert failed["ok"] is False
        assert any("no_such_keyword" in e for e in failed["errors"]), failed
        assert rig.parent.config is VRRP_CONFIG and rig.parent.generation == 1
        assert rig.bus.commands("config.apply") == []  # the children never saw it
        conf.write_text(textwrap.dedent(GOOD))
        assert await rig.parent.reload() is True
        assert rig.bus.bodies("config.reload")[1] == {"ok": True, "errors": []}
        assert rig.parent.generation == 2
        assert rig.parent.config.global_defs.router_id == "new"
        for name in CHILDREN:
            child = rig.launcher.children[name]
            assert child.applied == [2] and child.config.global_defs.router_id == "new"
        # one child refusing the new config is reported, the others keep it
        rig.launcher.apply_error["notifier"] = "bad FIFO"
        assert await rig.parent.reload() is False
        last = rig.bus.bodies("config.reload")[-1]
        assert last == {"ok": False, "errors": ["notifier: bad FIFO"]}
        assert rig.parent.generation == 3
        serve.cancel()
        rig.launcher.close()
        return rig

    asyncio.run(asyncio.wait_for(main(), 60))
