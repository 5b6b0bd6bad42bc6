"""Kernel datapaths of the ipvs actor behind one small interface (the I/O helper).

Every backend answers the same calls:

* ``open()`` — connect; raises :class:`BackendError` when the datapath is missing;
* ``dump()`` — the rule set the kernel holds now (adoption at start);
* ``check(rules)`` — why a desired rule set cannot be programmed (e.g. DR on nftables);
* ``apply(ops, new_state)`` — perform the operations of one diff, atomically where the
  datapath allows it (nftables: one transaction; IPVS: one netlink request each);
* ``set_timeouts(tcp, tcpfin, udp)`` and ``sync_daemon(role, cfg)`` — the parts of
  keepalived's IPVS wrapper beyond services (IPVS only; others report them unsupported);
* ``close()``.

Backends: :class:`IpvsBackend` (pyroute2 generic netlink, plus the commands its
high-level API lacks: SET_CONFIG for timeouts, NEW/DEL_DAEMON for the sync daemon),
:class:`NftBackend` (libnftables through ctypes, in process: one long-lived context, no
process per change) and :class:`DryRunBackend` (records and logs). :func:`make_backend`
resolves ``auto``: IPVS when the generic-netlink family exists, else nftables.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import functools
import json
import logging
import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pykeepalived.actors.ipvs import nft
from pykeepalived.actors.ipvs.rules import (
    DestAttrs,
    DestId,
    Method,
    Op,
    OpKind,
    Service,
    ServiceAttrs,
    ServiceId,
)

log = logging.getLogger("pykeepalived.ipvs")

PROTO_NUM = {"tcp": socket.IPPROTO_TCP, "udp": socket.IPPROTO_UDP, "sctp": 132}
PROTO_NAME = {v: k for k, v in PROTO_NUM.items()}
AF = {"inet": socket.AF_INET, "inet6": socket.AF_INET6}


#: what a datapath counts: connections, packets_in/out, bytes_in/out (those it has)
Traffic = dict[str, int]
#: one service's traffic and its destinations'
ServiceTraffic = tuple[Traffic, dict[DestId, Traffic]]

#: IPVS's stats attributes → our names
IPVS_STATS = {
    "IPVS_STATS_ATTR_CONNS": "connections",
    "IPVS_STATS_ATTR_INPKTS": "packets_in",
    "IPVS_STATS_ATTR_OUTPKTS": "packets_out",
    "IPVS_STATS_ATTR_INBYTES": "bytes_in",
    "IPVS_STATS_ATTR_OUTBYTES": "bytes_out",
}


class BackendError(Exception):
    """The datapath refused or is missing; the message says which and why."""


@dataclass(frozen=True, slots=True)
class SyncDaemonConfig:
    interface: str
    sync_id: int = 0
    maxlen: int | None = None
    port: int | None = None
    ttl: int | None = None
    group: str | None = None


class Backend:
    name = "none"
    supports_sync = False

    async def open(self) -> None:
        pass

    async def dump(self) -> dict[ServiceId, Service]:
        return {}

    def check(self, rules: Mapping[ServiceId, Service]) -> list[str]:
        return []

    def warnings(self, rules: Mapping[ServiceId, Service]) -> list[str]:
        return []

    async def apply(self, ops: Sequence[Op], new_state: Mapping[ServiceId, Service]) -> None:
        raise NotImplementedError

    async def set_timeouts(self, tcp: int | None, tcpfin: int | None, udp: int | None) -> None:
        raise BackendError(f"lvs_timeouts: not supported by the {self.name} backend")

    async def sync_daemon(self, role: str | None, cfg: SyncDaemonConfig) -> None:
        raise BackendError(f"lvs_sync_daemon: not supported by the {self.name} backend")

    async def traffic(self, sids: Sequence[ServiceId]) -> dict[ServiceId, ServiceTraffic]:
        """What the datapath counted for each service and its destinations so far."""
        return {}

    async def close(self) -> None:
        pass


class DryRunBackend(Backend):
    """Applies nothing; logs every operation and keeps the result for status/tests."""

    name = "dry-run"
    supports_sync = True

    def __init__(self) -> None:
        self.applied: list[str] = []
        self.daemon: tuple[str | None, SyncDaemonConfig] | None = None
        self.timeouts: tuple[int | None, int | None, int | None] | None = None

    async def apply(self, ops: Sequence[Op], new_state: Mapping[ServiceId, Service]) -> None:
        for op in ops:
            log.info("dry-run: %s", op)
            self.applied.append(str(op))

    async def set_timeouts(self, tcp: int | None, tcpfin: int | None, udp: int | None) -> None:
        self.timeouts = (tcp, tcpfin, udp)
        log.info("dry-run: timeouts tcp=%s tcpfin=%s udp=%s", tcp, tcpfin, udp)

    async def sync_daemon(self, role: str | None, cfg: SyncDaemonConfig) -> None:
        self.daemon = (role, cfg)
        log.info(
            "dry-run: sync daemon %s on %s id %d", role or "stopped", cfg.interface, cfg.sync_id
        )


# ---- nftables ----------------------------------------------------------------------------
NFT_CTX_OUTPUT_JSON = 1 << 4
NFT_CTX_OUTPUT_TERSE = 1 << 11  # listings without set elements


class Libnftables:
    """One libnftables context, used for every command of the process's life."""

    def __init__(self) -> None:
        path = ctypes.util.find_library("nftables") or "libnftables.so.1"
        try:
            lib = ctypes.CDLL(path)
        except OSError as exc:
            raise BackendError(f"nftables backend: cannot load libnftables ({exc})") from exc
        lib.nft_ctx_new.restype = ctypes.c_void_p
        lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
        lib.nft_ctx_free.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_buffer_output.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_buffer_error.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_output_set_flags.argtypes = [ctypes.c_void_p, ctypes.c_uint]
        lib.nft_ctx_output_get_flags.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_output_get_flags.restype = ctypes.c_uint
        lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        lib.nft_run_cmd_from_buffer.restype = ctypes.c_int
        lib.nft_ctx_get_output_buffer.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_get_output_buffer.restype = ctypes.c_char_p
        lib.nft_ctx_get_error_buffer.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_get_error_buffer.restype = ctypes.c_char_p
        self.lib = lib
        self.ctx = lib.nft_ctx_new(0)
        if not self.ctx:
            raise BackendError("nftables backend: nft_ctx_new failed")
        lib.nft_ctx_buffer_output(self.ctx)
        lib.nft_ctx_buffer_error(self.ctx)

    def run(self, text: str, *, as_json: bool = False, terse: bool = False) -> tuple[int, str, str]:
        flags = self.lib.nft_ctx_output_get_flags(self.ctx)
        flags &= ~(NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_TERSE)
        flags |= (NFT_CTX_OUTPUT_JSON if as_json else 0) | (NFT_CTX_OUTPUT_TERSE if terse else 0)
        self.lib.nft_ctx_output_set_flags(self.ctx, flags)
        rc = self.lib.nft_run_cmd_from_buffer(self.ctx, text.encode())
        out = (self.lib.nft_ctx_get_output_buffer(self.ctx) or b"").decode(errors="replace")
        err = (self.lib.nft_ctx_get_error_buffer(self.ctx) or b"").decode(errors="replace")
        return rc, out, err

    def close(self) -> None:
        if self.ctx:
            self.lib.nft_ctx_free(self.ctx)
            self.ctx = None


