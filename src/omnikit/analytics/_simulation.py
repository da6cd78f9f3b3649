"""
Simulating a rule set on stored history: who would have got what, and why.

Each stored event in the window is replayed in time order: the customer's profile is folded
from their touchpoints up to that moment, and the rule set decides with the history known then,
told the event's channel, location and store as a live decision would be. Decisions are
recorded as they would have been live, so caps hold across the replay.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from omnikit._engines.profile import ProfileState, Survivorship, to_us
from omnikit._models.touchpoints import Direction, Touchpoint, TouchpointType
from omnikit.errors import ValidationError
from omnikit.rules._data import decision_data
from omnikit.rules._decision import DECISION_EVENT, Outcome
from omnikit.rules._domain import Env, History, Place

if TYPE_CHECKING:  # the hub and the rule set are driven here, never built
    from omnikit._hub import Hub
    from omnikit._models.customers import Customer
    from omnikit.rules._rules import RuleSet

__all__ = ["COLUMNS", "simulate"]

FRAMES = (None, "pandas", "polars", "rows")

COLUMNS = (
    "customer_id",
    "at",
    "event",
    "channel",
    "rule_id",
    "outcome",
    "variant",
    "actions",
    "detail",
)


def _table(rows: list[dict[str, Any]], frame: str | None) -> Any:
    if frame == "rows":
        return rows
    if frame in (None, "pandas"):
        try:
            import pandas as pd  # noqa: PLC0415 - optional, only for notebooks
        except ImportError:
            if frame == "pandas":
                raise
        else:
            return pd.DataFrame(rows, columns=list(COLUMNS))
    if frame in (None, "polars"):
        try:
            import polars as pl  # noqa: PLC0415 - optional, only for notebooks
        except ImportError:
            if frame == "polars":
                raise
        else:
            return (
                pl.DataFrame(rows, schema=list(COLUMNS), orient="row")
                if rows
                else pl.DataFrame(schema=list(COLUMNS))
            )
    return rows


def _context_of(tp: Touchpoint) -> dict[str, Any]:
    """What a live decision on *tp* would have been told: its channel, place and store."""
    context: dict[str, Any] = {"channel": tp.channel}
    where = tp.context.location
    if where is not None:
        fields = attrs.asdict(where)
        context["location"] = {name: value for name, value in fields.items() if value is not None}
    if tp.context.store_id is not None:
        context["store_id"] = tp.context.store_id
    return context


def _decided_by(tp: Touchpoint, ruleset: RuleSet) -> bool:
    """Whether *tp* records a live decision of *ruleset* (the replay makes its own)."""
    return tp.name == DECISION_EVENT and tp.properties.get("ruleset") == ruleset.id


def _recorded(rule_ids: Iterable[str], ruleset: RuleSet, tp: Touchpoint) -> Touchpoint:
    """The `Decision Made` touchpoint a live, recorded decision on *tp* would have stored."""
    return Touchpoint(
        message_id=f"simulated-{tp.message_id}",
        type=TouchpointType.TRACK,
        name=DECISION_EVENT,
        channel=tp.channel,
        direction=Direction.OUTBOUND,
        occurred_at=tp.occurred_at,
        received_at=tp.occurred_at,
        identities=tp.identities,
        properties={"ruleset": ruleset.id, "rules": list(rule_ids)},
    )


def simulate(
    ruleset: RuleSet,
    hub: Hub,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    customers: Iterable[Customer | str] | None = None,
    outcomes: str = "chosen",
    places: Mapping[str, Place] | None = None,
    frame: str | None = None,
    limit: int | None = None,
) -> Any:
    """
    Try *ruleset* on the history *hub* stores: who would have got what, and why.

    ```python
    from omnikit.analytics import simulate

    table = simulate(rules, hub, since=last_month, frame="pandas")
    table.groupby("rule_id").size()
    ```

    Every stored event in [*since*, *until*) the customer made is replayed in time order;
    the customer's profile is folded from their touchpoints up to that moment and the rule
    set decides with the history known then, told the event's channel, location and store
    (`context.channel`, `context.location`, `context.store_id`). Each decision counts as
    recorded, so caps hold across the replay: decisions this rule set (by its id) recorded
    live inside the window are replaced by the replayed ones; those before the window, and
    those of other rule sets, count as they are (caps count by rule id, so give a new version
    of a live rule set the live one's id to replay it in its place). Nothing is written.
    `RuleSet.simulate(hub, ...)` calls this function.

    Args:
        ruleset: The rule set to try.
        hub: The hub whose store holds the history.
        since: The first moment to replay (default: the beginning).
        until: The end of the window, excluded (default: no end).
        customers: Customers (or ids) to replay; default every customer.
        outcomes: `"chosen"` rows only, or `"all"` rules considered with their outcome.
        places: Stores and other places for `within_km` (default: the hub's).
        frame: `"pandas"`, `"polars"`, `"rows"` (a list of dicts), or `None` for the first
            of those installed.
        limit: The most rules each decision chooses, as `Hub.decide(limit=...)`.

    Returns:
        A table with columns customer_id, at, event, channel, rule_id, outcome, variant,
        actions, detail.

    Raises:
        ValidationError: If *outcomes* or *frame* is not one of those above.

    Added in version 0.1.0.
    """
    if outcomes not in {"chosen", "all"}:
        raise ValidationError(f"outcomes: expected 'chosen' or 'all', got {outcomes!r}")
    if frame not in FRAMES:
        raise ValidationError(
            f"frame: expected one of {', '.join(map(repr, FRAMES))}, got {frame!r}"
        )
    window = _Window(
        ruleset=ruleset,
        since=since,
        until=until,
        places=hub.places if places is None else places,
        survivorship=hub.identity_rules.survivorship(),
        all_outcomes=outcomes == "all",
        limit=limit,
    )
    rows: list[dict[str, Any]] = []
    for item in hub.customers() if customers is None else customers:
        found = hub.customer(item, recent=0)
        if found is not None:
            rows.extend(_replay(window, hub, found))
    return _table(rows, frame)


@attrs.define(frozen=True, kw_only=True)
class _Window:
    """What one simulation asks: the rule set, the window, the places, which rows to keep."""

    ruleset: RuleSet
    since: dt.datetime | None
    until: dt.datetime | None
    places: Mapping[str, Place]
    survivorship: Survivorship
    all_outcomes: bool
    limit: int | None

    def holds(self, at: dt.datetime) -> bool:
        """Whether *at* is in [since, until)."""
        return (self.since is None or at >= self.since) and (self.until is None or at < self.until)


def _replay(window: _Window, hub: Hub, found: Customer) -> Iterator[dict[str, Any]]:
    """The rows of one customer: their events replayed in time order through the rule set."""
    ruleset = window.ruleset
    cid = found.id
    state = ProfileState()
    seen: list[Touchpoint] = []
    for tp in hub.touchpoints(cid):
        at = tp.occurred_at
        state.apply(tp, to_us(at), survivorship=window.survivorship, currency=hub.currency)
        history_then = list(seen)
        inside = window.holds(at)
        if not (inside and _decided_by(tp, ruleset)):  # the replay decides in the window
            seen.append(tp)
        # Only what the customer did triggers a decision; what the brand sent or recorded
        # (decisions, segment changes) shapes the profile and the history, nothing more.
        if tp.direction is not Direction.INBOUND or not inside:
            continue
        profile = state.to_customer(cid, found.identities)
        env = Env(
            now=at,
            timezone=profile.preferences.timezone,
            history=History(history_then),
            segments=frozenset(profile.segments),
            places=window.places,
            assignments=state.assignments(),
        )
        data = decision_data(profile, tp, _context_of(tp), segments=profile.segments, now=at)
        decision = ruleset.decide(data, env, customer_id=cid, limit=window.limit)
        chosen = {c.rule_id: c for c in decision.chosen}
        if chosen:  # what the rule set's caps count on the customer's next events
            seen.append(_recorded(decision.rule_ids, ruleset, tp))
        for outcome in decision.outcomes:
            if not window.all_outcomes and outcome.outcome is not Outcome.CHOSEN:
                continue
            actions = chosen[outcome.rule_id].actions if outcome.rule_id in chosen else ()
            yield {
                "customer_id": cid,
                "at": at,
                "event": tp.name,
                "channel": tp.channel,
                "rule_id": outcome.rule_id,
                "outcome": outcome.outcome.value,
                "variant": outcome.variant,
                "actions": ", ".join(f"{a.type}:{a.id}" if a.id else a.type for a in actions),
                "detail": outcome.detail,
            }
