"""``-t`` names, with file and line, each keyword pykeepalived accepts without doing
what keepalived does (the audit's silently accepted class), and no longer warns about
the ones it does implement. Advice only: the exit code stays keepalived's."""

from __future__ import annotations

from pathlib import Path

import pytest

from pykeepalived.conf import cli

NOT_IMPL = "is accepted but not implemented by pykeepalived"

CONFIG = """\
global_defs {
 router_id r1
 vrrp_garp_interval 0.01
 vrrp_priority -5
 vrrp_rt_priority 10
 lvs_sync_daemon eth0 VI_1
}
vrrp_track_process tp {
 process sshd
}
garp_group {
 garp_interval 1
 interface eth0
}
vrrp_instance VI_1 {
 interface eth0
 virtual_router_id 51
 priority 100
 dont_track_primary
 auth_hmac {
  key 1 0123456789abcdef0123456789abcdef
  active_key 1
 }
 track_process {
  tp
 }
 virtual_ipaddress {
  192.0.2.1/32 use_vmac
 }
}
virtual_server 192.0.2.1 80 {
 lb_algo rr
 lb_kind NAT
 protocol TCP
 real_server 198.51.100.1 80 {
  uthreshold 100
  lthreshold 10
 }
}
"""


@pytest.fixture
def printed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, int, list[str]]:
    monkeypatch.setattr(cli, "current_interfaces", lambda: frozenset({"lo", "eth0"}))
    conf = tmp_path / "keepalived.conf"
    conf.write_text(CONFIG)
    out = tmp_path / "out.txt"
    code = cli.config_test(conf, "x", out)
    return conf, code, out.read_text().splitlines()


@pytest.mark.parametrize(
    ("line", "keyword", "reason"),
    [
        (8, "vrrp_track_process", "processes are not tracked"),
        (19, "dont_track_primary", "goes to FAULT when its own interface goes down"),
        (20, "auth_hmac", "adverts go out without HMAC"),
        (24, "track_process", "processes are not tracked"),
        (36, "uthreshold", "no connection limits"),
        (37, "lthreshold", "no connection limits"),
    ],
)
def test_config_test_names_the_keyword_where_it_is_used(
    printed: tuple[Path, int, list[str]], line: int, keyword: str, reason: str
) -> None:
    conf, _, lines = printed
    prefix = f"pykeepalived: ({conf}: Line {line}) '{keyword}' {NOT_IMPL} ("
    (hit,) = [text for text in lines if text.startswith(prefix)]
    assert reason in hit


def test_the_address_option_use_vmac_is_named_too(printed: tuple[Path, int, list[str]]) -> None:
    conf, _, lines = printed
    assert any(
        text.startswith(f"pykeepalived: ({conf}: Line 28) 'use_vmac' (address option) {NOT_IMPL}")
        for text in lines
    )


def test_implemented_keywords_are_not_called_unimplemented(
    printed: tuple[Path, int, list[str]],
) -> None:
    """vrrp_priority / vrrp_rt_priority are applied by the vrrp actor, lvs_sync_daemon by
    the ipvs actor: their former "not implemented" warnings were wrong. vrrp_garp_interval
    and garp_group pace the vrrp actor's GARP/NA frames."""
    _, code, lines = printed
    keywords = ("vrrp_priority", "vrrp_rt_priority", "lvs_sync_daemon", "vrrp_garp_interval",
                "garp_group")  # fmt: skip
    for keyword in keywords:
        assert not [text for text in lines if f"'{keyword}' {NOT_IMPL}" in text], keyword
    assert code == 0  # advice only: keepalived's verdict on the same file


def test_partly_implemented_keywords_say_which_part(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "current_interfaces", lambda: frozenset({"eth0"}))
    conf = tmp_path / "k.conf"
    conf.write_text("global_defs {\n vrrp_strict\n reload_check_config\n}\n")
    out = tmp_path / "out.txt"
    assert cli.config_test(conf, "x", out) == 0
    text = out.read_text()
    assert (
        f"pykeepalived: ({conf}: Line 2) 'vrrp_strict' is only partly implemented by "
        "pykeepalived (its derived settings apply, but unicast is not refused" in text
    )
    assert f"({conf}: Line 3) 'reload_check_config' is only partly implemented" in text
