"""VRRPv2 authentication as keepalived does it: simple password and IPsec-AH (RFC 2338).

AH here is not kernel IPsec. The advert travels as IP protocol 51 with a 24-byte AH header
(next header 112, payload length 4, SPI = the sender's IPv4 address, a sequence number and
a 12-byte ICV) in front of the VRRP message. The ICV is HMAC-MD5 truncated to 96 bits,
keyed with the 8-byte zero-padded ``auth_pass``, over the IP header with TOS, fragment
offset, header checksum (and TTL, in unicast) zeroed, the AH header with its ICV zeroed,
and the VRRP message.

Sequence numbers: one counter per instance serves both directions, as in keepalived. A
master increments it before each advert; any receiver accepts only a number above the last
one it saw and then stores it, so a backup that becomes master continues above the old
master's numbers. A master that hears a lower-priority advert moves above that sender's
number. Pure: no sockets, no clock.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import struct
from dataclasses import dataclass

from pykeepalived.actors.vrrp.packet import (
    AH_PROTO,
    VRRP_PROTO,
    AhHeader,
    PacketError,
    Reason,
    auth_field,
    decode_ipv4_header,
    encode_ipv4,
)

AH_HEADER_LEN = 24
ICV_LEN = 12
SEQ_CYCLE_LIMIT = 0xFFFFFFFD


def ah_key(auth_pass: str | bytes | None) -> bytes:
    """The HMAC key: keepalived's 8-byte auth field (truncated, zero-padded)."""
    return auth_field(auth_pass)


def _masked_ip_header(header: bytes, unicast: bool) -> bytes:
    """The IPv4 header as the ICV sees it: TOS, frag offset, checksum (TTL in unicast) 0."""
    h = bytearray(header)
    h[1] = 0  # tos
    h[6:8] = b"\0\0"  # flags + fragment offset
    h[10:12] = b"\0\0"  # header checksum
    if unicast:
        h[8] = 0  # ttl
    return bytes(h)


def compute_icv(ip_header: bytes, ah: bytes, message: bytes, key: bytes, unicast: bool) -> bytes:
    """HMAC-MD5-96 over masked IP header, AH (ICV zeroed) and the VRRP message."""
    masked_ah = ah[:12] + b"\0" * ICV_LEN
    data = _masked_ip_header(ip_header, unicast) + masked_ah + message
    return hmac.new(key, data, hashlib.md5).digest()[:ICV_LEN]


def build_ah_packet(
    message: bytes,
    src: str,
    dst: str,
    *,
    seq: int,
    key: bytes,
    ident: int,
    ttl: int = 255,
    unicast: bool = False,
) -> bytes:
    """A whole IPv4 packet (protocol 51) carrying ``message`` under an AH header."""
    spi = int(ipaddress.IPv4Address(src))
    ah = struct.pack("!BBHII", VRRP_PROTO, 4, 0, spi, seq & 0xFFFFFFFF) + b"\0" * ICV_LEN
    packet = encode_ipv4(ah + message, src, dst, ident=ident, ttl=ttl, protocol=AH_PROTO)
    icv = compute_icv(packet[:20], ah, message, key, unicast)
    return packet[:20] + ah[:12] + icv + message


def verify_ah_packet(packet: bytes, key: bytes, *, unicast: bool = False) -> AhHeader:
    """Check the ICV and SPI of a received protocol-51 packet; return its AH header."""
    ip, payload = decode_ipv4_header(packet)
    if ip.protocol != AH_PROTO or len(payload) < AH_HEADER_LEN:
        raise PacketError(Reason.AH_BAD_HEADER, "not an AH packet")
    nxt, plen, _res, spi, seq = struct.unpack("!BBHII", payload[:12])
    if nxt != VRRP_PROTO or plen != 4:
        raise PacketError(Reason.AH_BAD_HEADER, f"AH next header {nxt}, payload len {plen}")
    icv = payload[12:AH_HEADER_LEN]
    want = compute_icv(ip.header, payload[:AH_HEADER_LEN], payload[AH_HEADER_LEN:], key, unicast)
    if not hmac.compare_digest(icv, want):
        raise PacketError(Reason.AH_BAD_ICV, "IPSEC-AH : invalid IPSEC HMAC-MD5 value")
    if spi != int(ipaddress.IPv4Address(ip.src)):
        raise PacketError(Reason.AH_BAD_SPI, f"IPSEC-AH : bad spi {spi:#010x} for {ip.src}")
    return AhHeader(nxt, spi, seq, bytes(icv))


@dataclass(slots=True)
class AhCounter:
    """keepalived's per-instance AH sequence state (see the module docstring)."""

    seq: int = 0
    cycle: bool = False

    def next_send(self) -> int:
        """Advance and return the number for the next advert we send."""
        if self.seq > SEQ_CYCLE_LIMIT:
            self.cycle = True
        else:
            self.seq += 1
        return self.seq

    def accept(self, seq: int) -> None:
        """Anti-replay check for a received number; raises PacketError(AH_REPLAY)."""
        if seq > self.seq or self.cycle:
            self.seq = seq
            self.cycle = False
            return
        raise PacketError(
            Reason.AH_REPLAY,
            f"IPSEC-AH : sequence number {seq} already proceeded. Packet dropped. "
            f"Local({self.seq})",
        )

    def resync_above(self, seq: int) -> None:
        """As master hearing a lower-priority advert: continue above its number."""
        self.seq = max(self.seq, seq + 1)

    def on_become_master(self) -> None:
        if self.cycle:
            self.seq = 0
            self.cycle = False
