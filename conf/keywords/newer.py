"""Keywords pykeepalived reads that Debian's keepalived 2.2.7 does not know.

pykeepalived follows the 2.4 keyword catalogue; keepalived 2.2.7 ``-t`` reports these as
``Unknown keyword`` (and exits 5). pykeepalived keeps reading them, and says at each use,
as advice (never part of the exit code), that 2.2.7 would refuse the line, so a config
checked here for an older fleet shows every line 2.2.7 flags.

Measured with Debian 12's keepalived 2.2.7 -t (each registered keyword put in its block);
``tests/integration/conf/test_newer_keywords_vs_keepalived.py`` keeps the table true.
The ``pykeepalived`` block is pykeepalived's own and not listed.
"""

from __future__ import annotations

#: block name (as :class:`~pykeepalived.conf.registry.BlockDef` names it) → keywords
NEWER_THAN_2_2_7: dict[str, frozenset[str]] = {
    "global_defs": frozenset(
        {
            "dbus_no_interface_name",
            "iproute_etc_dir",
            "iproute_usr_dir",
            "json_dump_file",
            "json_version",
            "set_supplementary_groups",
            "snmp_rs_stats_update_interval",
            "snmp_vs_stats_update_interval",
            "state_dump_file",
            "stats_dump_file",
            "use_symlink_paths",
            "v3_checksum_as_v2",
            "vrrp_delay_after_boot",
            "vrrp_ipsets",
            "vrrp_owner_ignore_adverts",
        }
    ),
    "vrrp_instance": frozenset(
        {
            "auth_hmac",
            "no_virtual_ipaddress",
            "owner_ignore_adverts",
            "thread_timer_expired",
            "timer_expired_backup",
            "v3_checksum_as_v2",
        }
    ),
    "bfd_instance": frozenset({"multihop"}),
    "HTTP_GET": frozenset({"sni_name"}),
    "SSL_GET": frozenset({"sni_name", "tls_compliant"}),
    "url": frozenset({"tls_compliant"}),
}


def newer_message(keyword: str) -> str:
    """The advice printed where such a keyword is used."""
    return (
        f"Unknown keyword '{keyword}' to keepalived 2.2.7 (a later keyword); pykeepalived reads it"
    )