class NftBackend(Backend):
    """nftables: service structure through libnftables, slot changes as raw netlink.

    libnftables reads the whole table back before every command it runs, so its cost
    grows with the table. Structure (a service's map, chain and rules) changes rarely and
    goes through it; the frequent change, which server a selector slot leads to, is sent
    as one nf_tables netlink batch of set-element messages on a socket of our own, which
    costs the same whatever the table holds.
    """

    name = "nftables"

    def __init__(self, table: str = nft.DEFAULT_TABLE) -> None:
        self.table = table
        self.nft: Libnftables | None = None
        self.sock: socket.socket | None = None
        self.seq = 1
        self.slots: dict[ServiceId, list[DestId | None]] = {}
        self.transactions = 0
        self.stats_nft: Libnftables | None = None  # its own context, used from a thread
        self.stats_busy = False

    async def open(self) -> None:
        self.nft = Libnftables()
        rc, _out, _err = self.nft.run(f"list table inet {self.table}")
        if rc != 0:
            self._run("\n".join(nft.table_skeleton(self.table)))
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, nft.NETLINK_NETFILTER)
        self.sock.bind((0, 0))

    def _run(self, text: str) -> None:
        assert self.nft is not None
        rc, _out, err = self.nft.run(text)
        self.transactions += 1
        if rc != 0:
            raise BackendError(f"nftables transaction refused: {err.strip()[:2000]}")

    def _send_slots(self, changes: list[nft.SlotChange]) -> None:
        """Send slot changes; one transaction unless they exceed a netlink send buffer."""
        budget = 96 * 1024  # well under the socket's send buffer
        group: list[nft.SlotChange] = []
        size = 0
        for change in changes:
            cost = 48 * len(change[1]) + 72 * len(change[2]) + 64
            if group and size + cost > budget:
                self._send_batch(group)
                group, size = [], 0
            group.append(change)
            size += cost
        if group:
            self._send_batch(group)

    def _send_batch(self, changes: list[nft.SlotChange]) -> None:
        assert self.sock is not None
        batch, acks = nft.slot_batch(self.table, changes, self.seq)
        self.seq += len(acks) + 2
        self.sock.sendall(batch)
        self.transactions += 1
        waiting = set(acks)
        errors: list[str] = []
        while waiting:
            data = self.sock.recv(1 << 16)
            for seq, errno in nft.parse_acks(data):
                if seq in waiting:
                    waiting.discard(seq)
                    if errno:
                        errors.append(os.strerror(errno))
            if errors:
                # the kernel aborts the whole batch at the first error: nothing applied
                raise BackendError(f"nftables slot update refused: {errors[0]}")

    async def dump(self) -> dict[ServiceId, Service]:
        assert self.nft is not None
        rc, out, err = self.nft.run(f"list table inet {self.table}", as_json=True)
        if rc != 0:
            raise BackendError(f"cannot list table inet {self.table}: {err.strip()}")
        rules, tables = nft.parse_table(json.loads(out))
        self.slots = tables
        return rules

    def check(self, rules: Mapping[ServiceId, Service]) -> list[str]:
        return nft.check(rules)

    def warnings(self, rules: Mapping[ServiceId, Service]) -> list[str]:
        return nft.warnings(rules)

    async def apply(self, ops: Sequence[Op], new_state: Mapping[ServiceId, Service]) -> None:
        structure: list[str] = []
        dispatch: list[str] = []
        changes: list[nft.SlotChange] = []
        new_slots: dict[ServiceId, list[DestId | None]] = {}
        touched: dict[ServiceId, set[OpKind]] = {}
        for op in ops:
            touched.setdefault(op.service, set()).add(op.kind)
        for sid, kinds in touched.items():
            if OpKind.DEL_SERVICE in kinds:
                structure += nft.del_service(self.table, sid)
        for sid, kinds in touched.items():
            svc = new_state.get(sid)
            if svc is None:
                continue
            fresh = OpKind.ADD_SERVICE in kinds
            old = [] if fresh else self.slots.get(sid, [])
            size = max(len(old), nft.slots_for(sum(1 for a in svc.dests.values() if a.weight > 0)))
            if fresh:
                structure += nft.add_service(self.table, sid, svc, size)
                dispatch.append(nft.dispatch(self.table, sid))
            elif OpKind.SET_SERVICE in kinds or size != len(old):
                structure += nft.rewrite_service(self.table, sid, svc, size)
            table = nft.slot_table(svc, size)
            change = nft.slot_changes(sid, old, table)
            if change is not None:
                changes.append(change)
            new_slots[sid] = table
        if structure:
            self._run("\n".join(structure))
        self._send_slots(changes)
        if dispatch:
            self._run("\n".join(dispatch))
        for sid, kinds in touched.items():
            if OpKind.DEL_SERVICE in kinds and sid not in new_state:
                self.slots.pop(sid, None)
        self.slots.update(new_slots)

    async def remove_table_if_empty(self) -> None:
        if self.nft is not None and not await self.dump():
            self.nft.run(f"delete table inet {self.table}")

    async def traffic(self, sids: Sequence[ServiceId]) -> dict[ServiceId, ServiceTraffic]:
        """Connections per service: its chain's counter rule (nft.py); none per server."""
        if self.stats_nft is None:
            self.stats_nft = Libnftables()
        nft_ctx, cmd = self.stats_nft, f"list table inet {self.table}"
        self.stats_busy = True
        try:
            rc, out, err = await asyncio.to_thread(nft_ctx.run, cmd, as_json=True, terse=True)
        finally:
            self.stats_busy = False
        if rc != 0:
            raise BackendError(f"cannot list table inet {self.table}: {err.strip()}")
        counts = nft.parse_counters(json.loads(out))
        return {
            sid: ({"connections": counts[nft.chain_name(sid)]}, {})
            for sid in sids
            if nft.chain_name(sid) in counts
        }

    async def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if self.nft is not None:
            self.nft.close()
            self.nft = None
        if self.stats_nft is not None and not self.stats_busy:  # (a thread may still use it)
            self.stats_nft.close()
        self.stats_nft = None


