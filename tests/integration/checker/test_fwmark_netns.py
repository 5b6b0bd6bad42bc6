"""fwmark (SO_MARK) really marks the probe's packets: in a lab host an nftables rule drops
marked packets to the server's port, so the marked TCP_CHECK times out while an unmarked
one succeeds; bind_port is the source port the server sees."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.lab import Lab

DRIVER = r"""
import asyncio, json, sys
from pykeepalived.actors.checker.plan import Target
from pykeepalived.actors.checker.probes_net import TcpProbe

server_ip = sys.argv[1]

async def one(**kw):
    loop = asyncio.get_running_loop()
    fut = loop.create_future()
    target = Target(host=server_ip, port=8099, connect_timeout=0.7, **kw)
    TcpProbe(loop, target).start(fut.set_result)
    out = await fut
    return [out.ok, out.reason]

async def main():
    return [await one(), await one(fwmark=7), await one(fwmark=8), await one(bind_port=40123)]

print(json.dumps(asyncio.run(main())))
"""

RULES = """
table inet pk_mark {
    chain out {
        type filter hook output priority 0; policy accept;
        meta mark 7 tcp dport 8099 drop
    }
}
"""


@pytest.mark.netns
def test_fwmark_and_bind_port(lab: Lab) -> None:
    a, b = lab["a"], lab["b"]
    server = b.popen([sys.executable, "-c", (
        "import socket\n"
        "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        f"s.bind(('{b.ipv4}', 8099)); s.listen(16); print('listening', flush=True)\n"
        "while True:\n"
        "    c, peer = s.accept(); print('peer', peer[1], flush=True); c.close()\n"
    )])  # fmt: skip
    subprocess.run(["ip", "netns", "exec", a.netns, "nft", "-f", "-"], input=RULES, text=True,
                   check=True)  # fmt: skip
    for _ in range(100):
        if "listening" in server.output():
            break
        subprocess.run(["sleep", "0.05"], check=True)
    out = a.run([sys.executable, "-c", DRIVER, b.ipv4], timeout=30)
    plain, marked, other_mark, bound = json.loads(out.strip().splitlines()[-1])
    assert plain[0] is True
    assert marked == [False, "connect timed out after 0.7 s"]
    assert other_mark[0] is True
    assert bound[0] is True
    assert "peer 40123" in server.output()


LINK_LOCAL = r"""
import asyncio, json, sys
from pykeepalived.actors.checker.plan import Target
from pykeepalived.actors.checker.probes_net import TcpProbe

async def one(**kw):
    loop = asyncio.get_running_loop()
    fut = loop.create_future()
    TcpProbe(loop, Target(host=sys.argv[1], port=8098, connect_timeout=0.7, **kw)).start(
        fut.set_result
    )
    out = await fut
    return [out.ok, out.reason]

async def main():
    return [await one(bind_if="eth0"), await one()]

print(json.dumps(asyncio.run(main())))
"""


@pytest.mark.netns
def test_ipv6_link_local_target_needs_bind_if(lab: Lab) -> None:
    a, b = lab["a"], lab["b"]
    out = b.run(["ip", "-6", "-o", "addr", "show", "dev", "eth0", "scope", "link"])
    link_local = out.split()[3].split("/")[0]
    server = b.popen([sys.executable, "-c", (
        "import socket\n"
        "s = socket.socket(socket.AF_INET6); s.bind(('::', 8098)); s.listen(16)\n"
        "print('listening', flush=True)\n"
        "while True:\n"
        "    c, _ = s.accept(); c.close()\n"
    )])  # fmt: skip
    for _ in range(100):
        if "listening" in server.output():
            break
        subprocess.run(["sleep", "0.05"], check=True)
    res = json.loads(a.run([sys.executable, "-c", LINK_LOCAL, link_local]).strip().splitlines()[-1])
    assert res[0] == [True, "TCP connect succeeded"]
    assert res[1][0] is False  # without the interface the link-local address is unroutable
