"""The layering rule, read from the source (AST): pure cores + one thin I/O shell per actor.

- A *pure* module imports no I/O library (sockets, zmq, pyroute2, processes, asyncio, the
  clock, signals, ctypes, ...), at any level: a lazy import inside a function counts.
- Pure modules outside ``bus/`` do not import ``pykeepalived.bus``, except the pure
  message catalogue ``pykeepalived.bus.messages``.
- Only the bus transport, the broker, the parent's services and ``pykeepalived.ctl`` import
  ``zmq``; only the two drivers and ``actors/vrrp/io.py`` import ``pyroute2``.
- Every module under ``actors/`` and ``bus/`` is classified below as pure or shell, so a
  new file fails this test until its author decides which it is.

The classification follows the review's I/O scan (``docs/ARCHITECTURE.md`` lists the
files of each actor with their role).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

import pytest

from tests.paths import REPO


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Top-level package folder → import name (pyproject's package-dir mapping).
ROOTS = {"actors": "pykeepalived.actors", "bus": "pykeepalived.bus", "conf": "pykeepalived.conf"}
ROOTS["pykeepalived"] = "pykeepalived"

IO_LIBS = _names(
    "socket zmq pyroute2 subprocess asyncio time signal ctypes select fcntl multiprocessing"
)

PURE = _names(
    """
    actors/__init__.py
    actors/script_policy.py
    actors/vrrp/__init__.py actors/vrrp/fsm.py actors/vrrp/packet.py actors/vrrp/auth.py
    actors/vrrp/arp.py actors/vrrp/track.py actors/vrrp/sync.py actors/vrrp/stats.py
    actors/checker/__init__.py actors/checker/fsm.py actors/checker/plan.py
    actors/checker/wire.py actors/checker/http.py actors/checker/dns.py
    actors/ipvs/__init__.py actors/ipvs/model.py actors/ipvs/rules.py actors/ipvs/spec.py
    actors/ipvs/nft.py
    actors/netlink/__init__.py actors/netlink/model.py actors/netlink/ownership.py
    actors/netlink/requests.py actors/netlink/wire.py
    actors/notifier/__init__.py actors/notifier/policy.py actors/notifier/format.py
    actors/notifier/smtp.py
    actors/parent/__init__.py actors/parent/policy.py actors/parent/report.py
    actors/parent/metrics.py
    actors/parent/parse_worker.py actors/parent/preload.py
    bus/__init__.py bus/envelope.py bus/codec.py bus/topology.py bus/messages.py
    """
)

SHELL = _names(
    """
    actors/base.py actors/logs.py actors/scripts.py
    actors/vrrp/actor.py actors/vrrp/io.py
    actors/checker/actor.py actors/checker/probes_net.py actors/checker/probes_stream.py
    actors/checker/probes_proc.py actors/checker/genhash.py
    actors/ipvs/actor.py actors/ipvs/driver.py
    actors/netlink/actor.py actors/netlink/driver.py
    actors/notifier/actor.py actors/notifier/driver.py
    actors/parent/actor.py actors/parent/broker.py actors/parent/services.py
    actors/parent/daemon.py actors/parent/pidfile.py actors/parent/sdnotify.py
    actors/parent/netns.py
    bus/transport.py bus/testing.py
    actors/vrrp/testing.py actors/netlink/testing.py
    """
)

# conf/ parses in a short-lived child: everything is pure except what reads the system
# (includes, environment and host name, script permissions) and the command line.
CONF_SHELL = _names(
    "conf/preprocess.py conf/loader.py conf/security.py conf/cli.py conf/keywords/global_defs.py"
)

ZMQ_ALLOWED = _names(
    "bus/transport.py actors/parent/broker.py actors/parent/services.py pykeepalived/ctl.py"
)
PYROUTE2_ALLOWED = _names("actors/ipvs/driver.py actors/netlink/driver.py actors/vrrp/io.py")
BUS_FOR_PURE = frozenset({"pykeepalived.bus.messages"})


def _files() -> list[str]:
    out = []
    for root in ROOTS:
        out += [str(p.relative_to(REPO)) for p in (REPO / root).rglob("*.py")]
    return sorted(f for f in out if "__pycache__" not in f)


def _package_of(rel: str) -> str:
    """The import name of the package holding file ``rel``."""
    root, _, rest = rel.partition("/")
    return ".".join([ROOTS[root], *rest.split("/")[:-1]])


def imports_of(source: str, package: str) -> Iterator[str]:
    """Every module ``source`` imports, at any depth (``from a import b`` gives ``a`` and
    ``a.b``; relative imports are resolved against ``package``; ``importlib.import_module``
    and ``__import__`` with a literal name count too)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            yield from (f"{base}.{a.name}" for a in node.names if a.name != "*")
        elif isinstance(node, ast.Call) and node.args:
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
            arg = node.args[0]
            if name in ("import_module", "__import__") and isinstance(arg, ast.Constant):
                yield str(arg.value)