# ---- IPVS --------------------------------------------------------------------------------
IP_VS_STATE_MASTER = 1
IP_VS_STATE_BACKUP = 2


def _netmask_attr(sid: ServiceId, attrs: ServiceAttrs) -> str | None:
    """IPVS_SVC_ATTR_NETMASK: an IPv4 mask, or an IPv6 prefix length sent as a host u32."""
    if not attrs.netmask:
        return "255.255.255.255" if sid.family == "inet" else None
    if sid.family == "inet6":
        plen = int(attrs.netmask)
        return socket.inet_ntoa(plen.to_bytes(4, "little"))
    if attrs.netmask.isdigit():
        bits = int(attrs.netmask)
        mask = (0xFFFFFFFF << (32 - bits)) & 0xFFFFFFFF
        return socket.inet_ntoa(mask.to_bytes(4, "big"))
    return attrs.netmask


def service_fields(sid: ServiceId, attrs: ServiceAttrs | None = None) -> dict[str, Any]:
    """Keyword arguments of pyroute2's IPVSService for one service."""
    fields: dict[str, Any] = {"protocol": PROTO_NUM[sid.protocol], "af": AF[sid.family]}
    if sid.fwmark:
        fields["fwmark"] = sid.fwmark
    else:
        fields["addr"] = sid.address
        fields["port"] = sid.port
    if attrs is not None:
        fields["sched_name"] = attrs.scheduler
        fields["timeout"] = attrs.timeout
        fields["flags"] = {"flags": attrs.flags, "mask": 0xFFFFFFFF}
        netmask = _netmask_attr(sid, attrs)
        if netmask is not None:
            fields["netmask"] = netmask
        if attrs.pe_name:
            fields["pe_name"] = attrs.pe_name
    elif sid.family == "inet":
        fields["netmask"] = "255.255.255.255"
    return fields


