"""A clock for tests."""

from __future__ import annotations

import datetime as dt

__all__ = ["FrozenClock"]


class FrozenClock:
    """
    A clock that stays at *now* until told to move: pass it as a hub's *clock*.

    ```python
    clock = FrozenClock(dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC))
    hub = omnikit.Hub(clock=clock)
    clock.advance(hours=1)
    ```

    Added in version 0.1.0.
    """

    def __init__(self, now: dt.datetime) -> None:
        if now.utcoffset() is None:
            msg = "now: datetime has no UTC offset"
            raise ValueError(msg)
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> dt.datetime:
        """Move the clock forward by a `timedelta(**delta)` and return the new time."""
        self.now += dt.timedelta(**delta)
        return self.now
