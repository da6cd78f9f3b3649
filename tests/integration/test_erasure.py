"""
Erasure that erases, on every store: nothing of a forgotten customer is left, in rows or in
files, except keyed hashes; replays and suppressed identifiers stay out; export holds it all.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import pickle
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import omnikit
from omnikit.errors import PolicyError, ValidationError
from omnikit.stores import Store
from omnikit.stores.memory import MemoryStore
from omnikit.stores.sqlite import SQLiteStore
from omnikit.testing import FrozenClock

T0 = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
KEY = b"a-host-secret-of-32-bytes-length"

# The person to forget: every value distinctive enough to grep for.
EMAIL = "quentin.erasable@example.org"
PHONE = "+351934567891"
NAME = "Quentin Vermilionsky"
STREET = "77 Rua dos Apagados"
ORDER_ID = "ORD-ERASE-4471"
NOTE = "allergic to kiwifruit zq"
USER_ID = "user-erase-8842"
ANON = "anon-erase-5521"
ANON2 = "anon-erase-5522"
CARD = "LOY-ERASE-9"
CARD2 = "LOY-ERASE-10"  # left unlinked: one loyalty card per customer
DEVICE = "dev-erase-31"
IP = "203.0.113.77"
IDENTIFIERS = {
    "email": EMAIL,
    "phone": PHONE,
    "user_id": USER_ID,
    "anonymous_id": ANON,
    "loyalty_id": CARD,
    "device_id": DEVICE,
}
PERSONAL = (*IDENTIFIERS.values(), ANON2, CARD2, NAME, STREET, ORDER_ID, NOTE, IP)


def at(minutes: int) -> str:
    return (T0 + dt.timedelta(minutes=minutes)).isoformat()


def msg(mid: str, minutes: int, kind: str = "track", **fields: Any) -> dict[str, Any]:
    message = {"type": kind, "messageId": mid, "timestamp": at(minutes), **fields}
    if kind == "track":
        message.setdefault("event", "Product Viewed")
    return message


def quentin() -> list[dict[str, Any]]:
    """Their life in the shop: browsing, signing up, an order, two cards, a second browser."""
    return [
        msg("q1", 0, anonymousId=ANON, context={"ip": IP, "device": {"id": DEVICE}}),
        msg(
            "q2",
            1,
            "identify",
            anonymousId=ANON,
            userId=USER_ID,
            traits={
                "email": EMAIL,
                "phone": PHONE,
                "name": NAME,
                "address": {"street": STREET, "city": "Lisboa"},
            },
        ),
        msg(
            "q3",
            2,
            event="Order Completed",
            userId=USER_ID,
            properties={"order_id": ORDER_ID, "total": 42, "currency": "EUR", "note": NOTE},
        ),
        msg("q4", 3, userId=USER_ID, context={"externalIds": [{"id": CARD, "type": "loyalty_id"}]}),
        msg(
            "q5", 4, userId=USER_ID, context={"externalIds": [{"id": CARD2, "type": "loyalty_id"}]}
        ),
        msg("q6", 5, anonymousId=ANON2),
        msg("q7", 6, anonymousId=ANON2, context={"traits": {"email": EMAIL}}),
    ]


def others() -> list[dict[str, Any]]:
    """Bob, who shares a household email Quentin's last visit carries, and Carla."""
    return [
        msg("b1", 0, "identify", userId="u-bob", traits={"email": "home@example.net"}),
        msg("c1", 1, anonymousId="anon-carla", context={"traits": {"email": "carla@example.net"}}),
    ]


def shop(hub: omnikit.Hub) -> omnikit.Customer:
    """Quentin among others, with a merge (their two browsers), a wrong merge undone (with
    Carla) and a household email that stays Bob's; returns Quentin."""
    hub.ingest([*others(), *quentin()]).raise_for_failures()
    # The household email: on Quentin's touchpoint, but Bob's (one user id per customer).
    hub.ingest(msg("q8", 7, userId=USER_ID, context={"traits": {"email": "home@example.net"}}))
    # A wrong merge with Carla, undone: Quentin's email with Carla's browser.
    hub.ingest(msg("q9", 8, anonymousId="anon-carla", context={"traits": {"email": EMAIL}}))
    merged = hub.customer(email=EMAIL)
    assert merged is not None
    hub.unmerge(merged)
    found = hub.customer(email=EMAIL)
    assert found is not None
    return found


