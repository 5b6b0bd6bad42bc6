"""A fake kernel table for the netlink reflector's tests: links, addresses, routes, rules in memory.

:class:`FakeKernelTable` stands where ``driver.py`` stands: ``Reflector(driver=table)`` (or
``NetlinkActor.kernel_driver = table``) gets its ``Kernel()`` and ``Monitor(...)`` from it.
Both speak the dict form ``wire.decode`` produces, so the reflector's normalisers read them
exactly as they read the kernel's messages. Like the kernel, the table

* answers dumps and applies requests (``addr``, ``route``, ``rule``), failing
  them with the kernel's errno (EEXIST, ENODEV, EADDRNOTAVAIL, ESRCH, ENOENT) as the
  reflector's error handling expects, or with any errno a test plans (:meth:`fail`);
* sends the RTM_* notifications of every change to each open monitor, for changes the
  reflector asked for and for changes "another program" (the test) makes with
  :meth:`add_link`, :meth:`set_link`, :meth:`del_link`, :meth:`add_addr`, :meth:`del_addr`,
  :meth:`del_route`, :meth:`del_rule`;
* can overflow (:meth:`overflow`): queued notifications are lost and the next read raises
  ``Overflow``, as ENOBUFS does.

A monitor's readiness is a real pipe, so ``loop.add_reader`` works as with a netlink socket
(also on the virtual-clock loop). Pure Python: nothing here imports pyroute2. The two error
classes the reflector catches (``NetlinkError``, ``Overflow``) are taken from ``driver.py``
when first needed (the reflector has imported it anyway), or given to the constructor.
"""

from __future__ import annotations

import errno
import ipaddress
import itertools
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pykeepalived.actors.netlink import requests as rq

IFF_UP, IFF_RUNNING, IFF_LOWER_UP = 0x1, 0x40, 0x10000
Msg = dict[str, Any]


def _driver_errors() -> tuple[type[Exception], type[Exception]]:
    from pykeepalived.actors.netlink import driver  # the classes the reflector catches

    return driver.NetlinkError, driver.Overflow


@dataclass
class FakeLink:
    index: int
    name: str
    up: bool = True
    mac: str = "02:00:00:00:00:01"
    kind: str | None = None
    parent: int | None = None
    mtu: int = 1500

    def msg(self, event: str = "RTM_NEWLINK") -> Msg:
        flags = (IFF_UP | IFF_RUNNING | IFF_LOWER_UP) if self.up else 0
        out: Msg = {
            "event": event,
            "index": self.index,
            "flags": flags,
            "family": 0,
            "IFLA_IFNAME": self.name,
            "IFLA_ADDRESS": self.mac,
            "IFLA_MTU": self.mtu,
            "IFLA_OPERSTATE": "UP" if self.up else "DOWN",
        }
        if self.kind:
            out["IFLA_LINKINFO"] = {"IFLA_INFO_KIND": self.kind}
        if self.parent:
            out["IFLA_LINK"] = self.parent
        return out


@dataclass
class Planned:
    """A request that will fail: ``what`` (addr, route, rule, dump), ``command``."""

    what: str
    command: str
    code: int
    times: int = 1


@dataclass
class FakeMonitor:
    """The multicast listener: notifications queue here while it is open."""

    table: FakeKernelTable
    rcvbuf: int | None = None
    force: bool = False
    queue: list[Msg] = field(default_factory=list)
    overflowed: bool = False
    malformed: int = 0
    sock: Any = None
    _pipe: tuple[int, int] | None = None

    def open(self) -> int:
        self._pipe = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.sock = self._pipe[0]
        self.queue, self.overflowed = [], False
        self.table.monitors.append(self)
        self.table.opened += 1
        return self._pipe[0]

    def fileno(self) -> int:
        assert self._pipe is not None
        return self._pipe[0]

    def deliver(self, msg: Msg) -> None:
        if not self.overflowed:
            self.queue.append(msg)
            self._wake()

    def overflow(self) -> None:
        self.queue.clear()
        self.overflowed = True
        self._wake()

    def _wake(self) -> None:
        if self._pipe is not None:
            try:
                os.write(self._pipe[1], b"!")
            except BlockingIOError:
                pass

    def read(self, limit: int = 256) -> list[Msg]:
        assert self._pipe is not None
        try:
            while os.read(self._pipe[0], 4096):
                pass
        except BlockingIOError:
            pass
        if self.overflowed:
            self.overflowed = False
            raise self.table.overflow_error()
        out, self.queue = self.queue[:limit], self.queue[limit:]
        if self.queue:
            self._wake()
        return out

    def close(self) -> None:
        if self._pipe is not None:
            for fd in self._pipe:
                os.close(fd)
            self._pipe = None
            self.sock = None
        if self in self.table.monitors:
            self.table.monitors.remove(self)


