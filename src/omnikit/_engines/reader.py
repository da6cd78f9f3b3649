"""
Reading one message's fields, for `omnikit._engines.inbound` and `omnikit._engines.contexts`.

The reader collects every error of a message before they are raised together; `ReadCache`
is what a hub keeps between messages.
"""

from __future__ import annotations

import datetime as dt
import types
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

from omnikit._engines.times import time_error
from omnikit._engines.values import kind_of
from omnikit._models.identities import Identity, normalize_identifier
from omnikit._models.touchpoints import Context
from omnikit.converters import parse_datetime
from omnikit.errors import ValidationError

if TYPE_CHECKING:
    from omnikit._engines.inbound import IngestOptions

__all__ = [
    "CACHE_LIMIT",
    "EMPTY",
    "OBJECT_CONTEXTS_LIMIT",
    "ReadCache",
    "Reader",
    "id_value",
    "object_field",
    "string_field",
]

EMPTY: Final[Mapping[str, Any]] = types.MappingProxyType({})
"""An object a message left out, read as empty."""


def object_field(message: Mapping[str, Any], field: str, errors: list[str]) -> Mapping[str, Any]:
    value = message.get(field)
    if value is None:
        return EMPTY
    if not isinstance(value, dict):
        errors.append(f"{field}: expected an object, got {kind_of(value)}")
        return EMPTY
    return value


def string_field(
    value: object, field: str, errors: list[str], *, required: bool = False
) -> str | None:
    if value is None:
        if required:
            errors.append(f"{field}: required field is missing")
        return None
    if isinstance(value, str):
        if required and not value.strip():
            errors.append(f"{field}: must not be empty")
            return None
        return value
    errors.append(f"{field}: expected a string, got {kind_of(value)}")
    return None


def id_value(value: object, field: str, errors: list[str]) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        errors.append(f"{field}: expected a string, got {kind_of(value)}")
        return None
    return str(value)


CACHE_LIMIT = 1 << 17
OBJECT_CONTEXTS_LIMIT = 1 << 12


class ReadCache:
    """
    What `parse_message` keeps between messages; a hub keeps one.

    Attributes:
        identities: Each identifier read, by kind and raw value: its `Identity`, or why it is
            not valid.
        tuples: The tuples of identities touchpoints carry, by the `id()`s of their members,
            so that the touchpoints of one person share a tuple instead of each holding its
            own (a store keeps them all). A tuple keeps its members alive, so the ids in its
            key are not reused while it is kept.
        contexts: Contexts made of plain values only, by those values, shared likewise.
        object_contexts: Contexts whose objects (page, campaign, device, the others) hold
            strings only, by their values and items, shared likewise.
    """

    __slots__ = ("contexts", "identities", "object_contexts", "tuples")

    def __init__(self) -> None:
        self.identities: dict[tuple[str, object], Identity | str] = {}
        self.tuples: dict[object, tuple[Identity, ...]] = {}
        self.contexts: dict[tuple[object, ...], Context] = {}
        self.object_contexts: dict[tuple[object, ...], Context] = {}


class Reader:
    """Reads one message, collecting every error before raising them together."""

    __slots__ = ("blocked", "cache", "errors", "identities", "offered", "options")

    def __init__(
        self,
        options: IngestOptions,
        cache: dict[tuple[str, object], Identity | str],
        blocked: Callable[[tuple[str, str]], bool] | None = None,
    ) -> None:
        self.options = options
        self.cache = cache
        self.blocked = blocked
        self.errors: list[str] = []
        self.identities: list[Identity] = []
        self.offered = 0  # identifier fields given, valid or not

    def identity(self, kind: str, value: object, field: str) -> None:
        if value is None:
            return
        self.offered += 1
        key = (kind, value)
        try:
            found = self.cache.get(key)
        except TypeError:  # an unhashable value: not an identifier, and normalising says why
            found = None
        if found is None:
            try:
                normalized = normalize_identifier(
                    kind, value, default_region=self.options.default_region
                )
                found = Identity.from_normalized(kind, normalized)
            except ValidationError as exc:
                found = "; ".join(line.removeprefix("value: ") for line in exc.errors)
            if isinstance(value, str | int):
                if len(self.cache) >= CACHE_LIMIT:
                    self.cache.clear()
                self.cache[key] = found
        if isinstance(found, str):
            if self._placeholder(kind, value):
                self.offered -= 1  # a placeholder is no identifier, and no reason to refuse
            else:
                self.errors.append(f"{field}: {found}")
        else:
            self.identities.append(found)

    def _placeholder(self, kind: str, value: object) -> bool:
        """Whether an identifier that cannot be read is one of the blocked placeholders."""
        blocked = self.blocked
        return blocked is not None and isinstance(value, str) and blocked((kind, value.strip()))

    def time(self, value: object, field: str) -> dt.datetime | None:
        """The time *value* (of the message's *field*) names, if it is one; else an error."""
        if value is None:
            return None
        if type(value) is str:
            try:
                parsed = dt.datetime.fromisoformat(value)
            except ValueError:
                pass
            else:
                if parsed.tzinfo is not None:
                    return parsed
        try:
            return parse_datetime(value, default_tz=self.options.default_timezone)
        except ValidationError as exc:
            self.errors.extend(f"{field}: {line}" for line in exc.errors)
            return None

    def in_window(self, moment: dt.datetime, field: str, now: dt.datetime) -> dt.datetime:
        """*moment*, with an error noted if it is not a time the hub accepts (`time_error`)."""
        options = self.options
        error = time_error(
            moment, field, now=now, max_past=options.max_past, max_future=options.max_future
        )
        if error is not None:
            self.errors.append(error)
        return moment
