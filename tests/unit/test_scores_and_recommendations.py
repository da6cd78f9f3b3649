"""RFM, lead scoring, bought-together recommendations, nearest store, post-purchase content."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import omnikit
from omnikit.analytics import BoughtTogether, LeadScoring, rfm_scores
from omnikit.rules import (
    Content,
    ContentCatalog,
    Place,
    customer,
    event,
    nearest_place,
    var,
)

NOW = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)


def buyer(cid: str, orders: int, revenue: int, days_ago: float) -> omnikit.Customer:
    return omnikit.Customer(
        id=cid,
        stats=omnikit.Stats(
            orders=orders,
            revenue={"EUR": Decimal(revenue)},
            last_order_at=NOW - dt.timedelta(days=days_ago),
        ),
    )


def order(
    oid: str,
    *products: str,
    status: omnikit.OrderStatus = omnikit.OrderStatus.COMPLETED,
    days_ago: float = 1,
    category: str | None = None,
) -> omnikit.Order:
    return omnikit.Order(
        order_id=oid,
        placed_at=NOW - dt.timedelta(days=days_ago),
        status=status,
        items=tuple(
            omnikit.LineItem(
                product=omnikit.Product(
                    product_id=p, category=category or ("Kids" if p.startswith("kid") else "Adults")
                )
            )
            for p in products
        ),
    )


def test_rfm_quintiles_and_segments() -> None:
    """Scores are quintiles against the other customers; segments follow recency and frequency."""
    customers = [
        buyer(f"c{i}", orders=i + 1, revenue=100 * (i + 1), days_ago=100 - 10 * i)
        for i in range(10)
    ]
    customers.append(omnikit.Customer(id="never-ordered"))

    scores = rfm_scores(customers, now=NOW)

    assert "never-ordered" not in scores
    assert "555" == scores["c9"].code
    assert "champions" == scores["c9"].segment
    assert "111" == scores["c0"].code
    assert "hibernating" == scores["c0"].segment
    assert [1, 1, 2, 2, 3, 3, 4, 4, 5, 5] == [scores[f"c{i}"].frequency for i in range(10)]


def test_lead_scores_decay_with_time() -> None:
    """Points halve every half-life; conditions add points for what an event carries."""
    scoring = LeadScoring(
        points={"Product Viewed": 2, "Checkout Started": 10},
        rules=[(event.properties["price"] > 200, 5)],
        half_life_days=10,
    )
    touchpoints = [
        omnikit.Touchpoint(
            message_id="a", name="Checkout Started", channel="web", occurred_at=NOW, received_at=NOW
        ),
        omnikit.Touchpoint(
            message_id="b",
            name="Product Viewed",
            channel="web",
            occurred_at=NOW - dt.timedelta(days=10),
            received_at=NOW,
            properties={"price": 300},
        ),
        omnikit.Touchpoint(
            message_id="c", name="Email Opened", channel="email", occurred_at=NOW, received_at=NOW
        ),
    ]

    assert 13.5 == scoring.score(touchpoints, now=NOW)
    assert 7.0 == scoring.points_for(touchpoints[1], now=NOW)


def test_bought_together_leaves_out_what_does_not_fit() -> None:
    """Suggestions skip what the customer owns, returned, or what rules exclude for them."""
    history = [
        order("o1", "boots", "socks", "polish"),
        order("o2", "boots", "socks"),
        order("o3", "boots", "kid-boots"),
        order("o4", "socks", "scarf"),
    ]
    model = BoughtTogether.fit(history)
    mine = [order("m1", "boots"), order("m2", "polish", status=omnikit.OrderStatus.REFUNDED)]
    no_kids = (var("product.category") == "Kids") & ~customer.traits["has_kids"]

    plain = model.recommend([order("m1", "boots")])
    fitted = model.recommend(mine, customer={"traits": {"has_kids": False}}, exclude_when=[no_kids])
    parent = model.recommend(mine, customer={"traits": {"has_kids": True}}, exclude_when=[no_kids])

    assert ["socks", "kid-boots", "polish"] == [r.product_id for r in plain]
    assert ("boots",) == plain[0].because
    assert ["socks"] == [r.product_id for r in fitted]
    assert ["socks", "kid-boots"] == [r.product_id for r in parent]


def test_the_nearest_store_within_a_radius() -> None:
    """The closest place within the radius wins; none when all are too far."""
    stores = [
        Place(id="lisboa", latitude=38.7223, longitude=-9.1393),
        Place(id="porto", latitude=41.1579, longitude=-8.6291),
    ]

    found = nearest_place({"latitude": 38.75, "longitude": -9.15}, stores, within_km=10)
    far = nearest_place([40.2033, -8.4103], stores, within_km=10)

    assert found is not None
    assert "lisboa" == found[0].id
    assert 3 < found[1] < 4
    assert far is None


def test_post_purchase_content_follows_what_was_bought() -> None:
    """Care guides for the products and categories bought, while their window is open."""
    catalog = ContentCatalog(
        [
            Content(
                id="boot-care",
                title="Caring for leather boots",
                products=("boots",),
                after_days=0,
                until_days=30,
            ),
            Content(
                id="kids-sizing",
                title="Growing feet",
                categories=("Kids",),
                after_days=20,
                until_days=60,
            ),
            Content(id="scarf-wash", title="Washing wool", products=("scarf",)),
        ]
    )

    now = catalog.for_orders(
        [order("o1", "boots", days_ago=2), order("o2", "kid-boots", days_ago=25)], now=NOW
    )
    refunded = catalog.for_orders(
        [order("o3", "scarf", status=omnikit.OrderStatus.REFUNDED)], now=NOW
    )

    assert ["boot-care", "kids-sizing"] == [c.id for c in now]
    assert [] == refunded
