"""
The demo's sending section.

One campaign to every customer, through in-memory connectors, under the contact policy, and
what became of it by channel and reason.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable

from omnikit._engines.policy import ContactPolicy, FrequencyCap
from omnikit._hub import Hub
from omnikit._models.message import Message
from omnikit._models.outbound import DeliveryStatus, TemplateRef
from omnikit.connectors.memory import MemoryConnector

__all__ = ["CHANNELS", "POLICY", "campaign"]

CHANNELS = ("email", "sms", "push", "whatsapp")
"""The channels the demo's shop sends on, each through an in-memory connector."""

POLICY = ContactPolicy(
    caps=(FrequencyCap(limit=2, per=dt.timedelta(days=7)),),
    timezone="Europe/Lisbon",
    fallback=("push", "sms", "email"),
)
"""The demo shop's contact policy: two marketing messages a week, quiet 21:00-08:00."""

WINTER_SALE = Message(
    subject="Our winter sale starts today",
    body="20% off coats and boots, online and in every store, until Sunday.",
    # Outside WhatsApp's 24-hour window only an approved template may go.
    templates={"whatsapp": TemplateRef(name="winter_sale", language="en", parameters=("20%",))},
)


def connectors() -> list[MemoryConnector]:
    """One in-memory connector per channel the demo sends on."""
    return [MemoryConnector(channel) for channel in CHANNELS]


def campaign(hub: Hub, say: Callable[..., None], *, at: dt.datetime) -> None:
    """Send the winter sale to every customer at *at*, and say what became of it."""
    statuses: Counter[tuple[str, str]] = Counter()
    reasons: Counter[str] = Counter()
    total = 0
    for customer in hub.customers():
        total += 1
        delivery = hub.send(
            customer, WINTER_SALE, purpose="marketing", key=f"demo-winter-{customer.id}", now=at
        )
        statuses[(delivery.status.value, delivery.channel)] += 1
        if delivery.status in {DeliveryStatus.REFUSED, DeliveryStatus.DEFERRED}:
            reasons[_why(delivery.reason or "")] += 1
    say()
    say(f"Sending: the winter sale to {total} customers at {at:%Y-%m-%d %H:%M} UTC")
    say("  (in-memory connectors; each customer's preferred channel, then push, SMS, email)")
    for status in ("sent", "deferred", "refused", "queued", "unknown"):
        by_channel = {c: n for (s, c), n in statuses.items() if s == status}
        if by_channel:
            shown = ", ".join(
                f"{c} {n}" for c, n in sorted(by_channel.items(), key=lambda i: -i[1])
            )
            say(f"  {status:<9} {sum(by_channel.values()):>6}  ({shown})")
    if reasons:
        say("  why not sent")
        for reason, n in reasons.most_common(6):
            say(f"    {n:>6}  {reason}")


def _why(reason: str) -> str:
    """A refusal's reason without its channel list: what stopped the last channel tried."""
    reason = reason.removeprefix("contact policy: ")
    last = reason.rsplit("; ", 1)[-1]
    return last.split(": ", 1)[-1] if ": " in last and last.split(": ", 1)[0] in CHANNELS else last
