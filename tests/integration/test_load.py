"""
`Hub.load()` and `omnikit load`: history from files, exactly as ingesting it would be.

A load is compared with `Hub.ingest()` of the same messages (the simulated retailer, and
random streams split over files of every format); bad lines are reported by file and line
and the good ones kept; a store failing part-way loses nothing committed, and the same load
run again finishes the job without storing anything twice.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

import omnikit
from _faults import write_locked
from omnikit._cli import main
from omnikit.errors import StoreUnavailableError, ValidationError
from omnikit.stores.sqlite import SQLiteStore
from omnikit.testing import FrozenClock, Retailer
from strategies import streams

T0 = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
RETAILER_NOW = dt.datetime(2026, 11, 15, tzinfo=dt.UTC)


def state(hub: omnikit.Hub) -> dict[str, Any]:
    """Every customer whole, with their touchpoints, merges and links, by customer id."""
    return {
        customer.id: (
            customer,
            hub.touchpoints(customer),
            hub.merges(customer),
            hub.links(customer),
        )
        for customer in hub.customers()
    }


def write(path: Path, messages: list[dict[str, Any]]) -> Path:
    """*messages* in the format *path*'s name says: NDJSON, a JSON array, maybe gzipped."""
    if ".ndjson" in path.name or ".jsonl" in path.name:
        text = "".join(json.dumps(m) + "\n" for m in messages)
    else:
        text = json.dumps(messages, indent=1)
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text, encoding="utf-8")
    return path


def track(message_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": "track",
        "event": "Product Viewed",
        "anonymousId": f"a-{message_id}",
        "messageId": message_id,
        "timestamp": "2026-11-01T10:00:00Z",
        **fields,
    }


# -- the same as ingest ------------------------------------------------------------------------


def test_load_gives_what_ingest_gives_on_the_retailer(tmp_path: Path) -> None:
    """
    The simulated retailer's history, split over NDJSON, gzipped JSON lines and a JSON
    array, loads into SQLite as the same customers, identities, touchpoints and audit trail
    as one `ingest` of the same messages, with the same counts.
    """
    messages = list(Retailer(60, seed=3, impostors=2).messages())
    third = len(messages) // 3
    (tmp_path / "h").mkdir()
    write(tmp_path / "h" / "1.ndjson", messages[:third])
    write(tmp_path / "h" / "2.jsonl.gz", messages[third : 2 * third])
    write(tmp_path / "h" / "3.json", messages[2 * third :])
    options: dict[str, Any] = {"clock": FrozenClock(RETAILER_NOW), "default_region": "PT"}

    with omnikit.Hub(f"sqlite:///{tmp_path / 'ingested.db'}", **options) as ingested:
        result = ingested.ingest(messages)
        expected = state(ingested)
    with omnikit.Hub(f"sqlite:///{tmp_path / 'loaded.db'}", **options) as loaded:
        report = loaded.load(tmp_path / "h", batch_size=500)

        assert expected == state(loaded)
    assert [str(tmp_path / "h" / n) for n in ("1.ndjson", "2.jsonl.gz", "3.json")] == list(
        report.files
    )
    assert len(messages) == report.lines
    assert len(result.accepted) == report.accepted
    assert len(result.duplicates) == report.duplicates > 0  # the retailer's retries
    assert () == report.rejected == result.rejected


@given(
    stream=streams(max_size=40),
    data=st.data(),
)
def test_load_of_random_streams_split_over_files_is_ingest(
    stream: list[dict[str, Any]], data: st.DataObject
) -> None:
    """
    A random stream cut into files of random formats and loaded in random batch sizes gives
    what ingesting it gives, and accounts for every message.
    """
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=4)))
    parts = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    names = data.draw(
        st.lists(
            st.sampled_from(("ndjson", "jsonl.gz", "json", "json.gz")),
            min_size=len(parts),
            max_size=len(parts),
        )
    )
    batch_size = data.draw(st.integers(1, 50))
    reference = omnikit.Hub(clock=FrozenClock(T0))
    result = reference.ingest(stream)
    with tempfile.TemporaryDirectory() as folder:
        for i, (part, name) in enumerate(zip(parts, names, strict=True)):
            write(Path(folder) / f"part-{i:02d}.{name}", part)
        hub = omnikit.Hub(clock=FrozenClock(T0))
        report = hub.load(folder, batch_size=batch_size)

    assert state(reference) == state(hub)
    assert len(stream) == report.lines
    assert (len(result.accepted), len(result.duplicates)) == (report.accepted, report.duplicates)
    assert report.ok


