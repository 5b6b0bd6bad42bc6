"""The ipvs actor's I/O shell: keeps the kernel load balancer in step with the policy.

Inputs: the configuration (mapped once by :mod:`.spec`), ``check.result`` events (the
checker's verdicts) and ``vrrp.state`` events (``ha_suspend`` and the LVS sync daemon
follow VRRP mastership). The pure :class:`.model.LbModel` answers the wanted rule set;
:func:`.rules.diff` against what the backend holds gives the operations; the backend
(:mod:`.driver`) applies them; every applied change is published:

* ``lb.realserver`` ``{virtual_server, protocol, real_server, weight, active}``;
* ``lb.quorum`` ``{virtual_server, protocol, up}``;
* ``lb.error`` ``{virtual_server, error}`` (added here): a service the backend refuses
  (for example DR on nftables) or an operation the kernel rejected.

Reconciliation never flushes (unless ``lvs_flush`` asks): at start the backend's table is
dumped and matching entries are adopted; only the difference is applied. A verdict
re-evaluates just its virtual server, and verdicts arriving together are applied in one
pass (one nftables transaction). On reload the difference between old and new
configuration is applied; unchanged services are not touched. On stop everything this
daemon owns is removed, unless ``-I`` (``dont_release_ipvs``).

At start it asks the checker for every current verdict (``checker.verdicts``): an ipvs
actor restarted by the watchdog would otherwise wait for the next change of each check.
Verdicts that arrive as events meanwhile win over that reply (they are newer).
"""

from __future__ import annotations

import asyncio
import gc
import math
import time
from collections import deque
from typing import Any

from pykeepalived.actors.base import Actor, CommandError
from pykeepalived.actors.ipvs import driver
from pykeepalived.actors.ipvs.model import (
    LbModel,
    VirtualSpec,
    VirtualView,
    sync_daemon_role,
    view_events,
)
from pykeepalived.actors.ipvs.rules import DestId, Service, ServiceId, apply, diff
from pykeepalived.actors.ipvs.spec import specs_from_config, vip_instances
from pykeepalived.bus import messages as M
from pykeepalived.bus.envelope import Envelope
from pykeepalived.conf.model import Config

#: at most this often the status reads the datapath's connection counters again
STATS_EVERY = 2.0
#: events published per pause when many are due at once (start-up of a large table)
PUBLISH_BATCH = 500
PUBLISH_PAUSE = 0.01


