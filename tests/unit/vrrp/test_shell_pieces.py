"""The shell's per-instance settings and the GARP/NA frames (no sockets, no root)."""

from __future__ import annotations

import struct
from types import SimpleNamespace

from pykeepalived.actors.vrrp import arp
from pykeepalived.actors.vrrp import packet as P
from pykeepalived.actors.vrrp.actor import Runner, _peek_vrid
from pykeepalived.conf.model import (
    AuthType,
    Config,
    Family,
    GlobalDefs,
    IPAddress,
    UnicastPeer,
    VrrpInstance,
)


def _runner(config: Config | None = None, **kw: object) -> Runner:
    base: dict[str, object] = {
        "name": "VI_1", "interface": "eth0", "virtual_router_id": 7,
        "virtual_ipaddress": (IPAddress(address="10.0.0.100/24"),),
    }  # fmt: skip
    base.update(kw)
    fake = SimpleNamespace(config=config or Config())
    return Runner(fake, VrrpInstance(**base))  # type: ignore[arg-type]


def test_checksum_form_and_auth_selection() -> None:
    assert _runner(version=3).form is P.ChecksumForm.PSEUDO_DST
    g = Config(global_defs=GlobalDefs(v3_checksum_as_v2=True))
    assert _runner(g, version=3).form is P.ChecksumForm.MESSAGE
    assert _runner(version=3, old_unicast_checksum="").form is P.ChecksumForm.PSEUDO_MCAST
    ah = _runner(auth_type=AuthType.AH, auth_pass="longpassword")
    assert ah.protocol == P.AH_PROTO and ah.auth_pass == b"longpass" and ah.ah is not None
    # v3 has no authentication: keepalived drops it
    v3 = _runner(version=3, auth_type=AuthType.PASS, auth_pass="x")
    assert v3.auth_type == P.AUTH_NONE and v3.protocol == P.VRRP_PROTO


def test_family_group_and_expectation() -> None:
    six = _runner(
        version=3, family=Family.INET6,
        virtual_ipaddress=(IPAddress(address="fd00::100/64", family=Family.INET6),
                           IPAddress(address="10.0.0.5/24")),
    )  # fmt: skip
    assert six.group == "ff02::12" and six.advert_addresses == ("fd00::100",)
    uni = _runner(
        unicast=True, check_unicast_src=True,
        unicast_peers=(UnicastPeer(address="10.0.0.2", min_ttl=250),
                       UnicastPeer(address="10.0.0.3")),
    )  # fmt: skip
    uni.src = "10.0.0.1"
    exp = uni.expectation()
    assert exp.unicast and exp.peers == ("10.0.0.2", "10.0.0.3")
    assert exp.ttl_ranges == {"10.0.0.2": (250, 255)}
    assert exp.local_addresses == frozenset({"10.0.0.1"})
    assert uni.expectation() is exp  # cached while the source is unchanged
    uni.src = "10.0.0.9"
    assert uni.expectation().local_addresses == frozenset({"10.0.0.9"})


def test_peek_vrid_of_damaged_packets() -> None:
    msg = P.encode_vrrp(P.Advert(2, 42, 100, ("10.0.0.1",), 100), "inet")
    pkt = P.encode_ipv4(msg, "10.0.0.1", P.MCAST4, ident=1)
    assert _peek_vrid(pkt) == 42
    assert _peek_vrid(pkt[:10]) is None


def test_garp_and_na_frames() -> None:
    frame = arp.garp_frame("02:00:00:00:00:01", "10.0.0.100")
    assert frame[:6] == b"\xff" * 6 and frame[12:14] == b"\x08\x06"
    htype, ptype, hlen, plen, op = struct.unpack("!HHBBH", frame[14:22])
    assert (htype, ptype, hlen, plen, op) == (1, 0x0800, 6, 4, 1)
    assert frame[28:32] == frame[38:42] == bytes([10, 0, 0, 100])  # sender = target = VIP
    na = arp.na_frame("02:00:00:00:00:01", "fd00::100")
    ip6 = na[14:]
    assert ip6[6] == 58 and ip6[7] == 255
    icmp = ip6[40:]
    assert icmp[0] == 136 and struct.unpack("!I", icmp[4:8])[0] == arp.NA_OVERRIDE
    pseudo = ip6[8:40] + struct.pack("!I3xB", len(icmp), 58)
    assert P.inet_checksum(pseudo + icmp) == 0  # a valid ICMPv6 checksum sums to zero
    assert icmp[-6:] == bytes.fromhex("020000000001")
