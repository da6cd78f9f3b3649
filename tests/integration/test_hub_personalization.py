"""The hub's personalization verbs on every store: decide, record, segments, scores."""

from __future__ import annotations

import datetime as dt
from typing import Any

import omnikit
from omnikit.analytics import LeadScoring
from omnikit.rules import (
    Action,
    Cap,
    Experiment,
    Place,
    Rule,
    RuleSet,
    Segment,
    SegmentSet,
    Variant,
    context,
    count_events,
    customer,
    event,
    within_km,
)
from omnikit.stores import Store
from omnikit.testing import FrozenClock, Retailer

T0 = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)


def order(mid: str, day: int, total: float, *products: str) -> dict[str, Any]:
    return {
        "type": "track",
        "event": "Order Completed",
        "messageId": mid,
        "userId": "u1",
        "timestamp": (T0 - dt.timedelta(days=day)).isoformat(),
        "properties": {
            "order_id": mid,
            "total": total,
            "products": [{"product_id": p, "price": 10} for p in products],
        },
    }


def test_decide_reads_the_profile_and_records_for_caps(store: Store) -> None:
    """A recorded decision is a touchpoint; the cap counts it next time."""
    clock = FrozenClock(T0)
    rules = RuleSet(
        [
            Rule(
                id="welcome-back",
                condition=(event.name == "Product Viewed") & (customer.stats.orders >= 1),
                actions=(Action.offer("wb-10"),),
                cap=Cap(times=1, days=7),
            ),
            Rule(
                id="loyal",
                condition=count_events("Order Completed") >= 2,
                actions=(Action.points(100),),
            ),
        ]
    )
    with omnikit.Hub(store, clock=clock, ruleset=rules) as hub:
        hub.ingest({"batch": [order("o1", 30, 50), order("o2", 10, 70)]})
        view = {"name": "Product Viewed", "properties": {"product_id": "p1"}}

        first = hub.decide(hub.customer(user_id="u1"), view, {"channel": "app"}, record=True)  # type: ignore[arg-type]
        clock.advance(days=1)
        second = hub.decide(hub.customer(user_id="u1"), view, record=True)  # type: ignore[arg-type]
        recorded = [
            tp for tp in hub.touchpoints(hub.customer(user_id="u1")) if tp.name == "Decision Made"
        ]  # type: ignore[arg-type]
        stats = hub.customer(user_id="u1").stats  # type: ignore[union-attr]

    assert ("loyal", "welcome-back") == first.rule_ids
    assert ("loyal",) == second.rule_ids
    assert [["loyal", "welcome-back"], ["loyal"]] == [tp.properties["rules"] for tp in recorded]
    assert "app" == recorded[0].channel
    assert omnikit.Direction.OUTBOUND == recorded[0].direction
    assert 2 == stats.touchpoints


def test_experiments_are_stable_across_channels() -> None:
    """The same customer gets the same variant on the web and in the store."""
    rules = RuleSet(
        [
            Rule(
                id="hero",
                actions=(Action.content("a"),),
                experiment=Experiment(
                    id="hero",
                    variants=(Variant(id="a"), Variant(id="b", actions=(Action.content("b"),))),
                ),
            )
        ]
    )
    hub = omnikit.Hub(ruleset=rules)
    hub.identify(user_id="u1")

    web = hub.decide(hub.customer(user_id="u1"), context={"channel": "web"})  # type: ignore[arg-type]
    store = hub.decide(hub.customer(user_id="u1"), context={"channel": "store"})  # type: ignore[arg-type]

    assert web.chosen == store.chosen


def test_segments_are_kept_current_as_events_arrive(store: Store) -> None:
    """Customers enter and leave segments as ingestion changes them, with touchpoints."""
    clock = FrozenClock(T0)
    segments = [
        Segment(id="repeat-buyer", condition=customer.stats.orders >= 2),
        Segment(id="gold", condition=customer.traits["tier"] == "gold"),
    ]
    with omnikit.Hub(store, clock=clock, segments=segments) as hub:
        hub.ingest(order("o1", 30, 50))
        assert () == hub.customer(user_id="u1").segments  # type: ignore[union-attr]
        clock.advance(minutes=1)
        hub.ingest(order("o2", 10, 70))
        clock.advance(minutes=1)
        hub.identify(user_id="u1", traits={"tier": "gold"})
        assert ("gold", "repeat-buyer") == hub.customer(user_id="u1").segments  # type: ignore[union-attr]
        clock.advance(minutes=1)
        hub.identify(user_id="u1", traits={"tier": "silver"})
        who = hub.customer(user_id="u1")
        changes = [
            (tp.name, tp.properties["segment"])
            for tp in hub.touchpoints(who)
            if tp.name.startswith("Segment")
        ]  # type: ignore[arg-type]

    assert ("repeat-buyer",) == who.segments  # type: ignore[union-attr]
    assert [
        ("Segment Entered", "repeat-buyer"),
        ("Segment Entered", "gold"),
        ("Segment Exited", "gold"),
    ] == changes


