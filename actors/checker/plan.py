"""From the configuration model to the set of checks to run, and reloads as a difference (pure).

:func:`plan` walks ``config.virtual_servers`` and yields one :class:`CheckSpec` per checker
per real server, named on the bus as ``check.result`` in docs/messages.md says:
``virtual_server``/``real_server`` in the bus spelling, ``checker`` the block keyword
(``TCP_CHECK``), with ``#2``, ``#3``... appended when one real server has several
checkers of the same kind.

:func:`diff` compares two plans by that identity. A check whose options are the same
(source file and line aside) is *kept* and its state survives the reload untouched;
one whose options changed is *changed* (the shell keeps its verdict and restarts its
cycle); the others are added or removed.

Not run here: ``BFD_CHECK`` (the BFD process is out of this actor's scope; reported in
``skipped``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from pykeepalived.actors.checker.fsm import Timing
from pykeepalived.conf import model as m


@dataclass(frozen=True, slots=True)
class Target:
    """Where a probe connects from and to (resolved from the checker's options)."""

    host: str
    port: int
    connect_timeout: float = 5.0
    bindto: str | None = None
    bind_port: int | None = None
    bind_if: str | None = None
    fwmark: int | None = None

    @property
    def is_v6(self) -> bool:
        return ":" in self.host

    def describe(self) -> str:
        host = f"[{self.host}]" if self.is_v6 else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True, slots=True, order=True)
class CheckKey:
    virtual_server: str
    protocol: str
    real_server: str
    checker: str


@dataclass(frozen=True, slots=True)
class CheckSpec:
    key: CheckKey
    kind: str
    timing: Timing
    target: Target
    checker: Any  # the model's checker dataclass (its file/line do not count in diff())
    rs_weight: int = 1
    ha_suspend: bool = False
    vs_address: str | None = None
    inhibit_on_failure: bool = False


@dataclass
class Plan:
    checks: dict[CheckKey, CheckSpec]
    skipped: list[str]


def _timing(chk: Any, log_all: bool) -> Timing:
    if isinstance(chk, m.FileCheck):
        return Timing(
            delay_loop=chk.delay_loop,
            retry=0,
            delay_before_retry=chk.delay_loop,
            warmup=0.0,
            alpha=chk.alpha,
            log_all_failures=log_all or chk.log_all_failures,
        )
    return Timing(
        delay_loop=chk.delay_loop,
        retry=max(0, chk.retry),
        delay_before_retry=chk.delay_before_retry,
        warmup=chk.warmup,
        alpha=chk.alpha,
        log_all_failures=log_all or chk.log_all_failures,
        retry_while_down=isinstance(chk, m.TcpCheck),
        from_start=isinstance(chk, m.MiscCheck),
    )


def plan(config: m.Config) -> Plan:
    checks: dict[CheckKey, CheckSpec] = {}
    skipped: list[str] = []
    log_all = config.global_defs.checker_log_all_failures
    for vs in config.virtual_servers:
        vs_key = vs.key
        proto = str(vs.protocol.value).lower()
        for rs in vs.real_servers:
            counts: dict[str, int] = {}
            for chk in rs.checkers:
                counts[chk.kind] = counts.get(chk.kind, 0) + 1
            seen: dict[str, int] = {}
            for chk in rs.checkers:
                seen[chk.kind] = seen.get(chk.kind, 0) + 1
                name = chk.kind if counts[chk.kind] == 1 else f"{chk.kind}#{seen[chk.kind]}"
                if isinstance(chk, m.BfdCheck):
                    skipped.append(f"{vs_key} {rs.key} {name}: BFD_CHECK is not supported")
                    continue
                port = chk.connect_port or rs.port or vs.port or 0
                target = Target(
                    host=chk.connect_ip or rs.address,
                    port=port,
                    connect_timeout=chk.connect_timeout,
                    bindto=chk.bindto,
                    bind_port=chk.bind_port,
                    bind_if=chk.bind_if,
                    fwmark=chk.fwmark,
                )
                key = CheckKey(vs_key, proto, rs.key, name)
                checks[key] = CheckSpec(
                    key=key,
                    kind=chk.kind,
                    timing=_timing(chk, log_all),
                    target=target,
                    checker=chk,
                    rs_weight=rs.weight,
                    ha_suspend=vs.ha_suspend,
                    vs_address=vs.address,
                    inhibit_on_failure=rs.inhibit_on_failure,
                )
    return Plan(checks, skipped)


@dataclass
class Diff:
    kept: list[CheckKey]
    changed: list[CheckKey]
    added: list[CheckKey]
    removed: list[CheckKey]


def _unplaced(checker: Any) -> Any:
    """The checker without its source position (a moved line is not a change)."""
    return dataclasses.replace(checker, file="", line=0)


def same_check(a: CheckSpec, b: CheckSpec) -> bool:
    if a == b:
        return True
    if dataclasses.replace(a, checker=None) != dataclasses.replace(b, checker=None):
        return False
    return bool(_unplaced(a.checker) == _unplaced(b.checker))


def diff(old: dict[CheckKey, CheckSpec], new: dict[CheckKey, CheckSpec]) -> Diff:
    kept, changed, added = [], [], []
    for key, spec in new.items():
        before = old.get(key)
        if before is None:
            added.append(key)
        elif same_check(before, spec):
            kept.append(key)
        else:
            changed.append(key)
    removed = [key for key in old if key not in new]
    return Diff(kept, changed, added, removed)
