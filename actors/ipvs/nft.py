"""nftables rendering of a load-balancer rule set (pure: commands and netlink bytes out).

Design. One table, ``inet pykeepalived`` (the name is configurable), owned by the daemon:

* four verdict maps send a new connection to its service's chain: ``svc4``/``svc6``
  keyed by ``daddr . l4proto . dport``, ``fwm4``/``fwm6`` keyed by the packet mark;
* two base chains (``prerouting`` at dstnat, ``output`` for connections the director
  makes itself) hold only those lookups, so their length never depends on the number of
  services;
* each service has a chain (named from a hash of its identity) and a map of *slots*.
  The chain's first rule is a ``counter`` whose comment records the service's
  attributes and protocol, so a restarted daemon can adopt the table; the second picks a
  slot with a selector and DNATs to the target the slot map holds: ``numgen inc`` (rr,
  wrr), ``numgen random`` (the connection-count schedulers: the nearest weighted
  behaviour), ``jhash`` of the source (sh, mh, and any persistent service: a client keeps
  its server) or of the destination (dh);
* a service has 64 slots (more if it has more servers), dealt to its live destinations
  by smooth weighted round robin (:func:`slot_table`): shares follow the weights and
  consecutive connections alternate as with IPVS's wrr.

Why slots: a change of weight or health only changes which target some slots hold, a
handful of map elements, sent as one nf_tables netlink batch (:func:`slot_batch`) that
costs the same whatever the table holds. libnftables, by contrast, reads the whole
table back before each command, so a command through it grows with the table (measured:
~7 ms per element at 2,000 services); it is used only for structure (a service added,
removed, or its scheduler changed). NAT is the only forwarding this datapath can do: DR
and TUN destinations are refused by :func:`check`. conntrack keeps established
connections on the server they were given, so slot changes never move them.
"""

from __future__ import annotations

import hashlib
import struct
import sys
from collections.abc import Mapping
from typing import Any

from pykeepalived.actors.ipvs.rules import (
    SVC_F_ONEPACKET,
    SVC_F_PERSISTENT,
    SVC_F_SCHED2,
    DestAttrs,
    DestId,
    Method,
    Service,
    ServiceAttrs,
    ServiceId,
)

DEFAULT_TABLE = "pykeepalived"
COMMENT_TAG = "pk1"

NUMGEN_INC = frozenset({"rr", "wrr"})
HASH_SOURCE = frozenset({"sh", "mh"})
HASH_DEST = frozenset({"dh"})
#: schedulers with no nftables equivalent, served by weighted random selection
NEAREST = frozenset({"lc", "wlc", "sed", "nq", "lblc", "lblcr", "fo", "ovf", "twos"})


def chain_name(sid: ServiceId) -> str:
    """A stable chain name for a service (the same across restarts)."""
    ident = f"{sid.family}/{sid.address}/{sid.port}/{sid.fwmark}"
    if not sid.fwmark:
        ident += f"/{sid.protocol}"
    return "s_" + hashlib.sha1(ident.encode()).hexdigest()[:16]


def check(rules: Mapping[ServiceId, Service]) -> list[str]:
    """Why this rule set cannot be programmed with nftables (empty when it can)."""
    errors = []
    for sid, svc in rules.items():
        for did, attrs in svc.dests.items():
            if attrs.method is not Method.NAT:
                errors.append(
                    f"{sid} -> {did}: lb_kind {attrs.method} needs kernel IPVS; the nftables "
                    "backend forwards by NAT only (use lb_backend ipvs, or lb_kind NAT)"
                )
    return errors


def warnings(rules: Mapping[ServiceId, Service]) -> list[str]:
    out = []
    for sid, svc in rules.items():
        sched = svc.attrs.scheduler
        if sched in NEAREST:
            out.append(f"{sid}: scheduler {sched} has no nftables equivalent; weighted random used")
        if svc.attrs.timeout and sched not in HASH_SOURCE | HASH_DEST:
            out.append(f"{sid}: persistence approximated by a hash of the client address")
        if svc.attrs.pe_name:
            out.append(f"{sid}: persistence_engine {svc.attrs.pe_name} needs IPVS; ignored")
        if svc.attrs.flags & SVC_F_ONEPACKET:
            out.append(f"{sid}: ops needs IPVS; conntrack schedules per flow here")
    return out


