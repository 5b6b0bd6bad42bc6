"""The whole daemon (lab host): startup_script runs and ends before any child starts,
shutdown_script after the last child has stopped (keepalived 2.2.7's parent), and every
process's script runs are in ``pykeepalivectl status --json``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.daemon import Daemon
from tests.integration.notifier.test_daemon import wait_until
from tests.integration.scripts.test_runner import script
from tests.lab import Lab

pytestmark = [pytest.mark.netns]


def test_startup_and_shutdown_scripts_bracket_the_children(
    lab: Lab, where: tuple[Path, Path]
) -> None:
    d, out = where
    # slow on purpose: a parent that did not wait would start VRRP (and its script) first
    startup = script(d, "startup", f"sleep 1\necho $PPID > {out}/started\n")
    seen = script(
        d, "seen", f"[ -e {out}/started ] && echo yes >> {out}/seen || echo no >> {out}/seen\n"
    )
    shutdown = script(
        d, "shutdown",
        f"pid=$(cat {out}/vrrp_pid)\n"
        f'state=$(sed "s/.*) //" /proc/$pid/stat 2>/dev/null | cut -d" " -f1)\n'
        f'case "$state" in ""|Z|X) echo gone;; *) echo alive;; esac > {out}/shutdown\n',
    )  # fmt: skip
    text = f"""global_defs {{
    router_id lb1
    script_user root
    enable_script_security
    startup_script {startup}
    startup_script_timeout 5
    shutdown_script "{shutdown}"
}}
vrrp_script seen {{
    script "{seen}"
    interval 1
    weight 0
}}
vrrp_instance VI_1 {{
    interface eth0
    virtual_router_id 71
    priority 150
    advert_int 1
    virtual_ipaddress {{
        {lab.vip(71)}/24
    }}
    track_script {{
        seen
    }}
}}
"""
    daemon = Daemon(lab["a"], text, "-P")
    try:
        status = daemon.wait_ready()
        (out / "vrrp_pid").write_text(str(daemon.child_pid("vrrp")))
        wait_until(lambda: (out / "seen").exists(), 5, "the vrrp_script's first run")
        status = daemon.status()
    finally:
        daemon.stop()
    assert (out / "seen").read_text().splitlines()[0] == "yes"
    assert (out / "started").read_text().strip() == str(status["parent"]["pid"])
    assert (out / "shutdown").read_text().strip() == "gone"
    parent_runs = status["parent"]["script_runs"]["by_name"]
    assert parent_runs["startup_script"]["ok"] == 1
    assert parent_runs["startup_script"]["started"] == 1
    vrrp = status["children"]["vrrp"]["status"]
    assert vrrp["state"]["script_runs"]["by_name"]["vrrp_script seen"]["ok"] >= 1
    assert vrrp["counters"]["scripts.started"] >= 1
    log = daemon.proc.output()
    assert "Running startup script" in log and "startup script succeeded" in log
    assert "Running shutdown script" in log and "shutdown script succeeded" in log
