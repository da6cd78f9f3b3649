"""
Consent is a wall: no spelling of a refusal, and nothing unreadable, ever reads as a grant.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

import omnikit
from omnikit._models.consent import GRANT_WORDS, REFUSAL_WORDS, purpose_name, read_answer
from omnikit.errors import ValidationError
from omnikit.testing import FrozenClock

T0 = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
LATER = T0 + dt.timedelta(minutes=5)

blanks = st.text(alphabet=" \t\n\r\u00a0\u2003", max_size=3)


@st.composite
def spelled(draw: st.DrawFn, word: str) -> str:
    """*word* in any case, with any whitespace around it."""
    letters = "".join(c.upper() if draw(st.booleans()) else c for c in word)
    return draw(blanks) + letters + draw(blanks)


refusals = st.one_of(
    st.just(False),
    st.sampled_from([0, 0.0, -0.0]),
    st.sampled_from(sorted(REFUSAL_WORDS)).flatmap(spelled),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=4,
)
answers = st.one_of(
    refusals,
    st.sampled_from(sorted(GRANT_WORDS)).flatmap(spelled),
    json_values,
    st.sampled_from(["maybe", "", "yes please", "nope", "2", "-1", "t", "f"]),
)


def is_grant_spelling(value: object) -> bool:
    """A grant as the documentation lists them, written out independently of the code."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value == 1
    return isinstance(value, str) and value.strip().lower() in GRANT_WORDS


def hub_with(*, answer: bool) -> omnikit.Hub:
    hub = omnikit.Hub(clock=FrozenClock(LATER))
    hub.ingest(preferences("m0", {"marketing": answer}, at=T0))
    return hub


def preferences(mid: str, categories: Any, *, at: dt.datetime = LATER) -> dict[str, Any]:
    return {
        "type": "track",
        "event": "Page Viewed",
        "messageId": mid,
        "userId": "u1",
        "timestamp": at.isoformat(),
        "context": {"consent": {"categoryPreferences": categories}},
    }


def has_marketing(hub: omnikit.Hub, channel: str = "email") -> bool:
    found = hub.customer(user_id="u1")
    assert found is not None
    return found.has_consent(channel, "marketing", now=LATER)


@given(refusal=refusals, name=spelled("marketing"))
def test_no_spelling_of_a_refusal_yields_consent(refusal: object, name: str) -> None:
    """After a grant, a refusal in any spelling, for the purpose in any case, withdraws it."""
    hub = hub_with(answer=True)

    hub.ingest(preferences("m1", {name: refusal}))

    assert read_answer(refusal) is False
    assert not has_marketing(hub)


@given(refusal=refusals, name=spelled("marketing"))
def test_no_spelling_of_a_refusal_in_consent_updated_yields_consent(
    refusal: object, name: str
) -> None:
    hub = hub_with(answer=True)

    hub.ingest(
        {
            "type": "track",
            "event": "Consent Updated",
            "messageId": "m1",
            "userId": "u1",
            "timestamp": LATER.isoformat(),
            "properties": {"purpose": name, "granted": refusal, "channel": "email"},
        }
    )

    assert not has_marketing(hub)


@given(answer=answers)
def test_only_a_grant_spelling_ever_becomes_consent(answer: object) -> None:
    """Whatever the answer, it is consent only if it is one of the documented grants."""
    hub = hub_with(answer=False)

    errors: tuple[str, ...] = ()
    try:
        hub.ingest(preferences("m1", {"Marketing": answer}))
    except ValidationError as exc:
        errors = exc.errors

    assert has_marketing(hub) == is_grant_spelling(answer)
    assert bool(errors) == (read_answer(answer) is None)
    # About the answer (or, for a number JSON cannot hold, the number inside it).
    assert all(e.startswith("context.consent.categoryPreferences.Marketing") for e in errors)


@given(name=st.text(max_size=50))
def test_purpose_normalisation_is_idempotent(name: str) -> None:
    once = purpose_name(name)

    assert once == purpose_name(once)
    assert once == purpose_name(f" {name}\t")


@given(stored=spelled("marketing"), asked=spelled("marketing"), channel=st.sampled_from(["sms"]))
def test_a_purpose_is_found_by_any_spelling(stored: str, asked: str, channel: str) -> None:
    """An answer recorded under one spelling is the answer under every other."""
    hub = omnikit.Hub(clock=FrozenClock(LATER))
    customer = hub.identify(user_id="u1", timestamp=T0)

    after = hub.set_consent(customer, purpose=stored, granted=True, channel=channel)

    assert after.has_consent(channel, asked, now=LATER)
    assert [purpose_name(stored)] == [c.purpose for c in after.consents]
