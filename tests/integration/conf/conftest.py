"""Network namespaces for the conf tests that run Debian's keepalived as the oracle."""

from __future__ import annotations

import itertools
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import lab as lab_mod

_ids = itertools.count(1)


class Namespace:
    def __init__(self, interfaces: tuple[str, ...]) -> None:
        self.name = f"{lab_mod.RUN_PREFIX}cf{next(_ids)}"
        lab_mod.sh(["ip", "netns", "add", self.name])
        lab_mod.LIVE_NAMESPACES.add(self.name)
        for i, ifname in enumerate(interfaces):
            lab_mod.sh(["ip", "-n", self.name, "link", "add", ifname, "type", "veth",
                        "peer", "name", f"pk{i}"])  # fmt: skip

    def interfaces(self) -> frozenset[str]:
        out = lab_mod.sh(["ip", "netns", "exec", self.name, "ls", "/sys/class/net"])
        return frozenset(out.split())

    def keepalived_test(self, path: Path, *extra: str) -> tuple[int, str]:
        argv = ["ip", "netns", "exec", self.name, lab_mod.KEEPALIVED, "-t", "-l", "-n"]
        proc = subprocess.run(
            [*argv, "-f", str(path), *extra], capture_output=True, text=True, timeout=30
        )
        return proc.returncode, proc.stdout + proc.stderr

    def close(self) -> None:
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)
        lab_mod.LIVE_NAMESPACES.discard(self.name)


@pytest.fixture(scope="module")
def namespaces() -> Iterator[dict[str, Namespace]]:
    if not os.access(lab_mod.KEEPALIVED, os.X_OK):
        pytest.skip(f"needs Debian's keepalived ({lab_mod.KEEPALIVED} is not installed)")
    made: dict[str, Namespace] = {}
    try:
        made["bare"] = Namespace(())
        made["eth"] = Namespace(("eth0", "eth1", "eth2"))
        yield made
    finally:
        for ns in made.values():
            ns.close()
