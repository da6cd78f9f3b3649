"""`_SyncCore`: the hub's core over a synchronous store, the calls every group of verbs makes."""

from __future__ import annotations

import datetime as dt
import types
from collections.abc import Iterable, Mapping
from typing import Any, Self

import attrs

from omnikit._engines.ingest import ingest
from omnikit._engines.profile import SEGMENT_ENTERED, SEGMENT_EXITED
from omnikit._engines.records import CustomerRecord, MergeRow
from omnikit._hub._core import CustomerRef, _HubCore, segment_message_id, segment_revision
from omnikit._hub.flows import drive
from omnikit._models.customers import Customer, MergeRecord
from omnikit._models.identities import unknown_kind
from omnikit._models.results import IngestResult
from omnikit._models.touchpoints import Touchpoint
from omnikit.errors import NotFoundError, ValidationError
from omnikit.rules._data import decision_data
from omnikit.rules._domain import Env, History

__all__ = ["_SyncCore"]


class _SyncCore(_HubCore):
    """The hub's core, calling its store: lookups, transactions, what the hub records."""

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """
        Close the store if the hub opened it.

        Data written before is there when the same URL is opened again.

        Added in version 0.1.0.
        """
        if not self._closed:
            self._closed = True
            if self._owns_store:
                self._store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        self.close()

    # -- storing -----------------------------------------------------------------------------

    def _transaction(self) -> Any:
        return self._store.transaction()

    def _ingest_chunk(self, chunk: list[Touchpoint]) -> tuple[IngestResult, set[str]]:
        """Store *chunk* in one transaction: what it did, and the customers that changed."""
        with self._transaction() as tx:
            return drive(ingest(chunk, self._ingest_config()), tx)

    def _emit(
        self, record: CustomerRecord, name: str, *, reevaluate: bool = False, **fields: Any
    ) -> Touchpoint:
        """
        Store a touchpoint the hub itself makes about a customer (see `_own_touchpoint`).

        With *reevaluate*, the customer's segments are evaluated again.
        """
        tp = self._own_touchpoint(record, name, **fields)
        self._ingest_chunk([tp])
        if reevaluate and self.segments:
            self._update_segments([record.id], now=self.clock())
        return tp

    def _history(self, customer_id: str) -> list[Touchpoint]:
        return self._store.touchpoints(customer_id)

    def _stored_customer(self, customer_id: str) -> CustomerRecord | None:
        return self._store.customer(customer_id)

    # -- reading -----------------------------------------------------------------------------

    def _lookup(
        self, ref: CustomerRef | None, identifiers: Mapping[str, object]
    ) -> CustomerRecord | None:
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
            return self._store.customer(value)
        key = self._key(kind, value)
        if self.identity_rules.is_blocked(key):
            return None
        record = self._store.find(key)
        if record is None and not self._known_kind(kind):
            raise unknown_kind(kind, self._declared_kinds())
        return record

    def _known_kind(self, kind: str) -> bool:
        """Whether a lookup by *kind* can ever find anyone: built in, declared, or stored."""
        return kind in self._declared_kinds() or self._store.has_identity_kind(kind)

    def _record(self, customer: CustomerRef) -> CustomerRecord:
        record = self._lookup(customer, {})
        if record is None:
            raise NotFoundError(
                "customer", customer.id if isinstance(customer, Customer) else customer
            )
        return record

    def _customer(self, record: CustomerRecord, *, recent: int = 0) -> Customer:
        customer = self._build_customer(record)
        if recent:
            latest = self._store.touchpoints(record.id, limit=recent, newest_first=True)
            customer = attrs.evolve(customer, recent=tuple(latest))
        return customer

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
        record = self._lookup(customer, identifier)
        return None if record is None else self._customer(record, recent=recent)

    def customers(self) -> Iterable[Customer]:
        """
        Every customer, in id order, streamed from the store.

        Added in version 0.1.0.
        """
        for record in self._store.iter_customers():
            yield self._customer(record)

    def _merge_rows(self, customer_id: str) -> list[MergeRow]:
        return [
            row for row in self._store.merges(customer_id) if isinstance(row.record, MergeRecord)
        ]

    # -- segments ----------------------------------------------------------------------------

    def _update_segments(
        self, customer_ids: Iterable[str], *, now: dt.datetime
    ) -> dict[str, tuple[list[str], list[str]]]:
        """Evaluate the hub's segments for those customers; record who entered and left."""
        configured = {segment.id for segment in self.segments.segments}
        history = self.segments.needs_history
        changed: dict[str, tuple[list[str], list[str]]] = {}
        for cid in sorted(customer_ids):
            record = self._stored_customer(cid)
            if record is None or not record.members:  # none: only claims on others reached it
                continue
            profile = self._customer(record)
            env = Env(
                now=now,
                timezone=profile.preferences.timezone,
                history=History(self._history(record.id)) if history else History(),
                segments=frozenset(profile.segments),
                places=self.places,
            )
            members = self.segments.members_of(
                decision_data(profile, segments=profile.segments, now=now), env
            )
            current = set(profile.segments) & configured
            entered, left = sorted(members - current), sorted(current - members)
            for segment, joined in [(s, True) for s in entered] + [(s, False) for s in left]:
                self._emit(
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
