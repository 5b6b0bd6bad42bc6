"""Real kernel IPVS: boot the QEMU VM and run ``guest_checks.py`` in it (``make test-ipvs-vm``).

This machine's kernel has no IPVS, so the ipvs backend is tested in a throw-away VM
running Debian's cloud kernel (``setup.sh`` fetches and unpacks it, never installs it).
Skipped, with the reason, when not root or when qemu or the kernel cannot be had.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

pytestmark = [pytest.mark.ipvs, pytest.mark.timeout(420)]


def test_ipvs_backend_in_a_vm() -> None:
    if os.geteuid() != 0:
        pytest.skip(f"needs root to install qemu and run virtiofsd (running as uid {os.geteuid()})")
    if os.environ.get("PYKEEPALIVED_IN_IPVS_VM") == "1":
        pytest.skip("already inside the IPVS VM")
    setup = subprocess.run(
        ["bash", str(HERE / "setup.sh")], capture_output=True, text=True, timeout=600
    )
    if setup.returncode != 0:
        last = (setup.stdout + setup.stderr).strip().splitlines()[-1:] or ["(no output)"]
        pytest.skip(f"IPVS VM cannot be prepared (qemu or Debian's cloud kernel): {last[0]}")
    if shutil.which("qemu-system-x86_64") is None:
        pytest.skip("qemu-system-x86_64 is not installed")
    with tempfile.TemporaryDirectory(prefix="ipvsvm") as tmp:
        console = Path(tmp) / "console.log"
        env = {**os.environ, "IPVSVM_CONSOLE": str(console), "IPVSVM_TIMEOUT": "360"}
        proc = subprocess.run(
            ["bash", str(HERE / "run-vm.sh")], capture_output=True, text=True, env=env, timeout=400
        )
        log = console.read_text(errors="replace") if console.exists() else "(no console log)"
    assert proc.returncode == 0, f"{proc.stdout}\n--- guest console ---\n{log[-6000:]}"
    assert re.search(r"\d+ passed", log) and not re.search(r"\d+ failed", log), log[-6000:]
