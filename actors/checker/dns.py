"""A small DNS message codec for DNS_CHECK (RFC 1035): one query out, one answer judged.

Pure: builds the query datagram and decides whether a reply proves the server healthy.
A reply is good when it answers our query (same ID, QR set, the question echoed), its
RCODE is NOERROR and its answer section holds at least one record of the asked type.
Every malformed reply (short, bad compression pointer, pointer loop, counts that run
past the end) is a reason, never an exception leaking out of :func:`judge_reply`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

TYPES = {
    "A": 1,
    "NS": 2,
    "CNAME": 5,
    "SOA": 6,
    "MX": 15,
    "TXT": 16,
    "AAAA": 28,
    "RRSIG": 46,
    "DNSKEY": 48,
}
CLASS_IN = 1
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
_HEADER = struct.Struct("!HHHHHH")


class DnsError(ValueError):
    """A name or a message that does not follow RFC 1035."""


def qtype_of(name: str) -> int:
    try:
        return TYPES[name.upper()]
    except KeyError:
        raise DnsError(f"unsupported DNS query type {name!r}") from None


def encode_name(name: str) -> bytes:
    """``example.com`` / ``example.com.`` / ``.`` → wire labels."""
    if name in ("", "."):
        return b"\x00"
    out = bytearray()
    labels = name.rstrip(".").split(".")
    for label in labels:
        raw = label.encode("idna") if not label.isascii() else label.encode("ascii")
        if not raw or len(raw) > 63:
            raise DnsError(f"bad label {label!r} in {name!r}")
        out.append(len(raw))
        out += raw
    out.append(0)
    if len(out) > 255:
        raise DnsError(f"name too long: {name!r}")
    return bytes(out)


def build_query(ident: int, name: str, qtype: int, recursion_desired: bool = True) -> bytes:
    flags = 0x0100 if recursion_desired else 0
    return (
        _HEADER.pack(ident & 0xFFFF, flags, 1, 0, 0, 0)
        + encode_name(name)
        + struct.pack("!HH", qtype, CLASS_IN)
    )


def decode_name(msg: bytes, offset: int) -> tuple[str, int]:
    """The name at ``offset`` (following compression pointers) and the offset after it."""
    labels: list[str] = []
    end: int | None = None
    jumps = 0
    pos = offset
    while True:
        if pos >= len(msg):
            raise DnsError("name runs past the end of the message")
        length = msg[pos]
        if length & 0xC0 == 0xC0:
            if pos + 1 >= len(msg):
                raise DnsError("truncated compression pointer")
            if end is None:
                end = pos + 2
            jumps += 1
            if jumps > 32:
                raise DnsError("compression pointer loop")
            pos = ((length & 0x3F) << 8) | msg[pos + 1]
            continue
        if length & 0xC0:
            raise DnsError("reserved label type")
        pos += 1
        if length == 0:
            break
        if pos + length > len(msg):
            raise DnsError("label runs past the end of the message")
        labels.append(msg[pos : pos + length].decode("ascii", "replace"))
        pos += length
    return (".".join(labels) + ".") if labels else ".", end if end is not None else pos


@dataclass(frozen=True, slots=True)
class Record:
    name: str
    rtype: int
    rclass: int
    ttl: int
    rdata: bytes


@dataclass(frozen=True, slots=True)
class Message:
    ident: int
    flags: int
    questions: list[tuple[str, int, int]]
    answers: list[Record]

    @property
    def is_response(self) -> bool:
        return bool(self.flags & 0x8000)

    @property
    def rcode(self) -> int:
        return self.flags & 0x000F


def decode(msg: bytes) -> Message:
    if len(msg) < _HEADER.size:
        raise DnsError(f"message of {len(msg)} bytes is shorter than a header")
    ident, flags, qd, an, _ns, _ar = _HEADER.unpack_from(msg)
    pos = _HEADER.size
    questions = []
    for _ in range(qd):
        name, pos = decode_name(msg, pos)
        if pos + 4 > len(msg):
            raise DnsError("truncated question")
        qt, qc = struct.unpack_from("!HH", msg, pos)
        pos += 4
        questions.append((name, qt, qc))
    answers = []
    for _ in range(an):
        name, pos = decode_name(msg, pos)
        if pos + 10 > len(msg):
            raise DnsError("truncated resource record")
        rt, rc, ttl, rdlen = struct.unpack_from("!HHIH", msg, pos)
        pos += 10
        if pos + rdlen > len(msg):
            raise DnsError("record data runs past the end of the message")
        answers.append(Record(name, rt, rc, ttl, msg[pos : pos + rdlen]))
        pos += rdlen
    return Message(ident, flags, questions, answers)


def _canon(name: str) -> str:
    return name.lower().rstrip(".") + "."


def judge_reply(data: bytes, ident: int, name: str, qtype: int) -> tuple[bool | None, str]:
    """``(True, why)`` good, ``(False, why)`` bad, ``(None, why)`` not a reply to our query."""
    try:
        msg = decode(data)
    except DnsError as exc:
        if len(data) >= 2 and struct.unpack_from("!H", data)[0] == ident:
            return False, f"malformed DNS reply: {exc}"
        return None, f"malformed datagram: {exc}"
    if msg.ident != ident or not msg.is_response:
        return None, "datagram is not the reply to our query"
    if len(msg.questions) != 1 or _canon(msg.questions[0][0]) != _canon(name):
        return False, "DNS reply does not echo our question"
    if msg.rcode != 0:
        return False, f"DNS reply RCODE {RCODES.get(msg.rcode, msg.rcode)}"
    if not any(r.rtype == qtype for r in msg.answers):
        return False, f"DNS reply has no answer of type {_type_name(qtype)}"
    return True, f"DNS reply with {len(msg.answers)} answer(s)"


def _type_name(qtype: int) -> str:
    for k, v in TYPES.items():
        if v == qtype:
            return k
    return str(qtype)
