"""The netlink shell (Reflector and NetlinkActor) on a fake kernel table, the in-memory bus
and the virtual clock: no root, no namespace, no sleeping."""

from __future__ import annotations

import asyncio
import errno
import logging
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pykeepalived.actors.base import Options
from pykeepalived.actors.netlink.actor import LEDGER_FILE, NetlinkActor, Reflector
from pykeepalived.actors.netlink.testing import FakeKernelTable
from pykeepalived.bus import messages as M
from pykeepalived.bus.codec import to_wire
from pykeepalived.bus.testing import InMemoryBus, InMemoryPort, wait_until
from pykeepalived.conf.model import Config, Family, IPAddress, Route, Rule
from tests.seams import ShellRun, start_shell

VRRP = "vrrp/VI_1"


def vip(address: str, dev: str = "eth0", **kw: Any) -> IPAddress:
    fam = Family.INET6 if ":" in address else Family.INET
    return IPAddress(address=address, family=fam, dev=dev, **kw)


def addresses_set(owner: str, present: bool, *addrs: IPAddress, **kw: Any) -> dict[str, Any]:
    """A ``netlink.addresses.set`` body, as the VRRP actor sends it."""
    return {"owner": owner, "present": present, "addresses": [to_wire(a) for a in addrs], **kw}


async def aset(r: Reflector, body: dict[str, Any]) -> dict[str, Any]:
    """``netlink.addresses.set`` straight on a reflector, body and reply as on the wire."""
    return (await r.addresses_set(M.AddressesSet.from_body(body))).to_body()


def owned(run: ShellRun, owner: str | None = None) -> dict[str, dict[str, list[Any]]]:
    """What the reflector's ledger holds, ``{owner: {kind: [item, ...]}}``."""
    reflector = run.actor.reflector  # type: ignore[attr-defined]
    assert reflector is not None
    result: dict[str, dict[str, list[Any]]] = reflector.ledger.by_owner(owner)
    return result


async def shell(
    table: FakeKernelTable, tmp_path: Path, config: Config | None = None, **options: Any
) -> ShellRun:
    """The NetlinkActor, as child_main runs it, on ``table`` instead of the kernel."""
    cls = type("FakeKernelNetlink", (NetlinkActor,), {"kernel_driver": table})
    opts = Options(runtime_dir=str(tmp_path), host="testhost", **options)
    return await start_shell(cls, config or Config(), options=opts, ready=_ready)


def _ready(actor: Any) -> bool:
    return bool(actor._ready.is_set())


class Wired:
    """A bare Reflector whose events go to an in-memory bus port (the seams' bus)."""

    def __init__(self, table: FakeKernelTable, runtime_dir: Path, **kw: Any) -> None:
        self.bus = InMemoryBus()
        self.port: InMemoryPort = self.bus.client("netlink")
        self.counters = self.port.counters
        self.reflector = Reflector(
            emit=self._emit,
            log=logging.getLogger("pykeepalived.netlink.test"),
            count=lambda name, n=1: self.counters.update({name: n}),
            spawn=self._spawn,
            runtime_dir=runtime_dir,
            driver=table,
            **kw,
        )

    def _emit(self, msg: M.Event) -> None:
        self.port.send(self.port.envelope(msg.TYPE, msg.to_body()))

    def _spawn(self, coro: Any) -> Any:
        return asyncio.get_running_loop().create_task(coro)


def of(run: ShellRun | Wired, type_: str) -> list[dict[str, Any]]:
    return run.bus.bodies(type_)


