"""nftables rendering of services (pure): selection by weight, refusals, adoption parsing."""

from __future__ import annotations

from pykeepalived.actors.ipvs import nft
from pykeepalived.actors.ipvs.model import service_attrs
from pykeepalived.actors.ipvs.rules import (
    DestAttrs,
    DestId,
    Method,
    Service,
    ServiceAttrs,
    ServiceId,
)

SID = ServiceId("inet", "tcp", "10.0.0.1", 80)


def svc(sched: str, **dests: int) -> Service:
    return Service(
        service_attrs(sched),
        {DestId(k.replace("_", "."), 8080): DestAttrs(w) for k, w in dests.items()},
    )


def test_weighted_slots() -> None:
    rule = nft.dnat_rule(SID, svc("wrr", a_1=3, a_2=1, a_3=0))
    assert rule == (
        "meta l4proto tcp dnat ip to numgen inc mod 4 map { 0-2 : a.1 . 8080, 3 : a.2 . 8080 }"
    )


def test_scheduler_mapping() -> None:
    assert "numgen inc mod 2" in str(nft.dnat_rule(SID, svc("rr", a_1=5, a_2=1)))
    assert "numgen random mod 6" in str(nft.dnat_rule(SID, svc("wlc", a_1=5, a_2=1)))
    assert "jhash ip saddr mod 6" in str(nft.dnat_rule(SID, svc("sh", a_1=5, a_2=1)))
    assert "jhash ip daddr mod 6" in str(nft.dnat_rule(SID, svc("dh", a_1=5, a_2=1)))
    sh_port = Service(service_attrs("sh", sched_flags=("sh-port",)), {DestId("a", 1): DestAttrs(1)})
    assert "jhash ip saddr . th sport mod 1" in str(nft.dnat_rule(SID, sh_port))
    persistent = Service(
        service_attrs("wrr", persistence_timeout=60), {DestId("a", 1): DestAttrs(1)}
    )
    assert "jhash ip saddr" in str(nft.dnat_rule(SID, persistent))
    assert nft.warnings({SID: persistent})
    assert nft.dnat_rule(SID, svc("wrr", a_1=0)) is None


def test_ipv6_and_fwmark() -> None:
    v6 = ServiceId("inet6", "udp", "2001:db8::1", 53)
    rule = nft.dnat_rule(
        v6, Service(service_attrs("rr"), {DestId("2001:db8::2", 53): DestAttrs(1)})
    )
    assert rule == "meta l4proto udp dnat ip6 to numgen inc mod 1 map { 0 : [2001:db8::2] . 53 }"
    fw = ServiceId("inet", "tcp", fwmark=7)
    rule = nft.dnat_rule(fw, Service(service_attrs("rr"), {DestId("10.1.0.1", 0): DestAttrs(1)}))
    assert rule == "dnat ip to numgen inc mod 1 map { 0 : 10.1.0.1 }"
    assert nft.chain_name(fw) != nft.chain_name(ServiceId("inet6", "tcp", fwmark=7))


def test_dr_and_tun_are_refused() -> None:
    s = Service(ServiceAttrs(), {DestId("10.1.0.1", 80): DestAttrs(1, Method.DR)})
    errors = nft.check({SID: s})
    assert len(errors) == 1 and "needs kernel IPVS" in errors[0]


def test_comment_roundtrip() -> None:
    attrs = service_attrs("sh", persistence_timeout=300, persistence_granularity="255.255.0.0")
    assert nft.parse_comment(nft.comment(attrs)) == attrs
    assert nft.parse_comment("someone else's comment") is None


def test_parse_table_reads_back_weights() -> None:
    name = nft.chain_name(SID)
    doc = {
        "nftables": [
            {
                "map": {
                    "name": "svc4",
                    "elem": [[{"concat": ["10.0.0.1", "tcp", 80]}, {"jump": {"target": name}}]],
                }
            },
            {"rule": {"chain": name, "comment": nft.comment(service_attrs("wrr")), "expr": []}},
            {
                "rule": {
                    "chain": name,
                    "expr": [
                        {
                            "dnat": {
                                "addr": {
                                    "map": {
                                        "data": {
                                            "set": [
                                                [{"range": [0, 2]}, {"concat": ["10.1.0.1", 8080]}],
                                                [3, {"concat": ["10.1.0.2", 8080]}],
                                            ]
                                        }
                                    }
                                }
                            }
                        }
                    ],
                }
            },
            {"rule": {"chain": "s_foreign", "expr": []}},
        ]
    }
    got = nft.parse_table(doc)
    assert got == {SID: svc("wrr", **{"10_1_0_1": 3, "10_1_0_2": 1})}
