"""Names that moved: the warning their old places give, for one minor version."""

from __future__ import annotations

import warnings

__all__ = ["warn_moved"]

REMOVED_IN = "0.2.0"
"""The release that drops the names moved in this one."""


def warn_moved(old: str, new: str, *, stacklevel: int = 3) -> None:
    """
    Warn that *old* (a dotted name, or an argument) is deprecated, and name *new*, its heir.

    Called by a module `__getattr__`, the warning points at the line that read the old name;
    a caller deeper down passes the *stacklevel* of the user's line.
    """
    warnings.warn(
        f"{old} is deprecated and will be removed in omnikit {REMOVED_IN}: use {new} instead",
        DeprecationWarning,
        stacklevel=stacklevel,
    )
