"""The reflector in a namespace: events, static items kept, overflow recovery, restarts."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import time
from typing import Any

import pytest

from pykeepalived.actors.netlink.actor import LEDGER_FILE
from pykeepalived.bus import messages as M
from pykeepalived.bus.codec import to_wire
from pykeepalived.conf.model import Family, IPAddress, Route, Rule
from tests.integration.netlink.harness import Harness, aset, run

pytestmark = pytest.mark.netns


def vip(address: str, dev: str = "eth0", **kw: Any) -> IPAddress:
    fam = Family.INET6 if ":" in address else Family.INET
    return IPAddress(address=address, family=fam, dev=dev, **kw)


def test_link_down_up_events_in_order(harness: Harness) -> None:
    h = harness

    async def body() -> None:
        r = h.reflector()
        await r.start({})
        start = len(h.events)
        h.ip("link", "set", "eth0", "down")
        await h.until(lambda: any(not b["up"] for b in h.of("netlink.link")))
        h.ip("link", "set", "eth0", "up")
        await h.until(
            lambda: h.of("netlink.link")[-1]["up"] and h.of("netlink.link")[-1]["running"]
        )
        seq = [(b["up"], b["running"]) for t, b in h.events[start:] if t == "netlink.link"]
        assert seq[0] == (False, False)
        assert seq[-1] == (True, True)
        first_up = next(i for i, s in enumerate(seq) if s[0])
        assert all(not s[0] for s in seq[:first_up])
        # carrier loss (the switch side goes down): up stays, running drops and returns
        mark = len(h.events)
        h.host.cut_link()
        await h.until(lambda: not h.of("netlink.link")[-1]["running"])
        h.host.restore_link()
        await h.until(lambda: h.of("netlink.link")[-1]["running"])
        carrier = [(b["up"], b["running"]) for t, b in h.events[mark:] if t == "netlink.link"]
        assert carrier[0] == (True, False) and carrier[-1] == (True, True)
        # another program's address changes are reflected
        h.ip("addr", "add", f"{h.host.lab.vip(77)}/32", "dev", "eth0")
        await h.until(
            lambda: any(b["address"] == f"{h.host.lab.vip(77)}/32" for b in h.of("netlink.addr"))
        )
        h.ip("addr", "del", f"{h.host.lab.vip(77)}/32", "dev", "eth0")
        await h.until(lambda: h.of("netlink.addr")[-1]["present"] is False)
        body_ = h.of("netlink.addr")[-1]
        assert body_["ifname"] == "eth0" and body_["family"] == "inet"
        snap = r.snapshot()
        assert "eth0" in {link.ifname for link in snap.links}
        assert f"{h.host.ipv4}/24" in {a.address for a in snap.addrs}
        await r.stop()

    run(body())


def test_static_items_applied_at_start_and_put_back(harness: Harness, caplog: Any) -> None:
    h = harness
    lab = h.host.lab
    gw = lab.hosts["b"].ipv4
    static = {
        "addresses": [vip(f"{lab.vip(50)}/32"), vip(f"{lab.vip6(0x50)}/128", nodad=True)],
        "routes": [Route(dest="198.51.100.0/24", via=gw, dev="eth0")],
        "rules": [Rule(from_="10.0.0.0/8", table="100", priority=100)],
    }

    async def body() -> None:
        r = h.reflector()
        await r.start(static)
        assert f"{lab.vip(50)}/32" in h.ip("-o", "addr", "show", "dev", "eth0")
        caplog.set_level(logging.INFO, logger="pykeepalived.netlink.test")
        h.ip("addr", "del", f"{lab.vip(50)}/32", "dev", "eth0")
        h.ip("-6", "addr", "del", f"{lab.vip6(0x50)}/128", "dev", "eth0")
        h.ip("route", "del", "198.51.100.0/24")
        h.ip("rule", "del", "pref", "100")
        await h.until(lambda: r.restored >= 4)
        assert f"{lab.vip(50)}/32" in h.ip("-o", "addr", "show", "dev", "eth0")
        assert f"{lab.vip6(0x50)}/128" in h.ip("-o", "addr", "show", "dev", "eth0")
        assert "198.51.100.0/24" in h.ip("route", "show")
        assert "100:\tfrom 10.0.0.0/8 lookup 100" in h.ip("rule", "show")
        assert "removed by another program: putting it back" in caplog.text
        # a link taken down loses its routes: they come back with the link
        h.ip("link", "set", "eth0", "down")
        await h.until(lambda: "198.51.100.0/24" not in h.ip("route", "show"))
        h.ip("link", "set", "eth0", "up")
        await h.until(lambda: "198.51.100.0/24" in h.ip("route", "show"))
        # a reload that drops an item removes it, keeps the rest
        reduced = {**static, "routes": []}
        result = await r.apply_static(reduced)
        assert result.errors == ()
        assert "198.51.100.0/24" not in h.ip("route", "show")
        assert f"{lab.vip(50)}/32" in h.ip("-o", "addr", "show", "dev", "eth0")
        await r.stop()
        # static items leave with the daemon
        assert f"{lab.vip(50)}/32" not in h.ip("-o", "addr", "show", "dev", "eth0")
        assert "from 10.0.0.0/8" not in h.ip("rule", "show")
        assert not (h.runtime_dir / LEDGER_FILE).exists()

    run(body())


def test_vip_lost_is_reported_not_restored(harness: Harness) -> None:
    h = harness
    v = f"{h.host.lab.vip(60)}/32"

    async def body() -> None:
        r = h.reflector()
        await r.start({})
        reply = await aset(
            r, {"owner": "vrrp/VI_1", "present": True, "addresses": [to_wire(vip(v))]}
        )
        assert reply["errors"] == []
        h.ip("addr", "del", v, "dev", "eth0")
        await h.until(lambda: bool(h.of("netlink.lost")))
        lost = h.of("netlink.lost")[0]
        assert lost["owners"] == ["vrrp/VI_1"] and lost["kind"] == "addresses"
        assert lost["item"]["address"] == v
        await asyncio.sleep(0.1)
        assert v not in h.ip("-o", "addr", "show", "dev", "eth0")
        await r.stop()

    run(body())


def test_shared_item_stays_until_last_owner_releases(harness: Harness) -> None:
    h = harness
    item = to_wire(vip(f"{h.host.lab.vip(61)}/32"))

    async def body() -> None:
        r = h.reflector()
        await r.start({})
        for owner in ("vrrp/VI_1", "vrrp/VI_2"):
            await aset(r, {"owner": owner, "present": True, "addresses": [item]})
        await aset(r, {"owner": "vrrp/VI_1", "present": False, "addresses": [item]})
        assert item["address"] in h.ip("-o", "addr", "show", "dev", "eth0")
        assert (
            r.ledger.by_owner("vrrp/VI_2")["vrrp/VI_2"]["addresses"][0]["address"]
            == (item["address"])
        )
        await aset(r, {"owner": "vrrp/VI_2", "present": False, "addresses": [item]})
        assert item["address"] not in h.ip("-o", "addr", "show", "dev", "eth0")
        await r.stop()

    run(body())


def test_bad_items_are_refused_with_reasons(harness: Harness) -> None:
    h = harness

    async def body() -> None:
        r = h.reflector()
        await r.start({})
        reply = await aset(
            r,
            {
                "owner": "vrrp/VI_1",
                "present": True,
                "addresses": [
                    {"address": "not-an-ip/32", "dev": "eth0"},
                    to_wire(vip(f"{h.host.lab.vip(62)}/32", dev="nosuch0")),
                    "junk",
                    to_wire(vip(f"{h.host.lab.vip(63)}/32")),
                ],
            },
        )
        assert reply["applied"] == 1
        text = "\n".join(reply["errors"])
        assert "not-an-ip" in text and "nosuch0" in text and "not a map" in text
        assert h.counters["errors.bad_item"] == 2  # the address and the junk: no kernel call
        # a list that is not a list is a malformed command: refused before the reflector
        with pytest.raises(M.InvalidBody, match="bad-type routes"):
            await aset(r, {"owner": "vrrp/VI_1", "present": True, "routes": {"oops": 1}})
        assert r.ledger.by_owner()["vrrp/VI_1"]["addresses"][0]["dev"] == "eth0"
        await r.stop()

    run(body())


def test_enobufs_overflow_is_recovered_by_a_resync(harness: Harness) -> None:
    """Flood the monitor while the loop is blocked; the table must end up exact."""
    h = harness
    n = 400
    batch = h.runtime_dir / "flood.batch"
    batch.write_text(
        "".join(f"addr add 10.250.{i // 200}.{i % 200 + 1}/32 dev eth0\n" for i in range(n))
    )

    async def body() -> None:
        r = h.reflector(rcvbuf=4096)
        await r.start({})
        # the actor "sleeps": nothing reads the socket while another process floods it
        subprocess.run(["ip", "-batch", str(batch)], check=True)
        time.sleep(0.2)
        await h.until(lambda: r.resyncs >= 1, timeout=10)
        await h.until(lambda: r.table.address_count() >= n, timeout=10)
        assert h.counters["netlink.enobufs"] >= 1
        assert h.of("netlink.resync")[0]["reason"] == "overflow"
        kernel = {line.split()[3] for line in h.ip("-o", "-4", "addr", "show").splitlines()}
        table = {a.address for a in r.table.addresses() if a.family == "inet"}
        assert table == kernel
        # and the monitor works again afterwards
        h.ip("addr", "del", "10.250.0.1/32", "dev", "eth0")
        await h.until(lambda: "10.250.0.1/32" not in {a.address for a in r.table.addresses()})
        await r.stop()

    run(body(), timeout=30)


def test_restart_resumes_without_touching_installed_items(harness: Harness) -> None:
    """A crash (no orderly stop) and a new reflector: VIPs and statics stay, nothing flaps."""
    h = harness
    lab = h.host.lab
    vip_item = to_wire(vip(f"{lab.vip(70)}/32"))
    static = {"addresses": [vip(f"{lab.vip(71)}/32")]}

    async def body() -> None:
        first = h.reflector()
        await first.start(static)
        await aset(first, {"owner": "vrrp/VI_1", "present": True, "addresses": [vip_item]})
        await asyncio.sleep(0)  # let the ledger be written
        first.close()  # as if killed: no release
        watch = subprocess.Popen(
            ["ip", "-n", h.host.netns, "monitor", "address"], stdout=subprocess.PIPE, text=True
        )
        try:
            await asyncio.sleep(0.2)
            second = h.reflector()
            await second.start(static)
            await asyncio.sleep(0.3)
        finally:
            watch.terminate()
            out, _ = watch.communicate(timeout=5)
        assert "Deleted" not in out, out
        assert second.ledger.by_owner("vrrp/VI_1")["vrrp/VI_1"]["addresses"] == [vip_item]
        addrs = h.ip("-o", "addr", "show", "dev", "eth0")
        assert lab.vip(70) in addrs and lab.vip(71) in addrs
        assert h.counters.get("netlink.removed_externally", 0) == 0
        await second.stop()
        assert lab.vip(70) not in h.ip("-o", "addr", "show", "dev", "eth0")

    run(body())


def test_dont_release_vrrp_keeps_vips_but_not_statics(harness: Harness) -> None:
    h = harness
    lab = h.host.lab

    async def body() -> None:
        r = h.reflector(dont_release_vrrp=True)
        await r.start({"addresses": [vip(f"{lab.vip(80)}/32")]})
        await aset(
            r,
            {
                "owner": "vrrp/VI_1",
                "present": True,
                "addresses": [to_wire(vip(f"{lab.vip(81)}/32"))],
            },
        )
        await r.stop()
        addrs = h.ip("-o", "addr", "show", "dev", "eth0")
        assert lab.vip(81) in addrs and lab.vip(80) not in addrs
        assert "vrrp/VI_1" in (h.runtime_dir / LEDGER_FILE).read_text()
        # the next start knows the VIP is the daemon's
        again = h.reflector()
        await again.start({})
        assert again.ledger.by_owner()["vrrp/VI_1"]["addresses"][0]["address"].startswith(
            lab.vip(81)
        )
        await again.stop()
        assert lab.vip(81) not in h.ip("-o", "addr", "show", "dev", "eth0")

    run(body())


def test_address_monitoring_logs_like_keepalived(harness: Harness, caplog: Any) -> None:
    h = harness
    v = h.host.lab.vip(90)

    async def body() -> None:
        caplog.set_level(logging.INFO, logger="pykeepalived.netlink.test")
        r = h.reflector(address_monitoring=True)
        await r.start({})
        h.ip("addr", "add", f"{v}/32", "dev", "eth0")
        h.ip("addr", "del", f"{v}/32", "dev", "eth0")
        await h.until(lambda: f"Netlink reflector reports IP {v} removed from eth0" in caplog.text)
        assert f"Netlink reflector reports IP {v} added to eth0" in caplog.text
        await r.stop()

    run(body())


def test_static_item_of_a_track_group_reports_loss_and_return(harness: Harness) -> None:
    h = harness
    lab = h.host.lab
    addr = f"{lab.vip(100)}/32"

    def make_link() -> None:
        h.ip("link", "add", "tg0", "type", "veth", "peer", "name", "tg1")
        h.ip("link", "set", "tg1", "up")
        h.ip("link", "set", "tg0", "up")

    async def body() -> None:
        make_link()
        r = h.reflector()
        await r.start({"addresses": [vip(addr, dev="tg0", track_group="G1")]})
        assert addr in h.ip("-o", "addr", "show", "dev", "tg0")
        h.ip("link", "del", "tg0")
        await h.until(lambda: bool(h.of("netlink.static_lost")))
        lost = h.of("netlink.static_lost")[0]
        assert lost["track_group"] == "G1" and "tg0" in lost["error"]
        make_link()
        await h.until(lambda: bool(h.of("netlink.static_restored")))
        assert addr in h.ip("-o", "addr", "show", "dev", "tg0")
        assert len(h.of("netlink.static_lost")) == 1
        await r.stop()

    run(body())
