"""
Reading Segment Spec messages (identify, track, page, screen, group, alias) into touchpoints.

Pure: the caller passes `now` (for messages that carry no time) and the options.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any, Final

import attrs

from omnikit._engines.profile import PREFERENCE_TRAITS, check_timezone, parse_quiet_hours
from omnikit._models.channels import Channels
from omnikit._models.identities import Identity, normalize_identifier
from omnikit._models.touchpoints import Context, Direction, Location, Touchpoint, TouchpointType
from omnikit.converters import parse_datetime, to_decimal
from omnikit.errors import ValidationError

__all__ = ["IngestOptions", "derive_message_id", "parse_message", "unpack"]

MESSAGE_TYPES: Final = ("identify", "track", "page", "screen", "group", "alias")
_TYPES = {t.value: t for t in TouchpointType}
_SPEC_CHANNELS: Final = {"browser": "web", "mobile": "app"}
_TIME_FIELDS: Final = ("timestamp", "originalTimestamp", "sentAt", "receivedAt")
_CONTEXT_FIELDS: Final = frozenset(
    {
        "traits",
        "externalIds",
        "channel",
        "direction",
        "source",
        "store_id",
        "storeId",
        "store",
        "agent",
        "campaign",
        "device",
        "location",
        "page",
        "ip",
        "locale",
        "timezone",
        "userAgent",
    }
)
_OUTBOUND_EVENTS: Final = frozenset(
    {
        "Email Sent",
        "Email Delivered",
        "Email Bounced",
        "Push Notification Sent",
        "Push Notification Delivered",
        "SMS Sent",
        "SMS Delivered",
        "Message Delivered",
        "Order Shipped",
        "Order Ready for Pickup",
        "Decision Made",
    }
)
_MONEY_FIELDS: Final = (
    "revenue",
    "total",
    "subtotal",
    "shipping",
    "tax",
    "discount",
    "value",
    "price",
)
_PRODUCT_MONEY: Final = ("price",)
_IDENTIFYING_TRAITS: Final = (("email", "email"), ("phone", "phone"))


@attrs.define(frozen=True, kw_only=True)
class IngestOptions:
    """
    How a hub reads messages.

    Attributes:
        channels: The channels it knows.
        default_channel: The channel of a message that names none.
        default_region: Region for phone numbers without a country code (`"PT"`).
        default_timezone: Zone for timestamps without a UTC offset; `None` rejects them.
        max_message_bytes: The largest message accepted, as compact JSON.
    """

    channels: Channels = attrs.field(factory=Channels)
    default_channel: str = "web"
    default_region: str | None = None
    default_timezone: dt.tzinfo | None = None
    max_message_bytes: int = 32 * 1024


def unpack(payload: object) -> tuple[list[object], bool]:
    """
    Return the messages of *payload*, and whether it was a batch.

    A batch is an envelope (`{"batch": [...]}`, optionally with `"type": "batch"`) or a list.

    Raises:
        ValidationError: If a batch envelope is malformed.
    """
    if isinstance(payload, list):
        return payload, True
    if isinstance(payload, Mapping) and ("batch" in payload or payload.get("type") == "batch"):
        batch = payload.get("batch")
        if not isinstance(batch, list):
            raise ValidationError(f"batch: expected a list of messages, got {_kind(batch)}")
        extra = set(payload) - {
            "batch",
            "type",
            "sentAt",
            "context",
            "integrations",
            "writeKey",
            "messageId",
        }
        if extra:
            raise ValidationError(
                [f"{k}: unknown field of a batch envelope" for k in sorted(extra)]
            )
        return batch, True
    return [payload], False


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def _jsonable(value: Any, path: str, errors: list[str]) -> Any:
    """A JSON-ready copy of *value*: datetimes become ISO strings, decimals numbers."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            errors.append(f"{path}: expected a finite number, got {value!r}")
        return value
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if not isinstance(k, str):
                errors.append(f"{path}: keys must be strings, got {k!r}")
                continue
            out[k] = _jsonable(v, f"{path}.{k}" if path else k, errors)
        return out
    if isinstance(value, list | tuple):
        return [_jsonable(v, f"{path}[{i}]", errors) for i, v in enumerate(value)]
    if isinstance(value, dt.datetime):
        if value.utcoffset() is None:
            errors.append(f"{path}: datetime has no UTC offset")
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            errors.append(f"{path}: expected a finite number, got {value!r}")
            return None
        return (
            int(value)
            if value == value.to_integral_value() and "E" not in str(value)
            else float(value)
        )
    errors.append(f"{path}: {type(value).__name__} is not JSON data")
    return None


