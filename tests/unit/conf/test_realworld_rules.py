"""Rules found by running real-world configurations (tests/data/realworld/) through Debian's
keepalived 2.2.7 ``-t``: the message, its line, and what the model then holds."""

from __future__ import annotations

import pwd
from pathlib import Path

import pytest

from pykeepalived.conf import load
from tests.unit.conf.helpers import parse, problems

INST = (
    "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 5\n{}\n "
    "virtual_ipaddress {{\n 10.0.0.1\n }}\n}}\n"
)


def _has_keepalived_script_user() -> bool:
    try:
        pwd.getpwnam("keepalived_script")
    except KeyError:
        return False
    return True


def test_ideographic_space_is_part_of_the_word() -> None:
    """keepalived splits at C white space only: U+3000 glues keyword and value."""
    r = parse("global_defs {\n router_id\u3000web01\n}\n")
    assert problems(r)[0].startswith("(<string>: Line 2) Unknown keyword 'router_id\u3000web01'")
    assert r.config is not None and r.config.global_defs.router_id is None


def test_ideographic_space_after_a_number_makes_it_invalid() -> None:
    r = parse(INST.format(" priority 90\u3000"))
    assert problems(r) == [
        "(<string>: Line 4) invalid number '90\u3000'",
        "(<string>: Line 4) (VI_1) Priority not valid! must be between 1 & 255. Using default 100",
    ]


def test_trailing_semicolon_on_a_vip_prefix_keeps_the_address_at_full_length() -> None:
    r = parse(INST.format("").replace("10.0.0.1\n", "10.0.0.1/24;\n"))
    assert problems(r) == [
        "(<string>: Line 6) invalid number '24;'",
        "(<string>: Line 6) Invalid address prefix len 24; for address 10.0.0.1/24; - using 32",
    ]
    assert r.config is not None
    assert [a.address for a in r.config.vrrp_instances[0].virtual_ipaddress] == ["10.0.0.1/32"]


def test_vrid_and_advert_wording() -> None:
    r = parse(INST.format(" advert_int 300").replace("router_id 5", "router_id 33;"))
    assert "(<string>: Line 3) (VI_1): VRID '33;' not valid - must be between 1 & 255" in (
        problems(r)
    )
    assert "(<string>: Line 4) number '300' outside range [0.010000, 255.000000]" in problems(r)
    assert "(<string>: Line 4) (VI_1) Advert interval (300) not valid! Must be > 0 - ignoring" in (
        problems(r)
    )


def test_script_interval_zero_and_weight_out_of_range() -> None:
    r = parse('vrrp_script s {\n script "/bin/true"\n interval 0\n weight -255\n}\n')
    assert problems(r) == [
        "(<string>: Line 3) (s): vrrp script interval must be greater than 0, setting to 1",
        "(<string>: Line 4) number '-255' outside range [-253, 253]",
        "(<string>: Line 4) vrrp_script s weight -255 must be in [-253, 253]",
    ]
    assert r.config is not None and r.config.vrrp_scripts[0].interval == 1.0


def test_track_script_weight_range_wording() -> None:
    r = parse(
        'vrrp_script s {\n script "/bin/true"\n}\n'
        + INST.format(" track_script {\n s weight 300\n }")
    )
    assert "(<string>: Line 8) (VI_1) track script s: weight must be between [-253..253] " in (
        "\n".join(problems(r))
    )


def test_empty_notification_email_block_is_reported_at_its_close() -> None:
    r = parse("global_defs {\n notification_email {\n }\n}\n")
    assert problems(r) == ["(<string>: Line 3) Warning - empty notification_email block"]
    assert r.exit_code == 5
    assert not problems(parse("global_defs {\n notification_email {\n a@b.c\n }\n}\n"))


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("smtp://mail.example.com", "smtp://mail.example.com 25"),
        ("10.0.0.300", "10.0.0.300 25"),
        ("a_b", "a_b 25"),
        ("10.0.0.1 70000", "10.0.0.1 70000"),
    ],
)
def test_invalid_smtp_server(value: str, shown: str) -> None:
    r = parse(f"global_defs {{\n smtp_server {value}\n}}\n")
    assert f"(<string>: Line 2) Invalid smtp server {shown}" in problems(r)
    assert r.config is not None and r.config.global_defs.smtp_server is None


def test_valid_smtp_server_address_and_port() -> None:
    r = parse("global_defs {\n smtp_server 10.0.0.1 2525\n}\n")
    assert not problems(r)
    assert r.config is not None
    assert (r.config.global_defs.smtp_server, r.config.global_defs.smtp_port) == ("10.0.0.1", 2525)


@pytest.mark.skipif(_has_keepalived_script_user(), reason="needs no keepalived_script account")
def test_script_without_default_user_is_removed_and_not_tracked() -> None:
    r = parse(
        "global_defs {\n enable_script_security\n}\n"
        'vrrp_script chk {\n script "/bin/true"\n}\n' + INST.format(" track_script {\n chk\n }")
    )
    assert problems(r) == [
        "(<string>: Line 6) Unable to set default user keepalived_script for script",
        "(<string>: Line 6) Unable to set default user for vrrp script chk - removing",
        "(<string>: Line 11) (VI_1) track script chk not found, ignoring...",
    ]
    assert r.config is not None
    assert r.config.vrrp_scripts == () and r.config.vrrp_instances[0].track_script == ()


