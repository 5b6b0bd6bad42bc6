"""No keyword is accepted silently: each one the registry knows either carries an
``unimplemented=`` marker (so ``-t`` and the daemon's log say it does nothing), or sets
a model field that something in ``actors/``, ``bus/`` or ``pykeepalived/`` reads, or is
on a reviewed list below with the reason it needs no reader.

How a keyword's fields are found: the draft keys its handlers write (``d["x"] = …``,
``d.setdefault("x", …)``, with closure variables resolved, following the handler
factories' closures), read from the handlers' source with ``ast``. Draft keys are model
field names, except the builder's own ``_keys`` (mapped in :data:`DRAFT_FIELDS`). A block
keyword acts when a keyword inside it acts; a keyword inside a marked block is covered
by the block's marker. A field "is read" when an attribute of that name is loaded
somewhere in the runtime packages (``x.field``) or named in ``getattr``.

The reader test is by name, so it is generous (a field called ``weight`` is read by
someone): it catches keywords whose field nobody reads at all, which is where silently
accepted keywords came from (see the runtime coverage audit).
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pykeepalived.conf import model
from pykeepalived.conf.loader import root_block
from pykeepalived.conf.registry import BlockDef, Keyword

REPO = Path(__file__).resolve().parents[3]
RUNTIME_DIRS = ("actors", "bus", "pykeepalived")
BUILDER_DIR = "conf/keywords"

#: the builder's own draft keys → the model field they become
DRAFT_FIELDS = {
    "_vips": "virtual_ipaddress",
    "_evips": "virtual_ipaddress_excluded",
    "_vroutes": "virtual_routes",
    "_vrules": "virtual_rules",
    "_peers": "unicast_peers",
    "_flags": "sched_flags",
    "_sorry": "sorry_server",
    "_sorry_inhibit": "inhibit",
    "_status": "status_codes",
    "_user": "user",
    "_group": "group",
    "_vsgs": "virtual_server_groups",
}

#: global_defs defaults the builder copies into each instance / server at parse time:
#: global field → the field it fills (the test checks the builder reads the first and
#: the runtime reads the second)
BUILDER_DEFAULTS = {
    "vrrp_version": "version",
    "vrrp_garp_master_delay": "garp_master_delay",
    "vrrp_garp_master_repeat": "garp_master_repeat",
    "vrrp_garp_master_refresh": "garp_master_refresh",
    "vrrp_garp_master_refresh_repeat": "garp_master_refresh_repeat",
    "vrrp_garp_lower_prio_delay": "garp_lower_prio_delay",
    "vrrp_garp_lower_prio_repeat": "garp_lower_prio_repeat",
    "vrrp_min_garp": "garp_master_repeat",
    "vrrp_down_timer_adverts": "down_timer_adverts",
    "vrrp_lower_prio_no_advert": "lower_prio_no_advert",
    "vrrp_check_unicast_src": "check_unicast_src",
    "vrrp_owner_ignore_adverts": "owner_ignore_adverts",
    "smtp_alert_vrrp": "smtp_alert",
    "smtp_alert_checker": "smtp_alert",
}

#: (block, keyword) → why it needs no runtime reader (reviewed; keep the reason true)
NO_READER_NEEDED = {
    ("global_defs", "include_check"): "parse time: the preprocessor checks the includes",
    ("global_defs", "stats_dump_file"): "parity: keepalived 2.2.7 ignores it too",
    ("global_defs", "json_dump_file"): "parity: keepalived 2.2.7 ignores it too",
    ("virtual_server", "hashed"): "parity: keepalived does nothing with it either",
    ("url", "regex_stack"): "parity of effect: PCRE2 JIT stack tuning; Python's re has none",
    ("vrrp_instance", "linkbeat_use_polling"): "refused with keepalived's deprecation error",
    ("vrrp_instance", "no_virtual_ipaddress"): (
        "parse time: it only allows an instance without VIPs, as in keepalived"
    ),
    ("vrrp_instance", "skip_check_adv_addr"): (
        "parity of effect: pykeepalived never checks the advert's VIP list, which is what "
        "this keyword asks for (the missing check itself is said by vrrp_strict's marker)"
    ),
    ("global_defs", "vrrp_skip_check_adv_addr"): "as skip_check_adv_addr",
    ("vrrp_instance", "accept"): (
        "parity of effect: pykeepalived installs no firewall, so VIP traffic is accepted, "
        "which is what accept asks for (the reader found by name is the AH counter)"
    ),
    ("vrrp_sync_group", "sync_group_tracking_weight"): (
        "parse time: the builder keeps the members' tracking weights instead of zeroing "
        "them (conf/keywords/vrrp.py), as keepalived"
    ),
    ("vrrp_sync_group", "global_tracking"): "as sync_group_tracking_weight (deprecated form)",
    ("global_defs", "dynamic_interfaces"): (
        "parity of effect: interfaces may come and go at any time anyway (the vrrp actor "
        "opens its sockets when the link appears)"
    ),
}

#: being implemented right now by other helpers; the lead removes entries as they land
PENDING_REASON = "being implemented in h2 (script runner)"
#: blocks pending as a whole, the block and everything in it ("vrrp_sync_group" left this
#: list when h6's sync groups landed)
PENDING_BLOCKS: dict[str, str] = {}
PENDING = {
    ("global_defs", "startup_script"): PENDING_REASON,
    ("global_defs", "startup_script_timeout"): PENDING_REASON,
    ("global_defs", "shutdown_script"): PENDING_REASON,
    ("global_defs", "shutdown_script_timeout"): PENDING_REASON,
    ("global_defs", "script_user"): PENDING_REASON + ": acts for notify and MISC_CHECK",
    ("vrrp_script", "user"): PENDING_REASON,
}


# ---------------------------------------------------------------- model and readers


@functools.cache
def model_fields() -> frozenset[str]:
    out: set[str] = set()
    for obj in vars(model).values():
        if isinstance(obj, type) and dataclasses.is_dataclass(obj):
            out |= {f.name for f in dataclasses.fields(obj)}
    return frozenset(out)


def _string_constants(tree: ast.AST) -> set[str]:
    """Every string constant of a module (the names it may hand to ``getattr``)."""
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


def _names_read_in(tree: ast.AST) -> set[str]:
    """Attributes loaded, ``getattr(x, "name")``, and, in a module that calls
    ``getattr(x, variable)``, its string constants: the names it may pass (the notifier's
    ``_FIFO_ROLES`` table, the vrrp actor's ``self._refs(runner, "track_script")``)."""
    out: set[str] = set()
    dynamic = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
            out.add(node.attr)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "getattr"
            and len(node.args) > 1
        ):
            arg = node.args[1]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                out.add(arg.value)
            else:
                dynamic = True
    if dynamic:
        out |= _string_constants(tree)
    return out


