"""Pure supervision policy: which children run, restart back-off, exit-code meanings.

keepalived's ``calc_restart_delay``: a child that ran for more than 60 s restarts at once
and resets the back-off; otherwise successive restarts wait 0, 1, 2, 4, 8, 16, 32, then 60 s
each time. Exit codes 1 (fatal), 2 (config) and 4 (missing permission) are permanent: the
daemon stops instead of looping.
"""

from __future__ import annotations

from dataclasses import dataclass

from pykeepalived.actors.base import PERMANENT_EXIT_CODES

RESET_AFTER = 60.0
MAX_DELAY = 60.0

#: start order; stops run in STOP_ORDER (vrrp first so it can still ask netlink to remove
#: VIPs and the notifier last so it can run notify_stop scripts)
START_ORDER = ("netlink", "notifier", "vrrp", "ipvs", "checker")
STOP_ORDER = ("vrrp", "checker", "ipvs", "netlink", "notifier")


@dataclass
class Backoff:
    """Restart back-off for one child."""

    restarts: int = 0

    def next_delay(self, uptime: float) -> float:
        """Seconds to wait before restarting a child that ran for ``uptime`` seconds."""
        if uptime > RESET_AFTER:
            self.restarts = 0
        delay = 0.0 if self.restarts == 0 else min(MAX_DELAY, float(2 ** (self.restarts - 1)))
        if self.restarts >= 7:
            delay = MAX_DELAY
        self.restarts += 1
        return delay


def is_permanent_failure(exitcode: int | None) -> bool:
    return exitcode is not None and exitcode in PERMANENT_EXIT_CODES


def children_for(
    *,
    has_vrrp: bool,
    has_checker: bool,
    vrrp_only: bool,
    check_only: bool,
) -> tuple[str, ...]:
    """The children to run, in start order (docs/ARCHITECTURE.md §1; -P and -C as keepalived)."""
    wanted: set[str] = set()
    if has_vrrp and not check_only:
        wanted |= {"vrrp", "netlink"}
    if has_checker and not vrrp_only:
        wanted |= {"checker", "ipvs"}
    if wanted:
        wanted.add("notifier")
    return tuple(name for name in START_ORDER if name in wanted)


@dataclass
class Liveness:
    """Watchdog bookkeeping for one child: when it last answered hello."""

    last_reply: float
    interval: float
    missed_limit: int = 3
    #: until its first answer a starting child may take this long (imports, a loaded
    #: machine, --mem-check's tracing): a slow start is not a hang
    startup_grace: float = 10.0
    answered: bool = False

    def silent_for(self, now: float) -> float:
        return now - self.last_reply

    def is_hung(self, now: float) -> bool:
        limit = self.missed_limit * self.interval
        if not self.answered:
            limit = max(limit, self.startup_grace)
        return self.silent_for(now) > limit
