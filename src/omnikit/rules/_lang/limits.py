"""How much one evaluation of a condition may do: the limits rule sets and segments run under."""

from __future__ import annotations

from typing import Any, Final

import attrs

from omnikit.errors import ValidationError
from omnikit.rules._lang import js

__all__ = ["DEFAULT_LIMITS", "Limits"]


def _positive(_instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(f"{attribute.name}: expected a positive integer, got {value!r}")


@attrs.define(frozen=True, kw_only=True)
class Limits:
    """
    The bounds every evaluation of a condition (or score, or segment) runs within.

    Each evaluation gets its own *max_work*, counted by size rather than by step: a unit for
    each operation and array item a condition holds (paid up front; the logic an iterating
    operation applies costs that again for each item), a unit for each array item visited
    or built, and, for strings and arrays over 64 characters or items, a unit per 16
    characters and per item an operation reads or builds. No operation builds a string or
    an array longer than *max_length*. Past either, evaluation stops with `RuleLimitError`.

    The defaults let a condition walk an array of hundreds of thousands of items, and keep
    any one evaluation to about a second on a slow machine. `jsonlogic.apply()` takes the
    same bounds as arguments.

    Attributes:
        max_work: The work one evaluation may do.
        max_length: The longest string (in characters) or array (in items) an operation
            may build.

    Added in version 0.1.0.
    """

    max_work: int = attrs.field(default=1_000_000, validator=_positive)
    max_length: int = attrs.field(default=js.MAX_LENGTH, validator=_positive)


DEFAULT_LIMITS: Final = Limits()
