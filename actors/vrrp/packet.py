"""VRRP wire codec: VRRPv2 (RFC 3768, RFC 2338 auth fields) and VRRPv3 (RFC 5798/9568).

Owns the bytes of an advertisement and of the IPv4 header keepalived builds around it
(``IP_HDRINCL``), the Internet checksum in every form peers use, and every receive-side
check that needs no knowledge of the local instance beyond what the caller passes in.
Pure: no sockets, no clock. Every rejection raises :class:`PacketError` carrying a
:class:`Reason`, which the shell counts per reason; nothing else ever escapes the decoder.

Checksum forms (reference §1.4). A VRRPv3 IPv4 checksum has three readings in the field:
``PSEUDO_MCAST`` (pseudo-header with the multicast group; keepalived's multicast default,
FRR, and keepalived <= 1.3.6 in unicast), ``PSEUDO_DST`` (pseudo-header with the real
destination; keepalived >= 1.3.7 in unicast) and ``MESSAGE`` (no pseudo-header; RFC 9568,
Cisco/Juniper, keepalived's ``v3_checksum_as_v2``). We send the configured one and accept
any of them, reporting which one matched so the shell can log a peer's change of form.
VRRPv2 always uses ``MESSAGE``; IPv6 always uses the RFC 8200 pseudo-header (``IPV6``).
"""

from __future__ import annotations

import enum
import hmac
import ipaddress
import struct
from dataclasses import dataclass

VRRP_PROTO = 112
AH_PROTO = 51
MCAST4 = "224.0.0.18"
MCAST6 = "ff02::12"
VRRP_TTL = 255
VRRP_TOS = 0xC0
ADVERTISEMENT = 1
V2_AUTH_LEN = 8
AUTH_NONE = 0
AUTH_PASS = 1
AUTH_AH = 2
IPV4_HEADER_LEN = 20
IPV6_HEADER_LEN = 40


class Reason(enum.StrEnum):
    """Why a received packet was discarded (counter names: ``rx_drop.<reason>``)."""

    TRUNCATED = "truncated"
    BAD_IP_HEADER = "bad_ip_header"
    BAD_PROTOCOL = "bad_protocol"
    BAD_TTL = "bad_ttl"
    BAD_VERSION = "bad_version"
    BAD_TYPE = "bad_type"
    BAD_LENGTH = "bad_length"
    NO_ADDRESSES = "no_addresses"
    BAD_ADDRESS_FAMILY = "bad_address_family"
    BAD_CHECKSUM = "bad_checksum"
    UNKNOWN_VRID = "unknown_vrid"
    INTERVAL_MISMATCH = "interval_mismatch"
    ZERO_INTERVAL = "zero_interval"
    BAD_AUTH_TYPE = "bad_auth_type"  # none of 0, 1, 2 (keepalived's invalid_authtype)
    AUTH_TYPE_MISMATCH = "auth_type_mismatch"
    AUTH_FAILED = "auth_failed"
    AH_BAD_HEADER = "ah_bad_header"
    AH_BAD_ICV = "ah_bad_icv"
    AH_BAD_SPI = "ah_bad_spi"
    AH_REPLAY = "ah_replay"
    UNKNOWN_SOURCE = "unknown_source"
    OWN_PACKET = "own_packet"


