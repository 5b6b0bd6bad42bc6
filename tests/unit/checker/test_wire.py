"""UDP payload/pattern parsing, ICMP echo, SMTP reply lines, FILE_CHECK values."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pykeepalived.actors.checker import wire


def test_parse_hex_free_format() -> None:
    assert wire.parse_hex("01 2 abcd") == b"\x01\x02\xab\xcd"
    with pytest.raises(ValueError):
        wire.parse_hex("zz")


def test_reply_pattern_with_wildcards() -> None:
    p = wire.ReplyPattern.parse("41 4x xx")
    assert p.matches(b"ABC") and p.matches(b"AOzextra")
    assert not p.matches(b"BBC") and not p.matches(b"AP") and not p.matches(b"A")
    with pytest.raises(ValueError):
        wire.ReplyPattern.parse("4g")


def test_judge_udp_reply_lengths() -> None:
    assert wire.judge_udp_reply(b"abc", None, 0, 255) is None
    assert "shorter" in str(wire.judge_udp_reply(b"a", None, 2, 255))
    assert "longer" in str(wire.judge_udp_reply(b"a" * 300, None, 0, 255))
    assert "require_reply" in str(wire.judge_udp_reply(b"x", wire.ReplyPattern.parse("41"), 0, 9))


def test_echo_roundtrip_and_checksum() -> None:
    pkt = wire.build_echo(False, 0x1234, 7, b"token")
    assert wire.inet_checksum(pkt) == 0
    reply = bytes([0]) + pkt[1:]
    ip = bytes([0x45]) + bytes(19)
    assert wire.parse_echo_reply(False, ip + reply, strip_ip_header=True) == (0x1234, 7, b"token")
    assert wire.parse_echo_reply(False, pkt, strip_ip_header=False) is None  # a request
    v6 = wire.build_echo(True, 1, 2, b"x")
    assert v6[0] == 128
    assert wire.parse_echo_reply(True, bytes([129]) + v6[1:], False) == (1, 2, b"x")


def test_smtp_lines() -> None:
    assert wire.parse_smtp_line(b"220 mail ESMTP\r\n") == (220, True, "mail ESMTP")
    assert wire.parse_smtp_line(b"250-PIPELINING\r\n") == (250, False, "PIPELINING")
    assert wire.parse_smtp_line(b"221\r\n") == (221, True, "")
    with pytest.raises(ValueError):
        wire.parse_smtp_line(b"HTTP/1.1 400 Bad\r\n")


def test_file_values_and_verdicts() -> None:
    assert wire.parse_file_value(" 42\n") == 42
    assert wire.parse_file_value("-3 apples") == -3
    assert wire.parse_file_value("") == 0
    with pytest.raises(ValueError):
        wire.parse_file_value("abc")
    assert wire.file_verdict(0, 0, False, 5) == (True, None)
    assert wire.file_verdict(1, 0, False, 5) == (False, None)
    assert wire.file_verdict(2, 3, False, 5) == (True, 11)
    assert wire.file_verdict(2, 3, True, 5) == (True, 0)
    assert wire.file_verdict(-100, 3, False, 5) == (False, None)


@settings(deadline=None, max_examples=200)
@given(reply=st.binary(min_size=1, max_size=40), wild=st.sets(st.integers(0, 79)))
def test_pattern_made_from_a_reply_matches_it_whatever_the_wildcards(
    reply: bytes, wild: set[int]
) -> None:
    digits = list(reply.hex())
    for i in wild:
        if i < len(digits):
            digits[i] = "x"
    text = " ".join("".join(digits[i : i + 2]) for i in range(0, len(digits), 2))
    pattern = wire.ReplyPattern.parse(text)
    assert pattern.matches(reply) and pattern.matches(reply + b"tail")
    assert not pattern.matches(reply[:-1])


@settings(deadline=None, max_examples=300)
@given(text=st.text(max_size=30))
def test_bad_patterns_and_lines_raise_value_error_only(text: str) -> None:
    for fn in (wire.ReplyPattern.parse, wire.parse_hex, wire.parse_file_value):
        try:
            fn(text)
        except ValueError:
            pass
    try:
        wire.parse_smtp_line(text.encode())
    except ValueError:
        pass