def identity_rows(store: Store, keys: Any) -> dict[Any, Any]:
    with store.transaction() as tx:
        return tx.identities(list(keys))


def test_forget_erases_identifiers_a_limit_left_unlinked(hub: omnikit.Hub) -> None:
    """A second loyalty card, left unlinked by the limit, is erased with its holder."""
    hub.ingest(quentin()).raise_for_failures()
    customer = hub.customer(user_id=USER_ID)
    assert customer is not None
    assert ("loyalty_id", CARD2) in identity_rows(hub.store, [("loyalty_id", CARD2)])

    report = hub.forget(customer)

    assert {} == identity_rows(hub.store, [("loyalty_id", CARD2)])
    assert {} == identity_rows(hub.store, IDENTIFIERS.items())
    assert len(IDENTIFIERS) + 2 == report.identities  # and the second card, the second browser


def test_forget_keeps_what_another_customer_holds(hub: omnikit.Hub) -> None:
    """
    A household email Bob holds, carried by Quentin's touchpoint too, stays Bob's; Bob and
    Carla are as they were, and Carla's browser (on Quentin's wrong merge) stays hers.
    """
    quentin_ = shop(hub)
    bob, carla = hub.customer(user_id="u-bob"), hub.customer(anonymous_id="anon-carla")

    hub.forget(quentin_)

    assert bob == hub.customer(user_id="u-bob")
    assert bob == hub.customer(email="home@example.net")
    assert carla == hub.customer(anonymous_id="anon-carla")
    assert carla is not None
    assert ["c1"] == [tp.message_id for tp in hub.touchpoints(carla)]
    assert {} == identity_rows(hub.store, IDENTIFIERS.items())


def test_forget_leaves_no_cluster_named_after_an_identifier(hub: omnikit.Hub) -> None:
    """
    No cluster id is a plain hash of an identifier: neither a living customer's, nor (after
    the erasure) the forgotten one's, nor the one their cluster shared with others had.
    """
    quentin_ = shop(hub)
    legacy = {
        f"cl_{hashlib.blake2b(f'{k}:{v}'.encode(), digest_size=10).hexdigest()}": (k, v)
        for k, v in [*IDENTIFIERS.items(), ("user_id", "u-bob"), ("anonymous_id", "anon-carla")]
    }
    store = hub.store
    living = hub.customer(user_id="u-bob")
    assert living is not None
    record = store.customer(living.id)
    assert record is not None
    assert record.cluster not in legacy

    hub.forget(quentin_)

    with store.transaction() as tx:
        assert {} == tx.clusters(list(legacy))
    after = store.customer(living.id)
    assert after is not None
    assert after.cluster is not None
    assert after.cluster not in legacy


def test_a_replay_of_erased_messages_does_not_bring_them_back(hub: omnikit.Hub) -> None:
    """
    Re-sending an erased customer's messages recreates nobody: each is reported as
    suppressed and stored nowhere. New messages about them start a new profile.
    """
    hub.ingest(quentin()).raise_for_failures()
    old = hub.customer(user_id=USER_ID)
    assert old is not None
    hub.forget(old)

    replay = hub.ingest(quentin())
    fresh = hub.ingest(msg("q-new", 30, userId=USER_ID))

    assert () == replay.accepted
    assert tuple(m["messageId"] for m in quentin()) == replay.suppressed
    assert hub.store.customer(old.id) is None
    assert all(hub.store.touchpoint(m["messageId"]) is None for m in quentin())
    assert ("q-new",) == fresh.accepted
    new = hub.customer(user_id=USER_ID)
    assert new is not None
    assert old.id != new.id
    assert 1 == new.stats.touchpoints