def dest_fields(did: DestId, attrs: DestAttrs | None) -> dict[str, Any]:
    fields: dict[str, Any] = {"addr": did.address, "port": did.port}
    if attrs is not None:
        fields["weight"] = attrs.weight
        fields["fwd_method"] = attrs.method.fwd
        fields["tun_type"] = attrs.tun_type
        fields["tun_port"] = attrs.tun_port
        fields["tun_flags"] = attrs.tun_flags
    return fields


def _attr(msg: Any, nla: str, name: str, default: Any = None) -> Any:
    inner = msg.get_attr(nla)
    if inner is None:
        return default
    value = inner.get_attr(name)
    return default if value is None else value


def service_from_msg(msg: Any) -> tuple[ServiceId, ServiceAttrs]:
    """Our service identity and attributes from an IPVS_CMD_GET_SERVICE reply."""
    n = "IPVS_CMD_ATTR_SERVICE"
    af = _attr(msg, n, "IPVS_SVC_ATTR_AF", socket.AF_INET)
    family = "inet6" if af == socket.AF_INET6 else "inet"
    proto = PROTO_NAME.get(_attr(msg, n, "IPVS_SVC_ATTR_PROTOCOL", 6), "tcp")
    fwmark = _attr(msg, n, "IPVS_SVC_ATTR_FWMARK", 0) or 0
    if fwmark:
        sid = ServiceId(family, proto, fwmark=fwmark)
    else:
        sid = ServiceId(
            family,
            proto,
            str(_attr(msg, n, "IPVS_SVC_ATTR_ADDR", "")),
            _attr(msg, n, "IPVS_SVC_ATTR_PORT", 0),
        )
    flags = _attr(msg, n, "IPVS_SVC_ATTR_FLAGS", {}) or {}
    flag_bits = int(flags.get("flags", 0)) if isinstance(flags, dict) else 0
    flag_bits &= ~0x2  # HASHED is the kernel's own bookkeeping
    timeout = int(_attr(msg, n, "IPVS_SVC_ATTR_TIMEOUT", 0) or 0)
    netmask = ""
    if timeout:
        raw = _attr(msg, n, "IPVS_SVC_ATTR_NETMASK", "")
        if family == "inet6" and raw:
            netmask = str(int.from_bytes(socket.inet_aton(raw), "little"))
        else:
            netmask = str(raw or "")
    attrs = ServiceAttrs(
        str(_attr(msg, n, "IPVS_SVC_ATTR_SCHED_NAME", "wlc")),
        flag_bits,
        timeout,
        netmask,
        str(_attr(msg, n, "IPVS_SVC_ATTR_PE_NAME", "") or ""),
    )
    return sid, attrs


