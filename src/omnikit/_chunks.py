"""
Storing a batch chunk by chunk, and isolating the messages a store refuses.

A store that refuses a transaction for what it holds (`StoreRefusedError`) would refuse it on
every retry, and the valid messages in it would never get in. The chunk's halves are tried
instead, each in a transaction of its own, down to the single messages the store refuses:
those are rejected, the rest stored, once.

Any other `StoreError` says nothing about the messages (a lock, a full disk, a lost
connection, a fault of the store): it is raised at once, the chunk's transaction rolled back,
and no message is marked rejected for it.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import attrs

from omnikit._models.results import IngestResult, Rejection
from omnikit._models.touchpoints import Touchpoint
from omnikit.errors import StoreRefusedError, ValidationError

__all__ = ["in_order", "store_isolating"]

IngestChunk = Callable[[list[Touchpoint]], Generator[Any, Any, tuple[IngestResult, set[str]]]]
"""A flow that stores a chunk in one transaction: what it did and the customers that changed."""


def in_order(result: IngestResult) -> IngestResult:
    """*result* with its rejections in payload order (the store's refusals come last)."""
    ordered = tuple(sorted(result.rejected, key=lambda r: r.index))
    return result if ordered == result.rejected else attrs.evolve(result, rejected=ordered)


def store_isolating(
    ingest_chunk: IngestChunk,
    chunk: list[Touchpoint],
    indexes: list[int],
    committed: list[IngestResult],
) -> Generator[Any, Any, set[str]]:
    """
    Store *chunk* in one transaction, or isolate the messages the store refuses: a flow.

    If the store refuses every message of *chunk* on its own, the fault is the store's, not
    the messages': its error is raised. Appends the result of each transaction (and of each
    message refused) to *committed*; returns the ids of the customers that changed.

    Args:
        ingest_chunk: The flow that stores a chunk in one transaction.
        chunk: The messages, read.
        indexes: Each message's index in the payload, for its rejection.
        committed: Where to append what was done, which the caller reports even when an
            error is raised.

    Raises:
        StoreRefusedError: If the store refuses every message of the chunk.
        StoreError: As soon as the store fails otherwise (unavailable, or at fault).
    """
    try:
        done, changed = yield from ingest_chunk(chunk)
    except StoreRefusedError as error:
        if len(chunk) == 1:
            raise
        before = len(committed)
        changed = yield from _bisect(ingest_chunk, chunk, indexes, error, committed)
        if not any(r.accepted or r.duplicates for r in committed[before:]):
            del committed[before:]
            raise
        return changed
    committed.append(done)
    return changed


def _bisect(
    ingest_chunk: IngestChunk,
    chunk: list[Touchpoint],
    indexes: list[int],
    error: StoreRefusedError,
    committed: list[IngestResult],
) -> Generator[Any, Any, set[str]]:
    if len(chunk) == 1:
        refused = ValidationError(f"message: the store refused it ({error})")
        rejection = Rejection(index=indexes[0], error=refused, message_id=chunk[0].message_id)
        committed.append(IngestResult(rejected=(rejection,)))
        return set()
    middle = len(chunk) // 2
    changed: set[str] = set()
    for part, where in ((chunk[:middle], indexes[:middle]), (chunk[middle:], indexes[middle:])):
        try:
            done, touched = yield from ingest_chunk(part)
        except StoreRefusedError as exc:
            touched = yield from _bisect(ingest_chunk, part, where, exc, committed)
        else:
            committed.append(done)
        changed |= touched
    return changed
