"""Pure rtnetlink codec for the reflector's hot paths: notifications in, address requests out.

Why not pyroute2 here? It decodes every attribute of every message into generic objects
(a link notification carries some fifty attributes, statistics included) and builds
requests through a filter pipeline; measured here, that was about 1.5 ms of the loop's
time per notification and most of the time of a VIP add. The reflector only needs a few
attributes, so this module reads exactly those with ``struct`` and writes the two request
types that VRRP failover waits on (RTM_NEWADDR / RTM_DELADDR). Everything else (routes,
rules, links, dumps) still goes through pyroute2 in ``driver.py``.

:func:`decode` returns, per message, a plain dict keyed like pyroute2's messages
(``event``, ``index``, ``flags``, ``IFLA_IFNAME``, ``IFA_LOCAL``, ``RTA_TABLE``, ...), so the
normalisers in ``model.py`` and ``requests.py`` read both the same way. Unknown message
types come back as ``{"event": "RTM_<n>"}`` and are ignored by the caller; a truncated
message raises :class:`WireError`.
"""

from __future__ import annotations

import ipaddress
import struct
from typing import Any

NLMSG_NOOP = 1
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLM_F_MULTI = 0x2
NLM_F_DUMP_INTR = 0x10
NLM_F_DUMP = 0x300
NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400

RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK = 16, 17, 18
RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR = 20, 21, 22
RTM_NEWROUTE, RTM_DELROUTE, RTM_GETROUTE = 24, 25, 26
RTM_NEWRULE, RTM_DELRULE, RTM_GETRULE = 32, 33, 34
EVENTS = {
    RTM_NEWLINK: "RTM_NEWLINK",
    RTM_DELLINK: "RTM_DELLINK",
    RTM_NEWADDR: "RTM_NEWADDR",
    RTM_DELADDR: "RTM_DELADDR",
    RTM_NEWROUTE: "RTM_NEWROUTE",
    RTM_DELROUTE: "RTM_DELROUTE",
    RTM_NEWRULE: "RTM_NEWRULE",
    RTM_DELRULE: "RTM_DELRULE",
    NLMSG_ERROR: "NLMSG_ERROR",
    NLMSG_DONE: "NLMSG_DONE",
}

_HDR = struct.Struct("=IHHII")  # nlmsghdr: len, type, flags, seq, pid
_NLA = struct.Struct("=HH")
_IFINFO = struct.Struct("=BxHiII")  # family, type, index, flags, change
_IFADDR = struct.Struct("=BBBBI")  # family, prefixlen, flags, scope, index
_RTMSG = struct.Struct("=BBBBBBBBI")  # family dst_len src_len tos table protocol scope type flags
_FIBRULE = struct.Struct("=BBBBBBBBI")  # family dst_len src_len tos table res1 res2 action flags
_U32 = struct.Struct("=I")
_I32 = struct.Struct("=i")
_CACHEINFO = struct.Struct("=IIII")

OPERSTATES = ("UNKNOWN", "NOTPRESENT", "DOWN", "LOWERLAYERDOWN", "TESTING", "DORMANT", "UP")

# attribute number -> (name, kind); kinds: s string, u u32, b u8, a ip address, m mac
_IFLA = {
    1: ("IFLA_ADDRESS", "m"),
    3: ("IFLA_IFNAME", "s"),
    4: ("IFLA_MTU", "u"),
    5: ("IFLA_LINK", "u"),
    10: ("IFLA_MASTER", "u"),
    16: ("IFLA_OPERSTATE", "o"),
}
IFLA_LINKINFO = 18
IFLA_INFO_KIND = 1
_IFA = {
    1: ("IFA_ADDRESS", "a"),
    2: ("IFA_LOCAL", "a"),
    3: ("IFA_LABEL", "s"),
    8: ("IFA_FLAGS", "u"),
}
_RTA = {1: ("RTA_DST", "a"), 2: ("RTA_SRC", "a"), 6: ("RTA_PRIORITY", "u"), 15: ("RTA_TABLE", "u")}
_FRA = {
    1: ("FRA_DST", "a"),
    2: ("FRA_SRC", "a"),
    3: ("FRA_IIFNAME", "s"),
    4: ("FRA_GOTO", "u"),
    6: ("FRA_PRIORITY", "u"),
    10: ("FRA_FWMARK", "u"),
    15: ("FRA_TABLE", "u"),
    17: ("FRA_OIFNAME", "s"),
    19: ("FRA_L3MDEV", "b"),
}

