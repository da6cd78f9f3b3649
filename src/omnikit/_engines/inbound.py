"""
Inbound messages: reading Segment Spec messages into touchpoints.

The message types are identify, track, page, screen, group and alias. Pure: the caller passes
`now` (for messages that carry no time) and the options. Fields are read with
`omnikit._engines.reader`, the `context` object with `omnikit._engines.contexts`.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from typing import Any, Final

import attrs

from omnikit._engines.consents import check_consent_context
from omnikit._engines.contexts import read_context
from omnikit._engines.profile import (
    EXPERIMENT_ASSIGNED,
    OWN_SEGMENT_IDS,
    PREFERENCE_TRAITS,
    check_timezone,
    parse_quiet_hours,
)
from omnikit._engines.properties import check_properties
from omnikit._engines.reader import (
    CACHE_LIMIT,
    EMPTY,
    ReadCache,
    Reader,
    id_value,
    object_field,
    string_field,
)
from omnikit._engines.times import MAX_FUTURE, MAX_PAST
from omnikit._engines.values import check, encode, kind_of, suspect
from omnikit._models.channels import Channels
from omnikit._models.identities import Identity, is_identity_kind
from omnikit._models.touchpoints import (
    Direction,
    Touchpoint,
    TouchpointType,
    Trust,
)
from omnikit.errors import ValidationError

__all__ = [
    "IngestOptions",
    "derive_message_id",
    "parse_message",
]

MESSAGE_TYPES: Final = ("identify", "track", "page", "screen", "group", "alias")
_TYPES = {t.value: t for t in TouchpointType}
# Members as module constants: reading one off its enum class costs a lookup, once per event.
_TRACK, _PAGE, _SCREEN, _IDENTIFY, _GROUP = (
    TouchpointType.TRACK,
    TouchpointType.PAGE,
    TouchpointType.SCREEN,
    TouchpointType.IDENTIFY,
    TouchpointType.GROUP,
)
_INBOUND, _OUTBOUND = Direction.INBOUND, Direction.OUTBOUND
_SPEC_CHANNELS: Final = {"browser": "web", "mobile": "app"}
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
    }
)
_RESERVED_EVENTS: Final = {
    "Decision Made": "a decision of Hub.decide(record=True), which caps count",
    EXPERIMENT_ASSIGNED: "the key a customer's experiment arms are drawn from",
}
"""Events only a hub records about a customer, with what each is: refused from outside."""
_IDENTIFYING_TRAITS: Final = (
    ("email", "email", "traits.email", "context.traits.email"),
    ("phone", "phone", "traits.phone", "context.traits.phone"),
)


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
        id_key: The store's key, for the ids of messages that carry none.
        max_past: How long before its receipt an event may have happened; `None` for no
            bound but the years a datetime holds.
        max_future: How long after its receipt an event may say it happened (a sender's
            clock running ahead); `None` for no bound but the years a datetime holds.
    """

    channels: Channels = attrs.field(factory=Channels)
    default_channel: str = "web"
    default_region: str | None = None
    default_timezone: dt.tzinfo | None = None
    max_message_bytes: int = 32 * 1024
    id_key: bytes = attrs.field(default=b"", repr=False)
    max_past: dt.timedelta | None = MAX_PAST
    max_future: dt.timedelta | None = MAX_FUTURE

    @functools.cached_property
    def channel_names(self) -> frozenset[str]:
        """The names of *channels*, for a membership test without `Mapping`'s Python code."""
        return frozenset(self.channels)


def derive_message_id(message: Mapping[str, Any], key: bytes = b"") -> str:
    """
    A message id derived from a message's content, for messages that carry none.

    `sentAt` and `receivedAt` are left out: a client that retries a send stamps them anew,
    and the retry must still be recognised as the same message. The hash is keyed with the
    store's *key*, so the id confirms no guess of the content (an email, say) elsewhere.
    """
    content = {k: v for k, v in message.items() if k not in {"sentAt", "receivedAt", "messageId"}}
    try:
        text = json.dumps(
            content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
        )
    except TypeError:  # keys of several types (1 and "a") do not sort: keep their order
        text = json.dumps(content, separators=(",", ":"), ensure_ascii=False, default=str)
    return (
        "omk-"
        + hmac.new(key, text.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:32]
    )


