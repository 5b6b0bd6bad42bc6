"""Pure ownership ledger: which addresses, routes, rules and VMAC links the daemon installed.

Every item the reflector puts into the kernel is recorded under its *key* (the kernel's
own identity of the item, see ``requests.py``) together with the set of *owners* that
want it ("static", "vrrp/VI_1", ...) and the item itself in wire form. Two owners may
want the same address (a static address that is also a VIP): it leaves the kernel only
when the last owner lets go.

The ledger is what makes restarts quiet. It is written to the runtime directory after
every change (:meth:`Ledger.dumps` / :meth:`Ledger.loads`, JSON, versioned), so:

* a restarted reflector (kill -9, watchdog) reads it back, checks the kernel with a dump
  and touches nothing that is already right: no VIP flaps;
* a restarted VRRP actor can ask what it owned (``owned`` command) and resume;
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
        entry.owners.discard(owner)
        if entry.owners:
            return False
        del self.entries[key]
        return True

    def forget(self, key: str) -> None:
        """Drop a key whatever its owners (the install failed, or the item was removed)."""
        self.entries.pop(key, None)

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
        return json.dumps(
            {
                "version": LEDGER_VERSION,
                "entries": [
                    {"key": k, "kind": e.kind, "owners": sorted(e.owners), "item": e.item}
                    for k, e in sorted(self.entries.items())
                ],
            },
            indent=1,
            sort_keys=True,
        )

    @classmethod
    def loads(cls, text: str) -> Ledger:
        """Rebuild a ledger; a file of another version or shape raises ValueError."""
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("version") != LEDGER_VERSION:
            raise ValueError("ownership file has an unknown version")
        ledger = cls()
        for raw in data.get("entries", []):
            if not isinstance(raw, dict):
                raise ValueError("ownership entry is not a map")
            key, kind, owners, item = (
                raw.get("key"),
                raw.get("kind"),
                raw.get("owners"),
                raw.get("item"),
            )
            if not isinstance(key, str) or kind not in KINDS or not isinstance(item, dict):
                raise ValueError(f"bad ownership entry {raw!r:.200}")
            if not isinstance(owners, list) or not all(isinstance(o, str) for o in owners):
                raise ValueError(f"bad owners in ownership entry {key}")
            ledger.entries[key] = Entry(str(kind), item, set(owners))
        return ledger
