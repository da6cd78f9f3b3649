"""The hub's ingestion and reading verbs: ingest, load, track, identify, consent, history, unmerge."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from omnikit._chunks import in_order, store_isolating
from omnikit._engines.consents import answer_properties
from omnikit._engines.inbound import parse_message
from omnikit._engines.orders import fold_orders
from omnikit._engines.payloads import build_message, read_payload
from omnikit._engines.profile import to_us
from omnikit._engines.times import time_error
from omnikit._engines.unmerge import merge_to_undo, unmerge
from omnikit._hub._base import _FlowCore
from omnikit._hub._core import CustomerRef, require_positive
from omnikit._hub.flows import (
    Blocking,
    Find,
    HubFlow,
    InTransaction,
    MergesOf,
    TouchpointById,
    TouchpointsOf,
)
from omnikit._load import LoadPath, load_flow
from omnikit._models.customers import Customer, LinkRecord, MergeRecord
from omnikit._models.orders import Order
from omnikit._models.results import IngestResult, LoadReport, Rejection
from omnikit._models.touchpoints import Touchpoint
from omnikit.converters import parse_datetime
from omnikit.errors import NotFoundError, OmnikitError, PolicyError, ValidationError

__all__ = ["LARGE_BATCH", "LARGE_TEXT", "Ingestion"]

LARGE_TEXT = 16 * 1024
"""A payload of more characters (or bytes) than this is read and validated as `Blocking` work."""

LARGE_BATCH = 64
"""A batch of more messages than this is validated as `Blocking` work."""


def _is_large(payload: object) -> bool:
    """Whether reading and validating *payload* would hold an event loop up noticeably."""
    if isinstance(payload, str | bytes | bytearray):
        return len(payload) > LARGE_TEXT
    if isinstance(payload, Mapping):
        payload = payload.get("batch")
    return isinstance(payload, list) and len(payload) > LARGE_BATCH


class Ingestion(_FlowCore):
    """The ingestion and reading verbs of `Hub` (see there)."""

    # -- ingestion ---------------------------------------------------------------------------

    def ingest(
        self,
        payload: Mapping[str, Any] | Sequence[Mapping[str, Any]] | str | bytes,
        *,
        source: str | None = None,
    ) -> IngestResult:
        """
        Ingest one Segment Spec message, a batch envelope (`{"batch": [...]}`), or a list.

        The payload may also be JSON text, as a collector receives it: one message, a batch
        envelope, or newline-delimited JSON (one message per line, each line a batch entry).

        Every accepted message (identify and alias included) is stored as a touchpoint and
        resolved to a customer. A message id seen before changes nothing. In a batch, bad
        messages are reported in `IngestResult.rejected` with their index, and the good ones
        are accepted; retrying a whole batch neither loses nor duplicates anything.

        Args:
            payload: The message(s).
            source: Where the host received them (`"pos"`, `"backend"`, `"web"`): it
                becomes each touchpoint's `context.source`, and the touchpoints are verified
                when it is one of `IdentityRules.verified_sources`; without it, they are
                claims, whatever they say about themselves.

        Raises:
            ValidationError: If a single message (not a batch) is invalid.
            StoreError: If the store fails; `error.partial` holds the `IngestResult` of what
                was committed before the failure. A `StoreUnavailableError` (locked, a full
                disk, a lost connection) stored nothing of the transaction it ended: retry
                the same payload. A message the store refuses for its content
                (`StoreRefusedError`) is rejected in a batch; ingested alone, it raises.

        Added in version 0.1.0.
        """
        return self._run(self._ingested(payload, source))

    def _ingested(self, payload: object, source: str | None) -> HubFlow[IngestResult]:
        """
        `Hub.ingest()`: *payload* read, validated and stored.

        A large payload is read and validated as `Blocking` work, which the async hub does
        in a worker thread: the event loop goes on serving other tasks meanwhile.
        """
        large = _is_large(payload)
        read = functools.partial(read_payload, payload)
        messages, is_batch = (yield Blocking(read)) if large else read()
        return (yield from self._ingest(messages, is_batch=is_batch, source=source, blocking=large))

    def _parse(
        self,
        messages: Iterable[tuple[Any, str | None]],
        *,
        is_batch: bool,
        source: str | None,
        now: dt.datetime,
    ) -> tuple[list[Touchpoint], list[int], list[Rejection]]:
        """The messages read, as touchpoints, each with its index in the payload; the rejected."""
        rejected: list[Rejection] = []
        parsed: list[Touchpoint] = []
        indexes: list[int] = []  # each parsed message's index in the payload
        options, cache = self.options, self._read_cache
        trust = self.identity_rules.trust_of(source)
        for index, (message, text) in enumerate(messages):
            try:
                if isinstance(message, ValidationError):
                    raise message
                parsed.append(
                    parse_message(
                        message,
                        options,
                        now=now,
                        text=text,
                        cache=cache,
                        source=source,
                        trust=trust,
                        blocked=self.identity_rules.is_blocked,
                    )
                )
            except ValidationError as exc:
                if not is_batch:
                    raise
                message_id = message.get("messageId") if isinstance(message, Mapping) else None
                rejected.append(
                    Rejection(
                        index=index,
                        error=exc,
                        message_id=message_id if isinstance(message_id, str) else None,
                    )
                )
            else:
                indexes.append(index)
        return parsed, indexes, rejected

    def _ingest(
        self,
        messages: Iterable[tuple[Any, str | None]],
        *,
        is_batch: bool,
        source: str | None,
        blocking: bool = False,
    ) -> HubFlow[IngestResult]:
        """
        `Hub.ingest()` of messages already read, each with the JSON text it came from.

        With *blocking*, the messages are validated as `Blocking` work (see `_ingested`).
        """
        now = self.clock()
        parse = functools.partial(self._parse, messages, is_batch=is_batch, source=source, now=now)
        parsed, indexes, rejected = (yield Blocking(parse)) if blocking else parse()
        result = IngestResult(rejected=tuple(rejected))
        for start in range(0, len(parsed), self.batch_size):
            end = start + self.batch_size
            committed: list[IngestResult] = []
            try:
                changed = yield from store_isolating(
                    self._ingest_chunk, parsed[start:end], indexes[start:end], committed
                )
            except OmnikitError as exc:
                exc.partial = in_order(sum(committed, result))
                raise
            result = sum(committed, result)
            if self.segments and changed:
                try:
                    yield from self._update_segments(changed, now=now)
                except OmnikitError as exc:
                    exc.partial = in_order(result)
                    raise
        return in_order(result)

    def load(
        self,
        path: LoadPath,
        /,
        *,
        source: str | None = None,
        batch_size: int = 5000,
        progress: Callable[[LoadReport], None] | None = None,
    ) -> LoadReport:
        """
        Load history from files: exactly what `Hub.ingest()` gives for the same messages.

        ```python
        report = hub.load("exports/2025-*.ndjson.gz", source="backend")
        report.raise_for_failures()
        ```

        Formats, by the file's name: NDJSON (`.ndjson`, `.jsonl`, or `.json` holding one
        message per line), a JSON array of messages (`.json`), each optionally gzipped
        (`.gz`); and Parquet (`.parquet`, one message per row, a null column being an
        absent field) with the `load` extra (`pip install 'omnikit[load]'`).

        The files are read in order (a folder's and a glob's by name) and their messages
        handed to `Hub.ingest()` *batch_size* at a time; each batch is committed in
        transactions of at most the hub's own *batch_size* lines. A line that is not JSON or
        not a valid message is reported with its file and line, and the others are kept.
        Loading the same files again changes nothing (message ids already stored are
        duplicates): after an interruption, run the same load again to finish it.

        Args:
            path: A file, a folder, a glob (`"exports/**/*.ndjson"`), or a list of these.
            source: Where the history comes from, as for `Hub.ingest()`.
            batch_size: How many messages to read before handing them to `Hub.ingest()`.
            progress: Called with the report so far after each batch.

        Raises:
            ValidationError: If *path* names no file load reads, or a Parquet file needs
                pyarrow and it is not installed, or *batch_size* is not positive.
            StoreError: If the store fails; `error.partial` holds the `LoadReport` of what
                was done before. Nothing committed is lost: load the same files again.

        Added in version 0.1.0.
        """

        # The messages as read, with their text: ingestion need not encode them again.
        def ingest(messages: Iterable[tuple[Any, str | None]]) -> HubFlow[IngestResult]:
            return self._ingest(messages, is_batch=True, source=source, blocking=True)

        return self._run(
            load_flow(
                ingest, path, batch_size=batch_size, chunk_size=self.batch_size, progress=progress
            )
        )

    def track(
        self,
        event: str,
        *,
        properties: Mapping[str, Any] | None = None,
        user_id: str | None = None,
        anonymous_id: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        identities: Mapping[str, str] | None = None,
        channel: str | None = None,
        timestamp: dt.datetime | str | None = None,
        message_id: str | None = None,
        context: Mapping[str, Any] | None = None,
        source: str | None = None,
    ) -> Touchpoint:
        """
        Record that the customer did *event*; return the stored touchpoint, resolved.

        Identify the customer with any of *user_id*, *anonymous_id*, *email*, *phone*, or
        *identities* (`{"loyalty_id": "L-123"}`): at least one, and the event carries just
        those (a sale at the till known by its loyalty card, a call by the caller's phone).
        Pass *message_id* to make retries safe; without one, each call is a new event. Name
        the *source* as for `Hub.ingest()`: the identifiers are verified only when it is one
        of `IdentityRules.verified_sources`.

        Raises:
            ValidationError: If the event is invalid or names no identifier.
            PolicyError: If the message was dropped (`reason="suppressed"`): it carries an
                identifier under suppression (see `Hub.forget()`).

        Added in version 0.1.0.
        """
        message = build_message(
            "track",
            user_id=user_id,
            anonymous_id=anonymous_id,
            email=email,
            phone=phone,
            identities=identities,
            channel=channel,
            timestamp=timestamp,
            message_id=message_id,
            context=context,
            traits_field="context",
            traits=None,
            now=self.clock,
        )
        message["event"] = event
        if properties is not None:
            message["properties"] = properties
        return self._run(self._stored(message, source))

    def identify(
        self,
        *,
        traits: Mapping[str, Any] | None = None,
        user_id: str | None = None,
        anonymous_id: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        identities: Mapping[str, str] | None = None,
        channel: str | None = None,
        timestamp: dt.datetime | str | None = None,
        message_id: str | None = None,
        context: Mapping[str, Any] | None = None,
        source: str | None = None,
    ) -> Customer:
        """
        Tell the hub who the customer is and what is known about them; return the customer.

        Name the *source* as for `Hub.ingest()`: after the customer authenticated, a source
        in `IdentityRules.verified_sources` links these identifiers for certain; anything
        else is a claim (a form, the browser), which acts only through its own session and
        never joins or merges customers through an email, phone, card or user id.

        Raises:
            ValidationError: If an identifier or a trait is invalid, or none is given.
            PolicyError: If the message was dropped (`reason="suppressed"`): it carries an
                identifier under suppression (see `Hub.forget()`).

        Added in version 0.1.0.
        """
        message = build_message(
            "identify",
            user_id=user_id,
            anonymous_id=anonymous_id,
            email=email,
            phone=phone,
            identities=identities,
            channel=channel,
            timestamp=timestamp,
            message_id=message_id,
            context=context,
            traits_field="traits",
            traits=traits,
            now=self.clock,
        )
        return self._run(self._identified(message, source))

    def _identified(self, message: Mapping[str, Any], source: str | None) -> HubFlow[Customer]:
        tp = yield from self._stored(message, source)
        return (yield from self._found(tp.customer_id or ""))

    def set_consent(
        self,
        customer: CustomerRef,
        *,
        purpose: str,
        granted: bool,
        channel: str | None = None,
        source: str = "",
        timestamp: dt.datetime | str | None = None,
        message_id: str | None = None,
        expires_at: dt.datetime | str | None = None,
    ) -> Customer:
        """
        Record a customer's answer about *purpose* on *channel*; return the updated customer.

        The answer is stored as a `Consent Updated` touchpoint; *channel* `None` means every
        channel. An answer with *expires_at* lapses then: from that moment it is no consent
        to rules and `Customer.has_consent()`; segments built on it drop the customer only
        when their segments are evaluated again (`Hub.refresh_segments()`, or their next
        ingested event).

        Args:
            customer: The customer, or any identifier the store can resolve.
            purpose: What the answer is about, in any case (`"Marketing"` is stored as
                `"marketing"`; see `Consent.purpose`).
            granted: The answer: a bool, or a spelling ingestion reads (`"no"`, `0`; see
                the ingestion guide).
            channel: The channel it is about; `None` for every channel.
            source: Where it was collected (`"pos"`, `"web_signup"`).
            timestamp: When the customer answered; now by default.
            message_id: The touchpoint's id, for a call that may be retried.
            expires_at: When the answer lapses (a time with a UTC offset).

        Raises:
            NotFoundError: If *customer* is unknown.
            ValidationError: If the channel, purpose, answer or expiry is invalid.

        Added in version 0.1.0.
        """

        def consented() -> HubFlow[Customer]:
            record = yield from self._customer_record(customer)
            if channel is not None:
                self.channels.require(channel)
            properties = answer_properties(
                purpose=purpose,
                granted=granted,
                channel=channel,
                source=source,
                expires_at=expires_at,
            )
            moment = self._moment(timestamp)
            # Recorded as the hub's own touchpoint: the customer's best identity, no invented
            # one, and no activity counted on a channel they may not have used.
            yield from self._emit(
                record,
                "Consent Updated",
                at=moment,
                properties=properties,
                channel=channel,
                source=source or "omnikit",
                message_id=message_id,
                reevaluate=True,
            )
            return (yield from self._found(record.id))

        return self._run(consented())

    def _moment(self, timestamp: dt.datetime | str | None) -> dt.datetime:
        """When something the host tells the hub happened: *timestamp*, or now; checked."""
        now = self.clock()
        moment = now if timestamp is None else parse_datetime(timestamp)
        options = self.options
        problem = time_error(
            moment, "timestamp", now=now, max_past=options.max_past, max_future=options.max_future
        )
        if problem is not None:
            raise ValidationError(problem)
        return moment

    def _stored(self, message: Mapping[str, Any], source: str | None) -> HubFlow[Touchpoint]:
        messages, _ = read_payload(message)
        result = yield from self._ingest(messages, is_batch=False, source=source)
        if result.suppressed:
            raise PolicyError(
                f"message {message['messageId']!r} was dropped: it names an identifier under "
                "suppression (see Hub.unsuppress()) or repeats an erased message",
                reason="suppressed",
            )
        tp: Touchpoint | None = yield TouchpointById(message["messageId"])
        if tp is None:  # pragma: no cover - erased concurrently
            raise NotFoundError("touchpoint", message["messageId"])
        return tp

    # -- reading -----------------------------------------------------------------------------

    def customers(self, *, batch_size: int = 500) -> Iterator[Customer]:
        """
        Every customer, in id order, streamed from the store *batch_size* at a time.

        ```python
        for customer in hub.customers():
            ...
        ```

        Only one page of customers is held at a time, however many the store holds.

        Args:
            batch_size: Customers read per trip to the store.

        Raises:
            ValidationError: If *batch_size* is not a positive integer.

        Added in version 0.1.0.
        """
        require_positive("batch_size", batch_size)
        return self._stream(self._customer_pages(batch_size))

    def touchpoints(
        self,
        customer: CustomerRef,
        *,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: int | None = None,
    ) -> list[Touchpoint]:
        """
        The customer's touchpoints, oldest first, with `since <= occurred_at < until`.

        Raises:
            NotFoundError: If *customer* is unknown.

        Added in version 0.1.0.
        """

        def read() -> HubFlow[list[Touchpoint]]:
            record = yield from self._customer_record(customer)
            found: list[Touchpoint] = yield TouchpointsOf(
                customer_id=record.id, since=since, until=until, limit=limit
            )
            return found

        return self._run(read())

    def orders(self, customer: CustomerRef) -> list[Order]:
        """
        The customer's orders, folded from their order and fulfilment events, oldest first.

        Raises:
            NotFoundError: If *customer* is unknown.

        Added in version 0.1.0.
        """

        def read() -> HubFlow[list[Order]]:
            record = yield from self._customer_record(customer)
            history = yield from self._history(record.id)
            return fold_orders(history, currency=self.currency)

        return self._run(read())

    def merges(self, customer: CustomerRef) -> list[MergeRecord]:
        """
        The audit trail of the merges that built the customer, oldest first.

        Each record says what joined, through which event, and when.

        Raises:
            NotFoundError: If *customer* is unknown.

        Added in version 0.1.0.
        """

        def read() -> HubFlow[list[MergeRecord]]:
            record = yield from self._customer_record(customer)
            rows = yield from self._merge_rows(record.id)
            return [row.record for row in rows if isinstance(row.record, MergeRecord)]

        return self._run(read())

    def links(self, customer: CustomerRef) -> list[LinkRecord]:
        """
        The audit trail of the identifiers that joined the customer after they existed.

        Each record says which identifier joined, through which event and how far that event
        was trusted (a claim through the customer's verified session may take an identifier
        from a profile that holds nothing verified). Merges are in `Hub.merges()`.

        Raises:
            NotFoundError: If *customer* is unknown.

        Added in version 0.1.0.
        """

        def read() -> HubFlow[list[LinkRecord]]:
            record = yield from self._customer_record(customer)
            rows = yield MergesOf(record.id)
            return [row.record for row in rows if isinstance(row.record, LinkRecord)]

        return self._run(read())

    def unmerge(self, customer: CustomerRef, merge_id: str | None = None) -> list[Customer]:
        """
        Split a customer that was merged wrongly back into the people it came from.

        The merge (by default the latest) is undone by recording that the identities which
        anchored each side must never be in one customer again, and replaying the customer's
        history: each touchpoint goes back to the side its identifiers belong to, and each side
        gets back the id it had. Returns the customers the sides now form, oldest first.

        Raises:
            NotFoundError: If *customer* is unknown, or has no such merge.

        Added in version 0.1.0.
        """
        return self._run(self._unmerged(customer, merge_id))

    def _unmerged(self, customer: CustomerRef, merge_id: str | None) -> HubFlow[list[Customer]]:
        record = yield from self._customer_record(customer)
        row = merge_to_undo((yield from self._merge_rows(record.id)), record.id, merge_id)
        at_us = to_us(self.clock())
        replayed = yield InTransaction(unmerge(record.id, row, self._ingest_config(), at_us=at_us))
        if self.segments:
            yield from self._update_segments(replayed, now=self.clock())
        sides: dict[str, Customer] = {}
        for a, b in row.anchors:
            for key in (a, b):
                found = yield Find(key)
                if found is not None:
                    sides[found.id] = yield from self._customer(found)
        return sorted(
            sides.values(),
            key=lambda c: (c.stats.first_seen or dt.datetime.min.replace(tzinfo=dt.UTC), c.id),
        )
