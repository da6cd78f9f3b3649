"""Placeholder identifiers link nobody; real ones always link."""

from __future__ import annotations

import re
from typing import Any

import pytest

import omnikit
from omnikit._models.identities import normalize_identifier

# What turns up in customer data where an identifier should be: code's words for nothing,
# what staff type when a customer gives nothing, test data, emulators' device ids.
JUNK = [
    *(
        ("user_id", value)
        for value in (
            "null",
            "NULL",
            " Null ",
            "(null)",
            "<null>",
            "[null]",
            "'null'",
            '"null"',
            "nil",
            "<nil>",
            "None",
            "undefined",
            "UNDEFINED",
            "(undefined)",
            "undefined undefined",
            "user-undefined",
            "[object Object]",
            "[object Undefined]",
            "NaN",
            "n/a",
            "N/A",
            "N.A.",
            "#N/A",
            "unknown",
            "Unknown",
            "anonymous",
            "guest",
            "GUEST",
            "test",
            "Test User",
            "0",
            "00000",
            "-1",
            "-",
            "{}",
            "''",
            "{{user_id}}",
            "${userId}",
            "*|EMAIL|*",
            "%%userid%%",
            "111111",
            "xxxxxxx",
            "false",
            "Walk-In Customer",
            "4111111111111111",
        )
    ),
    *(
        ("anonymous_id", value)
        for value in (
            "00000000-0000-0000-0000-000000000000",
            "ffffffff-ffff-ffff-ffff-ffffffffffff",
            "undefined",
            "(null)",
        )
    ),
    *(
        ("device_id", value)
        for value in (
            "9774d56d682e549c",
            "9774D56D682E549C",
            "0123456789ABCDEF",
            "emulator-5554",
            "02:00:00:00:00:00",
            "unknown",
            "android_id",
            "000000000000000",
        )
    ),
    ("push_token", "BLACKLISTED"),
    ("loyalty_id", "0000000000"),
    ("loyalty_id", "9999999999"),
    ("loyalty_id", "none"),
    *(
        ("email", value)
        for value in (
            "noemail@gmail.com",
            "NoEmail@Example.COM",
            "no-email@shop.com",
            "no.email@sapo.pt",
            "nomail@hotmail.com",
            "noemailaddress@gmail.com",
            "none@none.com",
            "null@example.com",
            "test@test.com",
            "a@a.com",
            "noreply@gmail.com",
            "do-not-reply@shop.com",
            "declined@shop.com",
            "unknown@unknown.com",
            "asdf@asdf.com",
            "nobody@nowhere.com",
            "ana@shop.example",
        )
    ),
    *(
        ("phone", value)
        for value in (
            "+44 7777 777777",
            "+33 6 00 00 00 00",
            "+34 666 666 666",
            "+91 99999 99999",
            "+1 234 567 8900",
            "+1 234 567 8901",
            "+1 212 555 0123",
            "+44 20 7946 0958",
            "+91 12345 67890",
            "+49 151 23456789",
            "+55 11 98765 4321",
            "+86 138 8888 8888",
        )
    ),
    # Unrendered templates inside a value, emulators' device names, a run of digits for a card.
    ("email", "{{email}}@shop.example.com"),
    ("email", "*|EMAIL|*@shop.com"),
    ("device_id", "generic"),
    ("device_id", "generic_x86_64"),
    ("loyalty_id", "1234567890"),
    ("loyalty_id", "0123456789"),
]