def _names_read(dirs: tuple[str, ...]) -> frozenset[str]:
    out: set[str] = set()
    for d in dirs:
        for path in sorted((REPO / d).rglob("*.py")):
            out |= _names_read_in(ast.parse(path.read_text(), str(path)))
    return frozenset(out)


@functools.cache
def runtime_reads() -> frozenset[str]:
    return _names_read(RUNTIME_DIRS)


@functools.cache
def builder_reads() -> frozenset[str]:
    return _names_read((BUILDER_DIR,))


# ---------------------------------------------------------------- what a handler writes


def _closure(fn: Callable[..., Any]) -> dict[str, Any]:
    cells = getattr(fn, "__closure__", None) or ()
    out: dict[str, Any] = {}
    for name, cell in zip(fn.__code__.co_freevars, cells, strict=True):
        try:
            out[name] = cell.cell_contents
        except ValueError:  # an empty cell
            pass
    return out


def _key(node: ast.expr, cells: dict[str, Any]) -> str | None:
    """A draft key as written: a constant, a closure variable, or an f-string's prefix
    (returned as ``prefix*``)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name) and isinstance(cells.get(node.id), str):
        return str(cells[node.id])
    if isinstance(node, ast.JoinedStr) and node.values:
        first = node.values[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value:
            return first.value + "*"
    return None


def draft_keys(fn: Callable[..., Any] | None, seen: set[int] | None = None) -> set[str]:
    """The draft keys ``fn`` (and the handlers it closes over) writes."""
    seen = set() if seen is None else seen
    if fn is None or id(fn) in seen or not hasattr(fn, "__code__"):
        return set()
    seen.add(id(fn))
    cells = _closure(fn)
    out: set[str] = set()
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    for node in ast.walk(tree):
        key = None
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store):
            key = _key(node.slice, cells)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "setdefault"
            and node.args
        ):
            key = _key(node.args[0], cells)
        if key is not None:
            out.add(key)
    for value in cells.values():
        if callable(value):
            out |= draft_keys(value, seen)
    return out


def fields_of(kw: Keyword) -> set[str]:
    """The model fields a keyword's handlers write."""
    out: set[str] = set()
    for fn in (kw.handler, kw.entry, kw.open, kw.close):
        for key in draft_keys(fn):
            key = DRAFT_FIELDS.get(key, key)
            if key.endswith("*"):
                out |= {f for f in model_fields() if f.startswith(key[:-1])}
            elif key in model_fields():
                out.add(key)
    return out


