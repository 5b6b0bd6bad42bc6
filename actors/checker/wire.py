"""Small wire formats of the simpler checkers (pure): UDP_CHECK payloads and reply
patterns, ICMP/ICMPv6 echo messages for PING_CHECK, SMTP reply lines for SMTP_CHECK,
and the FILE_CHECK value rule.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

# ---- UDP_CHECK ---------------------------------------------------------------------------


def parse_hex(text: str) -> bytes:
    """keepalived's free-format hex: blanks separate bytes (``"01 2 abcd"``)."""
    out = bytearray()
    for word in text.split():
        if len(word) % 2:
            word = "0" + word
        try:
            out += bytes.fromhex(word)
        except ValueError:
            raise ValueError(f"bad hex {word!r}") from None
    return bytes(out)


@dataclass(frozen=True, slots=True)
class ReplyPattern:
    """``require_reply`` hex with ``x`` nibble wildcards, as (value, mask) bytes."""

    value: bytes
    mask: bytes

    @classmethod
    def parse(cls, text: str) -> ReplyPattern:
        value = bytearray()
        mask = bytearray()
        for word in text.split():
            if len(word) % 2:
                word = "0" + word
            for i in range(0, len(word), 2):
                v = m = 0
                for nib in word[i : i + 2]:
                    v <<= 4
                    m <<= 4
                    if nib in "xX":
                        continue
                    try:
                        v |= int(nib, 16)
                    except ValueError:
                        raise ValueError(f"bad hex pattern {word!r}") from None
                    m |= 0xF
                value.append(v)
                mask.append(m)
        return cls(bytes(value), bytes(mask))

    def matches(self, reply: bytes) -> bool:
        if len(reply) < len(self.value):
            return False
        return all(
            (reply[i] & m) == v for i, (v, m) in enumerate(zip(self.value, self.mask, strict=True))
        )


def judge_udp_reply(
    reply: bytes, pattern: ReplyPattern | None, min_len: int, max_len: int
) -> str | None:
    """None if the reply is acceptable, else why not."""
    if len(reply) < min_len:
        return f"UDP reply of {len(reply)} bytes shorter than {min_len}"
    if max_len and len(reply) > max_len:
        return f"UDP reply of {len(reply)} bytes longer than {max_len}"
    if pattern is not None and not pattern.matches(reply):
        return "UDP reply does not match require_reply"
    return None


# ---- PING_CHECK ----------------------------------------------------------------------------
ICMP_ECHO_REQUEST = 8
ICMP_ECHO_REPLY = 0
ICMP6_ECHO_REQUEST = 128
ICMP6_ECHO_REPLY = 129


def inet_checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def build_echo(v6: bool, ident: int, seq: int, payload: bytes) -> bytes:
    """An echo request; the ICMPv6 checksum is left to the kernel (it needs the pseudo-header)."""
    kind = ICMP6_ECHO_REQUEST if v6 else ICMP_ECHO_REQUEST
    head = struct.pack("!BBHHH", kind, 0, 0, ident & 0xFFFF, seq & 0xFFFF)
    if v6:
        return head + payload
    csum = inet_checksum(head + payload)
    return struct.pack("!BBHHH", kind, 0, csum, ident & 0xFFFF, seq & 0xFFFF) + payload


def parse_echo_reply(
    v6: bool, data: bytes, strip_ip_header: bool
) -> tuple[int, int, bytes] | str | None:
    """``(ident, seq, payload)`` for an echo reply, a reason string for an ICMP error,
    None for anything else (other ICMP traffic a raw socket sees)."""
    if strip_ip_header and not v6:
        if len(data) < 20:
            return None
        data = data[(data[0] & 0x0F) * 4 :]
    if len(data) < 8:
        return None
    kind, _code, _csum, ident, seq = struct.unpack_from("!BBHHH", data)
    if kind == (ICMP6_ECHO_REPLY if v6 else ICMP_ECHO_REPLY):
        return ident, seq, data[8:]
    return None


# ---- SMTP_CHECK ----------------------------------------------------------------------------
_REPLY_LINE = re.compile(rb"^(\d{3})([ -])(.*)$")


def parse_smtp_line(line: bytes) -> tuple[int, bool, str]:
    """``(code, last, text)`` of one reply line (``250-...`` continues, ``250 ...`` ends)."""
    m = _REPLY_LINE.match(line.rstrip(b"\r\n"))
    if m is None:
        if re.match(rb"^\d{3}$", line.rstrip(b"\r\n")):
            return int(line[:3]), True, ""
        raise ValueError(f"not an SMTP reply line: {line[:60]!r}")
    return int(m.group(1)), m.group(2) == b" ", m.group(3).decode("latin-1", "replace")


# ---- FILE_CHECK ----------------------------------------------------------------------------


def parse_file_value(text: str) -> int:
    """The integer a tracked file holds (leading number; blank → 0), as keepalived reads it."""
    m = re.match(r"\s*([-+]?\d+)", text)
    if m is None:
        if text.strip() == "":
            return 0
        raise ValueError(f"no number in {text.strip()[:40]!r}")
    return int(m.group(1))


def file_verdict(value: int, weight: int, reverse: bool, rs_weight: int) -> tuple[bool, int | None]:
    """FILE_CHECK: ``(up, new weight)``.

    A weight of 0 means the file is a plain on/off switch: any non-zero value is down.
    Otherwise ``value * weight`` (negated with ``reverse``) is added to the real server's
    configured weight; a result of -254 or less counts as a failure, as keepalived treats
    a tracked file's value at or below that limit; the weight is never negative.
    """
    if weight == 0:
        return value == 0, None
    delta = value * weight * (-1 if reverse else 1)
    if delta <= -254:
        return False, None
    return True, max(0, rs_weight + delta)
