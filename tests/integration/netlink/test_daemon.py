"""The netlink actor inside the real daemon: commands over the bus, kill -9 and resume."""

from __future__ import annotations

import os
import signal
import time

import pytest

from pykeepalived.bus.codec import to_wire
from pykeepalived.conf.model import IPAddress
from tests.daemon import Daemon
from tests.integration.netlink.busclient import BusClient
from tests.lab import Lab

pytestmark = pytest.mark.netns


def test_kill_9_netlink_actor_resumes_without_touching_vips(lab: Lab) -> None:
    a = lab["a"]
    static, vip = f"{lab.vip(40)}/32", f"{lab.vip(41)}/32"
    conf = f"global_defs {{\n router_id a\n}}\nstatic_ipaddress {{\n {static} dev eth0\n}}\n"
    with Daemon(a, conf) as d:
        d.wait_ready()
        bus = BusClient(d.runtime_dir)
        try:
            item = to_wire(IPAddress(address=vip, dev="eth0"))
            reply = bus.request(
                "netlink",
                "netlink.addresses.set",
                {"owner": "vrrp/VI_T", "present": True, "addresses": [item]},
            )
            assert reply == {"ok": True, "result": {"applied": 1, "errors": []}}, reply
            addrs = a.run(["ip", "-o", "addr", "show", "dev", "eth0"])
            assert static in addrs and vip in addrs
            watch = a.popen(["ip", "monitor", "address"], description="ip monitor")
            time.sleep(0.2)
            old_pid = d.child_pid("netlink")
            os.kill(old_pid, signal.SIGKILL)
            d.wait_event("watchdog.restart", lambda e: e.body.get("child") == "netlink", timeout=20)
            deadline = time.monotonic() + 20
            while True:  # the new actor answers once its dump and ledger check are done
                answer = bus.request("netlink", "netlink.snapshot", {})
                if answer.get("ok"):
                    break
                assert time.monotonic() < deadline, answer
                time.sleep(0.2)
            assert d.child_pid("netlink") != old_pid
            state = d.status()["children"]["netlink"]["status"]["state"]
            assert "vrrp/VI_T" in state["owners"], state  # the ledger was read back
            time.sleep(0.3)
            watch.stop()
            assert "Deleted" not in watch.output(), watch.output()
            addrs = a.run(["ip", "-o", "addr", "show", "dev", "eth0"])
            assert static in addrs and vip in addrs
            snap = bus.request("netlink", "netlink.snapshot", {})["result"]
            assert static in {x["address"] for x in snap["addrs"]}
        finally:
            bus.close()
        d.stop()
    addrs = a.run(["ip", "-o", "addr", "show", "dev", "eth0"])
    assert static not in addrs and vip not in addrs


def test_bad_command_bodies_get_clear_errors(lab: Lab) -> None:
    a = lab["a"]
    conf = f"static_ipaddress {{\n {lab.vip(42)}/32 dev eth0\n}}\n"
    with Daemon(a, conf) as d:
        d.wait_ready()
        bus = BusClient(d.runtime_dir)
        try:
            r = bus.request("netlink", "netlink.addresses.set", {"present": True})
            assert r["ok"] is False and "owner" in r["error"]
            r = bus.request("netlink", "netlink.addresses.set", {"owner": "x", "present": "yes"})
            assert r["ok"] is False and "bad-type present" in r["error"], r
            r = bus.request("netlink", "no.such", {})
            assert r["ok"] is False and "unknown command" in r["error"]
            st = d.status()["children"]["netlink"]
            assert st["alive"]
        finally:
            bus.close()


def test_reload_applies_static_addresses_as_a_difference(lab: Lab) -> None:
    a = lab["a"]
    kept, dropped, added = (f"{lab.vip(n)}/32" for n in (43, 44, 45))
    conf = "static_ipaddress {{\n {} dev eth0\n {} dev eth0\n}}\n"
    with Daemon(a, conf.format(kept, dropped)) as d:
        d.wait_ready()
        addrs = a.run(["ip", "-o", "addr", "show", "dev", "eth0"])
        assert kept in addrs and dropped in addrs
        watch = a.popen(["ip", "monitor", "address"], description="ip monitor")
        time.sleep(0.2)
        d.conf_path.write_text(conf.format(kept, added))
        out = d.ctl("reload")
        assert out.returncode == 0, out.stderr
        deadline = time.monotonic() + 10
        while added not in a.run(["ip", "-o", "addr", "show", "dev", "eth0"]):
            assert time.monotonic() < deadline, d.proc.output()[-3000:]
            time.sleep(0.1)
        time.sleep(0.2)
        watch.stop()
        addrs = a.run(["ip", "-o", "addr", "show", "dev", "eth0"])
        assert kept in addrs and dropped not in addrs
        deleted = [line for line in watch.output().splitlines() if line.startswith("Deleted")]
        assert len(deleted) == 1 and dropped in deleted[0], deleted