def _occurred_at(
    reader: Reader, message: Mapping[str, Any], now: dt.datetime
) -> tuple[dt.datetime, dt.datetime]:
    time, get = reader.time, message.get
    # Most messages carry a timestamp and none of the others: skip the calls for those.
    timestamp = None if (value := get("timestamp")) is None else time(value, "timestamp")
    given_received = None if (value := get("receivedAt")) is None else time(value, "receivedAt")
    original = (
        None if (value := get("originalTimestamp")) is None else time(value, "originalTimestamp")
    )
    sent = None if (value := get("sentAt")) is None else time(value, "sentAt")
    received = now
    if given_received is not None:
        reader.in_window(given_received, "receivedAt", now)
        received = given_received
    if timestamp is not None:
        return reader.in_window(timestamp, "timestamp", now), received
    if original is not None:
        if sent is not None and given_received is not None:
            # Segment's clock-skew correction: the device's clock may be wrong, the gap between
            # the event and the send is not.
            try:
                original = received - (sent - original)
            except OverflowError:
                reader.errors.append(
                    "originalTimestamp: corrected for the sender's clock (receivedAt - (sentAt "
                    "- originalTimestamp)), it falls outside the years a date can have"
                )
                return received, received
        return reader.in_window(original, "originalTimestamp", now), received
    return received, received


def _channel(reader: Reader, message: Mapping[str, Any], context: Mapping[str, Any]) -> str:
    channels = reader.options.channels
    named = context.get("channel")
    if named is not None:
        if type(named) is str and named in reader.options.channel_names:
            return named
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


def _check_traits(reader: Reader, traits: Mapping[str, Any], path: str) -> None:
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
                errors.append(f"{path}.language: expected a language tag, got {kind_of(value)}")
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


def _carried(identities: list[Identity], cache: ReadCache | None) -> tuple[Identity, ...]:
    """The identities a touchpoint carries, without duplicates, in a tuple shared if seen."""
    if not identities or cache is None:
        return _unique(identities)
    key: object = id(identities[0]) if len(identities) == 1 else tuple(map(id, identities))
    found = cache.tuples.get(key)
    if found is None:
        found = _unique(identities)
        if len(found) == len(identities):  # it holds every object its key names
            if len(cache.tuples) >= CACHE_LIMIT:
                cache.tuples.clear()
            cache.tuples[key] = found
    return found


def _unique(identities: list[Identity]) -> tuple[Identity, ...]:
    if len(identities) < 2:
        return tuple(identities)
    if len(identities) == 2:
        a, b = identities
        return (a,) if a.kind == b.kind and a.value == b.value else (a, b)
    seen: set[tuple[str, str]] = set()
    out = []
    for identity in identities:
        key = (identity.kind, identity.value)
        if key not in seen:
            seen.add(key)
            out.append(identity)
    return tuple(out)


def _no_identifier(kind: str, top_traits: Mapping[str, Any]) -> str:
    """The error for a message that names nobody: which fields would have."""
    traits = "traits.email, traits.phone, context.traits.email, context.traits.phone"
    if kind != "identify":
        traits = "context.traits.email, context.traits.phone"
    line = (
        "userId: required when the message carries no other identifier (anonymousId, "
        f"context.externalIds, {traits}, context.device.id or context.device.token)"
    )
    if kind != "identify" and ("email" in top_traits or "phone" in top_traits):
        line += (
            f"; a {kind}'s top-level traits do not identify a person, as in the Segment "
            "Spec: put the person's email or phone in context.traits"
        )
    return line


def parse_message(
    raw: object,
    options: IngestOptions,
    *,
    now: dt.datetime,
    text: str | None = None,
    cache: ReadCache | None = None,
    source: str | None = None,
    trust: Trust = Trust.CLAIMED,
    blocked: Callable[[tuple[str, str]], bool] | None = None,
) -> Touchpoint:
    """
    Read one Segment Spec message into a `Touchpoint`.

    Args:
        raw: The message, as a mapping.
        options: How to read it.
        now: When it is received: the time of a message that carries none, and the middle
            of the window its times must be in.
        text: The JSON text it was read from, if it was (then it holds only JSON values, its
            numbers checked by `values.decode`); otherwise it is encoded, and Python values
            are converted.
        cache: What was read before; the caller keeps it between messages.
        source: Where the host received it; replaces the message's own `context.source`.
        trust: The trust of that source.
        blocked: Whether an identifier is a placeholder (`IdentityRules.is_blocked`): one
            that cannot be read (`"n/a"` as a phone at a till) is then skipped instead of
            refusing the message; it is kept wherever it was, as a trait say.

    Raises:
        ValidationError: Listing every problem found, each as `field: reason`.
    """
    reader = Reader(options, {} if cache is None else cache.identities, blocked)
    errors = reader.errors
    # Every error is collected, in the order of the fields, before they are raised together.
    message, tp_type, message_id = _envelope(raw, text, options, errors)
    named, context, properties, top_traits, person_traits = _read_person(reader, message, tp_type)
    name, props = _name_and_properties(reader, message, tp_type, properties, top_traits)
    if not named and not reader.offered:
        errors.append(_no_identifier(tp_type.value, top_traits))
    occurred_at, received_at = _occurred_at(reader, message, now)
    channel = _channel(reader, message, context)
    direction = _OUTBOUND if name in _OUTBOUND_EVENTS else _INBOUND
    if "direction" in context:
        direction = _stated_direction(context["direction"], direction, errors)
    if "consent" in context:
        check_consent_context(context["consent"], errors)
    # Objects decoded here are omnikit's own; a host's may change after the call, so a
    # context holding them is not shared.
    ctx = read_context(reader, context, cache, source, share_objects=text is not None)
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
        identities=_carried(reader.identities, cache),
        properties=props,
        traits=person_traits,
        context=ctx,
        trust=trust,
    )