def test_export_holds_the_audit_trail_and_unlinked_identifiers(hub: omnikit.Hub) -> None:
    """
    The export names every identifier (the unlinked card too), the merges, the unmerge that
    split Quentin from Carla (her side by kind only) and the ids merged into Quentin.
    """
    quentin_ = shop(hub)

    exported = hub.export(quentin_)

    identities = {(i["kind"], i["value"]): i["linked"] for i in exported["identities"]}
    assert identities[("loyalty_id", CARD2)] is False
    assert identities[("email", EMAIL)] is True
    [unmerge] = exported["unmerges"]
    assert {"kind": "email", "value": None} in unmerge["identities"]
    assert {"kind": "user_id", "value": USER_ID} in unmerge["identities"]
    assert "carla@example.net" not in json.dumps(exported)
    [merge] = exported["merges"]
    assert merge["merged_ids"] == exported["former_ids"]
    assert json.loads(json.dumps(exported)) == exported


def test_forget_with_suppress_drops_their_later_messages(store: Store) -> None:
    """
    After a forget with suppression, any message carrying one of their identifiers is dropped
    unstored and reported, also through `track`; others' messages pass. Lifting the
    suppression of an identifier lets it in again.
    """
    hub = omnikit.Hub(store, clock=FrozenClock(T0), suppression_key=KEY)
    hub.ingest(quentin()).raise_for_failures()
    customer = hub.customer(user_id=USER_ID)
    assert customer is not None

    report = hub.forget(customer, suppress=True)
    later = hub.ingest(
        [
            msg(
                "s1", 40, anonymousId="anon-new", context={"traits": {"phone": "+351 934 567 891"}}
            ),
            msg("s2", 41, anonymousId="anon-someone-else"),
            msg("s3", 42, "identify", userId="u-new", traits={"email": EMAIL.upper()}),
        ]
    )

    assert len(IDENTIFIERS) + 2 == report.suppressed
    assert ("s1", "s3") == later.suppressed
    assert ("s2",) == later.accepted
    assert store.touchpoint("s1") is None
    assert hub.customer(anonymous_id="anon-new") is None
    with pytest.raises(PolicyError) as caught:
        hub.track("Product Viewed", email=EMAIL)
    assert "suppressed" == caught.value.reason
    assert hub.unsuppress(email=EMAIL)
    assert not hub.unsuppress(email=EMAIL)
    assert ("s4",) == hub.ingest(
        msg("s4", 43, anonymousId="a-back", context={"traits": {"email": EMAIL}})
    ).accepted
    assert ("s5",) == hub.ingest(msg("s5", 44, userId=USER_ID)).suppressed


def test_suppression_needs_the_same_key_everywhere(store: Store) -> None:
    """
    Suppressing without a key is refused (nothing erased); a hub without the key, or with
    another, refuses to ingest into a store holding suppressions rather than let them in.
    """
    keyless = omnikit.Hub(store, clock=FrozenClock(T0))
    keyless.ingest(quentin()).raise_for_failures()
    customer = keyless.customer(user_id=USER_ID)
    assert customer is not None
    with pytest.raises(ValidationError, match="suppression_key"):
        keyless.forget(customer, suppress=True)
    assert keyless.customer(user_id=USER_ID) is not None
    omnikit.Hub(store, clock=FrozenClock(T0), suppression_key=KEY).forget(customer, suppress=True)

    with pytest.raises(ValidationError, match="no key to recognise them"):
        keyless.ingest(msg("k1", 50, anonymousId="anyone"))
    other = omnikit.Hub(store, suppression_key=b"another-secret-of-enough-length!")
    with pytest.raises(ValidationError, match="not the key"):
        other.ingest(msg("k2", 51, anonymousId="anyone"))
    with pytest.raises(ValidationError, match="not the key"):
        other.unsuppress(email=EMAIL)
    assert store.touchpoint("k1") is None
    assert store.touchpoint("k2") is None