# ---- netlink.addresses.set and the ledger --------------------------------------------------
def test_addresses_set_adds_and_removes_vips_and_answers(
    vrun: Callable[..., Any], tmp_path: Path
) -> None:
    table = FakeKernelTable()

    async def main() -> None:
        run = await shell(table, tmp_path)
        a, b = vip("192.0.2.10/32"), vip("2001:db8::10/128", nodad=True)
        reply = await run.command("netlink.addresses.set", addresses_set(VRRP, True, a, b))
        assert reply == {"ok": True, "result": {"applied": 2, "errors": []}}
        assert table.addresses("eth0") == {"192.0.2.10/32", "2001:db8::10/128"}
        # adding what is there (EEXIST in the kernel) is a success too
        again = await run.command("netlink.addresses.set", addresses_set(VRRP, True, a))
        assert again["result"] == {"applied": 1, "errors": []}
        assert owned(run, VRRP)[VRRP]["addresses"] == [to_wire(a), to_wire(b)]
        gone = await run.command("netlink.addresses.set", addresses_set(VRRP, False, a, b))
        assert gone["result"] == {"applied": 2, "errors": []}
        assert table.addresses("eth0") == set()
        assert owned(run) == {}
        # removing what is already gone is a success (EADDRNOTAVAIL)
        twice = await run.command("netlink.addresses.set", addresses_set(VRRP, False, a))
        assert twice["result"] == {"applied": 1, "errors": []}
        await run.stop()

    vrun(main())


def test_failed_requests_answer_errors_and_leave_no_record(
    vrun: Callable[..., Any], tmp_path: Path
) -> None:
    table = FakeKernelTable()

    async def main() -> None:
        run = await shell(table, tmp_path)
        table.fail("addr", "add", errno.EPERM)
        reply = await run.command(
            "netlink.addresses.set", addresses_set(VRRP, True, vip("192.0.2.1/32"))
        )
        assert reply["result"]["applied"] == 0
        assert "Operation not permitted" in reply["result"]["errors"][0]
        nodev = await run.command(
            "netlink.addresses.set", addresses_set(VRRP, True, vip("192.0.2.2/32", dev="eth9"))
        )
        assert nodev["result"]["errors"] == ["address 192.0.2.2/32: no interface 'eth9'"]
        assert owned(run) == {}
        assert run.actor.counters["errors.kernel"] == 1
        bad = await run.command("netlink.addresses.set", {"present": True})
        assert bad["ok"] is False and "missing-field owner" in bad["error"]
        assert run.actor.counters["bus.rx_invalid.cmd.netlink.addresses.set.missing-field"] == 1
        bad_item = {"owner": VRRP, "present": True, "addresses": [{"address": 5}]}
        item = await run.command("netlink.addresses.set", bad_item)
        assert item["ok"] and item["result"]["errors"] and run.actor.counters["errors.bad_item"]
        unknown = await run.command("no.such", {})
        assert unknown["ok"] is False and "unknown command" in unknown["error"]
        await run.stop()

    vrun(main())


def test_ledger_keeps_vrrp_and_static_owners_apart(
    vrun: Callable[..., Any], tmp_path: Path
) -> None:
    table = FakeKernelTable()
    shared = vip("192.0.2.20/32")
    config = Config(static_ipaddress=(shared, vip("192.0.2.21/32")))

    async def main() -> None:
        run = await shell(table, tmp_path, config)
        assert table.addresses("eth0") == {"192.0.2.20/32", "192.0.2.21/32"}
        # a VIP that is also a static address: both own it, the kernel gets it once
        reply = await run.command("netlink.addresses.set", addresses_set(VRRP, True, shared))
        assert reply["result"] == {"applied": 1, "errors": []}
        owners = owned(run)
        assert sorted(owners) == ["static", VRRP]
        assert len(owners["static"]["addresses"]) == 2
        # VRRP lets go: the static address stays in the kernel
        before = len(table.requests("addr", "del"))
        await run.command("netlink.addresses.set", addresses_set(VRRP, False, shared))
        assert len(table.requests("addr", "del")) == before
        assert "192.0.2.20/32" in table.addresses("eth0")
        owners = owned(run)
        assert sorted(owners) == ["static"]
        await run.stop()  # an orderly stop removes what the daemon installed
        assert table.addresses("eth0") == set()
        assert not (tmp_path / LEDGER_FILE).exists()

    vrun(main())


def test_dont_release_vrrp_keeps_vips_at_stop_but_not_statics(
    vrun: Callable[..., Any], tmp_path: Path
) -> None:
    table = FakeKernelTable()
    config = Config(static_ipaddress=(vip("192.0.2.30/32"),))

    async def main() -> None:
        run = await shell(table, tmp_path, config, dont_release_vrrp=True)
        await run.command("netlink.addresses.set", addresses_set(VRRP, True, vip("192.0.2.31/32")))
        await run.stop()
        assert table.addresses("eth0") == {"192.0.2.31/32"}
        assert VRRP in (tmp_path / LEDGER_FILE).read_text()

    vrun(main())


