"""The keyword compatibility table (``docs/compatibility.md``), generated from the registry.

Every keyword of every block of the keyword registry, with what the registry itself knows
about it: accepted with a "not implemented" warning, accepted with a deprecation warning,
or parsed and validated without a warning. The registry does not record whether the
runtime acts on a parsed keyword, so the table does not claim it either.

Regenerate with ``python -m pykeepalived.conf.compat > docs/compatibility.md``;
``tests/unit/conf/test_compat_table.py`` fails when the file and the registry disagree.
"""

from __future__ import annotations

import sys
from collections import deque

from pykeepalived.conf.registry import BlockDef, Keyword

HEADER = """\
# Keyword compatibility

Generated from pykeepalived's keyword registry by
`python -m pykeepalived.conf.compat > docs/compatibility.md`; a unit test
(`tests/unit/conf/test_compat_table.py`) fails when this file and the registry disagree,
so it lists exactly the keywords `pykeepalived -t` accepts.

Status, as the registry records it:

- **parsed**: read and validated into the configuration model; a bad value gets
  keepalived's diagnostic. The registry does not record whether the running daemon acts on
  the value: a *parsed* keyword may still be ignored at run time (see the "not implemented
  yet" list in [ARCHITECTURE.md](ARCHITECTURE.md)).
- **warns**: accepted, and `pykeepalived -t` and the daemon warn that pykeepalived does not
  implement the feature (the reason is given); the value has no effect.
- **deprecated**: an old spelling, accepted with a warning naming its replacement
  (*reported by keepalived too* when keepalived 2.2.7 prints the same warning).
- **deprecated, warns**: both.

No keyword is refused by the registry: keepalived's keywords are all accepted (refusals
are command-line options such as SNMP's, which exit 1). An unknown keyword is an error,
with a "did you mean" when one is close.
"""


STATUSES = ("parsed", "warns", "deprecated", "deprecated, warns")


def block_paths(root: BlockDef) -> list[tuple[str, BlockDef, list[str]]]:
    """Each block once, breadth first in keyword order: (first path, block, other paths)."""
    first: dict[int, tuple[str, BlockDef, list[str]]] = {}
    order: list[int] = []
    queue: deque[tuple[str, BlockDef]] = deque([("", root)])
    while queue:
        path, block = queue.popleft()
        if id(block) in first:
            first[id(block)][2].append(path)
            continue
        first[id(block)] = (path, block, [])
        order.append(id(block))
        for name, kw in block.keywords.items():
            if kw.block is not None:
                queue.append((f"{path} > {name}" if path else name, kw.block))
    return [first[i] for i in order]


def status(kw: Keyword) -> tuple[str, str]:
    """(status, note) of one keyword, from the registry's own marks."""
    notes = []
    if kw.deprecated is not None:
        notes.append(kw.deprecated + (" (reported by keepalived too)" if kw.reported else ""))
    if kw.unimplemented is not None:
        notes.append(f"not implemented: {kw.unimplemented}")
    if kw.deprecated is not None and kw.unimplemented is not None:
        return "deprecated, warns", "; ".join(notes)
    if kw.deprecated is not None:
        return "deprecated", notes[0]
    if kw.unimplemented is not None:
        return "warns", notes[0]
    return "parsed", ""


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def rows(root: BlockDef) -> list[tuple[str, str, str, str, str]]:
    """(block path, keyword, kind, status, note) for every keyword, in table order."""
    out: list[tuple[str, str, str, str, str]] = []
    for path, block, _ in block_paths(root):
        for name in sorted(block.keywords):
            kw = block.keywords[name]
            st, note = status(kw)
            out.append((path or "(top level)", name, kw.kind, st, note))
    return out


def markdown(root: BlockDef) -> str:
    """The whole of ``docs/compatibility.md``."""
    table = rows(root)
    counts: dict[str, int] = {}
    for r in table:
        counts[r[3]] = counts.get(r[3], 0) + 1
    summary = "; ".join(f"{counts[s]} {s}" for s in STATUSES if s in counts)
    lines = [HEADER, f"{len(table)} keywords: {summary}.", ""]
    for path, block, others in block_paths(root):
        lines.append(f"## {path or '(top level)'}")
        lines.append("")
        if others:
            lines.append("Also reached as: " + ", ".join(f"`{o}`" for o in others) + ".")
            lines.append("")
        lines.append("| keyword | kind | status | note |")
        lines.append("|---|---|---|---|")
        for name in sorted(block.keywords):
            kw = block.keywords[name]
            st, note = status(kw)
            lines.append(f"| `{_cell(name)}` | {kw.kind} | {st} | {_cell(note)} |")
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    from pykeepalived.conf.loader import root_block

    sys.stdout.write(markdown(root_block()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
