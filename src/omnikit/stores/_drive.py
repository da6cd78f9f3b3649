"""
How the SQL stores' queries meet a cursor, sync or async.

Each query is written as `Statements`: a generator that yields the statements it needs, as
`(what, sql, params)`, and receives what each returns. `run` runs them over a DB-API cursor
(sqlite3, psycopg), `arun` over an async one (psycopg's `AsyncCursor`); the queries are
written once. (The engines' flows of store requests and the hub's are other generators:
`omnikit._engines.ingest.EngineFlow`, `omnikit._hub.flows.HubFlow`.)

```python
def count(kind: str) -> Statements[int]:
    (n,) = yield FETCH_ONE, "SELECT COUNT(*) FROM omnikit_identities WHERE kind = ?", [kind]
    return int(n)
```
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Sequence
from typing import Any, Protocol, TypeVar

__all__ = [
    "EXECUTE",
    "EXECUTE_MANY",
    "FETCH_ALL",
    "FETCH_ONE",
    "AsyncCursor",
    "Cursor",
    "Statement",
    "Statements",
    "arun",
    "run",
]

_T = TypeVar("_T")

EXECUTE = 0
"""Run the statement; the query receives `None`."""
FETCH_ONE = 1
"""Run the statement; the query receives its first row, or `None`."""
FETCH_ALL = 2
"""Run the statement; the query receives the list of its rows."""
EXECUTE_MANY = 3
"""Run the statement once per parameter row (`params` is an iterable of them); `None`."""

Statement = tuple[int, str, Any]
"""What a query yields: `(what, sql, params)`, *what* one of the four constants above."""
Statements = Generator[Statement, Any, _T]
"""A query: statements out, rows in, its answer returned."""


class Cursor(Protocol):
    """The part of a DB-API cursor the queries use."""

    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Any: ...
    def executemany(self, sql: str, params: Iterable[Sequence[Any]], /) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def fetchone(self) -> Any: ...


class AsyncCursor(Protocol):
    """The part of an async cursor (psycopg's `AsyncCursor`) the queries use."""

    async def execute(self, query: Any, params: Any = ..., /) -> Any: ...
    async def executemany(self, query: Any, params_seq: Any, /) -> Any: ...
    async def fetchall(self) -> list[Any]: ...
    async def fetchone(self) -> Any: ...


def run(cur: Cursor, query: Statements[_T]) -> _T:
    """Run the statements of *query* over the sync cursor *cur*; its answer."""
    answer: Any = None
    try:
        while True:
            what, sql, params = query.send(answer)
            if what == EXECUTE_MANY:
                cur.executemany(sql, params)
                answer = None
                continue
            cur.execute(sql, params)
            if what == FETCH_ALL:
                answer = cur.fetchall()
            elif what == FETCH_ONE:
                answer = cur.fetchone()
            else:
                answer = None
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]  # the query's return value


async def arun(cur: AsyncCursor, query: Statements[_T]) -> _T:
    """Run the statements of *query* over the async cursor *cur*; its answer."""
    answer: Any = None
    try:
        while True:
            what, sql, params = query.send(answer)
            if what == EXECUTE_MANY:
                await cur.executemany(sql, params)
                answer = None
                continue
            await cur.execute(sql, params)
            if what == FETCH_ALL:
                answer = await cur.fetchall()
            elif what == FETCH_ONE:
                answer = await cur.fetchone()
            else:
                answer = None
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]  # the query's return value
