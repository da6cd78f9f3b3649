"""
Consent as consent-management platforms send it: names in any case, answers in many spellings.

A refusal written `"false"` or `"no"` was stored as given and read as a grant (a non-empty
string is true); a category named `"Marketing"` failed the whole batch when the profile was
built; a value nobody can read (`"maybe"`) became consent.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import omnikit
from omnikit._engines.profile import ProfileState
from omnikit.errors import ValidationError

T0 = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
LATER = T0 + dt.timedelta(minutes=5)


def with_preferences(mid: str, preferences: Any, *, at: dt.datetime = LATER) -> dict[str, Any]:
    return {
        "type": "track",
        "event": "Page Viewed",
        "messageId": mid,
        "userId": "u1",
        "timestamp": at.isoformat(),
        "context": {"consent": {"categoryPreferences": preferences}},
    }


def consent_updated(mid: str, **properties: Any) -> dict[str, Any]:
    return {
        "type": "track",
        "event": "Consent Updated",
        "messageId": mid,
        "userId": "u1",
        "timestamp": LATER.isoformat(),
        "properties": properties,
    }


def granted(hub: omnikit.Hub, purpose: str = "marketing") -> bool:
    found = hub.customer(user_id="u1")
    assert found is not None
    return found.has_consent("email", purpose, now=LATER)


REFUSALS = [False, 0, "false", "FALSE", " False ", "no", "No", "n", "off", "0", "denied"]
GRANTS = [True, 1, "true", "TRUE", "yes", " Yes", "y", "on", "1", "granted"]


@pytest.mark.parametrize("refusal", REFUSALS, ids=repr)
def test_a_refusal_in_any_spelling_withdraws_consent(hub: omnikit.Hub, refusal: Any) -> None:
    """After a grant, a refusal spelled any common way, under any case of the name, is no."""
    hub.ingest(with_preferences("m0", {"marketing": True}, at=T0))
    assert granted(hub)

    hub.ingest(with_preferences("m1", {" Marketing": refusal}))

    assert not granted(hub)
    assert [("marketing", False)] == [
        (c.purpose, c.granted)
        for c in hub.customer(user_id="u1").consents  # type: ignore[union-attr]
    ]


@pytest.mark.parametrize("grant", GRANTS, ids=repr)
def test_a_grant_in_any_spelling_is_consent(hub: omnikit.Hub, grant: Any) -> None:
    """The common spellings of yes are a grant, for the purpose named in any case."""
    hub.ingest(with_preferences("m1", {"MARKETING": grant}))

    assert granted(hub)
    assert granted(hub, " Marketing ")


@pytest.mark.parametrize(
    ("value", "shown"),
    [("maybe", "'maybe'"), (None, "null"), (2, "2"), ({"granted": True}, "an object")],
)
def test_a_value_nobody_can_read_is_rejected_naming_the_field(
    hub: omnikit.Hub, value: Any, shown: str
) -> None:
    """Neither a grant nor a refusal: the message is rejected, and consent stays as it was."""
    hub.ingest(with_preferences("m0", {"marketing": False}, at=T0))

    with pytest.raises(ValidationError) as info:
        hub.ingest(with_preferences("m1", {"Marketing": value}))

    assert (
        f"context.consent.categoryPreferences.Marketing: expected true or false, got {shown}",
    ) == info.value.errors
    assert not granted(hub)


def test_in_a_batch_only_the_unreadable_message_is_rejected(hub: omnikit.Hub) -> None:
    """The others, a capitalised category among them, are stored and read."""
    result = hub.ingest(
        [
            with_preferences("m0", {"Marketing": "yes"}, at=T0),
            with_preferences("m1", {"Analytics": "perhaps"}),
            with_preferences("m2", {"Advertising": "no", "EMAIL": "1"}),
        ]
    )

    assert ("m0", "m2") == result.accepted
    assert [1] == [r.index for r in result.rejected]
    assert granted(hub, "marketing")
    assert granted(hub, "email")
    assert not granted(hub, "advertising")
    assert not granted(hub, "analytics")


def test_two_spellings_of_one_purpose_must_agree(hub: omnikit.Hub) -> None:
    """`Marketing: true` beside `marketing: false` is refused rather than one picked."""
    with pytest.raises(ValidationError, match="'Marketing' and 'marketing' name one purpose"):
        hub.ingest(with_preferences("m1", {"Marketing": True, "marketing": False}))


def test_spellings_of_one_purpose_that_agree_are_one_answer(hub: omnikit.Hub) -> None:
    hub.ingest(with_preferences("m1", {"Marketing": "yes", "marketing": True}))

    assert 1 == len(hub.customer(user_id="u1").consents)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "'' is not a consent purpose"),
        ("Ads & Offers", "'Ads & Offers' is not a consent purpose"),
        ("Publicidade_é", "'Publicidade_é' is not a consent purpose"),
    ],
)
def test_a_category_that_names_no_purpose_is_rejected(
    hub: omnikit.Hub, name: str, reason: str
) -> None:
    with pytest.raises(ValidationError, match=reason) as info:
        hub.ingest(with_preferences("m1", {name: True}))

    assert info.value.errors[0].startswith(f"context.consent.categoryPreferences.{name}: ")


def test_names_with_spaces_and_hyphens_are_one_purpose(hub: omnikit.Hub) -> None:
    """`Data Sharing`, `data-sharing` and `data_sharing` are one purpose."""
    hub.ingest(with_preferences("m0", {"Data Sharing": True}, at=T0))
    hub.ingest(with_preferences("m1", {"data-sharing": "no"}))

    assert not granted(hub, "data_sharing")
    assert ("data_sharing",) == tuple(
        c.purpose
        for c in hub.customer(user_id="u1").consents  # type: ignore[union-attr]
    )


@pytest.mark.parametrize(
    ("consent", "error"),
    [
        ("yes", "context.consent: expected an object, got a string"),
        ({"categoryPreferences": ["marketing"]}, "expected an object, got a list"),
    ],
)
def test_a_consent_object_of_another_shape_is_rejected(
    hub: omnikit.Hub, consent: Any, error: str
) -> None:
    message = with_preferences("m1", {})
    message["context"]["consent"] = consent

    with pytest.raises(ValidationError, match=error):
        hub.ingest(message)


def test_consent_updated_reads_the_same_spellings(hub: omnikit.Hub) -> None:
    """`Consent Updated` takes the purpose in any case and the answer in any spelling."""
    hub.ingest(consent_updated("m0", purpose="Marketing", granted="yes"))
    assert granted(hub)

    hub.ingest(consent_updated("m1", purpose=" MARKETING", granted="No", channel="email"))

    assert not granted(hub)
    with pytest.raises(
        ValidationError, match=r"properties\.granted: expected true or false, got 'maybe'"
    ):
        hub.ingest(consent_updated("m2", purpose="marketing", granted="maybe"))


def test_set_consent_normalises_the_purpose_and_reads_the_answer(hub: omnikit.Hub) -> None:
    customer = hub.identify(user_id="u1", timestamp=T0)

    after = hub.set_consent(customer, purpose=" Marketing ", granted=True, timestamp=T0)

    assert "marketing" == after.consents[0].purpose
    assert after.has_consent("sms", "MARKETING", now=LATER)
    after = hub.set_consent(customer, purpose="marketing", granted="no", timestamp=LATER)  # type: ignore[arg-type]
    assert not after.has_consent("sms", "marketing", now=LATER)
    with pytest.raises(ValidationError, match="granted: expected true or false, got 'maybe'"):
        hub.set_consent(customer, purpose="marketing", granted="maybe")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="purpose: 'Ads & Offers' is not a consent purpose"):
        hub.set_consent(customer, purpose="Ads & Offers", granted=True)


def test_an_answer_stored_unreadable_is_no_consent() -> None:
    """A profile stored before answers were checked, holding `"false"` or `"maybe"`: no."""
    for stored in ("false", "maybe", 0, None):
        state = ProfileState.from_json(
            {
                "traits": {},
                "consents": {"|marketing": [stored, 0, "m1", "web", None, "marketing"]},
                "prefs": {},
                "first": 0,
                "last": 0,
                "count": 1,
                "channels": {},
                "orders": 0,
                "last_order": None,
                "revenue": {},
                "refunds": {},
            }
        )

        customer = state.to_customer("cus_1", [])

        assert customer.consents[0].granted is False
        assert not customer.has_consent("email", "marketing", now=T0)


def test_a_consent_model_normalises_its_purpose_and_wants_a_bool() -> None:
    consent = omnikit.Consent(purpose=" Marketing", granted=True, at=T0)

    assert "marketing" == consent.purpose
    assert consent.covers("email", "MARKETING")
    with pytest.raises(ValidationError, match="granted: expected true or false"):
        omnikit.Consent(purpose="marketing", granted="false", at=T0)  # type: ignore[arg-type]