IFA_ADDRESS, IFA_LOCAL, IFA_LABEL, IFA_BROADCAST, IFA_CACHEINFO, IFA_FLAGS = 1, 2, 3, 4, 6, 8


class WireError(ValueError):
    """A netlink message shorter than its own header says."""


def _value(kind: str, data: bytes) -> Any:
    if kind == "s":
        return data.split(b"\0", 1)[0].decode(errors="replace")
    if kind == "u":
        return _U32.unpack_from(data)[0]
    if kind == "b":
        return data[0]
    if kind == "a":
        return str(ipaddress.ip_address(data[:16] if len(data) >= 16 else data[:4]))
    if kind == "m":
        return ":".join(f"{b:02x}" for b in data)
    if kind == "o":
        return OPERSTATES[data[0]] if data[0] < len(OPERSTATES) else str(data[0])
    raise ValueError(kind)


def _attrs(
    data: bytes, offset: int, end: int, table: dict[int, tuple[str, str]], out: dict[str, Any]
) -> None:
    while offset + 4 <= end:
        length, atype = _NLA.unpack_from(data, offset)
        if length < 4 or offset + length > end:
            raise WireError("attribute runs past its message")
        atype &= 0x3FFF
        body = data[offset + 4 : offset + length]
        spec = table.get(atype)
        if spec is not None:
            out[spec[0]] = _value(spec[1], body)
        elif table is _IFLA and atype == IFLA_LINKINFO:
            info: dict[str, Any] = {}
            _attrs(body, 0, len(body), {IFLA_INFO_KIND: ("IFLA_INFO_KIND", "s")}, info)
            out["IFLA_LINKINFO"] = info
        offset += (length + 3) & ~3


def decode(data: bytes) -> list[dict[str, Any]]:
    """Every message in one datagram, as dicts (see the module docstring).

    Malformed data raises :class:`WireError` and nothing else.
    """
    try:
        return _decode(data)
    except (struct.error, IndexError, ValueError) as exc:
        if isinstance(exc, WireError):
            raise
        raise WireError(f"malformed netlink message: {exc}") from None


def _decode(data: bytes) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    offset = 0
    while offset + _HDR.size <= len(data):
        length, mtype, nl_flags, seq, _pid = _HDR.unpack_from(data, offset)
        if length < _HDR.size or offset + length > len(data):
            raise WireError("message runs past its datagram")
        body, end = offset + _HDR.size, offset + length
        msg: dict[str, Any] = {
            "event": EVENTS.get(mtype, f"RTM_{mtype}"),
            "seq": seq,
            "nlflags": nl_flags,
        }
        if mtype in (RTM_NEWLINK, RTM_DELLINK):
            family, _type, index, flags, _change = _IFINFO.unpack_from(data, body)
            msg.update(family=family, index=index, flags=flags)
            _attrs(data, body + _IFINFO.size, end, _IFLA, msg)
        elif mtype in (RTM_NEWADDR, RTM_DELADDR):
            family, plen, flags, scope, index = _IFADDR.unpack_from(data, body)
            msg.update(family=family, prefixlen=plen, flags=flags, scope=scope, index=index)
            _attrs(data, body + _IFADDR.size, end, _IFA, msg)
        elif mtype in (RTM_NEWROUTE, RTM_DELROUTE):
            f = _RTMSG.unpack_from(data, body)
            msg.update(
                family=f[0],
                dst_len=f[1],
                src_len=f[2],
                tos=f[3],
                table=f[4],
                proto=f[5],
                scope=f[6],
                type=f[7],
                flags=f[8],
            )
            _attrs(data, body + _RTMSG.size, end, _RTA, msg)
        elif mtype in (RTM_NEWRULE, RTM_DELRULE):
            f = _FIBRULE.unpack_from(data, body)
            msg.update(
                family=f[0],
                dst_len=f[1],
                src_len=f[2],
                tos=f[3],
                table=f[4],
                action=f[7],
                flags=f[8],
            )
            _attrs(data, body + _FIBRULE.size, end, _FRA, msg)
        elif mtype == NLMSG_ERROR:
            msg["error"] = -_I32.unpack_from(data, body)[0] if end - body >= 4 else 0
        out.append(msg)
        offset += (length + 3) & ~3
    return out


