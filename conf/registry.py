"""Keyword tables (keepalived's keyword tree) and the one recursive walk that applies them.

Each block of the language is a :class:`BlockDef` holding a table ``keyword → Keyword``.
Features register their own keywords (``pykeepalived.conf.keywords.*``): a scalar
keyword has a handler ``(ctx, draft, stmt)``; a block keyword has ``open`` (returns the
child draft, or None to skip the block), the child :class:`BlockDef` and ``close``; a
value block (``virtual_ipaddress { … }``) has an ``entry`` handler per line.

Drafts are plain dicts keyed by model field names; the ``close`` handlers turn them into
the frozen model dataclasses. The walk reports what keepalived reports (unknown keyword,
missing or unexpected brace, deprecated keyword) and adds a "did you mean" for
misspellings; a keyword whose feature pykeepalived does not implement is accepted with
a warning saying so.
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pykeepalived.conf.diagnostics import Diagnostic
from pykeepalived.conf.preprocess import STMT, Stmt
from pykeepalived.conf.shape import Block, Node

Draft = dict[str, Any]
ROOT_NAME = "the top level"
Handler = Callable[["Ctx", Draft, Stmt], None]
OpenFn = Callable[["Ctx", Draft, Stmt], "Draft | None"]
CloseFn = Callable[["Ctx", Draft, Draft], None]


class Ctx:
    """The walk's context: diagnostics, the statement being handled, shared state."""

    def __init__(
        self,
        *,
        config_id: str = "",
        interfaces: frozenset[str] | None = None,
    ) -> None:
        self.diagnostics: list[Diagnostic] = []
        self.stmt: Stmt | None = None
        self.config_id = config_id
        self.interfaces = interfaces
        self.shared: dict[str, Any] = {}

    @property
    def keyword(self) -> str:
        st = self.stmt
        return st.words[0] if st is not None and st.words else ""

    def _add(self, severity: str, message: str, code: str, stmt: Stmt | None) -> None:
        st = stmt if stmt is not None else self.stmt
        self.diagnostics.append(
            Diagnostic(
                severity,  # type: ignore[arg-type]
                st.file if st is not None else "",
                st.line if st is not None else 0,
                message,
                code,
            )
        )

    def error(self, message: str, code: str = "semantic", stmt: Stmt | None = None) -> None:
        self._add("error", message, code, stmt)

    def warning(self, message: str, code: str = "semantic", stmt: Stmt | None = None) -> None:
        self._add("warning", message, code, stmt)

    def at(self, file: str, line: int, severity: str, message: str, code: str) -> None:
        self.diagnostics.append(Diagnostic(severity, file, line, message, code))  # type: ignore[arg-type]


Kind = Literal["scalar", "block", "values"]


@dataclass(slots=True)
class Keyword:
    """One entry of a block's keyword table."""

    name: str
    kind: Kind
    handler: Handler | None = None
    open: OpenFn | None = None
    close: CloseFn | None = None
    block: BlockDef | None = None
    entry: Handler | None = None
    deprecated: str | None = None
    unimplemented: str | None = None
    partial: bool = False
    header_args: bool = False
    reported: bool = False
    #: keepalived 2.2.7 does not know it (``keywords/newer.py``): said as advice at each use
    newer: bool = False
    #: keepalived 2.2.7's second message for a bad value (``keywords/followups.py``)
    followup: str | None = None
    #: ... said after any refusal of the value, not only an unreadable number/address
    followup_any: bool = False


@dataclass
class BlockDef:
    """A block of the language and its keyword table."""

    name: str
    keywords: dict[str, Keyword] = field(default_factory=dict)

    def _put(self, kw: Keyword) -> Keyword:
        self.keywords[kw.name] = kw
        return kw

    def scalar(
        self,
        name: str,
        handler: Handler,
        *,
        deprecated: str | None = None,
        unimplemented: str | None = None,
        partial: bool = False,
        reported: bool = False,
    ) -> Keyword:
        """``deprecated``: the message for an old keyword; ``reported``: keepalived 2.2.7
        prints it too (and so counts it for -t), else it is advice only; ``unimplemented``:
        what pykeepalived does instead (``partial``: the keyword acts, but only in part)."""
        return self._put(
            Keyword(
                name,
                "scalar",
                handler,
                deprecated=deprecated,
                unimplemented=unimplemented,
                partial=partial,
                reported=reported,
            )
        )

    def sub(
        self,
        name: str,
        block: BlockDef,
        open: OpenFn,
        close: CloseFn,
        *,
        deprecated: str | None = None,
        unimplemented: str | None = None,
        partial: bool = False,
    ) -> Keyword:
        return self._put(
            Keyword(
                name,
                "block",
                open=open,
                close=close,
                block=block,
                deprecated=deprecated,
                unimplemented=unimplemented,
                partial=partial,
            )
        )

    def values(
        self,
        name: str,
        entry: Handler,
        *,
        open: OpenFn | None = None,
        close: CloseFn | None = None,
        header_args: bool = False,
        deprecated: str | None = None,
        unimplemented: str | None = None,
        partial: bool = False,
    ) -> Keyword:
        """A value block: each line inside is one entry. ``header_args``: the keyword
        line itself takes arguments (``virtual_server_group NAME``)."""
        return self._put(
            Keyword(
                name,
                "values",
                open=open,
                close=close,
                entry=entry,
                header_args=header_args,
                deprecated=deprecated,
                unimplemented=unimplemented,
                partial=partial,
            )
        )

    def suggest(self, word: str) -> str | None:
        """The closest keyword of this block, for "did you mean"."""
        m = difflib.get_close_matches(word, list(self.keywords), n=1, cutoff=0.75)
        if not m:
            low = word.lower()
            for k in self.keywords:
                if k.lower() == low:
                    return k
            return None
        return m[0]


