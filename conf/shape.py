"""The shape of a configuration: statements and nested blocks, parsed by lark's LALR parser.

The grammar (``shape.lark``, package data) knows nothing of keywords: it only nests
statements in braces. A custom lexer hands lark one token per preprocessed statement
(``STMT``, or ``HEAD`` when a ``{`` follows it) and one per brace, so lark never scans
characters; an inline transformer builds the tree as plain Python objects while parsing
(no lark ``Tree`` objects), which keeps a 146k-line configuration fast.

Tree nodes: a :class:`~pykeepalived.conf.preprocess.Stmt` for a statement,
:class:`Block` for ``HEAD { ... }`` and for a stray ``{ ... }`` (``head`` None).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from importlib import resources
from typing import Any

from lark import Lark, Token, Transformer
from lark.lexer import Lexer

from pykeepalived.conf.preprocess import Stmt


class Block:
    """``head { children }``; ``head`` is None for a brace pair with no statement before it."""

    __slots__ = ("children", "close", "head", "open")

    def __init__(self, head: Stmt | None, children: list[Stmt | Block], open_: Stmt, close: Stmt):
        self.head = head
        self.children = children
        self.open = open_
        self.close = close

    def __repr__(self) -> str:
        return f"Block({self.head!r}, {len(self.children)} children)"


Node = Stmt | Block


class _StmtLexer(Lexer):
    """Feeds lark the statement list: one token per statement or brace."""

    def __init__(self, lexer_conf: Any) -> None:
        pass

    def lex(self, data: Any, parser_state: Any = None) -> Iterator[Token]:  # type: ignore[override]
        stmts: list[Stmt] = data
        n = len(stmts)
        for i, st in enumerate(stmts):
            kind = st.kind
            if kind == "s":
                nxt = stmts[i + 1].kind if i + 1 < n else ""
                yield Token("HEAD" if nxt == "{" else "STMT", "s", start_pos=i)
            elif kind == "{":
                yield Token("LBRACE", "{", start_pos=i)
            else:
                yield Token("RBRACE", "}", start_pos=i)


class _Build(Transformer[Token, Any]):
    """Inline tree building: callbacks run as lark reduces."""

    def __init__(self) -> None:
        super().__init__(visit_tokens=False)
        self.stmts: list[Stmt] = []

    def start(self, children: list[Any]) -> list[Node]:
        return [self._node(c) for c in children]

    def stmt(self, children: list[Any]) -> Stmt:
        return self.stmts[children[0].start_pos]

    def block(self, children: list[Any]) -> Block:
        s = self.stmts
        body = [self._node(c) for c in children[2:-1]]
        return Block(
            s[children[0].start_pos], body, s[children[1].start_pos], s[children[-1].start_pos]
        )

    def anon(self, children: list[Any]) -> Block:
        s = self.stmts
        body = [self._node(c) for c in children[1:-1]]
        return Block(None, body, s[children[0].start_pos], s[children[-1].start_pos])

    def _node(self, c: Any) -> Node:
        if isinstance(c, Token):
            return self.stmts[c.start_pos]
        return c  # type: ignore[no-any-return]


@functools.cache
def _parser() -> tuple[Lark, _Build]:
    grammar = resources.files("pykeepalived.conf").joinpath("shape.lark").read_text()
    build = _Build()
    lark = Lark(
        grammar, parser="lalr", lexer=_StmtLexer, transformer=build, maybe_placeholders=False
    )
    return lark, build


def parse_shape(stmts: list[Stmt]) -> list[Node]:
    """Nest a balanced statement list (as the preprocessor produces) into blocks."""
    lark, build = _parser()
    build.stmts = stmts
    try:
        return lark.parse(stmts)  # type: ignore[arg-type,no-any-return]
    finally:
        build.stmts = []
