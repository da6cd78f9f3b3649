"""
The outbox part of the store contract: what a store that is an `OutboxStore` must do.

`StoreContract` runs these checks on every store that implements `omnikit.stores.OutboxStore`
(and skips them on one that does not): deliveries come back as they were saved, every field
and time zone included; a key names one delivery; due deliveries are those an attempt may
take, oldest due first; receipts find deliveries by the provider's id; bounces and complaints
suppress their address; a transaction that fails keeps none of its deliveries; erasing a
customer erases their deliveries, also those made before a merge; and nobody changes a
stored delivery through one they were given or returned.

The round trip is a Hypothesis property, run when Hypothesis is installed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, cast

import attrs
import pytest

from omnikit import ContactPolicy, Customer, Hub
from omnikit._models.outbound import Delivery, DeliveryStatus, Guarantee, Rendition, TemplateRef
from omnikit.connectors.memory import MemoryConnector
from omnikit.errors import ConflictError
from omnikit.stores import OutboxStore, OutboxTransaction, Store
from omnikit.testing._clock import FrozenClock
from omnikit.testing._streams import T0, BoomError

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

__all__ = ["OutboxContract"]

S = DeliveryStatus
_MINUTE = dt.timedelta(minutes=1)
_NOW = T0 + dt.timedelta(hours=1)


def _outbox(store: Store) -> OutboxStore:
    """*store* as an `OutboxStore`; the check is skipped for a store without an outbox."""
    if not isinstance(store, OutboxStore):
        pytest.skip("not an omnikit.stores.OutboxStore")
    return store


def _delivery(delivery_id: str, **fields: Any) -> Delivery:
    made: dict[str, Any] = {
        "customer_id": "cus_x",
        "channel": "email",
        "status": S.QUEUED,
        "created_at": T0,
        "updated_at": T0,
        **fields,
    }
    return Delivery(id=delivery_id, **made)


@contextlib.contextmanager
def _tx(store: Store) -> Iterator[OutboxTransaction]:
    """A transaction of *store*, an `OutboxStore`'s: its outbox methods typed."""
    with store.transaction() as tx:
        yield cast("OutboxTransaction", tx)


def _save(store: Store, *deliveries: Delivery) -> None:
    with _tx(store) as tx:
        tx.save_deliveries(list(deliveries))


def plain(value: object) -> object:
    """
    *value* with each datetime as its instant and its UTC offset, to compare across stores.

    Two aware datetimes in different time zones compare unequal when either falls in a gap
    or a fold of its zone, even at one instant; a store keeps the instant and the offset.
    """
    if isinstance(value, dt.datetime):
        return (value.astimezone(dt.UTC), value.utcoffset())
    if attrs.has(type(value)):
        fields = attrs.fields(cast("Any", type(value)))
        return (type(value), {f.name: plain(getattr(value, f.name)) for f in fields})
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return (type(value), [plain(item) for item in value])
    return value


def deliveries() -> SearchStrategy[Delivery]:
    """Every kind of `Delivery`: each field set or not, datetimes in any time zone."""
    from hypothesis import strategies as st  # noqa: PLC0415 - only this check needs it

    text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"))
    maybe = st.none() | text
    zones = st.timezones() | st.integers(-1439, 1439).map(
        lambda minutes: dt.timezone(dt.timedelta(minutes=minutes))
    )
    earliest, latest = dt.datetime(1900, 1, 1), dt.datetime(2200, 1, 1)  # noqa: DTZ001 - bounds
    moments = st.datetimes(earliest, latest, timezones=zones)
    strings = st.lists(text, max_size=3).map(tuple)
    renditions = st.builds(
        Rendition,
        channel=text,
        to=text,
        text=text,
        subject=maybe,
        html=maybe,
        data=st.dictionaries(text, text, max_size=3),
        template=st.none() | st.builds(TemplateRef, name=text, language=maybe, parameters=strings),
        media=strings,
        sender=maybe,
    )
    return st.builds(
        Delivery,
        id=st.from_regex(r"[A-Za-z0-9_.:-]{1,100}", fullmatch=True),
        customer_id=text,
        channel=text,
        status=st.sampled_from(DeliveryStatus),
        purpose=text,
        connector=maybe,
        address=maybe,
        key=maybe,
        reason=maybe,
        code=maybe,
        provider_message_id=maybe,
        attempts=st.integers(0, 2**31),
        guarantee=st.sampled_from(Guarantee),
        rendition=st.none() | renditions,
        created_at=moments,
        updated_at=moments,
        due_at=st.none() | moments,
        lease_until=st.none() | moments,
        version=st.integers(0, 2**53),
        name=maybe,
    )


