"""`AsyncHub`: the hub's verbs awaited, on every store, from concurrent tasks."""

from __future__ import annotations

import asyncio
import contextvars
import datetime as dt
import inspect
import threading
from pathlib import Path
from typing import Any

import pytest

import omnikit
from omnikit.errors import StoreUnavailableError, ValidationError
from omnikit.rules import Action, Cap, Rule, RuleSet, Segment, customer, event
from omnikit.testing import FrozenClock

pytestmark = pytest.mark.anyio

T0 = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)


@pytest.fixture(name="anyio_backend")
def _anyio_backend() -> str:
    return "asyncio"  # AsyncHub is for asyncio services


def _viewed(n: int, anonymous_id: str) -> dict[str, object]:
    return {
        "type": "track",
        "event": "Product Viewed",
        "messageId": f"m-{anonymous_id}-{n}",
        "anonymousId": anonymous_id,
        "timestamp": f"2026-10-2{1 + n % 9}T10:00:00Z",  # the days before T0
        "properties": {"product_id": f"p{n}"},
    }


async def test_the_verbs_are_the_hubs_awaited(store_url: str) -> None:
    """Ingest, look up, read, decide and forget through the async hub, as through `Hub`."""
    rules = RuleSet([Rule(id="browser", condition=event.name == "Product Viewed")])
    async with omnikit.AsyncHub.open(
        store_url, clock=FrozenClock(T0), default_region="PT", ruleset=rules
    ) as hub:
        result = await hub.ingest({"batch": [_viewed(n, "a1") for n in range(3)]})
        await hub.identify(anonymous_id="a1", traits={"email": "Ana@Example.com"})
        customer = await hub.customer(email="ana@example.com")

        assert 3 == len(result.accepted)
        assert customer is not None
        assert customer == await hub.customer(anonymous_id="a1")
        assert 4 == len(await hub.touchpoints(customer))
        assert ("browser",) == (await hub.decide(customer, "Product Viewed")).rule_ids
        assert customer.id == (await hub.export(customer))["customer"]["id"]
        assert [customer.id] == [c.id async for c in hub.customers()]

        report = await hub.forget(customer)

        assert 4 == report.touchpoints
        assert await hub.customer(anonymous_id="a1") is None


@pytest.mark.stores("sqlite", "postgres")
async def test_concurrent_tasks_lose_no_update(store_url: str) -> None:
    """Tasks ingesting at once for one customer, in the hub's threads: every event counts."""
    tasks, per_task = 8, 10
    async with omnikit.AsyncHub.open(store_url, max_concurrency=4) as hub:

        async def send(task: int) -> None:
            for n in range(per_task):
                await hub.ingest(_viewed(task * per_task + n, "shared"))

        await asyncio.gather(*(send(task) for task in range(tasks)))
        customer = await hub.customer(anonymous_id="shared")

        assert customer is not None
        assert tasks * per_task == customer.stats.touchpoints
        assert tasks * per_task == len(await hub.touchpoints(customer))


async def test_the_event_loop_is_not_the_thread_that_works() -> None:
    """Calls run in the hub's own threads, so the loop stays free while the store works."""
    loop_thread = threading.get_ident()
    workers: set[int] = set()

    def clock() -> object:
        workers.add(threading.get_ident())
        return T0

    async with omnikit.AsyncHub(clock=clock) as hub:  # type: ignore[arg-type]
        await hub.ingest(_viewed(1, "a1"))

    assert workers
    assert loop_thread not in workers


async def test_errors_are_the_hubs() -> None:
    """A bad message raises the `ValidationError` `Hub.ingest` raises, naming the field."""
    async with omnikit.AsyncHub() as hub:
        with pytest.raises(ValidationError, match="type: required field is missing"):
            await hub.ingest({"event": "Product Viewed", "anonymousId": "a1"})


async def test_a_closed_hub_says_so_and_closes_its_store(tmp_path: Path) -> None:
    """After `aclose()`, calls raise `StoreUnavailableError`; the data is there on reopening."""
    url = f"sqlite:///{tmp_path}/shop.db"
    hub = omnikit.AsyncHub.open(url)
    await hub.ingest(_viewed(1, "a1"))
    await hub.aclose()
    await hub.aclose()  # twice is harmless

    with pytest.raises(StoreUnavailableError, match="closed"):
        await hub.customer(anonymous_id="a1")
    with pytest.raises(StoreUnavailableError, match="closed"):
        hub.sync.customer(anonymous_id="a1")  # the store itself is closed
    with pytest.raises(StoreUnavailableError, match="closed"):
        async with hub:
            pass
    async with omnikit.AsyncHub.open(url) as again:
        assert await again.customer(anonymous_id="a1") is not None


