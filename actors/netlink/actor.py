"""The netlink reflector actor: the shared interface table and the only writer of addresses.

Design
------
Two netlink sockets, both driven by the actor's asyncio loop (no threads):

* the *monitor* (``driver.Monitor``), bound to the link, IPv4/IPv6 address, route and
  rule groups. Each notification updates the pure :class:`~.model.InterfaceTable`, whose
  answer is published as ``netlink.link`` / ``netlink.addr`` events. If the kernel drops
  notifications (ENOBUFS), the socket is closed, a new one is bound *before* a full dump
  is taken, the dump is applied as a difference (:meth:`InterfaceTable.resync`) and only
  then is the new socket read: messages queued meanwhile are newer than the dump, so
  the table is never left stale nor rolled back;
* the *request* sockets (``driver.Kernel``): dumps and address requests go through the
  pure codec in ``wire.py`` (they are the hot paths: failover and resync), routes and
  rules through pyroute2's ``AsyncIPRoute``.

What the daemon installed is recorded in the :class:`~.ownership.Ledger` (persisted in
the runtime directory after each change). On start the ledger is read back and compared
with a dump: anything already right is left alone, so a restart of this actor (kill -9,
watchdog) or of the VRRP actor never flaps a VIP. Static items (static_ipaddress,
static_routes, static_rules) belong to the owner ``"static"`` and are put back when
another program removes them, or when their interface comes back. An item another owner
holds that disappears is reported as ``netlink.lost`` (the VRRP actor takes such a master
to BACKUP with a priority-0 advert unless the item is ``no_track``, as keepalived does).

Commands (to="netlink"; bodies in ``bus/messages.py``)
------------------------------------------------------
* ``netlink.addresses.set`` (``AddressesSet``) ``{owner, present, addresses, routes,
  rules[, exclusive]}`` → ``{applied, errors}``. Items are ``to_wire()`` maps of
  ``conf.model`` ``IPAddress``/``Route``/``Rule``, each parsed on its own (one bad item is
  an error in the reply). Idempotent: adding what exists and removing what is gone are
  successes. With ``exclusive`` true and ``present`` true, the owner's other items are
  removed. An item still wanted by another owner stays in the kernel.
* ``netlink.snapshot`` ``{}`` → ``{links, addrs}`` (event bodies).

VMAC links (``use_vmac``) are not created: that is a later issue. Crash recovery of the
VRRP actor reads the interface table (``netlink.snapshot``), not this ledger.

Events published
----------------
``netlink.link``, ``netlink.addr`` (bodies in ``model.py``); ``netlink.lost`` ``{key, kind,
owners, item}`` when a non-static installed item is removed by someone else;
``netlink.resync`` ``{reason, changes}`` after an overflow recovery;
``netlink.static_lost`` ``{key, kind, track_group, item, error}`` when a static item with a
``track_group`` is missing and cannot be put back (its interface is gone, say), and
``netlink.static_restored`` ``{key, kind, track_group, item}`` once it is back. These three
are for tap users; the VRRP actor faults a track_group's instances on the state of the
static items' interfaces (``netlink.link``), which is what keepalived watches.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pykeepalived.actors.base import Actor, CommandError
from pykeepalived.actors.netlink import driver as netlink_driver
from pykeepalived.actors.netlink import requests as rq
from pykeepalived.actors.netlink.driver import Kernel, Monitor, NetlinkError, Overflow
from pykeepalived.actors.netlink.model import (
    InterfaceTable,
    Link,
    addr_from_msg,
    address_change_line,
    link_from_msg,
)
from pykeepalived.actors.netlink.ownership import STATIC_OWNER, Ledger
from pykeepalived.bus import messages as M
from pykeepalived.bus.codec import from_wire, to_wire
from pykeepalived.bus.envelope import Envelope
from pykeepalived.conf.model import IPAddress, Route, Rule

if TYPE_CHECKING:
    from pykeepalived.conf.model import Config

LEDGER_FILE = "netlink-owned.jsonl"
#: the journal is rewritten once it has this many lines more than 4 per installed item
COMPACT_MIN = 10_000
ITEM_CLASSES: dict[str, type[Any]] = {"addresses": IPAddress, "routes": Route, "rules": Rule}
INSTALL_ORDER = ("addresses", "routes", "rules")
REMOVE_ORDER = ("rules", "routes", "addresses")
IPROUTE2_DIRS = ("/usr/share/iproute2", "/usr/lib/iproute2", "/etc/iproute2")
Emit = Callable[[M.Event], None]
Count = Callable[..., None]
Spawn = Callable[[Coroutine[Any, Any, Any]], "asyncio.Task[Any]"]
Items = dict[str, list[Any]]


def static_items(config: Config) -> Items:
    """The static_* blocks of a config, with ``default_interface`` filled in."""
    dev = config.global_defs.default_interface
    addrs = [a if a.dev else _with_dev(a, dev) for a in config.static_ipaddress]
    return {
        "addresses": addrs,
        "routes": list(config.static_routes),
        "rules": list(config.static_rules),
    }


def _with_dev(a: IPAddress, dev: str) -> IPAddress:
    wire = to_wire(a)
    wire["dev"] = dev
    result: IPAddress = from_wire(IPAddress, wire)
    return result


class Reflector:
    """Everything the actor does, with the bus reduced to an ``emit`` function."""

    def __init__(
        self,
        *,
        emit: Emit,
        log: logging.Logger,
        count: Count,
        spawn: Spawn,
        runtime_dir: str | os.PathLike[str],
        address_monitoring: bool = False,
        dont_release_vrrp: bool = False,
        rcvbuf: int | None = None,
        rcvbuf_force: bool = False,
        driver: Any = None,
    ) -> None:
        #: what makes the kernel sockets: ``driver.py`` itself, or (tests) an object with
        #: the same ``Kernel()`` and ``Monitor(rcvbuf=, force=)``, e.g. ``testing.FakeKernelTable``
        self.driver = driver if driver is not None else netlink_driver
        self.emit = emit
        self.log = log
        self.count = count
        self.spawn = spawn
        self.address_monitoring = address_monitoring
        self.dont_release_vrrp = dont_release_vrrp
        self.table = InterfaceTable()
        self.ledger = Ledger()
        self.names = rq.Names()
        self.monitor: Monitor = self.driver.Monitor(rcvbuf=rcvbuf, force=rcvbuf_force)
        self.kernel: Kernel | None = None
        self.ledger_path = Path(runtime_dir) / LEDGER_FILE
        self.resyncs = 0
        self.restored = 0
        self._reading = False
        self._resync_task: asyncio.Task[Any] | None = None
        self._restore_keys: set[str] = set()
        self._static_missing: set[str] = set()
        self._restore_task: asyncio.Task[Any] | None = None
        self._journal_fd: int | None = None
        self._journal_lines = 0
        self._loop = asyncio.get_running_loop()

    # ------------------------------------------------------------------ life cycle
    async def start(self, static: Items | None = None) -> None:
        self._load_names()
        self.kernel = self.driver.Kernel()
        self.monitor.open()
        await self._dump_into_table()
        self._load_ledger()
        self._save_now()  # start a fresh, compact journal
        await self._check_ledger()
        if static is not None:
            result = await self.apply_static(static)
            for err in result.errors:
                self.log.error("static: %s", err)
        self._start_reading()

    async def stop(self) -> None:
        """Remove what the daemon installed (VRRP-owned items are kept under -V)."""
        self._stop_reading()
        for task in (self._resync_task, self._restore_task):
            if task is not None:
                task.cancel()
        keys = self.ledger.releasable_on_stop(keep_vrrp=self.dont_release_vrrp)
        for kind in REMOVE_ORDER:
            for key in keys:
                entry = self.ledger.get(key)
                if entry is None or entry.kind != kind:
                    continue
                err = await self._remove_wire(kind, entry.item)
                if err:
                    self.log.warning("on stop: %s", err)
                self.ledger.forget(key)
        self._save_now()
        self._close_journal()
        self.monitor.close()
        if self.kernel is not None:
            self.kernel.close()
            self.kernel = None

    def close(self) -> None:
        """Drop the sockets without touching the kernel (tests, crash simulation)."""
        self._stop_reading()
        self._close_journal()
        self.monitor.close()
        if self.kernel is not None:
            self.kernel.close()
            self.kernel = None

    def _start_reading(self) -> None:
        if not self._reading:
            self._loop.add_reader(self.monitor.fileno(), self._on_readable)
            self._reading = True

    def _stop_reading(self) -> None:
        if self._reading and self.monitor.sock is not None:
            self._loop.remove_reader(self.monitor.fileno())
        self._reading = False

    def _load_names(self) -> None:
        files = {
            "rt_tables": "tables",
            "rt_protos": "protocols",
            "rt_scopes": "scopes",
            "rt_realms": "realms",
        }
        for directory in IPROUTE2_DIRS:
            for fname, attr in files.items():
                try:
                    text = Path(directory, fname).read_text()
                except OSError:
                    continue
                getattr(self.names, attr).update(rq.parse_iproute2_names(text))

    # ------------------------------------------------------------------ monitoring
    def _on_readable(self) -> None:
        try:
            msgs = self.monitor.read()
        except Overflow:
            self.count("netlink.enobufs")
            self.log.warning("netlink monitor socket overflowed (ENOBUFS): resynchronising")
            self._stop_reading()
            self._resync_task = self.spawn(self._resync("overflow"))
            return
        except OSError as exc:
            self.count("errors.monitor")
            self.log.error("netlink monitor read failed: %s: resynchronising", exc)
            self._stop_reading()
            self._resync_task = self.spawn(self._resync(f"read error: {exc}"))
            return
        if self.monitor.malformed:
            self.count("errors.bad_message", self.monitor.malformed)
            self.log.warning("%d unreadable netlink datagrams skipped", self.monitor.malformed)
            self.monitor.malformed = 0
        for msg in msgs:
            try:
                self._handle(msg)
            except Exception as exc:  # a message we cannot read never stops the reflector
                self.count("errors.bad_message")
                self.log.warning("unreadable netlink message %s: %r", msg.get("event"), exc)

    def _handle(self, msg: Any) -> None:
        event = msg.get("event")
        self.count(f"rx.{event}")
        if event == "RTM_NEWLINK":
            link = link_from_msg(msg)
            old = self.table.links.get(link.ifindex)
            self._emit(self.table.update_link(link))
            if link.up and (old is None or not old.up or old.ifname != link.ifname):
                self._restore_for_link(link)
        elif event == "RTM_DELLINK":
            index = int(msg.get("index"))
            ifname = self.table.ifname(index)
            lost = [
                rq.key_of_addr(ifname, a.family, a.ip, a.prefixlen)
                for a in self.table.addresses(index)
                if ifname is not None
            ]
            self._emit(self.table.remove_link(index))
            for key in lost:
                self._gone(key)
        elif event == "RTM_NEWADDR":
            self._emit(self.table.update_addr(addr_from_msg(msg)))
        elif event == "RTM_DELADDR":
            addr = addr_from_msg(msg)
            ifname = self.table.ifname(addr.ifindex)
            self._emit(self.table.remove_addr(addr))
            if ifname is not None:
                self._gone(rq.key_of_addr(ifname, addr.family, addr.ip, addr.prefixlen))
        elif event == "RTM_DELROUTE":
            route_key = rq.route_key_of_msg(msg)
            if route_key is not None:
                self._gone(route_key)
        elif event == "RTM_DELRULE":
            rule_key = rq.rule_key_of_msg(msg)
            if rule_key is not None:
                self._gone(rule_key)

    def _emit(self, events: list[M.NetlinkLink | M.NetlinkAddr]) -> None:
        for msg in events:
            if isinstance(msg, M.NetlinkAddr) and self.address_monitoring:
                self.log.info("%s", address_change_line(msg))
            self.emit(msg)

    def _gone(self, key: str) -> None:
        """Something the ledger lists left the kernel without us removing it."""
        entry = self.ledger.get(key)
        if entry is None:
            return
        self.count("netlink.removed_externally")
        if STATIC_OWNER in entry.owners:
            self.log.warning(
                "static %s (%s) was removed by another program: putting it back",
                entry.kind[:-1] if entry.kind != "addresses" else "address",
                key,
            )
            self._schedule_restore([key])
        others = sorted(entry.owners - {STATIC_OWNER})
        if others:
            self.log.info("%s owned by %s was removed by another program", key, ", ".join(others))
            self.emit(M.NetlinkLost(key, entry.kind, tuple(others), entry.item))

    def _restore_for_link(self, link: Link) -> None:
        """An interface appeared or came up: put back static items that use it."""
        keys = []
        for key, entry in self.ledger.entries.items():
            if STATIC_OWNER not in entry.owners:
                continue
            item = entry.item
            devs = {item.get("dev"), item.get("iif"), item.get("oif")}
            devs |= {nh.get("dev") for nh in item.get("nexthops") or ()}
            if link.ifname in devs:
                keys.append(key)
        if keys:
            self._schedule_restore(keys)

    def _schedule_restore(self, keys: list[str]) -> None:
        self._restore_keys.update(keys)
        if self._restore_task is None or self._restore_task.done():
            self._restore_task = self.spawn(self._restore())

    async def _restore(self) -> None:
        await asyncio.sleep(0)  # gather a burst of deletions into one pass
        while self._restore_keys:
            batch = self._restore_keys
            self._restore_keys = set()
            for kind in INSTALL_ORDER:
                for key in sorted(batch):
                    entry = self.ledger.get(key)
                    if entry is None or entry.kind != kind or STATIC_OWNER not in entry.owners:
                        continue
                    err = await self._install_wire(kind, entry.item)
                    if err:
                        self.count("errors.restore")
                        self.log.error("could not put back %s: %s", key, err)
                    else:
                        self.restored += 1
                        self.count("netlink.restored")
                    self._static_outcome(key, kind, entry.item, err)

    def _static_outcome(self, key: str, kind: str, item: dict[str, Any], err: str | None) -> None:
        """Tell a static item's track_group when it is missing for good, and when it is back."""
        group = item.get("track_group")
        if not group:
            return
        if err and key not in self._static_missing:
            self._static_missing.add(key)
            self.emit(M.NetlinkStaticLost(key, kind, str(group), item, err))
        elif not err and key in self._static_missing:
            self._static_missing.discard(key)
            self.emit(M.NetlinkStaticRestored(key, kind, str(group), item))

    async def _dump_into_table(self) -> list[M.NetlinkLink | M.NetlinkAddr]:
        assert self.kernel is not None
        links = [link_from_msg(m) for m in await self.kernel.links()]
        addrs = []
        for m in await self.kernel.addrs():
            try:
                addrs.append(addr_from_msg(m))
            except ValueError:
                self.count("errors.bad_message")
        events = self.table.resync(links, addrs)
        self._emit(events)
        return events

    async def _resync(self, reason: str) -> None:
        """Reopen the monitor, apply a full dump as a difference, then read again."""
        self.monitor.close()
        while True:
            try:
                self.monitor.open()
                events = await self._dump_into_table()
                await self._check_ledger()
                break
            except (OSError, NetlinkError) as exc:
                self.count("errors.resync")
                self.log.error("resynchronisation failed (%s); retrying", exc)
                self.monitor.close()
                await asyncio.sleep(0.5)
        self.resyncs += 1
        self.emit(M.NetlinkResync(reason, len(events)))
        self.log.info("netlink table resynchronised after %s: %d changes", reason, len(events))
        self._start_reading()

    async def _check_ledger(self) -> None:
        """Compare the ledger with the kernel; restore static items, report lost ones."""
        if not len(self.ledger):
            return
        assert self.kernel is not None
        present: set[str] = set()
        for a in self.table.addresses():
            name = self.table.ifname(a.ifindex)
            if name:
                present.add(rq.key_of_addr(name, a.family, a.ip, a.prefixlen))
        kinds = {e.kind for e in self.ledger.entries.values()}
        if "routes" in kinds:
            for m in await self.kernel.routes():
                key = rq.route_key_of_msg(m)
                if key:
                    present.add(key)
        if "rules" in kinds:
            for m in await self.kernel.rules():
                key = rq.rule_key_of_msg(m)
                if key:
                    present.add(key)
        for key in list(self.ledger.entries):
            if key not in present:
                self._gone(key)

    # ------------------------------------------------------------------ kernel changes
    def _ifindex(self, name: str) -> int | None:
        return self.table.ifindex(name)

    async def _ifindex_fresh(self, name: str) -> int | None:
        idx = self.table.ifindex(name)
        if idx is None and self.kernel is not None:
            found = await self.kernel.ipr.link_lookup(ifname=name)
            idx = found[0] if found else None
        return idx

    def _parse(self, kind: str, wire: Any) -> tuple[str, Any]:
        """(key, model object) of one item in wire form; ItemError if unusable."""
        if not isinstance(wire, dict):
            raise rq.ItemError(f"{kind}: item is not a map: {wire!r:.100}")
        try:
            obj = from_wire(ITEM_CLASSES[kind], wire)
        except (TypeError, ValueError) as exc:
            raise rq.ItemError(f"{kind}: {exc}") from None
        if kind == "addresses":
            return rq.address_key(obj), obj
        if kind == "routes":
            return rq.route_key(obj, self.names), obj
        return rq.rule_key(obj, self.names), obj

    async def _install_wire(self, kind: str, item: dict[str, Any]) -> str | None:
        try:
            _, obj = self._parse(kind, item)
            return await self._install(kind, obj)
        except rq.ItemError as exc:
            return str(exc)

    async def _remove_wire(self, kind: str, item: dict[str, Any]) -> str | None:
        try:
            _, obj = self._parse(kind, item)
            return await self._remove(kind, obj)
        except rq.ItemError as exc:
            return str(exc)

    async def _install(self, kind: str, obj: Any) -> str | None:
        """Put one item into the kernel; None on success (including 'already there')."""
        assert self.kernel is not None
        try:
            if kind == "addresses":
                idx = await self._ifindex_fresh(obj.dev)
                if idx is None:
                    return f"address {obj.address}: no interface {obj.dev!r}"
                await self.kernel.addr("add", rq.address_request(obj, idx, self.names))
            elif kind == "routes":
                req, warnings = rq.route_request(obj, self._ifindex, self.names)
                for w in warnings:
                    self.log.warning("%s", w)
                await self.kernel.route("replace", req)
            else:
                await self.kernel.rule("add", rq.rule_request(obj, self.names))
        except rq.ItemError as exc:
            return str(exc)
        except NetlinkError as exc:
            if exc.code == errno.EEXIST:
                return None
            self.count("errors.kernel")
            return f"{kind[:-1] if kind != 'addresses' else 'address'} {_describe(obj)}: {exc}"
        return None

    async def _remove(self, kind: str, obj: Any) -> str | None:
        assert self.kernel is not None
        try:
            if kind == "addresses":
                idx = await self._ifindex_fresh(obj.dev)
                if idx is None:
                    return None  # the interface is gone, and its addresses with it
                await self.kernel.addr("del", rq.address_request(obj, idx, self.names))
            elif kind == "routes":
                req, _ = rq.route_request(obj, self._ifindex, self.names)
                await self.kernel.route("del", req)
            else:
                await self.kernel.rule("del", rq.rule_request(obj, self.names))
        except rq.ItemError as exc:
            if kind == "routes" and "interface" in str(exc):
                return None
            return str(exc)
        except NetlinkError as exc:
            if exc.code in (errno.ENOENT, errno.ESRCH, errno.EADDRNOTAVAIL, errno.ENODEV):
                return None
            self.count("errors.kernel")
            return f"removing {_describe(obj)}: {exc}"
        return None

    # ------------------------------------------------------------------ commands
    async def addresses_set(self, msg: M.AddressesSet) -> M.AddressesSetReply:
        owner = msg.owner
        errors: list[str] = []
        parsed: dict[str, list[tuple[str, Any, dict[str, Any]]]] = {}
        for kind in ITEM_CLASSES:
            for wire in getattr(msg, kind):
                try:
                    key, obj = self._parse(kind, wire)
                except rq.ItemError as exc:
                    errors.append(str(exc))
                    self.count("errors.bad_item")
                    continue
                parsed.setdefault(kind, []).append((key, obj, to_wire(obj)))
        applied = 0
        if msg.present:
            for kind in ("addresses", "routes", "rules"):
                for key, obj, wire in parsed.get(kind, []):
                    new = self.ledger.claim(owner, kind, key, wire)
                    err = await self._install(kind, obj)
                    if owner == STATIC_OWNER:
                        self._static_outcome(key, kind, wire, err)
                    if err:
                        errors.append(err)
                        if new and owner != STATIC_OWNER:
                            self.ledger.forget(key)
                    else:
                        applied += 1
            if msg.exclusive:
                keep = {key for items in parsed.values() for key, _, _ in items}
                applied += await self._release_keys(
                    owner, self.ledger.plan_exclusive(owner, keep), errors
                )
        else:
            for kind in ("rules", "routes", "addresses"):
                for key, obj, _ in parsed.get(kind, []):
                    entry = self.ledger.get(key)
                    if entry is not None and entry.owners - {owner}:
                        self.ledger.release(owner, key)  # still wanted by someone else
                        applied += 1
                        continue
                    self.ledger.forget(key)
                    err = await self._remove(kind, obj)
                    if err:
                        errors.append(err)
                    else:
                        applied += 1
        self._persist()
        return M.AddressesSetReply(applied, tuple(errors))

    async def _release_keys(self, owner: str, keys: list[str], errors: list[str]) -> int:
        done = 0
        for kind in REMOVE_ORDER:
            for key in keys:
                entry = self.ledger.get(key)
                if entry is None or entry.kind != kind:
                    continue
                item = entry.item
                if not self.ledger.release(owner, key):
                    done += 1
                    continue
                err = await self._remove_wire(kind, item)
                if err:
                    errors.append(err)
                else:
                    done += 1
        return done

    async def apply_static(self, static: Items) -> M.AddressesSetReply:
        """Make the "static" owner's items exactly ``static`` (start and reload)."""
        wire = {kind: tuple(to_wire(x) for x in static.get(kind, [])) for kind in ITEM_CLASSES}
        return await self.addresses_set(M.AddressesSet(STATIC_OWNER, True, exclusive=True, **wire))

    def snapshot(self) -> M.NetlinkSnapshot:
        return self.table.snapshot()

    def status(self) -> dict[str, Any]:
        return {
            "links": len(self.table.links),
            "addresses": self.table.address_count(),
            "installed": len(self.ledger),
            "owners": sorted(self.ledger.owners()),
            "resyncs": self.resyncs,
            "restored": self.restored,
        }

    # ------------------------------------------------------------------ persistence
    def _load_ledger(self) -> None:
        try:
            text = self.ledger_path.read_text()
        except FileNotFoundError:
            return
        except OSError as exc:
            self.log.error(
                "cannot read %s: %s; starting with no ownership records", self.ledger_path, exc
            )
            return
        try:
            self.ledger, skipped = Ledger.loads(text)
        except ValueError as exc:
            self.count("errors.ledger")
            self.log.error("ignoring unreadable %s: %s", self.ledger_path, exc)
            return
        stale = [key for key, entry in self.ledger.entries.items() if entry.kind == "links"]
        for key in stale:  # VMAC links of an older version: not managed any more
            self.ledger.forget(key)
        if skipped:
            self.count("errors.ledger", skipped)
            self.log.warning("%s: %d damaged lines skipped", self.ledger_path, skipped)
        self.log.info(
            "resuming with %d installed items from %s", len(self.ledger), self.ledger_path
        )

    def _persist(self) -> None:
        """Append the ledger's new journal lines (cheap; done before a command's reply)."""
        text = self.ledger.drain()
        if not text:
            return
        if self._journal_lines > COMPACT_MIN + 4 * len(self.ledger):
            self._save_now()
            return
        try:
            if self._journal_fd is None:
                self._compact()
            else:
                os.write(self._journal_fd, text.encode())
                self._journal_lines += text.count("\n")
        except OSError as exc:
            self.count("errors.ledger")
            self.log.error("cannot write %s: %s", self.ledger_path, exc)

    def _save_now(self) -> None:
        """Rewrite the file compactly (or remove it when nothing is installed)."""
        self.ledger.drain()
        try:
            self._compact()
        except OSError as exc:
            self.count("errors.ledger")
            self.log.error("cannot write %s: %s", self.ledger_path, exc)

    def _compact(self) -> None:
        self._close_journal()
        if not len(self.ledger):
            with contextlib.suppress(FileNotFoundError):
                self.ledger_path.unlink()
            return
        self.ledger_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.ledger_path.with_suffix(".tmp")
        text = self.ledger.dumps()
        tmp.write_text(text)
        os.replace(tmp, self.ledger_path)
        self._journal_fd = os.open(self.ledger_path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        self._journal_lines = text.count("\n")

    def _close_journal(self) -> None:
        if self._journal_fd is not None:
            os.close(self._journal_fd)
            self._journal_fd = None


def _describe(obj: Any) -> str:
    if isinstance(obj, IPAddress):
        return f"{obj.address} dev {obj.dev}"
    if isinstance(obj, Route):
        return f"{obj.dest}"
    if isinstance(obj, Rule):
        return f"pref {obj.priority}"
    return repr(obj)


class NetlinkActor(Actor):
    """The bus face of the :class:`Reflector`."""

    name = "netlink"
    subscriptions = ()
    #: the kernel side handed to the Reflector (None: ``driver.py``; tests: a fake table)
    kernel_driver: ClassVar[Any] = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ready = asyncio.Event()
        self.reflector: Reflector | None = None

    async def setup(self) -> None:
        g = self.config.global_defs
        self.reflector = Reflector(
            emit=self.emit,
            log=self.log,
            count=self.count,
            spawn=self.spawn,
            runtime_dir=self.options.runtime_dir,
            address_monitoring=self.options.address_monitoring,
            dont_release_vrrp=self.options.dont_release_vrrp,
            rcvbuf=g.vrrp_netlink_monitor_rcv_bufs,
            rcvbuf_force=g.vrrp_netlink_monitor_rcv_bufs_force,
            driver=self.kernel_driver,
        )
        await self.reflector.start(static_items(self.config))
        self._ready.set()

    async def _started(self) -> Reflector:
        """Commands that arrive while the first dump is being read wait for it."""
        await self._ready.wait()
        assert self.reflector is not None
        return self.reflector

    async def on_command(self, env: Envelope, msg: M.Command) -> M.Reply:
        if isinstance(msg, M.AddressesSet):
            return await (await self._started()).addresses_set(msg)
        if isinstance(msg, M.NetlinkSnapshotRequest):
            return (await self._started()).snapshot()
        raise CommandError(f"command {msg.name!r} is not handled by netlink")

    async def apply_config(self, new: Config) -> None:
        result = await (await self._started()).apply_static(static_items(new))
        for err in result.errors:
            self.log.error("static (reload): %s", err)

    def status(self) -> dict[str, Any]:
        if self.reflector is None or not self._ready.is_set():
            return {"starting": True}
        return self.reflector.status()

    async def shutdown(self) -> None:
        if self.reflector is not None and self._ready.is_set():
            await self.reflector.stop()