# Identifiers real customers have, some close to a placeholder, that must link.
REAL = [
    *(
        ("email", value)
        for value in (
            "ana.silva@gmail.com",
            "Jose.Garcia@outlook.es",
            "mike@mike.com",
            "x@example.com",
            "nancy@null.io",
            "john.null@gmail.com",
            "nan.li@qq.com",
            "noel@noel.com",
            "nora@gmail.com",
            "info@bakery.fr",
            "mail@johnsmith.de",
            "anonymous.artist@gmail.com",
            "tester.jones@gmail.com",
            "a@b.com",
        )
    ),
    *(
        ("phone", value)
        for value in (
            "+351 912 345 678",
            "+351 934 582 117",
            "+44 7911 123456",
            "+1 415 555 2671",
            "+33 6 47 28 91 35",
            "+49 170 4837291",
            "+34 654 32 98 17",
            "+61 412 839 204",
            "+91 98450 12345",
            "+55 11 94523 8812",
            "+81 90 1234 5678",
            "+1 650 253 0000 ext. 12",
        )
    ),
    *(
        ("anonymous_id", value)
        for value in ("5b3a1f0c-9d2e-4c7a-8e61-2f4d9b0a7c15", "a1", "web-7-54-0")
    ),
    *(
        ("user_id", value)
        for value in (
            "u1",
            "1",
            "42",
            "u-7-000054",
            "auth0|5f7c8ec7c33c6c004bbafe82",
            "nan.li",
            "null-island-fan",
        )
    ),
    *(("loyalty_id", value) for value in ("L-1", "L-85190175", "6001234567890", "1234", "L-00001")),
    *(
        ("device_id", value)
        for value in ("dev-7-54", "3f2504e0-4f89-11d3-9a0c-0305e82c3301", "a7b9c3d2e1f04a5b")
    ),
    ("push_token", "fcm:APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx"),
]


def _carrying(kind: str, value: str, person: str) -> dict[str, Any]:
    """A message from *person* (known by their own id) that also carries *kind*: *value*."""
    context: dict[str, Any] = {}
    message: dict[str, Any] = {
        "type": "track",
        "event": "Product Viewed",
        "messageId": f"m-{person}",
        "timestamp": "2026-11-01T10:00:00Z",
        "anonymousId": person,
        "context": context,
    }
    if kind == "user_id":
        message["userId"] = value
    elif kind == "anonymous_id":
        message["anonymousId"] = value
        context["device"] = {"id": person}
    elif kind in {"email", "phone"}:
        context["traits"] = {kind: value}
    elif kind == "device_id":
        context["device"] = {"id": value}
    elif kind == "push_token":
        context["device"] = {"token": value}
    else:
        context["externalIds"] = [{"id": value, "type": kind}]
    return message


def _owner(hub: omnikit.Hub, kind: str, person: str) -> str:
    found = hub.customer(device_id=person) if kind == "anonymous_id" else None
    found = found or hub.customer(anonymous_id=person)
    assert found is not None
    return found.id


@pytest.mark.parametrize(("kind", "value"), JUNK)
def test_placeholder_identifiers_link_nobody(kind: str, value: str) -> None:
    """
    Two strangers whose events carry the same placeholder stay two customers, and looking
    the placeholder up finds nobody.
    """
    hub = omnikit.Hub()

    hub.ingest(_carrying(kind, value, "stranger-1"))
    hub.ingest(_carrying(kind, value, "stranger-2"))

    assert _owner(hub, kind, "stranger-1") != _owner(hub, kind, "stranger-2")
    assert hub.customer(**{kind: value}) is None


@pytest.mark.parametrize(("kind", "value"), REAL)
def test_real_identifiers_are_not_blocked(kind: str, value: str) -> None:
    """Real emails, phones in many regions, UUIDs, loyalty numbers and tokens all link."""
    rules = omnikit.IdentityRules()

    assert not rules.is_blocked((kind, normalize_identifier(kind, value)))


def test_the_same_person_links_through_a_real_identifier() -> None:
    """The check above is not vacuous: a real identifier does join two events."""
    hub = omnikit.Hub()

    hub.ingest(_carrying("email", "Nancy@Null.io", "browser-1"))
    hub.ingest(_carrying("email", "nancy@null.io", "browser-2"))

    assert _owner(hub, "email", "browser-1") == _owner(hub, "email", "browser-2")


