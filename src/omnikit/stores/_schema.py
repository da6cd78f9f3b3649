"""
The schema the SQLite and PostgreSQL stores share: its migrations, and how a dialect spells it.

Each adapter supplies a `Dialect` (placeholders, JSON columns); the SQL is written once with `?`
placeholders and `{json}` for a JSON parameter.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import msgspec

from omnikit.errors import StoreUnavailableError
from omnikit.stores._codec import encode
from omnikit.stores._drive import EXECUTE, FETCH_ONE, Cursor, Statements

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "SUPPRESSION_KINDS", "Cursor", "Dialect", "migrate"]

# Each migration is a list of statements, applied in order, once. Never edit a released one:
# add the next. `{json}` is the dialect's JSON column type, `{big}` its 64-bit integer.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE omnikit_touchpoints (
            message_id TEXT PRIMARY KEY,
            customer_id TEXT NOT NULL,
            occurred_us {big} NOT NULL,
            channel TEXT NOT NULL,
            name TEXT NOT NULL,
            data {jsontype} NOT NULL
        )""",
        "CREATE INDEX omnikit_touchpoints_customer ON omnikit_touchpoints (customer_id, occurred_us, message_id)",
        """CREATE TABLE omnikit_identities (
            kind TEXT NOT NULL,
            value TEXT NOT NULL,
            owner TEXT,
            cluster TEXT NOT NULL,
            PRIMARY KEY (kind, value)
        )""",
        "CREATE INDEX omnikit_identities_cluster ON omnikit_identities (cluster)",
        """CREATE TABLE omnikit_customers (
            id TEXT PRIMARY KEY,
            cluster TEXT,
            first_us {big} NOT NULL,
            first_message_id TEXT NOT NULL,
            members {jsontype} NOT NULL,
            profile {jsontype} NOT NULL
        )""",
        "CREATE INDEX omnikit_customers_cluster ON omnikit_customers (cluster)",
        """CREATE TABLE omnikit_clusters (
            id TEXT PRIMARY KEY,
            max_us {big} NOT NULL,
            max_message_id TEXT NOT NULL,
            size INTEGER NOT NULL
        )""",
        "CREATE TABLE omnikit_aliases (source TEXT PRIMARY KEY, target TEXT NOT NULL)",
        "CREATE INDEX omnikit_aliases_target ON omnikit_aliases (target)",
        """CREATE TABLE omnikit_merges (
            id TEXT PRIMARY KEY,
            root TEXT NOT NULL,
            cluster TEXT NOT NULL,
            at_us {big} NOT NULL,
            data {jsontype} NOT NULL
        )""",
        "CREATE INDEX omnikit_merges_root ON omnikit_merges (root)",
        "CREATE INDEX omnikit_merges_cluster ON omnikit_merges (cluster)",
        """CREATE TABLE omnikit_splits (
            a_kind TEXT NOT NULL,
            a_value TEXT NOT NULL,
            b_kind TEXT NOT NULL,
            b_value TEXT NOT NULL,
            merge_id TEXT NOT NULL,
            at_us {big} NOT NULL,
            PRIMARY KEY (a_kind, a_value, b_kind, b_value)
        )""",
        "CREATE INDEX omnikit_splits_b ON omnikit_splits (b_kind, b_value)",
    ),
    (
        """CREATE TABLE omnikit_suppressions (
            digest TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            at_us {big} NOT NULL
        )""",
        "CREATE INDEX omnikit_suppressions_kind ON omnikit_suppressions (kind)",
        # What erasures by earlier versions left: unlinked identities of clusters nobody is
        # in any more, and clusters without identities (named after an erased identifier).
        """DELETE FROM omnikit_identities WHERE owner IS NULL AND cluster NOT IN (
            SELECT cluster FROM omnikit_customers WHERE cluster IS NOT NULL
        )""",
        "DELETE FROM omnikit_clusters WHERE id NOT IN (SELECT cluster FROM omnikit_identities)",
    ),
    (
        # Identities a verified touchpoint carried: claims never take them (the identity
        # resolution page's "Trust"). Rows of earlier versions learn it from their owner.
        "ALTER TABLE omnikit_identities ADD COLUMN verified INTEGER NOT NULL DEFAULT 0",
    ),
    (
        # The outbox: each delivery whole as JSON (`data`), with the columns its queries
        # select and order by beside it. `customer_id` is the column's: a merge moves it.
        """CREATE TABLE omnikit_deliveries (
            id TEXT PRIMARY KEY,
            key TEXT UNIQUE,
            customer_id TEXT NOT NULL,
            channel TEXT NOT NULL,
            connector TEXT,
            provider_message_id TEXT,
            address TEXT,
            status TEXT NOT NULL,
            due_us {big},
            lease_us {big},
            created_us {big} NOT NULL,
            data {jsontype} NOT NULL
        )""",
        "CREATE INDEX omnikit_deliveries_due ON omnikit_deliveries (status, due_us)",
        "CREATE INDEX omnikit_deliveries_customer ON omnikit_deliveries (customer_id, created_us)",
        "CREATE INDEX omnikit_deliveries_provider ON omnikit_deliveries (connector, provider_message_id)",
        "CREATE INDEX omnikit_deliveries_address ON omnikit_deliveries (channel, address, status)",
    ),
)
SUPPRESSION_KINDS = ("identity", "key", "message")
SCHEMA_VERSION = len(MIGRATIONS)


