"""
`_FlowCore`: the flows every group of verbs is made of, and the one hook that runs a verb.

A verb is written once, here and in the groups built on this class (`ingestion`,
`personalize`, `privacy`): it checks its arguments, then returns `self._run(flow)`, where
*flow* is a generator that asks the store for what it needs (`omnikit._hub.flows`) and
returns the verb's result. Nothing follows `_run` in a verb. `Hub` runs the flow with `drive`
over its sync store; `AsyncHub` awaits it with `adrive` over an async store. A streaming verb
(`customers`) returns `self._stream(flow)` instead, its flow handing out `Page`s.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from omnikit._engines.ingest import CACHE_LIMIT, ingest
from omnikit._engines.profile import SEGMENT_ENTERED, SEGMENT_EXITED
from omnikit._hub._core import CustomerRef, _HubCore, segment_message_id, segment_revision
from omnikit._hub.flows import (
    CustomerById,
    Find,
    HasIdentityKind,
    HubFlow,
    InTransaction,
    MergesOf,
    NextCustomers,
    OpenCustomers,
    Page,
    TouchpointsOf,
)
from omnikit._models.customers import Customer, MergeRecord
from omnikit._models.identities import unknown_kind
from omnikit.errors import NotFoundError, ValidationError
from omnikit.rules._data import decision_data
from omnikit.rules._domain import Env, History

if TYPE_CHECKING:
    from omnikit._engines.records import CustomerRecord, IdKey, MergeRow
    from omnikit._models.results import IngestResult
    from omnikit._models.touchpoints import Touchpoint

__all__ = ["PAGE", "_FlowCore"]

_R = TypeVar("_R")

PAGE = 500
"""Customers read per request when a verb walks every customer."""


class _FlowCore(_HubCore):
    """The hub's core and the flows its verbs share: lookups, writes, segments."""

    def _run(self, flow: HubFlow[_R]) -> _R:
        """Run a verb's *flow* over the store: the driver's part (see `Hub`, `AsyncHub`)."""
        raise NotImplementedError

    def _stream(self, flow: HubFlow[None]) -> Iterator[Any]:
        """The items of a streaming verb's *flow* (its `Page`s): the driver's part."""
        raise NotImplementedError

    # -- storing -----------------------------------------------------------------------------

    def _ingest_chunk(self, chunk: list[Touchpoint]) -> HubFlow[tuple[IngestResult, set[str]]]:
        """Store *chunk* in one transaction: what it did, and the customers that changed."""
        done: tuple[IngestResult, set[str]] = yield InTransaction(
            ingest(chunk, self._ingest_config())
        )
        return done

    def _emit(
        self, record: CustomerRecord, name: str, *, reevaluate: bool = False, **fields: Any
    ) -> HubFlow[Touchpoint]:
        """
        Store a touchpoint the hub itself makes about a customer (see `_own_touchpoint`).

        With *reevaluate*, the customer's segments are evaluated again.
        """
        tp = self._own_touchpoint(record, name, **fields)
        yield from self._ingest_chunk([tp])
        if reevaluate and self.segments:
            yield from self._update_segments([record.id], now=self.clock())
        return tp

    def _history(self, customer_id: str) -> HubFlow[list[Touchpoint]]:
        touchpoints: list[Touchpoint] = yield TouchpointsOf(customer_id=customer_id)
        return touchpoints

    def _each_page(
        self, visit: Callable[[list[CustomerRecord]], HubFlow[object]], *, size: int = PAGE
    ) -> HubFlow[None]:
        """
        Run *visit* on every stored customer record, *size* at a time, in id order.

        Only one page is held at a time, however many customers the store holds.
        """
        cursor = yield OpenCustomers(size)
        while page := (yield NextCustomers(cursor, size)):
            yield from visit(page)

    def _customer_pages(self, batch_size: int) -> HubFlow[None]:
        """`customers()`: every customer, a `Page` of *batch_size* at a time."""

        def hand_out(page: list[CustomerRecord]) -> HubFlow[None]:
            yield Page([self._build_customer(record) for record in page])

        return self._each_page(hand_out, size=batch_size)

    # -- reading -----------------------------------------------------------------------------

    def _lookup(
        self, ref: CustomerRef | None, identifiers: Mapping[str, object]
    ) -> HubFlow[CustomerRecord | None]:
        given = [(k, v) for k, v in identifiers.items() if v is not None]
        if ref is not None:
            given.insert(0, ("id", ref.id if isinstance(ref, Customer) else ref))
        if len(given) != 1:
            raise ValidationError(
                "customer: give exactly one of a customer id or an identifier "
                "(e.g. email=..., phone=..., user_id=..., anonymous_id=...)"
            )
        kind, value = given[0]
        if kind == "id":
            if not isinstance(value, str):
                raise ValidationError(f"id: expected a customer id, got {type(value).__name__}")
            found: CustomerRecord | None = yield CustomerById(value)
            return found
        key = self._key(kind, value)
        if self._is_blocked(key):
            return None
        record: CustomerRecord | None = yield Find(key)
        if record is None and not (yield from self._known_kind(kind)):
            raise unknown_kind(kind, self._declared_kinds())
        return record

    def _is_blocked(self, key: IdKey) -> bool:
        """`IdentityRules.is_blocked`, remembered in the cache ingestion keeps (`_blocked`)."""
        blocked = self._blocked.get(key)
        if blocked is None:
            if len(self._blocked) > CACHE_LIMIT:
                self._blocked.clear()
            blocked = self._blocked[key] = self.identity_rules.is_blocked(key)
        return blocked

    def _known_kind(self, kind: str) -> HubFlow[bool]:
        """Whether a lookup by *kind* can ever find anyone: built in, declared, or stored."""
        if kind in self._declared_kinds():
            return True
        stored: bool = yield HasIdentityKind(kind)
        return stored

    def _customer_record(self, customer: CustomerRef) -> HubFlow[CustomerRecord]:
        """The stored record of *customer*; `NotFoundError` if there is none."""
        record = yield from self._lookup(customer, {})
        if record is None:
            raise NotFoundError(
                "customer", customer.id if isinstance(customer, Customer) else customer
            )
        return record

    def _customer(self, record: CustomerRecord, *, recent: int = 0) -> HubFlow[Customer]:
        customer = self._build_customer(record)
        if recent:
            latest = yield TouchpointsOf(customer_id=record.id, limit=recent, newest_first=True)
            customer = attrs.evolve(customer, recent=tuple(latest))
        return customer

    def _found(self, customer_id: str) -> HubFlow[Customer]:
        """The customer *customer_id*, as a verb that just wrote them returns them."""
        record = yield from self._lookup(customer_id, {})
        if record is None:  # pragma: no cover - erased concurrently
            raise NotFoundError("customer", customer_id)
        return (yield from self._customer(record, recent=10))

    def customer(
        self, customer: CustomerRef | None = None, /, *, recent: int = 10, **identifier: object
    ) -> Customer | None:
        """
        Look a customer up by id or by any one identifier; `None` when nobody matches.

        ```python
        hub.customer("cus_...")
        hub.customer(email="Ana@Example.com")
        hub.customer(phone="+351 912 345 678")
        hub.customer(loyalty_id="L-123")
        ```

        Args:
            customer: A customer id (ids of merged profiles find the survivor).
            recent: How many of their latest touchpoints to load into `Customer.recent`.
            identifier: One identifier, as `kind=value`.

        Raises:
            ValidationError: If not exactly one identifier is given, or it is invalid, or it
                finds nobody and its kind is unknown: neither built in, nor declared in
                `IdentityRules`, nor held by any stored identity (a misspelt kind such as
                `loyalty=` for `loyalty_id=`); the message names close kinds.

        Added in version 0.1.0.
        """
        return self._run(self._customer_or_none(customer, identifier, recent=recent))

    def _customer_or_none(
        self, ref: CustomerRef | None, identifiers: Mapping[str, object], *, recent: int
    ) -> HubFlow[Customer | None]:
        record = yield from self._lookup(ref, identifiers)
        return None if record is None else (yield from self._customer(record, recent=recent))

    def _merge_rows(self, customer_id: str) -> HubFlow[list[MergeRow]]:
        rows: list[MergeRow] = yield MergesOf(customer_id)
        return [row for row in rows if isinstance(row.record, MergeRecord)]

    # -- segments ----------------------------------------------------------------------------

    def _update_segments(
        self, customer_ids: Iterable[str], *, now: dt.datetime
    ) -> HubFlow[dict[str, tuple[list[str], list[str]]]]:
        """Evaluate the hub's segments for those customers; record who entered and left."""
        changed: dict[str, tuple[list[str], list[str]]] = {}
        for cid in sorted(customer_ids):
            record: CustomerRecord | None = yield CustomerById(cid)
            if record is None or not record.members:  # none: only claims on others reached it
                continue
            entered, left = yield from self._segment_changes(record, now=now)
            for segment, joined in [(s, True) for s in entered] + [(s, False) for s in left]:
                yield from self._emit(
                    record,
                    SEGMENT_ENTERED if joined else SEGMENT_EXITED,
                    at=now,
                    properties={"segment": segment, "revision": segment_revision(record, segment)},
                    source="omnikit.segments",
                    message_id=segment_message_id(
                        record, self._anchor(record), segment, entered=joined, key=self._secret
                    ),
                )
            if entered or left:
                changed[record.id] = (entered, left)
        return changed

    def _segment_changes(
        self, record: CustomerRecord, *, now: dt.datetime
    ) -> HubFlow[tuple[list[str], list[str]]]:
        """The configured segments the customer enters, and those they leave."""
        profile = self._build_customer(record)
        needs = self.segments.needs_history
        history = History((yield from self._history(record.id))) if needs else History()
        env = Env(
            now=now,
            timezone=profile.preferences.timezone,
            history=history,
            segments=frozenset(profile.segments),
            places=self.places,
        )
        members = self.segments.members_of(
            decision_data(profile, segments=profile.segments, now=now), env
        )
        configured = {segment.id for segment in self.segments.segments}
        current = set(profile.segments) & configured
        return sorted(members - current), sorted(current - members)