def test_a_host_adds_to_the_defaults() -> None:
    """
    A host's values and patterns add to omnikit's: values compare after normalisation and
    patterns hold for their kind only.
    """
    rules = omnikit.IdentityRules(
        blocked_values={"demo", "Staff@Shop.Example.com"},
        blocked_patterns={"loyalty_id": ["L-9+"], "*": ["tmp-.*"]},
    )

    assert rules.is_blocked(("user_id", "null"))  # the defaults still hold
    assert rules.is_blocked(("user_id", "DEMO"))
    assert rules.is_blocked(("email", normalize_identifier("email", "STAFF@shop.example.com")))
    assert rules.is_blocked(("loyalty_id", "L-999"))
    assert not rules.is_blocked(("user_id", "L-999"))
    assert rules.is_blocked(("device_id", "TMP-42"))
    assert frozenset() == omnikit.IdentityRules().blocked_values
    assert "null" in omnikit.IdentityRules.DEFAULT_BLOCKED_VALUES


def test_a_host_can_turn_the_defaults_off() -> None:
    """With *default_blocklist* off, only the host's own values block."""
    rules = omnikit.IdentityRules(default_blocklist=False, blocked_values={"demo"})

    assert not rules.is_blocked(("user_id", "null"))
    assert not rules.is_blocked(("email", "noemail@gmail.com"))
    assert rules.is_blocked(("user_id", "demo"))


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"blocked_values": "null"}, "blocked_values: expected a set of strings, got the string"),
        ({"blocked_values": {1}}, "blocked_values: expected strings, got 1"),
        (
            {"blocked_patterns": "null"},
            "blocked_patterns: expected a list of regular expressions, got the string",
        ),
        (
            {"blocked_patterns": {"Email": ["x"]}},
            "blocked_patterns: 'Email' is not an identity kind (or '*' for every kind)",
        ),
        ({"blocked_patterns": {"email": ["(["]}}, "blocked_patterns.email: not a regular"),
    ],
)
def test_blocked_settings_refuse_nonsense(options: dict[str, Any], expected: str) -> None:
    """A string where a set belongs (each letter would block), a bad kind, a bad pattern."""
    with pytest.raises(omnikit.ValidationError, match=re.escape(expected)):
        omnikit.IdentityRules(**options)


@pytest.mark.parametrize("phone", ["n/a", "none", "", "  N/A ", "undefined"])
def test_a_placeholder_that_is_no_phone_does_not_refuse_the_till_event(phone: str) -> None:
    """
    A till sends `"n/a"` where the phone goes; the purchase, identified by the card, is
    accepted, the placeholder links nobody and is kept as the trait it was sent as.
    """
    hub = omnikit.Hub()
    message = {
        "type": "track",
        "event": "Order Completed",
        "messageId": "till-1",
        "context": {
            "externalIds": [{"id": "L-777", "type": "loyalty_id"}],
            "traits": {"phone": phone},
        },
        "properties": {"order_id": "o-1", "total": 12},
    }

    hub.ingest(message)

    customer = hub.customer(loyalty_id="L-777")
    assert customer is not None
    assert 1 == customer.stats.orders
    assert ["loyalty_id"] == [i.kind for i in customer.identities]


def test_a_real_but_unreadable_phone_still_refuses_the_message() -> None:
    """Only placeholders are skipped: a phone that is wrong is an error naming the field."""
    hub = omnikit.Hub()
    with pytest.raises(omnikit.ValidationError, match=r"context\.traits\.phone"):
        hub.ingest(
            {
                "type": "track",
                "event": "Order Completed",
                "messageId": "till-2",
                "context": {
                    "externalIds": [{"id": "L-777", "type": "loyalty_id"}],
                    "traits": {"phone": "+351 000"},
                },
            }
        )


def test_a_message_with_only_a_placeholder_is_still_refused() -> None:
    """A placeholder identifies nobody: a message with nothing else says which fields can."""
    hub = omnikit.Hub()
    with pytest.raises(omnikit.ValidationError, match="userId"):
        hub.ingest(
            {"type": "track", "event": "Page Viewed", "messageId": "m", "traits": {"phone": "n/a"}}
        )
