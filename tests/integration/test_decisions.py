"""Recorded decisions: what they store, caps across hubs and processes, stable experiments."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import multiprocessing
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

import omnikit
from omnikit.rules import Action, Cap, Experiment, Rule, RuleSet, Variant, event
from omnikit.stores import Store, open_store
from omnikit.stores.memory import MemoryStore
from omnikit.testing import FrozenClock

T0 = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)


def capped() -> RuleSet:
    return RuleSet(
        [
            Rule(
                id="once",
                condition=event.name == "Product Viewed",
                actions=(Action.offer("welcome", code="HELLO"),),
                cap=Cap(times=1, days=30),
            )
        ]
    )


def decisions_of(hub: omnikit.Hub, who: omnikit.Customer) -> list[omnikit.Touchpoint]:
    return [tp for tp in hub.touchpoints(who) if tp.name == "Decision Made"]


def test_a_recorded_decision_stores_what_it_chose(hub: omnikit.Hub) -> None:
    """
    The stored `Decision Made` holds each chosen rule with its actions and variant; a decision
    that chose nothing (here: capped) stores nothing.
    """
    rules = RuleSet(
        [
            *capped().rules,
            Rule(
                id="hero",
                actions=(Action.content("a"),),
                experiment=Experiment(id="hero", variants=(Variant(id="a"),)),
            ),
        ]
    )
    found = hub.identify(user_id="u1", timestamp=T0)

    first = hub.decide(found, "Product Viewed", ruleset=rules, record=True, now=T0)
    second = hub.decide(found, "Product Viewed", ruleset=capped(), record=True, now=T0)
    [stored] = decisions_of(hub, found)

    assert ("hero", "once") == tuple(sorted(first.rule_ids))
    assert () == second.rule_ids
    assert sorted(first.rule_ids) == sorted(stored.properties["rules"])
    chosen = {c["rule_id"]: c for c in stored.properties["chosen"]}
    assert [{"type": "offer", "id": "welcome", "params": {"code": "HELLO"}}] == chosen["once"][
        "actions"
    ]
    assert [{"type": "content", "id": "a", "params": {}}] == chosen["hero"]["actions"]
    assert "a" == chosen["hero"]["variant"]
    assert len(first.actions) == len(stored.properties["actions"])


def _decide_many(hub: omnikit.Hub, who: str, times: int, start: threading.Barrier) -> list[bool]:
    found = hub.customer(anonymous_id=who)
    assert found is not None
    start.wait(timeout=30)
    return [bool(hub.decide(found, "Product Viewed", record=True).rule_ids) for _ in range(times)]


def _view(hub: omnikit.Hub) -> None:
    hub.ingest(
        {
            "type": "track",
            "event": "Product Viewed",
            "messageId": "m1",
            "anonymousId": "a1",
            "timestamp": "2026-11-01T10:00:00Z",
        }
    )


@pytest.mark.parametrize("kind", ["memory", "sqlite", "postgres"])
def test_a_cap_holds_across_hubs_in_threads(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Four hubs on one store, deciding for one customer at once, choose a once-only offer once."""
    if kind == "memory":
        stores: list[Store] = [MemoryStore()] * 4
    else:
        url = (
            f"sqlite:///{tmp_path / 'caps.db'}"
            if kind == "sqlite"
            else f"{request.getfixturevalue('postgres_url')}?schema=t_{uuid.uuid4().hex[:12]}"
        )
        stores = [open_store(url) for _ in range(4)]
    hubs = [omnikit.Hub(store, ruleset=capped()) for store in stores]
    _view(hubs[0])
    start = threading.Barrier(4)
    try:
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            runs = [pool.submit(_decide_many, hub, "a1", 5, start) for hub in hubs]
            chosen = sum(sum(run.result(timeout=120)) for run in runs)
        recorded = decisions_of(hubs[0], hubs[0].customer(anonymous_id="a1"))  # type: ignore[arg-type]
    finally:
        for store in set(stores):
            store.close()

    assert 1 == chosen
    assert 1 == len(recorded)


def _process(url: str, start: Any, out: Any) -> None:
    with omnikit.Hub.open(url, ruleset=capped()) as hub:
        found = hub.customer(anonymous_id="a1")
        assert found is not None
        start.wait(timeout=60)
        chosen = sum(
            bool(hub.decide(found, "Product Viewed", record=True).rule_ids) for _ in range(5)
        )
        out.put(chosen)


