"""The VRRP actor's shell on the in-memory bus, the virtual clock and a fake segment.

Each test runs the production ``VrrpActor`` (setup, timers, receive path, reload, stop)
with no root and no real waiting: the sockets are :mod:`pykeepalived.actors.vrrp.testing`
fakes on one in-process segment, the netlink actor is a bus peer, and the loop's clock
jumps from timer to timer, so Master_Down_Interval (3.6 s) costs microseconds and every
time asserted below is exact.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import gc
import os
import pickle
import struct
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pykeepalived.actors.base import Options
from pykeepalived.actors.vrrp import arp, fsm
from pykeepalived.actors.vrrp import packet as P
from pykeepalived.actors.vrrp.actor import Runner, VrrpActor
from pykeepalived.actors.vrrp.testing import FakeHost, Segment, Sent
from pykeepalived.bus import messages as M
from pykeepalived.bus.codec import to_wire
from pykeepalived.bus.envelope import Envelope
from pykeepalived.bus.testing import InMemoryBus, Peer, wait_until
from pykeepalived.conf.model import (
    Config,
    Family,
    GarpGroup,
    GlobalDefs,
    IPAddress,
    TrackFile,
    TrackGroup,
    TrackRef,
    VrrpInstance,
    VrrpSyncGroup,
)
from tests.seams import ShellRun

Run = Callable[..., Any]
DESIGN_STATE_KEYS = {"instance", "vrid", "family", "interface", "state", "prev", "priority",
                     "reason"}  # fmt: skip
MDI_100 = 3 + 156 / 256  # Master_Down_Interval, v2, priority 100, 1 s adverts: 3.609375 s
MDI_200 = 3 + 56 / 256


# ---- building blocks --------------------------------------------------------------------
def inst(name: str = "VI_1", vrid: int = 51, priority: int = 100, vip: str = "192.0.2.100/24",
         **kw: Any) -> VrrpInstance:  # fmt: skip
    fam = Family.INET6 if ":" in vip else Family.INET
    kw.setdefault("garp_master_delay", 0.0)
    kw.setdefault("garp_master_repeat", 1)
    kw.setdefault("family", fam)
    kw.setdefault("version", 3 if fam is Family.INET6 else 2)
    return VrrpInstance(
        name=name, interface="eth0", virtual_router_id=vrid, priority=priority,
        virtual_ipaddress=(IPAddress(address=vip, family=fam),), **kw,
    )  # fmt: skip


def config(*instances: VrrpInstance) -> Config:
    return Config(vrrp_instances=instances)


@dataclasses.dataclass
class Node:
    """One vrrp shell on its own bus, with its netlink peer and what it published."""

    host: FakeHost
    run: ShellRun
    netlink: Peer
    seen: list[tuple[float, Envelope]]  # vrrp.* events, with the loop time they came
    recorder: asyncio.Task[None]  # fills ``seen``; run_virtual cancels it at the end

    @property
    def actor(self) -> VrrpActor:
        assert isinstance(self.run.actor, VrrpActor)
        return self.run.actor

    def runner(self, name: str = "VI_1") -> Runner:
        return self.actor.runners[name]

    def states(self, name: str = "VI_1") -> list[str]:
        return [e.body["state"] for _, e in self._state_events(name)]

    def entered(self, state: str, name: str = "VI_1") -> list[tuple[float, dict[str, Any]]]:
        return [(at, e.body) for at, e in self._state_events(name) if e.body["state"] == state]

    def _state_events(self, name: str) -> list[tuple[float, Envelope]]:
        return [(at, e) for at, e in self.seen
                if e.type == "vrrp.state" and e.body["instance"] == name]  # fmt: skip

    async def wait_state(self, state: str, name: str = "VI_1", timeout: float = 30.0) -> float:
        """Wait (virtual time) until ``name`` entered ``state``; return when it did."""
        await wait_until(lambda: self.entered(state, name), timeout, what=f"{name} {state}")
        return self.entered(state, name)[-1][0]


async def start(
    host: FakeHost, cfg: Config, tmp: Path, handlers: dict[str, Any] | None = None
) -> Node:
    """Start a VrrpActor on ``host``'s sockets, as child_main would after the fork."""
    loop = asyncio.get_running_loop()
    bus = InMemoryBus()
    netlink = bus.peer("netlink", host.netlink_handlers() if handlers is None else handlers)
    tap = bus.client("tap", ("vrrp.",))
    seen: list[tuple[float, Envelope]] = []

    async def record() -> None:
        while True:
            env = await tap.recv_event()
            if env is not None:
                seen.append((loop.time(), env))

    recorder = loop.create_task(record())
    actor = VrrpActor(cfg, Options(runtime_dir=str(tmp / host.name), host=host.name))
    host.install(actor)
    actor.bus = bus.client(VrrpActor.name, VrrpActor.subscriptions, actor.counters)
    run = ShellRun(actor, bus, loop.create_task(actor._serve()))
    node = Node(host, run, netlink, seen, recorder)
    want = len(cfg.vrrp_instances)
    await wait_until(lambda: len(seen) >= want, 5, what="every instance started")
    return node


async def elapse(seconds: float) -> None:
    """Let ``seconds`` of virtual time pass (the clock jumps; no real time is spent)."""
    await asyncio.sleep(seconds)


def adverts(sent: list[Sent]) -> list[tuple[float, P.Advert]]:
    return [(s.at, P.decode_ipv4_packet(s.data).advert) for s in sent]


