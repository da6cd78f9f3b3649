"""Bad input gets a clear error naming the field and the reason, and nothing is lost."""

from __future__ import annotations

import datetime as dt
import decimal
import json
from typing import Any

import pytest

import omnikit
from omnikit.errors import OmnikitError, ValidationError


def track(**fields: Any) -> dict[str, Any]:
    return {
        "type": "track",
        "event": "Product Viewed",
        "anonymousId": "a1",
        "messageId": "m1",
        "timestamp": "2026-11-01T10:00:00Z",
        **fields,
    }


def errors_of(hub: omnikit.Hub, message: Any) -> tuple[str, ...]:
    with pytest.raises(ValidationError) as info:
        hub.ingest(message)
    return info.value.errors


@pytest.fixture(name="hub")
def _hub() -> omnikit.Hub:
    return omnikit.Hub()


def test_validation_errors_are_omnikit_and_value_errors(hub: omnikit.Hub) -> None:
    """Callers can catch either our base class or the builtin they expect."""
    with pytest.raises(OmnikitError):
        hub.ingest({"type": "nope"})
    with pytest.raises(ValueError):
        hub.ingest({"type": "nope"})


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            {"type": "shout", "anonymousId": "a1"},
            "type: unknown message type 'shout' (expected one of identify, track, page, screen, group, alias)",
        ),
        ({"anonymousId": "a1"}, "type: required field is missing"),
        (track(event=None), "event: required field is missing"),
        (track(event=""), "event: must not be empty"),
        (
            track(anonymousId=None),
            (
                "userId: required when the message carries no other identifier (anonymousId, "
                "context.externalIds, context.traits.email, context.traits.phone, "
                "context.device.id or context.device.token)"
            ),
        ),
        (track(userId=["u1"]), "userId: expected a string, got a list"),
        (track(userId=True), "userId: expected a string, got a boolean"),
        (track(properties="cheap"), "properties: expected an object, got a string"),
        (track(context=[]), "context: expected an object, got a list"),
        (
            track(
                event="Order Completed",
                properties={"products": [{"price": 1}, {"price": 2}, {"price": "abc"}]},
            ),
            "properties.products[2].price: expected a number, got 'abc'",
        ),
        (
            track(event="Order Completed", properties={"total": "12,50"}),
            "properties.total: expected a number, got '12,50'",
        ),
        (
            track(event="Order Completed", properties={"products": [{"quantity": -1}]}),
            "properties.products[0].quantity: expected a non-negative number, got -1",
        ),
        (
            track(timestamp="yesterday"),
            "timestamp: expected an ISO-8601 timestamp, got 'yesterday'",
        ),
        (
            track(timestamp=1730455200),
            "timestamp: expected an ISO-8601 timestamp, got int 1730455200",
        ),
        (
            track(timestamp="2026-11-01T10:00:00"),
            "timestamp: timestamp '2026-11-01T10:00:00' has no UTC offset (add one, e.g. 'Z' or '+01:00', or give the hub a default_timezone)",
        ),
        (track(sentAt="soon"), "sentAt: expected an ISO-8601 timestamp, got 'soon'"),
        (
            track(context={"traits": {"email": "not-an-email"}}),
            "context.traits.email: 'not-an-email' is not a valid email address (An email address must have an @-sign.)",
        ),
        (
            track(context={"traits": {"phone": "12"}}),
            "context.traits.phone: '12' is not a phone number (no country code and no default region)",
        ),
        (
            track(context={"traits": {"phone": "+351 12"}}),
            "context.traits.phone: '+351 12' is not a valid phone number",
        ),
        (
            track(context={"externalIds": [{"id": "L-1", "type": "Loyalty Card"}]}),
            "context.externalIds[0].type: 'Loyalty Card' is not an identity kind (lower-case letters, digits and '_')",
        ),
        (
            track(context={"externalIds": [{"type": "loyalty_id"}]}),
            "context.externalIds[0].id: required field is missing",
        ),
        (
            track(context={"channel": "moon"}),
            "context.channel: unknown channel 'moon' (known: app, chat, direct_mail, email, in_app, kiosk, phone, push, sms, social, store, web, webhook, whatsapp)",
        ),
        (
            track(channel="satellite"),
            "channel: unknown channel 'satellite' (Segment's server, browser or mobile, or an omnikit channel name; set context.channel to name the omnikit channel)",
        ),
        (
            track(context={"timezone": "Mars/Olympus"}),
            "context.timezone: unknown time zone 'Mars/Olympus'",
        ),
        (
            track(context={"direction": "sideways"}),
            "context.direction: expected 'inbound' or 'outbound', got 'sideways'",
        ),
        (
            track(context={"location": {"latitude": 123}}),
            "context.location.latitude: expected a number from -90 to 90, got 123",
        ),
        (track(messageId=""), "messageId: expected a non-empty string, got ''"),
        (
            {"type": "group", "anonymousId": "a1", "timestamp": "2026-11-01T10:00:00Z"},
            "groupId: required field is missing",
        ),
        (
            {"type": "alias", "userId": "u1", "timestamp": "2026-11-01T10:00:00Z"},
            "previousId: required field is missing",
        ),
        (
            {"type": "identify", "userId": "u1", "traits": {"timezone": "Nowhere/Else"}},
            "traits.timezone: unknown time zone 'Nowhere/Else'",
        ),
        (
            {"type": "identify", "userId": "u1", "traits": {"quiet_hours": {"start": "late"}}},
            'traits.quiet_hours: expected {"start": "HH:MM", "end": "HH:MM"}',
        ),
        (
            {
                "type": "identify",
                "userId": "u1",
                "traits": {"preferred_channels": ["email", "fax"]},
            },
            "traits.preferred_channels[1]: unknown channel 'fax' (known: app, chat, direct_mail, email, in_app, kiosk, phone, push, sms, social, store, web, webhook, whatsapp)",
        ),
        (
            track(event="Consent Updated", properties={"granted": "yes"}),
            "properties.purpose: required, a consent purpose such as 'marketing'",
        ),
        (track(properties={"when": {1, 2}}), "properties.when: set is not JSON data"),
        (
            track(properties={"score": float("nan")}),
            "properties.score: expected a finite number, got nan",
        ),
        ("not a message", "payload: not valid JSON (Expecting value: line 1 column 1 (char 0))"),
        (42, "expected a message object, got a number"),
    ],
)
def test_bad_messages_are_rejected_with_the_field_and_reason(
    hub: omnikit.Hub, message: Any, expected: str
) -> None:
    """Each kind of bad input names the field and the reason."""
    assert expected in errors_of(hub, message)


