"""The lab fixture itself: hosts reach each other over v4 and v6, faults work, cleanup holds."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests import lab as lab_mod

pytestmark = pytest.mark.netns


def test_two_hosts_ping_ipv4_and_ipv6(lab: lab_mod.Lab) -> None:
    a, b = lab["a"], lab["b"]
    assert a.ping(b.ipv4)
    assert b.ping(a.ipv6)
    assert f"{a.ipv4}/24" in a.addresses()


def test_cut_link_and_restore(lab: lab_mod.Lab) -> None:
    a, b = lab["a"], lab["b"]
    a.cut_link()
    assert "NO-CARRIER" in a.run(["ip", "link", "show", "eth0"])
    assert not a.ping(b.ipv4, timeout=1)
    a.restore_link()
    assert a.ping(b.ipv4, count=3)


def test_drop_vrrp_drops_only_vrrp(lab3: lab_mod.Lab) -> None:
    a, c = lab3["a"], lab3["c"]
    cap = c.popen(["tcpdump", "-n", "-l", "-i", "eth0", "ip proto 112"], description="tcpdump")
    sender = [
        sys.executable,
        "-c",
        textwrap.dedent(f"""
        import socket, time
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
        for _ in range(30):
            s.sendto(b"\\x21\\x01\\x64\\x00\\x00\\x01\\x00\\x00", ("{c.ipv4}", 0))
            time.sleep(0.02)
    """),
    ]
    a.drop_vrrp()
    a.run(sender)
    assert a.ping(c.ipv4), "ordinary traffic must still pass"
    a.allow_vrrp()
    a.run(sender)
    cap.stop()
    lines = [line for line in cap.output().splitlines() if "VRRP" in line or "ip-proto-112" in line]
    assert 0 < len(lines) <= 30, cap.output()


def test_process_in_host_is_stopped_at_close() -> None:
    with lab_mod.Lab(("a",), ipv6=False) as lab:
        proc = lab["a"].popen(["sleep", "300"])
        assert proc.alive()
    assert not proc.alive()
    assert lab.prefix + "-a" not in lab_mod.namespaces_of_this_run()


def test_cleanup_after_a_failing_test(tmp_path: Path) -> None:
    """A test that fails inside the lab still leaves no namespace or process behind."""
    test_file = tmp_path / "test_fails.py"
    test_file.write_text(
        textwrap.dedent("""
        from tests import lab as lab_mod

        def test_fails(lab):
            proc = lab["a"].popen(["sleep", "300"])
            print("NS", lab["a"].netns, "PID", proc.pid)
            raise AssertionError("deliberate")
    """)
    )
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-s", "-p", "no:cacheprovider", "-p", "tests.conftest",
         "--rootdir", str(root),
         "-c", str(root / "pyproject.toml"), str(test_file)],
        cwd=root, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr
    netns, _, pid = proc.stdout.split("NS ", 1)[1].split()[:3]
    assert netns not in lab_mod.sh(["ip", "netns", "list"])
    # that very process is gone (other runs on this machine may have sleeps of their own)
    assert not Path(f"/proc/{pid}").exists()