def advert_packet(src: str, *, vrid: int = 51, priority: int = 200, ttl: int = 255,
                  version: int = 2, interval_cs: int = 100, ident: int = 1) -> bytes:  # fmt: skip
    adv = P.Advert(version=version, vrid=vrid, priority=priority,
                   addresses=("192.0.2.100",), max_adver_int=interval_cs)  # fmt: skip
    msg = P.encode_vrrp(adv, "inet", src=src, dst=P.MCAST4)
    return P.encode_ipv4(msg, src, P.MCAST4, ident=ident, ttl=ttl)


@pytest.fixture(autouse=True)
def _process_state() -> Iterator[None]:
    """The shell tunes the whole process (gc, nice): put it back after each test."""
    threshold = gc.get_threshold()
    nice = os.getpriority(os.PRIO_PROCESS, 0)
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, 0, nice)


# ---- alone on the segment -----------------------------------------------------------------
def test_alone_a_backup_becomes_master_after_master_down_interval(
    vrun: Run, tmp_path: Path
) -> None:
    seg = Segment()
    a = seg.host("a", "192.0.2.1")

    async def main() -> tuple[Node, float]:
        node = await start(a, config(inst(garp_master_repeat=2)), tmp_path)
        t0 = node.entered("BACKUP")[0][0]
        assert node.runner().fsm.timers == {"master_down": t0 + MDI_100}
        t_master = await node.wait_state("MASTER", timeout=5)
        assert t_master - t0 == pytest.approx(MDI_100, abs=1e-9)
        await elapse(t_master + 2.5 - asyncio.get_running_loop().time())
        t_stop = asyncio.get_running_loop().time()
        await node.run.stop()  # request_stop, as SIGTERM does
        return node, t_stop

    real = time.perf_counter()
    node, t_stop = vrun(main())
    assert time.perf_counter() - real < 1.0
    [(_, backup)], [(t_master, master)] = node.entered("BACKUP"), node.entered("MASTER")
    assert set(master) == DESIGN_STATE_KEYS
    assert master == {"instance": "VI_1", "vrid": 51, "family": "inet", "interface": "eth0",
                      "state": "MASTER", "prev": "BACKUP", "priority": 100,
                      "reason": "timeout"}  # fmt: skip
    assert backup["prev"] == "INIT" and backup["reason"] == "init"
    # the VIPs reached the netlink peer, before the MASTER event went out
    first_set = node.netlink.calls_of("netlink.addresses.set")[0]
    assert first_set["owner"] == "vrrp/VI_1" and first_set["present"] is True
    assert [(x["address"], x["dev"]) for x in first_set["addresses"]] == [
        ("192.0.2.100/24", "eth0")
    ]
    log = node.run.bus.log
    first_of = {e.type if e.type != "vrrp.state" else e.body["state"]: i
                for i, e in reversed(list(enumerate(log)))}  # fmt: skip
    assert first_of["cmd.netlink.addresses.set"] < first_of["MASTER"]
    # GARP: garp_master_repeat=2 frames for the VIP, at the transition, on the fake link
    assert a.frames == [(t_master, arp.garp_frame(a.mac, "192.0.2.100"))] * 2
    # adverts: one at the transition, then every advert_int, from our address to the group
    sent = seg.sent_by("a")
    assert {(s.src, s.dst, s.protocol) for s in sent} == {("192.0.2.1", P.MCAST4, 112)}
    got = adverts(sent)
    assert [at - t_master for at, _ in got] == pytest.approx([0, 1, 2, t_stop - t_master])
    assert t_stop - t_master == pytest.approx(2.5)
    assert [adv.priority for _, adv in got] == [100, 100, 100, 0]  # the stop: priority 0
    assert {(adv.vrid, adv.addresses) for _, adv in got} == {(51, ("192.0.2.100",))}
    # the stop released the VIPs and said so
    assert node.netlink.calls_of("netlink.addresses.set")[-1]["present"] is False
    assert a.vips == set() and node.states() == ["BACKUP", "MASTER", "STOP"]
    assert a.sockets == []  # the shell closed its socket


# ---- two shells on one segment ------------------------------------------------------------
def test_two_instances_started_together_elect_the_higher_priority(
    vrun: Run, tmp_path: Path
) -> None:
    seg = Segment()
    a, b = seg.host("a", "192.0.2.1"), seg.host("b", "192.0.2.2")

    async def main() -> tuple[Node, Node]:
        na = await start(a, config(inst(priority=200)), tmp_path)
        nb = await start(b, config(inst(priority=100)), tmp_path)
        t_master = await na.wait_state("MASTER", timeout=5)
        assert t_master - na.entered("BACKUP")[0][0] == pytest.approx(MDI_200, abs=1e-9)
        await elapse(20)
        return na, nb

    na, nb = vrun(main())
    assert na.states() == ["BACKUP", "MASTER"] and nb.states() == ["BACKUP"]
    assert a.vips == {"192.0.2.100/24"} and b.vips == set()
    assert seg.sent_by("b") == []  # a backup never advertises
    rb = nb.runner()
    assert rb.counters["adverts_rx"] == len(seg.sent_by("a")) >= 20
    assert rb.fsm.master_address == "192.0.2.1"
    # the backup's down timer is always one Master_Down_Interval after the last advert
    last = seg.sent_by("a")[-1].at
    assert rb.fsm.timers == {"master_down": pytest.approx(last + MDI_100)}


