"""keepalived's own sample configurations: pykeepalived gives the same verdict as Debian's
``keepalived -t`` on the same file in the same network namespace, and points at every line
keepalived points at.

Two namespaces: one with only ``lo`` (so every interface named by a sample is missing) and
one with veth interfaces ``eth0``..``eth2`` (the names the samples use, except ``eth3``).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from pykeepalived.conf import load
from tests.integration.conf.conftest import Namespace
from tests.paths import sample_file, sample_names, sample_path

pytestmark = [pytest.mark.netns]


_LINE = re.compile(r"\((?P<file>[^:()]+): Line (?P<line>\d+)\)")


def _compare(ns: Namespace, sample: Path, config_id: str) -> None:
    rc, output = ns.keepalived_test(sample, "-i", config_id)
    result = load(sample, config_id=config_id, interfaces=ns.interfaces())
    ours = [d for d in result.diagnostics if not d.advisory]
    assert result.exit_code == rc, (
        f"keepalived -t exit {rc}, ours {result.exit_code}\n--- keepalived:\n{output}"
        f"--- ours:\n" + "\n".join(d.format() for d in result.diagnostics)
    )
    # at least as precise: every line keepalived points at, we point at too
    their_lines = {int(m["line"]) for m in _LINE.finditer(output) if m["file"] == str(sample)}
    our_lines = {d.line for d in ours if d.file == str(sample)}
    assert their_lines <= our_lines, (their_lines - our_lines, output)
    if rc != 0:
        assert ours, output


@pytest.mark.parametrize("sample", sample_names())
@pytest.mark.parametrize("where", ["bare", "eth"])
def test_same_verdict_as_keepalived(
    namespaces: dict[str, Namespace], where: str, sample: str, tmp_path: Path
) -> None:
    _compare(namespaces[where], sample_file(sample, tmp_path), "pyk")


@pytest.mark.parametrize("config_id", ["high", "low"])
def test_conditional_sample_per_config_id(
    namespaces: dict[str, Namespace], config_id: str, tmp_path: Path
) -> None:
    name = "keepalived.conf.conditional_conf"
    if sample_path(name) is None:
        pytest.skip(f"keepalived's sample {name} is not installed")
    _compare(namespaces["eth"], sample_file(name, tmp_path), config_id)


def test_security_violation_exit_code_matches(
    namespaces: dict[str, Namespace], tmp_path: Path
) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text(
        "global_defs {\n script_user root\n}\nvrrp_instance VI_1 {\n interface eth0\n"
        " virtual_router_id 5\n notify_master /bin/true\n foo\n"
        " virtual_ipaddress {\n 10.0.0.1\n }\n}\n"
    )
    _compare(namespaces["eth"], conf, "pyk")


@pytest.mark.parametrize("where", ["bare", "eth"])
@pytest.mark.parametrize(
    "name", ["keepalived.conf.sample", "keepalived.conf.vrrp.sync", "keepalived.conf.SSL_GET"]
)
def test_command_line_config_test(
    namespaces: dict[str, Namespace], where: str, name: str, tmp_path: Path
) -> None:
    """``pykeepalived -t[FILE]`` end to end, run inside the namespace like keepalived."""
    if sample_path(name) is None:
        pytest.skip(f"keepalived's sample {name} is not installed")
    sample = sample_file(name, tmp_path)
    ns = namespaces[where]
    rc, _ = ns.keepalived_test(sample, "-i", "pyk")
    out = tmp_path / "t.txt"
    exe = Path(sys.executable).with_name("pykeepalived")
    proc = subprocess.run(
        ["ip", "netns", "exec", ns.name, str(exe), f"-t{out}", "-i", "pyk", "-f", str(sample)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == rc, (
        proc.stdout,
        proc.stderr,
        out.read_text() if out.exists() else "",
    )
