"""
One cattrs converter for every omnikit model, to and from JSON-ready data.

```python
conv = omnikit.converters.make_converter()
data = conv.unstructure(customer)  # dicts, lists, strings, numbers, booleans, None
assert conv.structure(data, omnikit.Customer) == customer
```

Use `omnikit.converters.structure()` when you want our `ValidationError` (every failing field
with its path and reason) instead of cattrs' exception group.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import math
from collections.abc import Iterator
from typing import TypeVar

import cattrs
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError

from omnikit._models.identities import Identity
from omnikit.errors import ValidationError

__all__ = [
    "configure_converter",
    "default_converter",
    "make_converter",
    "parse_datetime",
    "structure",
]

T = TypeVar("T")


def _describe(value: object) -> str:
    if isinstance(value, int) and value.bit_length() > 200:  # about 60 digits
        return f"an integer of {value.bit_length()} bits"  # too long to show, maybe to print
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_datetime(value: object, *, default_tz: dt.tzinfo | None = None) -> dt.datetime:
    """
    Read an ISO-8601 timestamp with a UTC offset (`2026-11-22T10:00:00Z`).

    A timestamp without an offset is read in *default_tz* when one is given, and rejected
    otherwise: a customer's history must not depend on the server's time zone.

    Raises:
        ValidationError: If *value* is not such a timestamp.

    Added in version 0.1.0.
    """
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError(
                f"expected an ISO-8601 timestamp, got {_describe(value)}"
            ) from None
    else:
        raise ValidationError(
            f"expected an ISO-8601 timestamp, got {type(value).__name__} {_describe(value)}"
        )
    if parsed.utcoffset() is None:
        if default_tz is None:
            raise ValidationError(
                f"timestamp {_describe(value)} has no UTC offset (add one, e.g. 'Z' or "
                "'+01:00', or give the hub a default_timezone)"
            )
        parsed = parsed.replace(tzinfo=default_tz)
    return parsed


def _format_datetime(value: dt.datetime) -> str:
    return value.isoformat()


def _structure_datetime(value: object, _: type) -> dt.datetime:
    return parse_datetime(value)


def _structure_time(value: object, _: type) -> dt.time:
    if isinstance(value, dt.time):
        return value
    if isinstance(value, str):
        try:
            return dt.time.fromisoformat(value)
        except ValueError:
            pass
    raise ValidationError(f"expected a time of day like '21:30', got {_describe(value)}")


MAX_AMOUNT = 10**15
"""`to_decimal` reads numbers below this in magnitude: more than any order in any currency."""


def to_decimal(value: object) -> decimal.Decimal:
    """
    Read a money amount or other exact number: an int, a float, or a numeric string.

    Numbers of `MAX_AMOUNT` (10**15) or more in magnitude are refused: no order comes near,
    and `"1e999999999"` would overflow the first sum it entered.

    Raises:
        ValidationError: If *value* is not a finite number below 10**15 in magnitude.

    Added in version 0.1.0.
    """
    if isinstance(value, decimal.Decimal):
        result = value
    elif isinstance(value, bool):
        raise ValidationError(f"expected a number, got {_describe(value)}")
    elif isinstance(value, int):
        result = decimal.Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(f"expected a finite number, got {_describe(value)}")
        result = decimal.Decimal(repr(value))
    elif isinstance(value, str):
        try:
            result = decimal.Decimal(value.strip())
        except decimal.InvalidOperation:
            raise ValidationError(f"expected a number, got {_describe(value)}") from None
    else:
        raise ValidationError(f"expected a number, got {_describe(value)}")
    if not result.is_finite():
        raise ValidationError(f"expected a finite number, got {_describe(value)}")
    if result.adjusted() >= 15:  # the exponent of MAX_AMOUNT
        raise ValidationError(f"expected a number below 10**15, got {_describe(value)}")
    return result


def _structure_decimal(value: object, _: type) -> decimal.Decimal:
    return to_decimal(value)


def _structure_str(value: object, _: type) -> str:
    if isinstance(value, str):
        return value
    raise ValidationError(f"expected a string, got {type(value).__name__} {_describe(value)}")


def _structure_enum(value: object, cls: type[enum.Enum]) -> enum.Enum:
    try:
        return cls(value)
    except ValueError:
        choices = ", ".join(repr(m.value) for m in cls)
        raise ValidationError(f"expected one of {choices}, got {_describe(value)}") from None


def _structure_int(value: object, _: type) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise ValidationError(f"expected an integer, got {_describe(value)}")


def _structure_float(value: object, _: type) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise ValidationError(f"expected a number, got {_describe(value)}")


def _structure_bool(value: object, _: type) -> bool:
    if isinstance(value, bool):
        return value
    raise ValidationError(f"expected true or false, got {_describe(value)}")


def _structure_identity(value: object, _: type) -> Identity:
    if not isinstance(value, dict):
        raise ValidationError(f"expected an object with kind and value, got {_describe(value)}")
    missing = [k for k in ("kind", "value") if k not in value]
    if missing:
        raise ValidationError([f"{k}: required field is missing" for k in missing])
    extra = sorted(set(value) - {"kind", "value"})
    if extra:
        raise ValidationError([f"{k}: unknown field" for k in extra])
    kind = value["kind"]
    if not isinstance(kind, str):
        raise ValidationError(f"kind: expected a string, got {_describe(kind)}")
    return Identity(kind=kind, value=value["value"])


def configure_converter(conv: cattrs.Converter) -> None:
    """
    Teach *conv* omnikit's JSON shapes.

    Aware ISO-8601 datetimes, decimal strings for money, `"HH:MM:SS"` times, enum values, and
    identities normalised on the way in.

    Added in version 0.1.0.
    """
    conv.register_unstructure_hook(dt.datetime, _format_datetime)
    conv.register_structure_hook(dt.datetime, _structure_datetime)
    conv.register_unstructure_hook(dt.time, dt.time.isoformat)
    conv.register_structure_hook(dt.time, _structure_time)
    conv.register_unstructure_hook(decimal.Decimal, str)
    conv.register_structure_hook(decimal.Decimal, _structure_decimal)
    # Registered on StrEnum itself: its MRO puts `str` before `Enum`, and the `str` hook must
    # not swallow our string enums.
    conv.register_structure_hook(enum.StrEnum, _structure_enum)
    conv.register_structure_hook(enum.Enum, _structure_enum)
    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(int, _structure_int)
    conv.register_structure_hook(float, _structure_float)
    conv.register_structure_hook(bool, _structure_bool)
    conv.register_unstructure_hook_func(
        lambda t: isinstance(t, type) and issubclass(t, enum.Enum), lambda v: v.value
    )
    conv.register_structure_hook(Identity, _structure_identity)
    conv.register_unstructure_hook(Identity, lambda i: {"kind": i.kind, "value": i.value})


def make_converter(*, strict: bool = True) -> cattrs.Converter:
    """
    Return a new converter configured for omnikit's models.

    Args:
        strict: Reject unknown keys when structuring (the default), instead of dropping them.

    Added in version 0.1.0.
    """
    conv = cattrs.Converter(forbid_extra_keys=strict, omit_if_default=False)
    configure_converter(conv)
    return conv


_DEFAULT = make_converter()


def default_converter() -> cattrs.Converter:
    """
    Return the strict converter omnikit uses when you don't pass one. Don't reconfigure it.

    Added in version 0.1.0.
    """
    return _DEFAULT


def structure(data: object, cls: type[T], *, converter: cattrs.Converter | None = None) -> T:
    """
    Structure *data* into *cls*, turning every failure into one `ValidationError`.

    Raises:
        ValidationError: Listing each failing field as `path: reason`.

    Added in version 0.1.0.
    """
    conv = converter or _DEFAULT
    try:
        return conv.structure(data, cls)
    except (ClassValidationError, IterableValidationError, ValidationError) as exc:
        raise ValidationError(list(_messages(exc, ""))) from None
    except ForbiddenExtraKeysError as exc:
        raise ValidationError([f"{k}: unknown field" for k in sorted(exc.extra_fields)]) from None
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        raise ValidationError(
            f"expected {cls.__name__}-shaped data, got {_describe(data)} ({exc})"
        ) from None


def _join(path: str, item: str) -> str:
    if not path:
        return item
    if item.startswith("["):
        return f"{path}{item}"
    return f"{path}.{item}"


def _messages(exc: BaseException, path: str) -> Iterator[str]:
    """Flatten cattrs' exception groups into `path: reason` lines."""
    if isinstance(exc, ClassValidationError | IterableValidationError):
        for sub in exc.exceptions:
            notes = [
                n
                for n in getattr(sub, "__notes__", [])
                if hasattr(n, "name") or hasattr(n, "index")
            ]
            where = path
            if notes:
                note = notes[0]
                where = _join(path, note.name if hasattr(note, "name") else f"[{note.index}]")
            yield from _messages(sub, where)
    elif isinstance(exc, ValidationError):
        for line in exc.errors:
            head, sep, rest = line.partition(": ")
            if sep and " " not in head:
                yield f"{_join(path, head)}: {rest}"
            else:
                yield f"{path}: {line}" if path else line
    elif isinstance(exc, ForbiddenExtraKeysError):
        for key in sorted(exc.extra_fields):
            yield f"{_join(path, key)}: unknown field"
    elif isinstance(exc, KeyError):
        yield f"{path}: required field is missing"
    else:
        yield f"{path}: {exc}" if path else str(exc)
