"""
Loading history from files: the messages of NDJSON, JSON-array and Parquet files, in batches.

`Hub.load()` hands each batch to the hub's ingestion, with the text of each line (which need
not be encoded again), so that a load gives exactly what ingesting the same messages gives;
what is here finds the files, reads them a message at a time, and keeps the tally of what
became of each file's lines: one flow (`load_flow`), which both hubs drive.
"""

from __future__ import annotations

import functools
import glob
import gzip
import io
import os
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Final, NamedTuple

from omnikit._engines.values import decode
from omnikit._hub.flows import Blocking, HubFlow
from omnikit._models.results import IngestResult, LoadRejection, LoadReport
from omnikit.errors import OmnikitError, ValidationError

__all__ = ["FORMATS", "LoadPath", "find_files", "load_flow", "read_messages"]

LoadPath = str | os.PathLike[str] | Iterable[str | os.PathLike[str]]
"""A file, a folder, a glob, or several of them."""

FORMATS: Final = {".ndjson": "lines", ".jsonl": "lines", ".json": "json", ".parquet": "parquet"}
"""The formats `Hub.load()` reads, by the file name's suffix (before a `.gz`)."""

_GLOB = re.compile(r"[*?\[]")

Entry = tuple[int, Any]
"""
A message's line (or position) in its file, and the message, the error reading it, or the
line's bytes (to decode when it is ingested).
"""


class Read(NamedTuple):
    """A message read from a line of JSON, and the line when it can be stored as it is."""

    message: Any
    text: str | None


def _format(path: Path) -> str | None:
    """The format of *path* by its name (`shop.ndjson.gz` is NDJSON), or `None`."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
        found = FORMATS.get(suffixes[-1]) if suffixes else None
        return None if found == "parquet" else found  # Parquet compresses inside
    return FORMATS.get(suffixes[-1]) if suffixes else None


def _unknown(path: object) -> ValidationError:
    known = ", ".join(sorted(FORMATS))
    return ValidationError(
        f"path: {str(path)!r} is of no format load reads ({known}, optionally gzipped as .gz)"
    )


def _expand(given: str | os.PathLike[str]) -> list[Path]:
    text = os.fspath(given)
    if _GLOB.search(text) and not Path(text).exists():
        matched = sorted(Path(p) for p in glob.glob(text, recursive=True))  # noqa: PTH207
        files = [p for p in matched if p.is_file() and _format(p) is not None]
        if not files:
            raise ValidationError(f"path: no file of a format load reads matches {text!r}")
        return files
    path = Path(text)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and _format(p) is not None)
        if not files:
            raise ValidationError(f"path: the folder {text!r} holds no file load reads")
        return files
    if not path.is_file():
        raise ValidationError(f"path: no such file or folder: {text!r}")
    if _format(path) is None:
        raise _unknown(text)
    return [path]


def find_files(path: LoadPath) -> list[Path]:
    """
    The files *path* names, in order, each once.

    A file, a folder's files (its sub-folders' too, by name), a glob's matches (`**`
    included), or several of these.

    Raises:
        ValidationError: If a path names nothing, a folder or glob nothing readable, or a
            file is of no format load reads.
    """
    givens = [path] if isinstance(path, str | os.PathLike) else list(path)
    if not givens:
        raise ValidationError("path: no file given")
    seen: dict[Path, None] = {}
    for given in givens:
        for found in _expand(given):
            seen.setdefault(found, None)
    return list(seen)


# -- reading ---------------------------------------------------------------------------------


_File = gzip.GzipFile | io.BufferedReader


def _open(path: Path) -> _File:
    if path.suffix.lower() == ".gz":
        return gzip.open(path, "rb")
    return path.open("rb")


def _decoded(raw: bytes) -> Read | ValidationError:
    """The message a line holds, with its text; or the error saying why it holds none."""
    try:
        text = raw.decode()
    except UnicodeDecodeError as exc:
        return ValidationError(f"message: not UTF-8 text ({exc})")
    try:
        message, storable = decode(text, "message")
    except ValidationError as exc:
        return exc
    return Read(message, text.rstrip("\n") if storable else None)


def _lines(file: Iterable[bytes]) -> Iterator[Entry]:
    """
    One message per line, as bytes: lines end at a line feed only, as in `Hub.ingest()`.

    A line is decoded only when it is ingested (see `_decoded`), so that its message lives
    no longer than it takes to read it.
    """
    number = 0
    try:
        for number, raw in enumerate(file, start=1):
            if raw.strip():
                yield number, raw
    except _BROKEN as exc:
        yield number + 1, _broken(exc)


def _json(file: _File) -> Iterator[Entry]:
    """A JSON array of messages, or (when the text starts otherwise) one message per line."""
    head = file.peek(64)
    if head.lstrip()[:1] != b"[":
        yield from _lines(file)
        return
    try:
        text = file.read().decode()
    except UnicodeDecodeError as exc:
        yield 1, ValidationError(f"file: not UTF-8 text ({exc})")
        return
    except _BROKEN as exc:
        yield 1, _broken(exc)
        return
    try:
        document, _ = decode(text, "file")
    except ValidationError as exc:
        where = re.search(r"line (\d+)", str(exc))
        yield (int(where.group(1)) if where else 1), exc
        return
    yield from enumerate(document, start=1)


_BROKEN: Final = (OSError, EOFError, zlib.error)
"""What reading a truncated or corrupt gzip file raises."""


def _broken(exc: BaseException) -> ValidationError:
    return ValidationError(f"file: cannot be read from here on ({exc})")


def _without_nulls(value: Any) -> Any:
    """A Parquet row as a message: null means absent (every row has every column)."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _pyarrow_parquet(path: Path) -> Any:
    try:
        import pyarrow.parquet as pq  # noqa: PLC0415 - an optional dependency
    except ImportError:
        raise ValidationError(
            f"path: reading Parquet ({str(path)!r}) needs pyarrow: pip install 'omnikit[load]'"
        ) from None
    return pq


