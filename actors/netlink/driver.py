"""Kernel I/O for the netlink reflector: the monitoring socket and the request sockets.

The only module of the actor (with ``actor.py``) that imports pyroute2.

* :class:`Monitor` is a plain ``AF_NETLINK`` socket bound to the multicast groups of
  links, IPv4/IPv6 addresses, routes and rules. It is read from the actor's own asyncio
  loop (``loop.add_reader`` on its fd) and parsed with pyroute2's rtnl marshal. A plain
  socket rather than pyroute2's async socket because the reflector must *see* the
  overflow: when the kernel could not queue a notification, ``recv`` fails with ENOBUFS,
  :meth:`Monitor.read` raises :class:`Overflow`, and the reflector reopens the socket and
  resynchronises from a dump (the only correct recovery: the lost messages are gone).
  Notifications are decoded by the pure ``wire.decode`` (a few attributes, fast), not by
  pyroute2's generic marshal.
* :class:`RtSocket` sends the address requests VRRP failover waits on (``wire.encode_addr``)
  and the dumps (``wire.encode_dump``), and matches the kernel's replies by sequence number.
* :class:`Kernel` adds one ``AsyncIPRoute`` for the other requests (routes, rules).
"""

from __future__ import annotations

import asyncio
import errno
import itertools
import os
import socket
from typing import Any

from pyroute2 import AsyncIPRoute
from pyroute2.netlink.exceptions import NetlinkError
from pyroute2.netlink.rtnl import (
    RTMGRP_IPV4_IFADDR,
    RTMGRP_IPV4_ROUTE,
    RTMGRP_IPV4_RULE,
    RTMGRP_IPV6_IFADDR,
    RTMGRP_IPV6_ROUTE,
    RTMGRP_IPV6_RULE,
    RTMGRP_LINK,
)

from pykeepalived.actors.netlink import wire

__all__ = ["GROUPS", "Kernel", "Monitor", "NetlinkError", "Overflow", "RtSocket"]

GROUPS = (
    RTMGRP_LINK
    | RTMGRP_IPV4_IFADDR
    | RTMGRP_IPV6_IFADDR
    | RTMGRP_IPV4_ROUTE
    | RTMGRP_IPV6_ROUTE
    | RTMGRP_IPV4_RULE
    | RTMGRP_IPV6_RULE
)
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
#: errors that mean "already there" on add, "already gone" on delete
EXISTS = {errno.EEXIST}
GONE = {errno.ENOENT, errno.ESRCH, errno.EADDRNOTAVAIL, errno.ENODEV}


class Overflow(Exception):
    """The monitoring socket lost notifications (ENOBUFS): reopen and resynchronise."""


class Monitor:
    """The rtnetlink multicast listener."""

    def __init__(self, groups: int = GROUPS, rcvbuf: int | None = None, force: bool = False):
        self.groups = groups
        self.rcvbuf = rcvbuf
        self.force = force
        self.sock: socket.socket | None = None
        self.malformed = 0

    def open(self) -> int:
        sock = socket.socket(
            socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, socket.NETLINK_ROUTE
        )
        try:
            if self.rcvbuf:
                opt = SO_RCVBUFFORCE if self.force else socket.SO_RCVBUF
                sock.setsockopt(socket.SOL_SOCKET, opt, self.rcvbuf)
            sock.bind((0, self.groups))
            sock.setblocking(False)
        except BaseException:
            sock.close()
            raise
        self.sock = sock
        return sock.fileno()

    def fileno(self) -> int:
        assert self.sock is not None
        return self.sock.fileno()

    def read(self, limit: int = 256) -> list[Any]:
        """Parsed messages of up to ``limit`` datagrams waiting now; [] if none."""
        assert self.sock is not None
        out: list[Any] = []
        for _ in range(limit):
            try:
                data = self.sock.recv(1 << 16)
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno == errno.ENOBUFS:
                    raise Overflow() from exc
                raise
            if not data:
                break
            try:
                out.extend(wire.decode(data))
            except wire.WireError:
                self.malformed += 1  # the reflector counts these; the rest still counts
        return out

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


