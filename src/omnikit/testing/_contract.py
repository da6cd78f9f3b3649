"""
The store contract: what every `omnikit.stores.Store` must do, as a pytest suite.

```python
import pytest
from omnikit.testing import StoreContract


class TestMyStore(StoreContract):
    @pytest.fixture
    def store(self):
        store = MyStore("...")  # fresh and empty for every test
        yield store
        store.close()
```

omnikit runs it on its memory, SQLite and PostgreSQL stores; a host application runs it on its
own. Besides each method of the protocol, it plays realistic shuffled histories (merges,
unmerges, late and repeated events, an erasure) and compares what the store holds with what
the memory store holds after the same; it checks that a store never changes the rows it was
given nor lets a caller change its own through what it returns, that erasure leaves no
identifier behind, and that a transaction failing after the hub's writes leaves nothing.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any

import attrs
import pytest

from omnikit import Customer, Hub
from omnikit.converters import default_converter
from omnikit.stores import Store
from omnikit.stores.records import (
    Changes,
    ClusterRow,
    CustomerRecord,
    IdentityRow,
    ProfileState,
    SuppressionRow,
)
from omnikit.testing._clock import FrozenClock
from omnikit.testing._outbox_contract import OutboxContract
from omnikit.testing._streams import (
    T0,
    BoomError,
    Step,
    Watch,
    freeze,
    holdings,
    memory_holdings,
    message_ids,
    play,
    shop_steps,
)

__all__ = ["StoreContract"]

_SEEDS = (1, 2, 3)
"""The shuffled histories every store plays."""


def _at(minutes: int) -> str:
    return (T0 + dt.timedelta(minutes=minutes)).isoformat()


def _track(mid: str, minutes: int, event: str = "Product Viewed", **fields: Any) -> dict[str, Any]:
    return {"type": "track", "event": event, "messageId": mid, "timestamp": _at(minutes), **fields}


class StoreContract(OutboxContract):
    """
    The contract every store passes; subclass it with a `store` fixture to run it.

    The fixture yields a fresh, empty store; every test below then runs against it. A store
    that is also an `omnikit.stores.OutboxStore` passes the outbox's checks too (see
    `omnikit.testing._outbox_contract`); they are skipped for one that is not.

    Added in version 0.1.0.
    """

    @pytest.fixture
    def store(self) -> Iterator[Store]:  # pragma: no cover - subclasses provide it
        """A fresh, empty store; subclasses must override this fixture."""
        msg = "subclass StoreContract and define a `store` fixture"
        raise TypeError(msg)

    @pytest.fixture
    def hub(self, store: Store) -> Iterator[Hub]:
        """A hub on the store, on a frozen clock."""
        with Hub(store, clock=FrozenClock(T0)) as hub:
            yield hub

    # -- the basics --------------------------------------------------------------------------

    def test_an_empty_store_knows_nobody(self, store: Store) -> None:
        """Lookups in an empty store find nothing and raise nothing."""
        assert store.customer("cus_nobody") is None
        assert store.find(("email", "nobody@example.com")) is None
        assert store.touchpoints("cus_nobody") == []
        assert store.touchpoint("m-none") is None
        assert store.merges("cus_nobody") == []
        assert list(store.iter_customers()) == []
        assert store.touchpoint_counts() == {}

    def test_a_customer_is_found_by_every_identifier(self, hub: Hub) -> None:
        """What was ingested can be found by id and by each identifier, with its history."""
        hub.ingest(_track("m1", 0, anonymousId="a1", context={"channel": "web"}))
        hub.ingest(
            {
                "type": "identify",
                "messageId": "m2",
                "timestamp": _at(5),
                "anonymousId": "a1",
                "userId": "u1",
                "traits": {"email": "Ana@Example.com", "name": "Ana"},
                "context": {"externalIds": [{"id": "L-1", "type": "loyalty_id"}]},
            }
        )

        by_id = hub.customer(anonymous_id="a1")

        assert by_id is not None
        for found in (
            hub.customer(user_id="u1"),
            hub.customer(email="ana@example.com"),
            hub.customer(loyalty_id="L-1"),
        ):
            assert found is not None
            assert by_id.id == found.id
        assert by_id.traits["name"] == "Ana"
        assert [tp.message_id for tp in hub.touchpoints(by_id)] == ["m1", "m2"]
        assert hub.store.touchpoint_counts() == {"web": 2}

    def test_a_message_id_seen_before_changes_nothing(self, hub: Hub) -> None:
        """Sending a message twice stores it once."""
        first = hub.ingest(_track("m1", 0, anonymousId="a1"))
        again = hub.ingest(_track("m1", 0, anonymousId="a1"))

        customer = hub.customer(anonymous_id="a1")

        assert first.accepted == ("m1",)
        assert again.duplicates == ("m1",)
        assert customer is not None
        assert customer.stats.touchpoints == 1

    def test_touchpoints_come_oldest_first_within_a_window(self, hub: Hub, store: Store) -> None:
        """Touchpoints are ordered by event time and can be limited to a window."""
        hub.ingest({"batch": [_track(f"m{n}", n * 10, anonymousId="a1") for n in (3, 1, 2, 0)]})
        customer = hub.customer(anonymous_id="a1")
        assert customer is not None

        window = store.touchpoints(
            customer.id, since=T0 + dt.timedelta(minutes=10), until=T0 + dt.timedelta(minutes=30)
        )
        newest = store.touchpoints(customer.id, limit=2, newest_first=True)

        assert [tp.message_id for tp in hub.touchpoints(customer)] == ["m0", "m1", "m2", "m3"]
        assert [tp.message_id for tp in window] == ["m1", "m2"]
        assert [tp.message_id for tp in newest] == ["m3", "m2"]
        assert all(tp.customer_id == customer.id for tp in window)

    def test_a_merged_profile_keeps_its_id_findable(self, hub: Hub) -> None:
        """After a merge, the absorbed profile's id finds the survivor, with the trail."""
        hub.ingest(_track("m1", 0, anonymousId="a1"))
        hub.ingest(_track("m2", 1, anonymousId="a2"))
        absorbed = hub.customer(anonymous_id="a2")
        hub.ingest(
            _track("m3", 2, anonymousId="a1", context={"traits": {"email": "x@example.com"}})
        )
        hub.ingest(
            _track("m4", 3, anonymousId="a2", context={"traits": {"email": "x@example.com"}})
        )

        survivor = hub.customer(anonymous_id="a1")
        assert absorbed is not None
        assert survivor is not None
        via_old_id = hub.customer(absorbed.id)

        assert via_old_id is not None
        assert survivor.id == via_old_id.id
        assert [tp.message_id for tp in hub.touchpoints(absorbed.id)] == ["m1", "m2", "m3", "m4"]
        [merge] = hub.merges(survivor)
        assert (absorbed.id,) == merge.merged_ids
        assert merge.message_id == "m4"

    def test_a_late_event_gives_the_same_result(self, store: Store) -> None:
        """An early event arriving last gives what arriving first would have."""
        events = [
            _track("m2", 5, anonymousId="a2", context={"traits": {"email": "x@example.com"}}),
            _track("m3", 9, anonymousId="a3", userId="u1"),
            _track("m1", 0, anonymousId="a3", context={"traits": {"email": "x@example.com"}}),
        ]
        with Hub(store, clock=FrozenClock(T0)) as hub:
            for event in events:
                hub.ingest(event)
            late = _snapshot(hub)
        with Hub(clock=FrozenClock(T0)) as reference:
            reference.ingest(sorted(events, key=lambda e: e["timestamp"]))
            assert _snapshot(reference) == late

    def test_an_unmerge_splits_a_customer_back(self, hub: Hub) -> None:
        """Undoing a merge gives each side its touchpoints and its id back."""
        hub.ingest(_track("m1", 0, anonymousId="a1", userId="u1"))
        hub.ingest(
            _track("m2", 1, anonymousId="a2", context={"traits": {"email": "home@example.com"}})
        )
        first = hub.customer(user_id="u1")
        second = hub.customer(anonymous_id="a2")
        hub.ingest(_track("m3", 2, userId="u1", context={"traits": {"email": "home@example.com"}}))
        merged = hub.customer(user_id="u1")
        assert merged is not None
        assert first is not None
        assert second is not None

        sides = hub.unmerge(merged)

        assert [first.id, second.id] == [side.id for side in sides]
        assert hub.merges(first.id) == []
        assert {"m1", "m2", "m3"} == {
            tp.message_id for side in sides for tp in hub.touchpoints(side)
        }

    def test_forget_erases_everything(self, hub: Hub, store: Store) -> None:
        """Erasure leaves no profile, identity, touchpoint or merge behind."""
        hub.ingest(_track("m1", 0, anonymousId="a1"))
        hub.ingest(_track("m2", 1, anonymousId="a2", userId="u1"))
        hub.ingest(_track("m3", 2, anonymousId="a1", userId="u1"))
        hub.ingest(_track("m4", 3, anonymousId="z9"))
        customer = hub.customer(user_id="u1")
        assert customer is not None

        report = hub.forget(customer)

        assert report.touchpoints == 3
        assert hub.customer(user_id="u1") is None
        assert hub.customer(anonymous_id="a1") is None
        assert hub.customer(anonymous_id="a2") is None
        assert store.customer(customer.id) is None
        assert all(store.touchpoint(m) is None for m in ("m1", "m2", "m3"))
        assert store.merges(customer.id) == []
        assert store.touchpoint("m4") is not None
        assert store.touchpoint_counts() == {"web": 1}

    def test_forget_leaves_no_identity_of_theirs(self, hub: Hub, store: Store) -> None:
        """
        Erasure leaves no identity row of the person, nor their cluster.

        That includes identifiers a limit left unlinked; their next event is a new customer.
        """
        cards = [{"id": card, "type": "loyalty_id"} for card in ("L-1", "L-2")]
        hub.ingest(_track("m1", 0, userId="u1", context={"externalIds": cards[:1]}))
        hub.ingest(_track("m2", 1, userId="u1", context={"externalIds": cards[1:]}))
        hub.ingest(_track("m3", 2, userId="u2", anonymousId="a2"))
        customer = hub.customer(user_id="u1")
        assert customer is not None
        record = store.customer(customer.id)
        assert record is not None
        keys = [("user_id", "u1"), ("loyalty_id", "L-1"), ("loyalty_id", "L-2")]

        report = hub.forget(customer)
        again = hub.ingest(_track("m4", 3, userId="u1"))

        with store.transaction() as tx:
            assert {("user_id", "u1")} == set(tx.identities(keys))  # m4's, and no other
            assert [] == tx.cluster_identities(record.cluster or "")
            assert {} == tx.clusters([record.cluster or ""])
        assert 3 == report.identities
        assert ("m4",) == again.accepted
        found = hub.customer(user_id="u1")
        assert found is not None
        assert found.id != customer.id
        assert hub.customer(user_id="u2") is not None

    # -- the protocol ------------------------------------------------------------------------

    def test_a_store_keeps_its_own_secret(self, store: Store) -> None:
        """`secret()` is a random key of at least 16 bytes that does not change."""
        secret = store.secret()

        assert len(secret) >= 16
        assert secret == store.secret()

    def test_suppressions_are_kept_and_lifted(self, store: Store) -> None:
        """Digests put under suppression are found by kind and by value, once; lifted, gone."""
        rows = [
            SuppressionRow(digest="d-identity", kind="identity", at_us=0),
            SuppressionRow(digest="d-message", kind="message", at_us=0),
        ]
        with store.transaction() as tx:
            assert set() == tx.suppression_kinds()
            tx.apply(Changes(suppressions=rows))
            tx.apply(Changes(suppressions=rows[:1]))
        with pytest.raises(BoomError), store.transaction() as tx:
            tx.apply(Changes(unsuppressed={"d-message"}))
            raise BoomError

        with store.transaction() as tx:
            assert {"identity", "message"} == tx.suppression_kinds()
            assert {"d-identity", "d-message"} == tx.suppressed(["d-identity", "d-message", "d"])
            tx.apply(Changes(unsuppressed={"d-identity"}))
            assert {"message"} == tx.suppression_kinds()
            assert {"d-message"} == tx.suppressed(["d-identity", "d-message"])

    def test_old_ids_lead_to_their_customer(self, hub: Hub, store: Store) -> None:
        """`aliases()` names the ids of the profiles merged into a customer."""
        hub.ingest(_track("m1", 0, anonymousId="a1"))
        hub.ingest(_track("m2", 1, anonymousId="a2"))
        absorbed = hub.customer(anonymous_id="a2")
        hub.ingest(_track("m3", 2, anonymousId="a1", context={"traits": {"email": "x@a.com"}}))
        hub.ingest(_track("m4", 3, anonymousId="a2", context={"traits": {"email": "x@a.com"}}))
        survivor = hub.customer(anonymous_id="a1")
        assert absorbed is not None
        assert survivor is not None

        with store.transaction() as tx:
            assert {absorbed.id: survivor.id} == tx.aliases([survivor.id, "cus_nobody"])

    def test_a_transaction_reads_the_audit_trail(self, hub: Hub, store: Store) -> None:
        """
        `tx.merges()` gives what `merges()` gives, and sees the transaction's own writes.

        Old ids lead to the survivor, as in `merges()`; an export reads the audit trail in
        its transaction, with the rest, so that it is of one moment.
        """
        hub.ingest(_track("m1", 0, anonymousId="a1"))
        hub.ingest(_track("m2", 1, anonymousId="a2"))
        absorbed = hub.customer(anonymous_id="a2")
        hub.ingest(_track("m3", 2, anonymousId="a1", context={"traits": {"email": "x@a.com"}}))
        hub.ingest(_track("m4", 3, anonymousId="a2", context={"traits": {"email": "x@a.com"}}))
        survivor = hub.customer(anonymous_id="a1")
        assert absorbed is not None
        assert survivor is not None
        trail = store.merges(survivor.id)
        assert trail

        with store.transaction() as tx:
            assert trail == tx.merges(survivor.id)
            assert trail == tx.merges(absorbed.id)
            assert [] == tx.merges("cus_nobody")
            more = attrs.evolve(trail[0], record=attrs.evolve(trail[0].record, id="mrg_more"))
            tx.apply(Changes(merges=[more]))
            got = tx.merges(survivor.id)
            assert more in got
            assert trail == [row for row in got if row != more]

    def test_a_failed_transaction_leaves_no_trace(self, store: Store) -> None:
        """Everything applied in a transaction that raises is rolled back."""
        changes = _one_customer("cus_x", ("email", "x@example.com"))
        with pytest.raises(BoomError), store.transaction() as tx:
            tx.apply(changes)
            assert "cus_x" in tx.customers(["cus_x"])
            raise BoomError

        assert store.customer("cus_x") is None
        assert store.find(("email", "x@example.com")) is None

    def test_a_store_knows_the_identity_kinds_it_holds(self, store: Store) -> None:
        """`has_identity_kind` is true once an identity of the kind is stored, and not before."""
        assert not store.has_identity_kind("crm_id")
        with store.transaction() as tx:
            tx.apply(_one_customer("cus_x", ("crm_id", "C-7")))

        assert store.has_identity_kind("crm_id")
        assert not store.has_identity_kind("crm")
        assert not store.has_identity_kind("email")

    def test_a_transaction_reads_its_own_writes(self, store: Store) -> None:
        """Rows written in a transaction are visible to it, and to others after commit."""
        with store.transaction() as tx:
            tx.apply(_one_customer("cus_x", ("email", "x@example.com")))
            rows = tx.identities([("email", "x@example.com"), ("email", "y@example.com")])
            assert {("email", "x@example.com")} == set(rows)
            assert rows[("email", "x@example.com")].owner == "cus_x"
            assert list(tx.cluster_customers("cl_x")) == ["cus_x"]
            assert tx.cluster_identities("cl_x") == [("email", "x@example.com")]
            assert {"cl_x"} == set(tx.clusters(["cl_x", "cl_y"]))

        found = store.find(("email", "x@example.com"))
        assert found is not None
        assert found.id == "cus_x"

    def test_concurrent_writers_lose_no_update(self, store: Store) -> None:
        """Threads ingesting the same customer at once lose no touchpoint and no count."""
        threads, per_thread = 4, 25
        errors: list[BaseException] = []

        def work(n: int) -> None:
            try:
                with Hub(store, clock=FrozenClock(T0)) as hub:
                    for i in range(per_thread):
                        hub.ingest(
                            _track(
                                f"t{n}-{i}", n * per_thread + i, userId="u1", anonymousId=f"a{n}"
                            )
                        )
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

        assert errors == []
        with Hub(store) as hub:
            customer = hub.customer(user_id="u1")
            assert customer is not None
            assert threads * per_thread == customer.stats.touchpoints
            assert threads * per_thread == len(hub.touchpoints(customer))
            assert threads + 1 == len(customer.identities)

    def test_customers_can_be_listed_page_by_page(self, hub: Hub, store: Store) -> None:
        """Listing customers in small pages returns each once, in id order."""
        hub.ingest({"batch": [_track(f"m{n}", n, anonymousId=f"a{n}") for n in range(7)]})

        listed = [record.id for record in store.iter_customers(batch_size=3)]

        assert len(listed) == 7
        assert sorted(listed) == listed

    def test_an_export_structures_back(self, hub: Hub) -> None:
        """`Hub.export()` data is JSON-ready and converts back to the same customer."""
        hub.ingest(
            {
                "type": "identify",
                "messageId": "m1",
                "timestamp": _at(0),
                "userId": "u1",
                "traits": {
                    "email": "ana@example.com",
                    "quiet_hours": {"start": "22:00", "end": "08:00"},
                },
            }
        )
        customer = hub.customer(user_id="u1", recent=0)
        assert customer is not None

        exported = hub.export(customer)

        assert customer == default_converter().structure(exported["customer"], Customer)
        assert [tp["message_id"] for tp in exported["touchpoints"]] == ["m1"]

    # -- erasure, once more ------------------------------------------------------------------

    def test_forget_leaves_no_identifier_behind(self, hub: Hub, store: Store) -> None:
        """
        Erasure removes every identity row of the person, their email and phone included.

        Nothing finds them by any identifier afterwards, and their next event is accepted as
        a new customer (a store that kept the email row would give it back to the erased id,
        or fail the event).
        """
        email, phone = "ana@example.com", "+351912345678"
        traits = {"email": email, "phone": phone, "name": "Ana"}
        hub.ingest(_track("m1", 0, anonymousId="a1"))
        hub.ingest(
            {**_track("m2", 1, userId="u1", anonymousId="a1"), "type": "identify", "traits": traits}
        )
        hub.ingest(_track("m3", 2, context={"traits": {"email": email}, "channel": "email"}))
        customer = hub.customer(email=email)
        assert customer is not None
        keys = [("email", email), ("phone", phone), ("user_id", "u1"), ("anonymous_id", "a1")]

        hub.forget(customer)
        with store.transaction() as tx:
            left = tx.identities(keys)
        found = [store.find(key) for key in keys]
        again = hub.ingest(_track("m4", 3, context={"traits": {"email": email}}))
        back = hub.customer(email=email)

        assert {} == left
        assert [None, None, None, None] == found
        assert ("m4",) == again.accepted
        assert back is not None
        assert customer.id != back.id
        assert [("email", email)] == [(i.kind, i.value) for i in back.identities]
        assert ["m4"] == [tp.message_id for tp in hub.touchpoints(back)]

    # -- what is given and what is returned --------------------------------------------------

    def test_the_rows_given_are_never_changed(self, store: Store) -> None:
        """
        A store never changes a row it was given, then or later (the hub may still hold it).

        It keeps its own copy, or keeps the object and never changes it: a later write of
        the same customer, or a move to another cluster, gives it new rows instead.
        """
        first = _one_customer("cus_x", ("email", "x@example.com"))
        given = freeze(first)
        later = _one_customer("cus_x", ("email", "x@example.com"))
        later.customers["cus_x"].members.add(("user_id", "u1"))
        later.customers["cus_x"].profile.count = 3
        watch = Watch(store)
        steps, _ = shop_steps(4)

        with store.transaction() as tx:
            tx.apply(first)
        with store.transaction() as tx:
            tx.apply(Changes(relabel={"cl_x": "cl_y"}))
        with store.transaction() as tx:
            tx.apply(later)
        with Hub(watch, clock=FrozenClock(T0)) as hub:
            play(hub, steps)
        changed = [n for n, (changes, then) in enumerate(watch.given) if freeze(changes) != then]

        assert given == freeze(first)
        assert [] == changed, "the store changed the change sets it was given at these indexes"

    def test_what_a_store_returns_is_the_callers(self, hub: Hub, store: Store) -> None:
        """Changing the rows a store returned changes nothing in the store."""
        hub.ingest(_track("m1", 0, anonymousId="a1", userId="u1"))
        hub.ingest(_track("m2", 1, anonymousId="a2", context={"traits": {"email": "x@a.com"}}))
        hub.ingest(_track("m3", 2, anonymousId="a1", context={"traits": {"email": "x@a.com"}}))
        keys = [("anonymous_id", "a1"), ("anonymous_id", "a2"), ("email", "x@a.com")]
        record = store.find(keys[0])
        assert record is not None
        cluster = record.cluster or ""
        before = _held(store, record.id, cluster, keys)

        _scribble(record)
        _scribble(store.customer(record.id))
        for listed in store.iter_customers():
            _scribble(listed)
        with store.transaction() as tx:
            for read in (tx.customers([record.id]), tx.cluster_customers(cluster)):
                for returned in read.values():
                    _scribble(returned)
            for row in tx.identities(keys).values():
                row.owner, row.cluster, row.verified = "cus_scribbled", "cl_scribbled", True
            for cluster_row in tx.clusters([cluster]).values():
                cluster_row.size, cluster_row.max = -1, (0, "scribbled")

        assert before == _held(store, record.id, cluster, keys)

    # -- whole histories ---------------------------------------------------------------------

    @pytest.mark.parametrize("seed", _SEEDS)
    def test_a_shuffled_history_ends_as_in_the_memory_store(self, store: Store, seed: int) -> None:
        """
        A realistic history, shuffled, leaves what it leaves in the memory store.

        People on several devices sign in, open emails, buy at the till and call; two share
        a tablet; events arrive late, some twice, in batches; a customer is unmerged and
        another erased half-way. The customers, their identities, touchpoints, merges and
        links, the identity rows, clusters, splits and old ids must all be the same.
        """
        steps, keys = shop_steps(seed)
        expected = memory_holdings(steps, keys)

        with Hub(store, clock=FrozenClock(T0)) as hub:
            play(hub, steps)
            held = holdings(hub, keys, message_ids(steps))

        assert_same_holdings(expected, held)

    def test_a_transaction_failing_after_its_writes_leaves_nothing(self, store: Store) -> None:
        """
        Each step of a history, failing after the hub's writes, leaves the store as it was.

        Ingestion with merges and late events, an unmerge, an erasure: each is tried once in
        a transaction that raises after `apply`, then done for real.
        """
        steps, keys = shop_steps(5, people=4, events=10)
        ids = message_ids(steps)
        watch = Watch(store)
        with Hub(watch, clock=FrozenClock(T0)) as hub:
            for step in steps:
                before = holdings(hub, keys, ids)
                applied = _fail_once(hub, watch, step)
                if applied:
                    assert before == holdings(hub, keys, ids), f"{step[0]} left a trace"
                play(hub, [step])


