"""
What conditions read: a customer, an event and a context, as JSON-shaped data.

```
customer.id, customer.traits.<name>, customer.identities.<kind> (a list),
customer.segments (a list), customer.consents.<channel>.<purpose> ("*" for every channel;
    false once the answer has expired),
customer.preferences.{preferred_channels, language, timezone, quiet_hours},
customer.stats.{first_seen, last_seen, touchpoints, orders, revenue, refunds,
                revenue_by_currency, last_order_at, channels, per_channel.<channel>}
event.{name, type, channel, direction, occurred_at, properties, traits, context}
context.<whatever the host passes: channel, store_id, location, ...>
```

Times are ISO-8601 strings (what `days_since` reads); money is a number (`revenue` adds
every currency up; `revenue_by_currency` keeps them apart).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from omnikit._models.customers import Customer
from omnikit._models.touchpoints import Touchpoint

__all__ = ["customer_data", "decision_data", "event_data"]


def _number(amount: Any) -> int | float:
    value = float(amount)
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def customer_data(
    customer: Customer, segments: Iterable[str] = (), *, now: dt.datetime
) -> dict[str, Any]:
    """
    The customer as conditions see it at *now* (an answer past its expiry is no consent).

    Added in version 0.1.0.
    """
    identities: dict[str, list[str]] = {}
    for identity in customer.identities:
        identities.setdefault(identity.kind, []).append(identity.value)
    consents: dict[str, dict[str, bool]] = {}
    for consent in sorted(customer.consents, key=lambda c: c.at):
        consents.setdefault(consent.channel or "*", {})[consent.purpose] = consent.is_granted(now)
    prefs = customer.preferences
    stats = customer.stats
    return {
        "id": customer.id,
        "traits": dict(customer.traits),
        "identities": identities,
        "segments": sorted(segments),
        "consents": consents,
        "preferences": {
            "preferred_channels": list(prefs.preferred_channels),
            "language": prefs.language,
            "timezone": prefs.timezone,
            "quiet_hours": None
            if prefs.quiet_hours is None
            else {
                "start": prefs.quiet_hours.start.isoformat("minutes"),
                "end": prefs.quiet_hours.end.isoformat("minutes"),
            },
        },
        "stats": {
            "first_seen": None if stats.first_seen is None else stats.first_seen.isoformat(),
            "last_seen": None if stats.last_seen is None else stats.last_seen.isoformat(),
            "touchpoints": stats.touchpoints,
            "orders": stats.orders,
            "revenue": _number(sum(stats.revenue.values(), 0)),
            "refunds": _number(sum(stats.refunds.values(), 0)),
            "revenue_by_currency": {c: _number(a) for c, a in stats.revenue.items()},
            "last_order_at": None
            if stats.last_order_at is None
            else stats.last_order_at.isoformat(),
            "channels": list(stats.channels),
            "per_channel": {
                name: {
                    "first_seen": cs.first_seen.isoformat(),
                    "last_seen": cs.last_seen.isoformat(),
                    "touchpoints": cs.touchpoints,
                }
                for name, cs in stats.per_channel.items()
            },
        },
    }


def event_data(event: Touchpoint | Mapping[str, Any] | None) -> dict[str, Any] | None:
    """
    An event as conditions see it: a touchpoint, or a mapping passed through as it is.

    Added in version 0.1.0.
    """
    if event is None:
        return None
    if not isinstance(event, Touchpoint):
        return dict(event)
    ctx = event.context
    return {
        "name": event.name,
        "type": event.type.value,
        "channel": event.channel,
        "direction": event.direction.value,
        "occurred_at": event.occurred_at.isoformat(),
        "message_id": event.message_id,
        "properties": dict(event.properties),
        "traits": dict(event.traits),
        "context": {
            "store_id": ctx.store_id,
            "agent": ctx.agent,
            "campaign": dict(ctx.campaign),
            "location": None
            if ctx.location is None
            else {
                "latitude": ctx.location.latitude,
                "longitude": ctx.location.longitude,
                "city": ctx.location.city,
            },
            "timezone": ctx.timezone,
            "locale": ctx.locale,
        },
    }


def decision_data(
    customer: Customer | Mapping[str, Any],
    event: Touchpoint | Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
    *,
    segments: Iterable[str] = (),
    now: dt.datetime,
) -> dict[str, Any]:
    """
    `{"customer": ..., "event": ..., "context": ...}` for a rule set to decide on at *now*.

    Added in version 0.1.0.
    """
    who = (
        customer_data(customer, segments, now=now)
        if isinstance(customer, Customer)
        else dict(customer)
    )
    return {"customer": who, "event": event_data(event), "context": dict(context or {})}
