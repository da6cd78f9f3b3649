"""The store contract, run on every store omnikit ships."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from omnikit.stores import Store
from omnikit.stores.memory import MemoryStore
from omnikit.stores.postgres import PostgresStore
from omnikit.stores.sqlite import SQLiteStore
from omnikit.testing import StoreContract


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
