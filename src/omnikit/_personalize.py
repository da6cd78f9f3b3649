"""The hub's personalization verbs: decide, recommend, score, keep segments. Mixed into `Hub`."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from omnikit._engines.orders import fold_orders
from omnikit._engines.profile import SEGMENT_ENTERED, SEGMENT_EXITED
from omnikit._models.customers import Customer
from omnikit._models.touchpoints import Touchpoint
from omnikit.converters import default_converter
from omnikit.errors import ValidationError
from omnikit.rules._ast import Op, walk
from omnikit.rules._data import decision_data
from omnikit.rules._domain import Env, History, Place
from omnikit.rules._recommend import BoughtTogether, Recommendation
from omnikit.rules._rules import DECISION_EVENT, Decision, Outcome, RuleSet
from omnikit.rules._scores import RFM, LeadScoring, rfm_scores
from omnikit.rules._segments import SegmentSet

if TYPE_CHECKING:
    from omnikit._engines.records import CustomerRecord
    from omnikit._hub import CustomerRef

__all__ = ["Personalization"]

_HISTORY_OPERATIONS = frozenset({"count_events", "sum_events"})


def _needs_history(ruleset: RuleSet) -> bool:
    """Whether any rule reads the customer's history (caps, event counts and sums)."""
    for rule in ruleset.rules:
        if rule.cap is not None:
            return True
        for node in (rule.condition, rule.score):
            if node is not None and any(
                isinstance(n, Op) and n.op in _HISTORY_OPERATIONS for n in walk(node)
            ):
                return True
    return False


def _segment_message_id(
    record: CustomerRecord, anchor: object, segment: str, *, entered: bool
) -> str:
    """
    The id of the touchpoint saying a customer entered (or left) *segment*.

    Derived from the customer's best identity and the change before this one, not from the
    time or the customer id (which an earlier event arriving at the same moment can change):
    two threads or processes that both see the customer outside a segment record one entry,
    the second being a duplicate.
    """
    previous = record.profile.segments.get(segment)
    after = "" if previous is None else f"{previous[2]}|{previous[3]}"
    key = f"{anchor}|{segment}|{'in' if entered else 'out'}|{after}"
    return "omk-seg-" + hashlib.blake2b(key.encode(), digest_size=16).hexdigest()


def _segment_revision(record: CustomerRecord, segment: str) -> int:
    """The revision of the next change of *segment* for the customer: one past the latest."""
    previous = record.profile.segments.get(segment)
    return 1 if previous is None else int(previous[3]) + 1


