"""The checker actor's I/O shell: schedules every health check and publishes verdicts.

It owns the running checks of ``self.config.virtual_servers`` (one per checker per real
server, see :mod:`.plan`), each a :class:`~.fsm.CheckFsm` (the decisions) plus a probe
factory (the I/O, see ``probes_*``). Attempts wait in one heap driven by one loop timer
(:meth:`CheckerActor._run_due`, which also keeps the loop responsive when the process is
short of CPU); probes are callback or task based and report back through
:meth:`CheckRun.done`.

Bus:

* publishes ``check.result`` ``{virtual_server, protocol, real_server, checker, up, reason,
  weight}`` once per check at start and on every change of verdict (or of weight).
  ``checker`` is the block keyword, with ``#n`` when a real server has several of one
  kind; ``weight`` is null except for MISC_CHECK ``misc_dynamic`` (the new weight,
  exit status - 2) and FILE_CHECK with a non-zero weight (the real server's configured
  weight plus value x multiplier, never below 0). Start verdicts are paced
  (``PUBLISH_BATCH`` per ``PUBLISH_PAUSE``) so ten thousand of them do not overflow
  the bus;
* subscribes to ``vrrp.state`` and ``netlink.addr`` only as *hints* for ``ha_suspend``:
  whether a virtual address is local is decided by trying to bind a socket to it, which
  also works when no vrrp or netlink actor runs in this process set (``-C``); the test is
  repeated every second while a virtual server has ``ha_suspend``;
* answers the command ``checker.verdicts`` with every check's current verdict
  (``check.result`` bodies): a restarted ipvs actor resynchronises from it;
* ``status()`` lists every virtual server → real server → checker with its verdict.

Reloads are applied as a difference (:func:`.plan.diff`): unchanged checks keep running
untouched, changed ones keep their verdict and restart their cycle, removed ones are
cancelled (their in-flight probe abandoned), new ones start as at boot.

At shutdown every timer and probe is cancelled; virtual servers with ``omega`` get a
final down verdict for each check (so the notifier runs RS-down notifies), unless
``--dont-release-ipvs`` keeps the load balancer as it is.
"""

from __future__ import annotations

import asyncio
import errno
import heapq
import itertools
import os
import random
import re
import resource
import shlex
import socket
import ssl
from typing import Any

from pykeepalived.actors import scripts as script_io
from pykeepalived.actors.base import Actor, CommandError
from pykeepalived.actors.checker import dns as dnscodec
from pykeepalived.actors.checker import http as httpcodec
from pykeepalived.actors.checker import wire
from pykeepalived.actors.checker.fsm import (
    CheckFsm,
    Command,
    Ignored,
    LogFailure,
    Outcome,
    RunAt,
    Verdict,
)
from pykeepalived.actors.checker.plan import CheckKey, CheckSpec, plan
from pykeepalived.actors.checker.plan import diff as plan_diff
from pykeepalived.actors.checker.probes_net import (
    DnsProbe,
    Done,
    PingProbe,
    TcpProbe,
    UdpProbe,
    plain_tcp_family,
    sockaddr,
)
from pykeepalived.actors.checker.probes_proc import FileProbe, FileWatch, MiscProbe
from pykeepalived.actors.checker.probes_stream import (
    HttpProbe,
    PlainHttpProbe,
    SmtpProbe,
    UrlCheck,
    tls_context,
)
from pykeepalived.bus import messages as M
from pykeepalived.bus.envelope import Envelope
from pykeepalived.conf import model as m

LAG_PROBE = 0.5  # seconds between loop-lag samples (how late a timer fires)
TICK_BATCH = 200  # attempts started per loop iteration at most
STUCK_SWEEP = 5.0  # seconds between looks for attempts that never reported
STUCK_SLACK = 5.0  # beyond the attempt's own time bound
PUBLISH_BATCH = 500
PUBLISH_PAUSE = 0.01
HA_POLL_INTERVAL = 1.0


