"""The runtime with the real actor shells (``tests/daemon.py``) in a lab namespace.

A two-host lab; host a runs the real daemon with one VRRP instance. Checks that
``pykeepalivectl status`` shows the real vrrp actor's instance, that a SIGKILLed real
child is restarted with a ``watchdog.restart`` event, that the JSON dump carries the
instance, and that an orderly stop leaves no process behind.
"""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from tests import lab as lab_mod
from tests.daemon import Daemon
from tests.integration.runtime.runner import alive, wait_until

CONF = """
global_defs {
    router_id real-a
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 61
    priority 120
    advert_int 1
    virtual_ipaddress {
        %s/24 dev eth0
    }
}
"""


@pytest.mark.netns
def test_real_children_status_restart_and_stop(lab: lab_mod.Lab) -> None:
    vip = lab.vip(61)
    d = Daemon(lab["a"], CONF % vip, "--watchdog-interval", "0.5")
    try:
        status = d.wait_ready(40)
        assert set(status["children"]) == {"vrrp", "netlink", "notifier"}
        # alone on the link, the instance becomes master after Master_Down_Interval
        d.wait_event("vrrp.state", lambda e: e.body["state"] == "MASTER", timeout=15)
        out = d.ctl("status")
        assert out.returncode == 0 and "VI_1" in out.stdout and "MASTER" in out.stdout
        for name in ("netlink", "notifier", "vrrp"):
            old = d.child_pid(name)
            mark = len(d.events())
            os.kill(old, signal.SIGKILL)
            env = d.wait_event("watchdog.restart", lambda e, o=old: e.body["old_pid"] == o,
                               timeout=10, after=mark)  # fmt: skip
            assert env.body["child"] == name
            assert wait_until(lambda n=name: "status" in d.status()["children"][n], 15)
        # the restarted vrrp child finds its instance again
        d.wait_event("vrrp.state", lambda e: e.body["state"] == "MASTER", timeout=15, after=mark)
        dump = json.loads(d.ctl("dump", "--json").stdout)
        assert dump[0]["data"]["iname"] == "VI_1" and dump[0]["data"]["state"] == 2
        pids = [c["pid"] for c in d.status()["children"].values()]
    finally:
        code = d.stop()
    assert code == 0
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.05)
    assert not any(alive(p) for p in pids)


LVS_CONF = """
global_defs {
    router_id real-lvs
}
virtual_server %(vip)s 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server %(rs)s 80 {
        weight 3
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
"""


@pytest.mark.netns
def test_real_checker_and_ipvs_in_status_and_dumps(lab: lab_mod.Lab) -> None:
    rs = lab["b"].ipv4
    conf = LVS_CONF % {"vip": lab.vip(80), "rs": rs}
    d = Daemon(lab["a"], conf, "--lb-backend", "dry-run")
    try:
        status = d.wait_ready(40)
        assert set(status["children"]) == {"checker", "ipvs", "notifier"}
        # nothing listens on b:80: the TCP check fails
        d.wait_event("check.result", lambda e: e.body["up"] is False, timeout=15)
        assert wait_until(lambda: "DOWN" in d.ctl("status").stdout, 10)
        text = d.ctl("status").stdout
        assert f"{lab.vip(80)}:80 tcp" in text and f"-> {rs}:80" in text
        dump = d.ctl("dump").stdout
        assert "------< checker >------" in dump and "------< ipvs >------" in dump
    finally:
        assert d.stop() == 0
