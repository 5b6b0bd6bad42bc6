"""The VRRP actor's I/O shell: sockets, timers, the bus, around the pure state machines.

One :class:`Runner` per ``vrrp_instance`` holds the pure :class:`fsm.Instance` and carries
out its commands: adverts on the shared raw socket of the interface, timers on the asyncio
loop (``call_at``; the loop's clock is the monotonic clock the machine is given), VIPs,
eVIPs and virtual routes/rules through the netlink actor (``addresses.set``), GARP / NA on
an AF_PACKET socket once the netlink actor has confirmed the addresses, and ``vrrp.state``
events with keepalived's log wording.

Events published (bodies in ``bus/messages.py``): ``vrrp.state``, and
* ``vrrp.rx_lower_pri`` ``{instance, src, priority}``: a master heard a lower priority;
* ``vrrp.priority`` ``{instance, state, priority, prev_priority}``: tracking changed an
  instance's effective priority (the notifier's ``notify_priority_changes`` FIFO lines);
* ``vrrp.group`` ``{group, state, prev}`` (and ``reason: "resume"`` when a restarted
  actor's members all took up MASTER again): a ``vrrp_sync_group`` changed state (the
  decisions are :mod:`.sync`'s; published after the members' ``vrrp.state`` events).

Events consumed: ``netlink.link`` / ``netlink.addr`` (links, source addresses, tracked
interfaces) and ``netlink.lost``: a VIP, eVIP, virtual route or rule of a master removed
by another program sends it to BACKUP with a priority-0 advert, as keepalived does
(:meth:`fsm.Instance.address_lost`), unless the item is marked ``no_track``.

Commands answered: none of its own (the runtime's status carries every instance and group).

Crash recovery: every transition is written to ``<runtime_dir>/vrrp-state.json`` (and a
clean stop marks it clean). A vrrp actor that starts after an unclean end of its
predecessor, finds an instance recorded as MASTER and all of its VIPs still on the
interface (``netlink.snapshot``), resumes that instance as master at once: it sends an
advert before the peers' Master_Down_Interval (3.6 s at 1 s adverts) runs out, so the VIPs
never move. AH sequence numbers are saved too, so peers do not see a replay.

Timer lateness (``loop.time()`` at the callback minus the deadline) is measured for every
timer and reported in ``status()``; the runtime freezes start-up objects out of the
collector, and this actor also raises the young-generation threshold so collections are
rarer (see ``GC_THRESHOLD``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import gc
import ipaddress
import json
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pykeepalived.actors import scripts as script_io
from pykeepalived.actors.base import Actor
from pykeepalived.actors.vrrp import arp, fsm, sync, track
from pykeepalived.actors.vrrp import auth as ah_auth
from pykeepalived.actors.vrrp import packet as P
from pykeepalived.actors.vrrp import stats as vrrp_stats
from pykeepalived.actors.vrrp.io import LinkSender, VrrpSocket, read_links
from pykeepalived.bus import messages as M
from pykeepalived.bus.codec import to_wire
from pykeepalived.bus.envelope import Envelope
from pykeepalived.conf.model import Config, IPAddress, TrackRef, VrrpInstance, VrrpSyncGroup

STATE_FILE = "vrrp-state.json"
GC_THRESHOLD = (20_000, 20, 50)
DEFAULT_NICE = -10
AH_RESUME_MARGIN = 1000  # extra AH sequence numbers skipped when resuming after a crash
TIMER_EARLY = 0.001  # timers wake this much early and sleep the remainder (see _on_timer)
FILE_POLL = 0.5  # seconds between reads of tracked files
SNAPSHOT_WAIT = 2.0  # seconds to wait for the netlink actor's table at start
LOG_EVERY = 10.0  # seconds between repeated logs of the same receive error
IFF_NOARP = 0x80


def _family(inst: VrrpInstance) -> str:
    return "inet6" if str(inst.family) == "inet6" else "inet"


@dataclasses.dataclass(slots=True)
class Link:
    ifname: str
    ifindex: int
    up: bool = True
    running: bool = True
    mac: str | None = None
    noarp: bool = False  # IFF_NOARP: keepalived sends no GARP or NA on it
    addrs: dict[str, bool] = dataclasses.field(default_factory=dict)  # "a/len" -> secondary


class Runner:
    """One instance: its state machine plus everything the shell keeps for it."""

    def __init__(self, actor: VrrpActor, inst: VrrpInstance) -> None:
        self.actor = actor
        self.inst = inst
        self.name = inst.name
        self.family = _family(inst)
        self.ifname = inst.interface or actor.config.global_defs.default_interface
        self.params = fsm.Params.from_instance(inst)
        self.fsm = fsm.Instance(self.params)
        g = actor.config.global_defs
        self.group = inst.mcast_dst_ip or (
            g.vrrp_mcast_group6 if self.family == "inet6" else g.vrrp_mcast_group4
        )
        self.peers = tuple(p.address for p in inst.unicast_peers)
        self.unicast = bool(self.peers)
        self.protocol = P.AH_PROTO if str(inst.auth_type) == "AH" else P.VRRP_PROTO
        self.auth_type = {"PASS": P.AUTH_PASS, "AH": P.AUTH_AH}.get(str(inst.auth_type), 0)
        if self.family == "inet6" or inst.version == 3:
            self.auth_type, self.protocol = P.AUTH_NONE, P.VRRP_PROTO
        self.auth_pass = P.auth_field(inst.auth_pass) if self.auth_type else b""
        self.ah = ah_auth.AhCounter() if self.protocol == P.AH_PROTO else None
        if inst.version == 3 and self.family == "inet":
            if g.v3_checksum_as_v2:
                self.form = P.ChecksumForm.MESSAGE
            elif inst.old_unicast_checksum not in (None, "never"):
                self.form = P.ChecksumForm.PSEUDO_MCAST
            else:
                self.form = P.ChecksumForm.PSEUDO_DST
        else:
            self.form = P.ChecksumForm.MESSAGE
        fam = "inet6" if self.family == "inet6" else "inet"
        self.vips = tuple(a for a in inst.virtual_ipaddress if str(a.family) == fam)
        self.advert_addresses = tuple(a.ip for a in self.vips)[:255]
        self.src = ""
        self.sock: VrrpSocket | None = None
        self.extra_if: asyncio.TimerHandle | None = None  # garp_extra_if's periodic GARP
        self.ident = 0
        self.handles: dict[str, asyncio.TimerHandle] = {}
        self.addr_task: asyncio.Task[None] | None = None
        self.track_down: set[str] = set()
        self.counters: collections.Counter[str] = collections.Counter()
        self.last_log: dict[str, float] = {}
        self.decision_at: float | None = None
        self.peer_form: P.ChecksumForm | None = None
        self._expectation: P.Expectation | None = None
        self.sync: sync.Group | None = None  # its vrrp_sync_group, when it has one
        self.pending_resume: bool | None = None  # a member waiting for its group's start

    # ---- derived -------------------------------------------------------------------------
    def expectation(self) -> P.Expectation:
        if self._expectation is None or self.src not in self._expectation.local_addresses:
            self._expectation = self._build_expectation()
        return self._expectation

    def _build_expectation(self) -> P.Expectation:
        ttl_ranges = {
            p.address: (p.min_ttl or 0, p.max_ttl or 255)
            for p in self.inst.unicast_peers
            if p.min_ttl is not None or p.max_ttl is not None
        }
        return P.Expectation(
            version=self.inst.version,
            vrid=self.params.vrid,
            max_adver_int=self.params.advert_int_cs,
            auth_type=self.auth_type,
            auth_pass=self.auth_pass,
            unicast=self.unicast,
            peers=self.peers if self.inst.check_unicast_src else (),
            ttl_ranges=ttl_ranges or None,
            local_addresses=frozenset({self.src}) if self.src else frozenset(),
        )

    def state_event(self, prev: str, reason: str) -> M.VrrpState:
        return M.VrrpState(
            instance=self.name,
            vrid=self.params.vrid,
            family=self.family,
            interface=self.ifname,
            state=str(self.fsm.state),
            prev=prev,
            priority=self.fsm.effective_priority,
            reason=reason,
        )

    def status(self) -> dict[str, Any]:
        out = dict(self.fsm.status())
        out.update(
            {
                "vrid": self.params.vrid,
                "family": self.family,
                "version": self.inst.version,
                "interface": self.ifname,
                "source": self.src,
                "unicast_peers": list(self.peers),
                "advert_int": self.params.advert_int_cs / 100,
                "peer_checksum": str(self.peer_form) if self.peer_form else None,
                "counters": dict(self.counters),
                "stats": vrrp_stats.keepalived_stats(self.counters),
                "vips": self._vip_texts(self.inst.virtual_ipaddress),
                "evips": self._vip_texts(self.inst.virtual_ipaddress_excluded),
                "garp_delay": int(self.params.garp_master_delay),
                "sync_group": self.sync.name if self.sync else None,
            }
        )
        return out

    def _vip_texts(self, addresses: tuple[IPAddress, ...]) -> list[str]:
        return [vrrp_stats.vip_text(a.address, a.dev or self.ifname, a.scope) for a in addresses]


class VrrpActor(Actor):
    name = "vrrp"
    subscriptions = ("netlink.",)
    config: Config
    #: seams: what opens the kernel sockets and how early timers wake (a test sets them
    #: on the instance; actors/vrrp/testing.py puts the shell on an in-process segment)
    vrrp_socket: Callable[[str, int, str, int], VrrpSocket] = VrrpSocket
    link_sender: Callable[[str], LinkSender] = LinkSender
    timer_early: float = TIMER_EARLY

    # ---- life cycle ----------------------------------------------------------------------
    async def setup(self) -> None:
        self.runners: dict[str, Runner] = {}
        self.links: dict[str, Link] = {}
        self.sockets: dict[tuple[str, str, int], tuple[VrrpSocket, dict[int, Runner]]] = {}
        self.lateness: collections.deque[float] = collections.deque(maxlen=4096)
        self.late_max = 0.0
        self.vip_latency: collections.deque[float] = collections.deque(maxlen=1024)
        self.garp_latency: collections.deque[float] = collections.deque(maxlen=1024)
        self.link_senders: dict[str, LinkSender] = {}  # ifname: its AF_PACKET socket
        self.pacer = arp.Pacer(self._pacing)
        self.pace_handle: asyncio.TimerHandle | None = None
        self._state_path = Path(self.options.runtime_dir) / STATE_FILE
        self._state_dirty = False
        self._releasing = False  # an address loss is being handled: demote with priority 0
        self.scripts: dict[str, track.ScriptState] = {}
        self.script_runner = script_io.ScriptRunner(
            self.loop, self.log, self.counters, script_io.umask_of(self.config.global_defs)
        )
        self.vetted: dict[str, script_io.Vetted] = {}
        self.files: dict[str, int] = {}
        self.tracker_tasks: dict[str, asyncio.Task[None]] = {}
        self._scheduling()
        previous = self._read_state_file()
        await self._load_links()
        # freeze start-up objects now, before any timer exists: the runtime's own
        # collect-and-freeze after setup() then has little left to scan, so it cannot
        # delay the first down timer (measured: up to 100 ms on the busy machine)
        gc.collect()
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLD)
        for inst in self.config.vrrp_instances:
            self.runners[inst.name] = Runner(self, inst)
        self.groups: dict[str, sync.Group] = {}
        self._build_groups()
        self._start_trackers()
        for inst in self.config.vrrp_instances:
            self._start_instance(inst, previous)
        self._start_groups()
        self._write_state_file(clean=False)

    def _scheduling(self) -> None:
        """CPU priority: keepalived's vrrp_rt_priority / vrrp_priority, else nice -10.

        Adverts and the down timer are the only latency-critical work in the daemon and
        cost little CPU; on a busy machine the default nice 0 made the takeover timer fire
        up to tens of ms late (measured in the bench), so the actor asks for a better nice
        value by default. Failure (no CAP_SYS_NICE) is logged and harmless.
        """
        g = self.config.global_defs
        try:
            if g.vrrp_rt_priority:
                os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(g.vrrp_rt_priority))
            else:
                os.setpriority(os.PRIO_PROCESS, 0, g.vrrp_priority or DEFAULT_NICE)
        except (OSError, AttributeError) as exc:
            self.log.info("cannot set the scheduling priority: %s", exc)
            self.count("errors.scheduling")

    async def shutdown(self) -> None:
        for task in self.tracker_tasks.values():
            task.cancel()
        await self.script_runner.stop_all()
        now = self.loop.time()
        for runner in list(self.runners.values()):
            self._stop_runner(runner, now)
        pending = [r.addr_task for r in self.runners.values() if r.addr_task]
        if pending:
            await asyncio.wait(pending, timeout=3)
        self._write_state_file(clean=True)
        for sock, _ in self.sockets.values():
            self.loop.remove_reader(sock.fileno())
            sock.close()
        if self.pace_handle is not None:
            self.pace_handle.cancel()
        for sender in self.link_senders.values():
            sender.close()
        self.link_senders.clear()

    async def apply_config(self, new: Config) -> None:
        """Reload as a difference: unchanged instances keep running untouched."""
        old = {inst.name: inst for inst in self.config.vrrp_instances}
        now = self.loop.time()
        wanted = {inst.name: inst for inst in new.vrrp_instances}
        self.config = new
        for name, runner in list(self.runners.items()):
            if name in wanted and wanted[name] == old.get(name):
                continue
            if name in wanted and self._update_in_place(runner, wanted[name]):
                continue
            self._stop_runner(runner, now)
            self._detach(runner)
            del self.runners[name]
        for task in self.tracker_tasks.values():
            task.cancel()
        self.tracker_tasks.clear()
        self.vetted.clear()  # vetted again: users, files and script security may change
        self.script_runner.umask = script_io.umask_of(new.global_defs)
        fresh = [inst for name, inst in wanted.items() if name not in self.runners]
        for inst in fresh:
            self.runners[inst.name] = Runner(self, inst)
        self._build_groups()
        kept = {ref.name for r in self.runners.values() for ref in self._refs(r, "track_script")}
        self.scripts = {k: v for k, v in self.scripts.items() if k in kept and self._vet(k)}
        for name in list(self.scripts):
            self.tracker_tasks[name] = self.spawn(self._script_loop(name), f"script-{name}")
        self._start_trackers()
        for inst in fresh:
            self._start_instance(inst, {})
        self._start_groups()

    @staticmethod
    def _identity(runner: Runner) -> tuple[Any, ...]:
        """What cannot change under a running instance (sockets, peers, auth, wire form)."""
        inst = runner.inst
        return (
            runner.ifname, runner.family, runner.protocol, runner.params.vrid, inst.version,
            runner.peers, runner.group, runner.auth_type, runner.auth_pass, runner.form,
            inst.unicast_src_ip, inst.mcast_src_ip, inst.unicast_ttl,
        )  # fmt: skip

    def _update_in_place(self, runner: Runner, inst: VrrpInstance) -> bool:
        """Apply a changed instance without leaving its state (keepalived's reload).

        Priority, timers, preemption, GARP settings, tracking and the address lists may
        change; a master's removed addresses are withdrawn and the new set installed.
        Anything in :meth:`_identity` changing means a restart instead.
        """
        fresh = Runner(self, inst)
        if self._identity(fresh) != self._identity(runner):
            return False
        old_inst = runner.inst
        runner.inst, runner.params, runner.vips = inst, fresh.params, fresh.vips
        runner.advert_addresses = fresh.advert_addresses
        runner.fsm.params = fresh.params
        runner._expectation = None
        self.log.info("(%s) configuration changed: applied without a restart", runner.name)
        self.count("reload.updated_in_place")
        if runner.fsm.state is fsm.State.MASTER:
            keep = {a.address for a in (*inst.virtual_ipaddress,
                                         *inst.virtual_ipaddress_excluded)}  # fmt: skip
            gone = tuple(a for a in (*old_inst.virtual_ipaddress,
                                     *old_inst.virtual_ipaddress_excluded)
                         if a.address not in keep)  # fmt: skip
            before = {a.address for a in (*old_inst.virtual_ipaddress,
                                          *old_inst.virtual_ipaddress_excluded)}  # fmt: skip
            if gone:
                self._addresses(runner, False, only=gone)
            self._addresses(runner, True, exclusive=True)
            if keep - before:  # new addresses: tell the segment (after they are in)
                self._garp(runner, max(1, runner.params.garp_master_repeat))
        self._evaluate_tracking(runner)
        return True

    def status(self) -> dict[str, Any]:
        late = sorted(self.lateness)
        return {
            "instances": {name: r.status() for name, r in self.runners.items()},
            "timer_lateness": {
                "count": len(late),
                "p50": late[len(late) // 2] if late else None,
                "p99": late[int(len(late) * 0.99)] if late else None,
                "max": self.late_max,
            },
            "scripts": {name: ("good" if st.good else "bad") for name, st in self.scripts.items()},
            "script_states": {
                name: self.script_runner.state_of(f"vrrp_script {name}") for name in self.scripts
            },
            "groups": {name: g.status() for name, g in self.groups.items()},
            "script_runs": self.script_runner.status(),
            "track_files": dict(self.files),
            "vip_latency_p99": _p99(self.vip_latency),
            "garp_latency_p99": _p99(self.garp_latency),
            "vip_latency_p50": _p50(self.vip_latency),
            "garp_latency_p50": _p50(self.garp_latency),
            "vip_latency_count": len(self.vip_latency),
        }

    # ---- interfaces ----------------------------------------------------------------------
    async def _load_links(self) -> None:
        snap: M.Reply | None = None
        deadline = self.loop.time() + SNAPSHOT_WAIT
        while snap is None:
            try:
                snap = await self.request("netlink", M.NetlinkSnapshotRequest(), timeout=1.0)
            except Exception as exc:
                if self.loop.time() < deadline:  # the netlink actor may still be starting
                    await asyncio.sleep(0.05)
                    continue
                # no netlink actor (-P without it, or a test harness): read it ourselves
                self.log.info("netlink.snapshot unavailable (%s); reading links locally", exc)
                self.count("links.local_read")
                snap = await read_links()
        assert isinstance(snap, M.NetlinkSnapshot)
        for link in snap.links:
            self._update_link(link)
        for addr in snap.addrs:
            self._update_addr(addr)

    def _update_link(self, msg: M.NetlinkLink) -> Link:
        link = self.links.get(msg.ifname)
        if link is None:
            link = self.links[msg.ifname] = Link(msg.ifname, msg.ifindex)
        link.ifindex = msg.ifindex or link.ifindex
        gone = not msg.present  # the link was deleted
        link.up = msg.up and not gone
        link.running = msg.running and not gone
        link.mac = msg.mac or link.mac
        link.noarp = bool(msg.flags & IFF_NOARP)
        return link

    def _update_addr(self, msg: M.NetlinkAddr) -> None:
        link = self.links.get(msg.ifname)
        if link is None:
            link = self.links[msg.ifname] = Link(msg.ifname, msg.ifindex)
        addr = msg.address
        if "/" not in addr:
            addr += "/128" if ":" in addr else "/32"
        if msg.present:
            link.addrs[addr] = msg.secondary
        else:
            link.addrs.pop(addr, None)

    def _source_for(self, runner: Runner) -> str:
        inst = runner.inst
        if runner.unicast and inst.unicast_src_ip:
            return inst.unicast_src_ip
        if inst.mcast_src_ip:
            return inst.mcast_src_ip
        link = self.links.get(runner.ifname)
        if link is None:
            return ""
        vips = {a.ip for a in inst.virtual_ipaddress}
        # the kernel's order, primary addresses first (the IPv4 source keepalived uses)
        for cidr in sorted(link.addrs, key=lambda c: link.addrs[c]):
            ip = cidr.split("/")[0]
            obj = ipaddress.ip_address(ip)
            if ip in vips:
                continue
            if runner.family == "inet" and obj.version == 4:
                return ip
            if runner.family == "inet6" and obj.version == 6 and obj.is_link_local:
                return ip
        return ""

    async def on_event(self, env: Envelope, msg: M.Event) -> None:
        if isinstance(msg, M.NetlinkLink):
            self._links_changed(self._update_link(msg).ifname)
        elif isinstance(msg, M.NetlinkLost):
            self._address_lost(msg)
        elif isinstance(msg, M.NetlinkAddr):
            self._update_addr(msg)
            for runner in self.runners.values():
                if runner.ifname == msg.ifname and not runner.src:
                    runner.src = runner.fsm.address = self._source_for(runner)
                    if runner.src:
                        self._evaluate_tracking(runner)

    def _address_lost(self, msg: M.NetlinkLost) -> None:
        """Another program removed an item of ours: a tracked one takes a master out."""
        for owner in msg.owners:
            runner = self.runners.get(owner.removeprefix("vrrp/"))
            if not owner.startswith("vrrp/") or runner is None:
                continue
            what = _tracked_item(runner.inst, msg.kind, msg.item)
            if what is None:
                runner.counters["lost.untracked"] += 1
                self.log.info("(%s) %s removed: not tracked (no_track)", runner.name, msg.key)
                continue
            runner.counters["lost.tracked"] += 1
            self._releasing = True  # the group's other masters release too (keepalived)
            try:
                self._run(runner, runner.fsm.address_lost(self.loop.time(), what))
            finally:
                self._releasing = False

    def _links_changed(self, ifname: str) -> None:
        for runner in self.runners.values():
            tracked = {t.name for t in self._refs(runner, "track_interface")}
            tracked |= set(_track_group_devs(self.config, runner.name))
            if runner.ifname == ifname or ifname in tracked:
                if runner.sock is None and runner.ifname == ifname:
                    self._open_sockets(runner)
                self._evaluate_tracking(runner)

    # ---- instances -----------------------------------------------------------------------
    def _start_instance(self, inst: VrrpInstance, previous: dict[str, Any]) -> None:
        runner = self.runners.get(inst.name)
        if runner is None or runner.inst is not inst:
            runner = self.runners[inst.name] = Runner(self, inst)
        runner.src = self._source_for(runner)
        runner.fsm.address = runner.src
        self._open_sockets(runner)
        now = self.loop.time()
        if inst.unicast and not runner.peers and inst.unicast_fault_no_peer:
            runner.fsm.fault_reasons.add("no unicast peers")
        self._evaluate_tracking(runner, started=False)
        prev = previous.get(inst.name) or {}
        resume = (
            not previous.get("__clean__", True)
            and prev.get("state") == "MASTER"
            and prev.get("vrid") == inst.virtual_router_id
            and self._vips_present(runner)
        )
        if runner.ah is not None and isinstance(prev.get("ah_seq"), int):
            # the file is written on transitions, not per advert: skip past every number
            # the previous actor can have used since, or peers would see a replay
            elapsed = max(0.0, time.time() - float(previous.get("__ts__") or time.time()))
            sent = int(elapsed / runner.fsm.advert_interval) + AH_RESUME_MARGIN
            runner.ah.seq = min(prev["ah_seq"] + sent, ah_auth.SEQ_CYCLE_LIMIT)
        if resume:
            self.log.info("(%s) resuming MASTER state after a restart (VIPs in place)", inst.name)
            self.count("resumed_master")
        if runner.sync is not None and self._all_init(runner.sync):
            runner.pending_resume = resume  # started with its group (_start_groups)
            return
        self._run(runner, runner.fsm.start(now, resume_master=resume))

    def _vips_present(self, runner: Runner) -> bool:
        link = self.links.get(runner.ifname)
        if link is None:
            return False
        present = {a.split("/")[0] for a in link.addrs}
        return all(a.ip in present for a in runner.inst.virtual_ipaddress)

    def _open_sockets(self, runner: Runner) -> None:
        link = self.links.get(runner.ifname)
        if link is None or not link.ifindex:
            runner.fsm.fault_reasons.add(f"interface {runner.ifname} missing")
            return
        runner.fsm.fault_reasons.discard(f"interface {runner.ifname} missing")
        key = (runner.ifname, runner.family, runner.protocol)
        entry = self.sockets.get(key)
        if entry is None:
            sock = self.vrrp_socket(runner.ifname, link.ifindex, runner.family, runner.protocol)
            entry = self.sockets[key] = (sock, {})
            self.loop.add_reader(sock.fileno(), self._on_readable, sock, entry[1])
        sock, by_vrid = entry
        if runner.params.vrid in by_vrid and by_vrid[runner.params.vrid] is not runner:
            self.log.error(
                "(%s) VRID %d already used on %s by %s", runner.name, runner.params.vrid,
                runner.ifname, by_vrid[runner.params.vrid].name,
            )  # fmt: skip
            self.count("errors.duplicate_vrid")
            return
        by_vrid[runner.params.vrid] = runner
        if not runner.unicast:
            try:
                sock.join(runner.group)
            except OSError as exc:
                self.log.error("(%s) cannot join %s: %s", runner.name, runner.group, exc)
                self.count("errors.join")
        runner.sock = sock

    def _detach(self, runner: Runner) -> None:
        for handle in runner.handles.values():
            handle.cancel()
        runner.handles.clear()
        key = (runner.ifname, runner.family, runner.protocol)
        entry = self.sockets.get(key)
        if entry is not None:
            entry[1].pop(runner.params.vrid, None)
            if not entry[1]:
                self.loop.remove_reader(entry[0].fileno())
                entry[0].close()
                del self.sockets[key]
        self.pacer.drop(runner.name)
        self._extra_if_timer(runner, False)

    def _stop_runner(self, runner: Runner, now: float) -> None:
        self._run(runner, runner.fsm.stop(now))

    def _evaluate_tracking(self, runner: Runner, started: bool = True) -> None:
        """Interface, track_interface, track_group interfaces, track_script, track_file → FAULT
        or priority."""
        now = self.loop.time()
        link = self.links.get(runner.ifname)
        faults: dict[str, bool] = {
            f"{runner.ifname} down": link is None or not (link.up and link.running)
        }
        effects: list[track.Effect] = []
        for ref in self._refs(runner, "track_interface"):
            tl = self.links.get(ref.name)
            up = tl is not None and tl.up and tl.running
            eff = track.interface_effect(up, ref.weight or 0, ref.reverse)
            faults[f"tracked {ref.name} down"] = eff.fault
            effects.append(eff)
        for dev, group in _track_group_devs(self.config, runner.name).items():
            tl = self.links.get(dev)
            faults[f"track_group {group}: {dev} down"] = tl is None or not (tl.up and tl.running)
        for ref in self._refs(runner, "track_script"):
            script = self.config.vrrp_script(ref.name)
            sstate = self.scripts.get(ref.name)
            if script is None or sstate is None:
                continue
            weight = script.weight if ref.weight is None else ref.weight
            eff = track.script_effect(sstate.good, weight, ref.reverse or script.reverse)
            faults[f"script {ref.name} failed"] = eff.fault
            effects.append(eff)
        for ref in self._refs(runner, "track_file"):
            tf = next((f for f in self.config.track_files if f.name == ref.name), None)
            if tf is None:
                continue
            weight = tf.weight if ref.weight is None else ref.weight
            eff = track.file_effect(self.files.get(ref.name, 0), weight, ref.reverse or tf.reverse)
            faults[f"track_file {ref.name}"] = eff.fault
            effects.append(eff)
        cmds: list[fsm.Command] = []
        for reason, bad in faults.items():
            if started:
                cmds += runner.fsm.set_fault(now, reason, bad)
            elif bad:
                runner.fsm.fault_reasons.add(reason)
        prio, _ = track.effective_priority(runner.params.priority, effects)
        old_prio = runner.fsm.effective_priority
        if runner.params.priority != fsm.PRIO_OWNER:
            cmds += runner.fsm.set_priority(now, prio)
        if cmds or runner.sync is not None:  # a member's own fault may clear silently
            self._run(runner, cmds)
        if runner.fsm.effective_priority != old_prio:  # at start too, state INIT (keepalived)
            self.emit(
                M.VrrpPriority(
                    runner.name, str(runner.fsm.state), runner.fsm.effective_priority, old_prio
                )
            )

    # ---- sync groups ---------------------------------------------------------------------
    def _sync_config(self, runner: Runner) -> VrrpSyncGroup | None:
        if runner.sync is None:
            return None
        return next((g for g in self.config.vrrp_sync_groups if g.name == runner.sync.name), None)

    def _refs(self, runner: Runner, kind: str) -> tuple[TrackRef, ...]:
        """The instance's ``track_*`` refs of one kind plus its sync group's (keepalived
        applies a group's tracking, weights included, to every member)."""
        own: tuple[TrackRef, ...] = getattr(runner.inst, kind)
        grp = self._sync_config(runner)
        return own if grp is None else (*own, *getattr(grp, kind))

    def _build_groups(self) -> None:
        """One :class:`sync.Group` per configured group; a reload keeps an unchanged one."""
        old, self.groups = self.groups, {}
        for cfg in self.config.vrrp_sync_groups:
            members = tuple(m for m in cfg.group if m in self.runners)
            if not members:
                continue
            keep = old.get(cfg.name)
            if keep is not None and keep.members == members:
                self.groups[cfg.name] = keep
                continue
            self.groups[cfg.name] = sync.Group(cfg.name, members)
        for runner in self.runners.values():
            grp = next((g for g in self.groups.values() if runner.name in g.members), None)
            runner.sync = grp
            runner.fsm.in_group = grp is not None
        for grp in self.groups.values():
            if grp.state is sync.GroupState.INIT and not self._all_init(grp):
                # a new group over live instances (reload): it settles on their states
                for m in grp.members:
                    self._sync_observe(self.runners[m])

    def _all_init(self, grp: sync.Group) -> bool:
        return all(self.runners[m].fsm.state is fsm.State.INIT for m in grp.members)

    def _own_fault(self, runner: Runner) -> bool:
        reason = sync.fault_reason(runner.sync.name) if runner.sync else ""
        return bool(runner.fsm.fault_reasons - {reason})

    def _start_groups(self) -> None:
        """Start the members of every group still in INIT, after all their checks ran."""
        for grp in self.groups.values():
            members = [self.runners[m] for m in grp.members]
            if grp.state is not sync.GroupState.INIT or not self._all_init(grp):
                continue
            if any(r.pending_resume is None and r.fsm.state is fsm.State.INIT for r in members):
                continue  # a member has not been set up yet
            resume = all(r.pending_resume for r in members)
            faults = {r.name: self._own_fault(r) for r in members}
            self._run_group(grp, grp.start(faults, resume=resume))
            for r in members:
                resume, r.pending_resume = bool(r.pending_resume), None
                self._run(r, r.fsm.start(self.loop.time(), resume_master=resume))

    def _sync_observe(self, runner: Runner) -> None:
        grp = runner.sync
        if grp is None:
            return
        f = runner.fsm
        self._run_group(
            grp, grp.observe(runner.name, str(f.state), self._own_fault(runner), f.wants_master)
        )

    def _run_group(self, grp: sync.Group, orders: Iterable[sync.Order]) -> None:
        reason = sync.fault_reason(grp.name)
        for order in orders:
            now = self.loop.time()
            if isinstance(order, sync.GroupTransition):
                self.count(f"groups.transitions.{order.state}")
                self._publish_group(grp.name, str(order.state), str(order.prev), order.reason)
            elif isinstance(order, sync.GroupLog):
                self.log.info("VRRP_Group(%s) %s", grp.name, order.message)
            else:
                r = self.runners[order.member]
                if isinstance(order, sync.Promote):
                    self._run(r, r.fsm.sync_master(now))
                elif isinstance(order, sync.Demote):
                    self._run(r, r.fsm.sync_backup(now, release=self._releasing))
                else:
                    self._run(r, r.fsm.set_fault(now, reason, order.on))

    def _publish_group(self, name: str, state: str, prev: str, reason: str = "") -> None:
        """The one place ``vrrp.group`` is published, after the members' events: a member's
        MASTER event waits two loop steps (see _transition), so a group MASTER does too.
        ``reason`` (``resume``) is an extra field for the notifier."""
        event = M.VrrpGroup(name, state, prev, reason)
        self.log.info("VRRP_Group(%s) Entering %s STATE", name, state)
        if state == "MASTER":
            self.loop.call_soon(self.loop.call_soon, self.emit, event)
        else:
            self.emit(event)

    # ---- vrrp_script and track_file ------------------------------------------------------
    def _start_trackers(self) -> None:
        """Run every vrrp_script an instance tracks; poll every tracked file."""
        wanted = {ref.name for r in self.runners.values() for ref in self._refs(r, "track_script")}
        for name in wanted - set(self.scripts):
            script = self.config.vrrp_script(name)
            if script is None:
                self.log.warning("track_script %s: no such vrrp_script", name)
                continue
            if not self._vet(name):
                continue
            self.scripts[name] = track.ScriptState.initial(
                script.rise, script.fall, script.init_fail
            )
            self.tracker_tasks[name] = self.spawn(self._script_loop(name), f"script-{name}")
        files = {ref.name for r in self.runners.values() for ref in self._refs(r, "track_file")}
        for tf in self.config.track_files:
            if tf.name in files:
                if tf.init_file and (tf.init_overwrite or not os.path.exists(tf.file)):
                    with contextlib.suppress(OSError):
                        Path(tf.file).write_text(f"{tf.init_value}\n")
                self.files[tf.name] = self._read_track_file(tf.file)
        if files and "__files__" not in self.tracker_tasks:
            self.tracker_tasks["__files__"] = self.spawn(self._file_loop(), "track-files")

    def _read_track_file(self, path: str) -> int:
        try:
            return track.parse_track_file(Path(path).read_text()[:64])
        except OSError:
            return 0

    def _retrack(self, kind: str, name: str) -> None:
        for runner in self.runners.values():
            refs = self._refs(runner, "track_script" if kind == "script" else "track_file")
            if any(ref.name == name for ref in refs):
                self._evaluate_tracking(runner)

    async def _script_loop(self, name: str) -> None:
        while True:
            script = self.config.vrrp_script(name)
            if script is None:
                return
            started = self.loop.time()
            vetted = self.vetted.get(name)
            if vetted is None:
                return
            result = await self.script_runner.run(
                f"vrrp_script {name}", "vrrp_script", vetted,
                timeout=script.timeout or script.interval,
            )  # fmt: skip
            ok = result.ok
            state = self.scripts[name]
            if state.result(ok):
                self.log.info("VRRP_Script(%s) %s", name, "succeeded" if ok else "failed")
                self.count(f"scripts.{'up' if ok else 'down'}")
                self._retrack("script", name)
            await asyncio.sleep(max(0.0, script.interval - (self.loop.time() - started)))

    def _vet(self, name: str) -> bool:
        """Vet ``name``'s script once per configuration. A script that may not run is
        dropped, and the instances tracking it no longer track it, as keepalived does
        ("Disabling track script ...")."""
        if name in self.vetted:
            return self.vetted[name].refused is None
        script = self.config.vrrp_script(name)
        if script is None:
            return False
        defaults = script_io.Defaults.of(self.config.global_defs)
        v = script_io.vet(script.script.argv, script.script.user, script.script.group, defaults)
        self.vetted[name] = v
        for msg in v.messages:
            self.log.warning("%s", msg)
        if v.refused is not None:
            self.script_runner.refuse(f"vrrp_script {name}", v)
            self.log.error("Disabling track script %s: %s", name, v.refused)
            return False
        return True

    async def _file_loop(self) -> None:
        while True:
            await asyncio.sleep(FILE_POLL)
            for tf in self.config.track_files:
                if tf.name not in self.files:
                    continue
                value = self._read_track_file(tf.file)
                if value != self.files[tf.name]:
                    self.files[tf.name] = value
                    self.log.info("track_file %s is now %d", tf.name, value)
                    self._retrack("file", tf.name)

    # ---- carrying out commands -----------------------------------------------------------
    def _run(self, runner: Runner, cmds: Iterable[fsm.Command]) -> None:
        for cmd in cmds:
            if isinstance(cmd, fsm.SendAdvert):
                self._send_advert(runner, cmd.priority)
            elif isinstance(cmd, fsm.SetTimer):
                old = runner.handles.pop(cmd.name, None)
                if old:
                    old.cancel()
                runner.handles[cmd.name] = self.loop.call_at(
                    cmd.at - self.timer_early, self._on_timer, runner, cmd.name, cmd.at
                )
            elif isinstance(cmd, fsm.CancelTimer):
                handle = runner.handles.pop(cmd.name, None)
                if handle:
                    handle.cancel()
            elif isinstance(cmd, fsm.Transition):
                self._transition(runner, cmd)
            elif isinstance(cmd, fsm.Addresses):
                self._addresses(runner, cmd.present)
            elif isinstance(cmd, fsm.SendGarp):
                self._garp(runner, cmd.count)
            elif isinstance(cmd, fsm.Log):
                getattr(self.log, cmd.level)("(%s) %s", runner.name, cmd.message)
            elif isinstance(cmd, fsm.LowerPriorityAdvert):
                self.emit(M.VrrpRxLowerPri(runner.name, cmd.src, cmd.priority))
        if runner.sync is not None:
            self._sync_observe(runner)

    def _on_timer(self, runner: Runner, name: str, at: float) -> None:
        now = self.loop.time()
        if 0 < at - now <= self.timer_early:
            # woken early on purpose: epoll waits in whole milliseconds (rounded up), so
            # a timer armed for the deadline fires up to 1 ms late; sleep the rest here
            time.sleep(at - now)
            now = self.loop.time()
        late = now - at
        self.lateness.append(late)
        self.late_max = max(self.late_max, late)
        runner.handles.pop(name, None)
        self._drain(runner)  # an advert that arrived meanwhile wins over the timer
        self._run(runner, runner.fsm.timer(self.loop.time(), name))

    def _transition(self, runner: Runner, cmd: fsm.Transition) -> None:
        state = str(cmd.state)
        suffix = " (init)" if cmd.reason == "init" and state == "BACKUP" else ""
        self.log.info("(%s) Entering %s STATE%s", runner.name, state, suffix)
        runner.counters[f"transitions.{state}"] += 1
        if str(cmd.prev) == "MASTER" and state != "MASTER":
            runner.counters["release_master"] += 1
        self._extra_if_timer(runner, state == "MASTER")
        if state == "MASTER":
            runner.decision_at = time.perf_counter()
            if runner.ah is not None:
                runner.ah.on_become_master()
        event = runner.state_event(str(cmd.prev), cmd.reason)
        if state == "MASTER":
            # let the addresses.set request (sent by a task that starts on the next loop
            # step) reach the broker before this event and its fan-out to tap/notifier
            self.loop.call_soon(self.loop.call_soon, self.emit, event)
        else:
            self.emit(event)
        if not self._state_dirty:
            self._state_dirty = True
            self.loop.call_soon(self._write_state_file, False)

    def _send_advert(self, runner: Runner, priority: int) -> None:
        sock = runner.sock
        if sock is None or not runner.src:
            runner.counters["tx_errors.no_socket"] += 1
            return
        inst = runner.inst
        adv = P.Advert(
            version=inst.version,
            vrid=runner.params.vrid,
            priority=priority,
            addresses=runner.advert_addresses,
            max_adver_int=runner.params.advert_int_cs,
            auth_type=runner.auth_type,
            auth_data=runner.auth_pass if runner.auth_type == P.AUTH_PASS else b"",
        )
        targets = runner.peers or (runner.group,)
        ttl = inst.unicast_ttl if (runner.unicast and inst.unicast_ttl) else P.VRRP_TTL
        try:
            if runner.family == "inet6":
                for dst in targets:
                    msg = P.encode_vrrp(adv, "inet6", src=runner.src, dst=dst)
                    sock.send6(msg, runner.src, dst, ttl)
            else:
                seq = runner.ah.next_send() if runner.ah is not None else 0
                for dst in targets:
                    msg = P.encode_vrrp(
                        adv, "inet", src=runner.src, dst=dst, form=runner.form,
                        group=runner.group,
                    )  # fmt: skip
                    runner.ident = runner.ident % 0xFFFF + 1
                    if runner.ah is not None:
                        key = runner.auth_pass
                        pkt = ah_auth.build_ah_packet(
                            msg, runner.src, dst, seq=seq, key=key, ident=runner.ident,
                            ttl=ttl, unicast=runner.unicast,
                        )  # fmt: skip
                    else:
                        pkt = P.encode_ipv4(msg, runner.src, dst, ident=runner.ident, ttl=ttl)
                    sock.send4(pkt, dst)
        except OSError as exc:
            runner.counters["tx_errors"] += 1
            self._log_limited(runner, "tx", f"send advert error {exc.errno} ({exc.strerror})")
            return
        runner.counters["adverts_tx"] += 1
        if priority == 0:
            runner.counters["priority_zero_tx"] += 1
            self.log.info("(%s) sent 0 priority", runner.name)

    def _addresses(
        self,
        runner: Runner,
        present: bool,
        only: tuple[IPAddress, ...] | None = None,
        exclusive: bool = False,
    ) -> None:
        inst = runner.inst
        if not present and self.options.dont_release_vrrp and runner.fsm.state is fsm.State.STOP:
            return
        self.log.info("(%s) %s", runner.name, "setting VIPs." if present else "removing VIPs.")
        items = (*inst.virtual_ipaddress, *inst.virtual_ipaddress_excluded)
        addrs = tuple(
            to_wire(a if a.dev else dataclasses.replace(a, dev=runner.ifname))
            for a in (items if only is None else only)
        )
        request = M.AddressesSet(
            owner=f"vrrp/{runner.name}",
            present=present,
            addresses=addrs,
            routes=tuple(to_wire(r) for r in inst.virtual_routes) if only is None else (),
            rules=tuple(to_wire(r) for r in inst.virtual_rules) if only is None else (),
            exclusive=exclusive,  # the netlink actor drops this owner's other items
        )
        previous = runner.addr_task
        decided = time.perf_counter()
        runner.addr_task = self.spawn(
            self._set_addresses(runner, request, previous, decided), f"addresses-{runner.name}"
        )

    async def _set_addresses(
        self,
        runner: Runner,
        request: M.AddressesSet,
        previous: asyncio.Task[None] | None,
        decided: float,
    ) -> None:
        if previous is not None and not previous.done():
            with contextlib.suppress(Exception):
                await previous
        try:
            reply = await self.request("netlink", request, timeout=3.0)
        except Exception as exc:
            runner.counters["errors.addresses"] += 1
            self.log.error("(%s) addresses.set failed: %s", runner.name, exc)
            return
        assert isinstance(reply, M.AddressesSetReply)
        if request.present:
            self.vip_latency.append(time.perf_counter() - decided)
        for err in reply.errors:
            runner.counters["errors.addresses"] += 1
            self.log.error("(%s) %s", runner.name, err)

    def _garp(self, runner: Runner, count: int) -> None:
        task = runner.addr_task
        if task is not None and not task.done():
            self.spawn(self._garp_after(runner, count, task), f"garp-{runner.name}")
        else:
            self._send_garps(runner, count)

    async def _garp_after(self, runner: Runner, count: int, task: asyncio.Task[None]) -> None:
        with contextlib.suppress(Exception):
            await asyncio.shield(task)
        if runner.fsm.state is fsm.State.MASTER:
            self._send_garps(runner, count)

    def _send_garps(self, runner: Runner, count: int) -> None:
        """A burst: ``count`` rounds over the VIPs and eVIPs, paced as keepalived paces."""
        targets = self._garp_targets(runner)
        for t in dict.fromkeys(targets):
            what = "Unsolicited Neighbour Adverts" if t.kind == "na" else "gratuitous ARPs"
            self.log.info("(%s) Sending/queueing %s on %s for %s", runner.name, what,
                          t.ifname, t.ip)  # fmt: skip
        now = self.loop.time()
        self._send_frames(runner, self.pacer.burst(now, runner.name, targets, count))
        self._pace_timer()

    def _garp_targets(self, runner: Runner) -> list[arp.Target]:
        """Each VIP and eVIP with the interface it is on (its ``dev``, else the instance's)."""
        addrs = [*runner.inst.virtual_ipaddress, *runner.inst.virtual_ipaddress_excluded]
        return [arp.Target(a.ip, a.dev or runner.ifname) for a in addrs]

    def _extra_if_timer(self, runner: Runner, master: bool) -> None:
        """``garp_extra_if all N``: from becoming master, every N s one GARP/NA for the
        first VIP of each other interface (the bursts do not move this timer)."""
        if runner.extra_if is not None:
            runner.extra_if.cancel()
            runner.extra_if = None
        interval = runner.inst.garp_extra_if
        if master and interval > 0 and runner.inst.garp_extra_if_all:
            at = self.loop.time() + interval
            runner.extra_if = self.loop.call_at(at, self._on_extra_if, runner)

    def _on_extra_if(self, runner: Runner) -> None:
        runner.extra_if = None
        if runner.fsm.state is not fsm.State.MASTER:
            return
        vips = [arp.Target(a.ip, a.dev or runner.ifname) for a in runner.inst.virtual_ipaddress]
        targets = arp.extra_if_targets(vips, runner.ifname)
        self._send_frames(runner, self.pacer.burst(self.loop.time(), runner.name, targets, 1))
        self._pace_timer()
        self._extra_if_timer(runner, True)

    def _pacing(self, ifname: str) -> arp.Pacing:
        g = self.config.global_defs
        groups = [(gr.interfaces, gr.garp_interval, gr.gna_interval)
                  for gr in self.config.garp_groups]  # fmt: skip
        return arp.pacing_for(ifname, groups, g.vrrp_garp_interval, g.vrrp_gna_interval)

    def _pace_timer(self) -> None:
        """Wake when the next pending frame's interface is free."""
        if self.pace_handle is not None:
            self.pace_handle.cancel()
            self.pace_handle = None
        wake = self.pacer.wake()
        if wake is not None:
            self.pace_handle = self.loop.call_at(wake, self._on_pace, wake)

    def _on_pace(self, at: float) -> None:
        self.pace_handle = None
        for owner, target in self.pacer.due(max(self.loop.time(), at)):
            runner = self.runners.get(owner)
            if runner is not None and runner.fsm.state is fsm.State.MASTER:
                self._send_frames(runner, [target])
        self._pace_timer()

    def _send_frames(self, runner: Runner, targets: Iterable[arp.Target]) -> None:
        """Each target's frame out of its own interface, from that interface's MAC."""
        forwarding: dict[str, bool] = {}
        for t in targets:
            link = self.links.get(t.ifname)
            if link is None or not link.mac:
                runner.counters["garp_errors.no_link"] += 1
                continue
            if link.noarp:  # keepalived 2.2.7 (lab): neither GARP nor NA on such a link
                runner.counters["garp_skipped.noarp"] += 1
                continue
            if t.kind == "na" and t.ifname not in forwarding:
                forwarding[t.ifname] = _ipv6_forwarding(t.ifname)
            frame = (
                arp.na_frame(link.mac, t.ip, router=forwarding[t.ifname])
                if t.kind == "na"
                else arp.garp_frame(link.mac, t.ip)
            )
            self._send_frame(runner, t.ifname, frame)

    def _send_frame(self, runner: Runner, ifname: str, frame: bytes) -> None:
        try:
            sender = self.link_senders.get(ifname)
            if sender is None:
                sender = self.link_senders[ifname] = self.link_sender(ifname)
            sender.send(frame)
        except OSError as exc:
            runner.counters["garp_errors"] += 1
            self._log_limited(runner, "garp", f"gratuitous ARP error on {ifname}: {exc}")
            broken = self.link_senders.pop(ifname, None)  # reopened by the next frame (the
            if broken is not None:  # link may have been re-created with another index)
                with contextlib.suppress(OSError):
                    broken.close()
            return
        runner.counters["garp_tx"] += 1
        if runner.decision_at is not None:
            self.garp_latency.append(time.perf_counter() - runner.decision_at)
            runner.decision_at = None

    # ---- receiving -----------------------------------------------------------------------
    def _drain(self, runner: Runner) -> None:
        """Read what waits on the runner's socket before one of its timers acts."""
        sock = runner.sock
        if sock is None:
            return
        entry = self.sockets.get((runner.ifname, runner.family, runner.protocol))
        if entry is not None and entry[0] is sock:
            self._on_readable(sock, entry[1])

    def _on_readable(self, sock: VrrpSocket, by_vrid: dict[int, Runner]) -> None:
        for _ in range(64):
            try:
                dg = sock.recv()
            except OSError as exc:
                self.count("rx_errors")
                self.log.debug("recv on %s: %s", sock.ifname, exc)
                return
            if dg is None:
                return
            try:
                self._handle(sock, by_vrid, dg)
            except P.PacketError as err:
                self.count(f"rx_drop.{err.reason}")
            except Exception as exc:  # a bug must never end the receive path
                self.count("errors.rx")
                self.log.exception("receive handling failed: %r", exc)

    def _handle(self, sock: VrrpSocket, by_vrid: dict[int, Runner], dg: Any) -> None:
        if sock.family == "inet6":
            vrid = dg.data[1] if len(dg.data) > 1 else -1
            runner = by_vrid.get(vrid)
            adv, form = P.decode_vrrp(
                dg.data, "inet6", dg.src, dg.dst or P.MCAST6, verify_checksum=False
            )
            rx = P.Received(adv, "inet6", dg.src, dg.dst, dg.hop_limit, form)
        else:
            try:
                rx = P.decode_ipv4_packet(dg.data)
            except P.PacketError as err:
                vrid = _peek_vrid(dg.data)
                runner = by_vrid.get(vrid) if vrid is not None else None
                if runner is not None:
                    self._rx_drop(runner, err)
                raise
            runner = by_vrid.get(rx.advert.vrid)
        if runner is None:
            self.count("rx_drop.unknown_vrid")
            return
        try:
            P.check_advert(rx, runner.expectation())
            if runner.ah is not None:
                ah_auth.verify_ah_packet(dg.data, runner.auth_pass, unicast=runner.unicast)
                assert rx.ah is not None
                if runner.fsm.state is not fsm.State.MASTER or rx.advert.priority >= (
                    runner.fsm.effective_priority
                ):
                    runner.ah.accept(rx.ah.seq)
                else:
                    runner.ah.resync_above(rx.ah.seq)
        except P.PacketError as err:
            self._rx_drop(runner, err)
            raise
        runner.counters["adverts_rx"] += 1
        if rx.advert.priority == 0:
            runner.counters["priority_zero_rx"] += 1
        if runner.peer_form != rx.checksum_form:
            if runner.peer_form is not None:
                self.log.info(
                    "(%s) peer %s changed checksum form to %s", runner.name, rx.src,
                    rx.checksum_form,
                )  # fmt: skip
            runner.peer_form = rx.checksum_form
        now = self.loop.time()
        self._run(
            runner, runner.fsm.advert(now, rx.src, rx.advert.priority, rx.advert.max_adver_int)
        )

    def _rx_drop(self, runner: Runner, err: P.PacketError) -> None:
        runner.counters[f"rx_drop.{err.reason}"] += 1
        self._log_limited(runner, str(err.reason), err.detail)

    def _log_limited(self, runner: Runner, key: str, message: str) -> None:
        now = self.loop.time()
        if now - runner.last_log.get(key, -LOG_EVERY) >= LOG_EVERY:
            runner.last_log[key] = now
            self.log.warning("(%s) %s", runner.name, message)

    # ---- the state file (crash recovery) -------------------------------------------------
    def _read_state_file(self) -> dict[str, Any]:
        try:
            data = json.loads(self._state_path.read_text())
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or not isinstance(data.get("instances"), dict):
            return {}
        out: dict[str, Any] = dict(data["instances"])
        out["__clean__"] = bool(data.get("clean", True))
        out["__ts__"] = data.get("ts")
        return out

    def _write_state_file(self, clean: bool) -> None:
        self._state_dirty = False
        data = {
            "pid": os.getpid(),
            "clean": clean,
            "ts": time.time(),
            "instances": {
                name: {
                    "state": str(r.fsm.state),
                    "vrid": r.params.vrid,
                    "ah_seq": r.ah.seq if r.ah is not None else None,
                }
                for name, r in self.runners.items()
            },
        }
        try:
            self._state_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self._state_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data))
            os.replace(tmp, self._state_path)
        except OSError as exc:
            self.count("errors.state_file")
            self.log.warning("cannot write %s: %s", self._state_path, exc)


