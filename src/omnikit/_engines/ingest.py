"""
Ingestion as a flow: the identity engine's reads and writes, in order, without I/O.

An engine flow (`EngineFlow`) is a generator. It yields a request (`Seen`, `Identities`,
`Apply`, ...), one for each call of the store's `IngestTransaction` it needs, and is sent the
answer; what it returns is the operation's result. A driver runs it inside a transaction: `Hub` over a store's sync
transaction, an async driver awaiting an async one. The logic is written once here, and no
driver knows in which order the engine reads what.

```python
flow = ingest(chunk, config)
answer = None
while True:
    try:
        request = flow.send(answer)
    except StopIteration as stop:
        result, touched = stop.value
        break
    answer = ...  # the transaction's answer to *request*
```

Requests are per chunk, never per message: a chunk of a thousand messages costs about ten.
"""

from __future__ import annotations

from collections.abc import Collection, Generator, Sequence
from typing import Any, ClassVar, TypeVar

import attrs

from omnikit._engines.erasure import NO_KEY, identity_digest, key_check, message_digest
from omnikit._engines.identity import IdentityRules, Resolver, linkable, replay_region
from omnikit._engines.profile import to_us
from omnikit._engines.records import (
    Changes,
    ClusterRow,
    CustomerRecord,
    EventKey,
    IdentityRow,
    IdKey,
    SplitRow,
)
from omnikit._models.results import IngestResult
from omnikit._models.touchpoints import Touchpoint
from omnikit.errors import NotFoundError, ValidationError

__all__ = [
    "Aliases",
    "Apply",
    "ClusterCustomers",
    "ClusterIdentities",
    "Clusters",
    "CustomerTouchpoints",
    "Customers",
    "EngineFlow",
    "Identities",
    "IngestConfig",
    "Merges",
    "PortCall",
    "Request",
    "Seen",
    "Splits",
    "Suppressed",
    "SuppressionKinds",
    "checked_key",
    "current_record",
    "event_key",
    "ingest",
    "replay",
    "resolve",
]

_T = TypeVar("_T")

CACHE_LIMIT = 1 << 17
"""The most identifiers whose blocked state `IngestConfig.blocked` remembers."""


def event_key(tp: Touchpoint) -> EventKey:
    """A touchpoint's place in time: event time, then message id."""
    return (to_us(tp.occurred_at), tp.message_id)


# -- requests: one per `IngestTransaction` method, answered with what it returns ---------------


class PortCall:
    """
    A request answered by one method of a port, named by *method*, with the request's fields.

    `ask(port)` calls it: a driver answers any such request the same way, awaiting the answer
    when the port is an async one, and knows no request by name.
    """

    __slots__ = ()

    method: ClassVar[str]

    def ask(self, port: Any) -> Any:
        """Call *port*'s method for this request with its fields, in order; return the answer."""
        return getattr(port, self.method)(*attrs.astuple(self, recurse=False))  # type: ignore[arg-type]


@attrs.frozen
class Seen(PortCall):
    """Which of *message_ids* are stored: a `set[str]`."""

    method: ClassVar[str] = "seen"

    message_ids: Collection[str]


@attrs.frozen
class Aliases(PortCall):
    """The old ids that lead to the customers *targets*, each with its target: a `dict[str, str]`."""

    method: ClassVar[str] = "aliases"

    targets: Collection[str]


@attrs.frozen
class Merges(PortCall):
    """The merges and links that built the customer *customer_id*, oldest first: a `list[MergeRow]`."""

    method: ClassVar[str] = "merges"

    customer_id: str


@attrs.frozen
class SuppressionKinds(PortCall):
    """The kinds of suppression the store holds: a `set[str]`."""

    method: ClassVar[str] = "suppression_kinds"


@attrs.frozen
class Suppressed(PortCall):
    """Which of *digests* are under suppression: a `set[str]`."""

    method: ClassVar[str] = "suppressed"

    digests: Collection[str]


@attrs.frozen
class Identities(PortCall):
    """The stored rows of *keys*: a `dict[IdKey, IdentityRow]`."""

    method: ClassVar[str] = "identities"

    keys: Collection[IdKey]


@attrs.frozen
class Customers(PortCall):
    """The stored customers with those *ids*: a `dict[str, CustomerRecord]`."""

    method: ClassVar[str] = "customers"

    ids: Collection[str]


@attrs.frozen
class Clusters(PortCall):
    """The stored clusters with those *ids*: a `dict[str, ClusterRow]`."""

    method: ClassVar[str] = "clusters"

    ids: Collection[str]


@attrs.frozen
class Splits(PortCall):
    """Every split naming one of *keys*: a `list[SplitRow]`."""

    method: ClassVar[str] = "splits"

    keys: Collection[IdKey]


@attrs.frozen
class ClusterCustomers(PortCall):
    """Every customer in *cluster*: a `dict[str, CustomerRecord]`."""

    method: ClassVar[str] = "cluster_customers"

    cluster: str


