"""docs/compatibility.md and the keyword registry agree: the same keywords in the same
blocks with the same status, and the file is exactly what the generator writes."""

from __future__ import annotations

import re

from pykeepalived.conf.compat import markdown, rows, status
from pykeepalived.conf.loader import root_block
from pykeepalived.conf.registry import Keyword
from tests.paths import DOCS

TABLE = DOCS / "compatibility.md"
REGEN = "regenerate: python -m pykeepalived.conf.compat > docs/compatibility.md"


def _table_rows(text: str) -> set[tuple[str, str, str]]:
    """(block, keyword, status) of every row of the committed table."""
    out = set()
    block = ""
    for line in text.splitlines():
        if line.startswith("## "):
            block = line[3:]
        m = re.fullmatch(r"\| `(.+?)` \| \w+ \| ([^|]+?) \| .*\|", line)
        if m:
            out.add((block, m[1].replace("\\|", "|"), m[2]))
    return out


def test_table_lists_every_registered_keyword_with_its_status() -> None:
    committed = _table_rows(TABLE.read_text())
    registry = {(block, name, st) for block, name, _, st, _ in rows(root_block())}
    assert registry - committed == set(), f"missing from or wrong in the table; {REGEN}"
    assert committed - registry == set(), f"in the table, not in the registry; {REGEN}"


def test_table_is_the_generated_text() -> None:
    assert TABLE.read_text() == markdown(root_block()), REGEN


def test_status_follows_the_registry_marks() -> None:
    assert status(Keyword("a", "scalar")) == ("parsed", "")
    assert status(Keyword("a", "scalar", unimplemented="SNMP"))[0] == "warns"
    dep = Keyword("a", "scalar", deprecated="a is old", reported=True)
    assert status(dep) == ("deprecated", "a is old (reported by keepalived too)")
    both = Keyword("a", "scalar", deprecated="old", unimplemented="x")
    assert status(both) == ("deprecated, warns", "old; not implemented: x")


def test_table_parser_reads_the_rows() -> None:
    """The row parser above sees every keyword row, so the set comparison is not vacuous."""
    text = TABLE.read_text()
    assert len(_table_rows(text)) == sum(1 for ln in text.splitlines() if ln.startswith("| `"))
    assert len(_table_rows(text)) == len(rows(root_block())) > 400
