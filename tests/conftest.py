"""Shared fixtures: stores of every kind, hubs on them, a frozen clock."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

import omnikit
from _postgres import running_postgres
from omnikit.stores import Store, open_store
from omnikit.testing import FrozenClock

settings.register_profile("dev", max_examples=50, deadline=None)
settings.register_profile(
    "ci", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

T0 = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)

STORE_KINDS = ("memory", "sqlite", "postgres")


@pytest.fixture(name="postgres_url", scope="session")
def _postgres_url() -> Iterator[str]:
    given = os.environ.get("OMNIKIT_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    with running_postgres() as url:
        yield url


@pytest.fixture(name="store_url")
def _store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    kind = getattr(request, "param", "memory")
    if kind == "memory":
        return "memory://"
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'omnikit.db'}"
    base = request.getfixturevalue("postgres_url")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    return f"{base}?schema={schema}"


@pytest.fixture(name="store")
def _store(store_url: str) -> Iterator[Store]:
    store = open_store(store_url)
    yield store
    store.close()


@pytest.fixture(name="clock")
def _clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture(name="hub")
def _hub(store: Store, clock: FrozenClock) -> Iterator[omnikit.Hub]:
    with omnikit.Hub(store, clock=clock) as hub:
        yield hub


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every test that uses a store once per store kind, unless it picks its own."""
    if "store_url" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("stores")
        kinds = marker.args if marker else STORE_KINDS
        metafunc.parametrize(
            "store_url",
            [
                pytest.param(k, marks=[pytest.mark.postgres] if k == "postgres" else [], id=k)
                for k in kinds
            ],
            indirect=True,
        )
