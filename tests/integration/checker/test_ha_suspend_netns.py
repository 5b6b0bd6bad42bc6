"""ha_suspend for real: inside a lab host the checker's virtual address comes and goes
(``ip addr add/del`` on eth0, as the VRRP actor would do), and its checks pause and resume."""

from __future__ import annotations

import json
import sys

import pytest

from tests.lab import Lab

DRIVER = r"""
import asyncio, json, subprocess, sys
from pykeepalived.actors.base import Options
from pykeepalived.actors.checker.actor import CheckerActor
from pykeepalived.bus.testing import InMemoryBus, wait_until
from pykeepalived.conf import model as m

vip, port = sys.argv[1], int(sys.argv[2])

def fsm(actor):
    return next(iter(actor.runs.values())).fsm

async def main():
    srv = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", port)
    chk = m.TcpCheck(delay_loop=0.1, connect_timeout=0.5, retry=0, warmup=0.0)
    rs = m.RealServer(address="127.0.0.1", port=port, checkers=(chk,))
    vs = m.VirtualServer(address=vip, port=80, ha_suspend=True, real_servers=(rs,))
    actor = CheckerActor(m.Config(virtual_servers=(vs,)), Options())
    bus = InMemoryBus()
    actor.bus = bus.client("checker", CheckerActor.subscriptions, actor.counters)
    vrrp = bus.client("vrrp")
    await actor.setup()
    out = {}
    await asyncio.sleep(0.6)  # an observation window: six delay_loops, and a 1 s poll
    out["absent"] = fsm(actor).attempts
    subprocess.run(["ip", "addr", "add", vip + "/32", "dev", "eth0"], check=True)
    # what the VRRP actor's event would trigger at once; the 1 s poll would find it anyway
    state = {"instance": "VI_1", "vrid": 51, "family": "inet", "interface": "eth0",
             "state": "MASTER", "prev": "BACKUP", "priority": 100, "reason": ""}
    await actor.on_event(vrrp.envelope("vrrp.state", state))
    await wait_until(lambda: fsm(actor).attempts >= 3, 0.6, what="checks every 0.1 s")
    out["present"] = fsm(actor).attempts
    subprocess.run(["ip", "addr", "del", vip + "/32", "dev", "eth0"], check=True)
    # no event this time: the periodic test notices within its 1 s period
    await wait_until(lambda: fsm(actor).suspended, 1.5, what="suspended by the poll")
    a = fsm(actor).attempts
    await asyncio.sleep(0.6)  # an observation window: six delay_loops
    out["removed"] = fsm(actor).attempts - a
    out["suspended"] = fsm(actor).suspended
    out["events"] = len(bus.bodies("check.result"))
    await actor.shutdown()
    srv.close()
    print(json.dumps(out))

asyncio.run(main())
"""


@pytest.mark.netns
def test_checks_follow_the_virtual_address(lab: Lab) -> None:
    a = lab["a"]
    out = a.run([sys.executable, "-c", DRIVER, lab.vip(77), "8099"], timeout=30)
    res = json.loads(out.strip().splitlines()[-1])
    assert res["absent"] == 0  # never checked while the VIP is elsewhere
    assert res["present"] >= 3  # checked every 0.1 s once it is local
    assert res["removed"] == 0 and res["suspended"] is True
    assert res["events"] == 1  # the start verdict only: suspending is not a verdict
