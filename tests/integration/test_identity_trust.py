"""
Trust levels: a claimed identifier never takes a session into a verified customer's profile.

The attacks are those a stranger can mount with what is printed on a receipt or guessed: an
email address, a loyalty number, a phone number.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

import omnikit
from omnikit.stores import Store
from omnikit.testing import FrozenClock

T0 = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
RULES = omnikit.IdentityRules(verified_sources={"backend", "pos"})
ANA_EMAIL = "ana@example.com"
ANA_CARD = "L-123"
MALLORY_PHONE = "+351912000111"


def at(minutes: int) -> str:
    return (T0 + dt.timedelta(minutes=minutes)).isoformat()


@pytest.fixture(name="hub")
def _hub(store: Store) -> Iterator[omnikit.Hub]:
    with omnikit.Hub(
        store, clock=FrozenClock(T0 + dt.timedelta(days=1)), identity_rules=RULES
    ) as hub:
        yield hub


def ana_signs_up(hub: omnikit.Hub) -> omnikit.Customer:
    """Ana's account, as the shop's back end records it after she logged in."""
    hub.identify(
        user_id="u-ana",
        anonymous_id="ana-browser",
        traits={"email": ANA_EMAIL, "name": "Ana", "address": "Rua Augusta 1"},
        timestamp=at(0),
        message_id="signup",
        source="backend",
    )
    hub.track(
        "Order Completed",
        user_id="u-ana",
        identities={"loyalty_id": ANA_CARD},
        channel="store",
        properties={"order_id": "o-1", "total": 80, "currency": "EUR"},
        timestamp=at(5),
        message_id="till",
        source="pos",
    )
    ana = hub.customer(user_id="u-ana")
    assert ana is not None
    return hub.set_consent(ana, purpose="marketing", granted=False, timestamp=at(6))


def attack(identifier: dict[str, Any], minutes: int = 30) -> dict[str, Any]:
    """An anonymous identify from the browser, claiming somebody else's identifier."""
    return {
        "type": "identify",
        "messageId": f"attack-{minutes}",
        "anonymousId": "mallory-browser",
        "timestamp": at(minutes),
        "traits": {"phone": MALLORY_PHONE, "name": "Mallory", **identifier},
        "context": {"consent": {"categoryPreferences": {"marketing": True}}},
    }


CLAIMS = [
    pytest.param({"email": ANA_EMAIL}, id="email"),
    pytest.param({}, id="loyalty-card"),
]


@pytest.mark.parametrize("claim", CLAIMS)
def test_a_claimed_identifier_does_not_take_over_a_verified_customer(
    hub: omnikit.Hub, claim: dict[str, Any]
) -> None:
    """
    Claiming Ana's email or card from a browser neither reveals her profile to the sender's
    cookie, nor joins the sender's phone to her, nor overrides her refusal of marketing.
    """
    ana = ana_signs_up(hub)
    message = attack(claim)
    if not claim:
        message["context"]["externalIds"] = [{"id": ANA_CARD, "type": "loyalty_id"}]

    hub.ingest(message)

    mallory = hub.customer(anonymous_id="mallory-browser")
    assert mallory is not None
    assert ana.id != mallory.id
    assert "Ana" != mallory.traits.get("name")
    assert "address" not in mallory.traits
    assert [] == hub.orders(mallory)
    after = hub.customer(ana.id)
    assert after is not None
    assert ana.identities == after.identities
    assert ana.traits == after.traits
    assert not after.has_consent("email", "marketing", now=T0 + dt.timedelta(days=1))
    assert mallory.id == hub.customer(phone=MALLORY_PHONE).id  # type: ignore[union-attr]
    assert [] == [link for link in hub.links(ana) if link.message_id == message["messageId"]]


def test_an_earlier_dated_claim_arriving_late_is_kept_out_too(hub: omnikit.Hub) -> None:
    """
    A claim dated between Ana's verification and now, arriving after later events (so that
    her history is replayed), still does not join her.
    """
    ana = ana_signs_up(hub)
    hub.ingest(
        {
            "type": "track",
            "event": "Product Viewed",
            "messageId": "later",
            "anonymousId": "ana-browser",
            "timestamp": at(60),
        }
    )

    hub.ingest(attack({"email": ANA_EMAIL}, minutes=20))

    mallory = hub.customer(anonymous_id="mallory-browser")
    assert mallory is not None
    assert ana.id != mallory.id
    assert ana.identities == hub.customer(ana.id).identities  # type: ignore[union-attr]