# ---- kernel changes as events --------------------------------------------------------------
def test_kernel_changes_by_another_program_are_published(
    vrun: Callable[..., Any], tmp_path: Path
) -> None:
    table = FakeKernelTable()

    async def main() -> None:
        run = await shell(table, tmp_path)
        start_links = of(run, "netlink.link")
        assert {b["ifname"] for b in start_links} == {"lo", "eth0"}
        table.add_addr("eth0", "198.51.100.7/24")
        await wait_until(lambda: of(run, "netlink.addr"), what="netlink.addr")
        added = of(run, "netlink.addr")[-1]
        assert added["address"] == "198.51.100.7/24" and added["present"] is True
        assert added["ifname"] == "eth0" and added["family"] == "inet"
        table.set_link("eth0", up=False)
        await wait_until(lambda: len(of(run, "netlink.link")) > len(start_links), what="link")
        down = of(run, "netlink.link")[-1]
        assert (down["ifname"], down["up"], down["running"]) == ("eth0", False, False)
        table.del_addr("eth0", "198.51.100.7/24")
        await wait_until(lambda: of(run, "netlink.addr")[-1]["present"] is False, what="del")
        table.add_link("eth1")
        await wait_until(lambda: of(run, "netlink.link")[-1]["ifname"] == "eth1", what="eth1")
        table.del_link("eth1")
        await wait_until(lambda: of(run, "netlink.link")[-1]["present"] is False, what="dellink")
        # an address of another program that goes away is no one's loss
        assert of(run, "netlink.lost") == []
        assert run.actor.counters["rx.RTM_NEWADDR"] == 1
        assert run.actor.counters["rx.RTM_DELLINK"] == 1
        await run.stop()

    vrun(main())


def test_snapshot_is_the_table_as_event_bodies(vrun: Callable[..., Any], tmp_path: Path) -> None:
    table = FakeKernelTable(links=("lo", "eth0", "eth1"))
    table.add_addr("eth1", "203.0.113.5/24")

    async def main() -> None:
        run = await shell(table, tmp_path)
        snap = (await run.command("netlink.snapshot", {}))["result"]
        assert [link["ifname"] for link in snap["links"]] == ["lo", "eth0", "eth1"]
        assert [(a["ifname"], a["address"]) for a in snap["addrs"]] == [("eth1", "203.0.113.5/24")]
        assert snap["links"][1] == of(run, "netlink.link")[1]  # the event bodies, exactly
        status = (await run.command("status", {}))["result"]["state"]
        assert status["links"] == 3 and status["addresses"] == 1
        await run.stop()

    vrun(main())


def test_vip_removed_by_another_program_is_reported_lost_not_restored(
    vrun: Callable[..., Any], tmp_path: Path
) -> None:
    table = FakeKernelTable()
    v = vip("192.0.2.40/32")

    async def main() -> None:
        run = await shell(table, tmp_path)
        await run.command("netlink.addresses.set", addresses_set(VRRP, True, v))
        adds = len(table.requests("addr", "add"))
        table.del_addr("eth0", "192.0.2.40/32")
        await wait_until(lambda: of(run, "netlink.lost"), what="netlink.lost")
        assert of(run, "netlink.lost") == [
            {"key": "addr inet eth0 192.0.2.40/32", "kind": "addresses", "owners": [VRRP],
             "item": to_wire(v)}
        ]  # fmt: skip
        await asyncio.sleep(1.0)  # virtual time: a restore, if any, would have run by now
        assert len(table.requests("addr", "add")) == adds  # the owner decides, not netlink
        assert "192.0.2.40/32" not in table.addresses("eth0")
        assert run.actor.counters["netlink.removed_externally"] == 1
        await run.stop()

    vrun(main())