class Personalization:
    """The personalization verbs of `Hub` (see there)."""

    # Provided by Hub.
    ruleset: RuleSet | None
    places: dict[str, Place]
    _record: Callable[[CustomerRef], CustomerRecord]
    _customer: Callable[..., Customer]
    _now: Callable[[], dt.datetime]
    _history: Callable[[str], list[Touchpoint]]
    segments: SegmentSet
    _emit: Callable[..., Touchpoint]
    _decision_lock: Callable[[str], AbstractContextManager[Any]]
    _anchor: Callable[[CustomerRecord], object]
    _stored_customer: Callable[[str], CustomerRecord | None]
    customers: Callable[[], Iterable[Customer]]

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
            customer: A customer or customer id.
            event: The event being reacted to: a stored touchpoint, a mapping (`{"name":
                "Product Viewed", "properties": {...}}`), an event name, or nothing.
            context: What else the rules may read as `context.*` (channel, location,
                store_id, ...).
            ruleset: The rules; defaults to the hub's *ruleset*.
            now: The moment of decision (default: the hub's clock).
            record: Store the decision as a `Decision Made` touchpoint (what per-customer
                caps count, and what analytics measure). One customer's recorded decisions
                are made one at a time within a process, so threads never exceed a cap;
                processes deciding for one customer at the same instant can.
            limit: The most rules to choose.

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
        stored = self._record(customer)
        # A recorded decision is what its caps count next time: one customer's capped
        # decisions are made one at a time, so two threads can't both take the last one.
        with self._decision_lock(stored.id) if record else contextlib.nullcontext():
            return self._decide(
                rules, stored, event, context, moment=now or self._now(), record=record, limit=limit
            )

    def _decide(
        self,
        rules: RuleSet,
        stored: CustomerRecord,
        event: Touchpoint | Mapping[str, Any] | str | None,
        context: Mapping[str, Any] | None,
        *,
        moment: dt.datetime,
        record: bool,
        limit: int | None,
    ) -> Decision:
        profile = self._customer(stored)
        if isinstance(event, str):
            event = {"name": event}
        history = History(self._history(stored.id)) if _needs_history(rules) else History()
        timezone = profile.preferences.timezone or (context or {}).get("timezone")
        env = Env(
            now=moment,
            timezone=timezone if isinstance(timezone, str) else None,
            history=history,
            segments=frozenset(profile.segments),
            places=self.places,
        )
        data = decision_data(profile, event, context, segments=profile.segments, now=moment)
        decision = rules.decide(data, env, customer_id=stored.id, limit=limit)
        if record:
            self._record_decision(
                stored, decision=decision, rules=rules, event=event, context=context, moment=moment
            )
        return decision

    def _record_decision(
        self,
        stored: CustomerRecord,
        *,
        decision: Decision,
        rules: RuleSet,
        event: Touchpoint | Mapping[str, Any] | None,
        context: Mapping[str, Any] | None,
        moment: dt.datetime,
    ) -> None:
        conv = default_converter()
        channel = (context or {}).get("channel")
        if not isinstance(channel, str) and isinstance(event, Touchpoint):
            channel = event.channel
        properties = {
            "ruleset": rules.id,
            "rules": list(decision.rule_ids),
            "actions": conv.unstructure(list(decision.actions)),
            "variants": {c.rule_id: c.variant for c in decision.chosen if c.variant},
            "holdouts": [o.rule_id for o in decision.outcomes if o.outcome is Outcome.HOLDOUT],
            "event": decision.event,
        }
        self._emit(
            stored,
            DECISION_EVENT,
            at=moment,
            properties=properties,
            channel=channel if isinstance(channel, str) else None,
            source="omnikit.rules",
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
        stored = self._record(customer)
        profile = self._customer(stored)
        fitted = model or self.bought_together()
        orders = fold_orders(self._history(stored.id))
        now = self._now()
        data = decision_data(profile, now=now)["customer"]
        return fitted.recommend(
            orders, customer=data, exclude_when=exclude_when, limit=limit, env=Env(now=now)
        )

    def bought_together(self) -> BoughtTogether:
        """
        Fit a "bought together" model on every stored order.

        Added in version 0.1.0.
        """
        return BoughtTogether.fit(
            order
            for customer in self.customers()
            for order in fold_orders(self._history(customer.id))
        )

    def rfm(self, *, now: dt.datetime | None = None, write_traits: bool = False) -> dict[str, RFM]:
        """
        RFM scores of every customer who ordered, against each other, by quintile.

        With *write_traits*, each scored customer gets the traits `rfm_recency`,
        `rfm_frequency`, `rfm_monetary`, `rfm_code` and `rfm_segment` (as an identify
        touchpoint from the source `omnikit.rfm`), so rules and segments can read them.

        Added in version 0.1.0.
        """
        moment = now or self._now()
        scores = rfm_scores(self.customers(), now=moment)
        if write_traits:
            for cid, score in scores.items():
                traits = {
                    "rfm_recency": score.recency,
                    "rfm_frequency": score.frequency,
                    "rfm_monetary": score.monetary,
                    "rfm_code": score.code,
                    "rfm_segment": score.segment,
                }
                self._emit(
                    self._record(cid),
                    "Identify",
                    at=moment,
                    traits=traits,
                    source="omnikit.rfm",
                    reevaluate=True,
                )
        return scores

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
        moment = now or self._now()
        scores: dict[str, float] = {}
        for customer in list(self.customers()):
            score = scoring.score(self._history(customer.id), now=moment)
            scores[customer.id] = score
            if write_traits and customer.traits.get(trait) != score:
                self._emit(
                    self._record(customer.id),
                    "Identify",
                    at=moment,
                    traits={trait: score},
                    source="omnikit.lead_scoring",
                    reevaluate=True,
                )
        return scores

    def lead_score(
        self, customer: CustomerRef, scoring: LeadScoring, *, now: dt.datetime | None = None
    ) -> float:
        """
        The customer's decayed lead score under *scoring*.

        Added in version 0.1.0.
        """
        stored = self._record(customer)
        return scoring.score(self._history(stored.id), now=now or self._now())

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
            if record is None:
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
                    properties={"segment": segment, "revision": _segment_revision(record, segment)},
                    source="omnikit.segments",
                    message_id=_segment_message_id(
                        record, self._anchor(record), segment, entered=joined
                    ),
                )
            if entered or left:
                changed[record.id] = (entered, left)
        return changed

    def refresh_segments(
        self, *, now: dt.datetime | None = None
    ) -> dict[str, tuple[list[str], list[str]]]:
        """
        Evaluate every customer's segments again; return who entered and left what.

        For conditions that change with time alone (`days_since`, windows).

        Ingestion already does this for the customers it changes.

        Added in version 0.1.0.
        """
        if not self.segments:
            return {}
        return self._update_segments([c.id for c in self.customers()], now=now or self._now())