def test_a_claim_without_a_session_is_kept_but_changes_nothing_she_holds(
    hub: omnikit.Hub,
) -> None:
    """
    A claim carrying only Ana's email (an email-provider webhook, a form without a cookie)
    lands in her history, but sets no trait, grants no consent and changes no activity figure.
    """
    ana = ana_signs_up(hub)

    hub.ingest(
        {
            "type": "identify",
            "messageId": "form",
            "timestamp": at(40),
            "traits": {"email": ANA_EMAIL, "name": "Not Ana"},
            "context": {"consent": {"categoryPreferences": {"marketing": True}}},
        }
    )

    after = hub.customer(ana.id)
    assert after is not None
    assert "form" in [tp.message_id for tp in hub.touchpoints(after)]
    assert "Ana" == after.traits["name"]
    assert not after.has_consent("email", "marketing", now=T0 + dt.timedelta(days=1))
    assert ana.stats == after.stats
    assert [True] == [tp.claims_only for tp in hub.touchpoints(after) if tp.message_id == "form"]


def test_anyone_may_withdraw_a_consent(hub: omnikit.Hub) -> None:
    """
    An unsubscribe identified by email alone (the link in every marketing email) is honoured
    even though it only claims the address: stopping messages must never need a login.
    """
    ana = ana_signs_up(hub)
    hub.set_consent(ana, purpose="marketing", granted=True, channel="email", timestamp=at(7))

    hub.ingest(
        {
            "type": "track",
            "event": "Unsubscribed",
            "messageId": "unsubscribe",
            "timestamp": at(50),
            "context": {"channel": "email", "traits": {"email": ANA_EMAIL}},
        }
    )

    assert not hub.customer(ana.id).has_consent("email", "marketing", now=T0 + dt.timedelta(days=1))  # type: ignore[union-attr]


def test_her_own_browser_speaks_for_her(hub: omnikit.Hub) -> None:
    """
    Claims from a session the verified login carried (her browser's anonymous id) reach her
    profile with their traits and consents, and new identifiers they bring join her, in the
    audit trail as claimed.
    """
    ana = ana_signs_up(hub)

    hub.ingest(
        {
            "type": "identify",
            "messageId": "profile-page",
            "anonymousId": "ana-browser",
            "timestamp": at(45),
            "traits": {"phone": "+351912000222", "language": "pt"},
            "context": {"consent": {"categoryPreferences": {"analytics": True}}},
        }
    )

    after = hub.customer(phone="+351912000222")
    assert after is not None
    assert ana.id == after.id
    assert "pt" == after.traits["language"]
    assert after.has_consent("web", "analytics", now=T0 + dt.timedelta(days=1))
    [link] = [link for link in hub.links(after) if link.message_id == "profile-page"]
    assert omnikit.Identity(kind="phone", value="+351912000222") == link.identity
    assert omnikit.Trust.CLAIMED == link.trust


@pytest.mark.parametrize("order", ["squatter-first", "owner-first"])
def test_a_verified_claim_wins_over_a_claimed_one(hub: omnikit.Hub, order: str) -> None:
    """
    Whoever claims an email first does not keep it from its owner: once the owner's verified
    login carried it, no claim ever linked it, and the squatter keeps only their own cookie and
    what they said, whatever order the events arrive in.
    """
    squat = {
        "type": "identify",
        "messageId": "squat",
        "anonymousId": "squatter",
        "timestamp": at(1),
        "traits": {"email": ANA_EMAIL, "name": "Squatter"},
    }
    login = {
        "type": "identify",
        "messageId": "login",
        "userId": "u-ana",
        "anonymousId": "ana-browser",
        "timestamp": at(10),
        "traits": {"email": ANA_EMAIL},
    }
    if order == "squatter-first":
        hub.ingest(squat)
        hub.ingest(login, source="backend")
    else:
        hub.ingest(login, source="backend")
        hub.ingest(squat)

    ana = hub.customer(user_id="u-ana")
    squatter = hub.customer(anonymous_id="squatter")
    assert ana is not None
    assert squatter is not None
    assert ana.id == hub.customer(email=ANA_EMAIL).id  # type: ignore[union-attr]
    assert squatter.id != ana.id
    assert [omnikit.Identity(kind="anonymous_id", value="squatter")] == list(squatter.identities)
    assert "Squatter" == squatter.traits.get("name")
    assert "Squatter" != ana.traits.get("name")
    assert [] == hub.links(ana)  # the login made her: nothing joined her later
    assert ["squat"] == [tp.message_id for tp in hub.touchpoints(squatter)]
    assert ["login"] == [tp.message_id for tp in hub.touchpoints(ana)]


