"""
Trying a rule set on stored history: who would have got what, and why.

Each stored event in the window is replayed in time order: the customer's profile is folded
from their touchpoints up to that moment, and the rule set decides with the history known then.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from omnikit._engines.profile import ProfileState, to_us
from omnikit._models.touchpoints import Direction, Touchpoint
from omnikit.errors import ValidationError
from omnikit.rules._data import decision_data
from omnikit.rules._decision import Outcome
from omnikit.rules._domain import Env, History, Place
from omnikit.rules._rules import RuleSet

if TYPE_CHECKING:
    from omnikit._hub import Hub
    from omnikit._models.customers import Customer

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
) -> Any:
    """Replay the stored events of [*since*, *until*) through *ruleset* (`RuleSet.simulate`)."""
    if outcomes not in {"chosen", "all"}:
        raise ValidationError(f"outcomes: expected 'chosen' or 'all', got {outcomes!r}")
    if frame not in FRAMES:
        raise ValidationError(
            f"frame: expected one of {', '.join(map(repr, FRAMES))}, got {frame!r}"
        )
    who = hub.customers() if customers is None else customers
    known_places = hub.places if places is None else places
    survivorship = hub.identity_rules.survivorship()
    rows: list[dict[str, Any]] = []
    for item in who:
        found = hub.customer(item, recent=0)
        if found is None:
            continue
        cid = found.id
        state = ProfileState()
        seen: list[Touchpoint] = []
        for tp in hub.touchpoints(cid):
            at = tp.occurred_at
            state.apply(tp, to_us(at), survivorship=survivorship, currency=hub.currency)
            history_then = list(seen)
            seen.append(tp)
            # Only what the customer did triggers a decision; what the brand sent or recorded
            # (decisions, segment changes) shapes the profile and the history, nothing more.
            if tp.direction is not Direction.INBOUND:
                continue
            if (since is not None and at < since) or (until is not None and at >= until):
                continue
            profile = state.to_customer(cid, found.identities)
            env = Env(
                now=at,
                timezone=profile.preferences.timezone,
                history=History(history_then),
                segments=frozenset(profile.segments),
                places=known_places,
            )
            decision = ruleset.decide(
                decision_data(profile, tp, {"channel": tp.channel}), env, customer_id=cid
            )
            chosen = {c.rule_id: c for c in decision.chosen}
            for outcome in decision.outcomes:
                if outcomes == "chosen" and outcome.outcome is not Outcome.CHOSEN:
                    continue
                actions = chosen[outcome.rule_id].actions if outcome.rule_id in chosen else ()
                rows.append(
                    {
                        "customer_id": cid,
                        "at": at,
                        "event": tp.name,
                        "channel": tp.channel,
                        "rule_id": outcome.rule_id,
                        "outcome": outcome.outcome.value,
                        "variant": outcome.variant,
                        "actions": ", ".join(
                            f"{a.type}:{a.id}" if a.id else a.type for a in actions
                        ),
                        "detail": outcome.detail,
                    }
                )
    return _table(rows, frame)