async def test_a_cancelled_close_still_closes(tmp_path: Path) -> None:
    """Cancelling `aclose()` does not stop the closing; awaiting it again waits for it."""
    hub = omnikit.AsyncHub.open(f"sqlite:///{tmp_path}/shop.db")
    await hub.ingest(_viewed(1, "a1"))
    closing = asyncio.create_task(hub.aclose())
    await asyncio.sleep(0)
    closing.cancel()
    await hub.aclose()

    with pytest.raises(StoreUnavailableError, match="closed"):
        hub.sync.customer(anonymous_id="a1")


async def test_a_cancelled_call_under_way_still_completes_whole() -> None:
    """Cancelling the awaiting task drops the result, not the work: the batch is stored."""
    started, release = threading.Event(), threading.Event()

    def clock() -> object:
        started.set()
        release.wait(5)
        return T0

    # One thread: the look-up below waits for the ingestion under way.
    async with omnikit.AsyncHub(clock=clock, max_concurrency=1) as hub:  # type: ignore[arg-type]
        task = asyncio.create_task(hub.ingest({"batch": [_viewed(n, "a1") for n in range(5)]}))
        await asyncio.to_thread(started.wait, 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        release.set()
        customer = await hub.customer(anonymous_id="a1")

        assert customer is not None
        assert 5 == customer.stats.touchpoints


async def test_a_cancelled_call_not_started_never_runs() -> None:
    """A call still waiting for a thread when its task is cancelled is not made at all."""
    started, release = threading.Event(), threading.Event()

    def clock() -> object:
        if not started.is_set():
            started.set()
            release.wait(5)
        return T0

    async with omnikit.AsyncHub(clock=clock, max_concurrency=1) as hub:  # type: ignore[arg-type]
        first = asyncio.create_task(hub.ingest(_viewed(1, "first")))
        await asyncio.to_thread(started.wait, 5)
        queued = asyncio.create_task(hub.ingest(_viewed(2, "queued")))
        await asyncio.sleep(0.05)
        queued.cancel()
        with pytest.raises(asyncio.CancelledError):
            await queued
        release.set()
        await first

        assert await hub.customer(anonymous_id="first") is not None
        assert await hub.customer(anonymous_id="queued") is None


@pytest.mark.parametrize("bad", [0, -1, True, "4"])
def test_max_threads_must_be_a_positive_integer(bad: object) -> None:
    """A thread count that is not a positive integer is a `ValidationError` naming it."""
    with pytest.raises(ValidationError, match="max_threads: expected a positive integer"):
        omnikit.AsyncHub(max_threads=bad)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="max_threads: expected a positive integer"):
        omnikit.AsyncHub.open("memory://", max_threads=bad)  # type: ignore[arg-type]


async def test_actions_and_sync_hub_are_shared() -> None:
    """`AsyncHub.sync` is the hub underneath: what one writes, the other reads."""
    rules = RuleSet(
        [Rule(id="tip", condition=event.name == "Order Completed", actions=(Action.tag("buyer"),))]
    )
    async with omnikit.AsyncHub(ruleset=rules, clock=FrozenClock(T0)) as hub:
        hub.sync.track("Order Completed", user_id="u1", properties={"order_id": "o1"})
        customer = await hub.customer(user_id="u1")
        assert customer is not None
        decision = await hub.decide(customer, "Order Completed")

    assert ["buyer"] == [a.id for a in decision.actions]


async def test_a_hub_given_stays_open(tmp_path: Path) -> None:
    """An async hub serving a `Hub` it was given leaves it, and its store, open."""
    with omnikit.Hub.open(f"sqlite:///{tmp_path}/shop.db", clock=FrozenClock(T0)) as hub:
        async with omnikit.AsyncHub(hub) as served:
            await served.ingest(_viewed(1, "a1"))

        assert hub.customer(anonymous_id="a1") is not None


