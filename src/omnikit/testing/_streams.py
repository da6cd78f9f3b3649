"""
What the store contract plays and compares: a small shop's events, and everything a store holds.

`shop_steps(seed)` makes a realistic history (people on several devices, signing in, opening
emails, buying at the till, calling the call centre, a shared tablet), shuffled so that many
events arrive late, some twice, in batches, with an unmerge and an erasure in the middle.
`play()` runs it on a hub, `aplay()` on an async hub; `memory_holdings()` is what the memory
store holds after it, and `holdings()` reads back everything the store holds, in a form two
stores can be compared by; `Watch` sees a store through, keeping what crosses `apply`.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import attrs

from omnikit import AsyncHub, Customer, Hub
from omnikit.stores import IngestTransaction, Store
from omnikit.stores.memory import MemoryStore
from omnikit.stores.records import Changes, IdKey, ProfileState, customer_id_for
from omnikit.testing._clock import FrozenClock

__all__ = [
    "T0",
    "BoomError",
    "Step",
    "Watch",
    "aplay",
    "freeze",
    "holdings",
    "memory_holdings",
    "play",
    "shop_steps",
]

T0 = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)

Step = tuple[str, Any]
"""`("ingest", payload)`, `("unmerge", None)` (the customer with most merges) or
`("forget", email)`."""

_DAY = 24 * 60


class BoomError(Exception):
    """Raised inside a transaction to check that it rolls back."""


def _at(minutes: int) -> str:
    """A time *minutes* into the fortnight before `T0` (the hub's clock)."""
    return (T0 - dt.timedelta(days=14) + dt.timedelta(minutes=minutes)).isoformat()


class _Shop:
    """Makes the events of one shop's customers, and the identifiers they carry."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.count = 0
        self.keys: set[IdKey] = set()

    def _event(self, kind: str, minutes: int, **fields: Any) -> dict[str, Any]:
        self.count += 1
        mid = f"s{self.seed}-m{self.count:03d}"
        return {"type": kind, "messageId": mid, "timestamp": _at(minutes), **fields}

    def person(self, p: int, events: int, tablet: str) -> list[dict[str, Any]]:
        """The events of shopper *p*: *events* of them, on the web, the app and *tablet*."""
        rng = self.rng
        devices = [f"s{self.seed}-p{p}-web", f"s{self.seed}-p{p}-app", tablet]
        shopper = _Shopper(
            number=p,
            email=f"shopper{p}@example.com",
            user=f"u{p}",
            card=f"L-{p}",
            phone=f"+35191234{p:04d}",
        )
        self.keys.update(
            [
                ("email", shopper.email),
                ("user_id", shopper.user),
                ("loyalty_id", shopper.card),
                ("phone", shopper.phone),
            ]
        )
        self.keys.update(("anonymous_id", d) for d in devices)
        made = []
        for _ in range(events):
            minutes = rng.randrange(14 * _DAY)
            device = rng.choice(devices)
            made.append(self._shopper_event(shopper, minutes, device, rng.random()))
        return made

    def _shopper_event(
        self, shopper: _Shopper, minutes: int, device: str, roll: float
    ) -> dict[str, Any]:
        """One event of *shopper*, on *device* or elsewhere, of a kind that *roll* draws."""
        rng = self.rng
        web = {"channel": "web" if device.endswith("web") else "app"}
        if roll < 0.4:
            return self._event(
                "track",
                minutes,
                event="Product Viewed",
                anonymousId=device,
                properties={"sku": f"SKU-{rng.randrange(20)}"},
                context=web,
            )
        if roll < 0.55:
            traits = {"email": shopper.email, "name": f"Shopper {shopper.number}"}
            return self._event(
                "identify",
                minutes,
                anonymousId=device,
                userId=shopper.user,
                traits=traits,
                context=web,
            )
        if roll < 0.65:
            return self._event(
                "track",
                minutes,
                event="Email Opened",
                context={"channel": "email", "traits": {"email": shopper.email}},
            )
        if roll < 0.8:
            order = {
                "order_id": f"o-{self.count}",
                "total": rng.randrange(5, 200),
                "currency": "EUR",
            }
            ids = [{"id": shopper.card, "type": "loyalty_id"}]
            return self._event(
                "track",
                minutes,
                event="Order Completed",
                properties=order,
                context={"channel": "store", "externalIds": ids},
            )
        if roll < 0.9:
            return self._event(
                "track",
                minutes,
                event="Cart Viewed",
                userId=shopper.user,
                anonymousId=device,
                context=web,
            )
        call = {"phone": shopper.phone, "email": shopper.email}
        return self._event(
            "track",
            minutes,
            event="Call Answered",
            context={"channel": "phone", "traits": call},
        )


@attrs.frozen(kw_only=True)
class _Shopper:
    """One shopper of the shop, by number, and the identifiers they use."""

    number: int
    email: str
    user: str
    card: str
    phone: str


def shop_steps(seed: int, *, people: int = 6, events: int = 16) -> tuple[list[Step], set[IdKey]]:
    """
    A shuffled history of *people* shoppers, and every identity key it carries.

    Half-way, the customer with most merges is unmerged; three quarters in, shopper 2 is
    erased (their later events then make a new customer).
    """
    shop = _Shop(seed)
    tablet = f"s{seed}-family-tablet"  # shoppers 0 and 1 share it
    stream: list[dict[str, Any]] = []
    for p in range(people):
        stream.extend(shop.person(p, events, tablet if p < 2 else f"s{seed}-p{p}-tablet"))
    shop.rng.shuffle(stream)
    stream.extend(shop.rng.sample(stream, len(stream) // 20))  # sent twice, later
    steps: list[Step] = []
    at = 0
    while at < len(stream):
        size = shop.rng.choice((1, 1, 2, 3, 6))
        batch = stream[at : at + size]
        steps.append(("ingest", batch[0] if size == 1 else {"batch": batch}))
        at += size
    half, late = len(steps) // 2, 3 * len(steps) // 4
    steps[late:late] = [("forget", "shopper2@example.com")]
    steps[half:half] = [("unmerge", None)]
    return steps, shop.keys


def play(hub: Hub, steps: list[Step]) -> None:
    """Run *steps* on *hub*."""
    for kind, arg in steps:
        if kind == "ingest":
            hub.ingest(arg)
        elif kind == "unmerge":
            merged = _most_merged((c, len(hub.merges(c))) for c in hub.customers())
            if merged is not None:
                hub.unmerge(merged)
        else:
            customer = hub.customer(email=arg)
            if customer is not None:
                hub.forget(customer)


async def aplay(hub: AsyncHub, steps: list[Step]) -> None:
    """Run *steps* on the async *hub*, as `play` runs them on a `Hub`."""
    for kind, arg in steps:
        if kind == "ingest":
            await hub.ingest(arg)
        elif kind == "unmerge":
            merged = _most_merged([(c, len(await hub.merges(c))) async for c in hub.customers()])
            if merged is not None:
                await hub.unmerge(merged)
        else:
            customer = await hub.customer(email=arg)
            if customer is not None:
                await hub.forget(customer)


def _most_merged(counted: Iterable[tuple[Customer, int]]) -> Customer | None:
    """The customer with most merges (of those, the greatest id); `None` if none has any."""
    best = max(counted, key=lambda pair: (pair[1], pair[0].id), default=None)
    return best[0] if best is not None and best[1] else None


def memory_holdings(steps: list[Step], keys: Collection[IdKey]) -> dict[str, Any]:
    """What the memory store holds after *steps* (see `holdings`), played by a `Hub`."""
    with Hub(MemoryStore(), clock=FrozenClock(T0)) as reference:
        play(reference, steps)
        return holdings(reference, keys, message_ids(steps))


def holdings(hub: Hub, keys: Collection[IdKey], message_ids: Collection[str]) -> dict[str, Any]:
    """
    Everything *hub*'s store holds about *keys* and the customers of *message_ids*.

    Customers (public and stored), each one's touchpoints, merges and links, identity rows,
    clusters, splits, old ids and counts: equal for two stores given the same history.
    """
    store = hub.store
    customers = {c.id: c for c in hub.customers()}
    records = {r.id: freeze(r) for r in store.iter_customers()}
    with store.transaction() as tx:
        rows = tx.identities(keys)
        clusters = {row.cluster for row in rows.values()}
        clusters.update(r.cluster for r in store.iter_customers() if r.cluster is not None)
        ids = {customer_id_for(m) for m in message_ids} | set(customers)
        held = {
            "identities": {k: freeze(row) for k, row in rows.items()},
            "clusters": {c: freeze(row) for c, row in tx.clusters(clusters).items()},
            "cluster members": {c: sorted(tx.cluster_identities(c)) for c in clusters},
            "splits": sorted(freeze(tx.splits(keys))),
            "aliases": tx.aliases(ids),
            "seen": tx.seen(message_ids),
            "suppression kinds": tx.suppression_kinds(),
        }
    return {
        "customers": customers,
        "records": records,
        "touchpoints": {cid: hub.touchpoints(cid) for cid in customers},
        "merges": {cid: hub.merges(cid) for cid in customers},
        "links": {cid: hub.links(cid) for cid in customers},
        "counts": store.touchpoint_counts(),
        **held,
    }


def message_ids(steps: list[Step]) -> set[str]:
    """The message ids *steps* ingest."""
    found: set[str] = set()
    for kind, arg in steps:
        if kind == "ingest":
            found.update(e["messageId"] for e in arg.get("batch", [arg]))
    return found


def freeze(value: Any) -> Any:
    """
    *value* as nested tuples of plain values: equal exactly when the two values hold the same.

    Sets are sorted, rows and profiles spelled out field by field; a list and a tuple of the
    same items freeze alike (a store may give back either).
    """
    if isinstance(value, ProfileState):
        return ("ProfileState", freeze(value.to_json()))
    if attrs.has(type(value)):
        fields = attrs.fields(type(value))
        return (type(value).__name__, *((f.name, freeze(getattr(value, f.name))) for f in fields))
    if isinstance(value, dict):
        return ("dict", *sorted(((freeze(k), freeze(v)) for k, v in value.items()), key=repr))
    if isinstance(value, set | frozenset):
        return ("set", *sorted((freeze(v) for v in value), key=repr))
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    return value


class Watch:
    """
    A store seen through: keeps each change set given to `apply` with how it looked then.

    With `fail` set, each `apply` runs, then raises `BoomError`: the transaction fails with
    the hub's own writes made in it.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.given: list[tuple[Changes, Any]] = []
        self.fail = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    @contextmanager
    def transaction(self) -> Iterator[IngestTransaction]:
        """The store's transaction, with `apply` watched."""
        with self.store.transaction() as tx:
            yield _WatchedTransaction(tx, self)


class _WatchedTransaction:
    def __init__(self, tx: IngestTransaction, watch: Watch) -> None:
        self._tx = tx
        self._watch = watch

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tx, name)

    def apply(self, changes: Changes) -> None:
        self._watch.given.append((changes, freeze(changes)))
        self._tx.apply(changes)
        if self._watch.fail:
            raise BoomError