def dest_from_msg(msg: Any) -> tuple[DestId, DestAttrs]:
    n = "IPVS_CMD_ATTR_DEST"
    did = DestId(
        str(_attr(msg, n, "IPVS_DEST_ATTR_ADDR", "")), int(_attr(msg, n, "IPVS_DEST_ATTR_PORT", 0))
    )
    attrs = DestAttrs(
        int(_attr(msg, n, "IPVS_DEST_ATTR_WEIGHT", 1)),
        Method.from_fwd(int(_attr(msg, n, "IPVS_DEST_ATTR_FWD_METHOD", 0))),
        int(_attr(msg, n, "IPVS_DEST_ATTR_TUN_TYPE", 0) or 0),
        int(_attr(msg, n, "IPVS_DEST_ATTR_TUN_PORT", 0) or 0),
        int(_attr(msg, n, "IPVS_DEST_ATTR_TUN_FLAGS", 0) or 0),
    )
    return did, attrs


def stats_from_msg(msg: Any, nla: str, prefix: str) -> Traffic:
    """The 64-bit stats (else the 32-bit ones) of a service (``IPVS_CMD_ATTR_SERVICE``,
    ``IPVS_SVC_ATTR``) or destination (``IPVS_CMD_ATTR_DEST``, ``IPVS_DEST_ATTR``) reply."""
    inner = msg.get_attr(nla)
    if inner is None:
        return {}
    stats = inner.get_attr(f"{prefix}_STATS64") or inner.get_attr(f"{prefix}_STATS")
    if stats is None:
        return {}
    return {name: int(stats.get_attr(attr) or 0) for attr, name in IPVS_STATS.items()}


@functools.cache
def _ipvs_extra_msg() -> Any:
    """pyroute2's ipvsmsg with the daemon and timeout attributes spelled out."""
    from pyroute2.netlink import nla
    from pyroute2.netlink.generic import ipvs as gipvs

    class ipvs_extra_msg(gipvs.ipvsmsg):
        # the parent's compiled attribute table is inherited: compile ours afresh
        _nlmsg_base__compiled_nla = False
        nla_map = (
            ("IPVS_CMD_ATTR_UNSPEC", "none"),
            ("IPVS_CMD_ATTR_SERVICE", "service"),
            ("IPVS_CMD_ATTR_DEST", "dest"),
            ("IPVS_CMD_ATTR_DAEMON", "daemon"),
            ("IPVS_CMD_ATTR_TIMEOUT_TCP", "uint32"),
            ("IPVS_CMD_ATTR_TIMEOUT_TCP_FIN", "uint32"),
            ("IPVS_CMD_ATTR_TIMEOUT_UDP", "uint32"),
        )

        class daemon(nla):
            prefix = "IPVS_DAEMON_ATTR_"
            nla_map = (
                ("IPVS_DAEMON_ATTR_UNSPEC", "none"),
                ("IPVS_DAEMON_ATTR_STATE", "uint32"),
                ("IPVS_DAEMON_ATTR_MCAST_IFN", "asciiz"),
                ("IPVS_DAEMON_ATTR_SYNC_ID", "uint32"),
                ("IPVS_DAEMON_ATTR_SYNC_MAXLEN", "uint16"),
                ("IPVS_DAEMON_ATTR_MCAST_GROUP", "ip4addr"),
                ("IPVS_DAEMON_ATTR_MCAST_GROUP6", "ip6addr"),
                ("IPVS_DAEMON_ATTR_MCAST_PORT", "uint16"),
                ("IPVS_DAEMON_ATTR_MCAST_TTL", "uint8"),
            )

    return ipvs_extra_msg


