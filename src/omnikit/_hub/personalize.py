"""The hub's personalization verbs: decide, recommend, score, keep segments current."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from omnikit._engines.orders import fold_orders
from omnikit._hub._base import _FlowCore
from omnikit._hub.flows import HubFlow, InTransaction
from omnikit._models.customers import Customer
from omnikit.analytics._recommend import BoughtTogether, Recommendation
from omnikit.analytics._scores import RFM, LeadScoring, RFMRow, rfm_of_rows, rfm_row
from omnikit.errors import ValidationError
from omnikit.rules._data import decision_data
from omnikit.rules._domain import Env
from omnikit.rules._recording import decide_and_record, decision_channel, facts
from omnikit.rules._rules import Decision, RuleSet

if TYPE_CHECKING:
    from omnikit._engines.ingest import EngineFlow
    from omnikit._engines.records import CustomerRecord
    from omnikit._hub._core import CustomerRef
    from omnikit._models.orders import Order
    from omnikit._models.touchpoints import Touchpoint

__all__ = ["Personalization"]


class Personalization(_FlowCore):
    """The personalization verbs of `Hub` (see there)."""

    def decide(
        self,
        customer: CustomerRef,
        event: Touchpoint | Mapping[str, Any] | str | None = None,
        context: Mapping[str, Any] | None = None,
        *,
        ruleset: RuleSet | None = None,
        now: dt.datetime | None = None,
        record: bool = False,
        limit: int | None = None,
    ) -> Decision:
        """
        Run the rule set for *customer* and the *event* at hand; return the chosen actions.

        Args:
            customer: A customer (as `Hub.customer()` read it) or a customer id. A customer
                is decided for as given, without reading them again, unless the decision is
                recorded or the rule set has experiments: then, as for an id, on what the
                store holds now.
            event: The event being reacted to: a stored touchpoint, a mapping (`{"name":
                "Product Viewed", "properties": {...}}`), an event name, or nothing.
            context: What else the rules may read as `context.*` (channel, location,
                store_id, ...).
            ruleset: The rules; defaults to the hub's *ruleset*.
            now: The moment of decision (default: the hub's clock).
            record: Store the decision as a `Decision Made` touchpoint (what per-customer
                caps count, and what analytics measure) with the rules it chose, their
                actions and variants, and the rules it held out; a decision that chose
                nobody and held out nobody stores nothing. The decision and its record are
                one step of the store (one write transaction, which waits for other
                writers), so a cap holds across threads, hubs and processes on every store.
            limit: The most rules to choose.

        A customer's first decision by a rule set with experiments records their assignment
        (an `Experiment Assigned` touchpoint, with the key their arms are drawn from), so
        their arms survive merges and unmerges: after a merge, the earliest assignment of
        each experiment holds.

        Raises:
            NotFoundError: If *customer* is unknown.
            ValidationError: If there is no rule set.

        Added in version 0.1.0.
        """
        rules = ruleset if ruleset is not None else self.ruleset
        if rules is None:
            raise ValidationError(
                "ruleset: the hub has no rule set; pass ruleset= or Hub(ruleset=...)"
            )

        return self._run(
            self._decided(rules, customer, event, context, now=now, record=record, limit=limit)
        )

    def _decided(
        self,
        rules: RuleSet,
        customer: CustomerRef,
        event: Touchpoint | Mapping[str, Any] | str | None,
        context: Mapping[str, Any] | None,
        *,
        now: dt.datetime | None,
        record: bool,
        limit: int | None,
    ) -> HubFlow[Decision]:
        needs_history, experiments = facts(rules)
        if isinstance(customer, Customer) and not (record or experiments):
            # As given: no store read but the history the rules need.
            history = (yield from self._history(customer.id)) if needs_history else []
            return self._decide_for(
                rules,
                customer,
                event,
                context,
                history=history,
                moment=now or self._now(),
                limit=limit,
                assignments={},
            )
        stored = yield from self._customer_record(customer)
        if not record and experiments <= stored.profile.experiments.keys():
            history = (yield from self._history(stored.id)) if needs_history else []
            moment = now or self._now()
            return self._decide(
                rules, stored, event, context, history=history, moment=moment, limit=limit
            )
        flow = self._recorded_decision(
            rules, stored, event, context, now=now, limit=limit, record=record
        )
        decision: Decision = yield InTransaction(flow)
        return decision

    def _recorded_decision(
        self,
        rules: RuleSet,
        stored: CustomerRecord,
        event: Touchpoint | Mapping[str, Any] | str | None,
        context: Mapping[str, Any] | None,
        *,
        now: dt.datetime | None,
        limit: int | None,
        record: bool,
    ) -> EngineFlow[Decision]:
        """
        Decide, and store what the decision writes: a flow, for one write transaction.

        What is written (the decision, which caps count; first experiment assignments) is
        decided on what the store holds inside the transaction that writes it: one such
        decision at a time per store, whatever the hubs and processes, so a cap holds and a
        customer is assigned once.
        """
        return decide_and_record(
            rules,
            stored,
            self._anchor(stored),
            self._ingest_config(),
            decide=functools.partial(
                self._decide, rules, event=event, context=context, limit=limit
            ),
            own_touchpoint=self._own_touchpoint,
            clock=lambda: now or self._now(),
            record=record,
            channel=decision_channel(event, context),
        )

    def recommend(
        self,
        customer: CustomerRef,
        *,
        model: BoughtTogether | None = None,
        exclude_when: Sequence[Any] = (),
        limit: int = 5,
    ) -> list[Recommendation]:
        """
        Products bought together with what the customer bought, that fit them.

        Leaves out what they own or returned, and products for which any of *exclude_when*
        holds (conditions on `customer` and `product`). Without a *model*, one is fitted on
        every stored order first (`Hub.bought_together()`): fit once and pass it when
        recommending for many customers.

        Raises:
            NotFoundError: If *customer* is unknown.

        Added in version 0.1.0.
        """

        def recommended() -> HubFlow[list[Recommendation]]:
            stored = yield from self._customer_record(customer)
            profile = self._build_customer(stored)
            fitted = model or (yield from self._bought_together())
            history = yield from self._history(stored.id)
            orders = fold_orders(history, currency=self.currency)
            now = self._now()
            data = decision_data(profile, now=now)["customer"]
            return fitted.recommend(
                orders, customer=data, exclude_when=exclude_when, limit=limit, env=Env(now=now)
            )

        return self._run(recommended())

    def bought_together(self) -> BoughtTogether:
        """
        Fit a "bought together" model on every stored order.

        Added in version 0.1.0.
        """
        return self._run(self._bought_together())

    def _bought_together(self) -> HubFlow[BoughtTogether]:
        orders: list[Order] = []

        def fold(page: list[CustomerRecord]) -> HubFlow[None]:
            for stored in page:
                history = yield from self._history(stored.id)
                orders.extend(fold_orders(history, currency=self.currency))

        yield from self._each_page(fold)
        return BoughtTogether.fit(orders)

    def rfm(self, *, now: dt.datetime | None = None, write_traits: bool = False) -> dict[str, RFM]:
        """
        RFM scores of every customer who ordered, against each other, by quintile.

        With *write_traits*, each scored customer gets the traits `rfm_recency`,
        `rfm_frequency`, `rfm_monetary`, `rfm_code` and `rfm_segment` (as an identify
        touchpoint from the source `omnikit.rfm`), so rules and segments can read them.

        Added in version 0.1.0.
        """

        def scored() -> HubFlow[dict[str, RFM]]:
            moment = now or self._now()
            rows: list[RFMRow] = []

            def measure(page: list[CustomerRecord]) -> HubFlow[None]:
                built = (rfm_row(self._build_customer(stored), now=moment) for stored in page)
                rows.extend(row for row in built if row is not None)
                yield from ()

            yield from self._each_page(measure)
            scores = rfm_of_rows(rows)
            if write_traits:
                yield from self._write_rfm(scores, moment)
            return scores

        return self._run(scored())

    def _write_rfm(self, scores: dict[str, RFM], moment: dt.datetime) -> HubFlow[None]:
        for cid, score in scores.items():
            traits = {
                "rfm_recency": score.recency,
                "rfm_frequency": score.frequency,
                "rfm_monetary": score.monetary,
                "rfm_code": score.code,
                "rfm_segment": score.segment,
            }
            yield from self._emit(
                (yield from self._customer_record(cid)),
                "Identify",
                at=moment,
                traits=traits,
                source="omnikit.rfm",
                reevaluate=True,
            )

    def lead_scores(
        self,
        scoring: LeadScoring,
        *,
        now: dt.datetime | None = None,
        write_traits: bool = False,
        trait: str = "lead_score",
    ) -> dict[str, float]:
        """
        Every customer's decayed lead score under *scoring*, by customer id.

        With *write_traits*, each customer whose score changed gets the trait *trait* (as an
        identify touchpoint from the source `omnikit.lead_scoring`), so rules and segments can
        read it.

        Added in version 0.1.0.
        """

        def scored() -> HubFlow[dict[str, float]]:
            moment = now or self._now()
            scores: dict[str, float] = {}

            def score_page(page: list[CustomerRecord]) -> HubFlow[None]:
                for stored in page:
                    customer = self._build_customer(stored)
                    score = scoring.score((yield from self._history(customer.id)), now=moment)
                    scores[customer.id] = score
                    if write_traits and customer.traits.get(trait) != score:
                        yield from self._emit(
                            (yield from self._customer_record(customer.id)),
                            "Identify",
                            at=moment,
                            traits={trait: score},
                            source="omnikit.lead_scoring",
                            reevaluate=True,
                        )

            yield from self._each_page(score_page)
            return scores

        return self._run(scored())

    def lead_score(
        self, customer: CustomerRef, scoring: LeadScoring, *, now: dt.datetime | None = None
    ) -> float:
        """
        The customer's decayed lead score under *scoring*.

        Added in version 0.1.0.
        """

        def scored() -> HubFlow[float]:
            stored = yield from self._customer_record(customer)
            history = yield from self._history(stored.id)
            return scoring.score(history, now=now or self._now())

        return self._run(scored())

    def refresh_segments(
        self, *, now: dt.datetime | None = None
    ) -> dict[str, tuple[list[str], list[str]]]:
        """
        Evaluate every customer's segments again; return who entered and left what.

        For conditions that change with time alone (`days_since`, windows, a consent that
        lapses at its `expires_at`): until a customer's segments are evaluated again, here
        or when ingestion changes that customer, their membership stays as it was.

        Added in version 0.1.0.
        """

        def refreshed() -> HubFlow[dict[str, tuple[list[str], list[str]]]]:
            if not self.segments:
                return {}
            ids: list[str] = []

            def gather(page: list[CustomerRecord]) -> HubFlow[None]:
                ids.extend(stored.id for stored in page)
                yield from ()

            yield from self._each_page(gather)
            return (yield from self._update_segments(ids, now=now or self._now()))

        return self._run(refreshed())
