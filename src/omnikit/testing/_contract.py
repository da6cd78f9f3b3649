"""The store contract: placeholder until the suite lands."""

from __future__ import annotations

__all__ = ["StoreContract"]


class StoreContract:
    """Base class of the store contract suite."""