def _selector(sid: ServiceId, attrs: ServiceAttrs, total: int) -> str:
    ip = "ip6" if sid.family == "inet6" else "ip"
    sched = attrs.scheduler
    if sched in HASH_DEST:
        return f"jhash {ip} daddr mod {total}"
    if sched in HASH_SOURCE or attrs.flags & SVC_F_PERSISTENT:
        if sched in HASH_SOURCE and attrs.flags & SVC_F_SCHED2 and not sid.fwmark:
            return f"jhash {ip} saddr . th sport mod {total}"
        return f"jhash {ip} saddr mod {total}"
    if sched in NUMGEN_INC:
        return f"numgen inc mod {total}"
    return f"numgen random mod {total}"


def _host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def comment(attrs: ServiceAttrs, protocol: str = "tcp") -> str:
    """The service attributes (and protocol) as the counter rule's comment (< 128 chars)."""
    return (
        f"{COMMENT_TAG} {attrs.scheduler} {attrs.flags} {attrs.timeout} "
        f"{attrs.netmask or '-'} {attrs.pe_name or '-'} {protocol}"
    )


def parse_comment(text: str) -> tuple[ServiceAttrs, str] | None:
    """(attributes, protocol) from a comment written by :func:`comment`; None otherwise."""
    parts = text.split()
    if len(parts) != 7 or parts[0] != COMMENT_TAG:
        return None
    try:
        attrs = ServiceAttrs(
            parts[1],
            int(parts[2]),
            int(parts[3]),
            "" if parts[4] == "-" else parts[4],
            "" if parts[5] == "-" else parts[5],
        )
    except ValueError:
        return None
    return attrs, parts[6]


SLOTS = 64


def slots_for(count: int) -> int:
    """Selector slots of a service: 64, or the next power of two above its destinations."""
    n = SLOTS
    while n < count:
        n *= 2
    return n


def slot_table(svc: Service, slots: int) -> list[DestId | None]:
    """Which destination each selector slot leads to.

    Slots are dealt by smooth weighted round robin (``rr``: equal weights), so consecutive
    slots alternate between servers the way IPVS's wrr does, and each server owns a share
    of the slots proportional to its weight. Destinations at weight 0 own none; with no
    live destination every slot is empty (the lookup fails and the packet goes on as if
    the service did not exist, as IPVS does with an empty service).
    """
    live = sorted((d, a) for d, a in svc.dests.items() if a.weight > 0)
    if not live:
        return [None] * slots
    weights = [1 if svc.attrs.scheduler == "rr" else a.weight for _d, a in live]
    total = sum(weights)
    current = [0] * len(live)
    out: list[DestId | None] = []
    for _ in range(slots):
        for i, w in enumerate(weights):
            current[i] += w
        best = max(range(len(live)), key=lambda i: current[i])
        current[best] -= total
        out.append(live[best][0])
    return out


def map_name(sid: ServiceId) -> str:
    return "m" + chain_name(sid)[1:]


def _target_type(sid: ServiceId, svc: Service) -> tuple[str, bool]:
    """(typeof of the map's data, whether targets carry a port)."""
    ip = "ip6" if sid.family == "inet6" else "ip"
    with_port = not sid.fwmark
    return (f"{ip} daddr . {sid.protocol} dport" if with_port else f"{ip} daddr"), with_port


def dnat_rule(sid: ServiceId, svc: Service, slots: int) -> str:
    """The selection rule: a selector picks a slot, the service's map gives the target."""
    family = "ip6" if sid.family == "inet6" else "ip"
    _typ, with_port = _target_type(sid, svc)
    proto = f"meta l4proto {sid.protocol} " if with_port else ""
    return f"{proto}dnat {family} to {_selector(sid, svc.attrs, slots)} map @{map_name(sid)}"


def _host_bytes(address: str) -> bytes:
    import ipaddress

    return ipaddress.ip_address(address).packed


def elem_key(slot: int) -> bytes:
    """A slot as the selector writes it: a 32-bit integer in host byte order."""
    return slot.to_bytes(4, sys.byteorder)


