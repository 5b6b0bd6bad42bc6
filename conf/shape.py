"""The shape of a configuration: statements nested in blocks, parsed by lark's LALR parser.

The grammar (``shape.lark``, package data) knows nothing of keywords. Design, for speed
on large files: the preprocessor's :class:`~pykeepalived.conf.preprocess.Stmt`
objects *are* the tokens (lark's LALR engine only reads ``token.type``), so lark never
scans characters and no ``Token`` is built per line; and the reductions are plain
functions installed as the parser's callbacks, building the result as Python lists and
:class:`Block` objects while parsing (no ``Tree``, no transformer pass).

Tree nodes: a ``Stmt`` for a statement, a :class:`Block` for ``HEAD { ... }`` and for a
stray ``{ ... }`` (``head`` None).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from importlib import resources
from typing import Any, TypeAlias

from lark import Lark
from lark.lexer import Lexer

from pykeepalived.conf.preprocess import Stmt


class Block:
    """``head { children }``; ``head`` is None for a brace pair with no statement before it."""

    __slots__ = ("children", "close", "head", "open")

    def __init__(
        self, head: Stmt | None, children: list[Stmt | Block], open_: Stmt, close: Stmt
    ) -> None:
        self.head = head
        self.children = children
        self.open = open_
        self.close = close

    def __repr__(self) -> str:
        return f"Block({self.head!r}, {len(self.children)} children)"


Node: TypeAlias = "Stmt | Block"


class _StmtLexer(Lexer):
    """The statement list is already the token stream."""

    def __init__(self, lexer_conf: Any) -> None:
        pass

    def lex(self, data: Any, parser_state: Any = None) -> Iterator[Any]:  # type: ignore[override]
        return iter(data)


def _start(s: list[Any]) -> list[Node]:
    return s[0]  # type: ignore[no-any-return]


def _stmt(s: list[Any]) -> list[Node]:
    items: list[Node] = s[0]
    items.append(s[1])
    return items


def _block(s: list[Any]) -> list[Node]:
    items: list[Node] = s[0]
    items.append(Block(s[1], s[2], s[1], s[3]))
    return items


def _anon(s: list[Any]) -> list[Node]:
    items: list[Node] = s[0]
    items.append(Block(None, s[2], s[1], s[3]))
    return items


def _empty(s: list[Any]) -> list[Node]:
    return []


class _Origin:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


class _FastRule:
    """What lark's LALR loop reads from a rule (``expansion``, ``origin.name``), with plain
    ``str`` names and identity hashing, so a reduction costs no Python-level ``__eq__``."""

    __slots__ = ("alias", "expansion", "origin")

    def __init__(self, rule: Any) -> None:
        self.expansion = tuple(rule.expansion)
        self.origin = _Origin(str(rule.origin.name))
        self.alias = rule.alias


_REDUCTIONS: dict[str, Callable[[list[Any]], Any]] = {
    "start": _start,
    "stmt": _stmt,
    "block": _block,
    "anon": _anon,
    "empty": _empty,
}


@functools.cache
def _parser() -> Lark:
    grammar = resources.files("pykeepalived.conf").joinpath("shape.lark").read_text()
    lark = Lark(grammar, parser="lalr", lexer=_StmtLexer)
    inner = lark.parser.parser.parser
    fast: dict[int, _FastRule] = {}
    callbacks: dict[Any, Callable[[list[Any]], Any]] = {}
    for rule in list(inner.callbacks):
        fr = fast[id(rule)] = _FastRule(rule)
        callbacks[fr] = _REDUCTIONS[rule.alias or str(rule.origin.name)]
    states = inner.parse_table.states
    for state, actions in list(states.items()):
        states[state] = {
            str(sym): (action, fast.get(id(arg), arg)) for sym, (action, arg) in actions.items()
        }
    inner.callbacks = callbacks
    return lark


def parse_shape(stmts: list[Stmt]) -> list[Node]:
    """Nest a balanced statement list (as the preprocessor produces) into blocks."""
    return _parser().parse(stmts)  # type: ignore[arg-type,return-value]
