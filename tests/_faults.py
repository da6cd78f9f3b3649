"""Real SQLite with faults a test chooses: another writer holding the lock, a refused change."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from omnikit.errors import StoreError
from omnikit.stores.sqlite import SQLiteStore

Fault = Callable[[set[str]], StoreError | None]
"""What applying a change that stores these message ids raises, if anything."""


@contextlib.contextmanager
def write_locked(path: Path) -> Iterator[None]:
    """Another connection holds the database's write lock meanwhile."""
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            other.execute("ROLLBACK")


class FaultyStore(SQLiteStore):
    """SQLite whose transactions raise what *fault* says for the new touchpoints of a change."""

    def __init__(self, path: Path, fault: Fault) -> None:
        super().__init__(path)
        self.fault = fault

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Any]:
        with super().transaction() as tx:
            yield _FaultyTransaction(tx, self.fault)


class _FaultyTransaction:
    """The real transaction, but for `apply` of a change *fault* refuses."""

    def __init__(self, tx: Any, fault: Fault) -> None:
        self.tx, self.fault = tx, fault

    def __getattr__(self, name: str) -> Any:
        return getattr(self.tx, name)

    def apply(self, changes: Any) -> None:
        error = self.fault({tp.message_id for tp, _ in changes.new_touchpoints})
        if error is not None:
            raise error
        self.tx.apply(changes)