def _encode(message: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    """Compact JSON of *message* (to measure it), converting Python values when needed."""
    try:
        return json.dumps(
            message, separators=(",", ":"), allow_nan=False, ensure_ascii=False
        ), message
    except (TypeError, ValueError):
        errors: list[str] = []
        clean = _jsonable(message, "", errors)
        if errors:
            raise ValidationError(errors) from None
        return json.dumps(clean, separators=(",", ":"), ensure_ascii=False), clean


def derive_message_id(message: Mapping[str, Any]) -> str:
    """
    A message id derived from a message's content, for messages that carry none.

    `sentAt` and `receivedAt` are left out: a client that retries a send stamps them anew,
    and the retry must still be recognised as the same message.
    """
    content = {k: v for k, v in message.items() if k not in {"sentAt", "receivedAt", "messageId"}}
    text = json.dumps(
        content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return "omk-" + hashlib.sha256(text.encode()).hexdigest()[:32]


def _object(message: Mapping[str, Any], field: str, errors: list[str]) -> Mapping[str, Any]:
    value = message.get(field)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        errors.append(f"{field}: expected an object, got {_kind(value)}")
        return {}
    return value


def _string(value: object, field: str, errors: list[str], *, required: bool = False) -> str | None:
    if value is None:
        if required:
            errors.append(f"{field}: required field is missing")
        return None
    if isinstance(value, str):
        if required and not value.strip():
            errors.append(f"{field}: must not be empty")
            return None
        return value
    errors.append(f"{field}: expected a string, got {_kind(value)}")
    return None


def _id_value(value: object, field: str, errors: list[str]) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        errors.append(f"{field}: expected a string, got {_kind(value)}")
        return None
    return str(value)


class _Reader:
    """Reads one message, collecting every error before raising them together."""

    __slots__ = ("errors", "identities", "options")

    def __init__(self, options: IngestOptions) -> None:
        self.options = options
        self.errors: list[str] = []
        self.identities: list[Identity] = []

    def identity(self, kind: str, value: object, field: str) -> None:
        if value is None:
            return
        try:
            normalized = normalize_identifier(
                kind, value, default_region=self.options.default_region
            )
            self.identities.append(Identity(kind=kind, value=normalized))
        except ValidationError as exc:
            self.errors.extend(f"{field}: {line.removeprefix('value: ')}" for line in exc.errors)

    def time(self, message: Mapping[str, Any], field: str) -> dt.datetime | None:
        value = message.get(field)
        if value is None:
            return None
        try:
            return parse_datetime(value, default_tz=self.options.default_timezone)
        except ValidationError as exc:
            self.errors.extend(f"{field}: {line}" for line in exc.errors)
            return None


def _occurred_at(
    reader: _Reader, message: Mapping[str, Any], now: dt.datetime
) -> tuple[dt.datetime, dt.datetime]:
    times = {field: reader.time(message, field) for field in _TIME_FIELDS}
    received = times["receivedAt"] or now
    if times["timestamp"] is not None:
        return times["timestamp"], received
    original, sent = times["originalTimestamp"], times["sentAt"]
    if original is not None:
        if sent is not None and times["receivedAt"] is not None:
            # Segment's clock-skew correction: the device's clock may be wrong, the gap between
            # the event and the send is not.
            return received - (sent - original), received
        return original, received
    return received, received


def _channel(reader: _Reader, message: Mapping[str, Any], context: Mapping[str, Any]) -> str:
    channels = reader.options.channels
    named = context.get("channel")
    if named is not None:
        try:
            return channels.require(named, field="context.channel")
        except ValidationError as exc:
            reader.errors.extend(exc.errors)
            return reader.options.default_channel
    spec = message.get("channel")
    if spec is None or spec == "server":
        return reader.options.default_channel
    if isinstance(spec, str) and spec in _SPEC_CHANNELS:
        return _SPEC_CHANNELS[spec]
    if isinstance(spec, str) and spec in channels:
        return spec
    reader.errors.append(
        f"channel: unknown channel {spec!r} (Segment's server, browser or mobile, or an omnikit "
        "channel name; set context.channel to name the omnikit channel)"
    )
    return reader.options.default_channel


def _location(reader: _Reader, value: object) -> Location | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        reader.errors.append(f"context.location: expected an object, got {_kind(value)}")
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
        names[field] = _string(value.get(key), f"context.location.{key}", reader.errors)
    return Location(latitude=coords["latitude"], longitude=coords["longitude"], **names)


def _context(reader: _Reader, context: Mapping[str, Any]) -> Context:
    errors = reader.errors
    store = context.get("store")
    store_id = context.get("store_id", context.get("storeId"))
    if store_id is None and isinstance(store, Mapping):
        store_id = store.get("id")
    agent = context.get("agent")
    if isinstance(agent, Mapping):
        agent = agent.get("id")
    timezone = _string(context.get("timezone"), "context.timezone", errors)
    if timezone is not None:
        try:
            check_timezone(timezone)
        except ValidationError as exc:
            errors.extend(f"context.timezone: {line}" for line in exc.errors)
            timezone = None
    maps: dict[str, Mapping[str, Any]] = {}
    for field in ("campaign", "device", "page"):
        value = context.get(field)
        if value is None:
            maps[field] = {}
        elif isinstance(value, Mapping):
            maps[field] = value
        else:
            errors.append(f"context.{field}: expected an object, got {_kind(value)}")
            maps[field] = {}
    return Context(
        source=_string(context.get("source"), "context.source", errors),
        store_id=_id_value(store_id, "context.store_id", errors),
        agent=_id_value(agent, "context.agent", errors),
        campaign=maps["campaign"],
        device=maps["device"],
        location=_location(reader, context.get("location")),
        page=maps["page"],
        ip=_string(context.get("ip"), "context.ip", errors),
        locale=_string(context.get("locale"), "context.locale", errors),
        timezone=timezone,
        user_agent=_string(context.get("userAgent"), "context.userAgent", errors),
        extra={k: v for k, v in context.items() if k not in _CONTEXT_FIELDS},
    )


def _check_number(value: object, path: str, errors: list[str]) -> None:
    if value is None:
        return
    try:
        to_decimal(value)
    except ValidationError as exc:
        errors.extend(f"{path}: {line}" for line in exc.errors)


def _check_properties(name: str, properties: Mapping[str, Any], errors: list[str]) -> None:
    """Type checks for the e-commerce fields omnikit computes with."""
    for field in _MONEY_FIELDS:
        _check_number(properties.get(field), f"properties.{field}", errors)
    quantity = properties.get("quantity")
    if quantity is not None and (
        isinstance(quantity, bool) or not isinstance(quantity, int | float)
    ):
        errors.append(f"properties.quantity: expected a number, got {quantity!r}")
    products = properties.get("products")
    if products is not None:
        if not isinstance(products, list):
            errors.append(f"properties.products: expected a list, got {_kind(products)}")
        else:
            for i, product in enumerate(products):
                path = f"properties.products[{i}]"
                if not isinstance(product, Mapping):
                    errors.append(f"{path}: expected an object, got {_kind(product)}")
                    continue
                for field in _PRODUCT_MONEY:
                    _check_number(product.get(field), f"{path}.{field}", errors)
                qty = product.get("quantity")
                if qty is not None and (
                    isinstance(qty, bool) or not isinstance(qty, int | float) or qty < 0
                ):
                    errors.append(f"{path}.quantity: expected a non-negative number, got {qty!r}")
    for field in ("currency", "order_id", "checkout_id", "coupon"):
        value = properties.get(field)
        if value is not None and (isinstance(value, bool) or not isinstance(value, str | int)):
            errors.append(f"properties.{field}: expected a string, got {_kind(value)}")
    if name == "Consent Updated":
        purpose = properties.get("purpose")
        if not isinstance(purpose, str) or not purpose:
            errors.append("properties.purpose: required, a consent purpose such as 'marketing'")
        if not isinstance(properties.get("granted"), bool):
            errors.append("properties.granted: required, true or false")
        channel = properties.get("channel")
        if channel is not None and not isinstance(channel, str):
            errors.append(f"properties.channel: expected a channel name, got {_kind(channel)}")


def _check_traits(reader: _Reader, traits: Mapping[str, Any], path: str) -> None:
    errors = reader.errors
    for name in PREFERENCE_TRAITS:
        value = traits.get(name)
        if value is None:
            continue
        try:
            if name == "timezone":
                check_timezone(value)
            elif name == "quiet_hours":
                parse_quiet_hours(value)
            elif name == "language" and not isinstance(value, str):
                errors.append(f"{path}.language: expected a language tag, got {_kind(value)}")
            elif name == "preferred_channels":
                if not isinstance(value, list):
                    errors.append(f"{path}.preferred_channels: expected a list of channel names")
                else:
                    for i, channel in enumerate(value):
                        reader.options.channels.require(
                            channel, field=f"{path}.preferred_channels[{i}]"
                        )
        except ValidationError as exc:
            errors.extend(
                line if line.startswith(path) else f"{path}.{name}: {line}" for line in exc.errors
            )


def parse_message(raw: object, options: IngestOptions, *, now: dt.datetime) -> Touchpoint:
    """
    Read one Segment Spec message into a `Touchpoint`.

    Raises:
        ValidationError: Listing every problem found, each as `field: reason`.
    """
    if not isinstance(raw, Mapping):
        raise ValidationError(f"expected a message object, got {_kind(raw)}")
    text, message = _encode(raw)
    size = len(text.encode()) if len(text) * 4 > options.max_message_bytes else len(text)
    if size > options.max_message_bytes:
        raise ValidationError(
            f"message is {size} bytes, over the {options.max_message_bytes}-byte limit"
        )

    reader = _Reader(options)
    errors = reader.errors
    kind = message.get("type")
    if kind is None:
        raise ValidationError("type: required field is missing")
    if kind not in _TYPES:
        raise ValidationError(
            f"type: unknown message type {kind!r} (expected one of {', '.join(MESSAGE_TYPES)})"
        )
    tp_type = _TYPES[kind]

    message_id = message.get("messageId")
    if message_id is None:
        message_id = derive_message_id(message)
    elif not isinstance(message_id, str) or not message_id.strip():
        errors.append(f"messageId: expected a non-empty string, got {message_id!r}")
    elif len(message_id) > 200:
        errors.append("messageId: longer than 200 characters")

    user_id = _id_value(message.get("userId"), "userId", errors)
    anonymous_id = _id_value(message.get("anonymousId"), "anonymousId", errors)
    if user_id is None and anonymous_id is None and not errors:
        errors.append("userId: either userId or anonymousId is required")
    reader.identity("user_id", user_id, "userId")
    reader.identity("anonymous_id", anonymous_id, "anonymousId")

    context = _object(message, "context", errors)
    properties = _object(message, "properties", errors)
    top_traits = _object(message, "traits", errors)
    context_traits = context.get("traits")
    if context_traits is not None and not isinstance(context_traits, Mapping):
        errors.append(f"context.traits: expected an object, got {_kind(context_traits)}")
        context_traits = None
    _object(message, "integrations", errors)

    person_traits: dict[str, Any] = dict(context_traits or {})
    traits_path = "context.traits"
    if tp_type is TouchpointType.IDENTIFY:
        person_traits.update(top_traits)
        traits_path = "traits"
    for field, kind_name in _IDENTIFYING_TRAITS:
        if field in top_traits and tp_type is TouchpointType.IDENTIFY:
            reader.identity(kind_name, top_traits[field], f"traits.{field}")
        elif context_traits and field in context_traits:
            reader.identity(kind_name, context_traits[field], f"context.traits.{field}")
    _check_traits(reader, person_traits, traits_path)

    device = context.get("device")
    if isinstance(device, Mapping):
        reader.identity("device_id", device.get("id"), "context.device.id")
        reader.identity("push_token", device.get("token"), "context.device.token")
    external = context.get("externalIds")
    if external is not None:
        if not isinstance(external, list):
            errors.append(f"context.externalIds: expected a list, got {_kind(external)}")
        else:
            for i, entry in enumerate(external):
                path = f"context.externalIds[{i}]"
                if not isinstance(entry, Mapping):
                    errors.append(
                        f"{path}: expected an object with id and type, got {_kind(entry)}"
                    )
                    continue
                id_kind = entry.get("type")
                if not isinstance(id_kind, str):
                    errors.append(f"{path}.type: expected an identity kind, got {_kind(id_kind)}")
                    continue
                try:
                    Identity(kind=id_kind, value="x")
                except ValidationError as exc:
                    errors.extend(
                        f"{path}.type: {line.removeprefix('kind: ')}" for line in exc.errors
                    )
                    continue
                if entry.get("id") is None:
                    errors.append(f"{path}.id: required field is missing")
                    continue
                reader.identity(id_kind, entry["id"], f"{path}.id")

    name: str
    props: dict[str, Any] = dict(properties)
    if tp_type is TouchpointType.TRACK:
        name = _string(message.get("event"), "event", errors, required=True) or ""
        if len(name) > 200:
            errors.append("event: longer than 200 characters")
        _check_properties(name, props, errors)
    elif tp_type in (TouchpointType.PAGE, TouchpointType.SCREEN):
        name = "Page Viewed" if tp_type is TouchpointType.PAGE else "Screen Viewed"
        for field in ("name", "category"):
            value = _string(message.get(field), field, errors)
            if value is not None:
                props.setdefault(field, value)
    elif tp_type is TouchpointType.IDENTIFY:
        name = "Identify"
    elif tp_type is TouchpointType.GROUP:
        name = "Group"
        group_id = _id_value(message.get("groupId"), "groupId", errors)
        if group_id is None and "groupId" not in message:
            errors.append("groupId: required field is missing")
        props = {"group_id": group_id, "traits": dict(top_traits)}
    else:
        name = "Alias"
        previous = _id_value(message.get("previousId"), "previousId", errors)
        if previous is None and "previousId" not in message:
            errors.append("previousId: required field is missing")
        if user_id is None and "userId" not in message:
            errors.append("userId: required for an alias")
        reader.identity("anonymous_id", previous, "previousId")
        props = {"previous_id": previous}

    occurred_at, received_at = _occurred_at(reader, message, now)
    channel = _channel(reader, message, context)
    direction = Direction.INBOUND
    stated = context.get("direction")
    if stated is not None:
        try:
            direction = Direction(stated)
        except ValueError:
            errors.append(f"context.direction: expected 'inbound' or 'outbound', got {stated!r}")
    elif name in _OUTBOUND_EVENTS:
        direction = Direction.OUTBOUND
    ctx = _context(reader, context)
    if errors:
        raise ValidationError(errors)
    return Touchpoint(
        message_id=message_id,
        type=tp_type,
        name=name,
        channel=channel,
        direction=direction,
        occurred_at=occurred_at,
        received_at=received_at,
        identities=tuple(dict.fromkeys(reader.identities)),
        properties=props,
        traits=person_traits,
        context=ctx,
    )
