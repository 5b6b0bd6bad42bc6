"""Our VRRP actor against Debian's keepalived 2.2.7 on one lab segment.

Both directions of mastership, v2 and v3, IPv4 and IPv6, multicast and unicast, PASS and
AH (a wrong key is not accepted), preemption and nopreempt, priority-0 handover, silent
failure (outgoing VRRP dropped on the bridge) and link cut. v3 cases use 0.1 s adverts to
keep the suite short; v2 needs whole seconds. Our side is the real daemon
(``pykeepalived -P``: parent, vrrp, netlink and notifier actors) reading the same
keepalived.conf syntax as its peer.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.integration.vrrp.support import (  # noqa: F401 - stop_daemons is a fixture
    DaemonProc,
    has_vip,
    keepalived_conf,
    stop_daemons,
    wait_for,
)
from tests.lab import Host, Lab, Proc

pytestmark = [pytest.mark.interop, pytest.mark.netns, pytest.mark.usefixtures("stop_daemons")]


def start_ours(host: Host, vip: str, **kw: Any) -> DaemonProc:
    """Our daemon with a keepalived.conf for one instance (same generator as the peer's)."""
    if "/" not in vip:
        vip += "/64" if ":" in vip else "/24"
    return DaemonProc(host, keepalived_conf(vip, **kw))


def ka_states(ka: Proc) -> list[str]:
    return [
        line.split("Entering ")[1].split(" STATE")[0]
        for line in ka.output().splitlines()
        if "Entering " in line and " STATE" in line
    ]


def wait_ka(ka: Proc, state: str, timeout: float, after: int = 0) -> None:
    wait_for(lambda: state in ka_states(ka)[after:], timeout, f"keepalived {state}")


@pytest.mark.parametrize(("version", "family"), [(2, "inet"), (3, "inet"), (3, "inet6")])
def test_we_win_then_hand_over_with_priority_zero_then_preempt_back(
    lab: Lab, version: int, family: str
) -> None:
    a, b = lab["a"], lab["b"]
    vip = lab.vip(100) if family == "inet" else lab.vip6(0x100)
    plen = "/24" if family == "inet" else "/64"
    adv = 1 if version == 2 else 0.1
    ka = b.start_keepalived(keepalived_conf(vip + plen, priority=100, version=version,
                                            advert_int=adv), "-P")  # fmt: skip
    ours = start_ours(a, vip, priority=200, version=version, advert_int=adv)
    ours.wait_state("MASTER", timeout=3.7 * adv + 2)
    wait_for(lambda: has_vip(a, vip), 3, "VIP on ours")
    # keepalived may have timed out first while our process started: it must step down
    wait_for(lambda: ka_states(ka)[-1] == "BACKUP" and not has_vip(b, vip), 3, "ka backup")
    time.sleep(3 * adv)
    assert ka_states(ka)[-1] == "BACKUP" and not has_vip(b, vip)
    # priority 0 on stop: keepalived takes over after its skew time, not a full timeout
    t0 = time.monotonic()
    ours.stop()
    wait_for(lambda: has_vip(b, vip), 3 * adv + 2, "keepalived takes the VIP")
    assert time.monotonic() - t0 < 0.609 * (1 if version == 2 else adv) + 0.8
    assert not has_vip(a, vip)
    # we come back with a higher priority: we preempt, keepalived steps down
    ours2 = start_ours(a, vip, priority=200, version=version, advert_int=adv)  # fmt: skip
    ours2.wait_state("MASTER", timeout=3.7 * adv + 2)
    wait_for(lambda: not has_vip(b, vip), 3, "keepalived releases the VIP")
    assert ka_states(ka)[-1] == "BACKUP"
    st = ours2.status()["instances"]["VI_1"]
    assert st["state"] == "MASTER" and not any(k.startswith("rx_drop") for k in st["counters"])


@pytest.mark.parametrize("family", ["inet", "inet6"])
def test_keepalived_wins_and_silent_failure_moves_the_vip_to_us(lab: Lab, family: str) -> None:
    a, b = lab["a"], lab["b"]
    vip = lab.vip(101) if family == "inet" else lab.vip6(0x101)
    plen = "/24" if family == "inet" else "/64"
    b.start_keepalived(keepalived_conf(vip + plen, priority=200, version=3,
                                            advert_int=0.1), "-P")  # fmt: skip
    wait_for(lambda: has_vip(b, vip), 5, "keepalived master")
    ours = start_ours(a, vip, priority=100, version=3, advert_int=0.1)
    time.sleep(1.0)
    assert ours.states() == ["BACKUP"] and not has_vip(a, vip)
    b.drop_vrrp()
    t0 = time.monotonic()
    ours.wait_state("MASTER", timeout=3)
    took = time.monotonic() - t0
    assert took < 0.37 + 0.3, took  # 3 x 0.1 + skew(100) 0.061; failure time is t0
    wait_for(lambda: has_vip(a, vip), 2, "VIP on ours")
    b.allow_vrrp()
    # keepalived (higher priority, still master) asserts itself; we return to backup
    ours.wait_state("BACKUP", timeout=3, after=2)
    wait_for(lambda: not has_vip(a, vip), 2, "VIP released")
    counters = ours.status()["instances"]["VI_1"]["counters"]
    assert not any(k.startswith("rx_drop") for k in counters), counters


@pytest.mark.parametrize("version", [2, 3])
def test_unicast_both_ways(lab: Lab, version: int) -> None:
    a, b = lab["a"], lab["b"]
    vip = lab.vip(102)
    adv = 1 if version == 2 else 0.1
    extra = f"    unicast_src_ip {b.ipv4}\n    unicast_peer {{\n        {a.ipv4}\n    }}"
    ka = b.start_keepalived(keepalived_conf(f"{vip}/24", priority=200, version=version,
                                            advert_int=adv, extra=extra), "-P")  # fmt: skip
    wait_for(lambda: has_vip(b, vip), 3.7 * adv + 3, "keepalived master")
    mine = f"    unicast_src_ip {a.ipv4}\n    unicast_peer {{\n        {b.ipv4}\n    }}"
    ours = start_ours(a, vip, priority=100, version=version, advert_int=adv, extra=mine)
    time.sleep(4 * adv + 0.5)
    assert ours.states() == ["BACKUP"]
    ka.stop()  # priority 0 by unicast
    ours.wait_state("MASTER", timeout=2)
    wait_for(lambda: has_vip(a, vip), 2, "VIP on ours")
    st = ours.status()["instances"]["VI_1"]
    assert st["counters"]["priority_zero_rx"] == 1
    if version == 2:
        return
    assert st["peer_checksum"] == "pseudo_dst"  # keepalived >= 1.3.7 unicast form
    # keepalived restarted with a lower priority stays backup behind our unicast adverts
    ka2 = b.start_keepalived(keepalived_conf(f"{vip}/24", priority=50, version=version,
                                             advert_int=adv, extra=extra), "-P")  # fmt: skip
    time.sleep(4 * adv + 1)
    assert "MASTER" not in ka_states(ka2) and "BACKUP" in ka_states(ka2)


@pytest.mark.parametrize("auth", ["PASS", "AH"])
def test_authentication_good_key_is_stable(lab: Lab, auth: str) -> None:
    a, b = lab["a"], lab["b"]
    vip = lab.vip(103)
    extra = f"    authentication {{\n        auth_type {auth}\n        auth_pass s3cret\n    }}"
    ka = b.start_keepalived(keepalived_conf(f"{vip}/24", priority=100, extra=extra), "-P")
    ours = start_ours(a, vip, priority=200, extra=extra)
    ours.wait_state("MASTER", timeout=6)
    wait_for(lambda: ka_states(ka)[-1] == "BACKUP" and not has_vip(b, vip), 3, "ka backup")
    time.sleep(2.5)
    assert ka_states(ka)[-1] == "BACKUP", ka.output()
    assert "invalid" not in ka.output().lower()
    assert ours.states() == ["BACKUP", "MASTER"]
    ours.stop()
    wait_for(lambda: has_vip(b, vip), 3, "keepalived takes over on priority 0")


def test_ah_wrong_key_is_rejected_both_ways(lab: Lab) -> None:
    a, b = lab["a"], lab["b"]
    vip = lab.vip(104)
    extra = "    authentication {\n        auth_type AH\n        auth_pass right\n    }"
    ka = b.start_keepalived(keepalived_conf(f"{vip}/24", priority=200, extra=extra), "-P")
    wait_for(lambda: has_vip(b, vip), 6, "keepalived master")
    ours = start_ours(a, vip, priority=100, extra=extra.replace("right", "wrong"))
    ours.wait_state("MASTER", timeout=6)  # keepalived's adverts do not count: both master
    counters = ours.status()["instances"]["VI_1"]["counters"]
    assert counters.get("rx_drop.ah_bad_icv", 0) >= 2
    assert counters.get("adverts_rx", 0) == 0
    wait_for(lambda: "invalid IPSEC HMAC-MD5" in ka.output(), 3, "keepalived rejects ours")


def test_pass_wrong_password_is_rejected(lab: Lab) -> None:
    a, b = lab["a"], lab["b"]
    vip = lab.vip(105)
    extra = "    authentication {\n        auth_type PASS\n        auth_pass right\n    }"
    b.start_keepalived(keepalived_conf(f"{vip}/24", priority=200, extra=extra), "-P")
    wait_for(lambda: has_vip(b, vip), 6, "keepalived master")
    ours = start_ours(a, vip, priority=100, extra=extra.replace("right", "wrong"))
    ours.wait_state("MASTER", timeout=6)
    assert ours.status()["instances"]["VI_1"]["counters"].get("rx_drop.auth_failed", 0) >= 2


def test_nopreempt_higher_priority_stays_backup(lab: Lab) -> None:
    a, b = lab["a"], lab["b"]
    vip = lab.vip(106)
    b.start_keepalived(keepalived_conf(f"{vip}/24", priority=100, version=3,
                                       advert_int=0.1), "-P")  # fmt: skip
    wait_for(lambda: has_vip(b, vip), 5, "keepalived master")
    ours = start_ours(a, vip, priority=200, version=3, advert_int=0.1, extra="    nopreempt")
    time.sleep(1.5)
    assert ours.states() == ["BACKUP"] and has_vip(b, vip) and not has_vip(a, vip)
    # (preemption of a lower-priority keepalived is covered by the priority-0 test above)


def test_equal_priority_higher_address_wins(lab: Lab) -> None:
    a, b = lab["a"], lab["b"]  # b has the higher address
    vip = lab.vip(107)
    ka = b.start_keepalived(keepalived_conf(f"{vip}/24", priority=100, version=3,
                                            advert_int=0.1), "-P")  # fmt: skip
    wait_for(lambda: has_vip(b, vip), 5, "keepalived master")
    ours = start_ours(a, vip, priority=100, version=3, advert_int=0.1)
    time.sleep(1.5)
    assert ours.states() == ["BACKUP"]
    assert ka_states(ka).count("MASTER") == 1


def test_link_cut_sends_us_to_fault_and_back(lab: Lab) -> None:
    a, b = lab["a"], lab["b"]
    vip = lab.vip(108)
    ka = b.start_keepalived(keepalived_conf(f"{vip}/24", priority=100, version=3,
                                            advert_int=0.1), "-P")  # fmt: skip
    ours = start_ours(a, vip, priority=200, version=3, advert_int=0.1)
    ours.wait_state("MASTER", timeout=3)
    n = len(ours.states())
    a.cut_link()  # a's eth0 loses carrier: FAULT, VIP removed; keepalived times out
    fault = ours.wait_state("FAULT", timeout=2, after=n)
    assert fault["body"]["reason"] == "eth0 down" and fault["body"]["prev"] == "MASTER"
    wait_for(lambda: not has_vip(a, vip), 2, "VIP removed on FAULT")
    wait_for(lambda: has_vip(b, vip), 3, "VIP on keepalived")
    a.restore_link()
    ours.wait_state("BACKUP", timeout=2, after=n + 1)
    ours.wait_state("MASTER", timeout=3, after=n + 2)  # preempts the lower priority again
    wait_for(lambda: not has_vip(b, vip), 3, "keepalived steps back")
    assert ka_states(ka)[-1] == "BACKUP"