_DECODER = msgspec.json.Decoder()


class Dialect:
    """How one database spells what the queries need."""

    name = "sql"
    placeholder = "?"
    json_param = "?"
    json_type = "TEXT"
    big_type = "INTEGER"

    def sql(self, text: str) -> str:
        """Turn a query written with `?` and `{json}` into this dialect's."""
        return (
            text.replace("{json}", "\x00")
            .replace("?", self.placeholder)
            .replace("\x00", self.json_param)
        )

    def dump(self, value: object) -> Any:
        """A JSON parameter."""
        return encode(value)

    def load(self, value: Any) -> Any:
        """
        A JSON column's value.

        Read by msgspec's C decoder, which gives `json.loads`'s values for the JSON the
        stores write; text it refuses gets `json.loads` and its errors.
        """
        if not isinstance(value, str | bytes):
            return value
        try:
            return _DECODER.decode(value)
        except (msgspec.MsgspecError, UnicodeEncodeError):
            return json.loads(value)

    def schema(self, statement: str) -> str:
        """A migration statement in this dialect."""
        return statement.replace("{jsontype}", self.json_type).replace("{big}", self.big_type)


def migrate(dialect: Dialect, url: str) -> Statements[bytes]:
    """
    Create or migrate the schema, inside a write transaction the caller began; the secret.

    The store's own key (`CustomerStore.secret`) is made the first time the store opens.
    """
    yield (
        EXECUTE,
        "CREATE TABLE IF NOT EXISTS omnikit_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        (),
    )
    read = dialect.sql("SELECT value FROM omnikit_meta WHERE key = ?")
    row = yield FETCH_ONE, read, ["schema_version"]
    version = int(row[0]) if row else 0
    if version > SCHEMA_VERSION:
        raise StoreUnavailableError(
            f"store {url!r} has schema version {version}, newer than this omnikit "
            f"({SCHEMA_VERSION}): upgrade omnikit"
        )
    for statements in MIGRATIONS[version:]:
        for statement in statements:
            yield EXECUTE, dialect.schema(statement), ()
    if version < SCHEMA_VERSION:
        upsert = "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
        sql = dialect.sql(f"INSERT INTO omnikit_meta (key, value) VALUES (?, ?) {upsert}")
        yield EXECUTE, sql, ["schema_version", str(SCHEMA_VERSION)]
    keep = dialect.sql(
        "INSERT INTO omnikit_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING"
    )
    yield EXECUTE, keep, ["secret", secrets.token_hex(32)]
    (secret,) = yield FETCH_ONE, read, ["secret"]
    return bytes.fromhex(secret)
