"""Names that moved: the warning their old places give, for one minor version."""

from __future__ import annotations

import warnings

__all__ = ["warn_moved"]

REMOVED_IN = "0.2.0"
"""The release that drops the names moved in this one."""


def warn_moved(old: str, new: str) -> None:
    """
    Warn that *old* (a dotted name) is deprecated, and name *new*, where it lives now.

    Called by a module `__getattr__`: the warning points at the line that read the old name.
    """
    warnings.warn(
        f"{old} is deprecated and will be removed in omnikit {REMOVED_IN}: use {new} instead",
        DeprecationWarning,
        stacklevel=3,
    )
