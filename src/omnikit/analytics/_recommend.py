"""Recommendations: "customers who bought this also bought", from co-occurrence in orders."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from omnikit._models.orders import Order, OrderStatus
from omnikit.errors import ValidationError
from omnikit.rules._domain import DOMAIN_OPERATIONS, Env
from omnikit.rules._lang import js
from omnikit.rules._lang.compiler import compile_condition
from omnikit.rules._rule import as_condition

__all__ = ["BoughtTogether", "Recommendation"]


@attrs.define(frozen=True, kw_only=True)
class Recommendation:
    """
    A product to suggest, how strongly, and which owned products it goes with.

    Added in version 0.1.0.
    """

    product_id: str
    score: float
    because: tuple[str, ...] = ()


def _bought(order: Order) -> list[str]:
    if order.status in {OrderStatus.CANCELLED, OrderStatus.REFUNDED}:
        return []
    return sorted({item.product.product_id for item in order.items})


class BoughtTogether:
    """
    "Customers who bought this also bought": co-occurrence of products in orders.

    Fit it on every order (`BoughtTogether.fit(orders)`), then ask for a customer's
    recommendations. Cancelled and fully refunded orders don't count.

    Added in version 0.1.0.
    """

    def __init__(self) -> None:
        self.pairs: dict[str, Counter[str]] = {}
        self.popularity: Counter[str] = Counter()
        self.products: dict[str, dict[str, Any]] = {}

    @classmethod
    def fit(cls, orders: Iterable[Order]) -> BoughtTogether:
        """
        Count which products are bought together.

        Added in version 0.1.0.
        """
        model = cls()
        for order in orders:
            items = _bought(order)
            model.popularity.update(items)
            for item in order.items:
                product = item.product
                model.products.setdefault(
                    product.product_id,
                    {
                        k: v
                        for k, v in attrs.asdict(product).items()
                        if v is not None and k != "price"
                    },
                )
            for a, b in itertools.permutations(items, 2):
                model.pairs.setdefault(a, Counter())[b] += 1
        return model

    def recommend(
        self,
        orders: Iterable[Order],
        *,
        customer: Mapping[str, Any] | None = None,
        exclude_when: Sequence[Any] = (),
        limit: int = 5,
        env: Env | None = None,
    ) -> list[Recommendation]:
        """
        Products that go with what the customer bought (*orders*), best first.

        Excluded: products they already have, products they returned (refunded or cancelled
        orders), and products for which any of *exclude_when* holds. Those conditions read
        `customer` (as rules do) and `product` (`product_id`, `name`, `category`, `brand`,
        ...): `(var("product.category") == "Kids") & ~customer.traits["has_kids"]`.

        Added in version 0.1.0.
        """
        if limit < 1:
            raise ValidationError("limit: must be at least 1")
        owned: set[str] = set()
        returned: set[str] = set()
        for order in orders:
            ids = {item.product.product_id for item in order.items}
            if order.status in {
                OrderStatus.CANCELLED,
                OrderStatus.REFUNDED,
                OrderStatus.PARTIALLY_REFUNDED,
            }:
                returned |= ids
            owned |= ids
        scores: Counter[str] = Counter()
        because: dict[str, set[str]] = {}
        for product in owned:
            for other, count in self.pairs.get(product, Counter()).items():
                scores[other] += count
                because.setdefault(other, set()).add(product)
        checks = [compile_condition(as_condition(c), DOMAIN_OPERATIONS) for c in exclude_when]
        env = env or Env(now=dt.datetime.now(dt.UTC))
        found: list[Recommendation] = []
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], -self.popularity[kv[0]], kv[0]))
        for product_id, score in ranked:
            if product_id in owned or product_id in returned:
                continue
            data = {
                "customer": dict(customer or {}),
                "product": {"product_id": product_id, **self.products.get(product_id, {})},
            }
            if any(js.truthy(check(data, env)) for check in checks):
                continue
            found.append(
                Recommendation(
                    product_id=product_id,
                    score=float(score),
                    because=tuple(sorted(because[product_id])),
                )
            )
            if len(found) >= limit:
                break
        return found
