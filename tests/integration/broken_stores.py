"""
Three stores with the faults a host's own store could have, for the contract to catch.

Each behaves well on the simple checks (an earlier contract passed all three); each breaks
one promise of the port.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs

from omnikit.stores import Store, records
from omnikit.stores._drive import Flow
from omnikit.stores._sql import SQLQueries
from omnikit.stores.memory import MemoryStore
from omnikit.stores.sqlite import SQLiteStore


class MutatingStore(MemoryStore):
    """
    Updates a customer in place: the row it was first given turns into each later one.

    Everything it returns is right; but the hub's row, handed over in an earlier
    transaction, changes under it (and rolling back restores the changed object).
    """

    def _apply(self, changes: records.Changes) -> None:
        held = {cid: self._customers[cid] for cid in changes.customers if cid in self._customers}
        super()._apply(changes)
        for cid, old in held.items():
            new = self._customers[cid]
            for field in attrs.fields(type(new)):
                setattr(old, field.name, getattr(new, field.name))
            self._customers[cid] = old


class EmailKeepingStore(MemoryStore):
    """Erases identity rows, except emails: the erased email survives `forget`."""

    def _erase_identity(self, key: records.IdKey) -> None:
        if key[0] != "email":
            super()._erase_identity(key)


class _LosingQueries(SQLQueries):
    def apply(self, changes: Any) -> Flow[None]:
        return super().apply(attrs.evolve(changes, touchpoint_owners={}))


class WriteLosingStore(SQLiteStore):
    """
    An SQLite store that loses one kind of write: touchpoints moving to another customer.

    New touchpoints, merges and reassignments of whole customers land; only the moves of
    single touchpoints a late event or an unmerge makes are lost.
    """

    def __init__(self, path: Any) -> None:
        super().__init__(path)
        self._queries = _LosingQueries(self._dialect)


def open_kind(kind: str, folder: Path) -> Store:
    """A new store of *kind* (a class of this module, or a shipped store), in *folder*."""
    if kind == "SQLiteStore":
        return SQLiteStore(folder / "contract.db")
    if kind == "WriteLosingStore":
        return WriteLosingStore(folder / "contract.db")
    memory: dict[str, type[MemoryStore]] = {
        "MemoryStore": MemoryStore,
        "MutatingStore": MutatingStore,
        "EmailKeepingStore": EmailKeepingStore,
    }
    return memory[kind]()