class FakeIpr:
    """The part of pyroute2's ``AsyncIPRoute`` the reflector calls directly."""

    def __init__(self, table: FakeKernelTable) -> None:
        self.table = table

    async def link_lookup(self, ifname: str) -> list[int]:
        link = self.table.link_by_name(ifname)
        return [link.index] if link else []


class FakeKernel:
    """``driver.Kernel``'s interface on a :class:`FakeKernelTable`."""

    def __init__(self, table: FakeKernelTable) -> None:
        self.table = table
        self.ipr = FakeIpr(table)
        self.closed = False

    def close(self) -> None:
        self.closed = True

    async def links(self) -> list[Msg]:
        self.table.check("dump", "links")
        return [link.msg() for link in self.table.links.values()]

    async def addrs(self) -> list[Msg]:
        self.table.check("dump", "addrs")
        return [dict(m, event="RTM_NEWADDR") for m in self.table.addrs.values()]

    async def routes(self) -> list[Msg]:
        self.table.check("dump", "routes")
        return [dict(m, event="RTM_NEWROUTE") for m in self.table.routes.values()]

    async def rules(self) -> list[Msg]:
        self.table.check("dump", "rules")
        return [dict(m, event="RTM_NEWRULE") for m in self.table.rules.values()]

    async def addr(self, command: str, req: dict[str, Any]) -> None:
        self.table.request("addr", command, req)

    async def route(self, command: str, req: dict[str, Any]) -> None:
        self.table.request("route", command, req)

    async def rule(self, command: str, req: dict[str, Any]) -> None:
        self.table.request("rule", command, req)