class IpvsActor(Actor):
    name = "ipvs"
    subscriptions = ("check.", "vrrp.")

    async def setup(self) -> None:
        self.traffic: dict[ServiceId, driver.ServiceTraffic] = {}
        self.stats_at = -math.inf
        self.stats_task: asyncio.Task[None] | None = None
        self.backend_name = str(self.options.lb_backend or self.config.pykeepalived.lb_backend)
        self.backend: driver.Backend
        self.backend_error: str | None = None
        try:
            self.backend = await driver.open_backend(self.backend_name)
        except driver.BackendError as exc:
            # keep the policy running (status, events) but program nothing
            self.backend_error = str(exc)
            self.log.error(
                "load balancer backend %s unusable: %s; nothing will be programmed",
                self.backend_name,
                exc,
            )
            self.count("errors.backend")
            self.backend = driver.DryRunBackend()
        self.log.info("load balancer backend: %s", self.backend.name)
        self.vrrp_states: dict[str, str] = {}
        self.errors: dict[str, str] = {}
        self.refused: set[ServiceId] = set()
        self.lock = asyncio.Lock()
        self.dirty: set[tuple[str, str]] = set()
        self.flush_scheduled = False
        self.last_apply_ms = 0.0
        self.sync_role: str | None = None
        self.outbox: deque[M.Event] = deque()
        #: check keys heard as events while the start-up verdicts request is in flight
        self.fresh: set[tuple[str, str, str, str]] | None = set()
        self.burst = 0
        self.model = LbModel()
        self.vip_map: dict[str, list[str]] = {}
        self._load(self.config)
        self.actual: dict[ServiceId, Service] = {}
        try:
            self.actual = await self.backend.dump()
        except driver.BackendError as exc:
            self.log.error("cannot read the kernel's table: %s", exc)
            self.count("errors.backend")
        wanted = set(self.model.desired())
        adopted = sum(1 for sid in wanted if sid in self.actual)
        self.adopted = adopted
        if adopted:
            self.log.info("adopting %d existing service(s) from the kernel", adopted)
        self.owned: set[ServiceId] = set(wanted)
        if self.config.global_defs.lvs_flush:
            self.owned |= set(self.actual)
        self.views: dict[tuple[str, str], VirtualView] = {}
        await self._reconcile(None)
        await self._timeouts()
        await self._sync_daemon()
        self.spawn(self._resync_verdicts(), "ipvs-verdicts")
        # the table and the policy live as long as the process: keep them out of the
        # collector's full passes, which would otherwise stall a verdict by milliseconds
        gc.collect()
        gc.freeze()

    def _load(self, config: Config) -> None:
        specs = specs_from_config(config)
        for err in specs.errors:
            self.log.error("%s", err)
            self.count("errors.config")
        self.model.reconfigure(specs.virtual)
        self.vip_map = vip_instances(config)
        self._apply_ha_suspend()

    # ---- reconciliation ------------------------------------------------------------------
    async def _reconcile(self, ids: set[tuple[str, str]] | None) -> None:
        """Bring the backend in line with the model (all services, or those of ``ids``)."""
        async with self.lock:
            started = time.perf_counter()
            desired = self.model.desired(ids)
            for err in self.backend.check(desired):
                if err not in self.errors.values():
                    self.log.error("%s", err)
                    self.emit_paced(M.LbError(err.split(" ")[0], err))
                self.errors[err.split(" ")[0]] = err
                self.count("errors.refused")
            refused = {sid for sid, svc in desired.items() if self.backend.check({sid: svc})}
            for sid in refused:
                desired.pop(sid)
            if ids is None:
                for warning in self.backend.warnings(desired):
                    self.log.warning("%s", warning)
                scope = self.owned
                actual = self.actual
            else:
                services = {s for vid in ids for s in self.model.services_of(vid)}
                scope = services & self.owned
                actual = {s: self.actual[s] for s in services if s in self.actual}
            ops = diff(desired, actual, scope)
            if ops:
                new_state = apply(self.actual, ops)
                try:
                    await self.backend.apply(ops, new_state)
                except driver.BackendError as exc:
                    self.log.error("%s", exc)
                    self.count("errors.apply")
                    self.emit_paced(M.LbError("", str(exc)))
                    try:
                        self.actual = await self.backend.dump()
                    except driver.BackendError:
                        pass
                    return
                self.actual = new_state
                self.count("ops.applied", len(ops))
                for op in ops:
                    self.log.debug("applied: %s", op)
            new_views = self.model.views(ids)
            before = (
                self.views if ids is None else {i: self.views[i] for i in ids if i in self.views}
            )
            for event in view_events(before, new_views):
                self.emit_paced(event)
                if isinstance(event, M.LbQuorum):
                    self.log.info(
                        "%s quorum for VS [%s]:%s", "Gained" if event.up else "Lost",
                        event.virtual_server, event.protocol,
                    )  # fmt: skip
            if ids is None:
                self.views = new_views
            else:
                self.views.update(new_views)
            self.refused = refused
            self.last_apply_ms = (time.perf_counter() - started) * 1000

    def emit_paced(self, event: M.Event) -> None:
        """Publish in order, at most PUBLISH_BATCH events per PUBLISH_PAUSE: a large
        table's start-up events never overflow the bus's send queue."""
        if not self.outbox and self.burst < PUBLISH_BATCH:
            self.emit(event)
            self.burst += 1
            if self.burst == 1:
                self.loop.call_later(PUBLISH_PAUSE, self._next_window)
            return
        self.outbox.append(event)

    def _next_window(self) -> None:
        self.burst = 0
        while self.outbox and self.burst < PUBLISH_BATCH:
            self.emit(self.outbox.popleft())
            self.burst += 1
        if self.burst:
            self.loop.call_later(PUBLISH_PAUSE, self._next_window)

    def _mark(self, vid: tuple[str, str]) -> None:
        self.dirty.add(vid)
        if not self.flush_scheduled:
            self.flush_scheduled = True
            self.spawn(self._flush(), name="ipvs-flush")

    async def _flush(self) -> None:
        await asyncio.sleep(0)  # let verdicts that arrived together gather
        self.flush_scheduled = False
        ids, self.dirty = self.dirty, set()
        if ids:
            await self._reconcile(ids)

    # ---- events ------------------------------------------------------------------------
    async def on_event(self, env: Envelope, msg: M.Event) -> None:
        if isinstance(msg, M.CheckResult):
            if self.fresh is not None:
                self.fresh.add(_check_key(msg))
            self._check_result(msg)
        elif isinstance(msg, M.VrrpState):
            self.vrrp_states[msg.instance] = msg.state
            for vid in self._apply_ha_suspend():
                self._mark(vid)
            await self._sync_daemon()

    def _check_result(self, msg: M.CheckResult) -> None:
        ok = self.model.on_check_result(
            msg.virtual_server, msg.protocol, msg.real_server, msg.checker, msg.up, msg.weight
        )
        if ok:
            self._mark((msg.virtual_server, msg.protocol))
        else:
            self.count("events.unknown_real_server")

    async def _resync_verdicts(self) -> None:
        """Every current verdict from the checker, once at start (see the module text)."""
        try:
            reply = await self.request("checker", M.CheckerVerdictsRequest(), timeout=5.0)
        except CommandError as exc:
            self.count("verdicts.unavailable")
            self.log.debug("no verdicts from the checker at start: %s", exc)
            return
        finally:
            fresh, self.fresh = self.fresh or set(), None
        assert isinstance(reply, M.CheckerVerdicts)
        for result in reply.results:
            if _check_key(result) not in fresh:
                self._check_result(result)
        self.count("verdicts.resynced", len(reply.results))

    def _apply_ha_suspend(self) -> list[tuple[str, str]]:
        """Freeze/thaw ha_suspend virtual servers whose VIP a VRRP instance carries."""
        changed = []
        states = getattr(self, "vrrp_states", {})
        for spec in self.model.specs():
            if not spec.ha_suspend or spec.address is None or spec.address not in self.vip_map:
                continue
            local = any(states.get(inst) == "MASTER" for inst in self.vip_map[spec.address])
            was = self.model.suspended(spec.key, spec.protocol)
            self.model.set_suspended(spec.key, spec.protocol, not local)
            if was != (not local):
                changed.append(spec.id)
        return changed

    async def _sync_daemon(self) -> None:
        cfg = self.config.global_defs.lvs_sync_daemon
        if cfg is None:
            return
        inst = cfg.instance
        role = sync_daemon_role(self.vrrp_states.get(inst) if inst else None)
        if role == self.sync_role:
            return
        vi = self.config.vrrp_instance(inst) if inst else None
        sync_id = cfg.id if cfg.id is not None else (vi.virtual_router_id if vi is not None else 0)
        dcfg = driver.SyncDaemonConfig(
            cfg.interface, sync_id, cfg.maxlen, cfg.port, cfg.ttl, cfg.group
        )
        try:
            await self.backend.sync_daemon(role, dcfg)
            self.log.info("LVS sync daemon: %s on %s (syncid %d)", role, cfg.interface, sync_id)
        except driver.BackendError as exc:
            self.log.warning("%s", exc)
            self.count("errors.sync_daemon")
        self.sync_role = role

    async def _timeouts(self) -> None:
        g = self.config.global_defs
        if (
            g.lvs_timeouts_tcp is None
            and g.lvs_timeouts_tcpfin is None
            and g.lvs_timeouts_udp is None
        ):
            return
        try:
            await self.backend.set_timeouts(
                g.lvs_timeouts_tcp, g.lvs_timeouts_tcpfin, g.lvs_timeouts_udp
            )
        except driver.BackendError as exc:
            self.log.warning("%s", exc)
            self.count("errors.timeouts")

    # ---- reload and stop ---------------------------------------------------------------
    async def apply_config(self, new: Config) -> None:
        self.config = new
        self._load(new)
        self.owned |= set(self.model.desired())
        await self._reconcile(None)
        # what the old config had and the new one dropped is gone from the kernel now
        self.owned = set(self.model.desired())
        known = {spec.id for spec in self.model.specs()}
        self.views = {k: v for k, v in self.views.items() if k in known}
        await self._timeouts()
        await self._sync_daemon()

    async def shutdown(self) -> None:
        if self.options.dont_release_ipvs:
            self.log.info("leaving the load balancer table in place (-I)")
        else:
            scope = set(self.owned)
            if self.config.global_defs.lvs_flush_on_stop == "all":
                scope |= set(self.actual)
            async with self.lock:
                ops = diff({}, self.actual, scope)
                try:
                    await self.backend.apply(ops, apply(self.actual, ops))
                    self.actual = apply(self.actual, ops)
                    if isinstance(self.backend, driver.NftBackend):
                        await self.backend.remove_table_if_empty()
                except driver.BackendError as exc:
                    self.log.error("releasing the table: %s", exc)
            if self.sync_role is not None and self.config.global_defs.lvs_sync_daemon is not None:
                cfg = self.config.global_defs.lvs_sync_daemon
                try:
                    await self.backend.sync_daemon(None, driver.SyncDaemonConfig(cfg.interface))
                except driver.BackendError:
                    pass
        await self.backend.close()

    # ---- introspection -----------------------------------------------------------------
    def _refresh_traffic(self) -> None:
        """Read the traffic counters in the background, at most every STATS_EVERY:
        a status shows what the previous read found."""
        running = self.stats_task is not None and not self.stats_task.done()
        if running or self.loop.time() - self.stats_at < STATS_EVERY:
            return
        self.stats_at = self.loop.time()
        self.stats_task = self.loop.create_task(self._read_traffic())

    async def _read_traffic(self) -> None:
        try:
            self.traffic = await self.backend.traffic(list(self.actual))
        except (driver.BackendError, OSError, ValueError) as exc:
            self.count("errors.stats")
            self.log.debug("cannot read the traffic counters: %s", exc)

    def _vs_traffic(self, spec: VirtualSpec) -> driver.Traffic | None:
        return _summed([self.traffic[s][0] for s in spec.services if s in self.traffic])

    def _rs_traffic(self, spec: VirtualSpec, key: str) -> driver.Traffic | None:
        rs = next((r for r in spec.real_servers if r.key == key), None)
        if rs is None:
            return None
        found = []
        for sid in spec.services:
            did = DestId(rs.address, rs.port if rs.port is not None else sid.port)
            if sid in self.traffic and did in self.traffic[sid][1]:
                found.append(self.traffic[sid][1][did])
        return _summed(found)

    def status(self) -> dict[str, Any]:
        self._refresh_traffic()
        out: list[dict[str, Any]] = []
        for spec in self.model.specs():
            view = self.views.get(spec.id)
            if view is None:
                continue
            out.append(
                {
                    "traffic": self._vs_traffic(spec),
                    "virtual_server": spec.key,
                    "protocol": spec.protocol,
                    "scheduler": spec.attrs.scheduler,
                    "quorum_up": view.quorum_up,
                    "suspended": self.model.suspended(spec.key, spec.protocol),
                    "sorry_server": spec.sorry.key if spec.sorry else None,
                    "services": [str(s) for s in spec.services],
                    "real_servers": [
                        {
                            "real_server": k,
                            "weight": v.weight,
                            "active": v.active,
                            "healthy": v.alive,
                            "traffic": self._rs_traffic(spec, k),
                        }
                        for k, v in view.real_servers.items()
                    ],
                }
            )
        return {
            "backend": self.backend.name,
            "backend_error": self.backend_error,
            "virtual_servers": out,
            "services_in_kernel": len(self.actual),
            "adopted_at_start": self.adopted,
            "refused": sorted(str(s) for s in self.refused),
            "sync_daemon": self.sync_role,
            "last_apply_ms": round(self.last_apply_ms, 3),
        }


def _summed(items: list[driver.Traffic]) -> driver.Traffic | None:
    """Counters added up field by field; None when nothing was counted."""
    if not items:
        return None
    out: driver.Traffic = {}
    for item in items:
        for name, value in item.items():
            out[name] = out.get(name, 0) + value
    return out


def _check_key(msg: M.CheckResult) -> tuple[str, str, str, str]:
    return (msg.virtual_server, msg.protocol, msg.real_server, msg.checker)
