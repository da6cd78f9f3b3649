"""One interaction between a customer and the brand, on any channel."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from typing import Any

import attrs

from omnikit._models.consent import aware
from omnikit._models.identities import Identity

__all__ = [
    "Context",
    "Direction",
    "EcommerceEvent",
    "Location",
    "Touchpoint",
    "TouchpointType",
    "Trust",
]


class TouchpointType(enum.StrEnum):
    """
    The Segment Spec call a touchpoint came from.

    Added in version 0.1.0.
    """

    IDENTIFY = "identify"
    TRACK = "track"
    PAGE = "page"
    SCREEN = "screen"
    GROUP = "group"
    ALIAS = "alias"


class Direction(enum.StrEnum):
    """
    Who started the interaction: the customer (inbound) or the brand (outbound).

    Added in version 0.1.0.
    """

    INBOUND = "inbound"
    OUTBOUND = "outbound"


class Trust(enum.StrEnum):
    """
    How far the identifiers a touchpoint carries can be believed.

    The trust comes from the source the host names when it hands a touchpoint over
    (`Hub.ingest(payload, source="pos")`), never from the message itself: a browser can write
    anything into a message. Sources the host lists in `IdentityRules.verified_sources` are
    verified (a server-side call after the customer authenticated, the till scanning a card,
    a call-centre agent who checked); everything else only claims.

    Added in version 0.1.0.
    """

    CLAIMED = "claimed"
    """Whoever sent it says so: browser and app calls, form fields, unknown sources."""
    VERIFIED = "verified"
    """A source the host vouches for checked it."""
    INTERNAL = "internal"
    """omnikit made it about a customer (a decision, a segment change): it reaches the customer
    whose identity it carries, and links nothing. Never the trust of an ingested message."""


class EcommerceEvent(enum.StrEnum):
    """
    Event names omnikit gives meaning to; any other event name is allowed too.

    Segment's e-commerce v2 events, its email and live-chat events, fulfilment events, and
    omnikit's own.

    Added in version 0.1.0.
    """

    PRODUCTS_SEARCHED = "Products Searched"
    PRODUCT_LIST_VIEWED = "Product List Viewed"
    PRODUCT_LIST_FILTERED = "Product List Filtered"
    PROMOTION_VIEWED = "Promotion Viewed"
    PROMOTION_CLICKED = "Promotion Clicked"
    PRODUCT_CLICKED = "Product Clicked"
    PRODUCT_VIEWED = "Product Viewed"
    PRODUCT_ADDED = "Product Added"
    PRODUCT_REMOVED = "Product Removed"
    CART_VIEWED = "Cart Viewed"
    CHECKOUT_STARTED = "Checkout Started"
    CHECKOUT_STEP_VIEWED = "Checkout Step Viewed"
    CHECKOUT_STEP_COMPLETED = "Checkout Step Completed"
    PAYMENT_INFO_ENTERED = "Payment Info Entered"
    ORDER_UPDATED = "Order Updated"
    ORDER_COMPLETED = "Order Completed"
    ORDER_REFUNDED = "Order Refunded"
    ORDER_CANCELLED = "Order Cancelled"
    COUPON_ENTERED = "Coupon Entered"
    COUPON_APPLIED = "Coupon Applied"
    COUPON_DENIED = "Coupon Denied"
    COUPON_REMOVED = "Coupon Removed"
    PRODUCT_ADDED_TO_WISHLIST = "Product Added to Wishlist"
    PRODUCT_REMOVED_FROM_WISHLIST = "Product Removed from Wishlist"
    WISHLIST_PRODUCT_ADDED_TO_CART = "Wishlist Product Added to Cart"
    PRODUCT_SHARED = "Product Shared"
    CART_SHARED = "Cart Shared"
    PRODUCT_REVIEWED = "Product Reviewed"
    # Fulfilment: a journey that starts online and ends at a store counter.
    ORDER_SHIPPED = "Order Shipped"
    ORDER_DELIVERED = "Order Delivered"
    ORDER_READY_FOR_PICKUP = "Order Ready for Pickup"
    ORDER_PICKED_UP = "Order Picked Up"
    # Email and live chat (Segment's sibling specs).
    EMAIL_DELIVERED = "Email Delivered"
    EMAIL_OPENED = "Email Opened"
    EMAIL_LINK_CLICKED = "Email Link Clicked"
    EMAIL_BOUNCED = "Email Bounced"
    EMAIL_MARKED_AS_SPAM = "Email Marked as Spam"
    UNSUBSCRIBED = "Unsubscribed"
    CONVERSATION_STARTED = "Conversation Started"
    CONVERSATION_ENDED = "Conversation Ended"
    MESSAGE_SENT = "Message Sent"
    MESSAGE_RECEIVED = "Message Received"
    # omnikit's own.
    CONSENT_UPDATED = "Consent Updated"
    SEGMENT_ENTERED = "Segment Entered"
    SEGMENT_EXITED = "Segment Exited"
    DECISION_MADE = "Decision Made"


@attrs.define(frozen=True, kw_only=True)
class Location:
    """
    Where a touchpoint happened: coordinates and/or a place name.

    Added in version 0.1.0.
    """

    latitude: float | None = attrs.field(
        default=None,
        validator=attrs.validators.optional(
            attrs.validators.and_(attrs.validators.ge(-90.0), attrs.validators.le(90.0))
        ),
    )
    longitude: float | None = attrs.field(
        default=None,
        validator=attrs.validators.optional(
            attrs.validators.and_(attrs.validators.ge(-180.0), attrs.validators.le(180.0))
        ),
    )
    city: str | None = None
    region: str | None = None
    country: str | None = None
    postal_code: str | None = None


@attrs.define(frozen=True, kw_only=True)
class Context:
    """
    The circumstances of a touchpoint.

    Attributes:
        source: Where the data came from (`"pos"`, `"crm"`, `"web"`); used to rank traits.
        store_id: The store it happened in or was fulfilled from.
        agent: The call-centre or store agent who handled it.
        campaign: The campaign that led to it (Segment's UTM fields: name, source, medium, ...).
        device: The device (id, type, manufacturer, model, ...).
        location: Where it happened.
        page: The web page (path, url, referrer, title, ...).
        ip: The client's IP address.
        locale: The client's locale (`"pt-PT"`).
        timezone: The client's IANA time zone.
        user_agent: The client's user-agent string.
        extra: Every other context field, as received.

    Added in version 0.1.0.
    """

    source: str | None = None
    store_id: str | None = None
    agent: str | None = None
    campaign: Mapping[str, Any] = attrs.field(factory=dict)
    device: Mapping[str, Any] = attrs.field(factory=dict)
    location: Location | None = None
    page: Mapping[str, Any] = attrs.field(factory=dict)
    ip: str | None = None
    locale: str | None = None
    timezone: str | None = None
    user_agent: str | None = None
    extra: Mapping[str, Any] = attrs.field(factory=dict)


_EMPTY_CONTEXT = Context()


@attrs.define(frozen=True, kw_only=True)
class Touchpoint:
    """
    One interaction: a page view on the web, a cart in the app, a payment at the till, a call.

    Attributes:
        message_id: Unique per message; ingesting it again changes nothing.
        type: The Segment Spec call (track, identify, page, ...).
        name: The event name (`"Order Completed"`); `"Page Viewed"`, `"Screen Viewed"`,
            `"Identify"`, `"Group"` or `"Alias"` for the other calls.
        channel: The channel name (`"web"`, `"store"`, ...).
        direction: Inbound from the customer, or outbound from the brand.
        occurred_at: When it happened (time-zone aware).
        received_at: When omnikit (or the collector before it) received it.
        identities: Every identifier it carried.
        properties: The event's properties.
        traits: Traits it carried (identify traits, or `context.traits`).
        context: Device, location, store, campaign, agent, ...
        trust: Whether its identifiers came from a verified source or are only claimed
            (`Trust.INTERNAL` for what omnikit records itself: decisions, segment changes).
        claims_only: Set by omnikit when the touchpoint reached its customer only through
            identifiers it claims and may not act for them (see "Trust" on the identity
            resolution page): it is kept in their history but changes nothing they hold (no
            trait, preference, consent grant, order, refund, segment, experiment arm, nor
            their activity), rules and `Hub.orders()` leave it out, and a consent it
            withdraws is still withdrawn.
        customer_id: The customer it was resolved to, once stored.

    Added in version 0.1.0.
    """

    message_id: str
    type: TouchpointType = TouchpointType.TRACK
    name: str
    channel: str
    direction: Direction = Direction.INBOUND
    occurred_at: dt.datetime = attrs.field(validator=aware)
    received_at: dt.datetime = attrs.field(validator=aware)
    identities: tuple[Identity, ...] = ()
    properties: Mapping[str, Any] = attrs.field(factory=dict)
    traits: Mapping[str, Any] = attrs.field(factory=dict)
    context: Context = _EMPTY_CONTEXT
    trust: Trust = Trust.CLAIMED
    claims_only: bool = False
    customer_id: str | None = None

    def identity(self, kind: str) -> str | None:
        """Return the first identifier of *kind* this touchpoint carried, if any."""
        for identity in self.identities:
            if identity.kind == kind:
                return identity.value
        return None