def test_static_items_removed_by_another_program_are_put_back(
    vrun: Callable[..., Any], tmp_path: Path
) -> None:
    table = FakeKernelTable()
    config = Config(
        static_ipaddress=(vip("192.0.2.50/32"),),
        static_routes=(Route(dest="198.51.100.0/24", via="192.0.2.1", dev="eth0"),),
        static_rules=(Rule(from_="10.0.0.0/8", table="100", priority=100),),
    )

    async def main() -> None:
        run = await shell(table, tmp_path, config)
        route_key, rule_key = next(iter(table.routes)), next(iter(table.rules))
        assert route_key == "route inet table 254 198.51.100.0/24 metric 0"
        assert rule_key == "rule inet pref 100 from 10.0.0.0/8 table 100"
        table.del_addr("eth0", "192.0.2.50/32")
        table.del_route(route_key)
        table.del_rule(rule_key)
        reflector = run.actor.reflector
        assert reflector is not None
        await wait_until(lambda: reflector.restored >= 3, what="three restored")
        assert table.addresses("eth0") == {"192.0.2.50/32"}
        assert list(table.routes) == [route_key] and list(table.rules) == [rule_key]
        assert of(run, "netlink.lost") == []  # static items have no owner to tell
        # a link taken down loses its routes silently: they come back with the link
        table.set_link("eth0", up=False)
        await wait_until(lambda: not of(run, "netlink.link")[-1]["up"], what="down")
        assert table.routes == {}
        table.set_link("eth0", up=True)
        await wait_until(lambda: list(table.routes) == [route_key], what="route back")
        await run.stop()

    vrun(main())


def test_static_item_of_a_track_group_is_reported_lost_and_restored(
    vrun: Callable[..., Any], tmp_path: Path
) -> None:
    table = FakeKernelTable(links=("lo", "eth0", "eth1"))
    config = Config(static_ipaddress=(vip("192.0.2.60/32", dev="eth1", track_group="TG"),))

    async def main() -> None:
        run = await shell(table, tmp_path, config)
        assert table.addresses("eth1") == {"192.0.2.60/32"}
        table.del_link("eth1")  # its addresses go with it; it cannot be put back
        await wait_until(lambda: of(run, "netlink.static_lost"), what="static_lost")
        lost = of(run, "netlink.static_lost")
        assert [(b["key"], b["track_group"]) for b in lost] == [
            ("addr inet eth1 192.0.2.60/32", "TG")
        ]
        assert "no interface 'eth1'" in lost[0]["error"]
        table.add_link("eth1")
        await wait_until(lambda: of(run, "netlink.static_restored"), what="static_restored")
        assert table.addresses("eth1") == {"192.0.2.60/32"}
        assert of(run, "netlink.static_restored")[0]["track_group"] == "TG"
        assert len(of(run, "netlink.static_lost")) == 1
        await run.stop()

    vrun(main())


# ---- overflow and resync -------------------------------------------------------------------
def test_enobufs_resyncs_from_a_dump_and_reports_what_was_missed(
    vrun: Callable[..., Any], tmp_path: Path
) -> None:
    table = FakeKernelTable()

    async def main() -> None:
        run = await shell(table, tmp_path)
        await run.command("netlink.addresses.set", addresses_set(VRRP, True, vip("192.0.2.70/32")))
        mark = len(of(run, "netlink.addr"))
        opened = table.opened
        table.overflow()  # what was queued is lost, and so is what happens until the read
        table.add_addr("eth0", "198.51.100.70/24")
        table.monitors.clear()  # (the overflowed socket hears nothing more)
        table.del_addr("eth0", "192.0.2.70/32")
        await wait_until(lambda: of(run, "netlink.resync"), what="netlink.resync")
        assert of(run, "netlink.resync") == [{"reason": "overflow", "changes": 2}]
        assert table.opened == opened + 1  # a fresh monitor socket, bound before the dump
        missed = [(b["address"], b["present"]) for b in of(run, "netlink.addr")[mark:]]
        assert sorted(missed) == [("192.0.2.70/32", False), ("198.51.100.70/24", True)]
        assert of(run, "netlink.lost")[0]["key"] == "addr inet eth0 192.0.2.70/32"
        assert run.actor.counters["netlink.enobufs"] == 1
        # and it is reading again
        table.add_addr("eth0", "198.51.100.71/24")
        await wait_until(lambda: of(run, "netlink.addr")[-1]["address"] == "198.51.100.71/24")
        assert (await run.command("status", {}))["result"]["state"]["resyncs"] == 1
        await run.stop()

    vrun(main())