def test_every_problem_is_reported_at_once(hub: omnikit.Hub) -> None:
    """A message with several problems lists them all."""
    errors = errors_of(hub, track(event=None, timestamp="later", context={"channel": "moon"}))

    assert 3 == len(errors)
    assert {"event", "timestamp", "context.channel"} == {e.split(":")[0] for e in errors}


def test_nothing_invalid_is_stored(hub: omnikit.Hub) -> None:
    """A rejected message leaves no customer and no identity behind."""
    errors_of(hub, track(userId="u1", context={"traits": {"email": "nope"}}))

    assert hub.customer(user_id="u1") is None
    assert hub.customer(anonymous_id="a1") is None


def test_oversized_messages_are_rejected(hub: omnikit.Hub) -> None:
    """Messages over 32 KB (Segment's limit) are refused; the limit is configurable."""
    big = track(properties={"blob": "x" * 33_000})
    small_hub = omnikit.Hub(max_message_bytes=1024)

    [error] = errors_of(hub, big)
    [small_error] = errors_of(small_hub, track(properties={"blob": "x" * 2000}))

    assert error.startswith("message is 331")
    assert error.endswith("bytes, over the 32768-byte limit")
    assert small_error.endswith("over the 1024-byte limit")
    assert hub.ingest(track(properties={"blob": "x" * 30_000})).accepted == ("m1",)


def test_a_default_timezone_reads_naive_timestamps(hub: omnikit.Hub) -> None:
    """With a default time zone, a timestamp without an offset is read in it."""
    lisbon = omnikit.Hub(default_timezone="Europe/Lisbon")

    lisbon.ingest(track(timestamp="2026-07-01T10:00:00"))
    [tp] = lisbon.store.touchpoints(lisbon.customer(anonymous_id="a1").id)  # type: ignore[union-attr]

    assert dt.datetime(2026, 7, 1, 9, 0, tzinfo=dt.UTC) == tp.occurred_at


def test_a_message_without_an_id_gets_one_from_its_content(hub: omnikit.Hub) -> None:
    """
    The derived id ignores sentAt/receivedAt, so a client's retry is recognised, and differs
    for different content.
    """
    message = track(messageId=None, sentAt="2026-11-01T10:00:01Z")
    del message["messageId"]
    retry = {**message, "sentAt": "2026-11-01T10:05:00Z"}
    other = {**message, "event": "Product Added"}

    first = hub.ingest(message)
    second = hub.ingest(retry)
    third = hub.ingest(other)

    assert first.accepted[0].startswith("omk-")
    assert first.accepted == second.duplicates
    assert third.accepted != first.accepted