def test_two_ipv6_instances_elect_over_the_segment(vrun: Run, tmp_path: Path) -> None:
    seg = Segment()
    a = seg.host("a", "192.0.2.1", address6="fe80::1")
    b = seg.host("b", "192.0.2.2", address6="fe80::2")
    vip = "2001:db8::100/64"

    async def main() -> tuple[Node, Node]:
        na = await start(a, config(inst(priority=200, vip=vip)), tmp_path)
        nb = await start(b, config(inst(priority=100, vip=vip)), tmp_path)
        await na.wait_state("MASTER", timeout=5)
        await elapse(5)
        return na, nb

    na, nb = vrun(main())
    assert na.states() == ["BACKUP", "MASTER"] and nb.states() == ["BACKUP"]
    assert na.entered("MASTER")[0][1]["family"] == "inet6"
    sent = seg.sent_by("a")
    assert {(s.family, s.src, s.dst) for s in sent} == {("inet6", "fe80::1", P.MCAST6)}
    adv, _ = P.decode_vrrp(sent[0].data, "inet6", "fe80::1", P.MCAST6, verify_checksum=False)
    assert (adv.version, adv.priority, adv.addresses) == (3, 200, ("2001:db8::100",))
    assert nb.runner().counters["adverts_rx"] == len(sent)
    assert nb.runner().fsm.master_address == "fe80::1"
    assert a.vips == {"2001:db8::100/64"} and b.vips == set()
    assert len(a.frames) == 1 and b.frames == []  # one unsolicited NA (repeat 1)


def test_a_higher_priority_joining_later_preempts_the_master(vrun: Run, tmp_path: Path) -> None:
    seg = Segment()
    a, b = seg.host("a", "192.0.2.1"), seg.host("b", "192.0.2.2")

    async def main() -> tuple[Node, Node, float]:
        nb = await start(b, config(inst(priority=100)), tmp_path)
        await nb.wait_state("MASTER", timeout=5)
        await elapse(6)
        na = await start(a, config(inst(priority=200)), tmp_path)
        t_join = na.entered("BACKUP")[0][0]
        await wait_until(lambda: nb.states()[-1] == "BACKUP", 10, what="b steps down")
        await elapse(3)
        return na, nb, t_join

    na, nb, t_join = vrun(main())
    assert nb.states() == ["BACKUP", "MASTER", "BACKUP"]
    assert na.states() == ["BACKUP", "MASTER"]
    [(t_a_master, _)], (t_b_backup, b_backup) = na.entered("MASTER"), nb.entered("BACKUP")[-1]
    # a discards b's lower-priority adverts (preempt) and takes over after its own timer;
    # b steps down on a's first advert, in the same instant
    assert t_a_master - t_join == pytest.approx(MDI_200, abs=1e-9)
    assert t_b_backup == t_a_master and b_backup["reason"] == "higher priority advert"
    assert a.vips == {"192.0.2.100/24"} and b.vips == set()
    assert nb.netlink.calls_of("netlink.addresses.set")[-1]["present"] is False
    assert all(at <= t_b_backup for at, _ in adverts(seg.sent_by("b")))
    # keepalived's stats for the exporters: b became and released master once
    rb = nb.runner().status()
    st = rb["stats"]
    assert (st["become_master"], st["release_master"]) == (1, 1)
    assert st["advert_sent"] == len(seg.sent_by("b")) > 0
    assert st["advert_rcvd"] == nb.runner().counters["adverts_rx"] > 0
    assert st["pri_zero_rcvd"] == st["pri_zero_sent"] == st["auth_failure"] == 0
    assert rb["vips"] == ["192.0.2.100/24 dev eth0 scope global"] and rb["evips"] == []
    assert rb["garp_delay"] == 0
    assert na.runner().status()["stats"]["release_master"] == 0


def test_the_master_stops_with_priority_zero_and_the_backup_takes_over_in_skew_time(
    vrun: Run, tmp_path: Path
) -> None:
    seg = Segment()
    a, b = seg.host("a", "192.0.2.1"), seg.host("b", "192.0.2.2")

    async def main() -> tuple[Node, Node, float]:
        na = await start(a, config(inst(priority=200)), tmp_path)
        nb = await start(b, config(inst(priority=100)), tmp_path)
        await na.wait_state("MASTER", timeout=5)
        await elapse(4.5)  # halfway between two adverts
        t_stop = asyncio.get_running_loop().time()
        assert (await na.run.command("stop"))["ok"] is True
        await asyncio.wait_for(na.run.task, 10)  # the stop command ends the shell
        await nb.wait_state("MASTER", timeout=5)
        await elapse(2)
        return na, nb, t_stop

    na, nb, t_stop = vrun(main())
    last_time, last = adverts(seg.sent_by("a"))[-1]
    assert last.priority == 0 and last_time == t_stop
    assert na.states() == ["BACKUP", "MASTER", "STOP"] and a.vips == set()
    t_b = nb.entered("MASTER")[0][0]
    assert t_b - t_stop == pytest.approx(fsm.skew_time(2, 100, 100), abs=1e-9)  # 0.609375 s
    assert nb.runner().counters["priority_zero_rx"] == 1
    assert b.vips == {"192.0.2.100/24"}
    assert nb.entered("MASTER")[0][1]["reason"] == "timeout"