# ---------------------------------------------------------------- the walk


def field_acts(name: str) -> bool:
    if name in runtime_reads():
        return True
    target = BUILDER_DEFAULTS.get(name)
    return target is not None and name in builder_reads() and target in runtime_reads()


def keyword_acts(kw: Keyword) -> bool:
    if any(field_acts(f) for f in fields_of(kw)):
        return True
    if kw.block is not None:
        return any(
            keyword_acts(child) and child.unimplemented is None
            for child in kw.block.keywords.values()
        )
    return False


def walk(root: BlockDef) -> Iterator[tuple[str, Keyword, bool, bool]]:
    """(block name, keyword, covered by an enclosing marker, pending) for every keyword."""
    seen: set[tuple[int, bool, bool]] = set()
    stack = [(root, False, False)]
    while stack:
        block, covered, pending = stack.pop()
        if (id(block), covered, pending) in seen:
            continue
        seen.add((id(block), covered, pending))
        for kw in block.keywords.values():
            yield block.name, kw, covered, pending
            if kw.block is not None:
                stack.append(
                    (
                        kw.block,
                        covered or kw.unimplemented is not None,
                        pending or kw.name in PENDING_BLOCKS,
                    )
                )


def silent_keywords() -> list[str]:
    out: set[str] = set()
    for block, kw, covered, pending in walk(root_block()):
        if covered or kw.unimplemented is not None or pending:
            continue
        key = (block, kw.name)
        if key in PENDING or key in NO_READER_NEEDED or kw.name in PENDING_BLOCKS:
            continue
        if not keyword_acts(kw):
            out.add(f"{block} {{ {kw.name} }}: sets {sorted(fields_of(kw)) or 'nothing'}")
    return sorted(out)


# ---------------------------------------------------------------- tests


def test_every_keyword_acts_or_says_it_does_not() -> None:
    silent = silent_keywords()
    assert silent == [], (
        "accepted without a runtime reader and without an unimplemented= marker:\n  "
        + "\n  ".join(silent)
    )


def test_the_reviewed_lists_name_real_keywords() -> None:
    known = {(block, kw.name) for block, kw, _, _ in walk(root_block())}
    for entry in [*NO_READER_NEEDED, *PENDING]:
        assert entry in known, entry
    blocks = {kw.name for _, kw, _, _ in walk(root_block()) if kw.block is not None}
    assert set(PENDING_BLOCKS) <= blocks
    assert set(BUILDER_DEFAULTS) <= model_fields()
    assert set(BUILDER_DEFAULTS.values()) <= model_fields()


def test_reviewed_keywords_are_not_also_marked() -> None:
    """An allow-listed keyword with a marker would say two contradicting things."""
    for block, kw, _, _ in walk(root_block()):
        if (block, kw.name) in NO_READER_NEEDED:
            assert kw.unimplemented is None, (block, kw.name)


def test_the_walk_finds_fields_and_readers() -> None:
    """The machinery itself: known keywords map to their fields, and the audit's silent
    examples would be caught without their markers."""
    inst = root_block().keywords["vrrp_instance"].block
    assert inst is not None
    assert fields_of(inst.keywords["priority"]) == {"priority"}
    assert fields_of(inst.keywords["virtual_ipaddress"]) >= {"virtual_ipaddress"}
    gd = root_block().keywords["global_defs"].block
    assert gd is not None
    assert {"lvs_timeouts_tcp", "lvs_timeouts_udp"} <= fields_of(gd.keywords["lvs_timeouts"])
    assert keyword_acts(inst.keywords["priority"])
    assert keyword_acts(gd.keywords["vrrp_garp_master_delay"])  # through the builder
    for name in ("dont_track_primary", "track_src_ip", "use_vmac_addr", "vmac_xmit_base"):
        assert not keyword_acts(inst.keywords[name]), name
    assert keyword_acts(root_block().keywords["garp_group"])  # the vrrp actor paces by it
    assert not keyword_acts(gd.keywords["vrrp_startup_delay"])
