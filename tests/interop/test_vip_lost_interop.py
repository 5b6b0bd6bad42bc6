"""A VIP removed by another program (``ip addr del``) on the master, ours and keepalived's.

Measured on Debian's keepalived 2.2.7 in this lab (v2, 1 s adverts, master priority 200,
backup 100, a VIP and an eVIP): the master logs "Netlink reflector reports IP ... removed",
enters BACKUP, sends one priority-0 advert 3-9 ms after the deletion, removes its other
addresses, and Skew_Time later (0.219-0.228 s after the priority 0; Skew_Time of priority
200 is 0.21875 s) is MASTER again with every address back. The backup logs "Backup
received priority 0 advertisement", sends nothing and stays BACKUP. The same for an eVIP
and a virtual route (``ip route del``); a VIP marked ``no_track`` is not noticed (nor put back).

``track_group`` on a static address: deleting the address by hand only has it put back;
its interface going down takes the group's instances to FAULT (priority 0), and up again
to BACKUP and MASTER a Master_Down_Interval later, ours as keepalived.

Each VIP case runs both ways: our daemon as the master with keepalived as the backup peer, and
keepalived as the master (the reference, timed by the same assertions) with ours as the
backup. A tcpdump in a third namespace (``c``) timestamps the adverts.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass

import pytest

from tests.integration.vrrp.support import (  # noqa: F401 - stop_daemons is a fixture
    DaemonProc,
    has_vip,
    keepalived_conf,
    stop_daemons,
    wait_for,
)
from tests.interop.test_vrrp_interop import ka_states
from tests.lab import Host, Lab, Proc

pytestmark = [
    pytest.mark.interop,
    pytest.mark.netns,
    pytest.mark.usefixtures("stop_daemons"),
    pytest.mark.skipif(shutil.which("tcpdump") is None, reason="needs tcpdump"),
]

ROUTE = "192.0.2.0/24"  # a virtual route (TEST-NET-1, never reached: no traffic is sent)
SKEW_200 = 56 / 256  # v2 Skew_Time of priority 200
# tolerances around keepalived's measured 3-9 ms and 0.219-0.228 s (Python and a loaded box)
PRIO0_WITHIN = 0.15
SKEW_TOLERANCE = (-0.005, 0.08)
BACK_WITHIN = 0.8


@dataclass
class Pair:
    master: Host
    backup: Host
    ours: DaemonProc
    ka: Proc
    cap: Proc
    vip: str
    evip: str

    def adverts(self, src: Host, after: float) -> list[tuple[float, int]]:
        """(time, priority) of every advert ``src`` sent after ``after`` (tcpdump -tt)."""
        out = []
        for line in self.cap.output().splitlines():
            words = line.split()
            if len(words) > 4 and words[1] == "IP" and words[2] == src.ipv4 and "prio" in words:
                at = float(words[0])
                prio = int(words[words.index("prio") + 1].rstrip(","))
                if at > after:
                    out.append((at, prio))
        return out


def _start(lab: Lab, ours_master: bool, vips: str, evip: str) -> Pair:
    a, b, c = lab["a"], lab["b"], lab["c"]
    cap = c.popen(["tcpdump", "-tt", "-n", "-l", "-i", "eth0", "ip proto 112"],
                  description="tcpdump")  # fmt: skip
    route = f"{ROUTE} via {lab.vip(250)} dev eth0"
    extra = (f"    virtual_ipaddress_excluded {{\n        {evip}/24\n    }}\n"
             f"    virtual_routes {{\n        {route}\n    }}")  # fmt: skip
    ours_prio, ka_prio = (200, 100) if ours_master else (100, 200)
    ka = b.start_keepalived(keepalived_conf(vips, priority=ka_prio, extra=extra), "-P")
    ours = DaemonProc(a, keepalived_conf(vips, priority=ours_prio, extra=extra))
    master, backup = (a, b) if ours_master else (b, a)
    vip = vips.split("/")[0].strip()
    wait_for(lambda: has_vip(master, vip) and has_vip(master, evip), 10, "master's VIPs")
    if ours_master:
        ours.wait_state("MASTER", timeout=5)
    wait_for(lambda: ka_states(ka)[-1] == ("MASTER" if not ours_master else "BACKUP"), 5,
             "keepalived settled")  # fmt: skip
    wait_for(lambda: not has_vip(backup, vip), 3, "backup without VIPs")
    time.sleep(1.5)  # between two adverts, both sides steady
    return Pair(master, backup, ours, ka, cap, vip, evip)


def _delete(pair: Pair, address: str) -> float:
    t_del = time.time()
    if address == ROUTE:
        pair.master.run(["ip", "route", "del", ROUTE])
    else:
        pair.master.run(["ip", "addr", "del", f"{address}/24", "dev", "eth0"])
    return t_del


def has_route(host: Host) -> bool:
    return ROUTE in host.run(["ip", "route", "show", ROUTE])


@pytest.mark.parametrize("ours_master", [True, False], ids=["ours-master", "keepalived-master"])
@pytest.mark.parametrize("which", ["vip", "evip", "route"])
def test_a_removed_vip_sends_priority_zero_and_the_master_wins_back_in_skew_time(
    lab3: Lab, ours_master: bool, which: str
) -> None:
    vip, evip = lab3.vip(100), lab3.vip(101)
    pair = _start(lab3, ours_master, f"{vip}/24", evip)
    states_before = pair.ours.states()
    ka_before = ka_states(pair.ka)
    master_log = pair.ours.log if ours_master else pair.ka.output
    removals = master_log().count("removing VIPs.")
    assert has_route(pair.master) and not has_route(pair.backup)
    t_del = _delete(pair, {"vip": vip, "evip": evip, "route": ROUTE}[which])
    t_back = wait_for(
        lambda: has_vip(pair.master, vip) and has_vip(pair.master, evip)
        and has_route(pair.master), 3, "every address and the route back",
    )  # fmt: skip
    time.sleep(2.5)  # two more adverts, and tcpdump's output flushed
    sent = pair.adverts(pair.master, t_del)
    zeros = [at for at, prio in sent if prio == 0]
    assert len(zeros) == 1, sent
    t0 = zeros[0]
    assert t0 - t_del < PRIO0_WITHIN, (t0 - t_del, sent)
    t1 = next(at for at, prio in sent if at > t0)
    assert [prio for at, prio in sent if at > t0] == [200] * len(sent[1:])
    lo, hi = SKEW_TOLERANCE
    assert SKEW_200 + lo < t1 - t0 < SKEW_200 + hi, (t1 - t0, sent)
    assert t_back - t_del < BACK_WITHIN
    # the step down removed the other addresses too (then the new master put all back)
    assert master_log().count("removing VIPs.") == removals + 1
    assert pair.adverts(pair.backup, t_del) == []  # the backup never answered
    assert not has_vip(pair.backup, vip) and not has_vip(pair.backup, evip)
    if ours_master:
        new = pair.ours.states()[len(states_before) :]
        assert new == ["BACKUP", "MASTER"], new
        assert ka_states(pair.ka) == ka_before  # keepalived stayed BACKUP throughout
        assert "Backup received priority 0 advertisement" in pair.ka.output()
        st = pair.ours.status()["instances"]["VI_1"]
        assert st["state"] == "MASTER" and st["counters"]["lost.tracked"] == 1
    else:
        assert ka_states(pair.ka)[len(ka_before) :] == ["BACKUP", "MASTER"]
        if which != "route":  # keepalived logs nothing of its own for a lost route
            assert "removed from eth0" in pair.ka.output()
        assert pair.ours.states() == states_before  # ours stayed BACKUP throughout
        st = pair.ours.status()["instances"]["VI_1"]
        assert st["state"] == "BACKUP" and st["counters"]["priority_zero_rx"] == 1


@pytest.mark.parametrize("ours_master", [True, False], ids=["ours-master", "keepalived-master"])
def test_a_removed_no_track_vip_is_not_noticed(lab3: Lab, ours_master: bool) -> None:
    vip, other, evip = lab3.vip(102), lab3.vip(103), lab3.vip(104)
    pair = _start(lab3, ours_master, f"{vip}/24 no_track\n        {other}/24", evip)
    states_before, ka_before = pair.ours.states(), ka_states(pair.ka)
    t_del = _delete(pair, vip)
    time.sleep(2.5)
    sent = pair.adverts(pair.master, t_del)
    assert sent and {prio for _, prio in sent} == {200}, sent
    assert not has_vip(pair.master, vip)  # not put back either
    assert has_vip(pair.master, other) and has_vip(pair.master, evip)
    assert pair.ours.states() == states_before and ka_states(pair.ka) == ka_before
    if ours_master:
        st = pair.ours.status()["instances"]["VI_1"]
        assert st["counters"]["lost.untracked"] == 1
        assert st["counters"].get("lost.tracked", 0) == 0


TRACK_GROUP_HEAD = """track_group G1 {
    group {
        VI_1
    }
}
static_ipaddress {
    203.0.113.1/24 dev eth1 track_group G1
}
"""


@pytest.mark.parametrize("impl", ["ours", "keepalived"])
def test_the_interface_of_a_track_group_static_address_going_down_faults_the_instance(
    lab3: Lab, impl: str
) -> None:
    """keepalived 2.2.7: "Netlink reports eth1 down", FAULT with priority 0 and the VIPs
    removed; eth1 up: BACKUP, the static address put back, MASTER a Master_Down_Interval
    later. (A static address deleted by hand is only put back: no state change.)"""
    a, c = lab3["a"], lab3["c"]
    a.run(["ip", "link", "add", "eth1", "type", "veth", "peer", "name", "eth1p"])
    for dev in ("eth1", "eth1p"):
        a.run(["ip", "link", "set", dev, "up"])
    vip = lab3.vip(120)
    cap = c.popen(["tcpdump", "-tt", "-n", "-l", "-i", "eth0", "ip proto 112"],
                  description="tcpdump")  # fmt: skip
    conf = TRACK_GROUP_HEAD + keepalived_conf(f"{vip}/24", priority=200)
    if impl == "ours":
        ours = DaemonProc(a, conf)
        states = ours.states
    else:
        ka = a.start_keepalived(conf, "-P")
        states = lambda: ka_states(ka)  # noqa: E731
    wait_for(lambda: "MASTER" in states() and has_vip(a, vip), 10, "master")
    wait_for(lambda: "203.0.113.1/24" in a.addresses("eth1"), 3, "static address")
    # deleted by hand: put back, the instance stays master
    n = len(states())
    a.run(["ip", "addr", "del", "203.0.113.1/24", "dev", "eth1"])
    wait_for(lambda: "203.0.113.1/24" in a.addresses("eth1"), 3, "static address back")
    time.sleep(1)
    assert len(states()) == n and has_vip(a, vip)
    # its interface goes down: FAULT
    t_down = time.time()
    a.run(["ip", "link", "set", "eth1", "down"])
    wait_for(lambda: states()[n:] == ["FAULT"], 2, "FAULT")
    wait_for(lambda: not has_vip(a, vip), 2, "VIP removed")
    time.sleep(2)
    assert states()[n:] == ["FAULT"]
    t_up, t_up_mono = time.time(), time.monotonic()
    a.run(["ip", "link", "set", "eth1", "up"])
    wait_for(lambda: states()[n:] == ["FAULT", "BACKUP"], 2, "BACKUP")
    t_master = wait_for(lambda: states()[n:] == ["FAULT", "BACKUP", "MASTER"], 6, "MASTER")
    assert 3.0 < t_master - t_up_mono < 4.0  # Master_Down_Interval of priority 200: 3.22 s
    wait_for(lambda: has_vip(a, vip), 2, "VIP back")
    assert "203.0.113.1/24" in a.addresses("eth1")
    time.sleep(0.5)
    rows = [line.split() for line in cap.output().splitlines()]
    sent = [(float(w[0]), int(w[w.index("prio") + 1].rstrip(",")))
            for w in rows if "prio" in w and w[2] == a.ipv4]  # fmt: skip
    down = [prio for at, prio in sent if t_down < at < t_up + 3.0]
    assert down and set(down) == {0}, sent  # priority 0 on entering FAULT, then silence
    assert next(at for at, prio in sent if prio == 0 and at > t_down) - t_down < 0.5