def elem_data(sid: ServiceId, did: DestId) -> bytes:
    """A target as the map stores it: address, then the port in a 4-byte register."""
    data = _host_bytes(did.address)
    if not sid.fwmark:
        data += (did.port or sid.port).to_bytes(2, "big") + b"\0\0"
    return data


def _map_key(table: str, sid: ServiceId) -> tuple[str, str]:
    """(map name, element key) of a service in the dispatch maps."""
    if sid.fwmark:
        return ("fwm6" if sid.family == "inet6" else "fwm4"), str(sid.fwmark)
    name = "svc6" if sid.family == "inet6" else "svc4"
    return name, f"{sid.address} . {sid.protocol} . {sid.port}"


def table_skeleton(table: str) -> list[str]:
    """Commands creating the empty table (maps and the two base chains)."""
    lookups = [
        "ip daddr . meta l4proto . th dport vmap @svc4",
        "ip6 daddr . meta l4proto . th dport vmap @svc6",
        "meta nfproto ipv4 meta mark vmap @fwm4",
        "meta nfproto ipv6 meta mark vmap @fwm6",
    ]
    cmds = [
        f"add table inet {table}",
        f"add map inet {table} svc4 {{ type ipv4_addr . inet_proto . inet_service : verdict; }}",
        f"add map inet {table} svc6 {{ type ipv6_addr . inet_proto . inet_service : verdict; }}",
        f"add map inet {table} fwm4 {{ type mark : verdict; }}",
        f"add map inet {table} fwm6 {{ type mark : verdict; }}",
        f"add chain inet {table} prerouting {{ type nat hook prerouting priority dstnat; }}",
        f"add chain inet {table} output {{ type nat hook output priority -100; }}",
    ]
    for chain in ("prerouting", "output"):
        cmds += [f"add rule inet {table} {chain} {rule}" for rule in lookups]
    return cmds


def chain_body(table: str, sid: ServiceId, svc: Service, slots: int) -> list[str]:
    name = chain_name(sid)
    return [
        f'add rule inet {table} {name} counter comment "{comment(svc.attrs, sid.protocol)}"',
        f"add rule inet {table} {name} {dnat_rule(sid, svc, slots)}",
    ]


def add_service(table: str, sid: ServiceId, svc: Service, slots: int) -> list[str]:
    """Commands creating a service's map and chain (its slots are filled separately)."""
    typ, _ = _target_type(sid, svc)
    return [
        f"add map inet {table} {map_name(sid)} {{ typeof numgen inc mod 2 : {typ}; }}",
        f"add chain inet {table} {chain_name(sid)}",
        *chain_body(table, sid, svc, slots),
    ]


def dispatch(table: str, sid: ServiceId) -> str:
    """The command that routes a service's new connections to its chain."""
    mapname, key = _map_key(table, sid)
    return f"add element inet {table} {mapname} {{ {key} : jump {chain_name(sid)} }}"


def rewrite_service(table: str, sid: ServiceId, svc: Service, slots: int) -> list[str]:
    return [f"flush chain inet {table} {chain_name(sid)}", *chain_body(table, sid, svc, slots)]


def del_service(table: str, sid: ServiceId) -> list[str]:
    name = chain_name(sid)
    mapname, key = _map_key(table, sid)
    return [
        f"delete element inet {table} {mapname} {{ {key} }}",
        f"flush chain inet {table} {name}",
        f"delete chain inet {table} {name}",
        f"delete map inet {table} {map_name(sid)}",
    ]