class PacketError(ValueError):
    """A packet failed a check; ``reason`` is the counter key, ``detail`` the log text."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class ChecksumForm(enum.StrEnum):
    MESSAGE = "message"  # VRRP message only (v2; v3 with v3_checksum_as_v2 / RFC 9568)
    PSEUDO_MCAST = "pseudo_mcast"  # IPv4 pseudo-header with 224.0.0.18 as destination
    PSEUDO_DST = "pseudo_dst"  # IPv4 pseudo-header with the real (unicast) destination
    IPV6 = "ipv6"  # RFC 8200 pseudo-header


@dataclass(frozen=True, slots=True)
class Advert:
    """One VRRP advertisement, in the protocol's own terms.

    ``max_adver_int`` is in centiseconds for both versions (a v2 packet's whole seconds are
    multiplied by 100), so timers never need to know the version of the packet.
    """

    version: int
    vrid: int
    priority: int
    addresses: tuple[str, ...]
    max_adver_int: int = 100
    auth_type: int = AUTH_NONE
    auth_data: bytes = b""
    type: int = ADVERTISEMENT
    checksum: int = 0


@dataclass(frozen=True, slots=True)
class Ip4Header:
    src: str
    dst: str
    ttl: int
    protocol: int
    ident: int
    header: bytes  # the header bytes as received (for AH)


@dataclass(frozen=True, slots=True)
class AhHeader:
    next_header: int
    spi: int
    seq: int
    icv: bytes


@dataclass(frozen=True, slots=True)
class Received:
    """A decoded advert with the facts the receive checks and the state machine need."""

    advert: Advert
    family: str  # "inet" | "inet6"
    src: str
    dst: str
    ttl: int
    checksum_form: ChecksumForm
    ah: AhHeader | None = None


def _v4_bytes(address: str) -> bytes:
    """Dotted quad to 4 bytes (a fast path for the per-packet code; validated)."""
    parts = address.split(".")
    if len(parts) == 4:
        try:
            raw = bytes(int(p) for p in parts)
        except ValueError:
            raw = b""
        if len(raw) == 4:
            return raw
    return ipaddress.IPv4Address(address).packed  # raises the usual error for junk


def _v4_text(raw: bytes) -> str:
    return f"{raw[0]}.{raw[1]}.{raw[2]}.{raw[3]}"


def inet_checksum(data: bytes) -> int:
    """RFC 1071 Internet checksum (the value to put in the field)."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _pseudo4(src: str, dst: str, length: int) -> bytes:
    return _v4_bytes(src) + _v4_bytes(dst) + struct.pack("!BBH", 0, VRRP_PROTO, length)


def _pseudo6(src: str, dst: str, length: int) -> bytes:
    return (
        ipaddress.IPv6Address(src.split("%")[0]).packed
        + ipaddress.IPv6Address(dst.split("%")[0]).packed
        + struct.pack("!I3xB", length, VRRP_PROTO)
    )


def checksum_for(
    message: bytes, form: ChecksumForm, src: str = "", dst: str = "", group: str = MCAST4
) -> int:
    """The checksum of ``message`` (checksum field zeroed) in the given form."""
    if form is ChecksumForm.MESSAGE:
        return inet_checksum(message)
    if form is ChecksumForm.PSEUDO_MCAST:
        return inet_checksum(_pseudo4(src, group, len(message)) + message)
    if form is ChecksumForm.PSEUDO_DST:
        return inet_checksum(_pseudo4(src, dst, len(message)) + message)
    return inet_checksum(_pseudo6(src, dst, len(message)) + message)


def auth_field(password: str | bytes | None) -> bytes:
    """keepalived's 8-byte auth field: the password truncated to 8 bytes, zero-padded."""
    raw = password.encode() if isinstance(password, str) else (password or b"")
    return raw[:V2_AUTH_LEN].ljust(V2_AUTH_LEN, b"\0")


