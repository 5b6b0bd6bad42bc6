"""The DNS_CHECK codec: queries, replies, and every malformed reply as a reason."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pykeepalived.actors.checker.dns import (
    DnsError,
    build_query,
    decode,
    encode_name,
    judge_reply,
    qtype_of,
)


def reply(
    ident: int,
    qname: str,
    qtype: int,
    answers: list[tuple[int, bytes]],
    rcode: int = 0,
    compress: bool = True,
) -> bytes:
    head = struct.pack("!HHHHHH", ident, 0x8180 | rcode, 1, len(answers), 0, 0)
    q = encode_name(qname) + struct.pack("!HH", qtype, 1)
    out = head + q
    for rtype, rdata in answers:
        owner = b"\xc0\x0c" if compress else encode_name(qname)
        out += owner + struct.pack("!HHIH", rtype, 1, 60, len(rdata)) + rdata
    return out


def test_query_layout() -> None:
    q = build_query(0x1234, "example.org", qtype_of("a"))
    assert q[:2] == b"\x12\x34" and q[2:4] == b"\x01\x00"
    assert q[12:] == b"\x07example\x03org\x00\x00\x01\x00\x01"
    assert build_query(1, ".", 6)[12:] == b"\x00\x00\x06\x00\x01"


def test_bad_names_and_types() -> None:
    with pytest.raises(DnsError):
        encode_name("a..b")
    with pytest.raises(DnsError):
        encode_name("x" * 64 + ".org")
    with pytest.raises(DnsError):
        qtype_of("WKS")


def test_good_reply() -> None:
    ok, why = judge_reply(reply(7, "example.org.", 1, [(1, b"\x0a\x00\x00\x01")]), 7,
                          "example.org", 1)  # fmt: skip
    assert ok is True and "1 answer" in why
    msg = decode(reply(7, "example.org", 1, [(1, b"\x0a\x00\x00\x01")], compress=False))
    assert msg.answers[0].name == "example.org."


@pytest.mark.parametrize(
    ("data", "verdict", "why"),
    [
        (reply(8, "example.org", 1, [(1, b"1234")]), None, "not the reply"),
        (reply(7, "example.org", 1, [], rcode=3), False, "NXDOMAIN"),
        (reply(7, "example.org", 1, [], rcode=2), False, "SERVFAIL"),
        (reply(7, "example.org", 1, []), False, "no answer of type A"),
        (reply(7, "example.org", 1, [(5, b"\x00")]), False, "no answer of type A"),
        (reply(7, "other.org", 1, [(1, b"1234")]), False, "echo our question"),
        (reply(7, "example.org", 1, [(1, b"1234")])[:-3], False, "malformed"),
        (b"\x00\x07\x81\x80\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c", False, "loop"),
        (b"\x00", None, "malformed datagram"),
    ],
)
def test_bad_replies(data: bytes, verdict: bool | None, why: str) -> None:
    got, reason = judge_reply(data, 7, "example.org", 1)
    assert got is verdict
    assert why in reason


def test_query_sent_as_a_question_is_not_a_reply() -> None:
    q = build_query(7, "example.org", 1)
    assert judge_reply(q, 7, "example.org", 1)[0] is None


@settings(deadline=None, max_examples=300)
@given(data=st.binary(max_size=200))
def test_arbitrary_datagrams_never_raise(data: bytes) -> None:
    verdict, why = judge_reply(data, 7, "example.org", 1)
    assert verdict in (None, False, True) and why
