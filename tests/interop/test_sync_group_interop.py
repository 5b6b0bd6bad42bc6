"""Sync groups against Debian's keepalived 2.2.7: one director is ours, the other keepalived.

Both read the same configuration (tests/integration/vrrp/syncgroup.py: ``VI_EXT`` on the
external segment, ``VI_INT`` on the internal one, ``vrrp_sync_group G``). Whichever side
is master, cutting its internal link must move BOTH VIPs to the other side, and both
sides must agree on every instance's and the group's state (read from each side's
notify FIFO: keepalived writes ``INSTANCE``/``GROUP`` lines, so does our notifier).

keepalived 2.2.7 behaviour this relies on (observed with two keepalived directors in this
lab before writing the aggregator): a member's own fault takes every member to FAULT (a
master member sends priority 0); the group leaves FAULT to BACKUP when the member
recovers; a group becomes MASTER only once every member's down timer has expired; FIFO
order is the members' lines, then the group's line.
"""

from __future__ import annotations

import pytest

from tests.integration.vrrp.support import (  # noqa: F401 - stop_daemons is a fixture
    DaemonProc,
    stop_daemons,
    wait_for,
)
from tests.integration.vrrp.syncgroup import (
    add_internal_segment,
    fifo_lines,
    holds_both,
    holds_none,
    start_fifo_reader,
    sync_conf,
)
from tests.lab import Host, Lab

pytestmark = [pytest.mark.interop, pytest.mark.netns, pytest.mark.usefixtures("stop_daemons")]

ADV = 0.5
TAKEOVER = 3 * ADV + 3


#: our daemon in a host (its states come from its event tap: its notifier may start after
#: the vrrp actor's first events, so its FIFO can miss the start-up lines)
OURS: dict[str, DaemonProc] = {}


def states(host: Host) -> dict[str, str]:
    """The last state of each instance and of the group on one side."""
    out: dict[str, str] = {}
    ours = OURS.get(host.netns)
    if ours is not None:
        for e in ours.daemon.events("vrrp."):
            if e.type == "vrrp.state":
                out[f"INSTANCE {e.body['instance']}"] = e.body["state"]
            elif e.type == "vrrp.group":
                out[f"GROUP {e.body['group']}"] = e.body["state"]
        return out
    for line in fifo_lines(host, "notify"):
        kind, name, state, _ = line.split()
        out[f"{kind} {name.strip(chr(34))}"] = state
    return out


def agree(host: Host, state: str) -> bool:
    want = {"INSTANCE VI_EXT": state, "INSTANCE VI_INT": state, "GROUP G": state}
    return states(host) == want


@pytest.mark.parametrize("master", ["ours", "keepalived"])
def test_internal_link_failure_moves_both_vips_across_implementations(
    lab: Lab, master: str
) -> None:
    a, b = lab["a"], lab["b"]  # a: the higher priority (first master)
    add_internal_segment(lab)
    fifo_a, _ = start_fifo_reader(a, "notify")
    fifo_b, _ = start_fifo_reader(b, "notify")
    conf_a = sync_conf(lab, 200, fifo_a, advert_int=ADV)
    conf_b = sync_conf(lab, 100, fifo_b, advert_int=ADV)
    OURS.clear()
    if master == "ours":
        b.start_keepalived(conf_b, "-P")
        OURS[a.netns] = DaemonProc(a, conf_a)
    else:
        a.start_keepalived(conf_a, "-P")
        OURS[b.netns] = DaemonProc(b, conf_b)
    wait_for(lambda: holds_both(a, lab) and holds_none(b, lab), 2 * TAKEOVER, "a master")
    wait_for(lambda: agree(a, "MASTER") and agree(b, "BACKUP"), 3, "a MASTER, b BACKUP")

    n_a = len(fifo_lines(a, "notify"))
    a.run(["ip", "link", "set", "eth1", "down"])
    wait_for(lambda: holds_both(b, lab), TAKEOVER, "both VIPs on b")
    wait_for(lambda: agree(b, "MASTER") and agree(a, "FAULT"), 3, "b MASTER, a FAULT")
    assert holds_none(a, lab)
    assert fifo_lines(a, "notify")[n_a:] == [
        'INSTANCE "VI_INT" FAULT 200', 'INSTANCE "VI_EXT" FAULT 200', 'GROUP "G" FAULT 0',
    ]  # fmt: skip
    b_lines = fifo_lines(b, "notify")
    assert b_lines[-1] == 'GROUP "G" MASTER 0', b_lines
    if master == "ours":
        # our VI_EXT left MASTER for the group's FAULT with priority 0, as keepalived's does
        ka_log = next(p for p in b.procs if p.description == "keepalived").output()
        assert "(VI_EXT) Backup received priority 0 advertisement" in ka_log

    n_a = len(fifo_lines(a, "notify"))
    a.run(["ip", "link", "set", "eth1", "up"])
    wait_for(lambda: holds_both(a, lab) and holds_none(b, lab), 2 * TAKEOVER, "VIPs back on a")
    wait_for(lambda: agree(a, "MASTER") and agree(b, "BACKUP"), 3, "a MASTER, b BACKUP again")
    assert fifo_lines(a, "notify")[n_a : n_a + 3] == [
        'INSTANCE "VI_INT" BACKUP 200', 'INSTANCE "VI_EXT" BACKUP 200', 'GROUP "G" BACKUP 0',
    ]  # fmt: skip