# ---- reading a table back (adoption) ----------------------------------------------------
def parse_table(
    doc: dict[str, Any],
) -> tuple[dict[ServiceId, Service], dict[ServiceId, list[DestId | None]]]:
    """The rule set (and slot tables) held by a table listed as libnftables JSON.

    Weights are read back as slot counts (``rr`` shows equal weights, destinations at
    weight 0 are not in the table): where that differs from the configuration, adoption
    rewrites the service's slots, which moves no established connection.
    """
    services: dict[str, ServiceId] = {}
    attrs_of: dict[str, tuple[ServiceAttrs, str]] = {}
    slots_of: dict[str, dict[int, DestId]] = {}
    sizes: dict[str, int] = {}
    for obj in doc.get("nftables", []):
        if "map" in obj:
            mp = obj["map"]
            name = str(mp.get("name", ""))
            for key, value in mp.get("elem", []) or []:
                if name.startswith("m_"):
                    if isinstance(value, dict) and "concat" in value:
                        addr, port = value["concat"]
                    else:
                        addr, port = value, 0
                    slots_of.setdefault("s" + name[1:], {})[int(key)] = DestId(str(addr), int(port))
                    continue
                target = value.get("jump", {}).get("target") if isinstance(value, dict) else None
                if target is None:
                    continue
                if name in ("svc4", "svc6") and isinstance(key, dict) and "concat" in key:
                    addr, proto, port = key["concat"]
                    fam = "inet6" if name == "svc6" else "inet"
                    services[target] = ServiceId(fam, str(proto), str(addr), int(port))
                elif name in ("fwm4", "fwm6"):
                    fam = "inet6" if name == "fwm6" else "inet"
                    # a fwmark service's protocol is in its chain's comment
                    services[target] = ServiceId(fam, "tcp", fwmark=int(key))
        elif "rule" in obj:
            rule = obj["rule"]
            chain = str(rule.get("chain", ""))
            if not chain.startswith("s_"):
                continue
            if "comment" in rule:
                parsed = parse_comment(str(rule["comment"]))
                if parsed is not None:
                    attrs_of[chain] = parsed
            for expr in rule.get("expr", []):
                dnat = expr.get("dnat") if isinstance(expr, dict) else None
                if dnat:
                    key = dnat.get("addr", {}).get("map", {}).get("key", {})
                    for kind in ("numgen", "jhash"):
                        if kind in key:
                            sizes[chain] = int(key[kind].get("mod", SLOTS))
    rules: dict[ServiceId, Service] = {}
    tables: dict[ServiceId, list[DestId | None]] = {}
    for chain, sid in services.items():
        found = attrs_of.get(chain)
        if found is None:
            continue  # not a chain we wrote: leave it alone
        attrs, protocol = found
        if sid.fwmark:
            sid = ServiceId(sid.family, protocol, fwmark=sid.fwmark)
        owned = slots_of.get(chain, {})
        size = sizes.get(chain, SLOTS)
        table = [owned.get(i) for i in range(size)]
        counts: dict[DestId, int] = {}
        for did in table:
            if did is not None:
                counts[did] = counts.get(did, 0) + 1
        rules[sid] = Service(attrs, {d: DestAttrs(n, Method.NAT) for d, n in counts.items()})
        tables[sid] = table
    return rules, tables


def parse_counters(doc: dict[str, Any]) -> dict[str, int]:
    """Service chain → the packets its counter rule has seen, from a (terse) JSON listing.

    The counter sits in the chain the dstnat hook jumps to, and that hook sees only the
    first packet of each connection (conntrack NATs the rest), so this is the number of
    connections sent to the service since its chain was written.
    """
    out: dict[str, int] = {}
    for obj in doc.get("nftables", []):
        rule = obj.get("rule") if isinstance(obj, dict) else None
        if not isinstance(rule, dict) or not str(rule.get("chain", "")).startswith("s_"):
            continue
        if parse_comment(str(rule.get("comment", ""))) is None:
            continue
        for expr in rule.get("expr", []):
            counter = expr.get("counter") if isinstance(expr, dict) else None
            if isinstance(counter, dict) and isinstance(counter.get("packets"), int):
                out[str(rule["chain"])] = int(counter["packets"])
    return out


# ---- slot updates as raw nf_tables netlink messages ---------------------------------------
NETLINK_NETFILTER = 12
NFNL_SUBSYS_NFTABLES = 10
NFNL_MSG_BATCH_BEGIN = 0x10
NFNL_MSG_BATCH_END = 0x11
NFT_MSG_NEWSETELEM = 12
NFT_MSG_DELSETELEM = 14
NFPROTO_INET = 1
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLM_F_CREATE = 0x400
NLA_F_NESTED = 0x8000
NLMSG_ERROR = 2


def _nla(kind: int, payload: bytes) -> bytes:
    length = 4 + len(payload)
    return struct.pack("=HH", length, kind) + payload + b"\0" * ((4 - length % 4) % 4)


