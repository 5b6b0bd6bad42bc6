"""Preprocessing as keepalived's read_line does it: comments, quotes, braces, @id lines,
$definitions, ~SEQ/~LST generators, includes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pykeepalived.conf import load
from pykeepalived.conf.preprocess import LBRACE, OPEN, RBRACE, STMT, Stmt, preprocess_text


def words(text: str, **kw: object) -> list[list[str]]:
    stmts, _ = preprocess_text(text, **kw)  # type: ignore[arg-type]
    return [s.words if s.type in (STMT, OPEN) else [s.text] for s in stmts]


def diags(text: str, **kw: object) -> list[str]:
    _, d = preprocess_text(text, **kw)  # type: ignore[arg-type]
    return [x.message for x in d]


# ---------------------------------------------------------------- comments and quotes


def test_hash_and_bang_comment_anywhere() -> None:
    assert words("router_id a # comment\nrouter_id b ! other\n# whole\n! whole") == [
        ["router_id", "a"],
        ["router_id", "b"],
    ]


def test_double_quotes_protect_comment_chars_single_quotes_do_not() -> None:
    assert words('script "a # b ! c"') == [["script", "a # b ! c"]]
    assert words("script 'a # b'") == [["script", "'a"]]


def test_escaped_comment_chars_are_literal() -> None:
    assert words(r"notification_email_from a\#b\!c") == [["notification_email_from", "a#b!c"]]


def test_unterminated_quote_reported() -> None:
    assert "Unterminated quote" in diags('script "abc')


def test_quote_inside_word_ends_it() -> None:
    assert words('key ab"c d"') == [["key", "ab", "c d"]]


def test_only_c_white_space_splits_words() -> None:
    """Python's str.split() also splits at \\x1c-\\x1f; C's isspace() (keepalived) does not.
    A line of such characters alone is a word, not an empty line (fuzzing found the
    preprocessor indexing an empty word list there)."""
    assert words("router_id a\x1fb\n\x1f\n") == [["router_id", "a\x1fb"], ["\x1f"]]
    assert words("vrrp_instance X\x1e {\n}\n")[0] == ["vrrp_instance", "X\x1e"]


def test_crlf_and_blank_lines_keep_line_numbers() -> None:
    stmts, _ = preprocess_text("a 1\r\n\r\n\r\nb 2\r\n")
    assert [(s.words, s.line) for s in stmts] == [(["a", "1"], 1), (["b", "2"], 4)]


def test_trailing_backslash_stays_on_ordinary_line() -> None:
    assert words("foo bar \\") == [["foo", "bar\\"]]


def test_line_too_long_is_ignored() -> None:
    assert "Configuration line too long - ignoring" in diags("x " + "y" * 1100)


# ---------------------------------------------------------------- braces


def test_braces_anywhere_on_a_line() -> None:
    stmts, d = preprocess_text("vrrp_instance VI_1 { state MASTER }\nfoo\n{\nbar\n}")
    assert d == []
    assert [(s.type, s.words) for s in stmts] == [
        (OPEN, ["vrrp_instance", "VI_1"]),
        (STMT, ["state", "MASTER"]),
        (RBRACE, []),
        (OPEN, ["foo"]),
        (STMT, ["bar"]),
        (RBRACE, []),
    ]


def test_stray_open_brace_is_its_own_token() -> None:
    stmts, _ = preprocess_text("{\na\n}")
    assert [s.type for s in stmts] == [LBRACE, STMT, RBRACE]


def test_brace_in_double_quotes_is_text() -> None:
    assert words('regex "a{2}"') == [["regex", "a{2}"]]


def test_extra_closing_brace_dropped_and_reported() -> None:
    stmts, d = preprocess_text("a {\n}\n}\n")
    assert [s.type for s in stmts] == [OPEN, RBRACE]
    assert d[0].message == "Extra '}' found" and d[0].line == 3


def test_missing_closing_braces_added_and_reported() -> None:
    stmts, d = preprocess_text("a {\nb {\nc")
    assert [s.type for s in stmts] == [OPEN, OPEN, STMT, RBRACE, RBRACE]
    assert d[0].message == "There are 2 missing '}'s or extra '{'s"


# ---------------------------------------------------------------- conditional lines


@pytest.mark.parametrize(
    "cid,expected",
    [("main", [["router_id", "main_router"], ["peer", "b"]]),
     ("backup", [["router_id", "backup_router"], ["peer", "a"]]),
     ("other", [["peer", "a"], ["peer", "b"]])],
)  # fmt: skip
def test_conditional_lines(cid: str, expected: list[list[str]]) -> None:
    text = (
        "@main router_id main_router\n@backup\trouter_id backup_router\n@^main peer "
        "a\n@^backup peer b\n"
    )
    assert words(text, config_id=cid) == expected


def test_conditional_word_alone_is_dropped() -> None:
    assert words("@main\nx", config_id="main") == [["x"]]


# ---------------------------------------------------------------- definitions


def test_definition_and_both_reference_forms() -> None:
    text = "$PRIO=150\npriority $PRIO\nname x${PRIO}y\nkeep $PRIOx\n"
    assert words(text) == [["priority", "150"], ["name", "x150y"], ["keep", "$PRIOx"]]


def test_reference_followed_by_comma_or_paren() -> None:
    assert words("$A=1\nf $A,$A)") == [["f", "1,1)"]]


def test_undefined_names_are_left_alone() -> None:
    assert words('script "echo $HOME ${NOPE}"') == [["script", "echo $HOME ${NOPE}"]]


def test_substitution_is_recursive_and_late() -> None:
    text = "$BASE=10.2.${SUB}\n$SUB=0\na ${BASE}.100/32\n$SUB=10\na ${BASE}.100/32\n"
    assert words(text) == [["a", "10.2.0.100/32"], ["a", "10.2.10.100/32"]]


def test_definition_under_condition() -> None:
    text = "@main $P=240\n@backup $P=200\npriority $P\n"
    assert words(text, config_id="backup") == [["priority", "200"]]


def test_substituted_conditional_is_reevaluated() -> None:
    # keepalived 2.2.7 re-checks a line that starts with '@' after substitution
    text = "$IF_MAIN=@main\n$IF_MAIN priority 240\n"
    assert words(text, config_id="main") == [["priority", "240"]]
    assert words(text, config_id="other") == []


def test_hash_definition_comments_out_the_rest() -> None:
    assert words("$C=${_HASH}\nkeep this $C drop this") == [["keep", "this"]]
    assert words("x ${_BANG}y") == [["x"]]


def test_multiline_definition() -> None:
    text = (
        "$INST=\\\n"
        "vrrp_instance VI_${N} { \\\n"
        "  @high priority 130 \\\n"
        "  @low priority 120 \\\n"
        "  virtual_router_id ${N}\n"
        "}\n"
    )
    text = "$INST=\\\nvrrp_instance VI_${N} { \\\n  @high priority 130 \\\n  @low priority 120 \\\n"
    text += "  virtual_router_id ${N} \\\n}\n$N=1\n$INST\n$N=2\n$INST\n"
    out = words(text, config_id="low")
    assert out == [
        ["vrrp_instance", "VI_1"], ["priority", "120"], ["virtual_router_id", "1"], ["}"],
        ["vrrp_instance", "VI_2"], ["priority", "120"], ["virtual_router_id", "2"], ["}"],
    ]  # fmt: skip


def test_multiline_definitions_nest() -> None:
    text = (
        "$RS=\\\nreal_server 10.0.0.${R} 80 \\\nweight ${R}\n$VS=\\\n$R=1 \\\n$RS "
        "\\\n$R=2 \\\n$RS\n$VS\n"
    )
    assert words(text) == [["real_server", "10.0.0.1", "80"], ["weight", "1"],
                           ["real_server", "10.0.0.2", "80"], ["weight", "2"]]  # fmt: skip


def test_predefined_names(tmp_path: Path) -> None:
    assert words("id ${_INSTANCE}", config_id="lb7") == [["id", "lb7"]]
    assert words("e ${_ENV FOO}", env={"FOO": "bar"}) == [["e", "bar"]]
    assert words("e ${_ENV MISSING}x", env={}) == [["e", "x"]]
    assert words("r ${_RANDOM 5 5}") == [["r", "5"]]
    r = words("r ${_RANDOM 1 3}", seed=1)[0][1]
    assert r in {"1", "2", "3"}
    f = tmp_path / "k.conf"
    f.write_text("global_defs {\n router_id ${_PWD}\n}\n")
    res = load(f, config_id="x", check_scripts=False)
    assert res.config is not None and res.config.global_defs.router_id == str(tmp_path)


# ---------------------------------------------------------------- generators


def test_seq_forms() -> None:
    assert words("~SEQ(N, 0, 3) a 10.0.${N}.1") == [["a", f"10.0.{i}.1"] for i in range(4)]
    assert words("~SEQ(N, 3) x $N") == [["x", "1"], ["x", "2"], ["x", "3"]]
    assert words("~SEQ(N, 5, -2, 1) x $N") == [["x", "5"], ["x", "3"], ["x", "1"]]
    assert words("~SEQx(N, 0x90, 0x10, 0xc0) a fe80::${N}:1") == [
        ["a", f"fe80::{h}:1"] for h in ("90", "a0", "b0", "c0")
    ]


def test_seq_nesting_outer_varies_slowest() -> None:
    out = words("~SEQ(A,1,2) ~SEQ(B,1,2) p ${A}.${B}")
    assert out == [["p", "1.1"], ["p", "1.2"], ["p", "2.1"], ["p", "2.2"]]


def test_seq_bad_step_reported() -> None:
    assert any("does not lead" in m for m in diags("~SEQ(N, 1, 0, 5) x"))


def test_lst_single_and_multi_variable() -> None:
    assert words("~LST(IP, 1, 2) a ${IP}") == [["a", "1"], ["a", "2"]]
    assert words("~LST({IP, IP1}, {10,1},{20,4}) 192.168.${IP}.${IP1}") == [
        ["192.168.10.1"], ["192.168.20.4"]
    ]  # fmt: skip
    out = words("~LST({IP, IP1}, {10,1}) ~SEQ(IP2,168,2,170) 192.${IP2}.${IP}.${IP1}")
    assert out == [["192.168.10.1"], ["192.170.10.1"]]


# ---------------------------------------------------------------- include


def test_include_relative_to_including_file_with_globs(tmp_path: Path) -> None:
    sub = tmp_path / "conf.d"
    sub.mkdir()
    (sub / "a.conf").write_text("global_defs {\n router_id from_a\n}\ninclude more/*.inc\n")
    (sub / "more").mkdir()
    (sub / "more" / "x.inc").write_text("static_ipaddress {\n 192.0.2.1/24 dev lo\n}\n")
    (sub / "b.txt").write_text("nonsense\n")
    main = tmp_path / "keepalived.conf"
    main.write_text("include conf.d/{a,c}.conf\n")
    res = load(main, config_id="x", check_scripts=False)
    assert res.config is not None
    assert res.config.global_defs.router_id == "from_a"
    assert res.config.static_ipaddress[0].address == "192.0.2.1/24"
    assert str(sub / "more" / "x.inc") in res.config.files
    assert [d for d in res.diagnostics if not d.advisory] == []


def test_include_errors_by_variant(tmp_path: Path) -> None:
    main = tmp_path / "k.conf"
    main.write_text(
        "include nothere.conf\ninclude none*.conf\nincludem nothere.conf\nincludew none*.conf\n"
    )
    res = load(main, config_id="x", check_scripts=False)
    assert [(d.message, d.code) for d in res.diagnostics] == [
        ("Config files missing 'nothere.conf'.", "file-missing"),
        ("Config files missing 'nothere.conf'.", "include-required"),
        ("Config files missing 'none*.conf'.", "include-required"),
    ]
    assert res.exit_code == 6


def test_include_check_makes_plain_include_strict(tmp_path: Path) -> None:
    main = tmp_path / "k.conf"
    main.write_text("include a.conf\nglobal_defs {\n include_check match\n}\ninclude b.conf\n")
    res = load(main, config_id="x", check_scripts=False)
    assert [d.message for d in res.diagnostics] == [
        "Config files missing 'a.conf'.",
        "Config files missing 'b.conf'.",
    ]
    assert res.config is not None and res.config.global_defs.include_check == ("match",)


def test_executable_include_is_skipped(tmp_path: Path) -> None:
    inc = tmp_path / "x.conf"
    inc.write_text("global_defs {\n router_id exec\n}\n")
    os.chmod(inc, 0o755)
    main = tmp_path / "k.conf"
    main.write_text("include x.conf\n")
    res = load(main, config_id="x", check_scripts=False)
    assert res.config is not None and res.config.global_defs.router_id is None
    assert any("is executable" in d.message for d in res.diagnostics)


def test_include_cycle_is_bounded(tmp_path: Path) -> None:
    main = tmp_path / "k.conf"
    main.write_text("include k.conf\n")
    res = load(main, config_id="x", check_scripts=False)
    assert any("Include depth" in d.message for d in res.diagnostics)


def test_missing_main_file() -> None:
    res = load("/nonexistent/keepalived.conf", config_id="x")
    assert res.config is None
    assert res.diagnostics[0].message == "Config files missing '/nonexistent/keepalived.conf'."
    assert res.exit_code == 0  # as Debian's keepalived 2.2.7 -t


def test_statement_objects_carry_location() -> None:
    stmts, _ = preprocess_text("a\nb { c }", name="f.conf")
    assert all(isinstance(s, Stmt) and s.file == "f.conf" for s in stmts)
    assert [s.line for s in stmts] == [1, 2, 2, 2]