def test_every_identifier_joining_a_customer_is_in_the_audit_trail(hub: omnikit.Hub) -> None:
    """
    Each identifier that joins an existing customer leaves a link record: which, through
    which message, how far trusted; the identifiers that created the customer do not.
    """
    ana = ana_signs_up(hub)

    links = hub.links(ana)

    assert [("till", "loyalty_id", ANA_CARD, omnikit.Trust.VERIFIED)] == [
        (link.message_id, link.identity.kind, link.identity.value, link.trust) for link in links
    ]
    exported = hub.export(ana)
    assert ["till"] == [link["message_id"] for link in exported["links"]]


def test_without_verified_sources_claims_link_as_before(store: Store) -> None:
    """
    A hub whose host declares no verified source treats everything as claims and stitches
    as it always did: nothing is verified, so there is nothing to protect.
    """
    with omnikit.Hub(store, clock=FrozenClock(T0)) as hub:
        hub.identify(user_id="u-ana", anonymous_id="ana-browser", email=ANA_EMAIL, source="backend")
        hub.ingest(attack({"email": ANA_EMAIL}))

        assert hub.customer(anonymous_id="mallory-browser").id == hub.customer(user_id="u-ana").id  # type: ignore[union-attr]
        assert all(
            tp.trust is omnikit.Trust.CLAIMED
            for tp in hub.touchpoints(hub.customer(user_id="u-ana"))
        )  # type: ignore[arg-type]


def test_trust_comes_from_the_host_never_from_the_message(hub: omnikit.Hub) -> None:
    """
    A message that names a verified source in its own context is still a claim; the source
    the host names replaces the message's own.
    """
    ana = ana_signs_up(hub)
    forged = attack({"email": ANA_EMAIL})
    forged["context"]["source"] = "backend"

    hub.ingest(forged)
    hub.ingest(
        {
            "type": "track",
            "event": "Store Visit",
            "messageId": "visit",
            "userId": "u-ana",
            "context": {"source": "web"},
        },
        source="pos",
    )

    assert ana.id != hub.customer(anonymous_id="mallory-browser").id  # type: ignore[union-attr]
    visit = hub.store.touchpoint("visit")
    assert visit is not None
    assert "pos" == visit.context.source
    assert omnikit.Trust.VERIFIED == visit.trust


def test_a_claimed_phone_does_not_carry_a_stranger_in_through_her_unverified_app(
    hub: omnikit.Hub,
) -> None:
    """
    A stranger claims Ana's phone before anyone verified it; her app claims it too; then she
    signs in on the app. The phone joined nobody to anybody, so the stranger stays apart.
    """
    claim = {"type": "identify", "timestamp": at(1), "traits": {"phone": "+351912000222"}}
    hub.ingest({**claim, "messageId": "stranger", "anonymousId": "mallory-browser"})
    hub.ingest(
        {**claim, "messageId": "app", "context": {"device": {"id": "ana-phone"}}, "userId": None}
        | {"anonymousId": "ana-app"}
    )
    hub.identify(
        user_id="u-ana",
        anonymous_id="ana-app",
        timestamp=at(10),
        message_id="login",
        source="backend",
    )

    ana = hub.customer(user_id="u-ana")
    mallory = hub.customer(anonymous_id="mallory-browser")
    assert ana is not None
    assert mallory is not None
    assert ana.id != mallory.id
    assert not {i.value for i in ana.identities} & {"mallory-browser"}