class FailingProbe:
    """Stands in for a probe whose configuration cannot work; every attempt fails with why."""

    def __init__(self, loop: asyncio.AbstractEventLoop, reason: str) -> None:
        self.loop = loop
        self.reason = reason
        self.handle: asyncio.Handle | None = None

    def start(self, done: Done) -> None:
        self.handle = self.loop.call_soon(done, Outcome(False, self.reason))

    def cancel(self) -> None:
        if self.handle is not None:
            self.handle.cancel()


class CheckRun:
    """One running check: its spec, decision machine, timer and in-flight probe."""

    __slots__ = (
        "active",
        "actor",
        "done",
        "factory",
        "fsm",
        "gen",
        "probe",
        "spec",
    )

    def __init__(
        self, actor: CheckerActor, spec: CheckSpec, factory: Any, *, at_start: bool = True
    ) -> None:
        self.actor = actor
        self.spec = spec
        self.active = True  # False once removed by a reload or at shutdown
        # keepalived: only at daemon start is a check's first result decisive alone
        self.fsm = CheckFsm(spec.timing, first_is_decisive=at_start)
        self.gen = 0  # the scheduler's entry for this check is live only with this number
        self.probe: Any = None
        self.factory = factory
        self.done: Done = self._done

    def result(self, up: bool, reason: str, weight: int | None) -> M.CheckResult:
        """This check's verdict as the ``check.result`` event."""
        k = self.spec.key
        return M.CheckResult(
            k.virtual_server, k.protocol, k.real_server, k.checker, up, reason, weight
        )

    def _done(self, outcome: Outcome) -> None:
        self.probe = None
        self.actor.on_outcome(self, outcome)

    def disarm(self) -> None:
        self.gen += 1  # any queued entry is now stale

    def stop(self) -> None:
        self.active = False
        self.disarm()
        if self.probe is not None:
            self.probe.cancel()
            self.probe = None


def keepalived_service(spec: CheckSpec) -> str:
    """A real server as keepalived logs it: ``[10.0.0.1]:tcp:80``."""
    rs = spec.key.real_server
    if rs.startswith("["):
        host, _, port = rs[1:].partition("]:")
    elif rs.count(":") == 1:
        host, _, port = rs.partition(":")
    else:
        host, port = rs, ""
    return f"[{host}]:{spec.key.protocol}:{port}" if port else f"[{host}]"


def attempt_bound(spec: CheckSpec) -> float:
    """The longest one attempt of this check may take by its own timeouts."""
    chk = spec.checker
    if isinstance(chk, m.MiscCheck):
        return (chk.misc_timeout or chk.delay_loop) + 2.0
    if isinstance(chk, m.FileCheck):
        return 1.0
    if isinstance(chk, m.HttpGetCheck):
        return spec.target.connect_timeout * max(1, len(chk.urls))
    return spec.target.connect_timeout


def address_is_local(address: str) -> bool:
    """True when ``address`` is configured on this host (a bind to it succeeds)."""
    fam = socket.AF_INET6 if ":" in address else socket.AF_INET
    try:
        with socket.socket(fam, socket.SOCK_DGRAM) as s:
            s.bind((address, 0))
    except OSError as exc:
        if exc.errno in (errno.EADDRNOTAVAIL, errno.EINVAL):
            return False
        raise
    return True