def _unknown(ctx: Ctx, bdef: BlockDef, st: Stmt, has_block: bool = False) -> None:
    """keepalived's message, with a hint; a block after it is not skipped (see _End)."""
    word = st.words[0]
    msg = f"Unknown keyword '{word}'"
    hint = bdef.suggest(word)
    if hint is not None:
        msg += f" (did you mean '{hint}'?)"
    elif ctx.shared.get("all_keywords") and word in ctx.shared["all_keywords"]:
        msg += f" (not valid in {bdef.name})"
    ctx.error(msg, "unknown-keyword", st)


def _note(ctx: Ctx, kw: Keyword, st: Stmt) -> None:
    if kw.deprecated is not None:
        ctx.warning(kw.deprecated, "deprecated" if kw.reported else "obsolete", st)
    if kw.unimplemented is not None:
        ctx.warning(unimplemented_message(kw), "unimplemented", st)
    if kw.newer:
        from pykeepalived.conf.keywords.newer import newer_message

        ctx.warning(newer_message(kw.name), "newer", st)


def unimplemented_message(kw: Keyword) -> str:
    """The advisory printed where a keyword marked ``unimplemented`` is used."""
    if kw.partial:
        return f"'{kw.name}' is only partly implemented by pykeepalived ({kw.unimplemented})"
    return f"'{kw.name}' is accepted but not implemented by pykeepalived ({kw.unimplemented})"


class _End:
    """A '}' that ends the block being read. keepalived opens a block only after a block
    keyword: a '{' after anything else is "Unexpected" and ignored, what it enclosed is
    read at the same level, and its '}' then ends the enclosing block (what follows is
    read one level up)."""

    __slots__ = ("close",)

    def __init__(self, close: Stmt) -> None:
        self.close = close


#: what a walk that ended early hands back: the '}' that ended it, and what follows
Leftover = tuple[Stmt, Iterator[Any]]


def walk(ctx: Ctx, nodes: list[Node], bdef: BlockDef, draft: Draft) -> Leftover | None:
    """Apply ``bdef``'s keyword table to ``nodes``, writing into ``draft``.

    Returns None when the nodes were read to their end, else the stray '}' that ended
    this block early and the nodes after it (the caller reads them at its own level)."""
    keywords = bdef.keywords
    stack: list[Iterator[Any]] = [iter(nodes)]
    while stack:
        for node in stack[-1]:
            if type(node) is Stmt:
                kw = keywords.get(node.words[0])
                ctx.stmt = node
                if kw is None:
                    _unknown(ctx, bdef, node, False)
                    continue
                if kw.kind != "scalar":
                    ctx.error("Missing '{' at beginning of configuration block", "brace", node)
                    continue
                if kw.deprecated is not None or kw.unimplemented is not None or kw.newer:
                    _note(ctx, kw, node)
                if kw.followup is None:
                    kw.handler(ctx, draft, node)  # type: ignore[misc]
                else:
                    n = len(ctx.diagnostics)
                    kw.handler(ctx, draft, node)  # type: ignore[misc]
                    if len(ctx.diagnostics) > n:
                        _follow_up(ctx, kw, draft, node, n)
                continue
            if type(node) is _End:
                if bdef.name != ROOT_NAME:
                    return node.close, itertools.chain(*reversed(stack))
                # at the top level keepalived has no block for this '}' to end
                ctx.error("Unknown keyword '}'", "unknown-keyword", node.close)
                continue
            more = _walk_block(ctx, node, bdef, draft)
            if more is not None:
                stack.append(more)
                break
        else:
            stack.pop()
    return None


def _bad_value(d: Diagnostic) -> bool:
    """A value keepalived's reader refuses: a number it cannot read or that is out of its
    range, a word that is no boolean, an address that does not parse (a handler's own
    judgement of a readable value, like a repeat count of 0, has its own wording)."""
    if d.code in ("invalid-number", "invalid-address"):
        return True
    return d.code == "invalid-value" and d.message.startswith("invalid boolean value")


