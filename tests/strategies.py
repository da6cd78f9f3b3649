"""Shared Hypothesis strategies: Segment Spec messages over a small universe of identifiers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st

T0 = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)

USER_IDS = ("u1", "u2", "u3")
EMAILS = ("ana@example.com", "bruno@example.com", "family@example.com")
PHONES = ("+351912345678", "+351912345679")
ANON_IDS = ("a1", "a2", "a3", "a4", "a5")
DEVICES = ("d1", "d2")
CARDS = ("L-1", "L-2")
CHANNELS = ("web", "app", "store", "email", "sms", "phone")
EVENTS = ("Product Viewed", "Product Added", "Order Completed", "Email Opened", "Call Completed")


@st.composite
def messages(draw: st.DrawFn, index: int) -> dict[str, Any]:
    """One message carrying one to four identifiers from a small pool, so that people overlap."""
    minute = draw(st.integers(0, 40))
    context: dict[str, Any] = {"channel": draw(st.sampled_from(CHANNELS))}
    message: dict[str, Any] = {
        "messageId": f"m{index:03d}",
        "timestamp": (T0 + dt.timedelta(minutes=minute)).isoformat(),
        "context": context,
    }
    if draw(st.booleans()):
        message["userId"] = draw(st.sampled_from(USER_IDS))
    if "userId" not in message or draw(st.booleans()):
        message["anonymousId"] = draw(st.sampled_from(ANON_IDS))
    traits: dict[str, Any] = {}
    if draw(st.integers(0, 2)) == 0:
        traits["email"] = draw(st.sampled_from(EMAILS))
    if draw(st.integers(0, 4)) == 0:
        traits["phone"] = draw(st.sampled_from(PHONES))
    if draw(st.integers(0, 3)) == 0:
        traits["tier"] = draw(st.sampled_from(("gold", "silver")))
    if draw(st.integers(0, 4)) == 0:
        context["device"] = {"id": draw(st.sampled_from(DEVICES))}
    if draw(st.integers(0, 4)) == 0:
        context["externalIds"] = [{"id": draw(st.sampled_from(CARDS)), "type": "loyalty_id"}]
    if draw(st.booleans()):
        message["type"] = "identify"
        message["traits"] = traits
    else:
        message["type"] = "track"
        event = draw(st.sampled_from(EVENTS))
        message["event"] = event
        if traits:
            context["traits"] = traits
        if event == "Order Completed":
            message["properties"] = {
                "order_id": f"o{index}",
                "total": draw(st.integers(1, 300)),
                "currency": "EUR",
            }
    return message


@st.composite
def streams(draw: st.DrawFn, min_size: int = 1, max_size: int = 30) -> list[dict[str, Any]]:
    """A list of messages with distinct message ids."""
    n = draw(st.integers(min_size, max_size))
    return [draw(messages(i)) for i in range(n)]


@st.composite
def chunked(draw: st.DrawFn, items: list[Any]) -> list[list[Any]]:
    """*items* cut into consecutive batches of random sizes."""
    out: list[list[Any]] = []
    i = 0
    while i < len(items):
        size = draw(st.integers(1, max(1, len(items) - i)))
        out.append(items[i : i + size])
        i += size
    return out