def test_a_backdated_claim_does_not_ride_her_own_earlier_claim(hub: omnikit.Hub) -> None:
    """
    Ana typed her email in her browser before she signed in; a stranger's claim of the same
    email, dated between the two and arriving after both, stays the stranger's own.
    """
    hub.ingest(
        {
            "type": "identify",
            "messageId": "her-form",
            "anonymousId": "ana-browser",
            "timestamp": at(0),
            "traits": {"email": ANA_EMAIL, "name": "Ana"},
        }
    )
    hub.identify(
        user_id="u-ana",
        anonymous_id="ana-browser",
        traits={"email": ANA_EMAIL},
        timestamp=at(10),
        message_id="login",
        source="backend",
    )
    hub.ingest(attack({"email": ANA_EMAIL}, minutes=5))

    ana = hub.customer(user_id="u-ana")
    mallory = hub.customer(anonymous_id="mallory-browser")
    assert ana is not None
    assert mallory is not None
    assert ana.id != mallory.id
    assert "Ana" == ana.traits["name"]  # her own browser spoke for her before she signed in
    assert "Mallory" == mallory.traits["name"]
    assert not ana.has_consent("web", "marketing", now=T0 + dt.timedelta(days=1))


def test_a_claimed_order_or_refund_is_kept_but_never_counts(hub: omnikit.Hub) -> None:
    """Orders and refunds that reached her on a claim alone are in no view of her orders."""
    ana = ana_signs_up(hub)
    for name, mid in [("Order Completed", "fake-order"), ("Order Refunded", "fake-refund")]:
        hub.ingest(
            {
                "type": "track",
                "event": name,
                "messageId": mid,
                "timestamp": at(20),
                "context": {"traits": {"email": ANA_EMAIL}},
                "properties": {"order_id": "o-1" if "Refund" in name else "o-9", "total": 80},
            }
        )

    after = hub.customer(ana.id)
    assert after is not None
    assert ["o-1"] == [order.order_id for order in hub.orders(after)]
    assert 0 == sum(order.refunded for order in hub.orders(after))
    assert ana.stats.orders == after.stats.orders
    assert ana.stats.revenue == after.stats.revenue
    claimed = {tp.message_id for tp in hub.touchpoints(after) if tp.claims_only}
    assert {"fake-order", "fake-refund"} == claimed


def test_a_claim_judged_again_when_its_identifier_is_verified(hub: omnikit.Hub) -> None:
    """
    An order claimed with an email nobody held counts for whoever claimed it, until a
    verified touchpoint carries the email: then it is judged again, lands in the verified
    owner's history (her sign-up came first) as a claim alone, and the stored touchpoint says
    so.
    """
    hub.ingest(
        {
            "type": "track",
            "event": "Order Completed",
            "messageId": "claimed-order",
            "timestamp": at(1),
            "context": {"traits": {"email": ANA_EMAIL}},
            "properties": {"order_id": "o-9", "total": 80},
        }
    )
    before = hub.customer(email=ANA_EMAIL)
    assert before is not None
    assert ["o-9"] == [o.order_id for o in hub.orders(before)]

    ana = ana_signs_up(hub)

    assert [] == [o.order_id for o in hub.orders(ana) if o.order_id == "o-9"]
    stored = hub.store.touchpoint("claimed-order")
    assert stored is not None
    assert stored.claims_only
    assert ana.id == stored.customer_id
    assert hub.customer(ana.id).stats.orders == 1  # type: ignore[union-attr]


def test_a_forgotten_customers_email_is_not_left_to_whoever_claimed_it(hub: omnikit.Hub) -> None:
    """
    Forgetting Ana does not hand her verified email to the stranger whose claim carried it:
    not by the replay of what remains, nor by the stranger's next claim.
    """
    ana = ana_signs_up(hub)
    hub.ingest(attack({"email": ANA_EMAIL}, minutes=20))

    hub.forget(ana)
    hub.ingest(attack({"email": ANA_EMAIL}, minutes=40))
    hub.ingest(  # a late event replays the stranger's cluster
        {
            "type": "track",
            "event": "Product Viewed",
            "messageId": "late",
            "anonymousId": "mallory-browser",
            "timestamp": at(1),
        }
    )

    assert hub.customer(email=ANA_EMAIL) is None
    mallory = hub.customer(anonymous_id="mallory-browser")
    assert mallory is not None
    assert "email" not in {i.kind for i in mallory.identities}