def timeouts_msg(tcp: int | None, tcpfin: int | None, udp: int | None) -> Any:
    """IPVS_CMD_SET_CONFIG (0 leaves a timeout unchanged, as the kernel reads it)."""
    from pyroute2.netlink.generic import ipvs as gipvs

    cls = _ipvs_extra_msg()
    msg = cls()
    msg["cmd"] = gipvs.IPVS_CMD_SET_CONFIG
    msg["version"] = gipvs.GENL_VERSION
    msg["attrs"] = [
        ("IPVS_CMD_ATTR_TIMEOUT_TCP", tcp or 0),
        ("IPVS_CMD_ATTR_TIMEOUT_TCP_FIN", tcpfin or 0),
        ("IPVS_CMD_ATTR_TIMEOUT_UDP", udp or 0),
    ]
    return msg


def daemon_msg(start: bool, role: str, cfg: SyncDaemonConfig) -> Any:
    """IPVS_CMD_NEW_DAEMON / DEL_DAEMON for the master or backup sync daemon."""
    from pyroute2.netlink.generic import ipvs as gipvs

    cls = _ipvs_extra_msg()
    msg = cls()
    msg["cmd"] = gipvs.IPVS_CMD_NEW_DAEMON if start else gipvs.IPVS_CMD_DEL_DAEMON
    msg["version"] = gipvs.GENL_VERSION
    state = IP_VS_STATE_MASTER if role == "master" else IP_VS_STATE_BACKUP
    attrs: list[tuple[str, Any]] = [("IPVS_DAEMON_ATTR_STATE", state)]
    if start:
        attrs += [
            ("IPVS_DAEMON_ATTR_MCAST_IFN", cfg.interface),
            ("IPVS_DAEMON_ATTR_SYNC_ID", cfg.sync_id),
        ]
        if cfg.maxlen:
            attrs.append(("IPVS_DAEMON_ATTR_SYNC_MAXLEN", cfg.maxlen))
        if cfg.group:
            key = (
                "IPVS_DAEMON_ATTR_MCAST_GROUP6"
                if ":" in cfg.group
                else "IPVS_DAEMON_ATTR_MCAST_GROUP"
            )
            attrs.append((key, cfg.group))
        if cfg.port:
            attrs.append(("IPVS_DAEMON_ATTR_MCAST_PORT", cfg.port))
        if cfg.ttl:
            attrs.append(("IPVS_DAEMON_ATTR_MCAST_TTL", cfg.ttl))
    msg["attrs"] = [("IPVS_CMD_ATTR_DAEMON", {"attrs": attrs})]
    return msg