# ---- reload ------------------------------------------------------------------------------
def test_a_reload_keeps_unchanged_instances_and_applies_a_priority_in_place(
    vrun: Run, tmp_path: Path
) -> None:
    seg = Segment()
    a = seg.host("a", "192.0.2.1")
    one = inst("VI_1", vrid=1, vip="192.0.2.101/24")
    two = inst("VI_2", vrid=2, vip="192.0.2.102/24")
    three = inst("VI_3", vrid=3, vip="192.0.2.103/24")

    async def main() -> tuple[Node, dict[str, Runner], float]:
        node = await start(a, config(one, two), tmp_path)
        await node.wait_state("MASTER", "VI_1", timeout=5)
        await node.wait_state("MASTER", "VI_2", timeout=5)
        before = dict(node.actor.runners)
        await elapse(1.5)
        t_reload = asyncio.get_running_loop().time()
        new = config(dataclasses.replace(one, priority=150), two, three)
        reply = await node.run.command(
            "config.apply", M.ConfigApply(pickle.dumps(new), 2).to_body()
        )
        assert reply["ok"] is True, reply
        await node.wait_state("MASTER", "VI_3", timeout=5)
        await elapse(2)
        return node, before, t_reload

    node, before, t_reload = vrun(main())
    runners = node.actor.runners
    assert runners["VI_1"] is before["VI_1"] and runners["VI_2"] is before["VI_2"]
    assert node.states("VI_1") == ["BACKUP", "MASTER"]
    assert node.states("VI_2") == ["BACKUP", "MASTER"]
    assert node.states("VI_3") == ["BACKUP", "MASTER"]
    assert node.actor.counters["reload.updated_in_place"] == 1
    assert node.actor.generation == 2
    assert runners["VI_1"].status()["priority"] == 150
    # VI_1's adverts carry the new priority from the first one after the reload
    by_vrid: dict[int, list[tuple[float, int]]] = {}
    for at, adv in adverts(seg.sent_by("a")):
        by_vrid.setdefault(adv.vrid, []).append((at, adv.priority))
    assert {p for at, p in by_vrid[1] if at < t_reload} == {100}
    assert {p for at, p in by_vrid[1] if at > t_reload} == {150}
    assert {p for _, p in by_vrid[2]} == {100}
    assert a.vips == {"192.0.2.101/24", "192.0.2.102/24", "192.0.2.103/24"}


def test_a_reload_that_changes_the_vrid_restarts_the_instance(vrun: Run, tmp_path: Path) -> None:
    seg = Segment()
    a = seg.host("a", "192.0.2.1")
    one = inst("VI_1", vrid=1)

    async def main() -> Node:
        node = await start(a, config(one), tmp_path)
        await node.wait_state("MASTER", timeout=5)
        moved = config(dataclasses.replace(one, virtual_router_id=9))
        apply = M.ConfigApply(pickle.dumps(moved), 2).to_body()
        assert (await node.run.command("config.apply", apply))["ok"]
        await wait_until(lambda: node.states().count("MASTER") == 2, 10, what="master again")
        return node

    node = vrun(main())
    assert node.states() == ["BACKUP", "MASTER", "STOP", "BACKUP", "MASTER"]
    assert {adv.vrid for _, adv in adverts(seg.sent_by("a"))} == {1, 9}
    assert node.runner().params.vrid == 9


# ---- bad input from the wire ---------------------------------------------------------------
def _garbage(src: str) -> list[tuple[bytes, str]]:
    """(packet, the rx_drop reason it must be counted under)."""
    good = advert_packet(src)
    bad_sum = bytearray(good)
    bad_sum[26] ^= 0xFF  # the VRRP checksum (IP header 20 bytes + offset 6)
    other_proto = bytearray(good)
    other_proto[9] = 6
    other_proto[10:12] = b"\0\0"
    other_proto[10:12] = struct.pack("!H", P.inet_checksum(bytes(other_proto[:20])))
    return [
        (b"", "truncated"),
        (b"\x45\x00\x00", "truncated"),
        (b"\x60" + bytes(59), "bad_ip_header"),
        (bytes(other_proto), "bad_protocol"),
        (bytes(bad_sum), "bad_checksum"),
        (good[:30], "bad_ip_header"),  # shorter than its IP total length
        (P.encode_ipv4(good[20:26], src, P.MCAST4, ident=2), "truncated"),
        (advert_packet(src, ttl=64), "bad_ttl"),
        (advert_packet(src, version=3), "bad_version"),
        (advert_packet(src, vrid=52), "unknown_vrid"),
        (advert_packet(src, interval_cs=200), "interval_mismatch"),
    ]


def test_malformed_packets_are_counted_and_change_nothing(vrun: Run, tmp_path: Path) -> None:
    seg = Segment()
    a = seg.host("a", "192.0.2.1")
    garbage = _garbage("192.0.2.9")

    async def main() -> Node:
        node = await start(a, config(inst()), tmp_path)
        t0 = node.entered("BACKUP")[0][0]
        for _ in range(3):
            await elapse(1)
            for data, _ in garbage:  # each would reset the down timer, were it accepted
                a.inject(data, "192.0.2.9")
            a.inject_error(OSError(errno.ENOBUFS, "No buffer space available"))
        t_master = await node.wait_state("MASTER", timeout=5)
        assert t_master - t0 == pytest.approx(MDI_100, abs=1e-9)
        for data, _ in garbage:
            a.inject(data, "192.0.2.9")
        await elapse(1)
        assert (await node.run.command("hello"))["ok"] is True
        # the receive path still works: a real higher-priority advert is obeyed
        a.inject(advert_packet("192.0.2.9", priority=250), "192.0.2.9")
        await wait_until(lambda: node.states()[-1] == "BACKUP", 1, what="obeyed")
        return node

    node = vrun(main())
    assert node.states() == ["BACKUP", "MASTER", "BACKUP"]
    counters = node.actor.counters
    want: dict[str, int] = {}
    for _, reason in garbage:
        want[f"rx_drop.{reason}"] = want.get(f"rx_drop.{reason}", 0) + 4
    assert {k: v for k, v in counters.items() if k.startswith("rx_drop.")} == want
    assert counters["rx_errors"] == 3
    assert counters["errors.rx"] == 0 and counters["errors.task"] == 0
    runner = node.runner()
    assert runner.counters["adverts_rx"] == 1  # only the real advert at the end
    # per-instance counts for the damaged packets whose VRID was readable
    assert runner.counters["rx_drop.bad_ttl"] == 4
    assert runner.counters["rx_drop.bad_checksum"] == 4


