"""Content and places that fit a customer: post-purchase tips, the nearest store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import attrs

from omnikit._models.orders import Order, OrderStatus
from omnikit.rules._domain import Env, Place, distance_km

__all__ = ["Content", "ContentCatalog", "nearest_place"]


def nearest_place(
    location: Any, places: Iterable[Place], *, within_km: float | None = None
) -> tuple[Place, float] | None:
    """
    The place nearest *location*, and its distance in km, if any is within *within_km*.

    *location* is `[lat, lon]` or a `{"latitude", "longitude"}` object.

    Added in version 0.1.0.
    """
    if isinstance(location, str):
        return None  # not a location: a store id names a place only in a rule's places
    env = Env(now=dt.datetime.now(dt.UTC))
    best: tuple[Place, float] | None = None
    for place in places:
        distance = distance_km(env, location, [place.latitude, place.longitude])
        if distance is None:
            return None
        if (within_km is None or distance <= within_km) and (best is None or distance < best[1]):
            best = (place, distance)
    return best


@attrs.define(frozen=True, kw_only=True)
class Content:
    """
    A piece of content tied to products or categories: a care guide, a how-to, a tip.

    It is shown from *after_days* to *until_days* after the purchase.

    Added in version 0.1.0.
    """

    id: str
    title: str
    url: str | None = None
    products: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    after_days: float = 0.0
    until_days: float = 30.0


class ContentCatalog:
    """
    Post-purchase content: the tips and care guides attached to what was bought.

    Added in version 0.1.0.
    """

    def __init__(self, content: Iterable[Content]) -> None:
        self.content = tuple(content)

    def for_orders(self, orders: Iterable[Order], *, now: dt.datetime) -> list[Content]:
        """
        The content for the products of *orders* whose window is open at *now*.

        Newest order first, each piece once.

        Added in version 0.1.0.
        """
        found: dict[str, Content] = {}
        for order in sorted(orders, key=lambda o: o.placed_at, reverse=True):
            if order.status in {OrderStatus.CANCELLED, OrderStatus.REFUNDED}:
                continue
            age = (now - order.placed_at).total_seconds() / 86_400
            ids = {item.product.product_id for item in order.items}
            categories = {item.product.category for item in order.items if item.product.category}
            for piece in self.content:
                if piece.id in found or not piece.after_days <= age <= piece.until_days:
                    continue
                if ids & set(piece.products) or categories & set(piece.categories):
                    found[piece.id] = piece
        return list(found.values())
