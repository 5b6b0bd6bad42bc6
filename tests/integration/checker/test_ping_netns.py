"""PING_CHECK across a lab link: echo replies from a peer namespace (IPv4 and IPv6), then
no reply from an absent address, a cut link, and a peer that ignores echo requests."""

from __future__ import annotations

import json
import sys

import pytest

from tests.lab import Lab

PROBE = r"""
import asyncio, json, sys
from pykeepalived.actors.checker.plan import Target
from pykeepalived.actors.checker.probes_net import PingProbe

async def one(host):
    loop = asyncio.get_running_loop()
    fut = loop.create_future()
    PingProbe(loop, Target(host=host, port=0, connect_timeout=0.8)).start(fut.set_result)
    out = await fut
    return [out.ok, out.reason]

async def main():
    return [await one(h) for h in sys.argv[1:]]

print(json.dumps(asyncio.run(main())))
"""


def ping_from(lab: Lab, *hosts: str) -> list[list[object]]:
    out = lab["a"].run([sys.executable, "-c", PROBE, *hosts], timeout=20)
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.netns
def test_ping_check_up_and_down(lab: Lab) -> None:
    b = lab["b"]
    res = ping_from(lab, b.ipv4, b.ipv6, lab.vip(200))
    assert res[0] == [True, "ICMP echo reply received"]
    assert res[1] == [True, "ICMP echo reply received"]
    assert res[2] == [False, "no ICMP echo reply within 0.8 s"]
    b.run(["sysctl", "-qw", "net.ipv4.icmp_echo_ignore_all=1"])
    assert ping_from(lab, b.ipv4)[0][0] is False
    b.run(["sysctl", "-qw", "net.ipv4.icmp_echo_ignore_all=0"])
    b.cut_link()
    assert ping_from(lab, b.ipv4)[0][0] is False
    b.restore_link()
