"""The notifier actor's I/O shell: bus events in, scripts, FIFO lines and mails out.

Bus:

* subscribes to ``vrrp.`` (``vrrp.state``, ``vrrp.group``, ``vrrp.rx_lower_pri``,
  ``vrrp.priority``), ``check.`` (``check.result``) and ``lb.`` (``lb.quorum``;
  ``lb.realserver`` is not needed: a real server's state is the conjunction of its
  checkers' verdicts, as keepalived's ``rs->alive``); bodies are the catalogue's
  (``bus/messages.py``), checked by the runtime before they get here;
* publishes nothing and answers no command of its own.

Decisions are :class:`~.policy.NotifierCore`'s; this shell vets scripts at start and at
each reload (:func:`pykeepalived.actors.scripts.vet`: whom they run as, keepalived's
security rules), owns the FIFOs and runs what the core asks through :mod:`.driver` and
the daemon's one script runner (:mod:`pykeepalived.actors.scripts`). Nothing here waits on a script
or a mail server: scripts are watched by pidfd, mails are tasks with time limits.

At stop, queued scripts (``notify_stop`` arrives late) get a short grace, then everything
still running is killed, FIFO scripts are stopped and FIFOs this actor created removed.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from pykeepalived.actors import script_policy
from pykeepalived.actors import scripts as script_io
from pykeepalived.actors.base import Actor
from pykeepalived.actors.notifier import driver, policy
from pykeepalived.actors.notifier.policy import Command, RunScript, SendMail, WriteFifo
from pykeepalived.bus import messages as M
from pykeepalived.bus.envelope import Envelope
from pykeepalived.conf import model as m

#: seconds granted at stop to scripts already queued (keepalived: one second for stop scripts)
STOP_GRACE = 1.5

_FIFO_ROLES = (
    ("notify", "notify_fifo", "notify_fifo_script"),
    ("vrrp", "vrrp_notify_fifo", "vrrp_notify_fifo_script"),
    ("lvs", "lvs_notify_fifo", "lvs_notify_fifo_script"),
)


class NotifierActor(Actor):
    name = "notifier"
    subscriptions = ("vrrp.", "check.", "lb.")

    #: default timeout of scripts whose keyword has none (see policy.DEFAULT_SCRIPT_TIMEOUT)
    script_timeout: float = policy.DEFAULT_SCRIPT_TIMEOUT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.core: policy.NotifierCore | None = None
        self.vetted: dict[policy.Script, script_io.Vetted] = {}
        self.scripts = script_io.ScriptRunner(self.loop, self.log, self.counters)
        self.runner = driver.ScriptQueues(self.scripts, self._vetted)
        self.fifos = driver.FifoSet(self.log, self.counters, self.scripts)
        self.mailer = driver.Mailer(self.loop, self.log, self.counters)
        self._fifo_spec: dict[str, tuple[Any, ...]] = {}
        self._umask_before: int | None = None

    # ---- lifecycle -------------------------------------------------------------------
    async def setup(self) -> None:
        self._set_umask(self.config)
        settings = self._settings(self.config)
        self._vet_all(self.config, settings)
        self.mailer.settings = self._mail_settings(self.config)
        self._open_fifos(self.config)
        self.core = policy.NotifierCore(settings)
        self._execute(self.core.startup())
        self.log.info(
            "notifier started: %d scripts (%d refused), FIFOs %s, SMTP %s",
            len(self.vetted),
            sum(1 for v in self.vetted.values() if v.refused),
            sorted(self.fifos.roles) or "none",
            self.mailer.settings.label if self.mailer.settings else "off",
        )

    async def apply_config(self, new: m.Config) -> None:
        self._set_umask(new)
        settings = self._settings(new)
        self._vet_all(new, settings)
        self.mailer.settings = self._mail_settings(new)
        self._open_fifos(new)
        assert self.core is not None
        self._execute(self.core.reconfigure(settings))
        self.count("reloads")

    async def shutdown(self) -> None:
        if not await self.runner.drain(STOP_GRACE):
            self.log.warning("stopping: killing %d notify scripts still running",
                             len(self.runner.running))  # fmt: skip
        self.fifos.close()
        await self.runner.stop(STOP_GRACE)
        await self.mailer.drain(STOP_GRACE)
        self.mailer.cancel_all()
        if self._umask_before is not None:
            os.umask(self._umask_before)

    # ---- events ----------------------------------------------------------------------
    async def on_event(self, env: Envelope, msg: M.Event) -> None:
        core = self.core
        if core is None:
            return
        if isinstance(msg, M.VrrpState):
            commands = core.on_vrrp_state(msg)
        elif isinstance(msg, M.VrrpGroup):
            commands = core.on_vrrp_group(msg)
        elif isinstance(msg, M.VrrpRxLowerPri):
            commands = core.on_rx_lower_pri(msg)
        elif isinstance(msg, M.VrrpPriority):
            commands = core.on_vrrp_priority(msg)
        elif isinstance(msg, M.CheckResult):
            commands = core.on_check_result(msg)
        elif isinstance(msg, M.LbQuorum):
            commands = core.on_quorum(msg)
        else:
            return
        self._execute(commands)

    def _execute(self, commands: list[Command]) -> None:
        for cmd in commands:
            if isinstance(cmd, RunScript):
                self.runner.submit(cmd)
            elif isinstance(cmd, WriteFifo):
                self.fifos.write(cmd.line, cmd.family)
            elif isinstance(cmd, SendMail):
                self.mailer.send(cmd.subject, cmd.body)

    def status(self) -> dict[str, Any]:
        return {
            "core": self.core.status() if self.core is not None else {},
            "scripts_running": {q: r.job.argv[0] for q, r in self.runner.running.items()},
            "scripts_queued": self.runner.pending,
            "scripts_refused": sorted(
                f"{s.argv[0]}: {v.refused}" for s, v in self.vetted.items() if v.refused
            ),
            "script_runs": self.scripts.status(),
            "fifos": self.fifos.status(),
            "smtp_server": self.mailer.settings.label if self.mailer.settings else None,
            "mails_in_flight": len(self.mailer.in_flight),
        }

    # ---- configuration ---------------------------------------------------------------
    def _set_umask(self, config: m.Config) -> None:
        um = config.global_defs.umask
        mask = driver.DEFAULT_UMASK if um is None else um & 0o777
        self.scripts.umask = self.fifos.umask = mask
        # this process's files (FIFOs) and every script inherit it, as in keepalived
        before = os.umask(mask)
        if self._umask_before is None:
            self._umask_before = before

    def _settings(self, config: m.Config) -> policy.Settings:
        return policy.settings_from_config(config, socket.gethostname(), self.script_timeout)

    def _vetted(self, script: policy.Script) -> script_io.Vetted:
        v = self.vetted.get(script)
        if v is None:  # not seen at configuration time (should not happen): vet now
            v = self._vet(script, self.config)
            self.vetted[script] = v
        return v

    def _vet(self, script: policy.Script, config: m.Config) -> script_io.Vetted:
        defaults = script_io.Defaults.of(config.global_defs)
        return script_io.vet(script.argv, script.user, script.group, defaults)

    def _vet_all(self, config: m.Config, settings: policy.Settings) -> None:
        scripts = policy.all_scripts(settings)
        gd = config.global_defs
        for sc in (gd.notify_fifo_script, gd.vrrp_notify_fifo_script, gd.lvs_notify_fifo_script):
            s = policy.script_of(sc)
            if s is not None:
                scripts.append(s)
        vetted: dict[policy.Script, script_io.Vetted] = {}
        for s in scripts:
            if s in vetted:
                continue
            v = self._vet(s, config)
            vetted[s] = v
            for msg in v.messages:
                self.log.warning("%s", msg)
            if v.refused:
                self.count("scripts.refused_at_config")
        root = any(v.as_root for v in vetted.values())
        insecure = any(v.insecure for v in vetted.values())
        line = script_policy.security_violation(root, insecure, gd.enable_script_security)
        if line:
            self.log.warning("%s", line)
        self.vetted = vetted

    def _mail_settings(self, config: m.Config) -> driver.MailSettings | None:
        gd = config.global_defs
        if not gd.smtp_server or not gd.notification_email:
            return None
        try:
            host = driver.resolve_smtp_server(gd.smtp_server)
        except OSError as exc:
            self.count("smtp.config_errors")
            self.log.error("smtp_server %s cannot be resolved: %s", gd.smtp_server, exc)
            return None
        local = socket.gethostname()
        return driver.MailSettings(
            host=host,
            port=gd.smtp_port,
            helo_name=gd.smtp_helo_name or local,
            mail_from=gd.notification_email_from or driver.default_mail_from(local),
            recipients=tuple(gd.notification_email),
            timeout=max(gd.smtp_connect_timeout, 1.0),
        )

    def _open_fifos(self, config: m.Config) -> None:
        gd = config.global_defs
        wanted: dict[str, tuple[Any, ...]] = {}
        for role, fifo_kw, script_kw in _FIFO_ROLES:
            fifo: m.NotifyFifo | None = getattr(gd, fifo_kw)
            # as keepalived: -P has no checker process to open the lvs FIFO, -C no vrrp one
            skip = (role == "lvs" and self.options.vrrp_only) or (
                role == "vrrp" and self.options.check_only
            )
            if fifo is None or skip:
                continue
            wanted[role] = (
                fifo.path,
                fifo.user,
                fifo.group,
                policy.script_of(getattr(gd, script_kw)),
            )
        if wanted == self._fifo_spec:
            return
        changed = {spec[0] for role, spec in self._fifo_spec.items() if wanted.get(role) != spec}
        changed |= {spec[0] for role, spec in wanted.items() if self._fifo_spec.get(role) != spec}
        self.fifos.close(changed & set(self.fifos.fifos))
        for role, (path, user, group, script) in wanted.items():
            if role in self.fifos.roles:
                continue
            vetted = self.vetted.get(script) if script is not None else None
            self.fifos.open(role, path, user, group, vetted)
        self._fifo_spec = wanted