def _envelope(
    raw: object, text: str | None, options: IngestOptions, errors: list[str]
) -> tuple[Mapping[str, Any], TouchpointType, Any]:
    """
    What every message has: the message as a mapping of JSON values, its type and its id.

    Its *text* is the JSON it was read from, if it was; otherwise it is encoded here. A
    message that is not an object, is over the size limit, holds a value no store keeps or
    has no known type is refused at once; a bad id is noted in *errors*.
    """
    if not isinstance(raw, dict):
        if not isinstance(raw, Mapping):
            raise ValidationError(f"expected a message object, got {kind_of(raw)}")
        raw = dict(raw)
    message: Mapping[str, Any] = raw
    if text is None:
        text, message = encode(raw)
    limit = options.max_message_bytes
    # Counted in characters while even four bytes each would be under the limit.
    if len(text) * 4 > limit and not text.isascii():
        size = len(text.encode("utf-8", "surrogatepass"))
    else:
        size = len(text)
    if size > limit:
        raise ValidationError(f"message is {size} bytes, over the {limit}-byte limit")
    if suspect(text):
        check(message)
    kind = message.get("type")
    tp_type = _TYPES.get(kind) if type(kind) is str else None
    if tp_type is None:
        raise _type_error(kind)
    message_id = message.get("messageId")
    if message_id is None:
        message_id = derive_message_id(message, options.id_key)
    elif not isinstance(message_id, str) or not message_id.strip():
        errors.append(f"messageId: expected a non-empty string, got {message_id!r}")
    elif len(message_id) > 200:
        errors.append("messageId: longer than 200 characters")
    elif message_id.startswith(OWN_SEGMENT_IDS):
        errors.append(
            f"messageId: ids beginning {OWN_SEGMENT_IDS!r} are those of the segment changes "
            "omnikit records itself; a message from outside can't take one"
        )
    return message, tp_type, message_id


def _type_error(kind: object) -> ValidationError:
    """The error for a message whose type is missing or not one of `MESSAGE_TYPES`."""
    if kind is None:
        return ValidationError("type: required field is missing")
    return ValidationError(
        f"type: unknown message type {kind!r} (expected one of {', '.join(MESSAGE_TYPES)})"
    )


def _read_person(
    reader: Reader, message: Mapping[str, Any], tp_type: TouchpointType
) -> tuple[bool, Mapping[str, Any], Mapping[str, Any], Mapping[str, Any], dict[str, Any]]:
    """
    Read who the message is about, and the objects that say so.

    The identities of `userId`, `anonymousId`, the person's traits, `context.device` and
    `context.externalIds` go to *reader*. Returns whether `userId` or `anonymousId` is given,
    the message's `context`, `properties` and `traits`, and the traits of its person.
    """
    errors = reader.errors
    # Fast paths here and below (`type(x) is str`, `type(x) is dict`, `is None`) skip a call
    # for the usual, valid shapes; anything else takes the general check, which also words
    # the errors.
    user_id = raw_user = message.get("userId")
    if raw_user is not None and type(raw_user) is not str:
        user_id = id_value(raw_user, "userId", errors)
    anonymous_id = raw_anonymous = message.get("anonymousId")
    if raw_anonymous is not None and type(raw_anonymous) is not str:
        anonymous_id = id_value(raw_anonymous, "anonymousId", errors)
    if user_id is not None:
        reader.identity("user_id", user_id, "userId")
    if anonymous_id is not None:
        reader.identity("anonymous_id", anonymous_id, "anonymousId")
    context = message.get("context")
    if type(context) is not dict:
        context = EMPTY if context is None else object_field(message, "context", errors)
    properties = message.get("properties")
    if type(properties) is not dict:
        properties = EMPTY if properties is None else object_field(message, "properties", errors)
    top_traits = message.get("traits")
    if type(top_traits) is not dict:
        top_traits = EMPTY if top_traits is None else object_field(message, "traits", errors)
    context_traits = context.get("traits")
    if context_traits is not None and not isinstance(context_traits, dict):
        errors.append(f"context.traits: expected an object, got {kind_of(context_traits)}")
        context_traits = None
    if message.get("integrations") is not None:
        object_field(message, "integrations", errors)
    person_traits: dict[str, Any] = {}
    if context_traits or (tp_type is _IDENTIFY and top_traits):
        person_traits = _person_traits(reader, tp_type, top_traits, context_traits)
    device = context.get("device")
    if isinstance(device, dict):
        if (device_id := device.get("id")) is not None:
            reader.identity("device_id", device_id, "context.device.id")
        if (token := device.get("token")) is not None:
            reader.identity("push_token", token, "context.device.token")
    external = context.get("externalIds")
    if external is not None:
        _external_ids(reader, external)
    named = raw_user is not None or raw_anonymous is not None
    return named, context, properties, top_traits, person_traits


