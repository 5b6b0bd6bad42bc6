"""Pure ownership ledger: which addresses, routes and rules the daemon installed.

Every item the reflector puts into the kernel is recorded under its *key* (the kernel's
own identity of the item, see ``requests.py``) together with the set of *owners* that
want it ("static", "vrrp/VI_1", ...) and the item itself in wire form. Two owners may
want the same address (a static address that is also a VIP): it leaves the kernel only
when the last owner lets go.

The ledger is what makes restarts quiet. It is kept in the runtime directory as a
journal: one JSON line per change (``claim``/``release``/``forget``), appended before the
command is answered, and rewritten compactly (:meth:`Ledger.dumps`) at start and when
the journal has grown well past the ledger. Appending a line costs microseconds where
rewriting the whole file after each change cost milliseconds (measured with the
benchmark); a line cut short by a crash is ignored on reading (:meth:`Ledger.loads`). So:

* a restarted reflector (kill -9, watchdog) reads it back, checks the kernel with a dump
  and touches nothing that is already right: no VIP flaps;
* a restarted VRRP actor re-sends its ``netlink.addresses.set``: what is already there
  is left alone (its own resume reads the interface table, not this ledger);
* an orderly stop removes what the ledger lists, except VRRP-owned items under ``-V``.

Planning is pure: :meth:`Ledger.claim` and :meth:`Ledger.release` return the keys whose
kernel state must change; the shell does the I/O and reports failures back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

LEDGER_VERSION = 1
KINDS = ("addresses", "routes", "rules", "links")
STATIC_OWNER = "static"


@dataclass(slots=True)
class Entry:
    """One installed item: what it is (wire form) and who wants it."""

    kind: str
    item: dict[str, Any]
    owners: set[str] = field(default_factory=set)


class Ledger:
    """Key → :class:`Entry`; the single record of what the daemon put in the kernel."""

    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}
        #: changes not yet written out (see :meth:`drain`)
        self.journal: list[dict[str, Any]] = []

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, key: object) -> bool:
        return key in self.entries

    def get(self, key: str) -> Entry | None:
        return self.entries.get(key)

    def claim(self, owner: str, kind: str, key: str, item: dict[str, Any]) -> bool:
        """``owner`` wants ``item``; True if it is new to the ledger (must be installed)."""
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}")
        self.journal.append({"op": "claim", "owner": owner, "kind": kind, "key": key, "item": item})
        entry = self.entries.get(key)
        if entry is None:
            self.entries[key] = Entry(kind, item, {owner})
            return True
        entry.owners.add(owner)
        entry.item = item  # the latest description wins (same key, maybe other options)
        return False

    def release(self, owner: str, key: str) -> bool:
        """``owner`` no longer wants ``key``; True if nobody does (must be removed)."""
        entry = self.entries.get(key)
        if entry is None:
            return False
        self.journal.append({"op": "release", "owner": owner, "key": key})
        entry.owners.discard(owner)
        if entry.owners:
            return False
        del self.entries[key]
        return True

    def forget(self, key: str) -> None:
        """Drop a key whatever its owners (the install failed, or the item was removed)."""
        if self.entries.pop(key, None) is not None:
            self.journal.append({"op": "forget", "key": key})

    def drain(self) -> str:
        """The journal lines of the changes since the last call ("" if none)."""
        if not self.journal:
            return ""
        text = "".join(json.dumps(op, separators=(",", ":")) + "\n" for op in self.journal)
        self.journal.clear()
        return text

    def keys_of(self, owner: str, kind: str | None = None) -> list[str]:
        return [
            k
            for k, e in self.entries.items()
            if owner in e.owners and (kind is None or e.kind == kind)
        ]

    def owners(self) -> set[str]:
        return {o for e in self.entries.values() for o in e.owners}

    def by_owner(self, owner: str | None = None) -> dict[str, dict[str, list[dict[str, Any]]]]:
        """``{owner: {kind: [item, ...]}}`` for one owner or all of them."""
        out: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for e in self.entries.values():
            for o in sorted(e.owners):
                if owner is not None and o != owner:
                    continue
                out.setdefault(o, {k: [] for k in KINDS})[e.kind].append(e.item)
        return out

    def releasable_on_stop(self, keep_vrrp: bool) -> list[str]:
        """Keys to remove at an orderly stop (``-V`` keeps what VRRP instances own)."""
        out = []
        for key, e in self.entries.items():
            if keep_vrrp and any(o != STATIC_OWNER for o in e.owners):
                continue
            out.append(key)
        return out

    def plan_exclusive(self, owner: str, keep: Iterable[str]) -> list[str]:
        """Keys ``owner`` holds that are not in ``keep`` (an exclusive set replaces them)."""
        wanted = set(keep)
        return [k for k in self.keys_of(owner) if k not in wanted]

    # ---- persistence ---------------------------------------------------------------
    def dumps(self) -> str:
        """A compact file: the version line, then one claim line per owner of each item."""
        lines = [json.dumps({"version": LEDGER_VERSION})]
        for key, e in sorted(self.entries.items()):
            for owner in sorted(e.owners):
                op = {"op": "claim", "owner": owner, "kind": e.kind, "key": key, "item": e.item}
                lines.append(json.dumps(op, separators=(",", ":")))
        return "\n".join(lines) + "\n"

    @classmethod
    def loads(cls, text: str) -> tuple[Ledger, int]:
        """Replay a file; returns the ledger and the number of lines that were skipped.

        A file of another version raises ValueError. A line that is not a valid change
        (a crash cut it short, or it was damaged) is skipped and counted.
        """
        lines = text.splitlines()
        try:
            head = json.loads(lines[0]) if lines else None
        except ValueError:
            head = None
        if not isinstance(head, dict) or head.get("version") != LEDGER_VERSION:
            raise ValueError("ownership file has an unknown version")
        ledger = cls()
        skipped = 0
        for line in lines[1:]:
            try:
                ledger._replay(json.loads(line))
            except (ValueError, TypeError, KeyError):
                skipped += 1
        ledger.journal.clear()
        return ledger, skipped

    def _replay(self, op: Any) -> None:
        if not isinstance(op, dict):
            raise ValueError("not a map")
        kind = op.get("op")
        if kind == "claim":
            owner, key, item = op["owner"], op["key"], op["item"]
            if not isinstance(owner, str) or not isinstance(key, str) or not isinstance(item, dict):
                raise ValueError("bad claim")
            self.claim(owner, str(op["kind"]), key, item)
        elif kind == "release":
            self.release(str(op["owner"]), str(op["key"]))
        elif kind == "forget":
            self.forget(str(op["key"]))
        else:
            raise ValueError(f"unknown change {kind!r}")
