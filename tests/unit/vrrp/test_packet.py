"""The VRRP codec and auth against packets captured from Debian's keepalived 2.2.7."""

from __future__ import annotations

import dataclasses
import struct

import pytest

from pykeepalived.actors.vrrp import auth as A
from pykeepalived.actors.vrrp import packet as P
from tests.unit.vrrp.golden import CASES, load


def _decode(pkt: bytes) -> P.Received:
    if pkt[0] >> 4 == 6:
        src, dst, hlim, nxt, payload = P.decode_ipv6_header(pkt)
        assert nxt == P.VRRP_PROTO
        adv, form = P.decode_vrrp(payload, "inet6", src, dst)
        return P.Received(adv, "inet6", src, dst, hlim, form)
    return P.decode_ipv4_packet(pkt)


@pytest.mark.parametrize("case", CASES)
def test_golden_packets_decode_and_reencode_byte_for_byte(case: str) -> None:
    pkts = load(case)
    assert len(pkts) >= 3
    for pkt in pkts:
        rx = _decode(pkt)
        adv = rx.advert
        assert adv.type == P.ADVERTISEMENT and rx.ttl == 255
        assert adv.max_adver_int == 100
        if rx.family == "inet6":
            assert adv.version == 3 and rx.src.startswith("fe80:")
            assert P.encode_vrrp(adv, "inet6", src=rx.src, dst=rx.dst) == pkt[40:]
        elif rx.ah is not None:
            assert A.verify_ah_packet(pkt, A.ah_key("s3cret")).seq == rx.ah.seq
            rebuilt = A.build_ah_packet(
                P.encode_vrrp(adv, "inet"), rx.src, rx.dst, seq=rx.ah.seq,
                key=A.ah_key("s3cret"), ident=P.decode_ipv4_header(pkt)[0].ident,
            )  # fmt: skip
            assert rebuilt == pkt
        else:
            msg = P.encode_vrrp(adv, "inet", src=rx.src, dst=rx.dst, form=rx.checksum_form)
            ident = P.decode_ipv4_header(pkt)[0].ident
            assert P.encode_ipv4(msg, rx.src, rx.dst, ident=ident) == pkt
    # keepalived's stop: the last packet carries priority 0
    assert _decode(pkts[-1]).advert.priority == 0
    assert {_decode(p).advert.priority for p in pkts[:-1]} == {100}


def test_checksum_forms_match_the_captures() -> None:
    assert _decode(load("v3_mcast4")[0]).checksum_form is P.ChecksumForm.PSEUDO_MCAST
    assert _decode(load("v3_unicast4")[0]).checksum_form is P.ChecksumForm.PSEUDO_DST
    assert _decode(load("v2_unicast")[0]).checksum_form is P.ChecksumForm.MESSAGE
    assert _decode(load("v2_pass")[0]).advert.auth_data == b"secret12"


def test_reference_vectors() -> None:
    # reference §1.4: keepalived v3 10.99.0.1 -> 224.0.0.18 / -> 10.99.0.2, and message-only
    adv = P.Advert(3, 51, 100, ("10.99.0.100",), 100)
    mc = P.encode_vrrp(adv, "inet", src="10.99.0.1", dst=P.MCAST4)
    uc = P.encode_vrrp(adv, "inet", src="10.99.0.1", dst="10.99.0.2")
    plain = P.encode_vrrp(adv, "inet", src="10.99.0.1", form=P.ChecksumForm.MESSAGE)
    assert mc.hex() == "31336401006474ad0a630064"
    assert uc.hex() == "3133640100644a5b0a630064"
    assert plain[6:8].hex() == "5fa0"
    v2 = P.encode_vrrp(P.Advert(2, 51, 100, ("10.99.0.100",), 100), "inet")
    assert v2.hex() == "21336401000170030a6300640000000000000000"
    pw = P.Advert(2, 51, 100, ("10.99.0.100",), 100, P.AUTH_PASS, b"secret12")
    assert P.encode_vrrp(pw, "inet").hex() == "21336401010101850a6300647365637265743132"


@pytest.mark.parametrize(
    "form", [P.ChecksumForm.PSEUDO_MCAST, P.ChecksumForm.PSEUDO_DST, P.ChecksumForm.MESSAGE]
)
def test_every_v3_ipv4_checksum_form_is_accepted_in_unicast(form: P.ChecksumForm) -> None:
    adv = P.Advert(3, 7, 150, ("10.0.0.9", "10.0.0.10"), 25)
    msg = P.encode_vrrp(adv, "inet", src="10.0.0.1", dst="10.0.0.2", form=form)
    got, matched = P.decode_vrrp(msg, "inet", "10.0.0.1", "10.0.0.2")
    assert got.addresses == adv.addresses and got.max_adver_int == 25
    assert matched is form


