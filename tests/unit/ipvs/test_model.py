"""The LB policy: verdicts, weights, quorum with hysteresis, sorry server, inhibit, ha_suspend."""

from __future__ import annotations

import pytest

from pykeepalived.actors.ipvs.model import (
    LbModel,
    RealSpec,
    SorrySpec,
    SpecError,
    VirtualSpec,
    expand_range,
    next_quorum,
    service_attrs,
    sync_daemon_role,
    view_events,
)
from pykeepalived.actors.ipvs.rules import (
    SVC_F_ONEPACKET,
    SVC_F_PERSISTENT,
    SVC_F_SCHED1,
    SVC_F_SCHED2,
    DestId,
    ServiceId,
)

SID = ServiceId("inet", "tcp", "10.0.0.1", 80)
VS = "10.0.0.1:80"


def rs(n: int, weight: int = 1, **kw: object) -> RealSpec:
    return RealSpec(f"10.1.0.{n}:8080", f"10.1.0.{n}", 8080, weight, checkers=1, **kw)  # type: ignore[arg-type]


def vs(*reals: RealSpec, **kw: object) -> VirtualSpec:
    return VirtualSpec(VS, "tcp", (SID,), service_attrs("wrr"), tuple(reals), **kw)  # type: ignore[arg-type]


def weights(model: LbModel) -> dict[str, int]:
    return {f"{d.address}:{d.port}": a.weight for d, a in model.desired()[SID].dests.items()}


def test_failed_server_is_removed_and_returns() -> None:
    m = LbModel([vs(rs(1, 3), rs(2, 1))])
    assert weights(m) == {"10.1.0.1:8080": 3, "10.1.0.2:8080": 1}
    m.on_check_result(VS, "tcp", "10.1.0.2:8080", "TCP_CHECK", False)
    assert weights(m) == {"10.1.0.1:8080": 3}
    m.on_check_result(VS, "tcp", "10.1.0.2:8080", "TCP_CHECK", True)
    assert weights(m) == {"10.1.0.1:8080": 3, "10.1.0.2:8080": 1}


def test_all_checkers_must_pass() -> None:
    m = LbModel([vs(RealSpec("10.1.0.1:8080", "10.1.0.1", 8080, 2, checkers=2))])
    m.on_check_result(VS, "tcp", "10.1.0.1:8080", "TCP_CHECK", True)
    m.on_check_result(VS, "tcp", "10.1.0.1:8080", "HTTP_GET", False)
    assert weights(m) == {}
    m.on_check_result(VS, "tcp", "10.1.0.1:8080", "HTTP_GET", True)
    assert weights(m) == {"10.1.0.1:8080": 2}


def test_inhibit_on_failure_keeps_weight_zero() -> None:
    m = LbModel([vs(rs(1, 3, inhibit_on_failure=True))])
    m.on_check_result(VS, "tcp", "10.1.0.1:8080", "TCP_CHECK", False)
    assert weights(m) == {"10.1.0.1:8080": 0}


def test_alpha_starts_down_until_first_success() -> None:
    m = LbModel([vs(rs(1, 2, alpha=True))])
    assert weights(m) == {}
    assert m.views()[(VS, "tcp")].quorum_up is False
    m.on_check_result(VS, "tcp", "10.1.0.1:8080", "TCP_CHECK", True)
    assert weights(m) == {"10.1.0.1:8080": 2}
    assert m.views()[(VS, "tcp")].quorum_up is True


def test_dynamic_weight_from_misc_check() -> None:
    m = LbModel([vs(rs(1, 3))])
    m.on_check_result(VS, "tcp", "10.1.0.1:8080", "MISC_CHECK", True, weight=7)
    assert weights(m) == {"10.1.0.1:8080": 7}


@pytest.mark.parametrize(
    ("up", "total", "quorum", "hyst", "expected"),
    [
        (True, 4, 4, 1, True),
        (True, 3, 4, 1, True),  # inside the band: stays up
        (True, 2, 4, 1, False),
        (False, 4, 4, 1, False),  # inside the band: stays down
        (False, 5, 4, 1, True),
        (True, 0, 0, 0, False),  # nothing alive is never a quorum
    ],
)
def test_quorum_hysteresis(up: bool, total: int, quorum: int, hyst: int, expected: bool) -> None:
    assert next_quorum(up, total, quorum, hyst) is expected


