"""The package shape (docs/ARCHITECTURE.md §1-2): one import namespace, no bare top-level names."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import pykeepalived


def test_every_module_imports_under_one_namespace() -> None:
    import pykeepalived.actors
    import pykeepalived.bus
    import pykeepalived.conf

    for pkg in (pykeepalived.actors, pykeepalived.bus, pykeepalived.conf):
        for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
            if info.name.endswith(".__main__") or ".demo" in info.name:
                continue
            importlib.import_module(info.name)
    for bare in ("actors", "bus", "conf"):
        assert bare not in sys.modules, f"bare module name {bare!r} was imported"


def test_version() -> None:
    assert pykeepalived.__version__.count(".") == 2
