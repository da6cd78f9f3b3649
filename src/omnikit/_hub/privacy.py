"""The hub's privacy verbs: forget (with suppression), unsuppress, export."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from omnikit._engines.erasure import NO_KEY, identity_digest
from omnikit._engines.forget import forget, gather, unsuppress
from omnikit._engines.ingest import Customers, Merges, event_key
from omnikit._engines.orders import fold_orders
from omnikit._engines.profile import from_us, to_us
from omnikit._engines.reader import ReadCache
from omnikit._hub._base import _FlowCore
from omnikit._hub.flows import HubFlow, InTransaction, Scrub
from omnikit._models.customers import LinkRecord, MergeRecord
from omnikit._models.results import ForgetReport
from omnikit.errors import NotFoundError, ValidationError

if TYPE_CHECKING:
    from omnikit._engines.erasure import Erasure
    from omnikit._engines.ingest import EngineFlow
    from omnikit._engines.records import CustomerRecord, IdKey, MergeRow
    from omnikit._hub._core import CustomerRef

__all__ = ["Privacy"]


class Privacy(_FlowCore):
    """The privacy verbs of `Hub` (see there)."""

    def forget(
        self, customer: CustomerRef, *, suppress: bool = False, scrub: bool = True
    ) -> ForgetReport:
        """
        Erase the customer: everything held about them, in every table of the store.

        This is the right to erasure. Their profile, touchpoints, orders, merges and unmerge
        records go, and every identifier they hold or that their touchpoints carry, linked or
        left unlinked by a limit, unless another customer's touchpoints carry it too (a
        household email another customer holds stays theirs). Others that shared a cluster
        with them are recomputed as if the erased touchpoints had never arrived.

        What remains is keyed hashes (HMAC-SHA256) only: of the erased message ids, so a
        replay of those very messages is dropped and reported in `IngestResult.suppressed`
        instead of bringing the person back; and with *suppress*, of their identifiers, so
        any later message carrying one is dropped too ("delete and suppress"). Without
        *suppress*, new messages about them start a new profile.

        Then the store removes what the deletions left in its files (`Store.scrub()`): SQLite
        rebuilds its file and truncates its write-ahead log; `ForgetReport.scrubbed` says
        whether that completed. See the erasure guide for what PostgreSQL keeps, and how to
        remove it.

        Args:
            customer: The customer, or their id.
            suppress: Also drop every later message that carries one of their identifiers;
                needs the hub's *suppression_key*.
            scrub: Scrub the store's files now. When erasing many customers from a large
                SQLite store, pass `False` and call `hub.store.scrub()` once after the last.

        Raises:
            NotFoundError: If *customer* is unknown.
            ValidationError: If *suppress* is asked of a hub without a *suppression_key*, or
                with another key than the store's suppressions were made with.

        Added in version 0.1.0.
        """
        key = self._suppression_key
        if suppress and key is None:
            raise ValidationError(
                f"suppress: the hub has no suppression_key; pass Hub(..., suppression_key=...), {NO_KEY}"
            )
        return self._run(self._forgotten(customer, suppress=suppress, scrub=scrub))

    def _forgotten(
        self, customer: CustomerRef, *, suppress: bool, scrub: bool
    ) -> HubFlow[ForgetReport]:
        record = yield from self._customer_record(customer)
        now = self.clock()
        flow = forget(record.id, self._ingest_config(), suppress=suppress, at_us=to_us(now))
        erasure, changes = yield InTransaction(flow)
        self._blocked.clear()  # caches of identifiers read, theirs among them
        self._read_cache = ReadCache()
        scrubbed = scrub and (yield Scrub())
        if self.segments and changes.customers:
            yield from self._update_segments(set(changes.customers), now=now)
        return ForgetReport(
            customer_id=erasure.customer.id,
            identities=len(erasure.identities),
            touchpoints=len(erasure.touchpoints),
            erased_at=now,
            suppressed=sum(1 for row in changes.suppressions if row.kind == "identity"),
            scrubbed=scrubbed,
        )

    def unsuppress(self, /, **identifier: object) -> bool:
        """
        Lift the suppression of one identifier; return whether it was suppressed.

        For a person who comes back and consents again: messages carrying the identifier are
        accepted from now on (the messages erased before stay erased).

        ```python
        hub.unsuppress(email="ana@example.com")
        ```

        Raises:
            ValidationError: If not exactly one identifier is given, it is invalid, or the hub
                has no (or another) *suppression_key*.

        Added in version 0.1.0.
        """
        key = self._suppression_key
        if key is None:
            raise ValidationError(
                f"unsuppress: the hub has no suppression_key; pass Hub(..., suppression_key=...), {NO_KEY}"
            )
        given = [(k, v) for k, v in identifier.items() if v is not None]
        if len(given) != 1:
            raise ValidationError(
                "unsuppress: give exactly one identifier (e.g. email=..., phone=..., user_id=...)"
            )
        digest = identity_digest(key, self._key(*given[0]))

        def lifted() -> HubFlow[bool]:
            done: bool = yield InTransaction(unsuppress(digest, self._ingest_config()))
            return done

        return self._run(lifted())

    def export(self, customer: CustomerRef) -> dict[str, Any]:
        """
        Everything held about the customer, as JSON-ready data (access and portability).

        Contains everything `forget()` would erase: the profile (`customer`), every
        identifier held (`identities`, with `linked` false for those a limit left unlinked),
        every touchpoint, their orders, the merges that built them, the identifiers that joined
        them later (`links`), the unmerges that split them (`unmerges`: the identities kept
        apart; another person's side shows its kind only) and the ids of profiles merged into
        them (`former_ids`).

        Raises:
            NotFoundError: If *customer* is unknown.

        Added in version 0.1.0.
        """
        return self._run(self._exported(customer))

    def _exported(self, customer: CustomerRef) -> HubFlow[dict[str, Any]]:
        record = yield from self._customer_record(customer)
        current, erasure, merges = yield InTransaction(_gathered(record.id))
        touchpoints = sorted(erasure.touchpoints, key=event_key)
        own = current.members | erasure.identities
        conv = self.converter
        customer_data = conv.unstructure(self._build_customer(current))

        def side(key: IdKey) -> dict[str, str | None]:
            return {"kind": key[0], "value": key[1] if key in own else None}

        return {
            "format": "omnikit.export/1",
            "exported_at": self.clock().isoformat(),
            "customer": customer_data,
            "identities": [
                {"kind": k, "value": v, "linked": (k, v) in current.members} for k, v in sorted(own)
            ],
            "touchpoints": conv.unstructure(touchpoints),
            "orders": conv.unstructure(fold_orders(touchpoints, currency=self.currency)),
            "merges": conv.unstructure(
                [row.record for row in merges if isinstance(row.record, MergeRecord)]
            ),
            "links": conv.unstructure(
                [row.record for row in merges if isinstance(row.record, LinkRecord)]
            ),
            "unmerges": [
                {
                    "merge_id": s.merge_id,
                    "at": from_us(s.at_us).isoformat(),
                    "identities": [side(s.a), side(s.b)],
                }
                for s in erasure.splits
            ],
            "former_ids": sorted(erasure.former_ids),
        }


def _gathered(customer_id: str) -> EngineFlow[tuple[CustomerRecord, Erasure, list[MergeRow]]]:
    """
    The customer as the transaction holds them, everything held about them, and their merges.

    All read in one transaction, so that an export is of one moment: a merge that another
    writer commits meanwhile is in none of its parts or in all of them.
    """
    found: dict[str, CustomerRecord] = yield Customers([customer_id])
    current = found.get(customer_id)
    if current is None:  # pragma: no cover - erased concurrently
        raise NotFoundError("customer", customer_id)
    erasure = yield from gather(current)
    merges: list[MergeRow] = yield Merges(current.id)
    return current, erasure, merges