def _parquet(path: Path) -> Iterator[Entry]:
    pq = _pyarrow_parquet(path)
    position = 0
    try:  # pyarrow's errors reading a file are OSErrors and ValueErrors (ArrowInvalid)
        for batch in pq.ParquetFile(path).iter_batches(batch_size=4096):
            for row in batch.to_pylist():
                position += 1
                yield position, _without_nulls(row)
    except (OSError, ValueError) as exc:
        yield position + 1, ValidationError(f"file: not Parquet, or broken here ({exc})")


def read_messages(path: Path) -> Iterator[Entry]:
    """
    The messages of the file *path*, each with its line (or position) in the file.

    A line that is not JSON comes as the `ValidationError` saying so, in the message's place.

    Raises:
        ValidationError: If the file is of no format load reads, or is Parquet and pyarrow
            is not installed.
    """
    kind = _format(path)
    if kind is None:
        raise _unknown(path)
    for line, item in _entries(path, kind):
        yield line, _decoded(item) if isinstance(item, bytes) else item


def _entries(path: Path, kind: str) -> Iterator[Entry]:
    """`read_messages`, with the lines of line formats left as bytes."""
    if kind == "parquet":
        yield from _parquet(path)
        return
    with _open(path) as file:
        yield from _lines(file) if kind == "lines" else _json(file)


# -- loading ---------------------------------------------------------------------------------


class _Tally:
    """What became of the lines read so far."""

    def __init__(self) -> None:
        self.files: list[str] = []
        self.accepted = self.duplicates = self.suppressed = 0
        self.rejected: list[LoadRejection] = []
        self._index: dict[str, int] = {}

    def start(self, name: str) -> None:
        self._index[name] = len(self.files)
        self.files.append(name)

    def add(self, result: IngestResult, where: list[tuple[str, int]]) -> None:
        self.accepted += len(result.accepted)
        self.duplicates += len(result.duplicates)
        self.suppressed += len(result.suppressed)
        for rejection in result.rejected:
            path, line = where[rejection.index]
            self.rejected.append(LoadRejection(path, line, "; ".join(rejection.error.errors)))

    def report(self) -> LoadReport:
        return LoadReport(
            files=tuple(self.files),
            lines=self.accepted + self.duplicates + self.suppressed + len(self.rejected),
            accepted=self.accepted,
            duplicates=self.duplicates,
            suppressed=self.suppressed,
            rejected=tuple(sorted(self.rejected, key=self._order)),
        )

    def _order(self, rejection: LoadRejection) -> tuple[int, int]:
        return self._index[rejection.path], rejection.line


