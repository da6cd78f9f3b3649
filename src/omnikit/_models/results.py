"""What the hub's verbs report back."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import NamedTuple

import attrs

from omnikit._models.outbound import Delivery, ProviderEvent
from omnikit.errors import ValidationError

__all__ = [
    "DispatchReport",
    "ForgetReport",
    "IngestResult",
    "LoadRejection",
    "LoadReport",
    "ReceiveReport",
    "Rejection",
]


@attrs.define(frozen=True, kw_only=True)
class Rejection:
    """
    A message of a batch that was not accepted: its *index* in the batch and the *error*.

    Added in version 0.1.0.
    """

    index: int
    error: ValidationError
    message_id: str | None = None


@attrs.define(frozen=True, kw_only=True)
class IngestResult:
    """
    What `Hub.ingest()` did with a message or a batch.

    Attributes:
        accepted: Message ids stored by this call, in the order they came.
        duplicates: Message ids that were stored before (or earlier in the same batch):
            nothing changed for them.
        rejected: The messages that failed validation, with their index and error.
        suppressed: Message ids dropped unstored because they repeat a message an erasure
            removed, or carry an identifier under suppression (see `Hub.forget()`).

    Added in version 0.1.0.
    """

    accepted: tuple[str, ...] = ()
    duplicates: tuple[str, ...] = ()
    rejected: tuple[Rejection, ...] = ()
    suppressed: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether nothing was rejected."""
        return not self.rejected

    def raise_for_failures(self) -> None:
        """
        Raise an `ExceptionGroup` of the rejections' errors, if there were any.

        Added in version 0.1.0.
        """
        if self.rejected:
            total = (
                len(self.accepted)
                + len(self.duplicates)
                + len(self.rejected)
                + len(self.suppressed)
            )
            raise ExceptionGroup(
                f"{len(self.rejected)} of {total} messages rejected",
                [ValidationError(r.error.errors, prefix=f"[{r.index}]") for r in self.rejected],
            )

    def __add__(self, other: IngestResult) -> IngestResult:
        return IngestResult(
            accepted=self.accepted + other.accepted,
            duplicates=self.duplicates + other.duplicates,
            rejected=self.rejected + other.rejected,
            suppressed=self.suppressed + other.suppressed,
        )


@attrs.define(frozen=True, kw_only=True)
class ForgetReport:
    """
    What `Hub.forget()` erased.

    Attributes:
        customer_id: The customer's id.
        identities: How many identifiers were erased, linked or left unlinked.
        touchpoints: How many touchpoints were erased.
        erased_at: When.
        suppressed: How many identifiers were put under suppression.
        scrubbed: Whether the store's files keep no copy of what was erased either (see
            `CustomerStore.scrub()`): `False` on PostgreSQL until a `VACUUM FULL`, and on
            SQLite while a reader keeps the write-ahead log from being truncated.

    Added in version 0.1.0.
    """

    customer_id: str
    identities: int
    touchpoints: int
    erased_at: dt.datetime
    suppressed: int = 0
    scrubbed: bool = False


class LoadRejection(NamedTuple):
    """
    A message `Hub.load()` did not accept: where it was, and why.

    Attributes:
        path: The file it was read from.
        line: Its line in an NDJSON file (counting blank lines); its position, from 1, in
            a JSON array or among a Parquet file's rows.
        reason: Why it was rejected: not JSON, or each invalid field and why.

    Added in version 0.1.0.
    """

    path: str
    line: int
    reason: str


@attrs.define(frozen=True, kw_only=True)
class LoadReport:
    """
    What `Hub.load()` did with a set of files.

    Every message read is counted once: `lines == accepted + duplicates + suppressed +
    len(rejected)`.

    Attributes:
        files: The files read, in the order they were read.
        lines: How many messages were read (blank lines are not messages).
        accepted: How many were stored by this load.
        duplicates: How many were stored before (by an earlier, interrupted load, say, or
            earlier in the same files): nothing changed for them.
        suppressed: How many were dropped unstored, as `IngestResult.suppressed` says.
        rejected: The messages that are not JSON or not valid, with file, line and reason.

    Added in version 0.1.0.
    """

    files: tuple[str, ...] = ()
    lines: int = 0
    accepted: int = 0
    duplicates: int = 0
    suppressed: int = 0
    rejected: tuple[LoadRejection, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether nothing was rejected."""
        return not self.rejected

    def raise_for_failures(self) -> None:
        """
        Raise an `ExceptionGroup` of the rejections, if there were any.

        Each is a `ValidationError` prefixed with its file and line.

        Added in version 0.1.0.
        """
        if self.rejected:
            raise ExceptionGroup(
                f"{len(self.rejected)} of {self.lines} messages rejected",
                [ValidationError(f"{r.path}:{r.line}: {r.reason}") for r in self.rejected],
            )


@attrs.define(frozen=True, kw_only=True)
class DispatchReport:
    """
    What `Hub.dispatch()` did: the deliveries it touched, as they are now.

    Attributes:
        deliveries: Each delivery it attempted or settled, after the attempt.
        counts: How many of them are now in each status (`{"sent": 98, "queued": 2}`).

    Added in version 0.1.0.
    """

    deliveries: tuple[Delivery, ...] = ()
    counts: Mapping[str, int] = attrs.field(factory=dict)

    @classmethod
    def of(cls, deliveries: Iterable[Delivery]) -> DispatchReport:
        """The report of *deliveries*, counted by status."""
        done = tuple(deliveries)
        return cls(deliveries=done, counts=dict(Counter(d.status.value for d in done)))

    def __repr__(self) -> str:
        counts = ", ".join(f"{status}={n}" for status, n in sorted(self.counts.items()))
        return f"DispatchReport({counts or 'nothing due'})"


@attrs.define(frozen=True, kw_only=True)
class ReceiveReport:
    """
    What `Hub.receive()` recorded from one webhook request.

    Attributes:
        events: Every event the request carried, as the connector parsed it.
        deliveries: The deliveries a receipt moved forward, as they are now (a repeated or
            late receipt moves none).
        ingested: Message ids of the inbound messages stored as touchpoints.
        rejected: The inbound messages that could not be stored, each with its error (an
            address no identity takes, for one).

    Added in version 0.1.0.
    """

    events: tuple[ProviderEvent, ...] = ()
    deliveries: tuple[Delivery, ...] = ()
    ingested: tuple[str, ...] = ()
    rejected: tuple[Rejection, ...] = ()