class FakeKernelTable:
    """The kernel's routing tables, in memory; see the module docstring."""

    def __init__(
        self,
        links: Iterable[str] = ("lo", "eth0"),
        error: type[Exception] | None = None,
        overflow_error: type[Exception] | None = None,
    ) -> None:
        self._error = error
        self._overflow = overflow_error
        self.links: dict[int, FakeLink] = {}
        self.addrs: dict[tuple[int, str, str], Msg] = {}  # (index, local ip, prefixlen)
        self.routes: dict[str, Msg] = {}  # requests.route_key_of_msg → message
        self.rules: dict[str, Msg] = {}
        self.monitors: list[FakeMonitor] = []
        self.kernels: list[FakeKernel] = []
        #: every request the reflector made: (what, command, request)
        self.log: list[tuple[str, str, dict[str, Any]]] = []
        self.planned: list[Planned] = []
        self.opened = 0
        self._index = itertools.count(1)
        for name in links:
            self.add_link(name, up=True)

    # ---- driver.py's surface ---------------------------------------------------------
    def Kernel(self) -> FakeKernel:
        kernel = FakeKernel(self)
        self.kernels.append(kernel)
        return kernel

    def Monitor(self, rcvbuf: int | None = None, force: bool = False) -> FakeMonitor:
        return FakeMonitor(self, rcvbuf, force)

    def error(self, code: int) -> Exception:
        cls = self._error or _driver_errors()[0]
        return cls(code, os.strerror(code))

    def overflow_error(self) -> Exception:
        cls = self._overflow or _driver_errors()[1]
        return cls()

    # ---- failures and overflow ---------------------------------------------------------
    def fail(self, what: str, command: str, code: int, times: int = 1) -> None:
        """The next ``times`` ``what`` ``command`` requests fail with ``code``."""
        self.planned.append(Planned(what, command, code, times))

    def check(self, what: str, command: str) -> None:
        for plan in self.planned:
            if plan.what == what and plan.command == command and plan.times > 0:
                plan.times -= 1
                raise self.error(plan.code)

    def overflow(self) -> None:
        """The monitors' receive buffers overflow: queued notifications are lost (ENOBUFS)."""
        for monitor in self.monitors:
            monitor.overflow()

    # ---- queries -----------------------------------------------------------------------
    def link_by_name(self, name: str) -> FakeLink | None:
        return next((link for link in self.links.values() if link.name == name), None)

    def addresses(self, dev: str) -> set[str]:
        link = self.link_by_name(dev)
        return {f"{ip}/{plen}" for (i, ip, plen) in self.addrs if link and i == link.index}

    def requests(self, what: str = "", command: str = "") -> list[dict[str, Any]]:
        return [r for w, c, r in self.log if w.startswith(what) and c.startswith(command)]

    # ---- changes by "another program" ------------------------------------------------
    def add_link(self, name: str, up: bool = True, **kw: Any) -> FakeLink:
        link = FakeLink(next(self._index), name, up, **kw)
        self.links[link.index] = link
        self._notify(link.msg())
        return link

    def set_link(self, name: str, up: bool) -> None:
        """Up or down; a link going down loses its routes silently, as in the kernel."""
        link = self._link(name)
        link.up = up
        if not up:
            self._flush_routes(link.index)
        self._notify(link.msg())

    def del_link(self, name: str) -> None:
        link = self._link(name)
        for key in [k for k in self.addrs if k[0] == link.index]:
            self._notify(dict(self.addrs.pop(key), event="RTM_DELADDR"))
        self._flush_routes(link.index)
        del self.links[link.index]
        self._notify(link.msg("RTM_DELLINK"))

    def add_addr(self, dev: str, address: str) -> None:
        itf = ipaddress.ip_interface(address)
        req: dict[str, Any] = {
            "index": self._link(dev).index,
            "family": rq.family_number(_family(itf)),
            "address": str(itf.ip),
            "prefixlen": itf.network.prefixlen,
        }
        self._addr_add(req)

    def del_addr(self, dev: str, address: str) -> None:
        itf = ipaddress.ip_interface(address)
        key = (self._link(dev).index, str(itf.ip), str(itf.network.prefixlen))
        self._notify(dict(self.addrs.pop(key), event="RTM_DELADDR"))

    def del_route(self, key: str) -> None:
        self._notify(dict(self.routes.pop(key), event="RTM_DELROUTE"))

    def del_rule(self, key: str) -> None:
        self._notify(dict(self.rules.pop(key), event="RTM_DELRULE"))

    # ---- requests ----------------------------------------------------------------------
    def request(self, what: str, command: str, req: dict[str, Any]) -> None:
        self.log.append((what, command, dict(req)))
        self.check(what, command)
        handler = getattr(self, f"_{what}_{command}")
        handler(req)

    def _addr_add(self, req: dict[str, Any]) -> None:
        if req["index"] not in self.links:
            raise self.error(errno.ENODEV)
        own = req.get("local") or req["address"]
        key = (req["index"], str(ipaddress.ip_address(own)), str(req["prefixlen"]))
        if key in self.addrs:
            raise self.error(errno.EEXIST)
        msg: Msg = {
            "index": req["index"],
            "family": req["family"],
            "prefixlen": req["prefixlen"],
            "flags": int(req.get("IFA_FLAGS", 0)) & 0xFF,
            "scope": req.get("scope", 0),
            "IFA_ADDRESS": req["address"],
            "IFA_FLAGS": int(req.get("IFA_FLAGS", 0)),
        }
        if req["family"] == rq.AF_INET:
            msg["IFA_LOCAL"] = own
        if req.get("label"):
            msg["IFA_LABEL"] = req["label"]
        self.addrs[key] = msg
        self._notify(dict(msg, event="RTM_NEWADDR"))

    def _addr_del(self, req: dict[str, Any]) -> None:
        own = req.get("local") or req["address"]
        key = (req["index"], str(ipaddress.ip_address(own)), str(req["prefixlen"]))
        if key not in self.addrs:
            raise self.error(errno.EADDRNOTAVAIL)
        self._notify(dict(self.addrs.pop(key), event="RTM_DELADDR"))

    def _route_msg(self, req: dict[str, Any]) -> Msg:
        dst, _, dlen = str(req["dst"]).partition("/")
        family = int(req["family"])
        msg: Msg = {
            "family": family,
            "dst_len": int(dlen),
            "src_len": int(req.get("src_len", 0)),
            "tos": int(req.get("tos", 0)),
            "table": _table_byte(int(req["table"])),
            "proto": req.get("proto", 0),
            "RTA_TABLE": int(req["table"]),
            "RTA_PRIORITY": int(req.get("priority", 1024 if family == rq.AF_INET6 else 0)),
        }
        if int(dlen):
            msg["RTA_DST"] = dst
        if req.get("src"):
            msg["RTA_SRC"] = req["src"]
        if req.get("oif"):
            msg["RTA_OIF"] = req["oif"]
        if req.get("gateway"):
            msg["RTA_GATEWAY"] = req["gateway"]
        return msg

    def _route_replace(self, req: dict[str, Any]) -> None:
        for hop in [req, *req.get("multipath", [])]:
            if hop.get("oif") and hop["oif"] not in self.links:
                raise self.error(errno.ENODEV)
        msg = self._route_msg(req)
        key = rq.route_key_of_msg(msg)
        assert key is not None
        self.routes[key] = msg
        self._notify(dict(msg, event="RTM_NEWROUTE"))

    def _route_del(self, req: dict[str, Any]) -> None:
        key = rq.route_key_of_msg(self._route_msg(req))
        if key not in self.routes:
            raise self.error(errno.ESRCH)
        self.del_route(key)

    def _rule_msg(self, req: dict[str, Any]) -> Msg:
        msg: Msg = {
            "family": req["family"],
            "action": req["action"],
            "flags": req.get("flags", 0),
            "src_len": req.get("src_len", 0),
            "dst_len": req.get("dst_len", 0),
            "table": _table_byte(int(req.get("table", 0))),
            "FRA_PRIORITY": req["priority"],
            "FRA_TABLE": req.get("table", 0),
        }
        names = {
            "src": "FRA_SRC",
            "dst": "FRA_DST",
            "fwmark": "FRA_FWMARK",
            "iifname": "FRA_IIFNAME",
            "oifname": "FRA_OIFNAME",
            "goto": "FRA_GOTO",
            "FRA_L3MDEV": "FRA_L3MDEV",
        }
        for arg, attr in names.items():
            if arg in req:
                msg[attr] = req[arg]
        return msg

    def _rule_add(self, req: dict[str, Any]) -> None:
        msg = self._rule_msg(req)
        key = rq.rule_key_of_msg(msg)
        assert key is not None
        if key in self.rules:
            raise self.error(errno.EEXIST)
        self.rules[key] = msg
        self._notify(dict(msg, event="RTM_NEWRULE"))

    def _rule_del(self, req: dict[str, Any]) -> None:
        key = rq.rule_key_of_msg(self._rule_msg(req))
        if key not in self.rules:
            raise self.error(errno.ENOENT)
        self.del_rule(key)

    # ---- helpers -----------------------------------------------------------------------
    def _link(self, name: str) -> FakeLink:
        link = self.link_by_name(name)
        if link is None:
            raise KeyError(f"no interface {name!r} in the fake kernel")
        return link

    def _flush_routes(self, index: int) -> None:
        for key in [k for k, m in self.routes.items() if m.get("RTA_OIF") == index]:
            del self.routes[key]  # the kernel flushes them without a notification

    def _notify(self, msg: Msg) -> None:
        for monitor in list(self.monitors):
            monitor.deliver(dict(msg))


def _table_byte(table: int) -> int:
    """rtm_table holds 8 bits; bigger tables are RT_TABLE_COMPAT there (and in RTA_TABLE)."""
    return table if table < 256 else 252


def _family(itf: ipaddress.IPv4Interface | ipaddress.IPv6Interface) -> str:
    return "inet6" if itf.version == 6 else "inet"
