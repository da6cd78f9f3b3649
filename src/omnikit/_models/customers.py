"""One profile per person, stitched from every identifier they use."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import attrs

from omnikit._models.consent import Consent, Preferences, aware, purpose_name
from omnikit._models.identities import Identity
from omnikit._models.touchpoints import Touchpoint, Trust

__all__ = ["ChannelStats", "Customer", "LinkRecord", "MergeRecord", "Stats"]


@attrs.define(frozen=True, kw_only=True)
class ChannelStats:
    """
    A customer's activity on one channel.

    Added in version 0.1.0.
    """

    first_seen: dt.datetime = attrs.field(validator=aware)
    last_seen: dt.datetime = attrs.field(validator=aware)
    touchpoints: int = 0


@attrs.define(frozen=True, kw_only=True)
class Stats:
    """
    Figures derived from a customer's inbound touchpoints.

    Every figure is the same whatever order the touchpoints arrived in.

    Attributes:
        first_seen: The customer's earliest inbound touchpoint.
        last_seen: Their latest inbound touchpoint.
        touchpoints: How many inbound touchpoints they have.
        per_channel: First/last seen and count, per channel.
        orders: How many orders they completed: distinct `order_id`s of `Order Completed`
            events (however many messages name one) that no `Order Cancelled` event names,
            and each `Order Completed` event without an `order_id`.
        revenue: What those orders brought in, net of refunds, per currency. An order's
            amount is its latest `Order Completed` or `Order Updated` event's `revenue`
            (else `total`, else the sum of its products).
        refunds: What `Order Refunded` events gave back of those orders, per currency
            (already taken off *revenue*): each refund once, in its order's currency, and
            never more than the order brought in. A refund of an order they never
            completed, or naming no order, gives nothing back.
        last_order_at: When they last completed an order (that was not cancelled).

    Added in version 0.1.0.
    """

    first_seen: dt.datetime | None = attrs.field(default=None, validator=aware)
    last_seen: dt.datetime | None = attrs.field(default=None, validator=aware)
    touchpoints: int = 0
    per_channel: Mapping[str, ChannelStats] = attrs.field(factory=dict)
    orders: int = 0
    revenue: Mapping[str, Decimal] = attrs.field(factory=dict)
    refunds: Mapping[str, Decimal] = attrs.field(factory=dict)
    last_order_at: dt.datetime | None = attrs.field(default=None, validator=aware)

    @property
    def channels(self) -> tuple[str, ...]:
        """The channels the customer has used, in the order they first used them."""
        return tuple(
            name
            for name, _ in sorted(
                self.per_channel.items(), key=lambda kv: (kv[1].first_seen, kv[0])
            )
        )


@attrs.define(frozen=True, kw_only=True)
class Customer:
    """
    One person, as the brand knows them across every channel.

    Attributes:
        id: omnikit's id for the person (`"cus_..."`); after a merge, the ids of the
            absorbed profiles still find this one.
        identities: Every identifier stitched to them.
        traits: What they told us or we learned (latest value wins, or by source priority).
        consents: Their latest answer per channel and purpose (an answer past its
            `expires_at` is kept, and is no consent: see `has_consent()`).
        preferences: Preferred channels, language, time zone, quiet hours.
        stats: First/last seen overall and per channel, orders, revenue, channels used.
        segments: The dynamic segments they are in now (`Segment Entered` / `Segment Exited`
            touchpoints keep it current).
        recent: The latest touchpoints, newest first, as the hub loaded them (for a glance in
            a notebook; `Hub.touchpoints()` gives the whole history). Not part of equality.

    Added in version 0.1.0.
    """

    id: str
    identities: tuple[Identity, ...] = ()
    traits: Mapping[str, Any] = attrs.field(factory=dict)
    consents: tuple[Consent, ...] = ()
    preferences: Preferences = attrs.field(factory=Preferences)
    stats: Stats = attrs.field(factory=Stats)
    segments: tuple[str, ...] = ()
    recent: tuple[Touchpoint, ...] = attrs.field(default=(), eq=False)

    def identifiers(self, kind: str) -> tuple[str, ...]:
        """Return the values of every identity of *kind* (`customer.identifiers("email")`)."""
        return tuple(i.value for i in self.identities if i.kind == kind)

    def has_consent(self, channel: str, purpose: str, *, now: dt.datetime) -> bool:
        """
        Return whether the customer's latest answer for *purpose* on *channel* is an opt-in.

        An answer for every channel (`channel=None`) counts as well; the latest answer wins,
        and of two given at the same moment, a refusal.
        No answer at all is not consent, and nor is an opt-in past its `expires_at`.

        Args:
            channel: The channel of the contact.
            purpose: What the contact is for, in any case (`"Marketing"` is `"marketing"`;
                see `Consent.purpose`).
            now: The moment of the contact, against which expiry is judged.

        Added in version 0.1.0.
        """
        wanted = purpose_name(purpose)
        latest: Consent | None = None
        for consent in self.consents:
            if (
                consent.purpose == wanted
                and (consent.channel is None or consent.channel == channel)
                and (latest is None or consent.overrides(latest))
            ):
                latest = consent
        return latest is not None and latest.is_granted(now)

    def _repr_html_(self) -> str:
        from omnikit._jupyter import customer_html  # noqa: PLC0415 - only notebooks pay for it

        return customer_html(self)


@attrs.define(frozen=True, kw_only=True)
class MergeRecord:
    """
    One entry of the audit trail: profiles joined into one by an event.

    Attributes:
        id: The merge's id (`"mrg_..."`), what `Hub.unmerge()` takes.
        customer_id: The surviving customer.
        merged_ids: The customer ids absorbed into it.
        message_id: The touchpoint whose identifiers joined them.
        via: The identities on that touchpoint that matched the absorbed profiles.
        joined: Every identity the absorbed profiles brought to the survivor.
        at: The event time of that touchpoint.

    Added in version 0.1.0.
    """

    id: str
    customer_id: str
    merged_ids: tuple[str, ...]
    message_id: str
    via: tuple[Identity, ...]
    joined: tuple[Identity, ...] = ()
    at: dt.datetime = attrs.field(validator=aware)


@attrs.define(frozen=True, kw_only=True)
class LinkRecord:
    """
    One entry of the audit trail: an identifier joined a customer who existed before.

    Attributes:
        id: The entry's id (`"lnk_..."`).
        customer_id: The customer the identifier joined (the survivor, after later merges).
        identity: The identifier.
        message_id: The touchpoint that carried it.
        trust: Whether that touchpoint came from a verified source or only claimed it.
        at: The event time of that touchpoint.

    Added in version 0.1.0.
    """

    id: str
    customer_id: str
    identity: Identity
    message_id: str
    trust: Trust
    at: dt.datetime = attrs.field(validator=aware)