def test_a_backdated_claim_does_not_take_what_she_typed_in_her_own_browser(
    hub: omnikit.Hub,
) -> None:
    """
    An email Ana typed in her own browser, whose session her login verified, stays hers even
    against a stranger's claim dated a year earlier: a verified session's claim beats any
    unverified one, whatever the timestamps. What the hub recorded about her stays hers too.
    """
    hub.ingest(
        {
            "type": "identify",
            "messageId": "her-form",
            "anonymousId": "ana-browser",
            "timestamp": at(0),
            "traits": {"email": ANA_EMAIL},
        }
    )
    ana = hub.customer(anonymous_id="ana-browser")
    assert ana is not None
    hub.set_consent(ana, purpose="marketing", channel="email", granted=True, timestamp=at(1))
    hub.identify(
        user_id="u-ana",
        anonymous_id="ana-browser",
        timestamp=at(2),
        message_id="login",
        source="backend",
    )

    hub.ingest(attack({"email": ANA_EMAIL}, minutes=-525_600))

    ana = hub.customer(user_id="u-ana")
    mallory = hub.customer(anonymous_id="mallory-browser")
    assert ana is not None
    assert mallory is not None
    assert ana.id == hub.customer(email=ANA_EMAIL).id  # type: ignore[union-attr]
    assert "email" not in {i.kind for i in mallory.identities}
    now = T0 + dt.timedelta(days=1)
    assert ana.has_consent("email", "marketing", now=now)
    assert ["attack--525600"] == [tp.message_id for tp in hub.touchpoints(mallory)]


def test_forgetting_another_profile_keeps_a_forgotten_email_from_claims(hub: omnikit.Hub) -> None:
    """
    After Ana is forgotten, erasing somebody else of her cluster (the stranger's own second
    profile) does not hand her email to the stranger's other claim.
    """
    ana_signs_up(hub)
    for n in (1, 2):
        hub.ingest({**attack({"email": ANA_EMAIL}, minutes=20 + n), "anonymousId": f"mal-{n}"})
    hub.forget(hub.customer(user_id="u-ana"))  # type: ignore[arg-type]

    hub.forget(hub.customer(anonymous_id="mal-2"))  # type: ignore[arg-type]

    assert hub.customer(email=ANA_EMAIL) is None


def test_forget_with_suppress_suppresses_what_a_stranger_claimed_too(store: Store) -> None:
    """
    A stranger's claim that carried Ana's email does not keep the email out of her
    suppression: her later messages with it are dropped.
    """
    key = b"k" * 32
    with omnikit.Hub(
        store,
        clock=FrozenClock(T0 + dt.timedelta(days=1)),
        identity_rules=RULES,
        suppression_key=key,
    ) as hub:
        ana = ana_signs_up(hub)
        hub.ingest(attack({"email": ANA_EMAIL}, minutes=20))

        hub.forget(ana, suppress=True)
        later = hub.ingest(
            {
                "type": "identify",
                "messageId": "back",
                "userId": "u-ana-2",
                "timestamp": at(40),
                "traits": {"email": ANA_EMAIL},
            },
            source="backend",
        )

        assert ("back",) == later.suppressed


def test_a_claim_alone_changes_nothing_of_her_activity(hub: omnikit.Hub) -> None:
    """Claims without a session of their own change no activity figure rules could read."""
    ana = ana_signs_up(hub)
    for n in range(3):
        hub.ingest(
            {
                "type": "track",
                "event": "Email Opened",
                "messageId": f"claim-{n}",
                "timestamp": at(30 + n),
                "context": {"traits": {"email": ANA_EMAIL}, "channel": "email"},
            }
        )

    after = hub.customer(ana.id)
    assert after is not None
    assert ana.stats == after.stats
