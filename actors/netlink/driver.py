"""Kernel I/O for the netlink reflector: the monitoring socket, the request socket, sysctls.

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
* :class:`AddrSocket` sends the address requests VRRP failover waits on, encoded by
  ``wire.encode_addr``, and matches the kernel's acks by sequence number.
* :class:`Kernel` wraps one ``AsyncIPRoute`` for the other requests and dumps, and writes
  the few per-interface sysctls a VMAC needs under ``/proc/sys/net`` (of the namespace the
  process runs in).
"""

from __future__ import annotations

import asyncio
import errno
import itertools
import os
import socket
from collections.abc import Iterable
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

__all__ = ["GROUPS", "AddrSocket", "Kernel", "Monitor", "NetlinkError", "Overflow"]

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
            out.extend(wire.decode(data))
        return out

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


class AddrSocket:
    """RTM_NEWADDR / RTM_DELADDR requests on a plain socket, acks read from the loop."""

    def __init__(self) -> None:
        self.sock = socket.socket(
            socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, socket.NETLINK_ROUTE
        )
        self.sock.bind((0, 0))
        self.sock.setblocking(False)
        self._seq = itertools.count(1)
        self._pending: dict[int, asyncio.Future[int]] = {}
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self.sock.fileno(), self._on_readable)

    def _on_readable(self) -> None:
        while True:
            try:
                data = self.sock.recv(1 << 16)
            except BlockingIOError:
                return
            except OSError as exc:  # nothing is lost that a retry would not redo
                for fut in self._pending.values():
                    if not fut.done():
                        fut.set_exception(exc)
                return
            for msg in wire.decode(data):
                if msg["event"] != "NLMSG_ERROR":
                    continue
                fut = self._pending.pop(msg["seq"], None)
                if fut is not None and not fut.done():
                    fut.set_result(int(msg["error"]))

    async def request(self, mtype: int, req: dict[str, Any]) -> None:
        """Send one request and wait for its ack; NetlinkError on a kernel error."""
        seq = next(self._seq) & 0xFFFFFFFF or next(self._seq)
        fut: asyncio.Future[int] = self._loop.create_future()
        self._pending[seq] = fut
        try:
            self.sock.send(wire.encode_addr(mtype, seq, req))
            code = await fut
        finally:
            self._pending.pop(seq, None)
        if code:
            raise NetlinkError(code, os.strerror(code))

    def close(self) -> None:
        self._loop.remove_reader(self.sock.fileno())
        self.sock.close()


class Kernel:
    """Requests and dumps through one pyroute2 ``AsyncIPRoute`` (created in the loop)."""

    def __init__(self) -> None:
        self.ipr = AsyncIPRoute()
        self.addr_sock = AddrSocket()

    def close(self) -> None:
        self.addr_sock.close()
        self.ipr.close()

    async def _collect(self, gen: Any) -> list[Any]:
        return [m async for m in gen]

    async def links(self) -> list[Any]:
        return await self._collect(await self.ipr.link("dump"))

    async def addrs(self) -> list[Any]:
        return await self._collect(await self.ipr.addr("dump"))

    async def routes(self) -> list[Any]:
        out: list[Any] = []
        for family in (socket.AF_INET, socket.AF_INET6):
            out += await self._collect(await self.ipr.route("dump", family=family, table=0))
        return out

    async def rules(self) -> list[Any]:
        out: list[Any] = []
        for family in (socket.AF_INET, socket.AF_INET6):
            out += await self._collect(await self.ipr.rule("dump", family=family))
        return out

    async def addr(self, command: str, req: dict[str, Any]) -> None:
        """``add`` or ``del`` one address (``requests.address_request`` form)."""
        await self.addr_sock.request(
            wire.RTM_NEWADDR if command == "add" else wire.RTM_DELADDR, req
        )

    async def route(self, command: str, req: dict[str, Any]) -> None:
        await self.ipr.route(command, **req)

    async def rule(self, command: str, req: dict[str, Any]) -> None:
        await self.ipr.rule(command, **req)

    async def link(self, command: str, **req: Any) -> list[Any]:
        return list(await self.ipr.link(command, **req))

    # ---- sysctls --------------------------------------------------------------------
    @staticmethod
    def sysctl_path(family: str, ifname: str, name: str) -> str:
        return f"/proc/sys/net/{'ipv6' if family == 'inet6' else 'ipv4'}/conf/{ifname}/{name}"

    def get_sysctl(self, family: str, ifname: str, name: str) -> int | None:
        try:
            with open(self.sysctl_path(family, ifname, name)) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def set_sysctls(self, family: str, ifname: str, values: Iterable[tuple[str, int]]) -> list[str]:
        """Write each value; returns error strings for those that failed."""
        errors = []
        for name, value in values:
            path = self.sysctl_path(family, ifname, name)
            try:
                fd = os.open(path, os.O_WRONLY)
                try:
                    os.write(fd, f"{value}\n".encode())
                finally:
                    os.close(fd)
            except OSError as exc:
                errors.append(f"sysctl {path}={value}: {exc.strerror}")
        return errors