@pytest.mark.parametrize("key", [b"short", "", 42])
def test_a_suppression_key_must_be_a_real_secret(key: Any) -> None:
    """A key shorter than 16 bytes, or not bytes or text, is refused with how to make one."""
    with pytest.raises(ValidationError, match=r"secrets\.token_bytes"):
        omnikit.Hub(suppression_key=key)


@pytest.mark.stores("sqlite")
def test_suppression_outlives_the_process(store_url: str) -> None:
    """Suppressions and erased message ids are kept in the store, for the next hub to honour."""
    with omnikit.Hub.open(store_url, suppression_key=KEY) as hub:
        hub.ingest(quentin()).raise_for_failures()
        hub.forget(hub.customer(user_id=USER_ID), suppress=True)  # type: ignore[arg-type]

    with omnikit.Hub.open(store_url, suppression_key=KEY) as hub:
        again = hub.ingest([*quentin(), msg("n1", 60, userId=USER_ID)])

    assert (*(m["messageId"] for m in quentin()), "n1") == again.suppressed


# -- nothing left, anywhere ------------------------------------------------------------------


def unsalted_hashes(values: Any) -> Iterator[str]:
    """Plain hashes of each value, of `kind:value`, and of the old derived anonymous id."""
    texts = [*values, *(f"{k}:{v}" for k, v in IDENTIFIERS.items())]
    texts.append(repr([("email", EMAIL)]))
    for text in texts:
        data = text.encode()
        yield hashlib.md5(data).hexdigest()  # noqa: S324 - what a careless store might keep
        yield hashlib.sha1(data).hexdigest()  # noqa: S324
        yield hashlib.sha256(data).hexdigest()[:32]
        for size in (10, 16, 32):
            yield hashlib.blake2b(data, digest_size=size).hexdigest()


def traces(blob: bytes, values: Any = PERSONAL) -> list[str]:
    """The personal values (in UTF-8 or UTF-16) and plain hashes of them found in *blob*."""
    found = [v for v in values if v.encode() in blob or v.encode("utf-16-le") in blob]
    return found + [h for h in unsalted_hashes(values) if h.encode() in blob]


def sqlite_files(path: Path) -> bytes:
    return b"".join(
        p.read_bytes() for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()
    )


def test_sqlite_files_keep_nothing_of_an_erased_customer(tmp_path: Path) -> None:
    """
    With the hub still open (and other threads' connections too), the database, its
    write-ahead log and shared memory hold none of the forgotten customer's values, and no
    plain hash of them; the others' values are still there.
    """
    path = tmp_path / "shop.db"
    with omnikit.Hub.open(f"sqlite:///{path}", clock=FrozenClock(T0)) as hub:
        crowd = [
            msg(
                f"x{n}",
                n % 50,
                userId=f"crowd-{n}",
                context={"traits": {"email": f"c{n}@example.net"}},
            )
            for n in range(300)
        ]
        hub.ingest(crowd)
        quentin_ = shop(hub)
        reader = threading.Thread(target=lambda: hub.customer(user_id="u-bob"))
        reader.start()
        reader.join()
        assert EMAIL in traces(sqlite_files(path))

        report = hub.forget(quentin_)

        blob = sqlite_files(path)
        assert [] == traces(blob, [*PERSONAL, quentin_.id, *(f"q{n}" for n in range(1, 10))])
        assert [] == [h for h in unsalted_hashes(["home@example.net"]) if h.encode() in blob]
        assert b"home@example.net" in blob
        assert b"carla@example.net" in blob
        assert report.scrubbed