def encode_vrrp(
    adv: Advert,
    family: str,
    *,
    src: str = "",
    dst: str = "",
    form: ChecksumForm | None = None,
    group: str = MCAST4,
) -> bytes:
    """The VRRP message bytes with the checksum filled in.

    ``form`` defaults to the only valid one for v2 and IPv6, and to keepalived's default
    for v3 IPv4 (pseudo-header with the destination, which is the group in multicast).
    """
    if family == "inet6":
        addrs = b"".join(ipaddress.IPv6Address(a).packed for a in adv.addresses)
    else:
        addrs = b"".join(_v4_bytes(a) for a in adv.addresses)
    first = (adv.version << 4) | (adv.type & 0x0F)
    if adv.version == 2:
        secs = max(0, min(255, adv.max_adver_int // 100))
        head = struct.pack("!BBBBBBH", first, adv.vrid, adv.priority, len(adv.addresses),
                           adv.auth_type, secs, 0)  # fmt: skip
        tail = auth_field(adv.auth_data) if adv.auth_type == AUTH_PASS else b"\0" * V2_AUTH_LEN
        msg = head + addrs + (tail if family == "inet" else b"")
        form = ChecksumForm.MESSAGE
    else:
        head = struct.pack("!BBBBHH", first, adv.vrid, adv.priority, len(adv.addresses),
                           adv.max_adver_int & 0x0FFF, 0)  # fmt: skip
        msg = head + addrs
        if family == "inet6":
            form = ChecksumForm.IPV6
        elif form is None:
            form = ChecksumForm.PSEUDO_DST
    csum = checksum_for(msg, form, src, dst or group, group)
    return msg[:6] + struct.pack("!H", csum) + msg[8:]


def encode_ipv4(
    payload: bytes,
    src: str,
    dst: str,
    *,
    ident: int,
    ttl: int = VRRP_TTL,
    protocol: int = VRRP_PROTO,
    tos: int = VRRP_TOS,
) -> bytes:
    """An IPv4 header as keepalived builds it (TOS 0xc0, no DF, id given), then payload."""
    header = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        tos,
        IPV4_HEADER_LEN + len(payload),
        ident & 0xFFFF,
        0,
        ttl,
        protocol,
        0,
        _v4_bytes(src),
        _v4_bytes(dst),
    )
    header = header[:10] + struct.pack("!H", inet_checksum(header)) + header[12:]
    return header + payload


def decode_ipv4_header(data: bytes) -> tuple[Ip4Header, bytes]:
    """Split a raw-socket IPv4 packet into its header and payload."""
    if len(data) < IPV4_HEADER_LEN:
        raise PacketError(Reason.TRUNCATED, f"IPv4 packet of {len(data)} bytes")
    vihl, _tos, total, ident, _frag, ttl, proto = struct.unpack("!BBHHHBB", data[:10])
    ihl = (vihl & 0x0F) * 4
    if vihl >> 4 != 4 or ihl < IPV4_HEADER_LEN or ihl > len(data):
        raise PacketError(Reason.BAD_IP_HEADER, f"IPv4 header byte {vihl:#x}")
    if total < ihl or total > len(data):
        raise PacketError(Reason.BAD_IP_HEADER, f"IPv4 total length {total}, have {len(data)}")
    src, dst = _v4_text(data[12:16]), _v4_text(data[16:20])
    return Ip4Header(src, dst, ttl, proto, ident, bytes(data[:ihl])), bytes(data[ihl:total])


def decode_ipv6_header(data: bytes) -> tuple[str, str, int, int, bytes]:
    """(src, dst, hop limit, next header, payload) of an IPv6 packet (golden files, tests)."""
    if len(data) < IPV6_HEADER_LEN:
        raise PacketError(Reason.TRUNCATED, f"IPv6 packet of {len(data)} bytes")
    if data[0] >> 4 != 6:
        raise PacketError(Reason.BAD_IP_HEADER, f"IPv6 header byte {data[0]:#x}")
    plen, nxt, hlim = struct.unpack("!HBB", data[4:8])
    if IPV6_HEADER_LEN + plen > len(data):
        raise PacketError(Reason.BAD_IP_HEADER, f"IPv6 payload length {plen}")
    src = str(ipaddress.IPv6Address(data[8:24]))
    dst = str(ipaddress.IPv6Address(data[24:40]))
    return src, dst, hlim, nxt, bytes(data[IPV6_HEADER_LEN : IPV6_HEADER_LEN + plen])


def decode_ah(data: bytes) -> tuple[AhHeader, bytes]:
    """Split an AH-protected payload (RFC 2402 layout as keepalived uses it) into AH + rest."""
    if len(data) < 24:
        raise PacketError(Reason.TRUNCATED, f"AH payload of {len(data)} bytes")
    nxt, plen, _res, spi, seq = struct.unpack("!BBHII", data[:12])
    if nxt != VRRP_PROTO or plen != 4:
        raise PacketError(Reason.AH_BAD_HEADER, f"AH next header {nxt}, payload len {plen}")
    return AhHeader(nxt, spi, seq, bytes(data[12:24])), bytes(data[24:])


def decode_vrrp(
    message: bytes,
    family: str,
    src: str,
    dst: str,
    *,
    group: str | None = None,
    verify_checksum: bool = True,
) -> tuple[Advert, ChecksumForm]:
    """Decode and structurally check a VRRP message; any failure raises PacketError.

    Accepts every checksum form a peer may use (see the module docstring) and returns the
    one that matched. ``verify_checksum=False`` is for IPv6 sockets where the kernel has
    already verified it (``IPV6_CHECKSUM``).
    """
    if len(message) < 8:
        raise PacketError(Reason.TRUNCATED, f"VRRP message of {len(message)} bytes")
    first, vrid, priority, count = message[0], message[1], message[2], message[3]
    version, ptype = first >> 4, first & 0x0F
    if version not in (2, 3):
        raise PacketError(Reason.BAD_VERSION, f"version {version}")
    if ptype != ADVERTISEMENT:
        raise PacketError(Reason.BAD_TYPE, f"type {ptype}")
    if family == "inet6" and version == 2:
        raise PacketError(Reason.BAD_VERSION, "VRRPv2 over IPv6")
    alen = 16 if family == "inet6" else 4
    auth_len = V2_AUTH_LEN if (version == 2 and family == "inet") else 0
    expect = 8 + alen * count + auth_len
    if len(message) < expect:
        raise PacketError(
            Reason.TRUNCATED,
            f"vrrp packet too short, length {len(message)} and expect {expect}",
        )
    if len(message) != expect:
        raise PacketError(Reason.BAD_LENGTH, f"length {len(message)} and expect {expect}")
    if count == 0:
        raise PacketError(Reason.NO_ADDRESSES, "address count 0")
    received = struct.unpack("!H", message[6:8])[0]
    if version == 2:
        auth_type, secs = message[4], message[5]
        interval_cs = secs * 100
    else:
        auth_type = AUTH_NONE
        interval_cs = struct.unpack("!H", message[4:6])[0] & 0x0FFF
    if interval_cs == 0:
        raise PacketError(Reason.ZERO_INTERVAL, "advertisement interval 0")
    zeroed = message[:6] + b"\0\0" + message[8:]
    form = _match_checksum(zeroed, received, version, family, src, dst, group, verify_checksum)
    addrs_raw = message[8 : 8 + alen * count]
    if family == "inet6":
        addrs = tuple(
            str(ipaddress.IPv6Address(addrs_raw[i : i + 16])) for i in range(0, len(addrs_raw), 16)
        )
    else:
        addrs = tuple(_v4_text(addrs_raw[i : i + 4]) for i in range(0, len(addrs_raw), 4))
    auth_data = bytes(message[expect - auth_len : expect]) if auth_len else b""
    adv = Advert(version, vrid, priority, addrs, interval_cs, auth_type, auth_data,
                 ptype, received)  # fmt: skip
    return adv, form


def _match_checksum(
    zeroed: bytes,
    received: int,
    version: int,
    family: str,
    src: str,
    dst: str,
    group: str | None,
    verify: bool,
) -> ChecksumForm:
    if family == "inet6":
        if verify and checksum_for(zeroed, ChecksumForm.IPV6, src, dst) != received:
            raise PacketError(Reason.BAD_CHECKSUM, f"Invalid VRRPv3 checksum {received:#06x}")
        return ChecksumForm.IPV6
    if version == 2:
        if verify and inet_checksum(zeroed) != received:
            raise PacketError(Reason.BAD_CHECKSUM, f"Invalid VRRPv2 checksum {received:#06x}")
        return ChecksumForm.MESSAGE
    if not verify:
        return ChecksumForm.PSEUDO_DST
    forms = [
        (ChecksumForm.PSEUDO_DST, dst),
        (ChecksumForm.PSEUDO_MCAST, group or MCAST4),
        (ChecksumForm.MESSAGE, ""),
    ]
    for form, target in forms:
        if checksum_for(zeroed, form, src, target, target or MCAST4) == received:
            if form is ChecksumForm.PSEUDO_DST and dst == (group or MCAST4):
                return ChecksumForm.PSEUDO_MCAST  # multicast: the two readings coincide
            return form
    raise PacketError(Reason.BAD_CHECKSUM, f"Invalid VRRPv3 checksum {received:#06x}")


def decode_ipv4_packet(data: bytes, *, group: str | None = None) -> Received:
    """Decode a whole IPv4 packet from a raw socket (proto 112, or 51 carrying VRRP)."""
    ip, payload = decode_ipv4_header(data)
    ah = None
    if ip.protocol == AH_PROTO:
        ah, payload = decode_ah(payload)
    elif ip.protocol != VRRP_PROTO:
        raise PacketError(Reason.BAD_PROTOCOL, f"IP protocol {ip.protocol}")
    adv, form = decode_vrrp(payload, "inet", ip.src, ip.dst, group=group)
    return Received(adv, "inet", ip.src, ip.dst, ip.ttl, form, ah)


@dataclass(frozen=True, slots=True)
class Expectation:
    """What the local instance requires of an advert (RFC 3768/5798 §7.1; keepalived)."""

    version: int
    vrid: int
    max_adver_int: int  # centiseconds; checked for v2 only (v3 backups adopt the master's)
    auth_type: int = AUTH_NONE
    auth_pass: bytes = b""  # 8-byte field for PASS
    unicast: bool = False
    peers: tuple[str, ...] = ()  # with check_unicast_src: the only accepted sources
    ttl_ranges: dict[str, tuple[int, int]] | None = None  # per-peer min/max TTL (unicast)
    local_addresses: frozenset[str] = frozenset()  # our own sources (looped-back adverts)


def check_advert(rx: Received, exp: Expectation) -> None:
    """The receive checks that depend on the local instance; raise PacketError or return."""
    adv = rx.advert
    if rx.src in exp.local_addresses:
        raise PacketError(Reason.OWN_PACKET, f"own advert from {rx.src}")
    if exp.unicast:
        if exp.peers and rx.src not in exp.peers:
            raise PacketError(Reason.UNKNOWN_SOURCE, f"advert from unknown peer {rx.src}")
        if exp.ttl_ranges and rx.src in exp.ttl_ranges:
            lo, hi = exp.ttl_ranges[rx.src]
            if not lo <= rx.ttl <= hi:
                raise PacketError(Reason.BAD_TTL, f"TTL {rx.ttl} outside [{lo}, {hi}]")
    elif rx.ttl != VRRP_TTL:
        raise PacketError(
            Reason.BAD_TTL, f"invalid TTL/HL. Received {rx.ttl} and expect {VRRP_TTL}"
        )
    if adv.version != exp.version:
        raise PacketError(
            Reason.BAD_VERSION, f"wrong version. Received {adv.version} and expect {exp.version}"
        )
    if adv.vrid != exp.vrid:
        raise PacketError(Reason.UNKNOWN_VRID, f"VRID {adv.vrid}")
    if adv.version == 2 and rx.family == "inet":
        want = exp.auth_type
        if adv.auth_type not in (AUTH_NONE, AUTH_PASS, AUTH_AH):
            raise PacketError(Reason.BAD_AUTH_TYPE, f"invalid auth type: {adv.auth_type}")
        if adv.auth_type != want:
            raise PacketError(
                Reason.AUTH_TYPE_MISMATCH,
                f"received a {adv.auth_type} auth, expecting {want}!",
            )
        if want == AUTH_AH and rx.ah is None:
            raise PacketError(Reason.AUTH_TYPE_MISMATCH, "AH auth without an AH header")
        if want == AUTH_PASS and not hmac.compare_digest(adv.auth_data, auth_field(exp.auth_pass)):
            raise PacketError(Reason.AUTH_FAILED, "received an invalid passwd!")
    if adv.version == 2 and adv.max_adver_int != exp.max_adver_int:
        raise PacketError(
            Reason.INTERVAL_MISMATCH,
            f"advertisement interval mismatch mine={exp.max_adver_int // 100} "
            f"rcv={adv.max_adver_int // 100}",
        )
