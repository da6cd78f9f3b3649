"""Orders, folded from the events that tell their story."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import attrs

from omnikit._engines.money import (
    Refund,
    by_order,
    carries_amount,
    keep_refund,
    order_amount,
    order_currency,
    order_id_of,
    refund_of,
    refunded,
)
from omnikit._engines.profile import to_us
from omnikit._models.orders import (
    Fulfilment,
    FulfilmentOption,
    FulfilmentStatus,
    LineItem,
    Order,
    OrderStatus,
    Product,
)
from omnikit._models.touchpoints import Touchpoint
from omnikit.converters import to_decimal
from omnikit.errors import ValidationError

__all__ = ["ORDER_EVENTS", "fold_orders"]

_FULFILMENT_EVENTS = {
    "Order Shipped": FulfilmentStatus.SHIPPED,
    "Order Ready for Pickup": FulfilmentStatus.READY_FOR_PICKUP,
    "Order Delivered": FulfilmentStatus.DELIVERED,
    "Order Picked Up": FulfilmentStatus.PICKED_UP,
}
ORDER_EVENTS = frozenset(
    {"Order Completed", "Order Updated", "Order Cancelled", "Order Refunded", *_FULFILMENT_EVENTS}
)
_OPTIONS = {option.value: option for option in FulfilmentOption}
_ALIASES = {
    "delivery": FulfilmentOption.HOME_DELIVERY,
    "shipping": FulfilmentOption.HOME_DELIVERY,
    "click_and_collect": FulfilmentOption.STORE_PICKUP,
    "bopis": FulfilmentOption.STORE_PICKUP,
    "pickup": FulfilmentOption.STORE_PICKUP,
    "locker": FulfilmentOption.PICKUP_POINT,
}


def _money(properties: Mapping[str, Any], field: str) -> Decimal | None:
    value = properties.get(field)
    if value is None:
        return None
    try:
        return to_decimal(value)
    except ValidationError:
        return None


def _text(value: object) -> str | None:
    return None if value is None or isinstance(value, bool) else str(value)


def _items(properties: Mapping[str, Any]) -> tuple[LineItem, ...]:
    products = properties.get("products")
    if not isinstance(products, list):
        return ()
    items = []
    for i, product in enumerate(products):
        if not isinstance(product, Mapping):
            continue
        price = _money(product, "price")
        quantity = product.get("quantity")
        items.append(
            LineItem(
                product=Product(
                    product_id=_text(product.get("product_id") or product.get("sku")) or f"#{i}",
                    sku=_text(product.get("sku")),
                    name=_text(product.get("name")),
                    brand=_text(product.get("brand")),
                    category=_text(product.get("category")),
                    variant=_text(product.get("variant")),
                    price=price,
                    url=_text(product.get("url")),
                    image_url=_text(product.get("image_url")),
                ),
                quantity=int(quantity)
                if isinstance(quantity, int | float) and not isinstance(quantity, bool)
                else 1,
                price=price,
                coupon=_text(product.get("coupon")),
            )
        )
    return tuple(items)


def _fulfilment(properties: Mapping[str, Any], tp: Touchpoint) -> Fulfilment | None:
    raw = properties.get("fulfilment", properties.get("fulfillment"))
    option_name: object = None
    store_id = pickup_point = None
    if isinstance(raw, Mapping):
        option_name = raw.get("option") or raw.get("method") or raw.get("type")
        store_id = _text(raw.get("store_id"))
        pickup_point = _text(raw.get("pickup_point_id"))
    elif isinstance(raw, str):
        option_name = raw
    elif tp.channel in {"store", "kiosk"}:
        option_name = FulfilmentOption.IN_STORE.value
        store_id = tp.context.store_id
    if not isinstance(option_name, str):
        return None
    key = option_name.strip().lower().replace("-", "_").replace(" ", "_")
    option = _OPTIONS.get(key) or _ALIASES.get(key)
    if option is None:
        return None
    status = (
        FulfilmentStatus.PICKED_UP
        if option is FulfilmentOption.IN_STORE
        else FulfilmentStatus.PENDING
    )
    return Fulfilment(
        option=option,
        status=status,
        store_id=store_id
        or (tp.context.store_id if option is not FulfilmentOption.HOME_DELIVERY else None),
        pickup_point_id=pickup_point,
        updated_at=tp.occurred_at,
    )


def fold_orders(touchpoints: Iterable[Touchpoint], *, currency: str = "USD") -> list[Order]:
    """
    Build each order from its events, in event-time order, and return them oldest first.

    The events are `Order Completed`, `Order Updated`, `Order Cancelled`, `Order Refunded`, and
    the fulfilment events `Order Shipped`, `Order Ready for Pickup`, `Order Delivered` and
    `Order Picked Up`. An order is one `order_id`, however many messages name it: the latest
    `Order Completed` or `Order Updated` event that carries an amount sets its total, as it
    sets the customer's revenue, and the earliest `Order Completed` event places it. Orders
    never completed, events without an `order_id`, and events that reached the customer on a
    claim alone (`Touchpoint.claims_only`) are skipped.

    Cancellations and refunds hold whenever they were sent: an order named by an
    `Order Cancelled` event is cancelled, and its refunds (each counted once, none past the
    order's total, in its currency: see `omnikit._engines.money`) are what it gave back.
    """
    orders: dict[str, Order] = {}
    placed: dict[str, Touchpoint] = {}
    cancelled: dict[str, Touchpoint] = {}
    refunds: dict[str, Refund] = {}
    ordered = sorted(
        (tp for tp in touchpoints if tp.name in ORDER_EVENTS and not tp.claims_only),
        key=lambda tp: (tp.occurred_at, tp.message_id),
    )
    for tp in ordered:
        props = tp.properties
        if tp.name == "Order Refunded":
            refund = refund_of(props, at_us=to_us(tp.occurred_at), message_id=tp.message_id)
            if refund is not None:
                keep_refund(refunds, *refund)
            continue
        order_id = order_id_of(props)
        if order_id is None:
            continue
        if tp.name == "Order Cancelled":
            cancelled.setdefault(order_id, tp)
        elif tp.name in {"Order Completed", "Order Updated"}:
            if tp.name == "Order Completed":
                placed.setdefault(order_id, tp)
            orders[order_id] = _placed_or_updated(orders.get(order_id), order_id, tp, currency)
        elif order_id in orders:
            orders[order_id] = _fulfilled(orders[order_id], tp)
    given = by_order(refunds)
    return sorted(
        (
            _settled(order, placed[order_id], cancelled.get(order_id), given.get(order_id, ()))
            for order_id, order in orders.items()
            if order_id in placed
        ),
        key=lambda o: (o.placed_at, o.order_id),
    )


def _placed_or_updated(order: Order | None, order_id: str, tp: Touchpoint, currency: str) -> Order:
    """*order* (`None` before its first event) as an `Order Completed` or `Updated` leaves it."""
    props = tp.properties
    fields: dict[str, Any] = {
        "items": _items(props) or (order.items if order else ()),
        "currency": order_currency(props, order.currency if order else currency),
        "total": order_amount(props, ("total", "revenue")),
        "subtotal": _money(props, "subtotal"),
        "discount": _money(props, "discount"),
        "shipping": _money(props, "shipping"),
        "tax": _money(props, "tax"),
        "coupon": _text(props.get("coupon")),
    }
    fulfilment = _fulfilment(props, tp)
    if order is None:
        return Order(
            order_id=order_id,
            customer_id=tp.customer_id,
            channel=tp.channel,
            status=OrderStatus.COMPLETED,
            placed_at=tp.occurred_at,
            fulfilment=fulfilment,
            **fields,
        )
    if not carries_amount(props):  # a status update: the amount stands
        fields["total"] = order.total
    return attrs.evolve(
        order,
        fulfilment=fulfilment or order.fulfilment,
        **{k: v for k, v in fields.items() if v is not None},
    )


def _fulfilled(order: Order, tp: Touchpoint) -> Order:
    """*order* as a fulfilment event (`Order Shipped`, ...) leaves it."""
    stage = _FULFILMENT_EVENTS[tp.name]
    fulfilment = order.fulfilment or Fulfilment(
        option=FulfilmentOption.HOME_DELIVERY
        if stage in {FulfilmentStatus.SHIPPED, FulfilmentStatus.DELIVERED}
        else FulfilmentOption.STORE_PICKUP,
        store_id=tp.context.store_id,
    )
    store_id = fulfilment.store_id or tp.context.store_id
    if fulfilment.option is FulfilmentOption.HOME_DELIVERY:
        store_id = fulfilment.store_id
    return attrs.evolve(
        order,
        fulfilment=attrs.evolve(
            fulfilment, status=stage, updated_at=tp.occurred_at, store_id=store_id
        ),
    )


def _settled(
    order: Order, placed: Touchpoint, cancelled: Touchpoint | None, refunds: Iterable[Refund]
) -> Order:
    """*order* placed when *placed* says, with its refunds, and cancelled if it was."""
    order = attrs.evolve(order, placed_at=placed.occurred_at)
    back = refunded(order.total, order.currency, refunds)
    if back is not None:
        status = OrderStatus.REFUNDED if back >= order.total else OrderStatus.PARTIALLY_REFUNDED
        order = attrs.evolve(order, refunded=back, status=status)
    if cancelled is None:
        return order
    fulfilment = order.fulfilment
    if fulfilment is not None:
        fulfilment = attrs.evolve(
            fulfilment, status=FulfilmentStatus.CANCELLED, updated_at=cancelled.occurred_at
        )
    return attrs.evolve(order, status=OrderStatus.CANCELLED, fulfilment=fulfilment)