def test_time_alone_can_move_people_between_segments() -> None:
    """`refresh_segments()` re-evaluates conditions that change with the clock."""
    clock = FrozenClock(T0)
    recent = Segment(
        id="recent-buyer",
        condition={"<": [{"days_since": {"var": "customer.stats.last_order_at"}}, 30]},
    )
    hub = omnikit.Hub(clock=clock, segments=[recent])
    hub.ingest(order("o1", 1, 50))
    assert ("recent-buyer",) == hub.customer(user_id="u1").segments  # type: ignore[union-attr]

    clock.advance(days=45)
    changed = hub.refresh_segments()

    assert {hub.customer(user_id="u1").id: ([], ["recent-buyer"])} == changed  # type: ignore[union-attr]
    assert () == hub.customer(user_id="u1").segments  # type: ignore[union-attr]
    assert {} == hub.refresh_segments()


def test_location_aware_rules_use_the_hubs_stores() -> None:
    """`within_km` knows the hub's places by id."""
    rules = RuleSet(
        [
            Rule(
                id="late-opening",
                condition=within_km(var_location(), "lisboa-01", 2),
                actions=(Action.content("late-opening"),),
            )
        ]
    )
    hub = omnikit.Hub(
        ruleset=rules, places=[Place(id="lisboa-01", latitude=38.7107, longitude=-9.1395)]
    )
    hub.identify(user_id="u1")

    near = hub.decide(
        hub.customer(user_id="u1"), context={"location": {"latitude": 38.712, "longitude": -9.14}}
    )  # type: ignore[arg-type]
    far = hub.decide(hub.customer(user_id="u1"), context={"location": [41.15, -8.61]})  # type: ignore[arg-type]

    assert ("late-opening",) == near.rule_ids
    assert () == far.rule_ids


def var_location() -> Any:
    return context.location


def test_rfm_traits_and_recommendations() -> None:
    """RFM scores become traits rules can read; recommendations come from all orders."""
    hub = omnikit.Hub(clock=FrozenClock(T0))
    for i, (user, products) in enumerate(
        [
            ("u1", ("boots", "socks")),
            ("u2", ("boots", "polish")),
            ("u3", ("boots", "socks")),
            ("u4", ("scarf",)),
        ]
    ):
        msg = order(f"o{i}", 5 + i, 20 * (i + 1), *products)
        msg["userId"] = user
        hub.ingest(msg)
    buyer = {
        "type": "track",
        "event": "Order Completed",
        "messageId": "mine",
        "userId": "me",
        "timestamp": T0.isoformat(),
        "properties": {"order_id": "mine", "products": [{"product_id": "boots", "price": 90}]},
    }
    hub.ingest(buyer)

    scores = hub.rfm(write_traits=True)
    me = hub.customer(user_id="me")
    suggestions = hub.recommend(me)  # type: ignore[arg-type]

    assert 5 == len(scores)
    assert me is not None
    assert scores[me.id].segment == me.traits["rfm_segment"]
    assert 5 == me.traits["rfm_recency"]
    assert 1 == me.stats.touchpoints
    assert ["socks", "polish"] == [s.product_id for s in suggestions]


def test_host_verbs_without_ids_do_not_pile_up_identities() -> None:
    """Tracking by email alone stores the email and nothing made up, however many calls."""
    hub = omnikit.Hub()
    for _ in range(3):
        hub.track("Product Viewed", email="ana@example.com")

    ana = hub.customer(email="ana@example.com")

    assert ana is not None
    assert (omnikit.Identity(kind="email", value="ana@example.com"),) == ana.identities
    assert 3 == ana.stats.touchpoints


def test_verbs_over_every_customer_read_a_page_at_a_time(monkeypatch: Any, tmp_path: Any) -> None:
    """
    RFM, lead scores, bought-together and segment refreshes hold one page of customers at a
    time, and give with pages of two what they give with one page for all.
    """
    import omnikit._hub._base as base  # noqa: PLC0415 - the page size under test

    def run(page: int) -> tuple[Any, ...]:
        monkeypatch.setattr(base, "PAGE", page)
        clock = FrozenClock(dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
        segments = [Segment(id="buyers", condition=customer.stats.orders >= 1)]
        with omnikit.Hub(f"sqlite:///{tmp_path / f'p{page}.db'}", clock=clock) as hub:
            hub.ingest(list(Retailer(30, seed=3).messages()))
            scoring = LeadScoring(points={"Product Viewed": 3, "Order Completed": 10})
            rfm = hub.rfm(write_traits=True)
            leads = hub.lead_scores(scoring, write_traits=True)
            together = vars(hub.bought_together())
            hub.segments = SegmentSet(segments)  # everyone's membership is out of date
            refreshed = hub.refresh_segments()
            return rfm, leads, together, refreshed, [c.traits for c in hub.customers()]

    paged, whole = run(2), run(10_000)

    assert whole == paged
    rfm, leads, _, refreshed, _ = whole
    assert rfm  # something was scored and refreshed
    assert leads
    assert refreshed