def raise_fd_limit() -> int:
    """Lift RLIMIT_NOFILE's soft limit to the hard one (one socket per check in flight)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return hard
    return soft


class CheckerActor(Actor):
    name = "checker"
    subscriptions = ("vrrp.state", "netlink.addr")
    #: ``ha_suspend``'s "is this address local?" test (tests replace it with a fake table)
    address_test = staticmethod(address_is_local)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.runs: dict[CheckKey, CheckRun] = {}
        self.skipped: list[str] = []
        self.tls: ssl.SSLContext | None = None
        self.ha_addresses: dict[str, bool] = {}  # VS address -> local?
        self._ha_timer: asyncio.TimerHandle | None = None
        self._rand = random.Random()
        self.file_watch: FileWatch | None = None
        self.file_runs: dict[str, list[CheckRun]] = {}  # tracked file -> its FILE_CHECKs
        self._stuck_timer: asyncio.TimerHandle | None = None
        self._lag_timer: asyncio.TimerHandle | None = None
        self._queue: list[tuple[float, int, int, CheckRun]] = []  # (at, order, gen, run)
        self._order = itertools.count()
        self._tick: asyncio.Handle | None = None
        self._tick_at: float | None = None
        self._draining = False
        self.loop_lag_max = 0.0  # worst lateness of a timer since start (seconds)
        self.loop_lag_last = 0.0
        self.fd_limit = 0
        self.scripts = script_io.ScriptRunner(
            self.loop, self.log, self.counters, script_io.umask_of(self.config.global_defs)
        )
        self.misc_vetted: dict[tuple[Any, ...], script_io.Vetted] = {}
        self.attempts = 0  # plain ints on the hot path; copied into counters by status()
        self.failed_attempts = 0

    # ---- lifecycle -----------------------------------------------------------------------
    async def setup(self) -> None:
        self.fd_limit = raise_fd_limit()
        self.tls = self._tls_for(self.config)
        p = plan(self.config)
        self.skipped = p.skipped
        for why in p.skipped:
            self.log.warning("%s", why)
        self._refresh_ha_addresses(p.checks.values())
        await self._start_runs(await self._make_runs(list(p.checks.values()), self.config))
        self._refresh_file_watch(self.config)
        self._stuck_timer = self.loop.call_later(STUCK_SWEEP, self._stuck_sweep)
        self._lag_timer = self.loop.call_at(self.loop.time() + LAG_PROBE, self._lag, 0.0)
        self.log.info(
            "checker started: %d checks on %d virtual servers",
            len(self.runs),
            len(self.config.virtual_servers),
        )

    async def shutdown(self) -> None:
        if self._ha_timer is not None:
            self._ha_timer.cancel()
        if self._stuck_timer is not None:
            self._stuck_timer.cancel()
        if self._lag_timer is not None:
            self._lag_timer.cancel()
        if self._tick is not None:
            self._tick.cancel()
        if self.file_watch is not None:
            self.file_watch.close()
        omega = {vs.key for vs in self.config.virtual_servers if vs.omega}
        for run in self.runs.values():
            run.stop()
            if (
                run.spec.key.virtual_server in omega
                and run.fsm.up
                and not self.options.dont_release_ipvs
            ):
                self._publish(run, False, "checker stopping (omega)", None)
        self.runs.clear()
        await self.scripts.stop_all()

    async def apply_config(self, new: m.Config) -> None:
        new_tls = self._tls_for(new) if new.ssl != self.config.ssl else self.tls
        self.misc_vetted.clear()  # vetted again: users, files and script security may change
        self.scripts.umask = script_io.umask_of(new.global_defs)
        p = plan(new)
        old_specs = {k: r.spec for k, r in self.runs.items()}
        d = plan_diff(old_specs, p.checks)
        if new_tls is not self.tls:
            self.tls = new_tls
            moved = [k for k in d.kept if p.checks[k].kind == "SSL_GET"]
            d.kept = [k for k in d.kept if k not in set(moved)]
            d.changed += moved
        now = self.loop.time()
        for key in d.removed:
            self.runs.pop(key).stop()
        for key in d.changed:
            run = self.runs[key]
            run.spec = p.checks[key]
            run.factory = self.probe_factory(run.spec, new)
            self._apply(run, run.fsm.retime(run.spec.timing, now))
        self.skipped = p.skipped
        self._refresh_ha_addresses(p.checks.values())
        self._sync_suspension()  # a reload may have turned ha_suspend on or off
        added = [p.checks[key] for key in d.added]
        await self._start_runs(await self._make_runs(added, new, at_start=False))
        self._refresh_file_watch(new)
        self.count("reloads")
        self.log.info(
            "reload: %d checks kept, %d changed, %d added, %d removed",
            len(d.kept),
            len(d.changed),
            len(d.added),
            len(d.removed),
        )

    async def _make_runs(
        self, specs: list[CheckSpec], config: m.Config, *, at_start: bool = True
    ) -> list[CheckRun]:
        """One CheckRun per spec, yielding to the loop now and then (hello stays answered)."""
        runs = []
        for i, spec in enumerate(specs, 1):
            factory = self.probe_factory(spec, config)
            runs.append(CheckRun(self, spec, factory, at_start=at_start))
            if i % PUBLISH_BATCH == 0:
                await asyncio.sleep(0)
        return runs

    async def _start_runs(self, runs: list[CheckRun]) -> None:
        """Publish each new check's first verdict (paced for the bus), then arm its timer."""
        now = self.loop.time()
        for run in runs:
            self.runs[run.spec.key] = run
            if self._is_suspended(run.spec):
                run.fsm.suspend()
        for i, run in enumerate(runs, 1):
            for cmd in run.fsm.start(now, self._rand.random()):
                if isinstance(cmd, Verdict):
                    self._publish(run, cmd.up, cmd.reason, cmd.weight, initial=True)
            if i % PUBLISH_BATCH == 0:
                await asyncio.sleep(PUBLISH_PAUSE)
        now = self.loop.time()
        for run in runs:
            if run.fsm.next_at is not None:
                self._arm(run, max(run.fsm.next_at, now))
        if runs:
            down = sum(1 for run in runs if not run.fsm.up)
            self.log.info(
                "%d checks start: %d up, %d down (alpha)", len(runs), len(runs) - down, down
            )

    # ---- scheduling ----------------------------------------------------------------------
    def _arm(self, run: CheckRun, at: float) -> None:
        """Queue ``run``'s next attempt at ``at`` (replacing any queued one)."""
        run.gen += 1
        heapq.heappush(self._queue, (at, next(self._order), run.gen, run))
        if not self._draining and (self._tick_at is None or at < self._tick_at):
            self._schedule_tick(at, self.loop.time())

    def _schedule_tick(self, at: float, now: float) -> None:
        """The one loop timer, for the head of the queue (replacing the previous one)."""
        if self._tick is not None:
            self._tick.cancel()
        self._tick_at = at
        if at <= now:  # already due: right after the loop has looked at I/O
            self._tick = self.loop.call_soon(self._run_due)
        else:
            self._tick = self.loop.call_at(at, self._run_due)

    def _run_due(self) -> None:
        """Start the attempts that are due, at most ``TICK_BATCH`` per loop iteration.

        One timer for all checks instead of one each: cheaper, and when the process is
        short of CPU the backlog is worked off in slices, with the loop free between
        them for hello, the bus and probe I/O, instead of one batch of thousands."""
        self._tick = None
        self._tick_at = None
        queue = self._queue
        now = self.loop.time()
        started = 0
        self._draining = True  # attempts re-armed meanwhile only join the queue
        try:
            while queue and queue[0][0] <= now and started < TICK_BATCH:
                _, _, gen, run = heapq.heappop(queue)
                if gen == run.gen:
                    run.gen += 1  # consumed
                    started += 1
                    try:
                        self._fire(run)
                    except Exception:  # never let one check stop the scheduler
                        self.count("errors.fire")
                        self.log.exception("%s: attempt failed to start", run.spec.key)
                        if run.active and not run.fsm.attempting:
                            # keep it scheduled: try again a period later
                            heapq.heappush(
                                queue,
                                (now + run.spec.timing.delay_loop, next(self._order), run.gen, run),
                            )
        finally:
            self._draining = False
        while queue and queue[0][2] != queue[0][3].gen:
            heapq.heappop(queue)  # drop stale entries at the head
        if queue:
            self._schedule_tick(queue[0][0], now)

    def _fire(self, run: CheckRun) -> None:
        if not run.active or not run.fsm.due(self.loop.time()):
            return
        try:
            probe = run.factory()
            run.probe = probe
            if type(probe) is TcpProbe:  # hot path: most attempts settle inside connect()
                outcome = probe.begin(run.done)
                if outcome is not None:
                    run.probe = None
                    self.on_outcome(run, outcome)
            else:
                probe.start(run.done)
        except Exception as exc:  # a probe bug fails this attempt; the check goes on
            self.count("errors.probe")
            self.log.exception("%s: probe failed to start", run.spec.key.checker)
            if run.probe is not None:
                run.probe.cancel()
                run.probe = None
            outcome = Outcome(False, f"internal error in probe: {exc!r}")
            self.loop.call_soon(self.on_outcome, run, outcome)

    def _lag(self, due: float) -> None:
        """How late this timer ran: the loop's backlog (what a hello would wait too)."""
        now = self.loop.time()
        if due:
            self.loop_lag_last = max(0.0, now - due)
            self.loop_lag_max = max(self.loop_lag_max, self.loop_lag_last)
        self._lag_timer = self.loop.call_at(now + LAG_PROBE, self._lag, now + LAG_PROBE)

    def _stuck_sweep(self) -> None:
        """Safety net: an attempt outstanding far beyond its own bound is abandoned and
        counted as a failure, so no check can stay stuck whatever a probe does."""
        self._stuck_timer = self.loop.call_later(STUCK_SWEEP, self._stuck_sweep)
        now = self.loop.time()
        for run in list(self.runs.values()):
            started = run.fsm.last_attempt_at
            if run.probe is None or not run.fsm.attempting or started is None:
                continue
            if now - started > attempt_bound(run.spec) + STUCK_SLACK:
                run.probe.cancel()
                run.probe = None
                self.count("checks.stuck_attempts")
                self.on_outcome(run, Outcome(False, "probe did not finish in time (abandoned)"))

    def on_outcome(self, run: CheckRun, outcome: Outcome) -> None:
        self.attempts += 1
        if not outcome.ok:
            self.failed_attempts += 1
        if not run.active:
            return
        self._apply(run, run.fsm.attempt_done(self.loop.time(), outcome))

    def _apply(self, run: CheckRun, cmds: list[Command]) -> None:
        for cmd in cmds:
            if isinstance(cmd, RunAt):
                self._arm(run, cmd.at)
            elif isinstance(cmd, Verdict):
                self._publish(run, cmd.up, cmd.reason, cmd.weight)
            elif isinstance(cmd, LogFailure):
                if run.spec.timing.log_all_failures:
                    k = run.spec.key
                    self.log.info(
                        "%s on service %s of VS %s failed (attempt %d of %d): %s",
                        k.checker,
                        k.real_server,
                        k.virtual_server,
                        cmd.attempt,
                        cmd.of,
                        cmd.reason,
                    )
            elif isinstance(cmd, Ignored):
                self.count("checks.ignored_results")

    def _publish(
        self, run: CheckRun, up: bool, reason: str, weight: int | None, initial: bool = False
    ) -> None:
        self.emit(run.result(up, reason, weight))
        # keepalived's wording: "TCP_CHECK on service [10.0.0.1]:tcp:80 failed."
        if initial:
            return  # start verdicts are summed up in one line by _start_runs
        service = keepalived_service(run.spec)
        if up:
            self.log.info("%s on service %s success (%s).", run.spec.kind, service, reason)
        else:
            self.log.warning("%s on service %s failed: %s.", run.spec.kind, service, reason)

    # ---- probes --------------------------------------------------------------------------
    def probe_factory(self, spec: CheckSpec, config: m.Config) -> Any:
        """A zero-argument callable making one probe per attempt (config errors fail each)."""
        loop = self.loop
        chk = spec.checker
        target = spec.target
        try:
            if isinstance(chk, m.TcpCheck):
                addr = None if target.bind_if else sockaddr(target)
                family = plain_tcp_family(target)
                return lambda: TcpProbe(loop, target, addr, family)
            if isinstance(chk, m.HttpGetCheck):  # SSL_GET too
                return self._http_factory(spec, chk)
            if isinstance(chk, m.MiscCheck):
                return self._misc_factory(chk, config)
            if isinstance(chk, m.SmtpCheck):
                helo = chk.helo_name
                return lambda: SmtpProbe(loop, target, helo)
            if isinstance(chk, m.DnsCheck):
                qtype = dnscodec.qtype_of(chk.type)
                dnscodec.encode_name(chk.name)
                qname = chk.name
                return lambda: DnsProbe(loop, target, qname, qtype)
            if isinstance(chk, m.UdpCheck):
                payload = wire.parse_hex(chk.payload) if chk.payload else None
                require = chk.require_reply is not None
                pattern = wire.ReplyPattern.parse(chk.require_reply) if chk.require_reply else None
                lo, hi = chk.min_reply_length, chk.max_reply_length
                return lambda: UdpProbe(loop, target, payload, require, pattern, lo, hi)
            if isinstance(chk, m.PingCheck):
                return lambda: PingProbe(loop, target)
            if isinstance(chk, m.FileCheck):
                return self._file_factory(spec, chk, config)
            raise ValueError(f"unsupported checker {spec.kind}")
        except (ValueError, re.error, OSError, ssl.SSLError) as exc:
            self.count("checks.config_errors")
            reason = f"configuration error: {exc}"
            self.log.error(
                "%s %s %s: %s",
                spec.key.virtual_server,
                spec.key.real_server,
                spec.key.checker,
                reason,
            )
            return lambda: FailingProbe(loop, reason)

    def _http_factory(self, spec: CheckSpec, chk: m.HttpGetCheck) -> Any:
        loop = self.loop
        target = spec.target
        tls_on = chk.kind == "SSL_GET"
        if tls_on and self.tls is None:
            self.tls = tls_context()
        tls = self.tls if tls_on else None
        rs_vhost = chk.virtualhost
        urls = []
        for u in chk.urls:
            rule = httpcodec.UrlRule(
                path=u.path,
                digest=u.digest,
                status_codes=u.status_codes,
                regex=u.regex,
                regex_no_match=u.regex_no_match,
                regex_options=u.regex_options,
                regex_min_offset=u.regex_min_offset,
                regex_max_offset=u.regex_max_offset,
            )
            host = httpcodec.host_header(
                target.host, target.port, tls_on, u.virtualhost or rs_vhost
            )
            urls.append(UrlCheck(rule, httpcodec.compile_regex(rule), host))
        frozen = tuple(urls)
        sni = None
        if chk.enable_sni or chk.sni_name:
            sni = chk.sni_name or rs_vhost or None
        proto = chk.http_protocol
        compliant = chk.tls_compliant
        if tls is None:  # plain HTTP: the callback probe (no task per attempt)
            addr = None if target.bind_if else sockaddr(target)
            return lambda: PlainHttpProbe(loop, target, frozen, proto, addr=addr)
        return lambda: HttpProbe(loop, target, frozen, proto, tls, sni, compliant)

    def _misc_factory(self, chk: m.MiscCheck, config: m.Config) -> Any:
        script = chk.misc_path
        if script is None:
            raise ValueError("MISC_CHECK without misc_path")
        argv = tuple(script.argv) or tuple(shlex.split(script.raw))
        key = (argv, script.user, script.group)
        vetted = self.misc_vetted.get(key)
        if vetted is None:  # once per script and configuration, as keepalived checks it
            defaults = script_io.Defaults.of(config.global_defs)
            vetted = script_io.vet(argv, script.user, script.group, defaults)
            self.misc_vetted[key] = vetted
            for msg in vetted.messages:
                self.log.warning("%s", msg)
        name = f"MISC_CHECK {argv[0] if argv else '?'}"
        if vetted.refused is not None:
            self.scripts.refuse(name, vetted)
            raise ValueError(f"misc script {argv[0] if argv else '?'} refused: {vetted.refused}")
        timeout = chk.misc_timeout if chk.misc_timeout else chk.delay_loop
        dynamic = chk.misc_dynamic
        runner = self.scripts
        return lambda: MiscProbe(runner, name, vetted, timeout, dynamic)

    def _file_factory(self, spec: CheckSpec, chk: m.FileCheck, config: m.Config) -> Any:
        loop = self.loop
        tf = next((t for t in config.track_files if t.name == chk.track_file), None)
        if tf is None:
            raise ValueError(f"FILE_CHECK: no track_file {chk.track_file!r}")
        weight = chk.weight if chk.weight is not None else tf.weight
        reverse = chk.reverse or (chk.weight is None and tf.reverse)
        path, rs_weight = tf.file, spec.rs_weight
        return lambda: FileProbe(loop, path, weight, reverse, rs_weight)

    def _tls_for(self, config: m.Config) -> ssl.SSLContext | None:
        s = config.ssl
        if s is None:
            return None
        try:
            return tls_context(s.ca, s.certificate, s.key, s.password)
        except (OSError, ssl.SSLError) as exc:
            self.count("checks.config_errors")
            self.log.error("SSL block: %s; using a default context", exc)
            return tls_context()

    # ---- FILE_CHECK: inotify ------------------------------------------------------------
    def _refresh_file_watch(self, config: m.Config) -> None:
        files = {t.name: t.file for t in config.track_files}
        self.file_runs = {}
        for run in self.runs.values():
            if isinstance(run.spec.checker, m.FileCheck):
                path = files.get(run.spec.checker.track_file)
                if path:
                    self.file_runs.setdefault(os.path.abspath(path), []).append(run)
        if not self.file_runs:
            return
        try:
            if self.file_watch is None:
                self.file_watch = FileWatch(self.loop, self._file_changed)
            for path in self.file_runs:
                self.file_watch.watch(path)
        except OSError as exc:
            self.count("file_watch.errors")
            self.log.warning("FILE_CHECK: %s; files are read every delay_loop only", exc)

    def _file_changed(self, path: str) -> None:
        now = self.loop.time()
        runs = self.file_runs.get(path, [])
        if path.endswith("/"):  # the event queue overflowed: re-read everything there
            runs = [r for p, rs in self.file_runs.items() if p.startswith(path) for r in rs]
        for run in runs:
            if run.active and not run.fsm.attempting and not run.fsm.suspended:
                self._arm(run, now)

    # ---- ha_suspend ----------------------------------------------------------------------
    def _is_suspended(self, spec: CheckSpec) -> bool:
        if not spec.ha_suspend or spec.vs_address is None:
            return False
        return not self.ha_addresses.get(spec.vs_address, True)

    def _refresh_ha_addresses(self, specs: Any) -> None:
        wanted = {s.vs_address for s in specs if s.ha_suspend and s.vs_address}
        self.ha_addresses = {a: self._local(a) for a in wanted}
        if self._ha_timer is not None:
            self._ha_timer.cancel()
            self._ha_timer = None
        if wanted:
            self._ha_timer = self.loop.call_later(HA_POLL_INTERVAL, self._ha_poll)

    def _local(self, address: str) -> bool:
        try:
            return self.address_test(address)
        except OSError as exc:
            self.count("ha_suspend.errors")
            self.log.warning("ha_suspend: cannot test %s: %s", address, exc)
            return True

    def _ha_poll(self) -> None:
        self._ha_timer = self.loop.call_later(HA_POLL_INTERVAL, self._ha_poll)
        self._ha_evaluate()

    def _ha_evaluate(self) -> None:
        for address, was_local in list(self.ha_addresses.items()):
            local = self._local(address)
            if local == was_local:
                continue
            self.ha_addresses[address] = local
            self.log.info(
                "ha_suspend: %s is %s; checks %s",
                address,
                "local" if local else "not local",
                "resumed" if local else "suspended",
            )
            self._sync_suspension(address)

    def _sync_suspension(self, address: str | None = None) -> None:
        """Suspend or resume each check (of ``address``'s virtual servers, or all) to match
        whether its virtual address is local now."""
        now = self.loop.time()
        for run in self.runs.values():
            if address is not None and run.spec.vs_address != address:
                continue
            want = self._is_suspended(run.spec)
            if want == run.fsm.suspended:
                continue
            if not want:
                self._apply(run, run.fsm.resume(now))
                continue
            run.disarm()
            if run.probe is not None:
                run.probe.cancel()
                run.probe = None
            self._apply(run, run.fsm.suspend())

    async def on_command(self, env: Envelope, msg: M.Command) -> M.Reply:
        """``checker.verdicts``: every check's current verdict, each as a ``check.result``
        (a restarted ipvs actor resynchronises from it)."""
        if isinstance(msg, M.CheckerVerdictsRequest):
            self.count("commands.verdicts")
            return M.CheckerVerdicts(tuple(self.verdict(run) for run in self.runs.values()))
        raise CommandError(f"command {msg.name!r} is not handled by checker")

    def verdict(self, run: CheckRun) -> M.CheckResult:
        return run.result(run.fsm.up, run.fsm.reason, run.fsm.weight)

    async def on_event(self, env: Envelope, msg: M.Event) -> None:
        if not self.ha_addresses:
            return
        if isinstance(msg, (M.VrrpState, M.NetlinkAddr)):
            # the address may follow the state change by a moment: look now and shortly after
            self._ha_evaluate()
            self.loop.call_later(0.2, self._ha_evaluate)

    # ---- reporting -----------------------------------------------------------------------
    def sync_counters(self) -> None:
        self.counters["checks.attempts"] = self.attempts
        self.counters["checks.failed_attempts"] = self.failed_attempts

    def status(self) -> dict[str, Any]:
        self.sync_counters()
        services: dict[tuple[str, str], dict[str, Any]] = {}
        for run in self.runs.values():
            k = run.spec.key
            vs = services.setdefault(
                (k.virtual_server, k.protocol),
                {
                    "virtual_server": k.virtual_server,
                    "protocol": k.protocol,
                    "ha_suspend": run.spec.ha_suspend,
                    "real_servers": {},
                },
            )
            rs = vs["real_servers"].setdefault(
                k.real_server, {"real_server": k.real_server, "alive": True, "checkers": []}
            )
            snap = run.fsm.snapshot()
            snap.update(
                checker=k.checker,
                kind=run.spec.kind,
                target=run.spec.target.describe(),
                in_flight=run.probe is not None,
            )
            rs["checkers"].append(snap)
            rs["alive"] = rs["alive"] and bool(snap["up"])
        out = []
        for vs in services.values():
            vs["real_servers"] = list(vs["real_servers"].values())
            out.append(vs)
        return {
            "checks": len(self.runs),
            "in_flight": sum(1 for r in self.runs.values() if r.probe is not None),
            "fd_limit": self.fd_limit,
            "loop_lag_last": round(self.loop_lag_last, 4),
            "loop_lag_max": round(self.loop_lag_max, 4),
            "skipped": list(self.skipped),
            "ha_addresses": dict(self.ha_addresses),
            "virtual_servers": out,
            "script_runs": self.scripts.status(),
        }
