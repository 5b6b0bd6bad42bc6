"""``notify_priority_changes``: the vrrp FIFO lines and the ``notify`` script runs when a
``track_file`` moves an instance's priority, in BACKUP (a higher peer is master) and in
MASTER, are the ones Debian's keepalived gives for the same configuration in the same place."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.daemon import Daemon
from tests.integration.notifier.test_daemon import open_fifo, read_fifo_until, wait_until
from tests.lab import Host, Lab, Proc

pytestmark = [pytest.mark.netns, pytest.mark.interop]

VRID = 66


def our_conf(lab: Lab, *, fifo: str, script: Path, weights: Path, where: str) -> str:
    """The instance under test; ``where`` says where the flag is set: instance, sync
    group (with ``sync_group_tracking_weight``: without it keepalived ignores a member's
    track weights) or global_defs."""
    glob = "    vrrp_notify_priority_changes\n" if where == "global" else ""
    inst = "    notify_priority_changes\n" if where == "instance" else ""
    group = (
        "vrrp_sync_group G1 {\n    group {\n        VI_1\n        VI_2\n    }\n"
        "    notify_priority_changes\n    sync_group_tracking_weight\n}\n"
        if where == "group"
        else ""
    )
    second = (
        f"vrrp_instance VI_2 {{\n    state BACKUP\n    interface eth0\n"
        f"    virtual_router_id {VRID + 1}\n    priority 100\n    advert_int 0.2\n"
        f"    virtual_ipaddress {{\n        {lab.vip(VRID + 1)}/24\n    }}\n}}\n"
        if where == "group"
        else ""
    )
    return f"""global_defs {{
    vrrp_version 3
    router_id lb1
    script_user root
    enable_script_security
    vrrp_notify_fifo {fifo}
    vrrp_garp_master_delay 0
{glob}}}
track_file TF {{
    file {weights}
    weight -10
}}
{group}vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id {VRID}
    priority 150
    advert_int 0.2
    virtual_ipaddress {{
        {lab.vip(VRID)}/24
    }}
    track_file {{
        TF
    }}
    notify "{script} generic"
{inst}}}
{second}"""


def peer_conf(lab: Lab) -> str:
    """A keepalived master at priority 200 on host b: ours stays BACKUP while it runs."""
    return f"""global_defs {{
    vrrp_version 3
}}
vrrp_instance VI_1 {{
    state MASTER
    interface eth0
    virtual_router_id {VRID}
    priority 200
    advert_int 0.2
    virtual_ipaddress {{
        {lab.vip(VRID)}/24
    }}
}}
"""


def scenario(lab: Lab, who: str, where: str) -> tuple[str, list[str]]:
    """Run ``who`` on host a through BACKUP and MASTER priority changes; return its FIFO
    text and its notify script's invocations."""
    a, b = lab["a"], lab["b"]
    work = lab.workdir
    fifo, log = str(work / f"{who}-{where}.fifo"), work / f"{who}-{where}.log"
    weights = work / f"weights-{who}-{where}"
    weights.write_text("1\n")  # priority 140 from the start
    script = work / "notify.sh"
    script.write_text('#!/bin/sh\nout="notify"\nfor a in "$@"; do out="$out [$a]"; done\n'
                      f'echo "$out" >> "$(dirname $0)/$(cat {work}/current)"\n')  # fmt: skip
    script.chmod(0o755)
    (work / "current").write_text(log.name)
    peer = b.start_keepalived(peer_conf(lab), "-P")
    wait_until(lambda: "Entering MASTER STATE" in peer.output(), 15, "the peer to be master")
    text = ""
    stop = _start(a, who, our_conf(lab, fifo=fifo, script=script, weights=weights, where=where))
    try:
        fd = open_fifo(fifo)
        text += read_fifo_until(fd, lambda s: 'VI_1" BACKUP 140' in s, 10)
        text += read_fifo_until(fd, lambda s: False, 1.5)  # settled in BACKUP
        weights.write_text("2\n")  # 130, still below the peer
        text += read_fifo_until(fd, lambda s: "130" in s, 3)
        peer.stop(grace=5)  # the peer goes (priority 0 advert): we take over at 130
        text += read_fifo_until(fd, lambda s: 'VI_1" MASTER' in s, 10)
        for value, prio in (("3", 120), ("0", 150)):
            weights.write_text(f"{value}\n")
            text += read_fifo_until(fd, lambda s, p=prio: str(p) in s, 3)
        text += read_fifo_until(fd, lambda s: False, 1)
    finally:
        stop()
    text += read_fifo_until(fd, lambda s: 'VI_1" STOP' in s, 5)
    os.close(fd)
    wait_until(lambda: log.exists(), 5, "the notify script")
    return text, log.read_text().splitlines()


def _start(host: Host, who: str, text: str) -> Callable[[], object]:
    """Start ``who`` in ``host``; return what stops it."""
    if who == "keepalived":
        proc: Proc = host.start_keepalived(text, "-P")
        return lambda: proc.stop(grace=5)
    d = Daemon(host, text, "-P")
    return d.stop


@pytest.mark.parametrize("where", ["instance", "group", "global"])
def test_priority_change_lines_and_scripts_equal_keepalived(lab: Lab, where: str) -> None:
    lab.workdir.chmod(0o755)
    got = {who: scenario(lab, who, where) for who in ("keepalived", "pykeepalived")}
    assert got["pykeepalived"] == got["keepalived"]
    lines, runs = got["keepalived"]
    # the start-up weight comes before the first state line; no script runs for it
    assert lines.startswith('INSTANCE "VI_1" BACKUP_PRIORITY 140\n'), lines
    for line in ("BACKUP_PRIORITY 130", "MASTER 130", "MASTER_PRIORITY 120", "MASTER_PRIORITY 150"):
        assert f'INSTANCE "VI_1" {line}\n' in lines, lines
    assert runs == [
        "notify [generic] [INSTANCE] [VI_1] [BACKUP] [140]",
        "notify [generic] [INSTANCE] [VI_1] [MASTER] [130]",
        "notify [generic] [INSTANCE] [VI_1] [STOP] [150]",
    ]