def test_a_failing_resync_dump_is_retried(vrun: Callable[..., Any], tmp_path: Path) -> None:
    table = FakeKernelTable()

    async def main() -> float:
        wired = Wired(table, tmp_path)
        await wired.reflector.start({})
        table.fail("dump", "links", errno.EBUSY, times=2)
        table.overflow()
        start = asyncio.get_running_loop().time()
        await wait_until(lambda: of(wired, "netlink.resync"), 10, what="resync")
        assert wired.counters["errors.resync"] == 2
        took = asyncio.get_running_loop().time() - start
        wired.reflector.close()
        return took

    assert vrun(main()) == pytest.approx(1.0, abs=0.05)  # two retries, 0.5 s apart


# ---- reload and restart ------------------------------------------------------------------
def test_reload_applies_static_items_as_a_difference(
    vrun: Callable[..., Any], tmp_path: Path
) -> None:
    table = FakeKernelTable()
    kept, dropped, added = vip("192.0.2.80/32"), vip("192.0.2.81/32"), vip("192.0.2.82/32")

    async def main() -> None:
        run = await shell(table, tmp_path, Config(static_ipaddress=(kept, dropped)))
        assert table.addresses("eth0") == {"192.0.2.80/32", "192.0.2.81/32"}
        mark = len(table.log)
        new = Config(static_ipaddress=(kept, added))
        reply = await run.command("config.apply", {"config": pickle.dumps(new), "generation": 2})
        assert reply == {"ok": True, "result": {"generation": 2}}
        assert table.addresses("eth0") == {"192.0.2.80/32", "192.0.2.82/32"}
        changes = [(w, c, r["address"]) for w, c, r in table.log[mark:] if c != "add" or
                   r["address"] != "192.0.2.80"]  # fmt: skip
        assert changes == [("addr", "add", "192.0.2.82"), ("addr", "del", "192.0.2.81")]
        deleted = [b["address"] for b in of(run, "netlink.addr") if not b["present"]]
        assert deleted == ["192.0.2.81/32"]  # the kept address never flapped
        await run.stop()

    vrun(main())


def test_a_restarted_reflector_resumes_without_touching_the_kernel(
    vrun: Callable[..., Any], tmp_path: Path
) -> None:
    table = FakeKernelTable()
    v = vip("192.0.2.90/32")

    async def main() -> None:
        first = Wired(table, tmp_path)
        await first.reflector.start({"addresses": [vip("192.0.2.91/32")]})
        await aset(first.reflector, addresses_set(VRRP, True, v))
        first.reflector.close()  # a crash: nothing removed
        mark = len(table.log)
        second = Wired(table, tmp_path)
        await second.reflector.start({"addresses": [vip("192.0.2.91/32")]})
        # the address requests of the new start found everything in place (EEXIST)
        assert {r["address"] for r in table.requests("addr")[mark:]} <= {"192.0.2.91"}
        assert table.requests("addr", "del")[mark:] == []
        assert second.reflector.ledger.by_owner(VRRP)[VRRP]["addresses"] == [to_wire(v)]
        assert of(second, "netlink.lost") == []
        second.reflector.close()

    vrun(main())


def test_a_vip_gone_while_the_reflector_was_down_is_lost_at_start(
    vrun: Callable[..., Any], tmp_path: Path
) -> None:
    table = FakeKernelTable()

    async def main() -> None:
        first = Wired(table, tmp_path)
        await first.reflector.start({})
        await aset(first.reflector, addresses_set(VRRP, True, vip("192.0.2.95/32")))
        first.reflector.close()
        table.del_addr("eth0", "192.0.2.95/32")
        second = Wired(table, tmp_path)
        await second.reflector.start({})
        assert [b["owners"] for b in of(second, "netlink.lost")] == [[VRRP]]
        second.reflector.close()

    vrun(main())