# ---- the netlink actor ----------------------------------------------------------------------
def test_addresses_set_without_an_answer_times_out_and_the_master_keeps_going(
    vrun: Run, tmp_path: Path
) -> None:
    """Today's shell: the failed request is counted and logged; the instance stays MASTER
    and sends its GARPs when the request gives up (3 s), though nothing confirmed the VIPs."""
    seg = Segment()
    a = seg.host("a", "192.0.2.1")

    async def main() -> tuple[Node, float]:
        node = await start(a, config(inst()), tmp_path, {"netlink.snapshot": a.snapshot})
        t_master = await node.wait_state("MASTER", timeout=5)
        await elapse(2.9)
        assert a.frames == [] and node.runner().counters["errors.addresses"] == 0
        await wait_until(lambda: a.frames, 1, what="GARP after the timeout")
        await elapse(1.5)
        return node, t_master

    node, t_master = vrun(main())
    assert [e.command for e in node.netlink.unanswered] == ["netlink.addresses.set"]
    assert node.runner().counters["errors.addresses"] == 1
    assert node.actor.counters["commands.timeout"] == 1
    assert [at - t_master for at, _ in a.frames] == pytest.approx([3.0])
    assert node.states() == ["BACKUP", "MASTER"]
    got = adverts(seg.sent_by("a"))
    assert [at - t_master for at, _ in got] == pytest.approx([0, 1, 2, 3, 4])
    assert a.vips == set()  # nobody installed them