def test_a_batch_keeps_the_good_and_reports_the_bad(hub: omnikit.Hub) -> None:
    """Bad messages are reported with their index; the good ones are accepted."""
    batch = [
        track(messageId="g1"),
        track(messageId="b1", timestamp="nope"),
        track(messageId="g2", anonymousId="a2"),
        {"type": "track"},
        track(messageId="g1"),
    ]

    result = hub.ingest({"batch": batch})

    assert ("g1", "g2") == result.accepted
    assert ("g1",) == result.duplicates
    assert [1, 3] == [r.index for r in result.rejected]
    assert "b1" == result.rejected[0].message_id
    assert (
        "timestamp: expected an ISO-8601 timestamp, got 'nope'" in result.rejected[0].error.errors
    )
    with pytest.raises(ExceptionGroup) as info:
        result.raise_for_failures()
    assert "[1].timestamp: expected an ISO-8601 timestamp, got 'nope'" in str(
        info.value.exceptions[0]
    )


def test_retrying_a_batch_neither_loses_nor_duplicates(hub: omnikit.Hub) -> None:
    """Sending the same batch twice stores every good message exactly once."""
    batch = [track(messageId=f"m{i}", anonymousId=f"a{i % 3}") for i in range(10)] + [{"type": "?"}]

    first = hub.ingest({"batch": batch})
    second = hub.ingest({"batch": batch})

    assert 10 == len(first.accepted)
    assert () == second.accepted
    assert first.accepted == second.duplicates
    assert 10 == sum(c.stats.touchpoints for c in hub.customers())


def test_a_failing_store_reports_what_was_committed(hub: omnikit.Hub) -> None:
    """When the store fails mid-batch, the error says which chunks were committed before."""
    chunked = omnikit.Hub(batch_size=2)
    original = chunked.store.transaction
    calls = {"n": 0}

    def flaky() -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise omnikit.StoreUnavailableError("disk gone")
        return original()

    chunked.store.transaction = flaky  # type: ignore[method-assign]
    batch = [track(messageId=f"m{i}", anonymousId=f"a{i}") for i in range(5)]

    with pytest.raises(omnikit.StoreUnavailableError) as info:
        chunked.ingest({"batch": batch})
    retry = chunked.ingest({"batch": batch})

    assert ("m0", "m1") == info.value.partial.accepted  # type: ignore[attr-defined]
    assert ("m2", "m3", "m4") == retry.accepted
    assert ("m0", "m1") == retry.duplicates


def test_json_text_and_newline_delimited_batches(hub: omnikit.Hub) -> None:
    """JSON text is accepted as sent by a collector; a broken line is reported by index."""
    lines = [json.dumps(track(messageId="j1")), "{broken", json.dumps(track(messageId="j2"))]

    single = hub.ingest(json.dumps(track(messageId="j0")).encode())
    result = hub.ingest("\n".join(lines))

    assert ("j0",) == single.accepted
    assert ("j1", "j2") == result.accepted
    assert [1] == [r.index for r in result.rejected]
    assert result.rejected[0].error.errors[0].startswith("line 2: not valid JSON")


def test_python_values_are_made_json_ready(hub: omnikit.Hub) -> None:
    """Datetimes and decimals in properties become ISO strings and numbers."""
    when = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)

    tp = hub.track(
        "Order Completed",
        anonymous_id="a1",
        properties={
            "total": decimal.Decimal("12.50"),
            "promised_at": when,
            "qty": decimal.Decimal(2),
        },
        timestamp=when,
    )

    assert {"total": 12.5, "promised_at": "2026-11-01T08:00:00+00:00", "qty": 2} == dict(
        tp.properties
    )
    assert when == tp.occurred_at


def test_blocked_values_link_nobody(hub: omnikit.Hub) -> None:
    """Placeholder identifiers ('null', all zeros) never join two people."""
    hub.ingest(track(messageId="m1", anonymousId="a1", userId="0"))
    hub.ingest(track(messageId="m2", anonymousId="a2", userId="0"))
    hub.ingest(
        track(
            messageId="m3",
            anonymousId="a3",
            context={
                "traits": {"email": "null@example.com"},
                "device": {"id": "00000000-0000-0000-0000-000000000000"},
            },
        )
    )
    hub.ingest(
        track(
            messageId="m4",
            anonymousId="a4",
            context={"device": {"id": "00000000-0000-0000-0000-000000000000"}},
        )
    )

    ids = {hub.customer(anonymous_id=a).id for a in ("a1", "a2", "a3", "a4")}  # type: ignore[union-attr]

    assert 4 == len(ids)
    assert hub.customer(user_id="0") is None