# ------------------------------------------------------------------------- requests


def _nla(atype: int, payload: bytes) -> bytes:
    length = 4 + len(payload)
    return _NLA.pack(length, atype) + payload + b"\0" * ((4 - length % 4) % 4)


def _packed_ip(text: str) -> bytes:
    return ipaddress.ip_address(text).packed


def encode_addr(mtype: int, seq: int, req: dict[str, Any]) -> bytes:
    """An RTM_NEWADDR (create, fail if it exists) or RTM_DELADDR request with ack.

    ``req`` is the dict ``requests.address_request`` builds: ``index``, ``family``,
    ``address`` (the peer when ``local`` is given), ``prefixlen`` and the optional
    ``local``, ``scope``, ``label``, ``broadcast``, ``IFA_FLAGS``, ``preferred_lft``,
    ``valid_lft``.
    """
    own = req.get("local") or req["address"]
    flags = int(req.get("IFA_FLAGS", 0))
    body = _IFADDR.pack(
        req["family"], req["prefixlen"], flags & 0xFF, req.get("scope", 0), req["index"]
    )
    attrs = _nla(IFA_LOCAL, _packed_ip(own)) + _nla(IFA_ADDRESS, _packed_ip(req["address"]))
    if req.get("label"):
        attrs += _nla(IFA_LABEL, str(req["label"]).encode() + b"\0")
    if req.get("broadcast"):
        attrs += _nla(IFA_BROADCAST, _packed_ip(req["broadcast"]))
    if flags:
        attrs += _nla(IFA_FLAGS, _U32.pack(flags))
    if "preferred_lft" in req and mtype == RTM_NEWADDR:
        valid = int(req.get("valid_lft", 0xFFFFFFFF))
        attrs += _nla(IFA_CACHEINFO, _CACHEINFO.pack(int(req["preferred_lft"]), valid, 0, 0))
    nl_flags = NLM_F_REQUEST | NLM_F_ACK
    if mtype == RTM_NEWADDR:
        nl_flags |= NLM_F_CREATE | NLM_F_EXCL
    payload = body + attrs
    return _HDR.pack(_HDR.size + len(payload), mtype, nl_flags, seq, 0) + payload


_DUMP_BODY = {
    RTM_GETLINK: _IFINFO.size,
    RTM_GETADDR: _IFADDR.size,
    RTM_GETROUTE: _RTMSG.size,
    RTM_GETRULE: _FIBRULE.size,
}


def encode_dump(mtype: int, seq: int, family: int = 0) -> bytes:
    """A dump request (RTM_GETLINK/GETADDR/GETROUTE/GETRULE) for one family (0: all)."""
    body = bytes([family]) + bytes(_DUMP_BODY[mtype] - 1)
    return _HDR.pack(_HDR.size + len(body), mtype, NLM_F_REQUEST | NLM_F_DUMP, seq, 0) + body
