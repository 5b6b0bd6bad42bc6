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
from pykeepalived.bus import messages as M
from pykeepalived.bus.envelope import Envelope
from pykeepalived.conf import model as m

vip, port = sys.argv[1], int(sys.argv[2])

class Bus:
    def __init__(self): self.events = []
    def envelope(self, t, body, **_): return (t, body)
    def send(self, env): self.events.append(env); return True

def attempts(actor):
    return next(iter(actor.runs.values())).fsm.attempts

async def main():
    srv = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", port)
    chk = m.TcpCheck(delay_loop=0.1, connect_timeout=0.5, retry=0, warmup=0.0)
    rs = m.RealServer(address="127.0.0.1", port=port, checkers=(chk,))
    vs = m.VirtualServer(address=vip, port=80, ha_suspend=True, real_servers=(rs,))
    actor = CheckerActor(m.Config(virtual_servers=(vs,)), Options())
    actor.bus = Bus()
    await actor.setup()
    out = {}
    await asyncio.sleep(0.6)
    out["absent"] = attempts(actor)
    subprocess.run(["ip", "addr", "add", vip + "/32", "dev", "eth0"], check=True)
    # what the VRRP actor's event would trigger at once; the 1 s poll would find it anyway
    state = M.VrrpState("VI_1", 1, "inet", "eth0", "MASTER", "BACKUP", 100, "")
    await actor.deliver_event(Envelope(state.TYPE, "vrrp", "h", 1, 1, 0.0, state.to_body()))
    await asyncio.sleep(0.6)
    out["present"] = attempts(actor)
    subprocess.run(["ip", "addr", "del", vip + "/32", "dev", "eth0"], check=True)
    await asyncio.sleep(1.5)  # no event this time: the periodic test notices
    a = attempts(actor)
    await asyncio.sleep(0.6)
    out["removed"] = attempts(actor) - a
    out["suspended"] = next(iter(actor.runs.values())).fsm.suspended
    out["events"] = len(actor.bus.events)
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