@attrs.frozen
class ClusterIdentities(PortCall):
    """Every identity in *cluster*: a `list[IdKey]`."""

    method: ClassVar[str] = "cluster_identities"

    cluster: str


@attrs.frozen
class CustomerTouchpoints(PortCall):
    """Every touchpoint of those customers: a `list[Touchpoint]`."""

    method: ClassVar[str] = "customer_touchpoints"

    ids: Collection[str]


@attrs.frozen
class Apply(PortCall):
    """Write *changes*; answered with `None`."""

    method: ClassVar[str] = "apply"

    changes: Changes


Request = (
    Seen
    | SuppressionKinds
    | Suppressed
    | Identities
    | Customers
    | Clusters
    | Splits
    | ClusterCustomers
    | ClusterIdentities
    | CustomerTouchpoints
    | Aliases
    | Merges
    | Apply
)
"""What a flow may ask of the store's transaction."""

EngineFlow = Generator[Request, Any, _T]
"""
An engine's flow: it yields requests of a store's transaction, is sent their answers, and
returns a `_T` (a verb's flow is a `omnikit._hub.flows.HubFlow`; a SQL store's query is
`omnikit.stores._drive.Statements`).
"""


@attrs.frozen
class IngestConfig:
    """
    What the flows need of the hub's configuration.

    Args:
        rules: How identities are stitched.
        currency: The currency of orders that name none.
        secret: The store's own key, which keys the hashes of erased message ids.
        suppression_key: The host's key for suppressed identifiers, if the hub has one.
        blocked: A cache of whether an identifier is blocked, kept between chunks (and
            cleared by whoever changes what it holds).
    """

    rules: IdentityRules
    currency: str
    secret: bytes
    suppression_key: bytes | None
    blocked: dict[IdKey, bool]


# -- the flows ---------------------------------------------------------------------------------


def ingest(
    chunk: list[Touchpoint], config: IngestConfig
) -> EngineFlow[tuple[IngestResult, set[str]]]:
    """
    Store *chunk* (in one transaction): what it did, and the ids of the customers that changed.

    A message id seen before, or twice in the chunk, is a duplicate; a message erased before,
    or naming a suppressed identifier, is suppressed and never stored.
    """
    fresh: dict[str, Touchpoint] = {}
    duplicates: list[str] = []
    for tp in chunk:
        if tp.message_id in fresh:
            duplicates.append(tp.message_id)
        else:
            fresh[tp.message_id] = tp
    seen: set[str] = yield Seen(list(fresh))
    new = [tp for mid, tp in fresh.items() if mid not in seen]
    dropped = (yield from suppressed(new, config)) if new else set()
    if dropped:  # never stored
        new = [tp for tp in new if tp.message_id not in dropped]
    touched = (yield from resolve(new, config)) if new else set()
    result = IngestResult(  # in arrival order
        accepted=tuple(mid for mid in fresh if mid not in seen and mid not in dropped),
        duplicates=tuple(duplicates) + tuple(mid for mid in fresh if mid in seen),
        suppressed=tuple(mid for mid in fresh if mid in dropped),
    )
    return result, touched


def suppressed(touchpoints: list[Touchpoint], config: IngestConfig) -> EngineFlow[set[str]]:
    """
    The message ids of *touchpoints* to drop: erased before, or naming a suppressed identifier.

    Costs one request and no hashing when the store suppresses nothing.

    Raises:
        ValidationError: If the store holds suppressed identifiers and *config* has no
            suppression key, or another than the one they were made with.
    """
    kinds: set[str] = yield SuppressionKinds()
    if not kinds:
        return set()
    named: dict[str, list[str]] = {}
    if "message" in kinds:
        for tp in touchpoints:
            named.setdefault(message_digest(config.secret, tp.message_id), []).append(tp.message_id)
    check = None
    if "identity" in kinds:
        key = config.suppression_key
        if key is None:
            raise ValidationError(
                "suppression_key: the store holds suppressed identifiers and this hub has "
                f"no key to recognise them; pass Hub(..., suppression_key=...), {NO_KEY}"
            )
        check = key_check(key)
        for tp in touchpoints:
            for named_key in _named(tp):
                named.setdefault(identity_digest(key, named_key), []).append(tp.message_id)
    if not named and check is None:  # nothing to ask
        return set()
    found: set[str] = yield Suppressed([*named, *([check] if check else [])])
    if check is not None and check not in found:
        raise ValidationError(
            "suppression_key: not the key this store's suppressions were made with; "
            "every hub on a store needs the same key"
        )
    return {mid for digest in found for mid in named.get(digest, ())}


def checked_key(config: IngestConfig) -> EngineFlow[None]:
    """
    Refuse a suppression key other than the one the store's suppressions were made with.

    The check `suppressed` makes for every chunk, for a verb that suppresses (or lifts a
    suppression) with the hub's key; *config* has a suppression key.

    Raises:
        ValidationError: If the store's suppressions were made with another key.
    """
    yield from suppressed([], config)