def _one_error(fn: object, reason: P.Reason) -> None:
    with pytest.raises(P.PacketError) as err:
        fn()  # type: ignore[operator]
    assert err.value.reason is reason


def test_structural_rejections_carry_their_reason() -> None:
    good = load("v2_mcast")[0]
    msg = good[20:]
    src, dst = "10.0.0.1", P.MCAST4
    _one_error(lambda: P.decode_vrrp(msg[:7], "inet", src, dst), P.Reason.TRUNCATED)
    _one_error(lambda: P.decode_vrrp(msg[:-1], "inet", src, dst), P.Reason.TRUNCATED)
    _one_error(lambda: P.decode_vrrp(msg + b"\0\0", "inet", src, dst), P.Reason.BAD_LENGTH)
    _one_error(lambda: P.decode_vrrp(b"\x41" + msg[1:], "inet", src, dst), P.Reason.BAD_VERSION)
    _one_error(lambda: P.decode_vrrp(b"\x22" + msg[1:], "inet", src, dst), P.Reason.BAD_TYPE)
    bad_sum = msg[:6] + b"\x12\x34" + msg[8:]
    _one_error(lambda: P.decode_vrrp(bad_sum, "inet", src, dst), P.Reason.BAD_CHECKSUM)
    zero_int = P.encode_vrrp(P.Advert(3, 1, 100, ("10.0.0.5",), 0), "inet", src=src, dst=dst)
    _one_error(lambda: P.decode_vrrp(zero_int, "inet", src, dst), P.Reason.ZERO_INTERVAL)
    none = struct.pack("!BBBBHH", 0x31, 1, 100, 0, 100, 0)
    none = none[:6] + struct.pack("!H", P.checksum_for(none, P.ChecksumForm.MESSAGE)) + none[8:]
    _one_error(lambda: P.decode_vrrp(none, "inet", src, dst), P.Reason.NO_ADDRESSES)
    # ucarp/CARP frame on the same group: 36-byte CARP body is too short for VRRPv2 count 7
    carp = bytes([0x21, 51, 0, 7, 1, 1]) + b"\0" * 30
    _one_error(lambda: P.decode_vrrp(carp, "inet", src, dst), P.Reason.TRUNCATED)
    _one_error(lambda: P.decode_ipv4_packet(b"\x45" + good[1:9] + b"\x06" + good[10:]),
               P.Reason.BAD_PROTOCOL)  # fmt: skip
    _one_error(lambda: P.decode_ipv4_header(b"\x35" + good[1:]), P.Reason.BAD_IP_HEADER)


def _exp(**kw: object) -> P.Expectation:
    base: dict[str, object] = {"version": 2, "vrid": 55, "max_adver_int": 100}
    base.update(kw)
    return P.Expectation(**base)  # type: ignore[arg-type]


def test_instance_checks() -> None:
    rx = P.decode_ipv4_packet(load("v2_mcast")[0])
    vrid = rx.advert.vrid
    P.check_advert(rx, _exp(vrid=vrid))
    _one_error(lambda: P.check_advert(rx, _exp(vrid=vrid, version=3)), P.Reason.BAD_VERSION)
    _one_error(lambda: P.check_advert(rx, _exp(vrid=vrid + 1)), P.Reason.UNKNOWN_VRID)
    _one_error(lambda: P.check_advert(rx, _exp(vrid=vrid, max_adver_int=200)),
               P.Reason.INTERVAL_MISMATCH)  # fmt: skip
    _one_error(lambda: P.check_advert(rx, _exp(vrid=vrid, auth_type=P.AUTH_PASS)),
               P.Reason.AUTH_TYPE_MISMATCH)  # fmt: skip
    odd_auth = dataclasses.replace(rx, advert=dataclasses.replace(rx.advert, auth_type=7))
    _one_error(lambda: P.check_advert(odd_auth, _exp(vrid=vrid, auth_type=P.AUTH_PASS)),
               P.Reason.BAD_AUTH_TYPE)  # fmt: skip
    low_ttl = P.Received(rx.advert, "inet", rx.src, rx.dst, 64, rx.checksum_form)
    _one_error(lambda: P.check_advert(low_ttl, _exp(vrid=vrid)), P.Reason.BAD_TTL)
    P.check_advert(low_ttl, _exp(vrid=vrid, unicast=True))  # keepalived skips it in unicast
    _one_error(
        lambda: P.check_advert(low_ttl, _exp(vrid=vrid, unicast=True, peers=("10.9.9.9",))),
        P.Reason.UNKNOWN_SOURCE,
    )
    _one_error(
        lambda: P.check_advert(
            low_ttl, _exp(vrid=vrid, unicast=True, ttl_ranges={rx.src: (200, 255)})
        ),
        P.Reason.BAD_TTL,
    )
    _one_error(lambda: P.check_advert(rx, _exp(vrid=vrid, local_addresses=frozenset({rx.src}))),
               P.Reason.OWN_PACKET)  # fmt: skip
    # v3 does not check the interval: backups adopt the master's
    rx3 = P.decode_ipv4_packet(load("v3_mcast4")[0])
    P.check_advert(rx3, _exp(version=3, vrid=rx3.advert.vrid, max_adver_int=5))


