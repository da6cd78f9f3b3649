"""
Shared fixtures: stores of every kind, hubs on them, a frozen clock, the conformance suites.

The conformance suites are never copied into the repository. They are read from the folder
`OMNIKIT_CONFORMANCE_DIR` names, by default `shared/conformance` beside the repository
(`../shared/conformance`). Where a suite is missing, the tests that read it skip, saying
how to get it; with `OMNIKIT_REQUIRE_CONFORMANCE=1` (as `.ci/run` sets) they fail instead.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

import omnikit
from _postgres import running_postgres
from omnikit.stores import Store, open_store
from omnikit.testing import FrozenClock

pytest_plugins = ["pytester"]

settings.register_profile("dev", max_examples=50, deadline=None)
settings.register_profile(
    "ci", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(  # a long run before a release: HYPOTHESIS_PROFILE=deep
    "deep", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

T0 = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)

CONFORMANCE_DIR = Path(
    os.environ.get("OMNIKIT_CONFORMANCE_DIR")
    or Path(__file__).resolve().parents[1].parent / "shared" / "conformance"
)
JSONLOGIC_SUITE = CONFORMANCE_DIR / "jsonlogic" / "tests.json"


def _jsonlogic_cases() -> list[Any]:
    """The suite's `[rule, data, expected]` cases as parameters, or one that says it is missing."""
    if not JSONLOGIC_SUITE.is_file():
        return [pytest.param(None, id="suite-missing")]
    entries = json.loads(JSONLOGIC_SUITE.read_text(encoding="utf-8"))
    return [
        pytest.param(tuple(entry), id=f"case-{index:03d}")
        for index, entry in enumerate(entries)
        if not isinstance(entry, str)
    ]


@pytest.fixture(name="jsonlogic_suite")
def _jsonlogic_suite() -> Path:
    """The path of the official JsonLogic suite; a skip (or, in CI, a failure) without it."""
    if JSONLOGIC_SUITE.is_file():
        return JSONLOGIC_SUITE
    reason = (
        f"the JsonLogic conformance suite is not at {JSONLOGIC_SUITE}: put "
        "https://jsonlogic.com/tests.json there (jsonlogic/tests.json in the shared "
        "conformance folder beside the repository), or set OMNIKIT_CONFORMANCE_DIR to a "
        "folder holding jsonlogic/tests.json"
    )
    if os.environ.get("OMNIKIT_REQUIRE_CONFORMANCE"):
        pytest.fail(reason)
    pytest.skip(reason)


ATTRIBUTION_REFERENCE = CONFORMANCE_DIR / "attribution" / "channelattribution.json"


@pytest.fixture(name="attribution_reference", scope="session")
def _attribution_reference() -> dict[str, Any]:
    """What ChannelAttribution computed on a path table; a skip (in CI, a failure) without it."""
    if ATTRIBUTION_REFERENCE.is_file():
        reference: dict[str, Any] = json.loads(ATTRIBUTION_REFERENCE.read_text(encoding="utf-8"))
        return reference
    reason = (
        f"the attribution reference is not at {ATTRIBUTION_REFERENCE}: put "
        "attribution/channelattribution.json in the shared conformance folder beside the "
        "repository, or set OMNIKIT_CONFORMANCE_DIR to a folder holding it"
    )
    if os.environ.get("OMNIKIT_REQUIRE_CONFORMANCE"):
        pytest.fail(reason)
    pytest.skip(reason)


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
    """
    Run every test that uses a store once per store kind, unless it picks its own.

    A test that takes `jsonlogic_case` runs once per case of the JsonLogic suite.
    """
    if "jsonlogic_case" in metafunc.fixturenames:
        metafunc.parametrize("jsonlogic_case", _jsonlogic_cases())
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
