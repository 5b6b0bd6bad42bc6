"""Diagnostics of a configuration load, and the exit code keepalived's ``-t`` would give.

A :class:`Diagnostic` is one message with its file and line. Its ``code`` says what kind
of problem it is; the code decides whether keepalived itself would have reported it
(and so whether it changes the ``-t`` exit code) or whether it is pykeepalived's own
advice (lint, unimplemented feature), which never changes the exit code, so one file
gets the same verdict from both daemons.

Exit codes, measured with Debian 12's keepalived 2.2.7 ``-t`` (they differ from its man
page): 0 clean, 5 any configuration message, 6 scripts would run as root without
``enable_script_security`` or a required include matched nothing (6 wins over 5). A
missing main file, or a plain ``include`` of a missing file, exits 0 there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from pykeepalived.conf.model import Config

Severity = Literal["error", "warning"]

EXIT_OK = 0
EXIT_CONFIG = 5
EXIT_SCRIPT_SECURITY = 6

#: codes that keepalived would not print: advice only, never part of the exit code
ADVISORY_CODES = frozenset(
    {"lint", "unimplemented", "info", "script-location", "extra-parameter", "obsolete", "newer"}
)

#: reported by keepalived too, but its -t still exits 0 for them (measured): a missing
#: main file ("Config files missing"), and scripts disabled for unsafe permissions
#: (logged by the daemon at start, not by -t)
NO_EXIT_CODES = ADVISORY_CODES | {"file-missing", "script-unsafe"}

#: codes for which keepalived 2.2.7's -t exits 6 (measured): the script security
#: violation, and a required include (includem/includew/includea) that matches nothing
EXIT_6_CODES = frozenset({"script-security", "include-required"})

#: the code of keepalived's "SECURITY VIOLATION" finding (exit 6)
SECURITY_VIOLATION = "script-security"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One message: ``severity`` "error" or "warning", where it is, what, and its kind.

    Codes used: ``unknown-keyword``, ``brace``, ``quote``, ``missing-parameter``,
    ``block-parameters``, ``extra-parameter`` (advisory: keepalived ignores extra words
    silently), ``invalid-number``, ``invalid-value``, ``invalid-address``,
    ``deprecated``, ``obsolete`` (advisory: a deprecated keyword keepalived
    accepts silently), ``duplicate``, ``reference`` (an undefined name), ``missing``
    (a required setting), ``interface``, ``include``, ``file``, ``semantic``,
    ``script-security``, ``script-unsafe``, ``file-missing``, ``script-location`` (advisory),
    ``lint`` (advisory), ``unimplemented`` (advisory), ``newer`` (advisory: a keyword
    keepalived 2.2.7 does not know), ``info`` (advisory), ``internal``
    (a bug in pykeepalived, reported instead of raised).
    """

    severity: Severity
    file: str
    line: int
    message: str
    code: str = "semantic"

    @property
    def advisory(self) -> bool:
        """True when keepalived itself would not report this (it does not change -t)."""
        return self.code in ADVISORY_CODES

    def format(self) -> str:
        """keepalived's layout: ``(file: Line N) message``; no location → the bare message."""
        if self.line and self.file:
            return f"({self.file}: Line {self.line}) {self.message}"
        if self.file:
            return f"({self.file}) {self.message}"
        return self.message

    def __str__(self) -> str:
        return self.format()


@dataclass(slots=True)
class LoadResult:
    """What :func:`pykeepalived.conf.load` returns.

    ``config`` is None only when nothing usable could be read (the file is missing or
    unreadable). Like keepalived, a file with reported problems still yields a
    configuration (the offending lines are skipped, bad values take their defaults);
    callers that want keepalived's ``reload_check_config`` behaviour test ``ok``.
    """

    config: Config | None
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error" and not d.advisory]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when a configuration was read and nothing but advice was reported."""
        if self.config is None:
            return False
        return not any(d.code not in ADVISORY_CODES for d in self.diagnostics)

    @property
    def exit_code(self) -> int:
        """The exit code of keepalived 2.2.7's ``-t`` on the same input."""
        if any(d.code in EXIT_6_CODES for d in self.diagnostics):
            return EXIT_SCRIPT_SECURITY
        if any(d.code not in NO_EXIT_CODES for d in self.diagnostics):
            return EXIT_CONFIG
        return EXIT_OK