def test_a_hub_given_brings_its_own_options() -> None:
    """Options beside a `Hub` would be ignored: they are a `ValidationError` instead."""
    with (
        omnikit.Hub() as hub,
        pytest.raises(ValidationError, match="default_region: the Hub given has its options"),
    ):
        omnikit.AsyncHub(hub, default_region="PT")


def test_every_hub_verb_has_its_async_twin() -> None:
    """A verb added to `Hub` is not forgotten on `AsyncHub`."""
    verbs = {
        name
        for name in dir(omnikit.Hub)
        if not name.startswith("_") and callable(getattr(omnikit.Hub, name))
    } - {"open", "close"}

    assert verbs - set(dir(omnikit.AsyncHub)) == set()


def test_each_verb_awaits_the_hub_verb_of_its_name() -> None:
    """`AsyncHub.<verb>` wraps `Hub.<verb>`, not another one."""
    for name, attribute in vars(omnikit.AsyncHub).items():
        wrapped = getattr(attribute, "__wrapped__", None)
        if inspect.iscoroutinefunction(attribute) and wrapped is not None:
            assert wrapped is getattr(omnikit.Hub, name), name


async def test_a_subclass_verb_is_the_one_awaited() -> None:
    """Serving a `Hub` subclass, the async hub calls the subclass's verbs."""

    class Counting(omnikit.Hub):
        looked_up = 0

        def customer(self, *args: Any, **kwargs: Any) -> omnikit.Customer | None:
            type(self).looked_up += 1
            return super().customer(*args, **kwargs)

    async with omnikit.AsyncHub(Counting()) as hub:
        await hub.customer(anonymous_id="a1")

    assert 1 == Counting.looked_up


async def test_context_variables_hold_in_the_hubs_threads() -> None:
    """A context variable set by the caller (a request id) is what the hub's thread reads."""
    request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("rid", default=None)
    seen: list[str | None] = []

    def clock() -> object:
        seen.append(request_id.get())
        return T0

    async with omnikit.AsyncHub(clock=clock) as hub:  # type: ignore[arg-type]
        request_id.set("req-7")
        await hub.ingest(_viewed(1, "a1"))

    assert seen
    assert {"req-7"} == set(seen)


async def test_customers_streams_every_page(store_url: str) -> None:
    """`customers()` reads page after page, from the hub's threads, until the last."""
    async with omnikit.AsyncHub.open(store_url) as hub:
        await hub.ingest({"batch": [_viewed(1, f"a{n}") for n in range(5)]})
        ids = [c.id async for c in hub.customers(batch_size=2)]

        assert 5 == len(ids)
        assert sorted(ids) == ids
        with pytest.raises(ValidationError, match="batch_size: expected a positive integer"):
            hub.customers(batch_size=0)


@pytest.mark.stores("memory", "sqlite")
async def test_concurrent_ingests_enter_a_segment_once(store_url: str) -> None:
    """Threads ingesting one customer's events at once record one `Segment Entered`."""
    segments = [Segment(id="viewers", condition=customer.stats.touchpoints >= 1)]
    async with omnikit.AsyncHub.open(store_url, max_concurrency=8, segments=segments) as hub:
        await asyncio.gather(
            *(hub.ingest(_viewed(n, f"c{i}")) for i in range(40) for n in range(3))
        )
        for i in range(40):
            found = await hub.customer(anonymous_id=f"c{i}")
            assert found is not None
            names = [tp.name for tp in await hub.touchpoints(found)]

            assert 1 == names.count("Segment Entered"), f"c{i}"


async def test_concurrent_decisions_keep_to_the_cap(store_url: str) -> None:
    """Threads deciding for one customer at once choose a capped rule only as often as allowed."""
    rules = RuleSet(
        [
            Rule(
                id="promo",
                condition=event.name == "Product Viewed",
                actions=(Action.offer("x"),),
                cap=Cap(times=2, days=1),
            )
        ]
    )
    async with omnikit.AsyncHub.open(store_url, max_concurrency=8, ruleset=rules) as hub:
        await hub.ingest(_viewed(1, "a1"))
        found = await hub.customer(anonymous_id="a1")
        assert found is not None
        decisions = await asyncio.gather(
            *(hub.decide(found, "Product Viewed", record=True) for _ in range(16))
        )

    assert 2 == sum(bool(d.rule_ids) for d in decisions)
