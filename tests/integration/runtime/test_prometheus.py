"""A real Prometheus server scrapes the real daemon and reads keepalived-exporter's series.

Host ``a`` of a lab runs the daemon (real actors, one VRRP instance alone on its link, so
it becomes master) with its metrics endpoint on the namespace's loopback; Debian's
``prometheus`` runs in the same namespace with a temporary configuration and data
directory, scraping every second. The test asks Prometheus's HTTP API for
``keepalived_vrrp_state`` and expects MASTER (2) for the VIP, with the exporter's labels;
``promtool check metrics`` accepts what the daemon serves; /livez and /readyz answer.
Prometheus is stopped by its pid when the test ends.
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.parse
from typing import Any

import pytest

from tests import lab as lab_mod
from tests.daemon import Daemon

METRICS = "127.0.0.1:9650"
PROM = "127.0.0.1:9091"

CONF = """
global_defs {
    router_id prom-a
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 62
    priority 120
    advert_int 1
    virtual_ipaddress {
        %s/24 dev eth0
    }
}
"""

PROM_CONF = """
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: pykeepalived
    scrape_interval: 1s
    scrape_timeout: 1s
    static_configs:
      - targets: ['%s']
"""

pytestmark = pytest.mark.skipif(
    shutil.which("prometheus") is None or shutil.which("promtool") is None,
    reason="Debian's prometheus package (make sysdeps installs it)",
)


def _get(host: lab_mod.Host, url: str) -> tuple[int, str]:
    """HTTP GET from inside the host's namespace: (status code, body)."""
    out = host.run(["curl", "-s", "-m", "5", "-w", "\n%{http_code}", url], check=False)
    body, _, code = out.rpartition("\n")
    return (int(code) if code.isdigit() else 0), body


def _query(host: lab_mod.Host, expr: str) -> list[dict[str, Any]]:
    code, body = _get(host, f"http://{PROM}/api/v1/query?query={urllib.parse.quote(expr)}")
    if code != 200:
        return []
    answer = json.loads(body)
    assert answer["status"] == "success", answer
    return list(answer["data"]["result"])


def _poll(what: str, cond: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.netns
def test_prometheus_scrapes_the_daemon_and_reads_the_vrrp_state(lab: lab_mod.Lab) -> None:
    a = lab["a"]
    vip = lab.vip(62)
    prom_dir = lab.workdir / "prometheus"
    prom_dir.mkdir()
    (prom_dir / "prometheus.yml").write_text(PROM_CONF % METRICS)
    d = Daemon(a, CONF % vip, "--metrics", METRICS)
    prom = None
    try:
        d.wait_ready(40)
        d.wait_event("vrrp.state", lambda e: e.body["state"] == "MASTER", timeout=15)
        assert _get(a, f"http://{METRICS}/livez") == (200, "ok\n")
        assert _poll("readyz", lambda: _get(a, f"http://{METRICS}/readyz")[0] == 200, 10)
        code, text = _get(a, f"http://{METRICS}/metrics")
        assert code == 200 and "keepalived_up 1" in text.splitlines()
        check = a.run(["sh", "-c", f"curl -s http://{METRICS}/metrics | promtool check metrics"],
                      check=False)  # fmt: skip
        assert check.strip() == "", check
        prom = a.popen(
            ["prometheus", f"--config.file={prom_dir / 'prometheus.yml'}",
             f"--storage.tsdb.path={prom_dir / 'data'}", f"--web.listen-address={PROM}",
             "--log.level=warn"],
            description="prometheus",
        )  # fmt: skip
        result = _poll(
            "keepalived_vrrp_state in Prometheus",
            lambda: _query(a, "keepalived_vrrp_state"),
            60,
        )
        [series] = result
        labels = series["metric"]
        assert labels["__name__"] == "keepalived_vrrp_state"
        assert (labels["iname"], labels["intf"], labels["vrid"]) == ("VI_1", "eth0", "62")
        assert labels["ip_address"] == f"{vip}/24" and labels["job"] == "pykeepalived"
        assert series["value"][1] == "2"  # MASTER
        sent = _poll(
            "adverts counted",
            lambda: _query(a, 'keepalived_advertisements_sent_total{iname="VI_1"} > 0'),
            30,
        )
        assert float(sent[0]["value"][1]) >= 1
        [up] = _query(a, 'up{job="pykeepalived"}')
        assert up["value"][1] == "1"
    finally:
        if prom is not None:
            prom.stop()
            assert not prom.alive()
        d.stop()
