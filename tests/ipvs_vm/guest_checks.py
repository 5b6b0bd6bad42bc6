"""Checks that run INSIDE the IPVS VM (``run-vm.sh`` boots it; ``guest.sh`` runs this file).

The VM's root network namespace is the director. The ipvs backend programs the real
kernel IPVS over generic netlink; every rule set written is dumped back and compared,
and real TCP goes from a client namespace through NAT and DR services to two real
servers (busybox httpd) in their own namespaces on a bridge.

Named ``guest_checks.py`` (not ``test_*``) so the host's pytest run never collects it;
it skips itself anywhere but in the VM.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from pykeepalived.actors.base import CommandError, Options
from pykeepalived.actors.ipvs import driver
from pykeepalived.actors.ipvs.actor import IpvsActor
from pykeepalived.actors.ipvs.model import service_attrs
from pykeepalived.actors.ipvs.rules import (
    DestAttrs,
    DestId,
    Method,
    Service,
    ServiceId,
    apply,
    diff,
)
from pykeepalived.bus.envelope import Envelope
from pykeepalived.conf.loader import load_text

pytestmark = [
    pytest.mark.ipvs,
    pytest.mark.skipif(
        os.environ.get("PYKEEPALIVED_IN_IPVS_VM") != "1",
        reason="runs only inside the IPVS VM (make test-ipvs-vm)",
    ),
]

VIP_NAT = "10.0.0.1"
VIP_DR = "10.0.0.10"
RS = ("172.16.0.2", "172.16.0.3")


def sh(*args: str, check: bool = True) -> str:
    proc = subprocess.run(args, capture_output=True, text=True, timeout=60)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {proc.stdout}{proc.stderr}")
    return proc.stdout


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def with_backend(fn: Any) -> Any:
    b = driver.IpvsBackend()
    await b.open()
    try:
        return await fn(b)
    finally:
        await b.close()


def rule_set() -> dict[ServiceId, Service]:
    return {
        ServiceId("inet", "tcp", "10.9.0.1", 80): Service(
            service_attrs("wrr"),
            {
                DestId("10.9.1.1", 8080): DestAttrs(3, Method.NAT),
                DestId("10.9.1.2", 8080): DestAttrs(0, Method.NAT),
            },
        ),
        ServiceId("inet", "udp", "10.9.0.1", 53): Service(
            service_attrs(
                "sh",
                persistence_timeout=300,
                persistence_granularity="255.255.255.0",
                sched_flags=("sh-port",),
            ),
            {DestId("10.9.1.1", 53): DestAttrs(1, Method.DR)},
        ),
        ServiceId("inet", "tcp", fwmark=7): Service(
            service_attrs("rr"), {DestId("10.9.1.3", 0): DestAttrs(2, Method.TUN)}
        ),
        ServiceId("inet6", "tcp", "2001:db8::1", 443): Service(
            service_attrs(
                "wlc", persistence_timeout=60, persistence_granularity="64", family="inet6"
            ),
            {DestId("2001:db8::5", 443): DestAttrs(1, Method.NAT)},
        ),
    }


def test_rule_sets_round_trip_through_the_kernel() -> None:
    async def go(b: driver.IpvsBackend) -> None:
        assert await b.dump() == {}
        want = rule_set()
        ops = diff(want, {})
        await b.apply(ops, apply({}, ops))
        assert await b.dump() == want
        # edits in place: scheduler, weight, method; one destination and service go
        changed = dict(want)
        sid = ServiceId("inet", "tcp", "10.9.0.1", 80)
        changed[sid] = Service(
            service_attrs("rr"),
            {DestId("10.9.1.2", 8080): DestAttrs(5, Method.DR)},
        )
        changed.pop(ServiceId("inet", "tcp", fwmark=7))
        ops = diff(changed, await b.dump())
        assert sorted(o.kind for o in ops) == ["del_dest", "del_service", "set_dest", "set_service"]
        await b.apply(ops, {})
        assert await b.dump() == changed
        assert diff(changed, await b.dump()) == []  # a restarted daemon adopts it as is
        cleanup = diff({}, await b.dump())
        await b.apply(cleanup, {})
        assert await b.dump() == {}

    run(with_backend(go))


def test_timeouts_and_sync_daemon() -> None:
    async def go(b: driver.IpvsBackend) -> None:
        await b.set_timeouts(900, 60, 200)
        out = sh("ipvsadm", "-L", "--timeout")
        assert "Timeout (tcp tcpfin udp): 900 60 200" in out, out
        cfg = driver.SyncDaemonConfig("lo", 51)
        await b.sync_daemon("backup", cfg)
        assert "backup sync daemon (mcast=lo, syncid=51" in sh("ipvsadm", "-L", "--daemon")
        await b.sync_daemon("master", cfg)
        daemons = sh("ipvsadm", "-L", "--daemon")
        assert "master sync daemon (mcast=lo, syncid=51" in daemons
        assert "backup" not in daemons
        await b.sync_daemon(None, cfg)
        assert sh("ipvsadm", "-L", "--daemon").strip() == ""

    run(with_backend(go))


@pytest.fixture
def network() -> Iterator[None]:
    """client ns 192.168.1.2 → director (root ns) → rs1/rs2 172.16.0.2/.3 on bridge br0."""
    sh("ip", "link", "add", "br0", "type", "bridge")
    sh("ip", "link", "set", "br0", "up")
    sh("ip", "addr", "add", "172.16.0.1/24", "dev", "br0")
    sh("ip", "netns", "add", "client")
    sh("ip", "link", "add", "vc", "type", "veth", "peer", "name", "vc0", "netns", "client")
    sh("ip", "addr", "add", "192.168.1.1/24", "dev", "vc")
    sh("ip", "link", "set", "vc", "up")
    sh("ip", "-n", "client", "addr", "add", "192.168.1.2/24", "dev", "vc0")
    sh("ip", "-n", "client", "link", "set", "vc0", "up")
    sh("ip", "-n", "client", "link", "set", "lo", "up")
    sh("ip", "-n", "client", "route", "add", "default", "via", "192.168.1.1")
    servers = []
    for i, addr in enumerate(RS, start=1):
        ns = f"rs{i}"
        sh("ip", "netns", "add", ns)
        sh("ip", "link", "add", f"v{ns}", "type", "veth", "peer", "name", "eth0", "netns", ns)
        sh("ip", "link", "set", f"v{ns}", "master", "br0", "up")
        sh("ip", "-n", ns, "addr", "add", f"{addr}/24", "dev", "eth0")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "-n", ns, "route", "add", "default", "via", "172.16.0.1")
        # DR: the VIP on lo, never answered for in ARP
        sh("ip", "-n", ns, "addr", "add", f"{VIP_DR}/32", "dev", "lo")
        sh(
            "ip",
            "netns",
            "exec",
            ns,
            "sysctl",
            "-qw",
            "net.ipv4.conf.all.arp_ignore=1",
            "net.ipv4.conf.all.arp_announce=2",
        )
        root = f"/tmp/www-{ns}"
        os.makedirs(root, exist_ok=True)
        with open(f"{root}/index.html", "w") as f:
            f.write(f"{ns}\n")
        servers.append(
            subprocess.Popen(
                ["ip", "netns", "exec", ns, "busybox", "httpd", "-f", "-p", "8080", "-h", root],
            )
        )
    sh("sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv4.conf.all.accept_local=1")
    sh("ip", "addr", "add", f"{VIP_NAT}/32", "dev", "lo")
    sh("ip", "addr", "add", f"{VIP_DR}/32", "dev", "lo")
    yield
    for proc in servers:
        proc.terminate()
        proc.wait(timeout=10)
    for ns in ("client", "rs1", "rs2"):
        sh("ip", "netns", "del", ns, check=False)
    sh("ip", "link", "del", "br0", check=False)


CONF = f"""
virtual_server {VIP_NAT} 80 {{
  lb_algo wrr
  lb_kind NAT
  protocol TCP
  real_server {RS[0]} 8080 {{ weight 3
    TCP_CHECK {{ connect_timeout 1 }} }}
  real_server {RS[1]} 8080 {{ weight 1
    TCP_CHECK {{ connect_timeout 1 }} }}
}}
virtual_server {VIP_DR} 8080 {{
  lb_algo rr
  lb_kind DR
  protocol TCP
  real_server {RS[0]} 8080 {{ weight 1 }}
  real_server {RS[1]} 8080 {{ weight 1 }}
}}
"""


def answers(url: str, n: int) -> Counter[str]:
    got: Counter[str] = Counter()
    for _ in range(n):
        out = subprocess.run(
            ["ip", "netns", "exec", "client", "curl", "-s", "--max-time", "5", url],
            capture_output=True,
            text=True,
            timeout=30,
        )
        got[out.stdout.strip() or f"failed rc={out.returncode}"] += 1
    return got


async def no_checker(to: str, cmd: Any, timeout: float = 2.0) -> Any:
    """No checker actor in the VM: the start-up verdicts request is refused."""
    raise CommandError(f"actor {to} is not running")


def test_actor_programs_ipvs_and_traffic_flows(network: None) -> None:
    async def go() -> None:
        actor = IpvsActor(load_text(CONF).config, Options(lb_backend="ipvs"))
        published: list[tuple[str, dict[str, Any]]] = []
        actor.publish = lambda t, b: published.append((t, b))  # type: ignore[method-assign]
        actor.request = no_checker  # type: ignore[method-assign]
        await actor.setup()
        assert actor.backend.name == "ipvs"
        table = sh("ipvsadm", "-Ln")
        assert (
            f"TCP  {VIP_NAT}:80 wrr" in table and "Masq    3" in table and "Route   1" in table
        ), table
        # NAT, weighted 3:1 by wrr (exactly, in order)
        nat = await asyncio.to_thread(answers, f"http://{VIP_NAT}/", 8)
        assert nat == Counter({"rs1": 6, "rs2": 2}), nat
        dr = await asyncio.to_thread(answers, f"http://{VIP_DR}:8080/", 4)
        assert dr == Counter({"rs1": 2, "rs2": 2}), dr
        # rs2's check fails: it leaves the NAT service, traffic goes to rs1 only
        body = {
            "virtual_server": f"{VIP_NAT}:80",
            "protocol": "tcp",
            "real_server": f"{RS[1]}:8080",
            "checker": "TCP_CHECK",
            "up": False,
            "reason": "test",
            "weight": None,
        }
        env = Envelope(
            v=1, type="check.result", src="checker", host="vm", pid=1, seq=1, ts=0.0, body=body
        )
        await actor.deliver_event(env)
        await asyncio.sleep(0.05)
        assert f"{RS[1]}:8080" not in sh("ipvsadm", "-Ln", "-t", f"{VIP_NAT}:80")
        nat = await asyncio.to_thread(answers, f"http://{VIP_NAT}/", 4)
        assert nat == Counter({"rs1": 4}), nat
        assert (
            "lb.realserver",
            {
                "virtual_server": f"{VIP_NAT}:80",
                "protocol": "tcp",
                "real_server": f"{RS[1]}:8080",
                "weight": 0,
                "active": False,
            },
        ) in published
        await actor.shutdown()
        assert "TCP" not in sh("ipvsadm", "-Ln")

    run(go())