@pytest.mark.stores("sqlite", "postgres")
def test_a_cap_holds_across_processes(store_url: str) -> None:
    """Four processes deciding for one customer at once choose a once-only offer once."""
    with omnikit.Hub.open(store_url) as hub:
        _view(hub)
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Barrier(4), ctx.Queue()
    workers = [ctx.Process(target=_process, args=(store_url, start, out)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)

    assert [0, 0, 0, 0] == [w.exitcode for w in workers]
    assert 1 == sum(out.get(timeout=5) for _ in workers)


def _ab() -> RuleSet:
    return RuleSet(
        [
            Rule(
                id="hero",
                actions=(Action.content("a"),),
                experiment=Experiment(
                    id="hero", variants=(Variant(id="a"), Variant(id="b")), holdout=0.2
                ),
            ),
            Rule(id="banner-x", group="banner", actions=(Action.content("x"),)),
            Rule(id="banner-y", group="banner", actions=(Action.content("y"),)),
        ],
        experiments={
            "banner": Experiment(
                id="banner", variants=(Variant(id="banner-x"), Variant(id="banner-y"))
            )
        },
    )


def _arms(decision: Any) -> tuple[Any, ...]:
    """The arms a decision put the customer in: the hero's variant (or holdout), the banner."""
    hero = next(o for o in decision.outcomes if o.rule_id == "hero")
    return (hero.variant or hero.outcome.value, tuple(sorted(decision.rule_ids)))


def _at(minutes: int) -> str:
    return (T0 + dt.timedelta(minutes=minutes)).isoformat()


@pytest.mark.stores("memory", "sqlite")
def test_experiment_arms_survive_merges_and_unmerges(hub: omnikit.Hub) -> None:
    """
    Visitors assigned to arms keep them when each joins a known customer and another visitor
    (assigned later), and after each unmerge; the other visitor gets its own arm back.
    """
    rules = _ab()
    visitors = 200 if isinstance(hub.store, MemoryStore) else 30  # the fold, stored as JSON
    clock = FrozenClock(T0 + dt.timedelta(hours=1))
    hub.clock = clock
    before: dict[str, tuple[Any, ...]] = {}
    for i in range(visitors):
        hub.identify(user_id=f"k{i}", timestamp=_at(0), message_id=f"k{i}")
        for name, minute in ((f"v{i}", 1), (f"w{i}", 2)):
            hub.track("Product Viewed", anonymous_id=name, timestamp=_at(minute), message_id=name)
    for name in [f"{p}{i}" for p in "vw" for i in range(visitors)]:  # every v before any w
        clock.advance(seconds=1)
        before[name] = _arms(hub.decide(hub.customer(anonymous_id=name), ruleset=rules))  # type: ignore[arg-type]
    for i in range(visitors):
        for name, minute in ((f"v{i}", 3), (f"w{i}", 4)):
            hub.identify(user_id=f"k{i}", anonymous_id=name, timestamp=_at(minute))

    def arm(name: str) -> tuple[Any, ...]:
        return _arms(hub.decide(hub.customer(anonymous_id=name), ruleset=rules))  # type: ignore[arg-type]

    merged = {f"v{i}": arm(f"v{i}") for i in range(visitors)}
    assert all(
        hub.customer(anonymous_id=f"v{i}") == hub.customer(user_id=f"k{i}") for i in range(visitors)
    )
    for i in range(visitors):
        hub.unmerge(hub.customer(user_id=f"k{i}"))  # type: ignore[arg-type]
    apart_w = {f"w{i}": arm(f"w{i}") for i in range(visitors)}
    for i in range(visitors):
        hub.unmerge(hub.customer(user_id=f"k{i}"))  # type: ignore[arg-type]
    apart_v = {f"v{i}": arm(f"v{i}") for i in range(visitors)}

    assert {k: v for k, v in before.items() if k[0] == "v"} == merged
    assert {k: v for k, v in before.items() if k[0] == "w"} == apart_w
    assert merged == apart_v
    assert len({a for a, _ in before.values()}) == 3  # a, b and the holdout all occur
