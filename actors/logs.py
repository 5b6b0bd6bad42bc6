"""Logging for every process: syslog by default, the console with ``-l``, detail with ``-D``.

Lines operators grep for keep keepalived's wording; each process tags its lines with its
actor name, like keepalived's ``Keepalived_vrrp[pid]`` ident.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pykeepalived.actors.base import Options

FACILITIES = {
    "daemon": logging.handlers.SysLogHandler.LOG_DAEMON,
    "user": logging.handlers.SysLogHandler.LOG_USER,
    **{f"local{i}": logging.handlers.SysLogHandler.LOG_LOCAL0 + i for i in range(8)},
    **{str(i): logging.handlers.SysLogHandler.LOG_LOCAL0 + i for i in range(8)},
}


def parse_facility(text: str) -> int:
    """keepalived's ``-S``: 0-7, local0-7, user or daemon."""
    try:
        return FACILITIES[text.lower()]
    except KeyError:
        raise ValueError(
            f"invalid log facility {text!r}: expected 0-7, local0-local7, user or daemon"
        ) from None


def setup_logging(name: str, options: Options) -> None:
    root = logging.getLogger("pykeepalived")
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(logging.DEBUG if options.log_detail else logging.INFO)
    root.propagate = False
    ident = (
        f"pykeepalived_{name}[{os.getpid()}]"
        if name != "parent"
        else f"pykeepalived[{os.getpid()}]"
    )
    use_syslog = not options.no_syslog and os.path.exists("/dev/log")
    # keepalived falls back to the console when it has nowhere else to log (-n without
    # syslog); a daemonised process has /dev/null there, which is harmless
    if options.log_console or (not use_syslog and not options.no_syslog):
        console = logging.StreamHandler(sys.stderr)
        console.setFormatter(
            logging.Formatter(f"%(asctime)s {ident}: %(message)s", "%a %b %d %H:%M:%S %Y")
        )
        root.addHandler(console)
    if use_syslog:
        try:
            syslog = logging.handlers.SysLogHandler(
                address="/dev/log", facility=parse_facility(options.log_facility)
            )
        except OSError:
            syslog = None
        if syslog is not None:
            syslog.setFormatter(logging.Formatter(f"{ident}: %(message)s"))
            root.addHandler(syslog)
    if not root.handlers:
        root.addHandler(logging.NullHandler())
