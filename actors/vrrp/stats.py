"""keepalived's per-instance VRRP statistics, derived from the actor's own counters (pure).

keepalived keeps fourteen counters per instance (its stats dump and JSON ``stats``; the
exporters read them by these names). The VRRP shell counts finer things
(``rx_drop.<reason>``, ``transitions.<state>``, ...); ``keepalived_stats`` sums them into
keepalived's fields. ``vip_text`` writes a virtual address the way keepalived's dumps do
(``10.1.0.1/24 dev eth0 scope global``: the prefix only when it is not a host prefix).
"""

from __future__ import annotations

from collections.abc import Mapping

#: keepalived's stats field → the actor counters that make it up
KEEPALIVED_STATS: dict[str, tuple[str, ...]] = {
    "advert_rcvd": ("adverts_rx",),
    "advert_sent": ("adverts_tx",),
    "become_master": ("transitions.MASTER",),
    "release_master": ("release_master",),
    "packet_len_err": ("rx_drop.truncated", "rx_drop.bad_length"),
    "advert_interval_err": ("rx_drop.interval_mismatch", "rx_drop.zero_interval"),
    "ip_ttl_err": ("rx_drop.bad_ttl",),
    "invalid_type_rcvd": ("rx_drop.bad_type",),
    "addr_list_err": ("rx_drop.no_addresses",),
    "invalid_authtype": ("rx_drop.bad_auth_type",),
    "authtype_mismatch": ("rx_drop.auth_type_mismatch",),
    "auth_failure": (
        "rx_drop.auth_failed",
        "rx_drop.ah_bad_icv",
        "rx_drop.ah_bad_spi",
        "rx_drop.ah_replay",
    ),
    "pri_zero_rcvd": ("priority_zero_rx",),
    "pri_zero_sent": ("priority_zero_tx",),
}


def keepalived_stats(counters: Mapping[str, int]) -> dict[str, int]:
    """keepalived's fourteen stats fields (all present, zero when nothing was counted)."""
    return {
        field: sum(int(counters.get(name, 0)) for name in names)
        for field, names in KEEPALIVED_STATS.items()
    }


def vip_text(address: str, dev: str, scope: str | None = None) -> str:
    """``ADDR[/PREFIX] dev DEV scope SCOPE`` as keepalived prints a virtual address."""
    ip, _, prefix = address.partition("/")
    host = "128" if ":" in ip else "32"
    shown = ip if prefix in ("", host) else f"{ip}/{prefix}"
    return f"{shown} dev {dev} scope {scope or 'global'}"
