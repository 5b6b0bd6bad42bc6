"""The checker inside the whole daemon (``pykeepalived -C``) in a lab host, checking real
servers in another host across the lab link: verdicts on the event tap, the checker's
part of ``pykeepalivectl status``, a stopped server's down verdict taken up by the ipvs
actor (``lb.realserver`` inactive), and a reload that adds a real server (only the new
one publishes)."""

from __future__ import annotations

import json
import signal
import sys

import pytest

from tests.daemon import Daemon
from tests.lab import Lab

pytestmark = [pytest.mark.netns]

CONF = """
global_defs {{
    router_id checker_lab
}}
virtual_server {vip} 80 {{
    delay_loop 0.5
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server {b} 8080 {{
        HTTP_GET {{
            url {{
                path /
                status_code 200
            }}
            connect_timeout 1
            retry 0
            warmup 0
        }}
    }}
    real_server {b} 8081 {{
        TCP_CHECK {{
            connect_timeout 1
            retry 0
            warmup 0
        }}
    }}
{extra}}}
"""


EXTRA_RS = """
    real_server {b} 8082 {{
        TCP_CHECK {{
            connect_timeout 1
            warmup 0
        }}
    }}
"""


def checks(d: Daemon, rs: str) -> list[dict[str, object]]:
    return [e.body for e in d.events("check.result") if e.body["real_server"] == rs]


def test_checker_in_the_daemon(lab: Lab) -> None:
    a, b = lab["a"], lab["b"]
    web = b.popen([sys.executable, "-m", "http.server", "8080", "--bind", b.ipv4])
    tcp = b.popen([sys.executable, "-m", "http.server", "8081", "--bind", b.ipv4])
    conf = CONF.format(vip=lab.vip(100), b=b.ipv4, extra="")
    with Daemon(a, conf, "-C") as d:
        d.wait_ready()
        http_rs, tcp_rs = f"{b.ipv4}:8080", f"{b.ipv4}:8081"
        d.wait_event("check.result", lambda e: e.body["real_server"] == http_rs)
        d.wait_event("check.result", lambda e: e.body["real_server"] == tcp_rs)
        status = d.status()
        assert "checker" in status["children"]
        assert tcp_rs in json.dumps(status)  # the checker's part of the status
        # the HTTP server may still be starting: wait until both are seen up
        d.wait_event("check.result", lambda e: e.body["real_server"] == http_rs
                     and e.body["up"] is True)  # fmt: skip
        tcp.stop()
        down = d.wait_event("check.result", lambda e: e.body["real_server"] == tcp_rs
                            and e.body["up"] is False, timeout=10)  # fmt: skip
        assert down.body["reason"] == "connection refused"
        assert down.body["checker"] == "TCP_CHECK" and down.body["protocol"] == "tcp"
        # the ipvs actor acts on the verdict: that real server leaves the load balancer
        gone = d.wait_event("lb.realserver", lambda e: e.body["real_server"] == tcp_rs
                            and e.body["active"] is False, timeout=10)  # fmt: skip
        assert gone.body["virtual_server"] == f"{lab.vip(100)}:80"
        n_http = len(checks(d, http_rs))
        # reload: one more real server; the others keep running quietly
        extra = EXTRA_RS.format(b=b.ipv4)
        d.conf_path.write_text(CONF.format(vip=lab.vip(100), b=b.ipv4, extra=extra))
        d.proc.signal(signal.SIGHUP)
        new = d.wait_event("check.result", lambda e: e.body["real_server"] == f"{b.ipv4}:8082")
        assert new.body["reason"] == "start"
        assert len(checks(d, http_rs)) == n_http
        web.stop()