def _customer(hub: Hub, user_id: str) -> Customer:
    found = hub.customer(user_id=user_id)
    assert found is not None
    return found


class OutboxContract:
    """The outbox checks of `StoreContract`, for stores that are `OutboxStore`s."""

    def test_a_delivery_comes_back_as_it_was_saved(self, store: Store) -> None:
        """
        Any delivery, saved, is read back the same by every read, inside and outside a transaction.

        Every field, set or `None`; datetimes at their instant and in their offset.
        """
        pytest.importorskip("hypothesis")
        import hypothesis  # noqa: PLC0415 - only this check needs it

        outbox = _outbox(store)
        runs = itertools.count()

        @hypothesis.settings(max_examples=50, deadline=None, database=None)
        @hypothesis.given(deliveries())
        def round_trip(given: Delivery) -> None:
            n = next(runs)  # each example a delivery of its own, in the same store
            key = None if given.key is None else f"{n}:{given.key}"
            sent_as = given.provider_message_id  # a provider's ids name one message each
            row = attrs.evolve(
                given,
                id=f"{n}-{given.id}",
                key=key,
                provider_message_id=None if sent_as is None else f"{n}:{sent_as}",
            )
            _save(store, row)
            with _tx(store) as tx:
                found: list[Any] = [tx.deliveries([row.id, "none"]).get(row.id)]
                if key is not None:
                    found.append(tx.delivery_keys([key]).get(key))
                if row.connector is not None and row.provider_message_id is not None:
                    ref = (row.connector, row.provider_message_id)
                    found.append(tx.provider_deliveries([ref]).get(ref))
                since = row.created_at - dt.timedelta(microseconds=1)
                history = tx.delivery_history(row.customer_id, since)
                found.append(next((d for d in history if d.id == row.id), None))
            found.append(outbox.delivery(row.id))
            listed = outbox.list_deliveries(customer_id=row.customer_id, limit=n + 1)
            found.append(next((d for d in listed if d.id == row.id), None))
            for got in found:
                assert plain(row) == plain(got)

        round_trip()

    def test_a_key_names_one_delivery(self, store: Store) -> None:
        """
        Saving a delivery under a key another one holds raises `ConflictError`, and keeps nothing.

        In one call too; a key given up is free for the next delivery, even in the same call;
        deliveries without a key are many.
        """
        _outbox(store)
        first = _delivery("d-1", key="k")
        _save(store, first)

        with pytest.raises(ConflictError), _tx(store) as tx:
            tx.save_deliveries([_delivery("d-2", key="k")])
        with pytest.raises(ConflictError), _tx(store) as tx:
            tx.save_deliveries([_delivery("d-3", key="j"), _delivery("d-4", key="j")])
        with _tx(store) as tx:
            assert {"k": first} == tx.delivery_keys(["k", "j"])
            assert {} == tx.deliveries(["d-2", "d-3", "d-4"])
        moved = attrs.evolve(first, key="k2", version=1)
        second = _delivery("d-2", key="k")
        _save(store, moved, second, _delivery("d-5"), _delivery("d-6"))
        _save(store, attrs.evolve(moved, status=S.SENT, version=2))

        with _tx(store) as tx:
            keys = tx.delivery_keys(["k", "k2", "j"])
            held = tx.deliveries(["d-5", "d-6"])
        assert {"k": "d-2", "k2": "d-1"} == {key: d.id for key, d in keys.items()}
        assert S.SENT == keys["k2"].status
        assert {"d-5", "d-6"} == set(held)

    def test_due_deliveries_are_those_an_attempt_may_take(self, store: Store) -> None:
        """
        Queued and deferred ones come due at `due_at`, `sending` ones when their lease lapses.

        None with a lease in force, none in any other status; oldest due first (by `due_at`,
        else `lease_until`, else `created_at`), then by id in code-point order; *limit* of them.
        """
        _outbox(store)
        due = [
            _delivery("q-none", created_at=_NOW - 55 * _MINUTE),
            _delivery("s-due", status=S.SENDING, due_at=_NOW - 10 * _MINUTE, lease_until=_NOW),
            _delivery("f-past", status=S.DEFERRED, due_at=_NOW - 3 * _MINUTE),
            _delivery("q-past", due_at=_NOW - 2 * _MINUTE),
            _delivery("s-lapsed", status=S.SENDING, lease_until=_NOW - _MINUTE),
            _delivery("Z-now", status=S.DEFERRED, due_at=_NOW),
            _delivery("q-now", due_at=_NOW),
            _delivery("s-ended", status=S.SENDING, lease_until=_NOW),
        ]
        later = [
            _delivery("q-later", due_at=_NOW + _MINUTE),
            _delivery("q-leased", due_at=_NOW - 3 * _MINUTE, lease_until=_NOW + _MINUTE),
            _delivery("f-later", status=S.DEFERRED, due_at=_NOW + _MINUTE),
            _delivery(
                "s-live", status=S.SENDING, due_at=_NOW - _MINUTE, lease_until=_NOW + _MINUTE
            ),
        ]
        done = [
            _delivery(f"x-{status.value}", status=status, due_at=_NOW - _MINUTE)
            for status in S
            if status not in {S.QUEUED, S.DEFERRED, S.SENDING}
        ]
        _save(store, *reversed(later + done + due))

        with _tx(store) as tx:
            every = tx.due_deliveries(_NOW, 100)
            first = tx.due_deliveries(_NOW, 3)
            before = tx.due_deliveries(T0, 100)

        assert [d.id for d in due] == [d.id for d in every]
        assert due == every
        assert [d.id for d in due[:3]] == [d.id for d in first]
        assert ["q-none"] == [d.id for d in before]

    def test_receipts_find_deliveries_by_the_provider_s_id(self, store: Store) -> None:
        """`provider_deliveries` finds each by `(connector, provider_message_id)`, no other."""
        _outbox(store)
        twilio = _delivery("p-1", connector="twilio", provider_message_id="SM1")
        sendgrid = _delivery("p-2", connector="sendgrid", provider_message_id="SM1")
        _save(store, twilio, sendgrid, _delivery("p-3", connector="twilio"))

        with _tx(store) as tx:
            found = tx.provider_deliveries(
                [("twilio", "SM1"), ("sendgrid", "SM1"), ("twilio", "SM2"), ("smtp", "SM1")]
            )

        assert {("twilio", "SM1"): twilio, ("sendgrid", "SM1"): sendgrid} == found

    def test_bounces_and_complaints_suppress_their_address(self, store: Store) -> None:
        """`suppressed_addresses` names the pairs asked for that bounced or complained."""
        _outbox(store)
        _save(
            store,
            _delivery("a-1", address="ana@example.com", status=S.BOUNCED),
            _delivery("a-2", address="ana@example.com", status=S.BOUNCED),
            _delivery("a-3", channel="sms", address="+351912345678", status=S.COMPLAINED),
            _delivery("a-4", address="kai@example.com", status=S.DELIVERED),
            _delivery("a-5", status=S.BOUNCED),
            _delivery("a-6", channel="push", address="token-1", status=S.SENT),
        )
        asked = [
            ("email", "ana@example.com"),
            ("sms", "+351912345678"),
            ("email", "kai@example.com"),
            ("sms", "ana@example.com"),
            ("push", "token-1"),
        ]

        with _tx(store) as tx:
            found = tx.suppressed_addresses(asked)
            none = tx.suppressed_addresses([])

        assert {("email", "ana@example.com"), ("sms", "+351912345678")} == found
        assert set() == none

    def test_deliveries_are_listed_newest_first(self, store: Store) -> None:
        """
        `list_deliveries` gives the newest first, by status and customer; history oldest first.

        `delivery_history` gives a customer's deliveries created strictly after *since*.
        """
        outbox = _outbox(store)
        rows = [
            _delivery("l-1", created_at=T0, status=S.SENT),
            _delivery("l-2", created_at=T0 + _MINUTE, customer_id="cus_y"),
            _delivery("l-3", created_at=T0 + 2 * _MINUTE, status=S.SENT),
            _delivery("l-4", created_at=T0 + 2 * _MINUTE, status=S.DEAD),
        ]
        _save(store, *rows)

        with _tx(store) as tx:
            history = tx.delivery_history("cus_x", T0)

        assert ["l-4", "l-3", "l-2", "l-1"] == [d.id for d in outbox.list_deliveries()]
        assert ["l-3", "l-1"] == [d.id for d in outbox.list_deliveries(statuses=["sent"])]
        assert ["l-4", "l-3"] == [
            d.id for d in outbox.list_deliveries(statuses=["sent", "dead"], limit=2)
        ]
        assert ["l-2"] == [d.id for d in outbox.list_deliveries(customer_id="cus_y")]
        assert [] == outbox.list_deliveries(statuses=[])
        assert ["l-3", "l-4"] == [d.id for d in history]
        assert rows[3] == outbox.delivery("l-4")
        assert outbox.delivery("l-9") is None

    def test_a_failed_transaction_keeps_no_delivery(self, store: Store) -> None:
        """A transaction that raises after saving deliveries leaves the outbox as it was."""
        outbox = _outbox(store)
        first = _delivery("d-1", key="k")
        _save(store, first)

        with pytest.raises(BoomError), _tx(store) as tx:
            tx.save_deliveries(
                [attrs.evolve(first, key="k1", status=S.SENT), _delivery("d-2", key="k")]
            )
            assert "d-2" in tx.deliveries(["d-2"])
            raise BoomError

        assert first == outbox.delivery("d-1")
        assert outbox.delivery("d-2") is None
        with _tx(store) as tx:
            assert {"k": first} == tx.delivery_keys(["k", "k1"])
            assert [first] == tx.due_deliveries(T0, 10)

    def test_forget_erases_the_customer_s_deliveries(self, store: Store) -> None:
        """
        Erasing a customer erases their deliveries: the address and what was sent are theirs.

        Those sent to a profile later merged into them too (a merge moves them, as it moves
        touchpoints); another customer's stay, and a key of theirs is free again.
        """
        outbox = _outbox(store)
        policy = ContactPolicy(quiet_hours=None)
        connector = MemoryConnector("email")
        with Hub(
            store, clock=FrozenClock(T0), connectors=[connector], contact_policy=policy
        ) as hub:
            hub.track(anonymous_id="a1", event="Product Viewed")
            hub.identify(user_id="ana", traits={"email": "ana@example.com"})
            hub.identify(user_id="kai", traits={"email": "kai@example.com"})
            ana, kai = _customer(hub, "ana"), _customer(hub, "kai")
            sent = [
                hub.send(ana, "Sale!", purpose="transactional", key="k-ana"),
                hub.send(ana, "Your order", purpose="transactional"),
            ]
            kept = hub.send(kai, "Your order", purpose="transactional")
            hub.track(anonymous_id="a1", user_id="ana", event="Product Viewed")  # a merge
            merged = _customer(hub, "ana")
            moved = [outbox.delivery(d.id) for d in sent]

            hub.forget(merged)

            with _tx(store) as tx:
                keys = tx.delivery_keys(["k-ana"])
        assert [merged.id, merged.id] == [d.customer_id if d else None for d in moved]
        assert [None, None] == [outbox.delivery(d.id) for d in sent]
        assert [] == outbox.list_deliveries(customer_id=merged.id)
        assert [] == outbox.list_deliveries(customer_id=ana.id)
        assert [kept] == outbox.list_deliveries()
        assert {} == keys

    def test_what_the_outbox_returns_and_is_given_stays_as_it_was(self, store: Store) -> None:
        """
        Nobody changes a stored delivery through one they gave or got, nor it theirs.

        A delivery is a frozen value: the store keeps its own, or keeps the object and
        never changes it; a later save leaves what was read before as it was read.
        """
        outbox = _outbox(store)
        rendition = Rendition(channel="email", to="ana@example.com", data={"a": "b"})
        given = _delivery("r-1", key="k", rendition=rendition)
        _save(store, given)
        with _tx(store) as tx:
            read: list[Any] = [
                tx.deliveries(["r-1"])["r-1"],
                tx.delivery_keys(["k"])["k"],
                tx.due_deliveries(_NOW, 1)[0],
            ]
        read += [outbox.delivery("r-1"), outbox.list_deliveries()[0]]

        for got in read:
            with pytest.raises(attrs.exceptions.FrozenInstanceError):
                got.status = S.SENT
            with pytest.raises(attrs.exceptions.FrozenInstanceError):
                got.rendition.text = "scribbled"
            with pytest.raises(TypeError):
                got.rendition.data["a"] = "scribbled"
        later = attrs.evolve(given, status=S.SENT, key="k2", version=1)
        _save(store, later)

        assert all(given == got for got in read)
        assert given == _delivery("r-1", key="k", rendition=rendition)
        assert later == outbox.delivery("r-1")