def assert_same_holdings(expected: dict[str, Any], held: dict[str, Any]) -> None:
    """*held* (see `holdings`) is *expected*, the memory store's, part by part."""
    for part, value in expected.items():
        assert value == held[part], f"{part} differ from the memory store's"


def _snapshot(hub: Hub) -> list[tuple[Any, ...]]:
    return sorted(
        (
            c.id,
            tuple(sorted((i.kind, i.value) for i in c.identities)),
            tuple(tp.message_id for tp in hub.touchpoints(c)),
            c.stats,
        )
        for c in hub.customers()
    )


def _fail_once(hub: Hub, watch: Watch, step: Step) -> bool:
    """Try *step* in transactions that fail after `apply`; whether any `apply` ran."""
    given = len(watch.given)
    watch.fail = True
    try:
        play(hub, [step])
    except BoomError:
        pass
    finally:
        watch.fail = False
    return len(watch.given) > given


def _scribble(record: CustomerRecord | None) -> None:
    """Change everything in a customer row a caller could change."""
    assert record is not None
    record.cluster = "cl_scribbled"
    record.first = (0, "scribbled")
    record.members.add(("email", "scribbled@example.com"))
    record.verified.add(("email", "scribbled@example.com"))
    record.profile.count += 1
    record.profile.traits["scribbled"] = ("yes", 0, "m0", None)
    record.profile.channels.clear()


def _held(store: Store, cid: str, cluster: str, keys: list[tuple[str, str]]) -> Any:
    with store.transaction() as tx:
        rows = (tx.customers([cid]), tx.cluster_customers(cluster), tx.identities(keys))
        return freeze((store.customer(cid), list(store.iter_customers()), *rows))


def _one_customer(cid: str, key: tuple[str, str]) -> Changes:
    changes = Changes()
    changes.customers[cid] = CustomerRecord(
        id=cid, cluster="cl_x", first=(0, "m0"), members={key}, profile=ProfileState()
    )
    changes.identities[key] = IdentityRow(owner=cid, cluster="cl_x")
    changes.clusters["cl_x"] = ClusterRow(id="cl_x", max=(0, "m0"), size=1)
    return changes