def _follow_up(ctx: Ctx, kw: Keyword, draft: Draft, st: Stmt, first: int) -> None:
    """After a handler reported ``st``'s value as bad: keepalived's own second message."""
    new = ctx.diagnostics[first:]
    any_invalid = kw.followup_any
    if not any(
        d.line == st.line and (_bad_value(d) or (any_invalid and d.code == "invalid-value"))
        for d in new
    ):
        return
    template = kw.followup or ""
    word = st.words[1] if len(st.words) > 1 else ""
    msg = template.replace("{w}", word).replace("{name}", str(draft.get("name", "")))
    if any(msg in d.message for d in new):
        return
    bare = msg.replace("'", "")
    for i, d in enumerate(new, first):
        if d.message.replace("'", "") == bare:  # our own wording of the same message
            ctx.diagnostics[i] = replace(d, message=msg)
            return
    ctx.error(msg, "invalid-value", st)


def _inline(ctx: Ctx, node: Block) -> Iterator[Any]:
    """A '{' that opens no block: ignored; its contents and '}' are read in place."""
    at = node.open
    brace_line = getattr(at, "brace_line", None)
    if brace_line is not None:  # the '{' stood on a line of its own
        at = Stmt(STMT, ["{"], "{", at.file, brace_line)
    ctx.error("Unexpected '{' - ignoring", "brace", at)
    return itertools.chain(node.children, (_End(node.close),))


def _walk_block(ctx: Ctx, node: Block, bdef: BlockDef, draft: Draft) -> Iterator[Any] | None:
    """One ``HEAD { ... }``; returns the nodes to read next at this level, if any."""
    head = node.head
    if head is None:
        return _inline(ctx, node)
    ctx.stmt = head
    kw = bdef.keywords.get(head.words[0])
    if kw is None:
        _unknown(ctx, bdef, head, False)
        return _inline(ctx, node)
    if kw.deprecated is not None or kw.unimplemented is not None or kw.newer:
        _note(ctx, kw, head)
    if kw.kind == "scalar":
        kw.handler(ctx, draft, head)  # type: ignore[misc]
        return _inline(ctx, node)
    if kw.kind == "block":
        child = kw.open(ctx, draft, head)  # type: ignore[misc]
        if child is None:
            return None
        left = walk(ctx, node.children, kw.block, child)  # type: ignore[arg-type]
        # keepalived reports block-level problems at the '}' that ended the block
        ctx.stmt = node.close if left is None else left[0]
        kw.close(ctx, child, draft)  # type: ignore[misc]
        if left is None:
            return None
        return itertools.chain(left[1], (_End(node.close),))
    return _walk_values(ctx, node, kw, draft)


def _walk_values(ctx: Ctx, node: Block, kw: Keyword, draft: Draft) -> Iterator[Any] | None:
    """A value block: every line is an entry. A '{' inside is one more entry (keepalived
    has no blocks here) and the first '}' ends the value block: the rest is read one
    level up, as by :func:`walk`."""
    head = node.head
    assert head is not None
    if not kw.header_args and len(head.words) > 1:
        ctx.error(
            f"Block {head.words[0]} has extra parameters {' '.join(head.words[1:])}",
            "block-parameters",
            head,
        )
    child = kw.open(ctx, draft, head) if kw.open is not None else draft
    if child is None:
        return None
    entry = kw.entry
    stack: list[Iterator[Any]] = [iter(node.children)]
    end: _End | None = None
    while stack and end is None:
        for sub in stack[-1]:
            if type(sub) is Stmt:
                ctx.stmt = sub
                entry(ctx, child, sub)  # type: ignore[misc]
                continue
            if type(sub) is _End:
                end = sub
                break
            assert isinstance(sub, Block)
            for item in _brace_entries(sub):
                ctx.stmt = item
                entry(ctx, child, item)  # type: ignore[misc]
            stack.append(itertools.chain(sub.children, (_End(sub.close),)))
            break
        else:
            stack.pop()
    ctx.stmt = node.close if end is None else end.close
    if kw.close is not None:
        kw.close(ctx, child, draft)
    if end is None:
        return None
    return itertools.chain(*reversed(stack), (_End(node.close),))


def _brace_entries(block: Block) -> list[Stmt]:
    """A nested block's head and '{' as a value block's reader sees them: two entries."""
    out: list[Stmt] = []
    at = block.open
    if block.head is not None:
        out.append(block.head)
    line = getattr(at, "brace_line", None) or at.line
    out.append(Stmt(STMT, ["{"], "{", at.file, line))
    return out


def all_keywords(root: BlockDef) -> set[str]:
    """Every keyword of every block reachable from ``root``."""
    seen: set[int] = set()
    out: set[str] = set()
    stack = [root]
    while stack:
        b = stack.pop()
        if id(b) in seen:
            continue
        seen.add(id(b))
        for name, kw in b.keywords.items():
            out.add(name)
            if kw.block is not None:
                stack.append(kw.block)
    return out


def iter_blocks(root: BlockDef) -> list[BlockDef]:
    """Every block reachable from ``root`` (root first)."""
    seen: set[int] = set()
    out: list[BlockDef] = []
    stack = [root]
    while stack:
        b = stack.pop()
        if id(b) in seen:
            continue
        seen.add(id(b))
        out.append(b)
        for kw in b.keywords.values():
            if kw.block is not None:
                stack.append(kw.block)
    return out