def _named(tp: Touchpoint) -> list[IdKey]:
    """
    The identities a touchpoint names, for suppression.

    An alias's `previousId` is read as an anonymous id, but it may be an earlier user id: it
    is checked as both, so that an alias cannot bring a suppressed account back.
    """
    keys = [(identity.kind, identity.value) for identity in tp.identities]
    previous = tp.properties.get("previous_id") if tp.name == "Alias" else None
    if isinstance(previous, str) and ("anonymous_id", previous) in keys:
        keys.append(("user_id", previous))
    return keys


def resolve(touchpoints: list[Touchpoint], config: IngestConfig) -> EngineFlow[set[str]]:
    """
    Resolve and store *touchpoints*, none stored before: the ids of the customers that changed.

    Sorts *touchpoints* in place, in event-time order. Late ones replay their cluster.
    """
    # Each event key is computed once: for the sort, then for the resolver.
    unordered = [event_key(tp) for tp in touchpoints]
    order = sorted(range(len(touchpoints)), key=unordered.__getitem__)
    touchpoints[:] = [touchpoints[i] for i in order]
    event_keys = [unordered[i] for i in order]
    rules, blocked = config.rules, config.blocked
    if len(blocked) > CACHE_LIMIT:  # one entry per identifier seen: keep it bounded
        blocked.clear()
    linkable_ids = [linkable(tp, rules, blocked) for tp in touchpoints]
    keys: set[IdKey] = set()
    for ids in linkable_ids:
        keys.update(ids)
    resolver = yield from _loaded(keys, config)
    for tp, key, ids in zip(touchpoints, event_keys, linkable_ids, strict=True):
        resolver.add(tp, key, ids)
    changes = resolver.changes()
    touched = set(changes.customers)
    yield Apply(changes)
    for region, late in sorted(resolver.late_by_region().items()):
        replayed = yield from replay(region, config, late)
        touched.update(replayed.customers)
    return touched


def _loaded(keys: set[IdKey], config: IngestConfig) -> EngineFlow[Resolver]:
    """A resolver over what the store holds of *keys*: their customers, clusters and splits."""
    found: dict[IdKey, IdentityRow] = yield Identities(keys)
    # As the resolver works on them: (owner, cluster) tuples. The rows themselves die here,
    # young, instead of living through the chunk.
    rows = {k: (row.owner, row.cluster) for k, row in found.items()}
    verified = {k for k, row in found.items() if row.verified}
    del found
    owners = {owner for owner, _ in rows.values() if owner is not None}
    customers: dict[str, CustomerRecord] = yield Customers(owners)
    cluster_ids = {cluster for _, cluster in rows.values()}
    cluster_ids.update(c.cluster for c in customers.values() if c.cluster is not None)
    clusters: dict[str, ClusterRow] = yield Clusters(cluster_ids)
    members = set(keys)
    for record in customers.values():
        members |= record.members
        verified |= record.verified  # stores of earlier versions kept it only here
    splits: list[SplitRow] = yield Splits(members)
    return Resolver(
        config.rules,
        rows=rows,
        customers=customers,
        clusters=clusters,
        splits=splits,
        currency=config.currency,
        detect_late=True,
        key_of=event_key,
        verified=verified,
    )


def replay(
    region: str, config: IngestConfig, new: Sequence[Touchpoint] = ()
) -> EngineFlow[Changes]:
    """
    Recompute the cluster *region* from its stored touchpoints and *new*, and store it.

    Returns the changes written.
    """
    old_customers: dict[str, CustomerRecord] = yield ClusterCustomers(region)
    stored: list[Touchpoint] = yield CustomerTouchpoints(list(old_customers))
    old_keys: list[IdKey] = yield ClusterIdentities(region)
    rows: dict[IdKey, IdentityRow] = yield Identities(old_keys)
    verified = [k for k, row in rows.items() if row.verified]
    splits: list[SplitRow] = yield Splits(old_keys)
    changes = replay_region(
        config.rules,
        cluster=region,
        touchpoints=[*stored, *new],
        old_customers=old_customers,
        old_owners={tp.message_id: tp.customer_id or "" for tp in stored},
        old_keys=old_keys,
        splits=splits,
        currency=config.currency,
        key_of=event_key,
        verified=verified,
    )
    yield Apply(changes)
    return changes


def current_record(stored: CustomerRecord, anchor: IdKey | None) -> EngineFlow[CustomerRecord]:
    """*stored* as the transaction sees it (merged since into another customer, maybe)."""
    rows: dict[IdKey, IdentityRow] = (yield Identities([anchor])) if anchor is not None else {}
    row = rows.get(anchor) if anchor is not None else None
    owner = stored.id if row is None or row.owner is None else row.owner
    found: dict[str, CustomerRecord] = yield Customers([owner])
    current = found.get(owner)
    if current is None:
        raise NotFoundError("customer", stored.id)
    return current
