"""
Deprecated: the simulated retailer is `omnikit.testing.Retailer` now.

`omnikit.simulate.Retailer` and `omnikit.simulate.Person` still work, with a
`DeprecationWarning`, until omnikit 0.2.0; import them from `omnikit.testing.retailer`.
"""

from __future__ import annotations

from typing import Any, Final

from omnikit._deprecated import warn_moved

__all__: list[str] = []

_MOVED: Final = frozenset({"Person", "Retailer"})
"""The names this module exported, now in `omnikit.testing.retailer`."""


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        from omnikit.testing import retailer  # noqa: PLC0415 - only code reading an old name pays

        warn_moved(f"omnikit.simulate.{name}", f"omnikit.testing.retailer.{name}")
        return getattr(retailer, name)
    msg = f"module 'omnikit.simulate' has no attribute {name!r}"
    raise AttributeError(msg)
