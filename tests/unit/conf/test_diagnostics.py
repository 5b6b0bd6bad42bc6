"""Diagnostics: what is reported, where, with keepalived's wording, and the -t exit code."""

from __future__ import annotations

from pykeepalived.conf.diagnostics import Diagnostic, LoadResult
from tests.unit.conf.helpers import messages, parse, problems

INST = (
    "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 5\n{}\n "
    "virtual_ipaddress {{\n 10.0.0.1\n }}\n}}\n"
)


def one(text: str) -> Diagnostic:
    r = parse(text)
    reported = [d for d in r.diagnostics if not d.advisory]
    assert len(reported) == 1, [d.format() for d in r.diagnostics]
    return reported[0]


def test_unknown_keyword_with_did_you_mean_and_location() -> None:
    d = one("global_defs {\n  router_idd x\n}\n")
    assert d.message == "Unknown keyword 'router_idd' (did you mean 'router_id'?)"
    assert (d.line, d.code, d.severity) == (2, "unknown-keyword", "error")
    assert d.format() == "(<string>: Line 2) " + d.message


def test_unknown_keyword_valid_elsewhere_says_so() -> None:
    d = one(INST.format(" lvs_sched rr"))
    assert "not valid in vrrp_instance" in d.message


def test_unknown_block_is_read_in_place_as_keepalived_does() -> None:
    """keepalived 2.2.7 opens no block after an unknown keyword: the '{' is unexpected, the
    lines inside are read at the same level, and its '}' (at the top level) is unknown."""
    r = parse("bogus_block {\n a 1\n b 2\n}\nglobal_defs {\n router_id ok\n}\n")
    assert problems(r) == [
        "(<string>: Line 1) Unknown keyword 'bogus_block'",
        "(<string>: Line 1) Unexpected '{' - ignoring",
        "(<string>: Line 2) Unknown keyword 'a'",
        "(<string>: Line 3) Unknown keyword 'b'",
        "(<string>: Line 4) Unknown keyword '}'",
    ]
    assert r.config is not None and r.config.global_defs.router_id == "ok"


def test_brace_of_unknown_block_ends_the_enclosing_block() -> None:
    """Inside a block, the '}' of an unknown keyword's '{' ends the enclosing block: what
    follows is read one level up (keepalived 2.2.7, measured)."""
    r = parse("global_defs {\n foo {\n  bar\n }\n router_id y\n}\n")
    assert problems(r) == [
        "(<string>: Line 2) Unknown keyword 'foo'",
        "(<string>: Line 2) Unexpected '{' - ignoring",
        "(<string>: Line 3) Unknown keyword 'bar'",
        "(<string>: Line 5) Unknown keyword 'router_id' (not valid in the top level)",
        "(<string>: Line 6) Unknown keyword '}'",
    ]
    assert r.config is not None and r.config.global_defs.router_id is None


def test_template_braces_in_a_value() -> None:
    """An unrendered ``{{ var }}``: the first '}' ends global_defs, the second is unknown."""
    r = parse("global_defs {\n router_id {{ inventory_hostname }}\n enable_script_security\n}\n")
    assert problems(r) == [
        "(<string>: Line 2) routerid name missing - ignoring",
        "(<string>: Line 2) Unexpected '{' - ignoring",
        "(<string>: Line 2) Unexpected '{' - ignoring",
        "(<string>: Line 2) Unknown keyword 'inventory_hostname'",
        "(<string>: Line 2) Unknown keyword '}'",
        "(<string>: Line 3) Unknown keyword 'enable_script_security' (not valid in the top level)",
        "(<string>: Line 4) Unknown keyword '}'",
    ]
    assert r.config is not None and not r.config.global_defs.enable_script_security


def test_case_sensitive_keyword_suggests_case() -> None:
    d = one("global_defs {\n ROUTER_ID x\n}\n")
    assert "did you mean 'router_id'" in d.message


def test_missing_open_brace() -> None:
    d = one("global_defs {\n notification_email\n}\n")
    assert d.message == "Missing '{' at beginning of configuration block" and d.line == 2


def test_unexpected_brace_after_scalar_walks_body_in_place() -> None:
    r = parse("global_defs {\n router_id x {\n smtp_server 10.0.0.1\n }\n}\n")
    assert "Unexpected '{' - ignoring" in messages(r)
    assert r.config is not None and r.config.global_defs.smtp_server == "10.0.0.1"


