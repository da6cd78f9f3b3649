"""
What order events are worth: amounts, currencies, and which refunds give back how much.

The profile fold (stats, RFM, the rules) and `fold_orders` (`Hub.orders()`) both read order
events through these functions, so that they tell the same story.

A refund is an `Order Refunded` event with an `order_id`. Messages naming one `refund_id` of
one order are one refund (the latest by event time and message id says what it is); without
a `refund_id`, messages giving back the same amount in the same currency for the same
products of one order are one refund, however many message ids they come under. A refund
that carries no amount (no `total`, `revenue` or `products`) gives back the whole order. The
refunds of an order give back no more than it is worth, in its currency: one naming another
currency gives nothing back (omnikit converts no currencies), and one that names no order,
an order the customer never completed, or a cancelled order changes no figure.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeAlias

from omnikit.converters import to_decimal

__all__ = [
    "Refund",
    "by_order",
    "carries_amount",
    "keep_refund",
    "order_amount",
    "order_currency",
    "order_id_of",
    "refund_of",
    "refunded",
]

Refund: TypeAlias = tuple[str, str | None, str | None, int, str]
"""`(order_id, amount, currency, at_us, message_id)`: *amount* `None` is the whole order,
*currency* `None` the order's own."""

_REFUND_FIELDS = ("total", "revenue")


def order_currency(properties: Mapping[str, Any], default: str) -> str:
    """The order's ISO currency code, upper-cased, or *default*."""
    currency = properties.get("currency")
    return currency.upper() if isinstance(currency, str) and currency.strip() else default


def order_id_of(properties: Mapping[str, Any]) -> str | None:
    """The order id an order event names, as text; `None` when it names none."""
    value = properties.get("order_id")
    return None if value is None or isinstance(value, bool) else str(value)


def carries_amount(properties: Mapping[str, Any]) -> bool:
    """Whether an order event says what the order is worth (a total, revenue or products)."""
    if properties.get("total") is not None or properties.get("revenue") is not None:
        return True
    products = properties.get("products")
    return isinstance(products, list) and any(isinstance(p, Mapping) for p in products)


def order_amount(properties: Mapping[str, Any], fields: Sequence[str]) -> Decimal:
    """The first of *fields* present, else the sum of `products[].price * quantity`."""
    for field in fields:
        value = properties.get(field)
        if value is not None:
            return to_decimal(value)
    total = Decimal(0)
    products = properties.get("products")
    if isinstance(products, list):
        for product in products:
            if isinstance(product, dict) and product.get("price") is not None:
                quantity = product.get("quantity")
                total += to_decimal(product["price"]) * (
                    1 if quantity is None else to_decimal(quantity)
                )
    return total


def refund_of(
    properties: Mapping[str, Any], *, at_us: int, message_id: str
) -> tuple[str, Refund] | None:
    """
    The key and entry of the refund an `Order Refunded` event tells; `None` if it names no order.

    Events with one key are one refund (see the module's documentation).
    """
    order_id = order_id_of(properties)
    if order_id is None:
        return None
    amount = None
    if carries_amount(properties):
        amount = max(order_amount(properties, _REFUND_FIELDS), Decimal(0))
    currency = order_currency(properties, "") or None
    refund_id = properties.get("refund_id")
    if refund_id is not None and not isinstance(refund_id, bool):
        identity: list[Any] = [order_id, "id", str(refund_id)]
    else:
        shown = None if amount is None else format(amount.normalize(), "f")
        identity = [order_id, "content", shown, currency, properties.get("products")]
    try:
        text = json.dumps(identity, sort_keys=True, ensure_ascii=False, default=str)
    except (TypeError, ValueError):  # keys of several types (1 and "a") do not sort
        text = repr(identity)
    key = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
    return key, (order_id, None if amount is None else str(amount), currency, at_us, message_id)


def keep_refund(book: dict[str, Refund], key: str, entry: Refund) -> None:
    """Put *entry* in *book* under *key* unless a later account of that refund is there."""
    current = book.get(key)
    if current is None or (entry[3], entry[4]) > (current[3], current[4]):
        book[key] = entry


def by_order(book: Mapping[str, Refund]) -> dict[str, list[Refund]]:
    """The refunds of *book*, by order id."""
    out: dict[str, list[Refund]] = {}
    for entry in book.values():
        out.setdefault(entry[0], []).append(entry)
    return out


def refunded(total: Decimal, currency: str, refunds: Iterable[Refund]) -> Decimal | None:
    """
    What *refunds* give back of an order worth *total* in *currency*: never more than it.

    `None` when none of them is in the order's currency (nothing was refunded).
    """
    cap = max(total, Decimal(0))
    given: Decimal | None = None
    for _, amount, named, _, _ in refunds:
        if named is not None and named != currency:
            continue
        if amount is None:
            return cap
        given = (given or Decimal(0)) + Decimal(amount)
    return None if given is None else min(given, cap)
