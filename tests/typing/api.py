"""
Code a user would write: mypy --strict must accept it (CI runs mypy on this file).

It is not collected by pytest; it only has to type-check.
"""

from __future__ import annotations

import datetime as dt

import omnikit
from omnikit.analytics import RFM, BoughtTogether, LeadScoring, attribution, rfm_scores, simulate
from omnikit.rules import Action, Cap, Rule, RuleSet, Strategy, customer, days_since, event
from omnikit.testing import FrozenClock, Retailer


def typed_usage() -> None:
    clock = FrozenClock(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    with omnikit.Hub.open("sqlite:///shop.db", default_region="PT", clock=clock) as hub:
        result: omnikit.IngestResult = hub.ingest(
            {"type": "track", "event": "Product Viewed", "anonymousId": "a1"}
        )
        accepted: tuple[str, ...] = result.accepted
        rejected: tuple[omnikit.Rejection, ...] = result.rejected
        loaded: omnikit.LoadReport = hub.load(["exports/", "old/*.ndjson.gz"], source="pos")
        bad: list[tuple[str, int, str]] = [(r.path, r.line, r.reason) for r in loaded.rejected]
        tp: omnikit.Touchpoint = hub.track(
            "Order Completed", user_id="u1", properties={"order_id": "o1"}
        )
        found: omnikit.Customer | None = hub.customer(email="ana@example.com")
        if found is not None:
            history: list[omnikit.Touchpoint] = hub.touchpoints(found)
            orders: list[omnikit.Order] = hub.orders(found)
            merges: list[omnikit.MergeRecord] = hub.merges(found)
            report: omnikit.ForgetReport = hub.forget(found)
            del history, orders, merges, report
        del accepted, rejected, bad, tp
    with omnikit.Hub.open("sqlite:///shop.db", suppression_key=b"0123456789abcdef") as hub:
        ana = hub.customer(email="ana@example.com")
        if ana is not None:
            erased: omnikit.ForgetReport = hub.forget(ana, suppress=True, scrub=False)
            scrubbed: bool = hub.store.scrub() and erased.scrubbed
            del scrubbed
        lifted: bool = hub.unsuppress(email="ana@example.com")
        dropped: tuple[str, ...] = hub.ingest({"type": "track", "event": "X"}).suppressed
        del lifted, dropped

    rules = RuleSet(
        [
            Rule(
                id="vip",
                condition=(customer.traits["tier"] == "gold")
                & (days_since(customer.stats.last_seen) < 30),
                actions=(Action.offer("vip-10"),),
                cap=Cap(times=1, days=7),
            ),
            Rule(
                id="views",
                condition=event.name == "Product Viewed",
                actions=(Action.tag("browser"),),
            ),
        ],
        strategy=Strategy.FIRST_MATCH,
    )
    text: str = rules.dumps("yaml")
    del text


def typed_analytics_usage(rules: RuleSet) -> None:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    hub = omnikit.Hub()
    hub.ingest({"batch": list(Retailer(50, seed=7).messages())})
    scores: dict[str, RFM] = rfm_scores(hub.customers(), now=now)
    lead: float = LeadScoring(points={"Product Added": 5}).score(hub.touchpoints("c1"), now=now)
    together = BoughtTogether.fit(hub.orders("c1"))
    table = simulate(rules, hub, frame="rows")
    del scores, lead, together, table


def typed_attribution_usage() -> None:
    rows = [{"path": "email > web", "conversions": 3, "value": 90.0, "nulls": 7}]
    paths = attribution.PathTable.from_rows(rows)
    heuristic: attribution.Attribution = attribution.position_based(paths, first=0.3, last=0.3)
    chain: attribution.MarkovAttribution = attribution.markov(rows, order=2)
    decayed = attribution.time_decay(paths, half_life=dt.timedelta(days=3))
    email: float = chain["email"].conversions + heuristic["email"].value
    effect: float = chain.removal_effect("web").conversions
    moves: list[tuple[str, str, float]] = [
        (move.source, move.target, move.probability) for move in chain.transitions
    ]
    table: list[dict[str, object]] = decayed.to_rows()
    del email, effect, moves, table


async def typed_async_usage() -> None:
    async with omnikit.AsyncHub.open("sqlite:///shop.db", default_region="PT") as hub:
        result: omnikit.IngestResult = await hub.ingest(
            {"type": "track", "event": "Product Viewed", "anonymousId": "a1"}
        )
        found: omnikit.Customer | None = await hub.customer(anonymous_id="a1")
        if found is not None:
            history: list[omnikit.Touchpoint] = await hub.touchpoints(found)
            del history
        ids: list[str] = [c.id async for c in hub.customers()]
        sync: omnikit.Hub = hub.sync
        del result, ids, sync


async def typed_async_store_usage(store: omnikit.stores.AsyncStore) -> None:
    async with omnikit.AsyncHub(store, default_region="PT", max_concurrency=8) as hub:
        found: omnikit.Customer | None = await hub.customer(email="ana@example.com")
        rules: omnikit.rules.RuleSet | None = hub.ruleset
        where: omnikit.stores.Store | omnikit.stores.AsyncStore = hub.store
        del found, rules, where


def registered_stores() -> None:
    from omnikit.stores.memory import MemoryStore  # noqa: PLC0415 - a host's own store class

    def open_shop_store(url: str) -> omnikit.stores.Store:
        return MemoryStore.from_url(url)

    omnikit.stores.register("shop", MemoryStore)
    omnikit.stores.register("shop-fn", open_shop_store)
    omnikit.stores.register("shop-path", "my_shop.store:ShopStore")
    store: omnikit.stores.Store = omnikit.stores.open_store("shop://x")
    omnikit.stores.unregister("shop")
    try:
        omnikit.Hub.open("nosuch://x")
    except omnikit.StoreNotFoundError as exc:
        available: tuple[str, ...] = exc.available
        extra: str | None = exc.extra
        del available, extra
    del store


async def async_stores() -> None:
    from omnikit.stores.postgres import AsyncPostgresStore  # noqa: PLC0415 - needs the extra

    opened: omnikit.stores.AsyncStore | omnikit.stores.Store = await omnikit.stores.aopen_store(
        "postgresql://shop@db/omnikit"
    )
    if isinstance(opened, omnikit.stores.AsyncStore):
        await opened.aclose()
    store: omnikit.stores.AsyncStore = await AsyncPostgresStore.aopen(
        "postgresql://shop@db/omnikit?max_connections=4"
    )
    async with store.transaction() as tx:
        seen: set[str] = await tx.seen(["m1"])
        del seen
    ids: list[str] = [record.id async for record in store.iter_customers()]
    await store.aclose()
    del ids


def typed_messages() -> None:
    brand = omnikit.Brand(name="Shop", snippets={"footer": "{{ brand.name }}"})
    message = omnikit.Message(
        subject="Order {{ order_id }}",
        body="Hi {{ first_name }}",
        call_to_action=omnikit.CallToAction(label="Track", url="https://shop.example/o"),
        overrides={"sms": omnikit.ChannelOverride(body="Order {{ order_id }}")},
        templates={"whatsapp": omnikit.connectors.TemplateRef(name="order_shipped")},
    )
    rendition: omnikit.connectors.Rendition = omnikit.render(
        message,
        "sms",
        to="+351912345678",
        variables={"first_name": "Ana", "order_id": "A-1"},
        customer_context={"traits": {"tier": "gold"}},
        brand=brand,
        now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        last_inbound_at=None,
    )
    info: omnikit.SmsInfo = omnikit.sms_segments(rendition.text)
    segments: int = info.segments
    del segments