def test_a_reader_holding_the_log_delays_the_scrub_to_the_next_write(tmp_path: Path) -> None:
    """
    A reader in the middle of a read keeps the write-ahead log: `forget` says it could not
    scrub, and the next write on the store does.
    """
    path = tmp_path / "shop.db"
    with omnikit.Hub.open(f"sqlite:///{path}", clock=FrozenClock(T0)) as hub:
        hub.ingest([*others(), *quentin()])
        customer = hub.customer(user_id=USER_ID)
        assert customer is not None
        reader = sqlite3.connect(path, isolation_level=None)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM omnikit_touchpoints").fetchone()

        report = hub.forget(customer)
        held = traces(sqlite_files(path))
        reader.execute("ROLLBACK")
        reader.close()
        hub.ingest(msg("later", 90, anonymousId="someone"))

        assert [] == traces(sqlite_files(path))
        assert EMAIL in held
        assert not report.scrubbed


@pytest.mark.stores("memory")
def test_the_memory_store_keeps_no_reference_to_an_erased_customer(hub: omnikit.Hub) -> None:
    """Nothing the memory store or the hub keeps (tables, indexes, caches) names them."""
    quentin_ = shop(hub)
    store = hub.store
    assert isinstance(store, MemoryStore)

    def kept() -> bytes:
        tables = {k: v for k, v in vars(store).items() if k not in {"_lock", "_journal"}}
        return pickle.dumps((tables, hub._blocked, hub._read_cache))

    assert EMAIL in traces(kept())

    hub.forget(quentin_)

    assert [] == traces(kept(), [*PERSONAL, quentin_.id])
    assert b"carla@example.net" in kept()


@pytest.mark.stores("postgres")
def test_no_postgres_row_holds_an_erased_customer(store: Store) -> None:
    """
    No row of any omnikit table (in the store's schema) holds a forgotten customer's values
    or a plain hash of them; `compact()` then rewrites the tables.
    """
    import psycopg  # noqa: PLC0415 - the postgres extra

    from omnikit.stores.postgres import PostgresStore  # noqa: PLC0415

    assert isinstance(store, PostgresStore)
    hub = omnikit.Hub(store, clock=FrozenClock(T0))
    quentin_ = shop(hub)

    def rows() -> bytes:
        with psycopg.connect(store.conninfo) as conn:
            conn.execute(f'SET search_path TO "{store.schema}"')
            tables = conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                [store.schema],
            ).fetchall()
            assert len(tables) >= 8
            text = [
                str(row)
                for (table,) in tables
                for row in conn.execute(f"SELECT t::text FROM {table} AS t").fetchall()
            ]
        return "\n".join(sorted(text)).encode()

    assert EMAIL in traces(rows())

    report = hub.forget(quentin_)
    after = rows()

    assert [] == traces(after, [*PERSONAL, quentin_.id])
    assert b"carla@example.net" in after
    assert not report.scrubbed
    store.compact()
    assert after == rows()


# -- export holds what forget erases ---------------------------------------------------------


PRIMARY_KEYS = {
    "omnikit_touchpoints": 1,
    "omnikit_identities": 2,
    "omnikit_customers": 1,
    "omnikit_merges": 1,
    "omnikit_aliases": 1,
    "omnikit_splits": 4,
}


def sql_rows(store: Store) -> dict[str, dict[tuple[Any, ...], tuple[Any, ...]]]:
    """The rows of the tables that hold customers' data, by primary key, JSON as text."""
    if isinstance(store, SQLiteStore):
        conn: Any = sqlite3.connect(store.path)
    else:
        import psycopg  # noqa: PLC0415 - the postgres extra

        conn = psycopg.connect(store.conninfo)  # type: ignore[attr-defined]
        conn.execute(f'SET search_path TO "{store.schema}"')  # type: ignore[attr-defined]
    try:
        tables: dict[str, dict[tuple[Any, ...], tuple[Any, ...]]] = {}
        for name, size in PRIMARY_KEYS.items():
            rows = [
                tuple(json.dumps(v) if isinstance(v, dict | list) else v for v in row)
                for row in conn.execute(f"SELECT * FROM {name}").fetchall()
            ]
            tables[name] = {row[:size]: row for row in rows}
        return tables
    finally:
        conn.close()