def test_parquet_rows_load_as_their_messages(tmp_path: Path) -> None:
    """
    Each Parquet row is a message; a null column is an absent field; a timestamp column
    is read as the time it holds. The result is what ingesting the messages gives.
    """
    messages = [
        track("m1", userId="u1", properties={"sku": "S-1", "price": 9.5}),
        track("m2", context={"traits": {"email": "ana@example.com"}}),
        {
            "type": "identify",
            "userId": "u1",
            "anonymousId": "a-m2",
            "traits": {"name": "Ana"},
            "messageId": "m3",
            "timestamp": "2026-11-01T11:00:00Z",
        },
    ]
    columns = sorted({key for m in messages for key in m})
    rows = [{key: m.get(key) for key in columns} for m in messages]  # every row every column
    table = pa.Table.from_pylist(
        [{**row, "timestamp": dt.datetime.fromisoformat(row["timestamp"])} for row in rows]
    )
    pq.write_table(table, tmp_path / "history.parquet")
    reference = omnikit.Hub(clock=FrozenClock(T0))
    reference.ingest(messages).raise_for_failures()

    hub = omnikit.Hub(clock=FrozenClock(T0))
    report = hub.load(tmp_path / "history.parquet")

    assert (3, 3, ()) == (report.lines, report.accepted, report.rejected)
    assert state(reference) == state(hub)


def test_parquet_without_pyarrow_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """
    Without pyarrow, a load with a Parquet file is refused with the extra that reads it,
    before anything is loaded.
    """
    write(tmp_path / "a.ndjson", [track("m0")])
    pq.write_table(pa.Table.from_pylist([track("m1")]), tmp_path / "b.parquet")
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    hub = omnikit.Hub()

    with pytest.raises(ValidationError, match=r"pip install 'omnikit\[load\]'"):
        hub.load(tmp_path)
    assert [] == list(hub.customers())


def test_a_file_that_is_not_parquet_is_one_rejected_line(tmp_path: Path) -> None:
    """A `.parquet` file pyarrow cannot read is rejected at its first row; the rest loads."""
    (tmp_path / "a.parquet").write_bytes(b"not parquet at all")
    write(tmp_path / "b.ndjson", [track("m1")])

    report = omnikit.Hub(clock=FrozenClock(T0)).load(tmp_path)

    assert [(str(tmp_path / "a.parquet"), 1)] == [(r.path, r.line) for r in report.rejected]
    assert "not Parquet" in report.rejected[0].reason
    assert 1 == report.accepted


# -- bad lines ----------------------------------------------------------------------------------


def test_bad_lines_are_reported_by_file_and_line_and_the_good_ones_kept(tmp_path: Path) -> None:
    """
    Lines that are not JSON, not UTF-8, or not valid messages are rejected with their file
    and line (blank lines counted, not loaded); every other line is stored.
    """
    lines = [
        json.dumps(track("m1")).encode(),
        b"",
        b"{not json",
        json.dumps({"type": "track", "messageId": "m2"}).encode(),
        b"\xff\xfe",
        json.dumps(track("m3")).encode(),
    ]
    (tmp_path / "a.ndjson").write_bytes(b"\n".join(lines) + b"\n")
    write(tmp_path / "b.json", [track("m4"), ["not", "a", "message"]])
    hub = omnikit.Hub(clock=FrozenClock(T0))

    report = hub.load([tmp_path / "a.ndjson", tmp_path / "b.json"], batch_size=2)

    a, b = str(tmp_path / "a.ndjson"), str(tmp_path / "b.json")
    assert [(a, 3), (a, 4), (a, 5), (b, 2)] == [(r.path, r.line) for r in report.rejected]
    assert "not valid JSON" in report.rejected[0].reason
    assert "event: required field is missing" in report.rejected[1].reason
    assert "not UTF-8" in report.rejected[2].reason
    assert (7, 3) == (report.lines, report.accepted)
    assert {"m1", "m3", "m4"} == {
        tp.message_id for c in hub.customers() for tp in hub.touchpoints(c)
    }
    with pytest.raises(ExceptionGroup, match="4 of 7 messages rejected") as info:
        report.raise_for_failures()
    assert str(info.value.exceptions[0]).startswith(f"{a}:3: ")


