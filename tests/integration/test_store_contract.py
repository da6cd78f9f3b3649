"""The store contracts, sync and async, run on every store omnikit ships."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from omnikit.stores import AsyncStore, Store
from omnikit.stores.memory import MemoryStore
from omnikit.stores.postgres import AsyncPostgresStore, PostgresStore
from omnikit.stores.sqlite import SQLiteStore
from omnikit.testing import AsyncStoreContract, StoreContract


class TestMemoryStore(StoreContract):
    @pytest.fixture
    def store(self) -> Store:
        return MemoryStore()


class TestSQLiteStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[Store]:
        store = SQLiteStore(tmp_path / "contract.db")
        yield store
        store.close()


@pytest.mark.postgres
class TestPostgresStore(StoreContract):
    @pytest.fixture
    def store(self, postgres_url: str) -> Iterator[Store]:
        store = PostgresStore(postgres_url, schema=f"c_{uuid.uuid4().hex[:12]}")
        yield store
        store.close()


@pytest.mark.postgres
class TestAsyncPostgresStore(AsyncStoreContract):
    @pytest.fixture
    def open_async_store(self, postgres_url: str) -> Callable[[], Awaitable[AsyncStore]]:
        async def open_store() -> AsyncStore:
            schema = f"c_{uuid.uuid4().hex[:12]}"
            return await AsyncPostgresStore.aopen(f"{postgres_url}?schema={schema}")

        return open_store


@pytest.mark.postgres
class TestAsyncPostgresStoreOnOneConnection(AsyncStoreContract):
    """With one connection, a task's reads inside its transaction share that connection."""

    @pytest.fixture
    def open_async_store(self, postgres_url: str) -> Callable[[], Awaitable[AsyncStore]]:
        async def open_store() -> AsyncStore:
            schema = f"c_{uuid.uuid4().hex[:12]}"
            url = f"{postgres_url}?schema={schema}&max_connections=1"
            return await AsyncPostgresStore.aopen(url)

        return open_store