def test_password_check() -> None:
    rx = P.decode_ipv4_packet(load("v2_pass")[0])
    ok = _exp(vrid=rx.advert.vrid, auth_type=P.AUTH_PASS, auth_pass=b"secret12")
    P.check_advert(rx, ok)
    # keepalived truncates to 8 bytes: a longer configured password still matches
    P.check_advert(rx, _exp(vrid=rx.advert.vrid, auth_type=P.AUTH_PASS, auth_pass=b"secret123"))
    bad = _exp(vrid=rx.advert.vrid, auth_type=P.AUTH_PASS, auth_pass=b"secret13")
    _one_error(lambda: P.check_advert(rx, bad), P.Reason.AUTH_FAILED)


def test_ah_wrong_key_bad_spi_and_replay() -> None:
    pkts = load("v2_ah")
    _one_error(lambda: A.verify_ah_packet(pkts[0], A.ah_key("wrong")), P.Reason.AH_BAD_ICV)
    # an SPI that is not the source address, correctly signed: rejected for the SPI
    key = A.ah_key("s3cret")
    msg = pkts[0][44:]
    pkt = A.build_ah_packet(msg, "10.1.1.1", P.MCAST4, seq=9, key=key, ident=3)
    ah = pkt[20:24] + bytes([10, 1, 1, 2]) + pkt[28:32]
    forged = pkt[:20] + ah + A.compute_icv(pkt[:20], ah, msg, key, False) + msg
    _one_error(lambda: A.verify_ah_packet(forged, key), P.Reason.AH_BAD_SPI)
    counter = A.AhCounter()
    seqs = [A.verify_ah_packet(p, A.ah_key("s3cret")).seq for p in pkts]
    assert seqs == sorted(seqs) and seqs[0] >= 1
    for s in seqs:
        counter.accept(s)
    _one_error(lambda: counter.accept(seqs[-1]), P.Reason.AH_REPLAY)
    _one_error(lambda: counter.accept(seqs[0]), P.Reason.AH_REPLAY)
    # a backup that becomes master continues above the last number it saw
    assert counter.next_send() == seqs[-1] + 1
    counter.resync_above(1000)
    assert counter.next_send() == 1002


def test_ah_unicast_masks_the_ttl() -> None:
    key = A.ah_key("pw")
    msg = P.encode_vrrp(P.Advert(2, 5, 100, ("10.0.0.100",), 100, P.AUTH_AH), "inet")
    pkt = A.build_ah_packet(msg, "10.0.0.1", "10.0.0.2", seq=1, key=key, ident=1,
                            ttl=64, unicast=True)  # fmt: skip
    hop = pkt[:8] + b"\x3f" + pkt[9:]  # one router later: TTL 63
    assert A.verify_ah_packet(hop, key, unicast=True).seq == 1
    _one_error(lambda: A.verify_ah_packet(hop, key, unicast=False), P.Reason.AH_BAD_ICV)


def test_v2_fractional_interval_sends_whole_seconds_and_v3_centiseconds() -> None:
    v3 = P.encode_vrrp(P.Advert(3, 1, 100, ("10.0.0.5",), 1), "inet", src="10.0.0.1")
    assert struct.unpack("!H", v3[4:6])[0] == 1
    v6 = P.encode_vrrp(P.Advert(3, 1, 100, ("fd00::5",), 4095), "inet6",
                       src="fe80::1", dst=P.MCAST6)  # fmt: skip
    adv, form = P.decode_vrrp(v6, "inet6", "fe80::1", P.MCAST6)
    assert adv.max_adver_int == 4095 and form is P.ChecksumForm.IPV6
    _one_error(lambda: P.decode_vrrp(v6, "inet6", "fe80::2", P.MCAST6), P.Reason.BAD_CHECKSUM)
