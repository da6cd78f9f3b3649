"""
How the SQL stores' queries meet a cursor, sync or async.

Each query is a flow: a generator that yields the statements it needs, as `(what, sql,
params)`, and receives what each returns. `run` drives a flow over a DB-API cursor (sqlite3,
psycopg), `arun` over an async one (psycopg's `AsyncCursor`); the queries are written once.

```python
def count(kind: str) -> Flow[int]:
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
    "Flow",
    "arun",
    "run",
]

_T = TypeVar("_T")

EXECUTE = 0
"""Run the statement; the flow receives `None`."""
FETCH_ONE = 1
"""Run the statement; the flow receives its first row, or `None`."""
FETCH_ALL = 2
"""Run the statement; the flow receives the list of its rows."""
EXECUTE_MANY = 3
"""Run the statement once per parameter row (`params` is an iterable of them); `None`."""

Request = tuple[int, str, Any]
"""What a flow yields: `(what, sql, params)`, *what* one of the four constants above."""
Flow = Generator[Request, Any, _T]
"""A query: statements out, rows in, its answer returned."""


class Cursor(Protocol):
    """The part of a DB-API cursor the flows use."""

    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Any: ...
    def executemany(self, sql: str, params: Iterable[Sequence[Any]], /) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def fetchone(self) -> Any: ...


class AsyncCursor(Protocol):
    """The part of an async cursor (psycopg's `AsyncCursor`) the flows use."""

    async def execute(self, query: Any, params: Any = ..., /) -> Any: ...
    async def executemany(self, query: Any, params_seq: Any, /) -> Any: ...
    async def fetchall(self) -> list[Any]: ...
    async def fetchone(self) -> Any: ...


def run(cur: Cursor, flow: Flow[_T]) -> _T:
    """Drive *flow* over the sync cursor *cur*; its answer."""
    answer: Any = None
    try:
        while True:
            what, sql, params = flow.send(answer)
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
        return done.value  # type: ignore[no-any-return]  # the flow's return value


async def arun(cur: AsyncCursor, flow: Flow[_T]) -> _T:
    """Drive *flow* over the async cursor *cur*; its answer."""
    answer: Any = None
    try:
        while True:
            what, sql, params = flow.send(answer)
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
        return done.value  # type: ignore[no-any-return]  # the flow's return value