def test_a_truncated_gzip_file_keeps_what_was_read(tmp_path: Path) -> None:
    """A gzip file cut short is one rejected line past what was read; what was read loads."""
    data = gzip.compress("".join(json.dumps(track(f"m{i}")) + "\n" for i in range(50)).encode())
    (tmp_path / "cut.ndjson.gz").write_bytes(data[: len(data) // 2])

    report = omnikit.Hub(clock=FrozenClock(T0)).load(tmp_path / "cut.ndjson.gz")

    assert 1 == len(report.rejected)
    assert "cannot be read" in report.rejected[0].reason
    assert report.accepted > 0
    assert report.lines == report.accepted + 1


def test_what_a_path_names(tmp_path: Path) -> None:
    """
    A folder's files (sub-folders too) and a glob's matches load in name order, each once;
    files of other formats in a folder are left alone; a path naming nothing readable is
    refused.
    """
    (tmp_path / "d" / "sub").mkdir(parents=True)
    write(tmp_path / "d" / "b.ndjson", [track("m2")])
    write(tmp_path / "d" / "a.jsonl", [track("m1")])
    write(tmp_path / "d" / "sub" / "c.json", [track("m3")])
    (tmp_path / "d" / "README.txt").write_text("not history")
    hub = omnikit.Hub(clock=FrozenClock(T0))

    by_folder = hub.load(tmp_path / "d")
    by_glob = hub.load([str(tmp_path / "d" / "**" / "*.json*"), tmp_path / "d" / "a.jsonl"])

    assert ["a.jsonl", "b.ndjson", "c.json"] == [Path(f).name for f in by_folder.files]
    assert (3, 0) == (by_folder.accepted, by_folder.duplicates)
    assert ["a.jsonl", "c.json"] == [Path(f).name for f in by_glob.files]
    assert (0, 2) == (by_glob.accepted, by_glob.duplicates)
    with pytest.raises(ValidationError, match="path: no such file"):
        hub.load(tmp_path / "missing.ndjson")
    with pytest.raises(ValidationError, match="path: no file of a format"):
        hub.load(str(tmp_path / "*.csv"))
    with pytest.raises(ValidationError, match=r"path: .*README.txt.* of no format"):
        hub.load(tmp_path / "d" / "README.txt")
    with pytest.raises(ValidationError, match="batch_size: expected a positive integer"):
        hub.load(tmp_path / "d", batch_size=0)


# -- failing part-way, and resuming -------------------------------------------------------------


class _LockedAfter(SQLiteStore):
    """Real SQLite whose write lock another connection takes after *commits* transactions."""

    commits: int | None = None

    def _begin(self, conn: Any) -> None:
        if self.commits is not None:
            if self.commits == 0:
                with write_locked(self.path):
                    super()._begin(conn)
            self.commits -= 1
        super()._begin(conn)


def test_a_store_failing_part_way_loses_nothing_and_a_rerun_resumes(tmp_path: Path) -> None:
    """
    The store locked after three transactions (the first batch of 25 read): the load raises StoreUnavailableError whose
    partial report counts what was committed, all of it stored. Running the same load again
    stores the rest, each message once, as one ingest of everything would.
    """
    messages = [track(f"m{i:03d}", userId=f"u{i % 7}") for i in range(100)]
    write(tmp_path / "one.ndjson", messages[:60])
    write(tmp_path / "two.ndjson.gz", messages[60:])
    path = tmp_path / "shop.db"
    options: dict[str, Any] = {"clock": FrozenClock(T0), "batch_size": 10}
    store = _LockedAfter(path, timeout=0.05)
    with omnikit.Hub(store, **options) as hub:
        store.commits = 4
        with pytest.raises(StoreUnavailableError, match="locked") as info:
            hub.load(tmp_path, batch_size=25)

        partial = info.value.partial
        assert isinstance(partial, omnikit.LoadReport)
        assert 35 == partial.accepted == hub.store.touchpoint_counts()["web"]
    with omnikit.Hub(SQLiteStore(path), **options) as hub:
        rerun = hub.load(tmp_path, batch_size=25)
        loaded = state(hub)
        stored = [tp.message_id for c in hub.customers() for tp in hub.touchpoints(c)]
    reference = omnikit.Hub(**options)
    reference.ingest(messages)

    assert (65, 35, 100) == (rerun.accepted, rerun.duplicates, rerun.lines)
    assert sorted(m["messageId"] for m in messages) == sorted(stored)
    assert state(reference) == loaded


# -- async ------------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_async_hub_loads(tmp_path: Path, anyio_backend: str) -> None:
    """`await AsyncHub.load()` is `Hub.load()`."""
    write(tmp_path / "h.ndjson", [track("m1"), track("m2")])
    async with omnikit.AsyncHub(clock=FrozenClock(T0)) as hub:
        report = await hub.load(tmp_path / "h.ndjson")

        assert (2, 2) == (report.lines, report.accepted)
        assert await hub.customer(anonymous_id="a-m2") is not None


# -- the command line ---------------------------------------------------------------------------


def test_the_command_loads_and_says_what_became_of_every_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """
    `omnikit load` prints a summary and the rejected lines; it exits 1 when lines were
    rejected, 0 when all loaded or were there already, 2 when a path names nothing; with
    output that is not a terminal, it draws no progress bar.
    """
    write(tmp_path / "a.ndjson", [track("m1"), {"type": "track", "messageId": "m2"}])
    db = tmp_path / "shop.db"

    assert 1 == main(["load", str(tmp_path / "a.ndjson"), "--db", str(db)])
    out, err = capsys.readouterr()
    assert "2 messages from 1 file" in out
    assert "1 new, 0 already there, 0 suppressed, 1 rejected" in out
    assert f"{tmp_path / 'a.ndjson'}:2: event: required field is missing" in out
    assert "" == err

    write(tmp_path / "a.ndjson", [track("m1")])
    assert 0 == main(["load", str(tmp_path / "a.ndjson"), "--db", f"sqlite:///{db}"])
    assert "0 new, 1 already there" in capsys.readouterr().out

    assert 2 == main(["load", str(tmp_path / "none.ndjson"), "--db", str(db)])
    assert "no such file" in capsys.readouterr().err


def test_the_command_help_states_the_exit_status(capsys: pytest.CaptureFixture[str]) -> None:
    """`omnikit load --help` says which exit status means lines were rejected."""
    with pytest.raises(SystemExit):
        main(["load", "--help"])

    assert "1 when some were rejected" in " ".join(capsys.readouterr().out.split())
