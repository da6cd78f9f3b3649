"""
The outbox's logic: how a delivery moves, given what a provider or a receipt said. Pure.

A delivery's status only moves forward (`advance()`): a receipt that arrives late or twice,
`delivered` after `read`, `sent` after `delivered`, changes nothing. A send attempt's result
is settled by `after_attempt()`:

- `Accepted`: sent, with the provider's id; never sent again.
- `Refused`: refused for good, with the provider's code and reason.
- `Transient` that the provider guarantees was not processed (safe to retry), or any
  transient result under `at_least_once`: queued again after a backoff that honours the
  provider's wait, on the channel's next connector when there is one; dead-lettered when
  the attempts are used up.
- `Unknown`, or a transient result that may have been processed (a 5xx after the provider
  stored the message): under `at_most_once` held as `unknown` until a receipt or the host
  settles it, never sent again; under `at_least_once` retried as above.

An attempt whose sender died before settling it (its lease lapsed while `sending`) is an
unknown outcome too: `recovered()` settles it by the same rule.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections.abc import Sequence
from typing import Any

import attrs
import tenacity

from omnikit._models.outbound import (
    Accepted,
    Delivery,
    DeliveryStatus,
    Guarantee,
    Refused,
    SendResult,
    Transient,
    Unknown,
)

__all__ = [
    "Backoff",
    "CircuitBreaker",
    "TokenBucket",
    "advance",
    "after_attempt",
    "recovered",
]

S = DeliveryStatus

_ORDER = {
    S.QUEUED: 0,
    S.DEFERRED: 0,
    S.SENDING: 1,
    S.UNKNOWN: 2,
    S.DEAD: 2,
    S.SENT: 3,
    S.DELIVERED: 4,
    S.READ: 5,
    S.OPENED: 5,
    S.CLICKED: 6,
    S.COMPLAINED: 7,
    S.UNSUBSCRIBED: 7,
}
_FAILED = frozenset({S.BOUNCED, S.FAILED, S.UNDELIVERED})
_AFTER_SENDING = frozenset({S.SENT, S.DELIVERED, S.READ, S.OPENED, S.CLICKED}) | _FAILED
_COMPLAINTS = frozenset({S.COMPLAINED, S.UNSUBSCRIBED})


def advance(current: DeliveryStatus, incoming: DeliveryStatus) -> DeliveryStatus | None:
    """
    The status after a receipt says *incoming* of a delivery at *current*; `None`: ignore it.

    Statuses only move forward. A failure (bounced, failed, undelivered) overrides what is not
    yet delivered; a complaint or unsubscribe overrides anything sent; a delivery the policy
    refused is never moved by a receipt.
    """
    if current in {incoming, S.REFUSED}:
        return None
    if incoming in _FAILED:
        return incoming if _ORDER.get(current, 9) <= _ORDER[S.SENT] else None
    if current in _FAILED:
        return incoming if incoming in _COMPLAINTS else None
    if incoming not in _ORDER or incoming in {S.QUEUED, S.DEFERRED, S.SENDING}:
        return None  # ours to set, never a provider's
    return incoming if _ORDER[incoming] > _ORDER.get(current, 9) else None


def is_receipt_status(status: DeliveryStatus) -> bool:
    """Whether a provider may report *status* (sent and everything after it)."""
    return status in _AFTER_SENDING or status in _COMPLAINTS


@attrs.frozen(kw_only=True)
class Backoff:
    """
    How long to wait before the next attempt, and how many attempts in all.

    Exponential with jitter (tenacity's), at least what the provider asked for, at most
    *maximum*; *attempts* in all before dead-lettering.

    Added in version 0.1.0.
    """

    initial: float = 2.0
    maximum: float = 3600.0
    jitter: float = 2.0
    attempts: int = 6

    def wait(self, attempt: int, asked: float | None, *, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt *attempt* (1-based), given the provider's ask."""
        strategy = tenacity.wait_exponential(multiplier=self.initial, max=self.maximum)
        state = tenacity.RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
        state.attempt_number = attempt
        base = strategy(state)
        spread = (rng or random).uniform(0, self.jitter)
        return min(self.maximum, max(base + spread, asked or 0.0))


def after_attempt(
    delivery: Delivery,
    result: SendResult,
    *,
    now: dt.datetime,
    backoff: Backoff,
    next_connector: str | None = None,
) -> Delivery:
    """The delivery after its attempt (already counted in `attempts`) gave *result*."""
    if isinstance(result, Accepted):
        return _moved(
            delivery,
            now,
            status=S.SENT,
            provider_message_id=result.provider_message_id,
            reason=None,
            code=None,
            due_at=None,
        )
    if isinstance(result, Refused):
        return _moved(
            delivery,
            now,
            status=S.REFUSED,
            code=result.code,
            reason=f"provider refused: {result.reason}",
            due_at=None,
        )
    retry = delivery.guarantee == Guarantee.AT_LEAST_ONCE or (
        isinstance(result, Transient) and result.safe_to_retry
    )
    if not retry:
        why = result.reason if isinstance(result, Unknown) else f"{result.code}: {result.reason}"
        return _moved(
            delivery,
            now,
            status=S.UNKNOWN,
            code=getattr(result, "code", None),
            reason=f"outcome unknown, held (at most once): {why}",
            due_at=None,
        )
    return _retry(delivery, result, now=now, backoff=backoff, next_connector=next_connector)


def _retry(
    delivery: Delivery,
    result: Transient | Unknown,
    *,
    now: dt.datetime,
    backoff: Backoff,
    next_connector: str | None,
) -> Delivery:
    code = result.code if isinstance(result, Transient) else None
    why = result.reason
    if delivery.attempts >= backoff.attempts:
        return _moved(
            delivery,
            now,
            status=S.DEAD,
            code=code,
            reason=f"dead after {delivery.attempts} attempts: {why}",
            due_at=None,
        )
    asked = result.retry_after if isinstance(result, Transient) else None
    wait = backoff.wait(delivery.attempts, asked)
    return _moved(
        delivery,
        now,
        status=S.QUEUED,
        code=code,
        reason=f"retrying: {why}",
        due_at=now + dt.timedelta(seconds=wait),
        connector=next_connector or delivery.connector,
    )


def _moved(delivery: Delivery, now: dt.datetime, **changes: Any) -> Delivery:
    """*delivery* with *changes*, released from its lease, one version on."""
    return attrs.evolve(
        delivery, updated_at=now, lease_until=None, version=delivery.version + 1, **changes
    )


def recovered(delivery: Delivery, *, now: dt.datetime, backoff: Backoff) -> Delivery:
    """A delivery whose sender's lease lapsed mid-attempt: an unknown outcome, settled as one."""
    return after_attempt(
        delivery,
        Unknown(reason="the sender stopped during the attempt (its lease lapsed)"),
        now=now,
        backoff=backoff,
    )


class TokenBucket:
    """
    At most *rate* sends a second on average, *burst* at once. Time is given, never read.

    Added in version 0.1.0.
    """

    def __init__(self, rate: float, burst: int | None = None) -> None:
        self.rate = rate
        self.burst = float(burst if burst is not None else max(1, int(rate)))
        self._tokens = self.burst
        self._at: float | None = None
        self._lock = threading.Lock()

    def take(self, now: float) -> float:
        """Take a token at *now* (seconds); 0.0 if one was there, else the seconds to wait."""
        with self._lock:
            if self._at is not None:
                self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now
            if self._tokens >= 1:
                self._tokens -= 1
                return 0.0
            return (1 - self._tokens) / self.rate


class CircuitBreaker:
    """
    Stops sending to a provider after *threshold* failures in a row, for *cooldown* seconds.

    Then it lets one attempt through, and closes again when that succeeds.

    Added in version 0.1.0.
    """

    def __init__(self, threshold: int = 5, cooldown: float = 30.0) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self._failures = 0
        self._open_until: float | None = None
        self._lock = threading.Lock()

    def allows(self, now: float) -> bool:
        """Whether an attempt may go at *now*; an open breaker lets one through after cooling."""
        with self._lock:
            if self._open_until is None:
                return True
            if now >= self._open_until:
                self._open_until = now + self.cooldown  # half-open: this one attempt only
                return True
            return False

    def reopens_at(self) -> float | None:
        """When an open breaker next lets an attempt through."""
        return self._open_until

    def record(self, result: SendResult, now: float) -> None:
        """Count *result*: a transient failure or unknown outcome toward opening, else reset."""
        with self._lock:
            if isinstance(result, Transient | Unknown):
                self._failures += 1
                if self._failures >= self.threshold:
                    self._open_until = now + self.cooldown
            else:
                self._failures = 0
                self._open_until = None


def next_in(order: Sequence[str], current: str | None) -> str | None:
    """The connector after *current* in a channel's failover *order* (wrapping), if another."""
    if len(order) < 2 or current not in order:
        return None
    return order[(order.index(current) + 1) % len(order)]
