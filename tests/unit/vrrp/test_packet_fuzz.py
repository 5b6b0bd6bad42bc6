"""Fuzzing the decoder: whatever the bytes, only PacketError may come out.

100,000 inputs in total. Hypothesis costs about 2 ms per example here, so each example
draws a seed and a shape and derives ``PER_EXAMPLE`` inputs from it deterministically
(random bytes, mutations of golden packets: byte changes, cuts, splices; and structured
headers with random fields); every input goes through every decode entry point.
5,000 examples x 20 inputs = 100,000 inputs; a failure shrinks to the seed that caused it.
"""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pykeepalived.actors.vrrp import auth as A
from pykeepalived.actors.vrrp import packet as P
from tests.unit.vrrp.golden import CASES, load

GOLDEN = [pkt for case in CASES for pkt in load(case)]
KEY = A.ah_key("s3cret")
EXP = P.Expectation(version=2, vrid=51, max_adver_int=100, auth_type=P.AUTH_PASS,
                    auth_pass=b"secret12")  # fmt: skip
PER_EXAMPLE = 20


def _fast(n: int) -> settings:
    return settings(
        max_examples=n, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )


def _all_decoders(data: bytes) -> None:
    for fn in (
        lambda: P.check_advert(P.decode_ipv4_packet(data), EXP),
        lambda: P.decode_vrrp(data, "inet", "10.0.0.1", P.MCAST4),
        lambda: P.decode_vrrp(data, "inet6", "fe80::1", P.MCAST6),
        lambda: P.decode_ipv6_header(data),
        lambda: A.verify_ah_packet(data, KEY),
    ):
        try:
            fn()
        except P.PacketError as err:
            assert isinstance(err.reason, P.Reason)


@_fast(1_500)
@given(st.binary(max_size=120), st.integers(0, 2**32))
def test_random_bytes(data: bytes, seed: int) -> None:
    rng = random.Random(seed)
    _all_decoders(data)
    for _ in range(PER_EXAMPLE - 1):
        _all_decoders(rng.randbytes(rng.randint(0, 120)))


@_fast(2_000)
@given(st.sampled_from(GOLDEN), st.integers(0, 2**32), st.integers(1, 8))
def test_mutated_golden_packets(pkt: bytes, seed: int, changes: int) -> None:
    rng = random.Random(seed)
    for _ in range(PER_EXAMPLE):
        data = bytearray(pkt)
        for _ in range(changes):
            op = rng.randrange(4)
            if op == 0:
                data[rng.randrange(len(data))] = rng.randrange(256)
            elif op == 1:
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
            elif op == 2 and len(data) > 1:
                del data[rng.randrange(len(data)) :]
            else:
                other = rng.choice(GOLDEN)
                at = rng.randrange(len(other))
                data = data[: rng.randrange(len(data) + 1)] + other[at:]
            if not data:
                data = bytearray(b"\x45")
        _all_decoders(bytes(data))


@_fast(1_500)
@given(
    st.integers(0, 255),
    st.integers(0, 255),
    st.sampled_from([P.VRRP_PROTO, P.AH_PROTO, 6]),
    st.integers(0, 2**32),
)
def test_structured_headers(first: int, count: int, proto: int, seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(PER_EXAMPLE // 2):
        head = bytes([first, rng.randrange(256), rng.randrange(256), count])
        msg = head + rng.randbytes(2) + b"\0\0" + rng.randbytes(rng.randint(0, 80))
        src = rng.choice(["10.0.0.1", "192.168.1.1"])
        ttl = rng.choice([255, 64, rng.randrange(256)])
        _all_decoders(P.encode_ipv4(msg, src, P.MCAST4, ident=1, ttl=ttl, protocol=proto))
        _all_decoders(msg)
