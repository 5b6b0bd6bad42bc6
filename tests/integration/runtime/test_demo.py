"""``make run``'s demo, unattended: two directors elect a master, the VIP moves on stop."""

from __future__ import annotations

import io
import re
import subprocess

import pytest

from pykeepalived import demo


@pytest.mark.netns
def test_demo_elects_a_master_and_fails_over_then_cleans_up() -> None:
    out = io.StringIO()
    tag = f"pkd{__import__('os').getpid() % 10000}"
    argv = ["--duration", "25", "--failover-after", "0.5", "--once", "--tag", tag]
    assert demo.run(argv, out) == 0
    text = out.getvalue()
    assert "pykeepalivectl" in text or "pykeepalived.ctl" in text
    holders = re.findall(r"\[demo\] t=([\d.]+)s \S+ is on: (\S+)", text)
    assert "a" in [h for _, h in holders], text[-3000:]  # the priority-150 director won
    assert holders[-1][1] == "b", text[-3000:]  # and b took over when a stopped
    assert "Entering MASTER STATE" in text
    assert re.search(r"GET http://\S+/ on [ab]: ", text), text[-3000:]
    # the status printed once a held the address: instance, virtual server, real server
    assert "VI_1             MASTER  priority 150" in text
    # (the checker's verdict; the weight column comes from the ipvs actor when it runs)
    assert re.search(r"-> \S+:80\s+(weight 1  )?UP  checks TCP_CHECK", text), text[-3000:]
    left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert tag not in left