def _track_group_devs(cfg: Config, instance: str) -> dict[str, str]:
    """Interfaces of the static items whose ``track_group`` lists ``instance`` -> group.

    keepalived tracks them like ``track_interface``: one going down faults the group's
    instances (a static item deleted by hand is only put back, the instances stay).
    """
    groups = {g.name for g in cfg.track_groups if instance in g.group}
    if not groups:
        return {}
    out: dict[str, str] = {}
    for a in cfg.static_ipaddress:
        if a.track_group in groups and a.dev:
            out.setdefault(a.dev, str(a.track_group))
    for r in cfg.static_routes:
        if r.track_group in groups:
            for dev in (r.dev, *(nh.dev for nh in r.nexthops)):
                if dev:
                    out.setdefault(dev, str(r.track_group))
    for rule in cfg.static_rules:
        if rule.track_group in groups:
            for dev in (rule.iif, rule.oif):
                if dev:
                    out.setdefault(dev, str(rule.track_group))
    return out


def _tracked_item(inst: VrrpInstance, kind: str, item: dict[str, Any]) -> str | None:
    """What a lost item is ("VIP 10.0.0.1/24"), or None when it is ``no_track`` or unknown.

    keepalived tracks every VIP, eVIP and virtual route unless marked ``no_track``; the
    item comes back as the shell sent it (``to_wire``), so the address or destination
    names the configured entry.
    """
    if kind == "addresses":
        address = item.get("address")
        for label, items in (("VIP", inst.virtual_ipaddress),
                             ("eVIP", inst.virtual_ipaddress_excluded)):  # fmt: skip
            for a in items:
                if a.address == address and not a.no_track:
                    return f"{label} {address}"
    elif kind in ("routes", "rules"):
        label = "virtual route" if kind == "routes" else "virtual rule"
        for r in inst.virtual_routes if kind == "routes" else inst.virtual_rules:
            if to_wire(r) == item and not r.no_track:
                return f"{label} {item.get('dest') or item.get('to') or ''}".rstrip()
    return None


def _ipv6_forwarding(ifname: str) -> bool:
    """keepalived sets the NA Router flag only when the interface forwards IPv6."""
    try:
        return Path(f"/proc/sys/net/ipv6/conf/{ifname}/forwarding").read_text().strip() == "1"
    except OSError:
        return False


def _peek_vrid(data: bytes) -> int | None:
    """The VRID of a damaged IPv4 packet, when its header is readable (per-instance counts)."""
    if len(data) < 22 or data[0] >> 4 != 4:
        return None
    ihl = (data[0] & 0x0F) * 4
    off = ihl + (24 if data[9] == P.AH_PROTO else 0) + 1
    return data[off] if off < len(data) else None


def _p50(values: Iterable[float]) -> float | None:
    ordered = sorted(values)
    return ordered[len(ordered) // 2] if ordered else None


def _p99(values: Iterable[float]) -> float | None:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else None
