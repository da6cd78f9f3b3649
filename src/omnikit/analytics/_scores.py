"""Computed scores: RFM (recency, frequency, monetary quintiles) and lead scoring with decay."""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from omnikit._models.customers import Customer
from omnikit._models.touchpoints import Touchpoint
from omnikit.errors import ValidationError
from omnikit.rules._data import event_data
from omnikit.rules._domain import DOMAIN_OPERATIONS, Env
from omnikit.rules._lang import js
from omnikit.rules._lang.compiler import compile_condition
from omnikit.rules._rule import as_condition

__all__ = ["RFM", "LeadScoring", "rfm_scores"]


@attrs.define(frozen=True, kw_only=True)
class RFM:
    """
    A customer's recency, frequency and monetary quintiles (5 is best), and their segment.

    Segments: `champions` (R, F ≥ 4), `loyal` (R, F ≥ 3), `new` (R ≥ 4, F ≤ 2),
    `cant_lose` (R ≤ 2, F ≥ 4), `at_risk` (R ≤ 2, F ≥ 3), `hibernating` (R, F ≤ 2),
    `needs_attention` (the rest).

    Added in version 0.1.0.
    """

    recency: int
    frequency: int
    monetary: int
    segment: str
    days_since_last_order: float
    orders: int
    revenue: float

    @property
    def code(self) -> str:
        """The three scores as one code, `"545"`."""
        return f"{self.recency}{self.frequency}{self.monetary}"


def _quintile(sorted_values: Sequence[float], value: float) -> int:
    """1-5 by the share of values strictly below *value* (ties score alike)."""
    below = bisect.bisect_left(sorted_values, value)
    return min(5, 1 + (5 * below) // len(sorted_values))


def _segment(r: int, f: int) -> str:
    if r >= 4 and f >= 4:
        return "champions"
    if r >= 3 and f >= 3:
        return "loyal"
    if r >= 4:
        return "new"
    if r <= 2 and f >= 4:
        return "cant_lose"
    if r <= 2 and f >= 3:
        return "at_risk"
    if r <= 2:
        return "hibernating"
    return "needs_attention"


def rfm_scores(customers: Iterable[Customer], *, now: dt.datetime) -> dict[str, RFM]:
    """
    Score every customer who has ordered against the others, by quintile.

    Recency is days since the last order (fewer is better), frequency the number of orders,
    monetary the revenue (every currency added up). Customers without orders get no score.

    Added in version 0.1.0.
    """
    rows = [row for row in (rfm_row(customer, now=now) for customer in customers) if row]
    return rfm_of_rows(rows)


RFMRow = tuple[str, float, int, float]
"""What RFM needs of a customer: id, days since the last order, orders, revenue."""


def rfm_row(customer: Customer, *, now: dt.datetime) -> RFMRow | None:
    """What `rfm_scores` needs of *customer*; `None` if they never ordered."""
    stats = customer.stats
    if stats.orders <= 0 or stats.last_order_at is None:
        return None
    days = (now - stats.last_order_at).total_seconds() / 86_400
    return (customer.id, days, stats.orders, float(sum(stats.revenue.values(), 0)))


def rfm_of_rows(rows: list[RFMRow]) -> dict[str, RFM]:
    """`rfm_scores` of the customers whose `rfm_row`s are *rows*."""
    if not rows:
        return {}
    recencies = sorted(-r[1] for r in rows)
    frequencies = sorted(float(r[2]) for r in rows)
    revenues = sorted(r[3] for r in rows)
    out: dict[str, RFM] = {}
    for cid, days, orders, revenue in rows:
        r = _quintile(recencies, -days)
        f = _quintile(frequencies, float(orders))
        m = _quintile(revenues, revenue)
        out[cid] = RFM(
            recency=r,
            frequency=f,
            monetary=m,
            segment=_segment(r, f),
            days_since_last_order=days,
            orders=orders,
            revenue=revenue,
        )
    return out


class LeadScoring:
    """
    Points per behaviour, decaying over time.

    An event worth 10 points is worth 5 after one *half_life_days*.

    ```python
    scoring = LeadScoring(
        points={"Product Viewed": 1, "Product Added": 5, "Checkout Started": 10},
        rules=[(event.properties["price"] > 200, 3)],  # extra points when the condition holds
        half_life_days=14,
    )
    scoring.score(hub.touchpoints(customer), now=now)
    ```

    Conditions read `event` (as rules do) and may use the domain operations.

    Added in version 0.1.0.
    """

    def __init__(
        self,
        *,
        points: Mapping[str, float] | None = None,
        rules: Sequence[tuple[Any, float]] = (),
        half_life_days: float = 30.0,
    ) -> None:
        if half_life_days <= 0:
            raise ValidationError("half_life_days: must be positive")
        self.points = dict(points or {})
        self.half_life_days = half_life_days
        self._rules = [
            (compile_condition(as_condition(c), DOMAIN_OPERATIONS), float(p)) for c, p in rules
        ]

    def points_for(self, tp: Touchpoint, *, now: dt.datetime) -> float:
        """The undecayed points one touchpoint earns."""
        total = float(self.points.get(tp.name, 0.0))
        if self._rules:
            data = {"event": event_data(tp), "customer": None, "context": {}}
            env = Env(now=now)
            for run, points in self._rules:
                if js.truthy(run(data, env)):
                    total += points
        return total

    def score(self, touchpoints: Iterable[Touchpoint], *, now: dt.datetime) -> float:
        """
        The decayed sum of points over *touchpoints* (future ones count in full).

        Added in version 0.1.0.
        """
        total = 0.0
        for tp in touchpoints:
            points = self.points_for(tp, now=now)
            if points:
                age = max(0.0, (now - tp.occurred_at).total_seconds() / 86_400)
                total += points * 0.5 ** (age / self.half_life_days)
        return round(total, 6)
