"""
The hub's outbound configuration.

Its connectors by name and by channel, the contact policy, the retry schedule, and each
connector's rate limit and circuit breaker.

Rate limits and breakers live in the process (as an HTTP client's pool does): several hub
processes each keep their own, so a provider's limit shared by many workers is best divided
among them (`send_rates`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from omnikit._engines.outbox import Backoff, CircuitBreaker, TokenBucket
from omnikit._engines.policy import ContactPolicy
from omnikit._models.channels import Channels
from omnikit.errors import ValidationError

__all__ = ["Outbound"]


@attrs.define(kw_only=True)
class Outbound:
    """What sending needs of the hub's configuration (see `Hub`'s options)."""

    by_name: dict[str, Any]
    by_channel: dict[str, tuple[str, ...]]
    policy: ContactPolicy
    retry: Backoff
    brand: Any
    buckets: dict[str, TokenBucket]
    breakers: dict[str, CircuitBreaker]
    unrecorded: dict[bytes, None] = attrs.field(factory=dict)
    """Webhook requests verified, whose recording failed: the provider's retry is taken."""
    lease: dt.timedelta = dt.timedelta(minutes=5)
    concurrency: int = 32

    @classmethod
    def of(
        cls,
        connectors: Iterable[Any],
        *,
        channels: Channels,
        policy: ContactPolicy | None,
        retry: Backoff | None,
        brand: Any,
        rates: Mapping[str, float] | None,
        lease: dt.timedelta = dt.timedelta(minutes=5),
    ) -> Outbound:
        """Check and index the hub's *connectors*; the first of a channel is tried first."""
        by_name: dict[str, Any] = {}
        by_channel: dict[str, list[str]] = {}
        for connector in connectors:
            name = getattr(connector, "name", None)
            channel = getattr(connector, "channel", None)
            if not isinstance(name, str) or not isinstance(channel, str):
                raise ValidationError(
                    f"connectors: a {type(connector).__name__} is not a connector "
                    "(it needs a name and a channel)"
                )
            if name in by_name:
                raise ValidationError(
                    f"connectors: two connectors are named {name!r}; give each its own name"
                )
            channels.require(channel, field="connectors")
            by_name[name] = connector
            by_channel.setdefault(channel, []).append(name)
        if lease <= dt.timedelta(0):
            raise ValidationError(f"send_lease: {lease!r} is not a positive duration")
        rates = dict(rates or {})
        for name, rate in rates.items():
            if name not in by_name:
                raise ValidationError(f"send_rates: no connector is named {name!r}")
            if not rate > 0:
                raise ValidationError(f"send_rates.{name}: {rate!r} is not a positive rate")
        return cls(
            by_name=by_name,
            by_channel={channel: tuple(names) for channel, names in by_channel.items()},
            policy=policy or ContactPolicy(),
            retry=retry or Backoff(),
            brand=brand,
            buckets={name: TokenBucket(rate) for name, rate in rates.items()},
            breakers={name: CircuitBreaker() for name in by_name},
            lease=lease,
        )
