"""Lint: pykeepalived's own advice on configurations keepalived accepts but that rarely do
what their authors meant (from the most common keepalived user reports). Lint findings
use the advisory code ``lint`` and never change the ``-t`` exit code.

Rules:
* tracking weights too small to move mastership (a MASTER at priority P whose largest
  possible decrease cannot bring it below the default backup priority 100, or a BACKUP
  whose increase cannot lift it above 100);
* a track_script whose script has weight 0 and no weight override: a failure puts the
  instance in FAULT rather than lowering its priority;
* ``vrrp_strict`` (or ``strict_mode``) without ``accept``: under keepalived the VIPs
  answer no traffic (pykeepalived installs no firewall, so they do here: said too);
* unicast instances without peers (keepalived falls back to multicast);
* the same VRID twice on one interface (also across unicast instances, which keepalived
  does not check).

Three more are raised while instances are completed (``keywords/vrrp.py``), because the
model no longer shows them: ``nopreempt`` with ``state MASTER`` (keepalived clears
nopreempt), a fractional VRRPv2 ``advert_int`` (keepalived rounds it), and tracking
weights that are silently ignored (members of a sync group without
``sync_group_tracking_weight``, address owners).
"""

from __future__ import annotations

from pykeepalived.conf.diagnostics import Diagnostic
from pykeepalived.conf.model import Config, VrrpInstance, VrrpState

DEFAULT_BACKUP_PRIORITY = 100


def _d(inst: VrrpInstance, msg: str) -> Diagnostic:
    return Diagnostic("warning", inst.file, inst.line, f"({inst.name}) {msg}", "lint")


def _weights(config: Config, inst: VrrpInstance) -> list[int]:
    """Effective tracking weights of an instance (None weight → the object's own)."""
    scripts = {s.name: s.weight for s in config.vrrp_scripts}
    files = {f.name: f.weight for f in config.track_files}
    procs = {p.name: p.weight for p in config.track_processes}
    bfds = {b.name: b.weight for b in config.bfd_instances}
    out: list[int] = []
    for ref in inst.track_interface:
        out.append(ref.weight or 0)
    for refs, table in (
        (inst.track_script, scripts),
        (inst.track_file, files),
        (inst.track_process, procs),
        (inst.track_bfd, bfds),
    ):
        for ref in refs:
            out.append(ref.weight if ref.weight is not None else table.get(ref.name, 0))
    return out


def lint(config: Config) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    scripts = {s.name: s for s in config.vrrp_scripts}
    vrids: dict[tuple[str, int], VrrpInstance] = {}
    for inst in config.vrrp_instances:
        weights = [w for w in _weights(config, inst) if w != 0]
        if weights and inst.priority != 255 and inst.sync_group is None:
            down = -sum(w for w in weights if w < 0)
            up = sum(w for w in weights if w > 0)
            master_stuck = (
                inst.state is VrrpState.MASTER
                and inst.priority > DEFAULT_BACKUP_PRIORITY
                and down
                and not up
                and inst.priority - down >= DEFAULT_BACKUP_PRIORITY
            )
            backup_stuck = (
                inst.state is VrrpState.BACKUP
                and inst.priority < DEFAULT_BACKUP_PRIORITY
                and up
                and not down
                and inst.priority + up <= DEFAULT_BACKUP_PRIORITY
            )
            if master_stuck:
                out.append(
                    _d(
                        inst,
                        f"tracking can lower priority {inst.priority} by at most {down}, "
                        f"not below a backup at {DEFAULT_BACKUP_PRIORITY}: failures will "
                        "not move mastership (use larger weights, or weight 0 for FAULT)",
                    )
                )
            elif backup_stuck:
                out.append(
                    _d(
                        inst,
                        f"tracking can raise priority {inst.priority} by at most {up}, "
                        f"not above a master at {DEFAULT_BACKUP_PRIORITY}: it will not "
                        "take over mastership",
                    )
                )
        for ref in inst.track_script:
            s = scripts.get(ref.name)
            if s is not None and ref.weight is None and s.weight == 0:
                out.append(
                    _d(
                        inst,
                        f"track_script {ref.name} has weight 0: a failure puts the instance "
                        "in FAULT rather than lowering its priority",
                    )
                )
        if inst.strict_mode and not inst.accept:
            out.append(
                _d(
                    inst,
                    "strict mode without 'accept': under keepalived the virtual addresses "
                    "answer no traffic (add 'accept' if they should); pykeepalived installs "
                    "no firewall rules, so here they do",
                )
            )
        if inst.unicast and not inst.unicast_peers and not inst.unicast_fault_no_peer:
            out.append(
                _d(
                    inst,
                    "unicast settings without unicast_peer: adverts go to multicast "
                    "(add unicast_peer, or unicast_fault_no_peer)",
                )
            )
        key = (inst.interface or inst.unicast_src_ip or "", inst.virtual_router_id)
        other = vrids.get(key)
        if other is not None and other.family is inst.family and (inst.unicast or other.unicast):
            out.append(
                _d(
                    inst,
                    f"VRID {inst.virtual_router_id} is also used by {other.name} on "
                    f"interface {key[0]}",
                )
            )
        vrids.setdefault(key, inst)
    return out
