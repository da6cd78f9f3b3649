"""
Ingestion throughput, against a baseline measured in the same run.

    python benchmarks/ingest.py            # >= 200k events, 3 rounds, best of each
    python benchmarks/ingest.py --quick    # >= 50k events, 1 round (under a minute)
    python benchmarks/ingest.py --quick --chunk 20000   # backfill-sized payloads

A simulated retailer's stream, 200k events or more (50k with --quick), in newline-delimited
JSON as a collector receives it, is ingested into the in-memory store and into SQLite. Prints
one JSON line per store:

    {"case": "memory", "events": ..., "per_s": ..., "baseline_per_s": ..., "ratio": ...}

Then `hub.load()` of the same stream from an NDJSON file into SQLite (`load-sqlite`), with
the same transaction size, against the same SQLite baseline.

Then lookups on the SQLite database it loaded: `hub.customer(email=...)` for a sample of
stored emails, without recent touchpoints (`lookup-sqlite`) and with the default ten
(`lookup-sqlite-recent`), against the raw lookup of the same rows (the identity row, then the
customer row with its JSON decoded), in the same run.

Baselines: for memory, `json.loads` of each line plus a dict insert; for SQLite, `json.loads`
of each line plus a raw `executemany` of exactly the rows omnikit wrote (read back from its
database), into the same schema, in as many transactions. The ratio is per_s / baseline_per_s.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import omnikit
from omnikit.stores._sql import MIGRATIONS, Dialect
from omnikit.testing import Retailer

CHUNK = 1000
TABLES = ("touchpoints", "identities", "customers", "clusters", "aliases", "merges")


def stream(min_events: int, seed: int) -> list[str]:
    """At least *min_events* simulated messages, as JSON lines."""
    customers = max(100, min_events // 18)
    while True:
        lines = [
            json.dumps(m, separators=(",", ":")) for m in Retailer(customers, seed=seed).messages()
        ]
        if len(lines) >= min_events:
            return lines
        customers = int(customers * min_events / len(lines)) + 50


def chunks(lines: list[str], size: int = CHUNK) -> list[str]:
    return ["\n".join(lines[i : i + size]) for i in range(0, len(lines), size)]


def run_omnikit(url: str, payloads: list[str], batch_size: int = CHUNK) -> float:
    started = time.perf_counter()
    with omnikit.Hub.open(url, default_region="PT", batch_size=batch_size) as hub:
        for payload in payloads:
            hub.ingest(payload)
    return time.perf_counter() - started


def run_load(url: str, history: Path, batch_size: int = CHUNK) -> float:
    started = time.perf_counter()
    with omnikit.Hub.open(url, default_region="PT", batch_size=batch_size) as hub:
        hub.load(history)
    return time.perf_counter() - started


def baseline_memory(lines: list[str]) -> float:
    started = time.perf_counter()
    store: dict[str, object] = {}
    for line in lines:
        message = json.loads(line)
        store[message["messageId"]] = message
    return time.perf_counter() - started


def written_rows(db: Path) -> dict[str, tuple[str, list[tuple[object, ...]]]]:
    """Every row omnikit wrote, per table, with an INSERT statement for it."""
    rows: dict[str, tuple[str, list[tuple[object, ...]]]] = {}
    with sqlite3.connect(db) as conn:
        for table in TABLES:
            cursor = conn.execute(f"SELECT * FROM omnikit_{table}")
            columns = [c[0] for c in cursor.description]
            marks = ", ".join("?" * len(columns))
            rows[table] = (
                f"INSERT INTO omnikit_{table} ({', '.join(columns)}) VALUES ({marks})",
                cursor.fetchall(),
            )
    return rows


def baseline_sqlite(
    lines: list[str],
    rows: dict[str, tuple[str, list[tuple[object, ...]]]],
    db: Path,
    chunk: int = CHUNK,
) -> float:
    dialect = Dialect()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    for statements in MIGRATIONS:
        for statement in statements:
            conn.execute(dialect.schema(statement))
    parts = max(1, (len(lines) + chunk - 1) // chunk)
    started = time.perf_counter()
    for part in range(parts):
        for line in lines[part * chunk : (part + 1) * chunk]:
            json.loads(line)
        conn.execute("BEGIN IMMEDIATE")
        for sql, table_rows in rows.values():
            size = (len(table_rows) + parts - 1) // parts
            conn.executemany(sql, table_rows[part * size : (part + 1) * size])
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="one round of at least 50k events, under a minute"
    )
    parser.add_argument(
        "--events",
        type=int,
        default=None,
        help="at least this many events (default 200000, or 50000 with --quick)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--chunk",
        type=int,
        default=CHUNK,
        help=f"messages per payload and per transaction (default {CHUNK}, as a collector sends)",
    )
    args = parser.parse_args()
    rounds = 1 if args.quick else 3
    if args.events is None:
        args.events = 50_000 if args.quick else 200_000
    lines = stream(args.events, args.seed)
    payloads = chunks(lines, args.chunk)
    n = len(lines)
    print(f"# {n} events in {len(payloads)} payloads of up to {args.chunk}", file=sys.stderr)

    best_memory = min(run_omnikit("memory://", payloads, args.chunk) for _ in range(rounds))
    best_memory_base = min(baseline_memory(lines) for _ in range(rounds))
    report("memory", n, best_memory, best_memory_base)

    with tempfile.TemporaryDirectory() as tmp:
        ours: list[float] = []
        for r in range(rounds):
            db = Path(tmp) / f"omnikit-{r}.db"
            ours.append(run_omnikit(f"sqlite:///{db}", payloads, args.chunk))
        rows = written_rows(Path(tmp) / "omnikit-0.db")
        base = [
            baseline_sqlite(lines, rows, Path(tmp) / f"baseline-{r}.db", args.chunk)
            for r in range(rounds)
        ]
        report("sqlite", n, min(ours), min(base))
        history = Path(tmp) / "history.ndjson"
        history.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        loaded = [
            run_load(f"sqlite:///{Path(tmp) / f'load-{r}.db'}", history, args.chunk)
            for r in range(rounds)
        ]
        report("load-sqlite", n, min(loaded), min(base))
        lookups(Path(tmp) / "omnikit-0.db", rounds)
    return 0


def lookups(db: Path, rounds: int, count: int = 2000) -> None:
    """`hub.customer(email=...)` against the raw lookup of the same rows, on *db*."""
    conn = sqlite3.connect(db)
    emails = [
        v for (v,) in conn.execute("SELECT value FROM omnikit_identities WHERE kind = 'email'")
    ]
    sample = [emails[(i * 7919) % len(emails)] for i in range(count)]

    def raw() -> float:
        started = time.perf_counter()
        for email in sample:
            (owner,) = conn.execute(
                "SELECT owner FROM omnikit_identities WHERE kind = 'email' AND value = ?", (email,)
            ).fetchone()
            row = conn.execute(
                "SELECT id, cluster, first_us, first_message_id, members, profile "
                "FROM omnikit_customers WHERE id = ?",
                (owner,),
            ).fetchone()
            json.loads(row[4])
            json.loads(row[5])
        return time.perf_counter() - started

    with omnikit.Hub.open(f"sqlite:///{db}", default_region="PT") as hub:

        def ours(recent: int) -> float:
            started = time.perf_counter()
            for email in sample:
                hub.customer(email=email, recent=recent)
            return time.perf_counter() - started

        base = min(raw() for _ in range(rounds))
        report("lookup-sqlite", count, min(ours(0) for _ in range(rounds)), base, unit="lookups")
        report(
            "lookup-sqlite-recent",
            count,
            min(ours(10) for _ in range(rounds)),
            base,
            unit="lookups",
        )
    conn.close()


def report(
    case: str, n: int, seconds: float, baseline_seconds: float, *, unit: str = "events"
) -> None:
    per_s, baseline_per_s = n / seconds, n / baseline_seconds
    print(
        json.dumps(
            {
                "case": case,
                unit: n,
                "per_s": round(per_s),
                "baseline_per_s": round(baseline_per_s),
                "ratio": round(per_s / baseline_per_s, 3),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    raise SystemExit(main())
