"""
A message's `context` object, read into a `Context` shared between touchpoints where it can be.

A store keeps many touchpoints, and most of their contexts repeat (the same till, the same
page of a site): contexts of plain values, and those whose objects hold only strings, are
shared through the read cache (`omnikit._engines.reader.ReadCache`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from omnikit._engines.profile import KNOWN_ZONES, check_timezone
from omnikit._engines.reader import (
    CACHE_LIMIT,
    OBJECT_CONTEXTS_LIMIT,
    ReadCache,
    Reader,
    id_value,
    string_field,
)
from omnikit._engines.values import kind_of
from omnikit._models.touchpoints import Context, Location
from omnikit.errors import ValidationError

__all__ = ["read_context"]


def _location(reader: Reader, value: object) -> Location | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        reader.errors.append(f"context.location: expected an object, got {kind_of(value)}")
        return None
    coords: dict[str, float | None] = {}
    for field, low, high in (("latitude", -90.0, 90.0), ("longitude", -180.0, 180.0)):
        raw = value.get(field)
        if raw is None:
            coords[field] = None
        elif isinstance(raw, bool) or not isinstance(raw, int | float) or not low <= raw <= high:
            reader.errors.append(
                f"context.location.{field}: expected a number from {low:g} to {high:g}, got {raw!r}"
            )
            coords[field] = None
        else:
            coords[field] = float(raw)
    names: dict[str, str | None] = {}
    for field, key in (
        ("city", "city"),
        ("region", "region"),
        ("country", "country"),
        ("postal_code", "postalCode"),
    ):
        names[field] = string_field(value.get(key), f"context.location.{key}", reader.errors)
    return Location(latitude=coords["latitude"], longitude=coords["longitude"], **names)


_CONTEXT_STRINGS: Final = {
    "source": "source",
    "ip": "ip",
    "locale": "locale",
    "userAgent": "user_agent",
}
_CONTEXT_OBJECTS: Final = frozenset({"campaign", "device", "page"})
_CONTEXT_SKIPPED: Final = frozenset({"traits", "externalIds", "channel", "direction"})
_EMPTY_CONTEXT: Final = Context()
_NO_VALUES: Final = (None,) * 7


def _items(value: Mapping[str, Any] | None, *, nested: bool = False) -> tuple[object, ...] | None:
    """
    The items of an object of strings, to share its context by; `None` if it holds others.

    Keys and values must be strings (`1`, `1.0` and `True` are equal keys that a store keeps
    apart); with *nested*, a value may also be such an object, one level down.
    """
    if not value:
        return ()
    items = tuple(value.items())
    for key, item in items:
        if type(key) is not str or type(item) is not str:
            return _nested_items(items) if nested else None
    return items


def _nested_items(items: tuple[tuple[Any, Any], ...]) -> tuple[object, ...] | None:
    """`_items` of an object whose values may also be objects of strings, one level down."""
    found: list[object] = []
    for key, item in items:
        if type(key) is not str:
            return None
        if type(item) is str:
            found.append((key, item))
        elif type(item) is dict and (inner := _items(item)) is not None:
            found.append((key, None, inner))  # None: never a string's item
        else:
            return None
    return tuple(found)


def _shared_context(
    table: dict[tuple[object, ...], Context],
    key: tuple[object, ...],
    limit: int,
    plain: tuple[str | None, ...],
    *,
    campaign: dict[str, Any] | None = None,
    device: dict[str, Any] | None = None,
    page: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> Context:
    """The context of *table* at *key*, made of *plain* values and those objects if not there."""
    found = table.get(key)
    if found is None:
        if len(table) >= limit:
            table.clear()
        source, store, agent, ip, locale, timezone, user_agent = plain
        found = table[key] = Context(
            source=source,
            store_id=store,
            agent=agent,
            ip=ip,
            locale=locale,
            timezone=timezone,
            user_agent=user_agent,
            campaign={} if campaign is None else campaign,
            device={} if device is None else device,
            page={} if page is None else page,
            extra={} if extra is None else extra,
        )
    return found


def read_context(
    reader: Reader,
    context: Mapping[str, Any],
    shared: ReadCache | None,
    named_source: str | None = None,
    *,
    share_objects: bool = False,
) -> Context:
    """
    A message's *context* object as a `Context`, shared with touchpoints like it where it can be.

    *shared* is the read cache (`None`: share nothing); *named_source* is where the host
    received the message, over `context.source`; with *share_objects*, contexts whose objects
    hold only strings are shared too (those objects must not change after the call).
    """
    if named_source is not None:  # the host's word for where it came from wins over the message's
        context = {**context, "source": named_source}
    if not context:
        return _EMPTY_CONTEXT
    errors = reader.errors
    # Fields as locals rather than a dict of keyword arguments: this runs once per event.
    source = ip = locale = user_agent = timezone = agent = None
    campaign = device = page = None
    location: Location | None = None
    extra: dict[str, Any] = {}
    store_id: object = None
    store_key = ""
    for key, value in context.items():
        if key in _CONTEXT_SKIPPED:
            continue
        attribute = _CONTEXT_STRINGS.get(key)
        if attribute is not None:
            if type(value) is str or value is None:
                text = value
            else:
                text = string_field(value, f"context.{key}", errors)
                shared = None  # a subclass of str: not shared with plain ones
            if attribute == "source":
                source = text
            elif attribute == "locale":
                locale = text
            elif attribute == "user_agent":
                user_agent = text
            else:
                ip = text
        elif key in _CONTEXT_OBJECTS:
            if isinstance(value, dict):
                if key == "page":
                    page = value
                elif key == "device":
                    device = value
                else:
                    campaign = value
            elif value is not None:
                errors.append(f"context.{key}: expected an object, got {kind_of(value)}")
        elif key == "timezone":
            if type(value) is str and value in KNOWN_ZONES:  # most events name a zone seen before
                timezone = value
            elif value is not None:
                if type(value) is not str:
                    shared = None
                timezone = _context_timezone(value, errors)
        elif key == "location":
            location = _location(reader, value)
        elif key in {"store_id", "storeId"}:
            store_id, store_key = value, key
        elif key == "store":
            if store_id is None and isinstance(value, dict):
                store_id, store_key = value.get("id"), "store.id"
            extra[key] = value
        elif key == "agent":
            agent_id = value.get("id") if isinstance(value, dict) else value
            agent = id_value(agent_id, "context.agent", errors)
        else:
            extra[key] = value
    store = None if store_id is None else id_value(store_id, f"context.{store_key}", errors)
    plain = (source, store, agent, ip, locale, timezone, user_agent)
    return _made_context(plain, shared, share_objects, location, campaign, device, page, extra)


def _made_context(  # noqa: PLR0917 - called once per event: positional is the cheaper call
    plain: tuple[str | None, ...],
    shared: ReadCache | None,
    share_objects: bool,
    location: Location | None,
    campaign: dict[str, Any] | None,
    device: dict[str, Any] | None,
    page: dict[str, Any] | None,
    extra: dict[str, Any],
) -> Context:
    """
    A context of those values: one that touchpoints with the same ones share, where it can be.

    *plain* holds the string values in the order `_shared_context` takes them; *shared* is
    the read cache, `None` when nothing may be shared; with *share_objects*, contexts whose
    objects hold only strings are shared too.
    """
    if campaign is None and device is None and page is None and location is None and not extra:
        # Plain values only (an email or a till receipt): touchpoints with the same ones share a
        # Context, as those with none share one; a store keeps many touchpoints.
        if plain == _NO_VALUES:
            return _EMPTY_CONTEXT
        if shared is not None:
            return _shared_context(shared.contexts, plain, CACHE_LIMIT, plain)
    elif share_objects and shared is not None and location is None:
        # Objects of strings only (a site's page, an app's name and version): shared too, by
        # their items, in a smaller cache, since pages vary more than plain values do.
        objects = (_items(campaign), _items(device), _items(page), _items(extra, nested=True))
        if None not in objects:
            return _shared_context(
                shared.object_contexts,
                (*plain, *objects),
                OBJECT_CONTEXTS_LIMIT,
                plain,
                campaign=campaign,
                device=device,
                page=page,
                extra=extra,
            )
    source, store, agent, ip, locale, timezone, user_agent = plain
    return Context(
        source=source,
        store_id=store,
        agent=agent,
        campaign={} if campaign is None else campaign,
        device={} if device is None else device,
        location=location,
        page={} if page is None else page,
        ip=ip,
        locale=locale,
        timezone=timezone,
        user_agent=user_agent,
        extra=extra,
    )


def _context_timezone(value: object, errors: list[str]) -> str | None:
    """`context.timezone`, if it names a time zone; otherwise `None`, with an error."""
    zone = value if type(value) is str else string_field(value, "context.timezone", errors)
    if zone is None:
        return None
    try:
        return check_timezone(zone)
    except ValidationError as exc:
        errors.extend(f"context.timezone: {line}" for line in exc.errors)
        return None