def test_script_with_own_user_needs_no_default_user() -> None:
    r = parse(
        "global_defs {\n enable_script_security\n}\n"
        'vrrp_script chk {\n script "/bin/true"\n user root\n}\n'
    )
    assert not problems(r)
    assert r.config is not None and [s.name for s in r.config.vrrp_scripts] == ["chk"]


def test_untracked_script_is_checked_once_there_is_an_instance(tmp_path: Path) -> None:
    f = tmp_path / "k.conf"
    f.write_text('vrrp_script s {\n script "/usr/bin/true"\n}\n' + INST.format(""))
    r = load(f, config_id="x", interfaces={"lo", "eth0"})
    assert r.exit_code == 6  # SECURITY VIOLATION, tracked or not


def test_missing_tracked_interface_is_missing_not_own() -> None:
    r = parse(
        INST.format(" track_interface {\n eth9\n }").replace("interface eth0", "interface eth9")
    )
    assert "(<string>: Line 5) (VI_1) tracked interface eth9 doesn't exist" in problems(r)
    assert not any("since own interface" in p for p in problems(r))


def test_interfaces_of_an_instance_dropped_for_its_vrid_are_still_checked() -> None:
    r = parse(INST.format(" track_interface {\n ens192\n }").replace("router_id 5", "router_id 0"))
    assert "(<string>: Line 5) (VI_1) tracked interface ens192 doesn't exist" in problems(r)
    assert "Non-existent interface specified in configuration" in problems(r)


def test_auth_pass_without_type_is_advice_only() -> None:
    r = parse(INST.format(" authentication {\n auth_pass abc\n }"))
    assert r.exit_code == 0 and not problems(r)
    r = parse(INST.format(" authentication {\n auth_type PASS\n }"))
    assert problems(r) == [
        "(<string>: Line 1) (VI_1) Authentication specified but no password given. Ignoring"
    ]


def test_stray_top_level_close_brace_is_also_an_unknown_keyword() -> None:
    r = parse("global_defs {\n router_id a\n}\n}\n")
    assert problems(r) == [
        "(<string>: Line 4) Extra '}' found",
        "(<string>: Line 4) Unknown keyword '}'",
    ]


def test_keyword_newer_than_2_2_7_is_read_with_advice_in_2_2_7_words() -> None:
    r = parse(INST.format(" nopreempt\n timer_expired_backup"))
    assert r.exit_code == 0 and not problems(r)
    advice = [d for d in r.diagnostics if d.code == "newer"]
    assert [(d.line, d.advisory) for d in advice] == [(5, True)]
    assert advice[0].message.startswith("Unknown keyword 'timer_expired_backup'")
    assert not [d for d in parse(INST.format(" nopreempt")).diagnostics if d.code == "newer"]


def test_number_beyond_the_c_type_has_keepalived_wording() -> None:
    r = parse('vrrp_script s {\n script "/bin/true"\n rise 4294967296\n weight 2147483648\n}\n')
    assert problems(r)[:1] == [
        "(<string>: Line 3) number '4294967296' outside unsigned integer range"
    ]
    assert "(<string>: Line 4) number '2147483648' outside integer range" in problems(r)
    r = parse(INST.format(" priority -1"))
    assert problems(r)[0] == "(<string>: Line 4) negative number '-1'"


def test_skip_check_adv_addr_is_a_bare_flag_in_2_2_7() -> None:
    """A rendered Python boolean after it: 2.2.7 says nothing (the flag is on)."""
    r = parse("global_defs {\n vrrp_skip_check_adv_addr False\n}\n")
    assert r.exit_code == 0 and not problems(r)
    assert r.config is not None and r.config.global_defs.vrrp_skip_check_adv_addr
    r = parse("global_defs {\n vrrp_skip_check_adv_addr false\n}\n")
    assert r.config is not None and not r.config.global_defs.vrrp_skip_check_adv_addr


def test_follow_up_replaces_our_own_wording_of_it() -> None:
    vs = (
        "virtual_server 10.0.0.1 80 {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n"
        " real_server 10.0.0.2 80 {\n HTTP_GET {\n connect_timeout 3s\n }\n }\n}\n"
    )
    at_line_7 = [p for p in problems(parse(vs)) if p.startswith("(<string>: Line 7)")]
    assert at_line_7 == [
        "(<string>: Line 7) invalid number '3s'",
        "(<string>: Line 7) connect_timeout 3s invalid - ignoring",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "global_defs {\n smtp_server 0\n}\n",
        "global_defs {\n smtp_server 127.1\n}\n",
        "global_defs {\n vrrp_rx_bufs_policy 0\n}\n",
        "garp_group {\n garp_interval 0\n interface eth0\n}\n",
        INST.format(" kernel_rx_buf_size 0"),
    ],
)
def test_zero_and_short_forms_2_2_7_accepts(text: str) -> None:
    assert not problems(parse(text)), problems(parse(text))


def test_negative_decimal_for_an_unsigned_timer() -> None:
    r = parse('vrrp_script s {\n script "/bin/true"\n interval -5\n}\n')
    assert problems(r)[0] == "(<string>: Line 3) negative number '-5'"