class RtSocket:
    """Address requests and dumps on a plain rtnetlink socket, replies read from the loop.

    Replies are matched to requests by sequence number. A dump's messages are collected
    until NLMSG_DONE; one the kernel marks as interrupted (the table changed while it was
    being dumped) is run again. At most a few datagrams are read per wake-up, so a dump
    of 10,000 addresses never keeps the loop from answering the watchdog.
    """

    READ_BURST = 16

    def __init__(self) -> None:
        self.sock = socket.socket(
            socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, socket.NETLINK_ROUTE
        )
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
        self.sock.bind((0, 0))
        self.sock.setblocking(False)
        self._seq = itertools.count(1)
        self._pending: dict[int, asyncio.Future[int]] = {}
        self._dumps: dict[int, tuple[list[dict[str, Any]], list[bool]]] = {}
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self.sock.fileno(), self._on_readable)

    def _next_seq(self) -> int:
        return next(self._seq) & 0x7FFFFFFF or next(self._seq)

    def _on_readable(self) -> None:
        for _ in range(self.READ_BURST):
            try:
                data = self.sock.recv(1 << 16)
            except BlockingIOError:
                return
            except OSError as exc:  # fail every waiter: a retry redoes the work
                for fut in self._pending.values():
                    if not fut.done():
                        fut.set_exception(exc)
                return
            try:
                msgs = wire.decode(data)
            except wire.WireError:
                continue  # a reply we cannot read: its waiter times out at the caller's level
            for msg in msgs:
                seq = msg["seq"]
                dump = self._dumps.get(seq)
                if dump is not None and msg["event"] not in ("NLMSG_DONE", "NLMSG_ERROR"):
                    dump[0].append(msg)
                    if msg["nlflags"] & wire.NLM_F_DUMP_INTR:
                        dump[1][0] = True
                    continue
                if msg["event"] in ("NLMSG_DONE", "NLMSG_ERROR"):
                    waiter = self._pending.get(seq)
                    if waiter is not None and not waiter.done():
                        waiter.set_result(int(msg.get("error", 0)))

    async def _exchange(self, seq: int, data: bytes) -> int:
        fut: asyncio.Future[int] = self._loop.create_future()
        self._pending[seq] = fut
        try:
            self.sock.send(data)
            return await fut
        finally:
            self._pending.pop(seq, None)

    async def request(self, mtype: int, req: dict[str, Any]) -> None:
        """Send one address request and wait for its ack; NetlinkError on a kernel error."""
        seq = self._next_seq()
        code = await self._exchange(seq, wire.encode_addr(mtype, seq, req))
        if code:
            raise NetlinkError(code, os.strerror(code))

    async def dump(self, mtype: int, family: int = 0) -> list[dict[str, Any]]:
        for _ in range(10):
            seq = self._next_seq()
            msgs: list[dict[str, Any]] = []
            interrupted = [False]
            self._dumps[seq] = (msgs, interrupted)
            try:
                code = await self._exchange(seq, wire.encode_dump(mtype, seq, family))
            finally:
                self._dumps.pop(seq, None)
            if code:
                raise NetlinkError(code, os.strerror(code))
            if not interrupted[0]:
                return msgs
        raise NetlinkError(errno.EINTR, "dump interrupted ten times in a row")

    def close(self) -> None:
        self._loop.remove_reader(self.sock.fileno())
        self.sock.close()


class Kernel:
    """Dumps and address requests on an :class:`RtSocket`; the rest through ``AsyncIPRoute``."""

    def __init__(self) -> None:
        self.ipr = AsyncIPRoute()
        self.rt = RtSocket()

    def close(self) -> None:
        self.rt.close()
        self.ipr.close()

    async def links(self) -> list[dict[str, Any]]:
        return await self.rt.dump(wire.RTM_GETLINK)

    async def addrs(self) -> list[dict[str, Any]]:
        return await self.rt.dump(wire.RTM_GETADDR)

    async def routes(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for family in (socket.AF_INET, socket.AF_INET6):
            out += await self.rt.dump(wire.RTM_GETROUTE, family)
        return out

    async def rules(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for family in (socket.AF_INET, socket.AF_INET6):
            out += await self.rt.dump(wire.RTM_GETRULE, family)
        return out

    async def addr(self, command: str, req: dict[str, Any]) -> None:
        """``add`` or ``del`` one address (``requests.address_request`` form)."""
        await self.rt.request(wire.RTM_NEWADDR if command == "add" else wire.RTM_DELADDR, req)

    async def route(self, command: str, req: dict[str, Any]) -> None:
        await self.ipr.route(command, **req)

    async def rule(self, command: str, req: dict[str, Any]) -> None:
        await self.ipr.rule(command, **req)
