"""The netlink actor inside the real daemon: commands over the bus, kill -9 and resume."""

from __future__ import annotations

import itertools
import os
import signal
from typing import Any

import pytest

from pykeepalived.bus.codec import to_wire
from pykeepalived.conf.model import IPAddress
from tests.daemon import Daemon, DaemonBus, poll_until
from tests.lab import Host, Lab

pytestmark = pytest.mark.netns

#: an address on lo that only the watch below touches
MARK = "127.0.0.201"


class AddressWatch:
    """``ip monitor address`` in a host, known to be listening before the test goes on.

    A marker address on ``lo`` is changed until the monitor reports it; at the end it is
    deleted and the monitor is read once that deletion shows, so every earlier change
    is in its output: no fixed sleeps either side.
    """

    def __init__(self, host: Host) -> None:
        self.host = host
        self.proc = host.popen(["ip", "monitor", "address"], description="ip monitor")
        lifetimes = itertools.count(1000)

        def seen() -> bool:
            host.run(["ip", "addr", "replace", f"{MARK}/32", "dev", "lo", "valid_lft",
                      "forever", "preferred_lft", str(next(lifetimes))])  # fmt: skip
            return MARK in self.proc.output()

        poll_until(seen, 10, "ip monitor listening")

    def deleted(self) -> list[str]:
        """Stop watching; the "Deleted" lines of everything but the marker."""
        self.host.run(["ip", "addr", "del", f"{MARK}/32", "dev", "lo"])
        poll_until(lambda: self._deleted(self.proc.output(), True), 10, "marker deletion seen")
        self.proc.stop()
        return self._deleted(self.proc.output(), False)

    @staticmethod
    def _deleted(output: str, marker: bool) -> list[str]:
        lines = [line for line in output.splitlines() if line.startswith("Deleted")]
        return [line for line in lines if (MARK in line) == marker]


def test_kill_9_netlink_actor_resumes_without_touching_vips(lab: Lab) -> None:
    a = lab["a"]
    static, vip = f"{lab.vip(40)}/32", f"{lab.vip(41)}/32"
    conf = f"global_defs {{\n router_id a\n}}\nstatic_ipaddress {{\n {static} dev eth0\n}}\n"
    with Daemon(a, conf) as d:
        d.wait_ready()
        bus = DaemonBus(d.runtime_dir, name="nltest")
        try:
            item = to_wire(IPAddress(address=vip, dev="eth0"))
            reply = bus.reply(
                "netlink",
                "addresses.set",
                {"owner": "vrrp/VI_T", "present": True, "addresses": [item]},
            )
            assert reply == {"ok": True, "result": {"applied": 1, "errors": []}}, reply
            addrs = a.run(["ip", "-o", "addr", "show", "dev", "eth0"])
            assert static in addrs and vip in addrs
            watch = AddressWatch(a)
            old_pid = d.child_pid("netlink")
            os.kill(old_pid, signal.SIGKILL)
            d.wait_event("watchdog.restart", lambda e: e.body.get("child") == "netlink", timeout=20)
            # the new actor answers once its dump and ledger check are done

            def answered() -> dict[str, Any] | None:
                reply = bus.reply("netlink", "owned", {"owner": "vrrp/VI_T"})
                return reply if reply.get("ok") else None

            owned = poll_until(answered, 20, "owned from the restarted actor")
            assert d.child_pid("netlink") != old_pid
            assert owned["result"]["owners"]["vrrp/VI_T"]["addresses"] == [item]
            assert watch.deleted() == []
            addrs = a.run(["ip", "-o", "addr", "show", "dev", "eth0"])
            assert static in addrs and vip in addrs
            snap = bus.request("netlink", "netlink.snapshot", {})
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
        bus = DaemonBus(d.runtime_dir, name="nltest")
        try:
            r = bus.reply("netlink", "addresses.set", {"present": True})
            assert r["ok"] is False and "owner" in r["error"]
            r = bus.reply("netlink", "link.vmac", {"owner": "x", "present": True, "name": ""})
            assert r["ok"] is False and "name" in r["error"]
            r = bus.reply("netlink", "no.such", {})
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
        watch = AddressWatch(a)
        d.conf_path.write_text(conf.format(kept, added))
        out = d.ctl("reload")
        assert out.returncode == 0, out.stderr
        poll_until(
            lambda: added in a.run(["ip", "-o", "addr", "show", "dev", "eth0"]),
            10,
            f"{added} on eth0\n{d.proc.output()[-3000:]}",
        )
        deleted = watch.deleted()
        addrs = a.run(["ip", "-o", "addr", "show", "dev", "eth0"])
        assert kept in addrs and dropped not in addrs
        assert len(deleted) == 1 and dropped in deleted[0], deleted
