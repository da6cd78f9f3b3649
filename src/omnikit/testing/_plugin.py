"""pytest fixtures for applications built on omnikit: `omnikit_hub` and `omnikit_clock`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from omnikit._hub import Hub
from omnikit.testing._clock import FrozenClock

__all__ = ["omnikit_clock", "omnikit_hub"]

_T0 = dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def omnikit_clock() -> FrozenClock:
    """A `FrozenClock` at 2026-01-01 09:00 UTC."""
    return FrozenClock(_T0)


@pytest.fixture
def omnikit_hub(omnikit_clock: FrozenClock) -> Iterator[Hub]:
    """A hub on a fresh in-memory store, on the frozen clock."""
    with Hub(clock=omnikit_clock) as hub:
        yield hub
