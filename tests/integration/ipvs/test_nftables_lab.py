"""The nftables backend end to end: the real daemon balancing real TCP in namespaces."""

from __future__ import annotations

import json
import signal
import time

import pytest

from tests.daemon import Daemon, poll_until
from tests.integration.ipvs.nftlab import LbLab

pytestmark = [pytest.mark.netns, pytest.mark.timeout(120)]


def realserver(d: Daemon, rs: str, active: bool, weight: int | None = None, after: int = 0):  # type: ignore[no-untyped-def]
    def pred(e):  # type: ignore[no-untyped-def]
        ok = e.body["real_server"] == rs and e.body["active"] is active
        return ok and (weight is None or e.body["weight"] == weight)

    return d.wait_event("lb.realserver", pred, timeout=15, after=after)


def _connections(d: Daemon) -> int:
    [vs] = d.status()["children"]["ipvs"]["status"]["state"]["virtual_servers"]
    return int((vs["traffic"] or {}).get("connections", 0))


def table(lb: LbLab) -> str:
    return lb.director.run(["nft", "list", "table", "inet", "pykeepalived"], check=False)


def test_spread_failover_sorry_and_release() -> None:
    with LbLab() as lb:
        lb.serve(0, 8080, "web1")
        lb.serve(1, 8080, "web2")
        lb.serve(0, 8081, "sorry")
        w1, w2 = (f"{w.ipv4}:8080" for w in lb.web)
        with Daemon(lb.director, lb.config()) as d:
            realserver(d, w1, True, 3)
            realserver(d, w2, True, 1)
            # 1,000 requests spread by weight 3:1, within 10% of each share
            got = lb.requests(1000)
            assert got["failures"] == []
            answers = got["answers"]
            assert isinstance(answers, dict)
            assert abs(answers.get("web1", 0) - 750) <= 75, answers
            assert abs(answers.get("web2", 0) - 250) <= 25, answers
            # the service chain's counter saw each of those connections (the status reads
            # it in the background, so ask until a read after the requests shows it)
            conns = poll_until(lambda: _connections(d) >= 1000 and _connections(d), 15,
                               "the connection counter")  # fmt: skip
            assert 1000 <= conns < 1100
            # web2 stops: out of rotation once its check fails, and then no request fails
            mark = len(d.events())
            lb.stop_server(1, 8080)
            realserver(d, w2, False, 0, after=mark)
            got = lb.requests(200)
            assert got == {"answers": {"web1": 200}, "failures": []}
            # web1 stops too: quorum lost, the sorry server answers
            mark = len(d.events())
            lb.stop_server(0, 8080)
            d.wait_event("lb.quorum", lambda e: e.body["up"] is False, timeout=15, after=mark)
            realserver(d, f"{lb.web[0].ipv4}:8081", True, 1, after=mark)
            got = lb.requests(50)
            assert got == {"answers": {"sorry": 50}, "failures": []}
            status = d.status()
            assert "pykeepalived" in table(lb)
            assert json.dumps(status)  # status is JSON-able with the ipvs child in it
        # an orderly stop removes the table it owned
        assert "pykeepalived" not in table(lb)


def test_reload_under_load_loses_no_request() -> None:
    with LbLab() as lb:
        lb.serve(0, 8080, "web1")
        lb.serve(1, 8080, "web2")
        w2 = f"{lb.web[1].ipv4}:8080"
        with Daemon(lb.director, lb.config()) as d:
            realserver(d, w2, True, 1)
            client = lb.start_requests(800, 0.004)
            time.sleep(0.8)
            mark = len(d.events())
            extra = f"""
virtual_server {lb.vip} 81 {{
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server {lb.web[1].ipv4} 8080 {{ }}
}}"""
            d.conf_path.write_text(lb.config((1, 3), extra))
            d.proc.signal(signal.SIGHUP)
            realserver(d, w2, True, 3, after=mark)
            assert client.popen.wait(timeout=60) == 0
            result = json.loads(client.output().strip().splitlines()[-1])
            assert result["failures"] == [], result
            assert sum(result["answers"].values()) == 800
            # the new weights hold after the reload, and the new service answers
            got = lb.requests(400)
            assert got["failures"] == [] and abs(got["answers"]["web2"] - 300) <= 30, got
            assert lb.requests(10, port=81) == {"answers": {"web2": 10}, "failures": []}


def test_dont_release_then_adopt_without_rewriting() -> None:
    with LbLab() as lb:
        lb.serve(0, 8080, "web1")
        lb.serve(1, 8080, "web2")
        w2 = f"{lb.web[1].ipv4}:8080"
        config = lb.config()
        with Daemon(lb.director, config, "-I") as d:
            realserver(d, w2, True, 1)
        # -I: the table outlives the daemon and keeps balancing
        before = lb.director.run(["nft", "-a", "list", "table", "inet", "pykeepalived"])
        assert "dnat ip to numgen inc mod 64" in before
        got = lb.requests(40)
        assert got == {"answers": {"web1": 30, "web2": 10}, "failures": []}
        with Daemon(lb.director, config) as d:
            realserver(d, w2, True, 1)
            d.wait_ready()
            state = d.status()["children"]["ipvs"]["status"]["state"]
            assert state["adopted_at_start"] == 1 and state["backend"] == "nftables"
            # adopted as it was: same chains and rules (same handles), same slots
            after = lb.director.run(["nft", "-a", "list", "table", "inet", "pykeepalived"])
            strip = [line for line in before.splitlines() if "counter packets" not in line]
            assert strip == [line for line in after.splitlines() if "counter packets" not in line]
        assert "pykeepalived" not in table(lb)


def test_ipv6_service_spread_and_failover() -> None:
    with LbLab(ipv6=True) as lb:
        lb.serve(0, 8080, "web1", ipv6=True)
        lb.serve(1, 8080, "web2", ipv6=True)
        w1, w2 = (f"[{w.ipv6}]:8080" for w in lb.web)
        conf = f"""
pykeepalived {{ lb_backend nftables }}
virtual_server {lb.vip6} 80 {{
  delay_loop 1
  lb_algo wrr
  lb_kind NAT
  protocol TCP
  real_server {lb.web[0].ipv6} 8080 {{ weight 3
    TCP_CHECK {{ connect_timeout 1
      retry 0 }} }}
  real_server {lb.web[1].ipv6} 8080 {{ weight 1
    TCP_CHECK {{ connect_timeout 1
      retry 0 }} }}
}}
"""
        with Daemon(lb.director, conf) as d:
            realserver(d, w1, True, 3)
            realserver(d, w2, True, 1)
            got = lb.requests(200, vip=lb.vip6)
            assert got == {"answers": {"web1": 150, "web2": 50}, "failures": []}
            mark = len(d.events())
            lb.stop_server(1, 8080)
            realserver(d, w2, False, 0, after=mark)
            assert lb.requests(50, vip=lb.vip6) == {"answers": {"web1": 50}, "failures": []}
