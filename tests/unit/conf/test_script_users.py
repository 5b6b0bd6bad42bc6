"""A script's ``user`` that does not exist: keepalived 2.2.7 drops the script at parse time.

Measured with ``keepalived -t``: a vrrp_script logs "Unable to set uid/gid for script
'<cmd>'" at its ``user`` line and is removed, so an instance tracking it logs "track
script ... not found, ignoring..." and does not track it; a MISC_CHECK logs "Failed to set
uid/gid for misc checker script '<cmd>' ... - removing" and the checker is gone.
"""

from __future__ import annotations

from pykeepalived.conf import LoadResult, load_text
from tests.unit.conf.helpers import IFACES, messages, parse

NO_USER = "no-such-user-pk-h2"

VRRP = f"""
vrrp_script chk {{
    script "/bin/true"
    user {NO_USER}
}}
vrrp_script good {{
    script "/bin/true"
    user nobody
}}
vrrp_instance VI_1 {{
    interface eth0
    virtual_router_id 5
    virtual_ipaddress {{
        10.0.0.1
    }}
    track_script {{
        chk
        good
    }}
}}
"""

MISC = f"""
virtual_server 10.0.0.1 80 {{
    protocol TCP
    real_server 10.0.0.2 80 {{
        MISC_CHECK {{
            misc_path "/bin/true arg"
            user {NO_USER}
        }}
        MISC_CHECK {{
            misc_path "/bin/false"
            user nobody
        }}
    }}
}}
"""


def test_vrrp_script_with_an_unknown_user_is_removed_and_not_tracked() -> None:
    r = parse(VRRP)
    msgs = messages(r)
    assert "Unable to set uid/gid for script '/bin/true'" in msgs
    assert "(VI_1) track script chk not found, ignoring..." in msgs
    bad = next(d for d in r.diagnostics if d.message.startswith("Unable to set uid/gid"))
    assert bad.line == 4 and bad.severity == "error"  # the user line, as keepalived
    assert r.config is not None
    assert [s.name for s in r.config.vrrp_scripts] == ["good"]
    assert [t.name for t in r.config.vrrp_instances[0].track_script] == ["good"]
    assert r.config.vrrp_scripts[0].script.user == "nobody"


def test_misc_check_with_an_unknown_user_is_removed() -> None:
    r = parse(MISC)
    assert "Failed to set uid/gid for misc checker script '/bin/true' 'arg' - removing" in messages(
        r
    )
    assert r.config is not None
    checkers = r.config.virtual_servers[0].real_servers[0].checkers
    assert [c.misc_path.argv for c in checkers] == [("/bin/false",)]  # type: ignore[attr-defined]
    assert checkers[0].misc_path.user == "nobody"  # type: ignore[attr-defined]


def _checked(text: str) -> LoadResult:
    return load_text(text, interfaces=IFACES, check_scripts=True)


def test_a_notify_script_with_an_unknown_user_is_dropped_without_failing_minus_t() -> None:
    r = _checked(
        "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 5\n"
        f' virtual_ipaddress {{\n  10.0.0.1\n }}\n notify_master "/bin/true" {NO_USER}\n}}\n'
    )
    assert "Invalid user/group for notify script /bin/true - ignoring" in messages(r)
    assert r.exit_code == 0  # keepalived -t: rc 0, the script dropped
    assert r.config is not None and r.config.vrrp_instances[0].notify_master is None


def test_a_startup_script_with_an_unknown_user_is_a_config_error() -> None:
    r = _checked(f'global_defs {{\n startup_script "/bin/true" {NO_USER}\n}}\n')
    assert "Invalid startup script" in messages(r)
    assert r.exit_code == 5
    assert r.config is not None and r.config.global_defs.startup_script is None