def _person_traits(
    reader: Reader,
    tp_type: TouchpointType,
    top_traits: Mapping[str, Any],
    context_traits: dict[str, Any] | None,
) -> dict[str, Any]:
    """
    The traits a message says of its person, checked, with the identities they name read.

    Those of `context.traits`, and an identify's own `traits` over them.
    """
    is_identify = tp_type is _IDENTIFY
    person_traits: dict[str, Any] = dict(context_traits) if context_traits else {}
    traits_path = "context.traits"
    if is_identify:
        person_traits.update(top_traits)
        traits_path = "traits"
    for field, kind_name, top_path, context_path in _IDENTIFYING_TRAITS:
        if is_identify and field in top_traits:
            reader.identity(kind_name, top_traits[field], top_path)
        elif context_traits and field in context_traits:
            reader.identity(kind_name, context_traits[field], context_path)
    if person_traits:
        _check_traits(reader, person_traits, traits_path)
    return person_traits


def _external_ids(reader: Reader, external: object) -> None:
    """Read the identities of `context.externalIds`."""
    errors = reader.errors
    if not isinstance(external, list):
        errors.append(f"context.externalIds: expected a list, got {kind_of(external)}")
        return
    for i, entry in enumerate(external):
        path = f"context.externalIds[{i}]"
        if not isinstance(entry, dict):
            errors.append(f"{path}: expected an object with id and type, got {kind_of(entry)}")
            continue
        id_kind = entry.get("type")
        if not isinstance(id_kind, str):
            errors.append(f"{path}.type: expected an identity kind, got {kind_of(id_kind)}")
            continue
        if not is_identity_kind(id_kind):
            errors.append(
                f"{path}.type: {id_kind!r} is not an identity kind "
                "(lower-case letters, digits and '_')"
            )
            continue
        if entry.get("id") is None:
            errors.append(f"{path}.id: required field is missing")
            continue
        reader.identity(id_kind, entry["id"], f"{path}.id")


def _name_and_properties(
    reader: Reader,
    message: Mapping[str, Any],
    tp_type: TouchpointType,
    properties: Mapping[str, Any],
    top_traits: Mapping[str, Any],
) -> tuple[str, dict[str, Any]]:
    """The touchpoint's name and properties, as the message's type has them."""
    errors = reader.errors
    if tp_type is _TRACK:
        props = dict(properties)
        event = message.get("event")
        if type(event) is str and event.strip():
            name = event
        else:
            name = string_field(event, "event", errors, required=True) or ""
        if len(name) > 200:
            errors.append("event: longer than 200 characters")
        if name in _RESERVED_EVENTS:
            errors.append(
                f"event: {name!r} is recorded by omnikit itself ({_RESERVED_EVENTS[name]}); "
                "a message from outside can't be one"
            )
        check_properties(name, props, errors)
        return name, props
    if tp_type is _PAGE or tp_type is _SCREEN:
        props = dict(properties)
        for field in ("name", "category"):
            value = string_field(message.get(field), field, errors)
            if value is not None:
                props.setdefault(field, value)
        return "Page Viewed" if tp_type is _PAGE else "Screen Viewed", props
    if tp_type is _IDENTIFY:
        return "Identify", dict(properties)
    if tp_type is _GROUP:
        group_id = id_value(message.get("groupId"), "groupId", errors)
        if group_id is None and "groupId" not in message:
            errors.append("groupId: required field is missing")
        return "Group", {"group_id": group_id, "traits": dict(top_traits)}
    previous = id_value(message.get("previousId"), "previousId", errors)
    if previous is None and "previousId" not in message:
        errors.append("previousId: required field is missing")
    if "userId" not in message:  # a userId given but not valid is an error of its own
        errors.append("userId: required for an alias")
    reader.identity("anonymous_id", previous, "previousId")
    return "Alias", {"previous_id": previous}


def _stated_direction(stated: Any, default: Direction, errors: list[str]) -> Direction:
    """The direction `context.direction` states, if it states one; otherwise *default*."""
    if stated is None:
        return default
    try:
        return Direction(stated)
    except ValueError:
        errors.append(f"context.direction: expected 'inbound' or 'outbound', got {stated!r}")
        return default
