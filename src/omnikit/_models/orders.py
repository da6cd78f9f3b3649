"""Orders, what is in them, and how they reach the customer."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

import attrs

from omnikit._models.consent import aware

__all__ = [
    "Fulfilment",
    "FulfilmentOption",
    "FulfilmentStatus",
    "LineItem",
    "Order",
    "OrderStatus",
    "Product",
]


class FulfilmentOption(enum.StrEnum):
    """
    How an order reaches the customer.

    Added in version 0.1.0.
    """

    HOME_DELIVERY = "home_delivery"
    STORE_PICKUP = "store_pickup"
    PICKUP_POINT = "pickup_point"
    IN_STORE = "in_store"
    """Bought and taken at the counter."""
    DIGITAL = "digital"


class FulfilmentStatus(enum.StrEnum):
    """
    Where fulfilment stands.

    Added in version 0.1.0.
    """

    PENDING = "pending"
    SHIPPED = "shipped"
    READY_FOR_PICKUP = "ready_for_pickup"
    DELIVERED = "delivered"
    PICKED_UP = "picked_up"
    CANCELLED = "cancelled"

    @property
    def is_done(self) -> bool:
        """Whether the customer has the goods (or never will)."""
        return self in {
            FulfilmentStatus.DELIVERED,
            FulfilmentStatus.PICKED_UP,
            FulfilmentStatus.CANCELLED,
        }


class OrderStatus(enum.StrEnum):
    """
    Where an order stands.

    Added in version 0.1.0.
    """

    PLACED = "placed"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"


@attrs.define(frozen=True, kw_only=True)
class Product:
    """
    A product, as Segment's e-commerce spec describes it.

    Added in version 0.1.0.
    """

    product_id: str
    sku: str | None = None
    name: str | None = None
    brand: str | None = None
    category: str | None = None
    variant: str | None = None
    price: Decimal | None = None
    url: str | None = None
    image_url: str | None = None


@attrs.define(frozen=True, kw_only=True)
class LineItem:
    """
    A quantity of one product in an order, at the price paid per unit.

    Added in version 0.1.0.
    """

    product: Product
    quantity: int = attrs.field(default=1, validator=attrs.validators.ge(0))
    price: Decimal | None = None
    coupon: str | None = None

    @property
    def amount(self) -> Decimal:
        """Unit price (the line's, else the product's) times quantity."""
        price = self.price if self.price is not None else self.product.price
        return (price or Decimal(0)) * self.quantity


@attrs.define(frozen=True, kw_only=True)
class Fulfilment:
    """
    How and where an order is handed over, and how far along that is.

    Attributes:
        option: Home delivery, store pickup, pickup point, at the counter, or digital.
        status: Pending, shipped, ready for pickup, delivered, picked up, cancelled.
        store_id: The store that fulfils it (pickup, or in-store purchase).
        pickup_point_id: The locker or partner point, for pickup-point orders.
        updated_at: When the status last changed.

    Added in version 0.1.0.
    """

    option: FulfilmentOption
    status: FulfilmentStatus = FulfilmentStatus.PENDING
    store_id: str | None = None
    pickup_point_id: str | None = None
    updated_at: dt.datetime | None = attrs.field(default=None, validator=aware)


@attrs.define(frozen=True, kw_only=True)
class Order:
    """
    An order, folded from the events that tell its story.

    Completed, updated, shipped or picked up, cancelled, refunded.

    Attributes:
        order_id: The retailer's order id.
        customer_id: The customer who placed it.
        channel: Where it was placed.
        status: Placed, completed, cancelled, (partially) refunded. An order named by an
            `Order Cancelled` event is cancelled, whenever that event came.
        placed_at: When it was placed (its earliest `Order Completed` event).
        currency: ISO 4217 code.
        items: What was bought.
        total: What the customer paid (Segment's `total`, else `revenue`, else the items' sum),
            from the latest `Order Completed` or `Order Updated` event that carries an amount:
            one order id is one order, however many messages name it.
        refunded: How much of it has been refunded: each refund once (one `refund_id`, or
            without one the same amount, currency and products), in the order's currency,
            and never more than *total*. A refund without an amount refunds it all.
        fulfilment: How the customer gets it, when known.

    Added in version 0.1.0.
    """

    order_id: str
    customer_id: str | None = None
    channel: str | None = None
    status: OrderStatus = OrderStatus.COMPLETED
    placed_at: dt.datetime = attrs.field(validator=aware)
    currency: str = "USD"
    items: tuple[LineItem, ...] = ()
    subtotal: Decimal | None = None
    discount: Decimal | None = None
    shipping: Decimal | None = None
    tax: Decimal | None = None
    total: Decimal = Decimal(0)
    refunded: Decimal = Decimal(0)
    coupon: str | None = None
    fulfilment: Fulfilment | None = None
