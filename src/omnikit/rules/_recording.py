"""
Recorded decisions as a flow: decide on what the store holds, and write what the decision made.

A decision that is recorded (the `Decision Made` touchpoint that caps count), or that assigns a
customer to an experiment for the first time, is decided inside the store's write transaction
that stores it: one such decision at a time per store, whatever the hubs and processes, so a
cap holds and a customer is assigned once. `decide_and_record` orders the reads and writes of
that transaction; the hub opens it and drives the flow (see `omnikit._engines.ingest` for
flows and their requests).
"""

from __future__ import annotations

import datetime as dt
import weakref
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from omnikit._engines.ingest import (
    CustomerTouchpoints,
    EngineFlow,
    IngestConfig,
    current_record,
    resolve,
)
from omnikit._engines.profile import EXPERIMENT_ASSIGNED
from omnikit._models.touchpoints import Touchpoint
from omnikit.converters import default_converter
from omnikit.rules._decision import DECISION_EVENT, Decision, Outcome
from omnikit.rules._lang.nodes import Op, walk

if TYPE_CHECKING:
    from omnikit._engines.records import CustomerRecord, IdKey
    from omnikit.rules._rules import RuleSet

__all__ = ["Decide", "decide_and_record", "decision_channel", "facts"]

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


def _experiment_ids(ruleset: RuleSet) -> frozenset[str]:
    """The ids of the rule set's experiments, over groups and on rules."""
    return frozenset(
        [e.id for e in ruleset.experiments.values()]
        + [rule.experiment.id for rule in ruleset.rules if rule.experiment is not None]
    )


_FACTS: weakref.WeakKeyDictionary[RuleSet, tuple[bool, frozenset[str]]] = (
    weakref.WeakKeyDictionary()
)


def facts(ruleset: RuleSet) -> tuple[bool, frozenset[str]]:
    """Whether the rule set reads history, and its experiments' ids; worked out once."""
    found = _FACTS.get(ruleset)
    if found is None:
        found = _FACTS[ruleset] = (_needs_history(ruleset), _experiment_ids(ruleset))
    return found


def decision_properties(rules: RuleSet, decision: Decision) -> dict[str, Any] | None:
    """What a recorded decision stores: the rules it chose with their actions; `None`: nothing."""
    conv = default_converter()
    holdouts = [o.rule_id for o in decision.outcomes if o.outcome is Outcome.HOLDOUT]
    if not decision.chosen and not holdouts:
        return None  # nothing was chosen, nobody was held out: nothing to act on or count
    return {
        "ruleset": rules.id,
        "rules": list(decision.rule_ids),
        "actions": conv.unstructure(list(decision.actions)),
        "chosen": [
            {
                "rule_id": c.rule_id,
                "actions": conv.unstructure(list(c.actions)),
                "variant": c.variant,
            }
            for c in decision.chosen
        ],
        "variants": {c.rule_id: c.variant for c in decision.chosen if c.variant},
        "holdouts": holdouts,
        "event": decision.event,
    }


def decision_channel(
    event: Touchpoint | Mapping[str, Any] | str | None, context: Mapping[str, Any] | None
) -> str | None:
    """The channel a decision is recorded on: the context's, else the event's."""
    channel = (context or {}).get("channel")
    if not isinstance(channel, str) and isinstance(event, Touchpoint):
        channel = event.channel
    return channel if isinstance(channel, str) else None


class Decide(Protocol):
    """Decides for a customer as stored, on their *history*, at *moment*, with *assigned*."""

    def __call__(
        self,
        stored: CustomerRecord,
        *,
        history: list[Touchpoint],
        moment: dt.datetime,
        assigned: Mapping[str, str],
    ) -> Decision: ...


def decide_and_record(
    rules: RuleSet,
    stored: CustomerRecord,
    anchor: IdKey | None,
    config: IngestConfig,
    *,
    decide: Decide,
    own_touchpoint: Callable[..., Touchpoint],
    clock: Callable[[], dt.datetime],
    record: bool,
    channel: str | None,
) -> EngineFlow[Decision]:
    """
    Decide for *stored* by *rules*, and store what the decision writes: the decision made.

    *anchor* is the customer's best identity, which finds them merged since into another;
    *decide* makes the decision, *own_touchpoint* the touchpoints the hub records about a
    customer; *clock* is read once the transaction holds the store. With *record*, the
    decision is stored (on *channel*); first experiment assignments always are.

    Raises:
        NotFoundError: If the customer is gone from the store.
    """
    needs_history, experiments = facts(rules)
    # The clock is read once the transaction holds the store: a decision recorded by a
    # writer that went first is then never later than this one, and counts.
    moment = clock()
    current = yield from current_record(stored, anchor)
    assigned = dict.fromkeys(experiments - current.profile.experiments.keys(), current.id)
    history: list[Touchpoint] = (yield CustomerTouchpoints([current.id])) if needs_history else []
    decision = decide(current, history=history, moment=moment, assigned=assigned)
    made = []
    if assigned:
        made.append(
            own_touchpoint(
                current,
                EXPERIMENT_ASSIGNED,
                at=moment,
                properties={"ruleset": rules.id, "assignments": assigned},
                source="omnikit.experiments",
            )
        )
    properties = decision_properties(rules, decision) if record else None
    if properties is not None:
        made.append(
            own_touchpoint(
                current,
                DECISION_EVENT,
                at=moment,
                properties=properties,
                channel=channel,
                source="omnikit.rules",
            )
        )
    if made:
        yield from resolve(made, config)
    return decision