def _batches(files: list[Path], size: int, tally: _Tally) -> Iterator[list[tuple[str, int, Any]]]:
    batch: list[tuple[str, int, Any]] = []
    for path in files:
        name = str(path)
        tally.start(name)
        kind = _format(path)
        if kind is None:
            raise _unknown(path)
        for line, item in _entries(path, kind):
            batch.append((name, line, item))
            if len(batch) >= size:
                yield batch
                batch = []
    if batch:
        yield batch


def _messages(batch: list[tuple[str, int, Any]]) -> Iterator[tuple[Any, str | None]]:
    """
    The messages of *batch*, each with its text, decoded as they are asked for.

    A line that is not a message comes as the `ValidationError` saying why, for ingestion to
    reject it with its index in the batch.
    """
    for _, _, item in batch:
        read = _decoded(item) if isinstance(item, bytes) else item
        if isinstance(read, Read):
            yield read
        else:  # a message, or an error
            yield read, None


def load_flow(
    ingest: Callable[[Iterable[tuple[Any, str | None]]], HubFlow[IngestResult]],
    path: LoadPath,
    *,
    batch_size: int,
    chunk_size: int | None = None,
    progress: Callable[[LoadReport], None] | None = None,
) -> HubFlow[LoadReport]:
    """
    Read the files *path* names and hand their messages to the flow *ingest*, *batch_size* at a time.

    *progress* is called with the report so far after each batch. With *chunk_size*, a
    batch goes to *ingest* in parts of that many lines (the size of the transactions
    *ingest* commits): what one part reads dies before the next is read, young, instead of
    living through the whole batch into the garbage collector's oldest generation.

    Finding the files and reading each batch are `Blocking` work: the async hub does them in
    a worker thread, the event loop going on meanwhile.

    Raises:
        ValidationError: If *path* names nothing readable, or *batch_size* is not positive.
        OmnikitError: Whatever *ingest* raises (a `StoreError`), with `error.partial` the
            `LoadReport` of what was done before it.
    """
    _require_positive("batch_size", batch_size)
    files: list[Path] = yield Blocking(functools.partial(_loadable, path))
    tally = _Tally()
    step = batch_size if chunk_size is None else chunk_size
    batches = _batches(files, batch_size, tally)
    # Not closed here when the flow ends early: a cancelled async load may still be reading
    # in its thread; the batches close when the last of them is dropped.
    while batch := (yield Blocking(functools.partial(next, batches, None))):
        for start in range(0, len(batch), step):
            yield from _ingest_part(ingest, batch[start : start + step], tally)
        if progress is not None:
            progress(tally.report())
    return tally.report()


def _loadable(path: LoadPath) -> list[Path]:
    """The files *path* names, each checked to be readable here before anything is loaded."""
    files = find_files(path)
    for found in files:
        if _format(found) == "parquet":
            _pyarrow_parquet(found)
    return files


def _ingest_part(
    ingest: Callable[[Iterable[tuple[Any, str | None]]], HubFlow[IngestResult]],
    part: list[tuple[str, int, Any]],
    tally: _Tally,
) -> HubFlow[None]:
    where = [(name, line) for name, line, _ in part]
    try:
        result = yield from ingest(_messages(part))
    except OmnikitError as exc:
        if isinstance(exc.partial, IngestResult):
            tally.add(exc.partial, where)
        exc.partial = tally.report()
        raise
    tally.add(result, where)


def _require_positive(field: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(f"{field}: expected a positive integer, got {value!r}")