def _imports(rel: str) -> set[str]:
    return set(imports_of((REPO / rel).read_text(), _package_of(rel)))


def _top(names: set[str]) -> set[str]:
    return {n.split(".")[0] for n in names}


FILES = _files()


def test_every_actor_and_bus_module_is_classified() -> None:
    assert PURE.isdisjoint(SHELL)
    new = [f for f in FILES if f.startswith(("actors/", "bus/")) and f not in PURE | SHELL]
    assert new == [], "classify these as pure or shell in tests/unit/test_layering.py"


def _pure_files() -> list[str]:
    conf = [f for f in FILES if f.startswith("conf/") and f not in CONF_SHELL]
    return sorted(f for f in FILES if f in PURE) + conf


@pytest.mark.parametrize("rel", _pure_files())
def test_pure_module_imports_no_io(rel: str) -> None:
    assert _top(_imports(rel)) & IO_LIBS == set()


@pytest.mark.parametrize("rel", [f for f in _pure_files() if not f.startswith("bus/")])
def test_pure_core_does_not_import_the_bus(rel: str) -> None:
    bus = {n for n in _imports(rel) if n == "pykeepalived.bus" or n.startswith("pykeepalived.bus.")}
    # the catalogue is pure: "from pykeepalived.bus import messages" yields the package and
    # the module, "from pykeepalived.bus.messages import X" the module and its names
    allowed = {n for n in bus if any(n == m or n.startswith(m + ".") for m in BUS_FOR_PURE)}
    if allowed:
        bus -= allowed | {"pykeepalived.bus"}
    assert bus == set()


@pytest.mark.parametrize(("lib", "allowed"), [("zmq", ZMQ_ALLOWED), ("pyroute2", PYROUTE2_ALLOWED)])
def test_only_the_named_modules_import(lib: str, allowed: frozenset[str]) -> None:
    users = {f for f in FILES if lib in _top(_imports(f))}
    assert users <= allowed


def test_the_classified_names_exist_or_are_announced() -> None:
    """Stale entries are caught: every classified file exists."""
    missing = {f for f in PURE | SHELL | CONF_SHELL | ZMQ_ALLOWED | PYROUTE2_ALLOWED}
    missing -= set(FILES)
    assert missing == set()


def test_the_scanner_sees_lazy_relative_and_dynamic_imports() -> None:
    src = (
        "from . import fsm\nfrom ..bus import envelope\nimport os.path\n"
        "def f():\n    import time\n    from pyroute2 import IPRoute\n"
        "    importlib.import_module('zmq')\n"
    )
    got = set(imports_of(src, "pykeepalived.actors.vrrp"))
    assert {"pykeepalived.actors.vrrp.fsm", "pykeepalived.actors.bus.envelope"} <= got
    assert {"time", "pyroute2", "zmq", "os.path"} <= got
    assert set(imports_of("from .x import y\n", "pykeepalived.bus")) == {
        "pykeepalived.bus.x",
        "pykeepalived.bus.x.y",
    }
