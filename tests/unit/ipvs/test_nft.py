"""nftables rendering (pure): slot tables by weight, rules, refusals, adoption, netlink batches."""

from __future__ import annotations

import struct
from collections import Counter

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
A, B, C = DestId("10.1.0.1", 8080), DestId("10.1.0.2", 8080), DestId("10.1.0.3", 8080)


def svc(sched: str, **weights: int) -> Service:
    dests = {A: weights.get("a", 0), B: weights.get("b", 0), C: weights.get("c", 0)}
    return Service(
        service_attrs(sched), {d: DestAttrs(w) for d, w in dests.items() if w is not None}
    )


def test_slots_follow_weights_and_interleave() -> None:
    table = nft.slot_table(svc("wrr", a=3, b=1), 64)
    assert Counter(table) == {A: 48, B: 16}
    assert table[:4].count(B) == 1  # smooth: B comes once in every four, not in a block
    assert Counter(nft.slot_table(svc("rr", a=5, b=1), 64)) == {A: 32, B: 32}
    assert nft.slot_table(svc("wrr", a=0, b=0), 64) == [None] * 64
    assert nft.slots_for(3) == 64 and nft.slots_for(65) == 128


def test_rules_per_scheduler() -> None:
    assert nft.dnat_rule(SID, svc("wrr", a=1), 64) == (
        f"meta l4proto tcp dnat ip to numgen inc mod 64 map @{nft.map_name(SID)}"
    )
    assert "numgen random mod 64" in nft.dnat_rule(SID, svc("wlc", a=1), 64)
    assert "jhash ip saddr mod 64" in nft.dnat_rule(SID, svc("sh", a=1), 64)
    assert "jhash ip daddr mod 64" in nft.dnat_rule(SID, svc("dh", a=1), 64)
    sh_port = Service(service_attrs("sh", sched_flags=("sh-port",)), {A: DestAttrs(1)})
    assert "jhash ip saddr . th sport mod 64" in nft.dnat_rule(SID, sh_port, 64)
    persistent = Service(service_attrs("wrr", persistence_timeout=60), {A: DestAttrs(1)})
    assert "jhash ip saddr mod 64" in nft.dnat_rule(SID, persistent, 64)
    assert nft.warnings({SID: persistent})
    udp_ops = Service(service_attrs("rr", ops=True, persistence_engine="sip"), {A: DestAttrs(1)})
    assert len(nft.warnings({SID: udp_ops})) == 2
    v6 = ServiceId("inet6", "udp", "2001:db8::1", 53)
    assert nft.dnat_rule(v6, svc("rr", a=1), 64).startswith("meta l4proto udp dnat ip6 to numgen")
    fw = ServiceId("inet", "tcp", fwmark=7)
    assert nft.dnat_rule(fw, svc("rr", a=1), 64).startswith("dnat ip to numgen inc mod 64")
    assert nft.chain_name(fw) != nft.chain_name(ServiceId("inet6", "tcp", fwmark=7))


def test_dr_and_tun_are_refused() -> None:
    s = Service(ServiceAttrs(), {A: DestAttrs(1, Method.DR)})
    errors = nft.check({SID: s})
    assert len(errors) == 1 and "needs kernel IPVS" in errors[0]


def test_comment_roundtrip() -> None:
    attrs = service_attrs("sh", persistence_timeout=300, persistence_granularity="255.255.0.0")
    assert nft.parse_comment(nft.comment(attrs, "udp")) == (attrs, "udp")
    assert nft.parse_comment("someone else's comment") is None


def test_parse_table_reads_back_services_and_slots() -> None:
    chain, mapname = nft.chain_name(SID), nft.map_name(SID)
    doc = {
        "nftables": [
            {"map": {"name": "svc4", "elem": [[{"concat": ["10.0.0.1", "tcp", 80]},
                                               {"jump": {"target": chain}}]]}},
            {"map": {"name": mapname, "elem": [[0, {"concat": ["10.1.0.1", 8080]}],
                                                [1, {"concat": ["10.1.0.1", 8080]}],
                                                [2, {"concat": ["10.1.0.2", 8080]}]]}},
            {"rule": {"chain": chain, "comment": nft.comment(service_attrs("wrr")), "expr": []}},
            {"rule": {"chain": chain, "expr": [{"dnat": {"addr": {"map": {
                "key": {"numgen": {"mode": "inc", "mod": 4}}}}}}]}},
            {"rule": {"chain": "s_foreign", "expr": []}},
        ]
    }  # fmt: skip
    rules, tables = nft.parse_table(doc)
    assert rules == {SID: Service(service_attrs("wrr"), {A: DestAttrs(2), B: DestAttrs(1)})}
    assert tables == {SID: [A, A, B, None]}


def test_parse_counters_reads_each_service_chains_counter() -> None:
    chain = nft.chain_name(SID)
    doc = {
        "nftables": [
            {"rule": {"chain": chain, "comment": nft.comment(service_attrs("wrr")),
                      "expr": [{"counter": {"packets": 1000, "bytes": 60000}}]}},
            {"rule": {"chain": chain, "expr": [{"counter": {"packets": 5, "bytes": 1}}]}},
            {"rule": {"chain": "s_foreign", "comment": "x",
                      "expr": [{"counter": {"packets": 7, "bytes": 1}}]}},
            {"rule": {"chain": "prerouting", "comment": nft.comment(service_attrs("rr")),
                      "expr": [{"counter": {"packets": 9, "bytes": 1}}]}},
            {"rule": "junk"}, "junk",
        ]
    }  # fmt: skip
    assert nft.parse_counters(doc) == {chain: 1000}
    assert nft.parse_counters({}) == {}


def test_slot_changes_touch_only_what_moved() -> None:
    old = nft.slot_table(svc("wrr", a=1, b=1), 64)
    new = nft.slot_table(svc("wrr", a=1), 64)
    name, drop, add = nft.slot_changes(SID, old, new)  # type: ignore[misc]
    assert name == nft.map_name(SID)
    assert len(drop) == len(add) == 32  # only B's slots change hands
    assert add[0][1] == bytes([10, 1, 0, 1]) + (8080).to_bytes(2, "big") + b"\0\0"
    assert nft.slot_changes(SID, new, new) is None


def test_netlink_batch_layout() -> None:
    change = nft.slot_changes(SID, [None, None], [A, None])
    assert change is not None
    batch, acks = nft.slot_batch("pykeepalived", [change], seq=10)
    msgs = []
    off = 0
    while off < len(batch):
        length, kind, flags, seq, _ = struct.unpack_from("=IHHII", batch, off)
        msgs.append((kind, flags, seq))
        off += length
    assert off == len(batch)
    begin, newelem, end = msgs
    assert begin[0] == nft.NFNL_MSG_BATCH_BEGIN and end[0] == nft.NFNL_MSG_BATCH_END
    assert newelem[0] == (nft.NFNL_SUBSYS_NFTABLES << 8) | nft.NFT_MSG_NEWSETELEM
    assert newelem[1] & nft.NLM_F_ACK and acks == [newelem[2]]
    assert b"pykeepalived\0" in batch and nft.map_name(SID).encode() in batch


def test_parse_acks() -> None:
    ok = struct.pack("=IHHII", 36, nft.NLMSG_ERROR, 0, 7, 0) + struct.pack("=i", 0) + b"\0" * 16
    bad = struct.pack("=IHHII", 36, nft.NLMSG_ERROR, 0, 8, 0) + struct.pack("=i", -17) + b"\0" * 16
    assert nft.parse_acks(ok + bad) == [(7, 0), (8, 17)]