def test_sorry_server_replaces_real_servers_on_quorum_loss() -> None:
    sorry = SorrySpec("10.9.0.1:80", "10.9.0.1", 80)
    m = LbModel([vs(rs(1, 2), rs(2, 2), quorum=3, sorry=sorry)])
    assert "10.9.0.1:80" not in weights(m)
    m.on_check_result(VS, "tcp", "10.1.0.1:8080", "TCP_CHECK", False)
    assert weights(m) == {"10.9.0.1:80": 1}
    before = m.views()
    m.on_check_result(VS, "tcp", "10.1.0.1:8080", "TCP_CHECK", True)
    assert weights(m) == {"10.1.0.1:8080": 2, "10.1.0.2:8080": 2}
    events = [(e.TYPE, e.to_body()) for e in view_events(before, m.views())]
    assert ("lb.quorum", {"virtual_server": VS, "protocol": "tcp", "up": True}) in events
    sorry_ev = [b for t, b in events if t == "lb.realserver" and b["real_server"] == "10.9.0.1:80"]
    assert sorry_ev == [
        {
            "virtual_server": VS,
            "protocol": "tcp",
            "real_server": "10.9.0.1:80",
            "weight": 0,
            "active": False,
        }
    ]


def test_sorry_server_inhibit_stays_at_weight_zero() -> None:
    sorry = SorrySpec("10.9.0.1:80", "10.9.0.1", 80, inhibit=True)
    m = LbModel([vs(rs(1, 2), sorry=sorry)])
    assert weights(m) == {"10.1.0.1:8080": 2, "10.9.0.1:80": 0}
    m.on_check_result(VS, "tcp", "10.1.0.1:8080", "TCP_CHECK", False)
    assert weights(m) == {"10.9.0.1:80": 1}


def test_ha_suspend_freezes_the_table() -> None:
    m = LbModel([vs(rs(1), rs(2), ha_suspend=True, address="10.0.0.1")])
    m.set_local_addresses(set())
    assert m.suspended(VS, "tcp")
    m.on_check_result(VS, "tcp", "10.1.0.1:8080", "TCP_CHECK", False)
    assert len(weights(m)) == 2  # frozen
    m.set_local_addresses({"10.0.0.1"})
    assert weights(m) == {"10.1.0.2:8080": 1}


def test_reconfigure_keeps_verdicts_of_surviving_servers() -> None:
    m = LbModel([vs(rs(1), rs(2))])
    m.on_check_result(VS, "tcp", "10.1.0.2:8080", "TCP_CHECK", False)
    m.reconfigure([vs(rs(2), rs(3))])
    assert weights(m) == {"10.1.0.3:8080": 1}


def test_unknown_result_is_counted_not_raised() -> None:
    m = LbModel([vs(rs(1))])
    assert not m.on_check_result("10.9.9.9:80", "tcp", "x", "TCP_CHECK", False)
    assert not m.on_check_result(VS, "tcp", "10.9.9.9:1", "TCP_CHECK", False)
    assert m.unknown_results == 2


def test_port_less_real_server_takes_each_service_port() -> None:
    services = (ServiceId("inet", "tcp", "10.0.0.1", 80), ServiceId("inet", "tcp", "10.0.0.2", 81))
    spec = VirtualSpec(
        "group:G", "tcp", services, service_attrs("rr"), (RealSpec("10.1.0.1", "10.1.0.1", None),)
    )
    desired = LbModel([spec]).desired()
    assert list(desired[services[0]].dests) == [DestId("10.1.0.1", 80)]
    assert list(desired[services[1]].dests) == [DestId("10.1.0.1", 81)]


def test_service_attributes() -> None:
    a = service_attrs(
        "sh",
        persistence_granularity="255.255.255.0",
        ops=True,
        sched_flags=("sh-port", "sh-fallback"),
    )
    assert a.timeout == 360 and a.netmask == "255.255.255.0"
    assert a.flags == SVC_F_PERSISTENT | SVC_F_ONEPACKET | SVC_F_SCHED1 | SVC_F_SCHED2
    assert service_attrs("wlc", persistence_timeout=50, family="inet6").netmask == "128"
    with pytest.raises(SpecError):
        service_attrs("nope")


def test_ranges() -> None:
    assert expand_range("10.0.0.254", "10.0.1.1") == [
        "10.0.0.254",
        "10.0.0.255",
        "10.0.1.0",
        "10.0.1.1",
    ]
    with pytest.raises(SpecError):
        expand_range("10.0.0.1", "10.9.0.1")
    with pytest.raises(SpecError):
        expand_range("10.0.0.5", "10.0.0.1")


def test_sync_daemon_follows_mastership() -> None:
    assert sync_daemon_role("MASTER") == "master"
    assert [sync_daemon_role(s) for s in (None, "BACKUP", "FAULT")] == ["backup"] * 3
