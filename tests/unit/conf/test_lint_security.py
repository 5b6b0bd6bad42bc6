"""Lint advice, script security (keepalived's rules and wording), dumps and the -t entry."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from pykeepalived.conf import load
from pykeepalived.conf.cli import config_test, dump_config
from pykeepalived.conf.dump import dump_json, dump_text
from pykeepalived.conf.security import insecure
from tests.unit.conf.helpers import clean, parse

IS_ROOT = os.geteuid() == 0


def inst(body: str, name: str = "VI_1", vrid: int = 5, iface: str = "eth0") -> str:
    return (
        f"vrrp_instance {name} {{\n interface {iface}\n virtual_router_id {vrid}\n{body}\n"
        " virtual_ipaddress {\n 10.0.0.1\n }\n}\n"
    )


def lints(text: str) -> list[str]:
    r = parse(text)
    return [d.message for d in r.diagnostics if d.code == "lint"]


# ---------------------------------------------------------------- lint


def test_weights_too_small_to_move_mastership() -> None:
    text = inst(" state MASTER\n priority 150\n track_interface {\n eth1 weight -20\n }")
    (msg,) = lints(text)
    assert "tracking can lower priority 150 by at most 20" in msg
    assert (
        lints(inst(" state MASTER\n priority 150\n track_interface {\n eth1 weight -60\n }")) == []
    )
    assert lints(inst(" state MASTER\n priority 150\n track_interface {\n eth1\n }")) == []


def test_backup_weights_too_small() -> None:
    (msg,) = lints(inst(" priority 50\n track_interface {\n eth1 weight 10\n }"))
    assert "tracking can raise priority 50 by at most 10" in msg


def test_owner_weights_ignored() -> None:
    (msg,) = lints(inst(" priority 255\n track_interface {\n eth1 weight -10\n }"))
    assert msg == "(VI_1) track_interface weights are ignored for an address owner (priority 255)"


def test_script_weight_zero_means_fault() -> None:
    text = 'vrrp_script s {\n script "/bin/true"\n}\n' + inst(" track_script {\n s\n }")
    (msg,) = lints(text)
    assert "puts the instance in FAULT" in msg


def test_strict_without_accept() -> None:
    (msg,) = lints("global_defs {\n vrrp_strict\n}\n" + inst(""))
    assert "strict mode without 'accept'" in msg
    # pykeepalived has no firewall: the lint must not claim the VIPs are dropped here
    assert "pykeepalived installs no firewall rules, so here they do" in msg
    assert lints("global_defs {\n vrrp_strict\n}\n" + inst(" version 3\n accept")) == []


def test_nopreempt_with_master() -> None:
    r = parse(inst(" state MASTER\n nopreempt"))
    assert "(VI_1) nopreempt needs state BACKUP on every node" in [d.message for d in r.diagnostics]


def test_unicast_without_peers() -> None:
    assert any("without unicast_peer" in m for m in lints(inst(" unicast_src_ip 10.0.0.3")))


def test_same_vrid_on_interface_with_unicast() -> None:
    peers = " unicast_peer {\n 10.0.0.9\n }"
    text = inst(peers) + inst(peers, name="VI_2").replace("10.0.0.1\n", "10.0.0.2\n")
    assert any("VRID 5 is also used by VI_1" in m for m in lints(text))


def test_v2_fractional_advert() -> None:
    r = parse(inst(" advert_int 0.3"))
    assert any(d.code == "lint" and "sub-second" in d.message for d in r.diagnostics)


def test_lint_never_changes_exit_code() -> None:
    r = parse("global_defs {\n vrrp_strict\n}\n" + inst(""))
    assert r.exit_code == 0 and r.ok


# ---------------------------------------------------------------- security


def _script(tmp: Path, name: str, mode: int) -> Path:
    p = tmp / name
    p.write_text("#!/bin/sh\nexit 0\n")
    os.chmod(p, mode)
    return p


def _load(tmp: Path, text: str):  # type: ignore[no-untyped-def]
    f = tmp / "k.conf"
    f.write_text(text)
    return load(f, config_id="x", interfaces={"lo", "eth0"})


def test_security_violation_without_script_security(tmp_path: Path) -> None:
    r = _load(tmp_path, "global_defs {\n script_user root\n}\n" + inst(" notify_master /bin/true"))
    assert r.exit_code == 6
    assert r.diagnostics[-1].message == (
        "SECURITY VIOLATION - scripts are being executed but script_security not enabled."
    )


def test_checker_scripts_have_their_own_violation(tmp_path: Path) -> None:
    text = (
        "global_defs {\n script_user root\n}\n"
        "virtual_server 10.0.0.1 80 {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n"
        " real_server 10.0.0.2 80 {\n MISC_CHECK {\n misc_path /bin/true\n }\n }\n}\n"
    )
    r = _load(tmp_path, text)
    assert [d.message for d in r.diagnostics if d.code == "script-security"] == [
        "SECURITY VIOLATION - check scripts are being executed but script_security not enabled."
    ]


def test_missing_interface_skips_vrrp_script_checks(tmp_path: Path) -> None:
    text = "global_defs {\n script_user root\n}\n" + inst(" notify_master /bin/true", iface="eth9")
    r = _load(tmp_path, text)
    assert r.exit_code == 5


def test_inaccessible_script_is_only_advice(tmp_path: Path) -> None:
    r = _load(
        tmp_path,
        "global_defs {\n script_user root\n}\n" + inst(' notify_master "/nonexistent/x a"'),
    )
    assert r.exit_code == 0
    assert [d.code for d in r.diagnostics] == ["script-location"]


def test_non_root_script_user_is_not_a_violation(tmp_path: Path) -> None:
    r = _load(
        tmp_path, "global_defs {\n script_user nobody\n}\n" + inst(" notify_master /bin/true")
    )
    assert r.exit_code == 0


@pytest.mark.skipif(not IS_ROOT, reason="ownership checks need files owned by root (run as root)")
def test_unsafe_script_disabled_with_keepalived_wording(tmp_path: Path) -> None:
    os.chmod(tmp_path, 0o755)
    bad = _script(tmp_path, "bad.sh", 0o777)
    good = _script(tmp_path, "good.sh", 0o755)
    text = (
        "global_defs {\n enable_script_security\n script_user root\n}\n"
        f'vrrp_script chk {{\n script "{bad} arg"\n}}\n'
        + inst(f" notify_master {bad}\n notify_backup {good}\n track_script {{\n chk\n }}")
    )
    r = _load(tmp_path, text)
    msgs = [d.message for d in r.diagnostics]
    assert f"Unsafe permissions found for script '{bad}' - disabling." in msgs
    assert "Disabling track script chk due to insecure" in msgs
    assert r.exit_code == 0  # keepalived -t does not count it either
    assert r.config is not None
    i = r.config.vrrp_instances[0]
    assert i.notify_master is None and i.notify_backup is not None and i.track_script == ()
    assert r.config.vrrp_scripts == ()


def test_script_security_without_default_user(tmp_path: Path) -> None:
    r = _load(
        tmp_path, "global_defs {\n enable_script_security\n}\n" + inst(" notify_master /bin/true")
    )
    if os.path.exists("/etc/passwd") and "keepalived_script:" in Path("/etc/passwd").read_text():
        pytest.skip("a keepalived_script user exists here")
    assert "Unable to set default user keepalived_script for script" in [
        d.message for d in r.diagnostics
    ]
    assert r.exit_code == 5


@pytest.mark.skipif(not IS_ROOT, reason="ownership checks need files owned by root (run as root)")
def test_insecure_path_rules(tmp_path: Path) -> None:
    os.chmod(tmp_path, 0o755)
    assert not insecure("/bin/true")
    assert insecure(str(_script(tmp_path, "w.sh", 0o757)))
    sub = tmp_path / "open"
    sub.mkdir()
    os.chmod(sub, 0o777)
    assert insecure(str(_script(sub, "x.sh", 0o755)))
    os.chmod(sub, 0o777 | stat.S_ISVTX)
    assert not insecure(str(sub / "x.sh"))


# ---------------------------------------------------------------- dumps and -t


def test_dump_text_and_json() -> None:
    c = clean(inst(" priority 120\n notify_master \"/bin/echo 'a b'\""))
    text = dump_text(c)
    assert "vrrp_instances VI_1 {" in text and "priority 120" in text
    assert "notify_master /bin/echo 'a b'" in text
    data = json.loads(dump_json(c))
    assert data["vrrp_instances"][0]["priority"] == 120


def test_config_test_prints_like_keepalived(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "k.conf"
    f.write_text("global_defs {\n router_idd x\n}\n")
    out = tmp_path / "out.txt"
    assert config_test(f, "x", out) == 5
    assert (
        out.read_text()
        == f"({f}: Line 2) Unknown keyword 'router_idd' (did you mean 'router_id'?)\n"
    )
    assert config_test(f, "x") == 5
    assert "Unknown keyword 'router_idd'" in capsys.readouterr().err


def test_dump_config_entry(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "k.conf"
    f.write_text("global_defs {\n router_id lb9\n}\n")
    assert dump_config(f, "x") == 0
    assert "router_id lb9" in capsys.readouterr().out


def test_tracked_script_that_cannot_run_is_dropped(tmp_path: Path) -> None:
    text = 'vrrp_script s {\n script "/nonexistent/check"\n}\n' + inst(" track_script {\n s\n }")
    r = _load(tmp_path, text)
    assert "Disabling track script s since not found/accessible" in [
        d.message for d in r.diagnostics
    ]
    assert r.exit_code == 5
    assert r.config is not None and r.config.vrrp_scripts == ()
    assert r.config.vrrp_instances[0].track_script == ()
    # untracked, it is checked all the same once there is an instance (keepalived 2.2.7 -t,
    # measured: the same message, exit 5); with no instance nothing is checked
    r = _load(tmp_path, 'vrrp_script s {\n script "/nonexistent/check"\n}\n' + inst(""))
    assert r.exit_code == 5
    assert r.config is not None and r.config.vrrp_scripts == ()
    r = _load(tmp_path, 'vrrp_script s {\n script "/nonexistent/check"\n}\n')
    assert r.exit_code == 0