def leaves(value: Any) -> Iterator[str]:
    """Every string in *value*, JSON text opened up."""
    if isinstance(value, str):
        try:
            inner = json.loads(value)
        except ValueError:
            yield value
            return
        if isinstance(inner, dict | list):
            yield from leaves(inner)
        else:
            yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from leaves(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from leaves(v)


@pytest.mark.stores("sqlite", "postgres")
def test_export_contains_everything_forget_deletes(hub: omnikit.Hub) -> None:
    """
    Every value in every row `forget` deletes (cluster ids and the other side of an unmerge
    aside) is in the customer's export.
    """
    quentin_ = shop(hub)
    exported = json.dumps(hub.export(quentin_))
    before = sql_rows(hub.store)

    hub.forget(quentin_)

    after = sql_rows(hub.store)
    deleted = {
        name: [row for pk, row in rows.items() if pk not in after[name]]
        for name, rows in before.items()
    }
    assert deleted["omnikit_touchpoints"]
    assert deleted["omnikit_identities"]
    assert deleted["omnikit_merges"]
    assert deleted["omnikit_splits"]
    missing = {
        (name, value)
        for name, rows in deleted.items()
        if name != "omnikit_splits"
        for row in rows
        for value in leaves(row)
        if value not in exported and not value.startswith("cl_")
    }
    assert set() == missing
    for split in deleted["omnikit_splits"]:
        assert split[4] in exported  # the merge it undid
        assert split[1] in exported or split[3] in exported


def test_opening_an_older_store_clears_what_its_erasures_left(tmp_path: Path) -> None:
    """
    A store written by a version whose `forget` left unlinked identities and clusters named
    after identifiers loses those on upgrade; everything of the living stays.
    """
    from omnikit._engines.profile import ProfileState  # noqa: PLC0415
    from omnikit.stores._sql import MIGRATIONS, Dialect  # noqa: PLC0415

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE omnikit_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.execute("INSERT INTO omnikit_meta VALUES ('schema_version', '1')")
        for statement in MIGRATIONS[0]:
            conn.execute(Dialect().schema(statement))
        profile = json.dumps(ProfileState().to_json())
        conn.execute(
            "INSERT INTO omnikit_customers VALUES ('cus_b', 'cl_b', 0, 'b1', ?, ?)",
            [json.dumps([["user_id", "u-bob"]]), profile],
        )
        conn.executemany(
            "INSERT INTO omnikit_identities VALUES (?, ?, ?, ?)",
            [
                ("user_id", "u-bob", "cus_b", "cl_b"),
                ("loyalty_id", "L-BOB-2", None, "cl_b"),  # Bob's, left unlinked by a limit
                ("loyalty_id", CARD2, None, "cl_gone"),  # an erased customer's
            ],
        )
        conn.executemany(
            "INSERT INTO omnikit_clusters VALUES (?, 0, 'm', 1)",
            [("cl_b",), ("cl_gone",), ("cl_x",)],
        )

    store = SQLiteStore(path)
    with store.transaction() as tx:
        rows = tx.identities(
            [("user_id", "u-bob"), ("loyalty_id", "L-BOB-2"), ("loyalty_id", CARD2)]
        )
        clusters = tx.clusters(["cl_b", "cl_gone", "cl_x"])
    store.close()

    assert {("user_id", "u-bob"), ("loyalty_id", "L-BOB-2")} == set(rows)
    assert {"cl_b"} == set(clusters)


def test_an_alias_does_not_bring_a_suppressed_account_back(store: Store) -> None:
    """An alias whose `previousId` is a suppressed user id is dropped like any other message."""
    hub = omnikit.Hub(store, clock=FrozenClock(T0), suppression_key=KEY)
    hub.ingest(quentin()).raise_for_failures()
    customer = hub.customer(user_id=USER_ID)
    assert customer is not None
    hub.forget(customer, suppress=True)

    result = hub.ingest(msg("a1", 40, "alias", userId="u-fresh", previousId=USER_ID))

    assert ("a1",) == result.suppressed
    assert hub.customer(user_id="u-fresh") is None
