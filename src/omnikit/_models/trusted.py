"""
Models rebuilt from data that was validated when it was first made: stored rows.

A store's rows were checked on the way in (an identity normalised, a consent's purpose
named, every time aware), so reading them back need not check them again. `trusted(cls)`
gives a constructor that sets each field of a frozen attrs class to the value given for it,
running no converter, validator or default: the object is the one the class's own
`__init__` makes from the same, already valid, values. Tests check that, field by field.

Never for input from outside: a host's values go through the class itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import attrs

__all__ = ["trusted"]

T = TypeVar("T")


def trusted(cls: type[T]) -> Callable[..., T]:
    """
    A constructor of *cls* (a slotted attrs class) for values that are valid already.

    It takes every field by name, and none else: a field left out is a `TypeError`, not a
    default, so a field the class gains later is never silently left unset.

    Raises:
        TypeError: If *cls* is not a slotted attrs class without `__attrs_post_init__`.
    """
    made_of: type[T] = cls  # `attrs.has` below narrows *cls* to an attrs instance's type
    if not attrs.has(cls) or "__slots__" not in vars(cls):
        msg = f"{cls.__name__}: trusted construction needs a slotted attrs class"
        raise TypeError(msg)
    if hasattr(cls, "__attrs_post_init__"):
        msg = f"{cls.__name__}: trusted construction would skip __attrs_post_init__"
        raise TypeError(msg)
    names = [field.name for field in attrs.fields(cls)]
    # Generated, as attrs generates __init__: keyword-only parameters bind in C (a missing or
    # unknown one is Python's own TypeError), and each slot's descriptor sets its field
    # directly, as a frozen class's own __init__ does.
    scope: dict[str, Any] = {"_omk_new": object.__new__, "_omk_cls": made_of}
    lines = [f"def build(*, {', '.join(names)}):", "    made = _omk_new(_omk_cls)"]
    for i, name in enumerate(names):
        scope[f"_omk_set_{i}"] = _slot(cls, name)
        lines.append(f"    _omk_set_{i}(made, {name})")
    lines.append("    return made")
    exec("\n".join(lines), scope)  # noqa: S102 - code made only of the class's field names
    build: Callable[..., T] = scope["build"]
    build.__name__ = build.__qualname__ = f"trusted_{cls.__name__}"
    return build


def _slot(cls: type, name: str) -> Callable[[object, Any], None]:
    for klass in cls.__mro__:
        descriptor = vars(klass).get(name)
        if descriptor is not None and hasattr(descriptor, "__set__"):
            return descriptor.__set__  # type: ignore[no-any-return]
    msg = f"{cls.__name__}.{name}: no slot to set"
    raise TypeError(msg)