def test_addresses_set_answered_with_an_error_is_counted(vrun: Run, tmp_path: Path) -> None:
    seg = Segment()
    a = seg.host("a", "192.0.2.1")

    def refuse(body: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("EPERM: operation not permitted")

    async def main() -> Node:
        handlers = {"netlink.snapshot": a.snapshot, "netlink.addresses.set": refuse}
        node = await start(a, config(inst()), tmp_path, handlers)
        await node.wait_state("MASTER", timeout=5)
        await wait_until(lambda: node.runner().counters["errors.addresses"], 1, what="error")
        return node

    node = vrun(main())
    assert node.runner().counters["errors.addresses"] == 1
    assert node.actor.counters["commands.timeout"] == 0
    assert node.states() == ["BACKUP", "MASTER"]


def test_a_tracked_interface_going_down_is_fault_and_coming_back_recovers(
    vrun: Run, tmp_path: Path
) -> None:
    seg = Segment()
    a = seg.host("a", "192.0.2.1", extra_links={"eth1": 3})
    cfg = config(inst(track_interface=(TrackRef(name="eth1"),)))

    async def main() -> tuple[Node, float, float]:
        node = await start(a, cfg, tmp_path)
        await node.wait_state("MASTER", timeout=5)
        await elapse(0.5)
        t_down = asyncio.get_running_loop().time()
        node.netlink.publish("netlink.link", a.link_body("eth1", up=False))
        await node.wait_state("FAULT", timeout=1)
        await elapse(5)  # a FAULT instance neither advertises nor takes over
        assert node.states()[-1] == "FAULT"
        t_up = asyncio.get_running_loop().time()
        node.netlink.publish("netlink.link", a.link_body("eth1", up=True))
        await wait_until(lambda: node.states().count("MASTER") == 2, 10, what="master again")
        return node, t_down, t_up

    node, t_down, t_up = vrun(main())
    assert node.states() == ["BACKUP", "MASTER", "FAULT", "BACKUP", "MASTER"]
    [(t_fault, fault)] = node.entered("FAULT")
    assert t_fault == t_down and fault["reason"] == "tracked eth1 down"
    assert fault["prev"] == "MASTER"
    sent = adverts(seg.sent_by("a"))
    assert [adv.priority for at, adv in sent if at == t_down] == [0]
    assert not [at for at, _ in sent if t_down < at < t_up + MDI_100]
    calls = node.netlink.calls_of("netlink.addresses.set")
    assert [c["present"] for c in calls] == [True, False, True]
    t_back = node.entered("BACKUP")[-1][0]
    assert t_back == t_up and node.entered("MASTER")[-1][0] - t_up == pytest.approx(MDI_100)
    assert a.vips == {"192.0.2.100/24"}


def test_a_track_file_weight_at_start_is_announced_in_init_before_the_first_state(
    vrun: Run, tmp_path: Path
) -> None:
    """keepalived applies a track_file's start-up value while the instance is in INIT and
    announces it (notify_priority_changes' first BACKUP_PRIORITY line): so do we."""
    seg = Segment()
    a = seg.host("a", "192.0.2.1")
    weights = tmp_path / "weights"
    weights.write_text("1\n")
    one = inst(priority=150, track_file=(TrackRef(name="TF"),))
    cfg = dataclasses.replace(
        config(one), track_files=(TrackFile(name="TF", file=str(weights), weight=-10),)
    )

    async def main() -> Node:
        node = await start(a, cfg, tmp_path)
        await node.wait_state("BACKUP", timeout=1)
        return node

    node = vrun(main())
    first = [(e.type, e.body) for _, e in node.seen][:2]
    assert first[0] == (
        "vrrp.priority",
        {"instance": "VI_1", "state": "INIT", "priority": 140, "prev_priority": 150},
    )
    assert first[1][0] == "vrrp.state" and first[1][1]["priority"] == 140


# ---- an address removed by another program (netlink.lost) ---------------------------------
def _delete_by_hand(host: FakeHost, node: Node, vip: IPAddress) -> None:
    """``ip addr del`` of a VIP the shell installed: the kernel loses it, netlink tells."""
    host.owned["vrrp/VI_1"].discard(vip.address)
    item = to_wire(dataclasses.replace(vip, dev="eth0"))
    key = f"addr {vip.address} eth0"
    node.netlink.publish(
        M.NetlinkLost.TYPE, M.NetlinkLost(key, "addresses", ("vrrp/VI_1",), item).to_body()
    )


def test_a_vip_removed_by_another_program_sends_priority_zero_and_the_master_wins_back(
    vrun: Run, tmp_path: Path
) -> None:
    seg = Segment()
    a, b = seg.host("a", "192.0.2.1"), seg.host("b", "192.0.2.2")
    vip = IPAddress(address="192.0.2.100/24", family=Family.INET)
    evip = IPAddress(address="192.0.2.101/24", family=Family.INET)
    cfg_a = config(inst(priority=200, virtual_ipaddress_excluded=(evip,)))

    async def main() -> tuple[Node, Node, float]:
        na = await start(a, cfg_a, tmp_path)
        nb = await start(b, config(inst(priority=100)), tmp_path)
        await na.wait_state("MASTER", timeout=5)
        await elapse(2.5)  # halfway between two adverts
        assert a.vips == {"192.0.2.100/24", "192.0.2.101/24"}
        t_del = asyncio.get_running_loop().time()
        _delete_by_hand(a, na, vip)
        await wait_until(lambda: na.states().count("MASTER") == 2, 5, what="master again")
        await elapse(3)
        return na, nb, t_del

    na, nb, t_del = vrun(main())
    skew = fsm.skew_time(2, 200, 100)  # 0.21875 s, as keepalived measured in the lab
    assert na.states() == ["BACKUP", "MASTER", "BACKUP", "MASTER"]
    (t_backup, backup), (t_master, _) = na.entered("BACKUP")[-1], na.entered("MASTER")[-1]
    assert t_backup == t_del and backup["reason"] == "address removed"
    assert backup["prev"] == "MASTER"
    assert t_master - t_del == pytest.approx(skew, abs=1e-9)
    sent = adverts(seg.sent_by("a"))
    assert [adv.priority for at, adv in sent if at == t_del] == [0]
    assert not [at for at, _ in sent if t_del < at < t_master]
    assert [adv.priority for at, adv in sent if at >= t_master][:2] == [200, 200]
    # the rest of the addresses went with the step down, all came back as master
    calls = na.netlink.calls_of("netlink.addresses.set")
    assert [c["present"] for c in calls] == [True, False, True]
    assert a.vips == {"192.0.2.100/24", "192.0.2.101/24"}
    assert na.runner().counters["lost.tracked"] == 1
    # the peer heard the priority 0, but the master's shorter skew won: it stayed backup
    assert nb.states() == ["BACKUP"] and b.vips == set()
    assert nb.runner().counters["priority_zero_rx"] == 1


def test_a_no_track_vip_removed_by_another_program_is_left_alone(vrun: Run, tmp_path: Path) -> None:
    seg = Segment()
    a = seg.host("a", "192.0.2.1")
    vip = IPAddress(address="192.0.2.100/24", family=Family.INET, no_track=True)
    other = IPAddress(address="192.0.2.102/24", family=Family.INET)
    cfg = config(dataclasses.replace(inst(), virtual_ipaddress=(vip, other)))

    async def main() -> tuple[Node, float]:
        node = await start(a, cfg, tmp_path)
        await node.wait_state("MASTER", timeout=5)
        await elapse(0.5)
        t_del = asyncio.get_running_loop().time()
        _delete_by_hand(a, node, vip)
        await wait_until(lambda: node.runner().counters["lost.untracked"] == 1, 1, what="seen")
        await elapse(5)
        return node, t_del

    node, t_del = vrun(main())
    assert node.states() == ["BACKUP", "MASTER"]
    assert [at for at, _ in adverts(seg.sent_by("a")) if at == t_del] == []
    assert [adv.priority for _, adv in adverts(seg.sent_by("a"))] == [100] * 6
    assert [c["present"] for c in node.netlink.calls_of("netlink.addresses.set")] == [True]
    assert a.vips == {"192.0.2.102/24"}  # keepalived does not put a no_track VIP back either
    assert node.runner().counters["lost.tracked"] == 0


def test_the_interface_of_a_track_group_static_item_going_down_faults_its_instances(
    vrun: Run, tmp_path: Path
) -> None:
    seg = Segment()
    a = seg.host("a", "192.0.2.1", extra_links={"eth1": 3})
    static = IPAddress(address="203.0.113.1/24", family=Family.INET, dev="eth1",
                       track_group="G1")  # fmt: skip
    cfg = Config(
        vrrp_instances=(inst("VI_1"), inst("VI_2", vrid=52, vip="192.0.2.102/24")),
        static_ipaddress=(static,),
        track_groups=(TrackGroup(name="G1", group=("VI_1",)),),
    )

    async def main() -> tuple[Node, float, float]:
        node = await start(a, cfg, tmp_path)
        await node.wait_state("MASTER", timeout=5)
        await elapse(0.5)
        t_down = asyncio.get_running_loop().time()
        node.netlink.publish("netlink.link", a.link_body("eth1", up=False))
        await node.wait_state("FAULT", timeout=1)
        await elapse(5)
        t_up = asyncio.get_running_loop().time()
        node.netlink.publish("netlink.link", a.link_body("eth1", up=True))
        await wait_until(lambda: node.states().count("MASTER") == 2, 10, what="master again")
        return node, t_down, t_up

    node, t_down, t_up = vrun(main())
    # keepalived 2.2.7: "Netlink reports eth1 down", FAULT, priority 0; up: BACKUP, MASTER
    assert node.states() == ["BACKUP", "MASTER", "FAULT", "BACKUP", "MASTER"]
    [(t_fault, fault)] = node.entered("FAULT")
    assert t_fault == t_down and fault["reason"] == "track_group G1: eth1 down"
    assert node.entered("BACKUP")[-1][0] == t_up
    assert node.entered("MASTER")[-1][0] - t_up == pytest.approx(MDI_100)
    sent = [adv for at, adv in adverts(seg.sent_by("a")) if at == t_down and adv.vrid == 51]
    assert [adv.priority for adv in sent] == [0]
    # an instance outside the group is untouched
    assert node.states("VI_2") == ["BACKUP", "MASTER"]


def test_a_sync_group_member_losing_its_vip_takes_the_group_through_a_re_election(
    vrun: Run, tmp_path: Path
) -> None:
    seg = Segment()
    a = seg.host("a", "192.0.2.1")
    one, two = inst("VI_1", priority=200), inst("VI_2", vrid=52, priority=200,
                                                 vip="192.0.2.102/24")  # fmt: skip
    cfg = Config(vrrp_instances=(one, two),
                 vrrp_sync_groups=(VrrpSyncGroup(name="G", group=("VI_1", "VI_2")),))  # fmt: skip
    vip = one.virtual_ipaddress[0]

    async def main() -> tuple[Node, float]:
        node = await start(a, cfg, tmp_path)
        await node.wait_state("MASTER", "VI_2", timeout=5)
        await elapse(1.5)
        t_del = asyncio.get_running_loop().time()
        _delete_by_hand(a, node, vip)
        await wait_until(lambda: node.states("VI_2").count("MASTER") == 2, 5, what="again")
        await elapse(1)
        return node, t_del

    node, t_del = vrun(main())
    skew = fsm.skew_time(2, 200, 100)
    for name in ("VI_1", "VI_2"):
        assert node.states(name) == ["BACKUP", "MASTER", "BACKUP", "MASTER"], name
        assert node.entered("BACKUP", name)[-1][0] == t_del
        assert node.entered("MASTER", name)[-1][0] - t_del == pytest.approx(skew, abs=1e-9)
    # keepalived 2.2.7: both members send priority 0 (the group's demotion too)
    zeros = sorted(adv.vrid for at, adv in adverts(seg.sent_by("a")) if adv.priority == 0)
    assert zeros == [51, 52]
    assert node.entered("BACKUP", "VI_2")[-1][1]["reason"] == "sync group"
    assert a.vips == {"192.0.2.100/24", "192.0.2.102/24"}


def test_garps_go_out_of_each_address_interface_from_its_mac_paced(
    vrun: Run, tmp_path: Path
) -> None:
    # the case: VIPs on eth0 and on eth1 (dev), eVIPs on both; paced as keepalived
    # paces (the plan in tests/unit/vrrp/test_garp_plan.py, observed with keepalived 2.2.7)
    seg = Segment()
    a = seg.host("a", "192.0.2.1", extra_links={"eth1": 3},
                 extra_macs={"eth1": "02:00:00:00:01:01"})  # fmt: skip
    vip = lambda address, dev=None: IPAddress(  # noqa: E731
        address=address, family=Family.INET6 if ":" in address else Family.INET, dev=dev
    )
    one = dataclasses.replace(
        inst(garp_master_repeat=3, garp_master_delay=3.0),
        virtual_ipaddress=(vip("192.0.2.100/24"), vip("198.51.100.100/24", "eth1")),
        virtual_ipaddress_excluded=(vip("198.51.100.101/24", "eth1"), vip("2001:db8::101/64")),
    )
    g = GlobalDefs(vrrp_garp_interval=0.2, vrrp_gna_interval=0.35)

    async def main() -> tuple[Node, float]:
        node = await start(a, Config(global_defs=g, vrrp_instances=(one,)), tmp_path)
        t_master = await node.wait_state("MASTER", timeout=5)
        await elapse(4)
        return node, t_master

    node, t_m = vrun(main())
    mac1 = "02:00:00:00:01:01"
    burst0 = [(0.0, arp.garp_frame(a.mac, "192.0.2.100")), (0.0, arp.na_frame(a.mac,
              "2001:db8::101")), (0.2, arp.garp_frame(a.mac, "192.0.2.100")),
              (0.35, arp.na_frame(a.mac, "2001:db8::101"))]  # fmt: skip
    burst1 = [(0.0, arp.garp_frame(mac1, "198.51.100.100")),
              (0.2, arp.garp_frame(mac1, "198.51.100.100")),
              (0.4, arp.garp_frame(mac1, "198.51.100.101"))]  # fmt: skip

    def got(ifname: str) -> list[tuple[float, bytes]]:
        return [(round(at - t_m, 6), f) for at, f in a.frames_on.get(ifname, [])]

    both = lambda burst: burst + [(round(at + 3, 6), f) for at, f in burst]  # noqa: E731
    assert got("eth0") == both(burst0)
    assert got("eth1") == both(burst1)
    assert node.runner().counters["garp_tx"] == 14
    assert set(a.frames_on) == {"eth0", "eth1"}


def test_a_garp_group_paces_its_interfaces_together(vrun: Run, tmp_path: Path) -> None:
    # keepalived 2.2.7 in the lab: garp_group { garp_interval 0.3; interfaces { eth0 eth1 } }
    # spaces GARPs on eth0 and eth1 by 0.3 s between them, in address order; NAs (no
    # gna_interval in the group, none globally) are not paced
    seg = Segment()
    a = seg.host("a", "192.0.2.1", extra_links={"eth1": 3},
                 extra_macs={"eth1": "02:00:00:00:01:01"})  # fmt: skip
    one = dataclasses.replace(
        inst(garp_master_repeat=2),
        virtual_ipaddress=(
            IPAddress(address="192.0.2.100/24"),
            IPAddress(address="198.51.100.100/24", dev="eth1"),
        ),
        virtual_ipaddress_excluded=(
            IPAddress(address="2001:db8::101/64", family=Family.INET6, dev="eth1"),
        ),
    )
    group = GarpGroup(garp_interval=0.3, interfaces=("eth0", "eth1"))
    cfg = Config(vrrp_instances=(one,), garp_groups=(group,))

    async def main() -> float:
        node = await start(a, cfg, tmp_path)
        t_master = await node.wait_state("MASTER", timeout=5)
        await elapse(2)
        return t_master

    t_m = vrun(main())
    got = {i: [(round(at - t_m, 6), f) for at, f in fs] for i, fs in a.frames_on.items()}
    assert got["eth0"] == [(0.0, arp.garp_frame(a.mac, "192.0.2.100")),
                           (0.3, arp.garp_frame(a.mac, "192.0.2.100"))]  # fmt: skip
    mac1 = "02:00:00:00:01:01"
    assert got["eth1"] == [(0.0, arp.na_frame(mac1, "2001:db8::101"))] * 2 + [
        (0.6, arp.garp_frame(mac1, "198.51.100.100"))]  # fmt: skip


def test_no_garp_or_na_on_a_noarp_interface(vrun: Run, tmp_path: Path) -> None:
    # keepalived 2.2.7 in the lab (``ip link set eth1 arp off``): nothing at all on eth1
    seg = Segment()
    a = seg.host("a", "192.0.2.1", extra_links={"eth1": 3},
                 extra_macs={"eth1": "02:00:00:00:01:01"})  # fmt: skip
    one = dataclasses.replace(
        inst(),
        virtual_ipaddress=(IPAddress(address="192.0.2.100/24"),
                           IPAddress(address="198.51.100.100/24", dev="eth1")),
        virtual_ipaddress_excluded=(
            IPAddress(address="2001:db8::101/64", family=Family.INET6, dev="eth1"),),
    )  # fmt: skip
    noarp = dataclasses.replace(a.link("eth1", up=True), flags=0x1043 | 0x80)

    async def main() -> Node:
        node = await start(a, config(one), tmp_path)
        node.netlink.publish("netlink.link", noarp.to_body())
        await node.wait_state("MASTER", timeout=5)
        await elapse(1)
        return node

    node = vrun(main())
    assert set(a.frames_on) == {"eth0"} and len(a.frames_on["eth0"]) == 1
    assert node.runner().counters["garp_skipped.noarp"] == 2


def test_a_link_send_error_is_counted_and_the_link_reopened(vrun: Run, tmp_path: Path) -> None:
    seg = Segment()
    a = seg.host("a", "192.0.2.1", extra_links={"eth1": 3},
                 extra_macs={"eth1": "02:00:00:00:01:01"}, failing_links={"eth1"})  # fmt: skip
    one = dataclasses.replace(
        inst(garp_master_delay=2.0),
        virtual_ipaddress=(IPAddress(address="192.0.2.100/24"),
                           IPAddress(address="198.51.100.100/24", dev="eth1")),
    )  # fmt: skip

    async def main() -> tuple[Node, float]:
        node = await start(a, config(one), tmp_path)
        t_master = await node.wait_state("MASTER", timeout=5)
        await elapse(1)
        a.failing_links.clear()  # the link works again before the second burst
        await elapse(2)
        return node, t_master

    node, t_m = vrun(main())
    assert [at - t_m for at, _ in a.frames_on["eth0"]] == [0.0, 2.0]
    assert [at - t_m for at, _ in a.frames_on["eth1"]] == [2.0]
    assert node.runner().counters["garp_errors"] == 1
    assert node.runner().counters["garp_tx"] == 3
    assert a.opened_links == ["eth0", "eth1", "eth1"]


def test_garp_extra_if_all_repeats_the_first_vip_of_each_other_interface(
    vrun: Run, tmp_path: Path
) -> None:
    # keepalived 2.2.7 in the lab, garp_extra_if all 2: from becoming master, every 2 s one
    # GARP for the first VIP on eth1 and one for eth2 (not eVIPs; the bursts do not move it)
    seg = Segment()
    macs = {"eth1": "02:00:00:00:01:01", "eth2": "02:00:00:00:02:01"}
    a = seg.host("a", "192.0.2.1", extra_links={"eth1": 3, "eth2": 4}, extra_macs=macs)
    one = dataclasses.replace(
        inst(garp_master_delay=3.0, garp_extra_if=2.0, garp_extra_if_all=True),
        virtual_ipaddress=(IPAddress(address="192.0.2.100/24"),
                           IPAddress(address="198.51.100.100/24", dev="eth1"),
                           IPAddress(address="198.51.100.102/24", dev="eth1"),
                           IPAddress(address="203.0.113.100/24", dev="eth2")),
        virtual_ipaddress_excluded=(IPAddress(address="198.51.100.101/24", dev="eth1"),),
    )  # fmt: skip

    async def main() -> float:
        node = await start(a, config(one), tmp_path)
        t_master = await node.wait_state("MASTER", timeout=5)
        await elapse(6.5)
        return t_master

    t_m = vrun(main())

    def got(ifname: str) -> list[tuple[float, bytes]]:
        return [(round(at - t_m, 6), f) for at, f in a.frames_on[ifname]]

    b1, b2, d = (arp.garp_frame(macs["eth1"], f"198.51.100.{n}") for n in (100, 102, 101))
    c = arp.garp_frame(macs["eth2"], "203.0.113.100")
    assert got("eth1") == [(0.0, b1), (0.0, b2), (0.0, d), (2.0, b1), (3.0, b1), (3.0, b2),
                           (3.0, d), (4.0, b1), (6.0, b1)]  # fmt: skip
    assert got("eth2") == [(0.0, c), (2.0, c), (3.0, c), (4.0, c), (6.0, c)]
    assert [at for at, _ in got("eth0")] == [0.0, 3.0]  # the instance's own: bursts only