def _setelem_msg(msg_type: int, flags: int, seq: int, table: str, setname: str,
                 elems: list[tuple[bytes, bytes | None]]) -> bytes:  # fmt: skip
    items = b""
    for key, data in elems:
        body = _nla(NLA_F_NESTED | 1, _nla(1, key))  # NFTA_SET_ELEM_KEY { NFTA_DATA_VALUE }
        if data is not None:
            body += _nla(NLA_F_NESTED | 2, _nla(1, data))  # NFTA_SET_ELEM_DATA
        items += _nla(NLA_F_NESTED | 1, body)  # NFTA_LIST_ELEM
    payload = struct.pack("=BBH", NFPROTO_INET, 0, 0)
    payload += _nla(1, table.encode() + b"\0")  # NFTA_SET_ELEM_LIST_TABLE
    payload += _nla(2, setname.encode() + b"\0")  # NFTA_SET_ELEM_LIST_SET
    payload += _nla(NLA_F_NESTED | 3, items)  # NFTA_SET_ELEM_LIST_ELEMENTS
    kind = (NFNL_SUBSYS_NFTABLES << 8) | msg_type
    return struct.pack("=IHHII", 16 + len(payload), kind, flags, seq, 0) + payload


def _batch_marker(msg_type: int, seq: int) -> bytes:
    payload = b"\0\0" + NFNL_SUBSYS_NFTABLES.to_bytes(2, "big")  # res_id, network order
    return struct.pack("=IHHII", 16 + len(payload), msg_type, NLM_F_REQUEST, seq, 0) + payload


SlotChange = tuple[str, list[bytes], list[tuple[bytes, bytes]]]  # (map, keys to drop, new pairs)


def slot_batch(table: str, changes: list[SlotChange], seq: int) -> tuple[bytes, list[int]]:
    """One nf_tables transaction changing slots of several maps.

    Returns the batch and the sequence numbers whose acknowledgement to wait for. A slot
    whose target changes is deleted and added again in the same batch (the kernel refuses
    to overwrite a map element), so the switch is atomic.
    """
    out = [_batch_marker(NFNL_MSG_BATCH_BEGIN, seq)]
    acks: list[int] = []
    for setname, drop, add in changes:
        # large changes are split so no message comes near the 64 KiB netlink limit
        for i in range(0, len(drop), 256):
            seq += 1
            chunk: list[tuple[bytes, bytes | None]] = [(k, None) for k in drop[i : i + 256]]
            out.append(_setelem_msg(NFT_MSG_DELSETELEM, NLM_F_REQUEST | NLM_F_ACK, seq, table,
                                    setname, chunk))  # fmt: skip
            acks.append(seq)
        for i in range(0, len(add), 256):
            seq += 1
            pairs: list[tuple[bytes, bytes | None]] = list(add[i : i + 256])
            flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE
            out.append(_setelem_msg(NFT_MSG_NEWSETELEM, flags, seq, table, setname, pairs))
            acks.append(seq)
    out.append(_batch_marker(NFNL_MSG_BATCH_END, seq + 1))
    return b"".join(out), acks


def slot_changes(
    sid: ServiceId, old: list[DestId | None], new: list[DestId | None]
) -> SlotChange | None:
    """The element changes turning slot table ``old`` into ``new`` (same size)."""
    drop: list[bytes] = []
    add: list[tuple[bytes, bytes]] = []
    for i, target in enumerate(new):
        before = old[i] if i < len(old) else None
        if before == target:
            continue
        if before is not None:
            drop.append(elem_key(i))
        if target is not None:
            add.append((elem_key(i), elem_data(sid, target)))
    for i in range(len(new), len(old)):
        if old[i] is not None:
            drop.append(elem_key(i))
    if not drop and not add:
        return None
    return map_name(sid), drop, add


def parse_acks(data: bytes) -> list[tuple[int, int]]:
    """(sequence, errno) of every NLMSG_ERROR (acknowledgement) in a netlink read."""
    out = []
    offset = 0
    while offset + 16 <= len(data):
        length, kind, _flags, seq, _pid = struct.unpack_from("=IHHII", data, offset)
        if length < 16:
            break
        if kind == NLMSG_ERROR:
            (err,) = struct.unpack_from("=i", data, offset + 16)
            out.append((seq, -err))
        offset += (length + 3) & ~3
    return out