class IpvsBackend(Backend):
    name = "ipvs"
    supports_sync = True

    def __init__(self) -> None:
        self.sock: Any = None
        self.daemon_role: str | None = None

    async def open(self) -> None:
        from pyroute2 import AsyncIPVS
        from pyroute2.netlink.exceptions import NetlinkError

        sock = AsyncIPVS()
        try:
            await sock.setup_endpoint()
        except NetlinkError as exc:
            sock.close()
            raise BackendError(f"ipvs backend: no IPVS generic netlink family ({exc})") from exc
        self.sock = sock

    async def dump(self) -> dict[ServiceId, Service]:
        from pyroute2 import IPVSService

        out: dict[ServiceId, Service] = {}
        for smsg in await self.sock.service("dump"):
            sid, attrs = service_from_msg(smsg)
            dests: dict[DestId, DestAttrs] = {}
            key = IPVSService(**service_fields(sid))
            for dmsg in await self.sock.dest("dump", service=key):
                did, dattrs = dest_from_msg(dmsg)
                dests[did] = dattrs
            out[sid] = Service(attrs, dests)
        return out

    async def traffic(self, sids: Sequence[ServiceId]) -> dict[ServiceId, ServiceTraffic]:
        from pyroute2 import IPVSService

        wanted = set(sids)
        out: dict[ServiceId, ServiceTraffic] = {}
        for smsg in await self.sock.service("dump"):
            sid, _attrs = service_from_msg(smsg)
            if sid not in wanted:
                continue
            dests: dict[DestId, Traffic] = {}
            key = IPVSService(**service_fields(sid))
            for dmsg in await self.sock.dest("dump", service=key):
                did, _dattrs = dest_from_msg(dmsg)
                dests[did] = stats_from_msg(dmsg, "IPVS_CMD_ATTR_DEST", "IPVS_DEST_ATTR")
            out[sid] = (stats_from_msg(smsg, "IPVS_CMD_ATTR_SERVICE", "IPVS_SVC_ATTR"), dests)
        return out

    async def apply(self, ops: Sequence[Op], new_state: Mapping[ServiceId, Service]) -> None:
        from pyroute2 import IPVSDest, IPVSService
        from pyroute2.netlink.exceptions import NetlinkError

        for op in ops:
            try:
                if op.kind in (OpKind.ADD_SERVICE, OpKind.SET_SERVICE, OpKind.DEL_SERVICE):
                    verb = {"add_service": "add", "set_service": "set", "del_service": "del"}[
                        op.kind
                    ]
                    svc = IPVSService(**service_fields(op.service, op.attrs))
                    await self.sock.service(verb, service=svc)
                else:
                    assert op.dest is not None
                    verb = {"add_dest": "add", "set_dest": "set", "del_dest": "del"}[op.kind]
                    svc = IPVSService(**service_fields(op.service))
                    dest = IPVSDest(**dest_fields(op.dest, op.dest_attrs))
                    await self.sock.dest(verb, service=svc, dest=dest)
            except NetlinkError as exc:
                raise BackendError(f"IPVS refused {op}: {exc}") from exc

    async def _request(self, msg: Any) -> None:
        from pyroute2.netlink.exceptions import NetlinkError

        try:
            await self.sock._do_request(msg)
        except NetlinkError as exc:
            raise BackendError(f"IPVS refused command {msg['cmd']}: {exc}") from exc

    async def set_timeouts(self, tcp: int | None, tcpfin: int | None, udp: int | None) -> None:
        await self._request(timeouts_msg(tcp, tcpfin, udp))

    async def sync_daemon(self, role: str | None, cfg: SyncDaemonConfig) -> None:
        if self.daemon_role == role:
            return
        if self.daemon_role is not None:
            try:
                await self._request(daemon_msg(False, self.daemon_role, cfg))
            except BackendError as exc:
                log.warning("stopping the %s sync daemon: %s", self.daemon_role, exc)
            self.daemon_role = None
        if role is not None:
            await self._request(daemon_msg(True, role, cfg))
            self.daemon_role = role

    async def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


async def open_backend(name: str) -> Backend:
    """The opened backend for ``lb_backend``; ``auto`` tries IPVS first, then nftables."""
    if name == "auto":
        try:
            ipvs = IpvsBackend()
            await ipvs.open()
            return ipvs
        except BackendError as exc:
            log.info("lb_backend auto: %s; using nftables", exc)
            name = "nftables"
    backends: dict[str, type[Backend]] = {
        "ipvs": IpvsBackend,
        "nftables": NftBackend,
        "dry-run": DryRunBackend,
    }
    cls = backends.get(name)
    if cls is None:
        raise BackendError(f"unknown lb_backend {name!r} (auto, ipvs, nftables, dry-run)")
    backend = cls()
    await backend.open()
    return backend