def test_value_block_with_extra_parameters() -> None:
    r = parse(INST.format(" track_interface extra {\n eth1\n }"))
    assert "Block track_interface has extra parameters extra" in messages(r)


def test_invalid_number_and_range_wording() -> None:
    r = parse(INST.format(" priority abc"))
    assert "invalid number 'abc'" in messages(r)
    assert "(VI_1) Priority not valid! must be between 1 & 255. Using default 100" in messages(r)
    r = parse(INST.format(" priority 300"))
    assert "number '300' outside range [1, 255]" in messages(r)
    r = parse("global_defs {\n vrrp_garp_interval 0\n}\n")
    assert [m for m in messages(r) if "not implemented" not in m] == [
        "number '0' outside range [0.000001, 4294.967295]",
        "vrrp_garp_interval '0' is invalid",
    ]


def test_missing_parameter() -> None:
    d = one("global_defs {\n router_id\n}\n")
    assert d.code == "missing-parameter" and d.line == 2


def test_invalid_address() -> None:
    r = parse(INST.format(" unicast_src_ip 10.0.0.300"))
    assert any(d.code == "invalid-address" for d in r.diagnostics)


def test_invalid_boolean() -> None:
    r = parse(INST.format(" smtp_alert maybe"))
    # the reader's message, then keepalived 2.2.7's own for the keyword (keywords/followups.py)
    assert problems(r) == [
        "(<string>: Line 4) invalid boolean value 'maybe' for smtp_alert",
        "(<string>: Line 4) Invalid vrrp_instance smtp_alert parameter maybe",
    ]
    # keepalived 2.2.7 reads vrrp_strict as a bare flag: only advice, strict mode on
    r = parse("global_defs {\n vrrp_strict maybe\n}\n")
    assert r.exit_code == 0 and r.config is not None and r.config.global_defs.vrrp_strict


def test_deprecated_reported_or_advice_as_keepalived_2_2_7() -> None:
    r = parse(INST.format(" vmac_garp_intvl 10"))
    assert [d.code for d in r.diagnostics] == ["deprecated", "unimplemented"]
    assert r.exit_code == 5
    r = parse("global_defs {\n lvs_flush_onstop\n}\n")
    assert [d.code for d in r.diagnostics] == ["obsolete"]
    assert r.exit_code == 0


def test_unimplemented_feature_is_accepted_with_a_warning() -> None:
    r = parse("global_defs {\n enable_snmp_vrrp\n}\n")
    assert r.config is not None and r.config.global_defs.enable_snmp_vrrp
    (d,) = r.diagnostics
    assert d.code == "unimplemented" and "not implemented by pykeepalived" in d.message
    assert r.exit_code == 0


def test_extra_words_are_advice_only() -> None:
    r = parse(INST.format(" priority 100 200"))
    assert [d.code for d in r.diagnostics] == ["extra-parameter"]
    assert r.exit_code == 0


def test_exit_codes() -> None:
    assert LoadResult(None, []).exit_code == 0
    assert parse(INST.format("")).exit_code == 0
    assert parse(INST.format(" foo")).exit_code == 5
    sec = Diagnostic("error", "", 0, "SECURITY VIOLATION", "script-security")
    assert (
        LoadResult(None, [Diagnostic("error", "f", 1, "x", "unknown-keyword"), sec]).exit_code == 6
    )
    lint = Diagnostic("warning", "f", 1, "x", "lint")
    assert LoadResult(None, [lint]).exit_code == 0


def test_interface_checks_only_when_interfaces_are_known() -> None:
    text = INST.format("").replace("eth0", "eth9")
    r = parse(text)
    assert messages(r) == [
        "WARNING - interface eth9 for vrrp_instance VI_1 doesn't exist",
        "Non-existent interface specified in configuration",
    ]
    assert parse(text, interfaces=None).exit_code == 0


def test_loopback_interface_refused() -> None:
    r = parse(INST.format("").replace("eth0", "lo"))
    assert "(VI_1) cannot use a loopback interface (lo) for vrrp - ignoring" in messages(r)
    assert "(VI_1) Unknown interface!" in messages(r)
    assert r.config is not None and r.config.vrrp_instances == ()


def test_never_raises_on_deep_nesting() -> None:
    r = parse("{" * 3000 + "}" * 3000)
    assert r.diagnostics
