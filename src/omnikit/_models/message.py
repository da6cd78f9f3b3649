"""
One message, written once, and the brand that speaks it on every channel.

A `Message` holds the content once (subject, body, HTML, media, a call to action, data for the
app) in Liquid templates, with per-channel overrides and, for providers that send only
approved templates, the template to use per channel. A `Brand` holds what every message of
the brand shares: its name, its snippets (a sign-off, a legal footer) and its senders. The
rendering engine turns the two into one `Rendition` per channel.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import attrs

from omnikit._models.outbound import TemplateRef
from omnikit.errors import ValidationError

__all__ = [
    "MAX_SOURCE",
    "RESERVED_VARIABLES",
    "Brand",
    "CallToAction",
    "ChannelOverride",
    "Message",
    "SmsInfo",
    "json_data",
]

MAX_SOURCE = 500_000
"""The most characters one template (a body, an HTML part, a snippet) may have."""

MAX_DEPTH = 32
"""How deep personalization data may nest."""

MAX_VALUES = 100_000
"""How many values (each string, number, list and object counts) personalization data holds."""

RESERVED_VARIABLES = frozenset({"brand", "customer", "now", "today"})
"""Names the rendering engine fills in itself: no variable may take them."""

_CHANNEL = re.compile(r"[a-z][a-z0-9_]{0,39}")
_SNIPPET = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")


def json_data(value: object, path: str) -> Any:
    """
    Return *value* as personalization data: JSON values, dates and decimals, copied.

    Strings, numbers, booleans, `None`, dates, datetimes and decimals; lists (from lists and
    tuples) and objects with string keys, at most `MAX_DEPTH` deep and `MAX_VALUES` values in
    all. Nothing else reaches a template, so a template never sees a Python object.

    Raises:
        ValidationError: Naming the path of the first value that is none of these.
    """
    count = [0]
    return _json(value, path, 0, count)


def _json(value: object, path: str, depth: int, count: list[int]) -> Any:
    count[0] += 1
    if count[0] > MAX_VALUES:
        raise ValidationError(f"{path}: more than {MAX_VALUES} values")
    if depth > MAX_DEPTH:
        raise ValidationError(f"{path}: nested more than {MAX_DEPTH} deep")
    if value is None or isinstance(value, str | bool | int | dt.date | decimal.Decimal):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(f"{path}: {value!r} is not a finite number")
        return value
    if isinstance(value, list | tuple):
        return [_json(item, f"{path}[{i}]", depth + 1, count) for i, item in enumerate(value)]
    if isinstance(value, Mapping):
        copied = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValidationError(f"{path}: keys are strings; got {type(key).__name__}")
            copied[key] = _json(item, f"{path}.{key}", depth + 1, count)
        return copied
    raise ValidationError(
        f"{path}: {type(value).__name__} is not personalization data (text, numbers, "
        "booleans, dates, lists and objects)"
    )


def _check_source(path: str, value: object) -> None:
    if not isinstance(value, str):
        raise ValidationError(f"{path}: expected text, got {type(value).__name__}")
    if len(value) > MAX_SOURCE:
        raise ValidationError(
            f"{path}: {len(value)} characters; a template takes at most {MAX_SOURCE}"
        )


def _sources(_instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    if isinstance(value, str):
        _check_source(attribute.name, value)
        return
    for index, item in enumerate(value):
        _check_source(f"{attribute.name}[{index}]", item)


def _string_map(value: Mapping[str, str] | None) -> dict[str, str]:
    return dict(value or {})


def _overrides(value: Mapping[str, ChannelOverride]) -> dict[str, ChannelOverride]:
    return dict(value)


def _templates(value: Mapping[str, TemplateRef]) -> dict[str, TemplateRef]:
    return dict(value)


def _urls(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _string_map_or_none(value: Mapping[str, str] | None) -> dict[str, str] | None:
    return None if value is None else dict(value)


def _check_string_map(_instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    for key, item in value.items():
        if not isinstance(key, str) or not key:
            raise ValidationError(f"{attribute.name}: keys are non-empty text; got {key!r:.40}")
        _check_source(f"{attribute.name}.{key}", item)


def _check_channels(_instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    for key in value:
        if not isinstance(key, str) or not _CHANNEL.fullmatch(key):
            raise ValidationError(f"{attribute.name}: {key!r:.40} is not a channel name")


def _instances_of(cls: type) -> Any:
    def check(_instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        _check_channels(_instance, attribute, value)
        for key, item in value.items():
            if not isinstance(item, cls):
                raise ValidationError(
                    f"{attribute.name}.{key}: expected a {cls.__name__}, got {type(item).__name__}"
                )

    return check


def _optional(cls: type) -> Any:
    def check(_instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None and not isinstance(value, cls):
            raise ValidationError(
                f"{attribute.name}: expected a {cls.__name__}, got {type(value).__name__}"
            )

    return check


def _tuple_or_none(value: Iterable[str] | None) -> tuple[str, ...] | None:
    return None if value is None else tuple(value)


@attrs.define(frozen=True, kw_only=True)
class CallToAction:
    """
    What the message asks the customer to do: a label and the link that does it.

    Both are Liquid templates (`"https://shop.example/orders/{{ order_id }}"`). Rendered, the
    URL must be `http`, `https`, `mailto` or `tel`.

    Attributes:
        label: The words of the button or link (`"Track your parcel"`).
        url: Where it leads.

    Added in version 0.1.0.
    """

    label: str = attrs.field(validator=_sources)
    url: str = attrs.field(validator=_sources)


@attrs.define(frozen=True, kw_only=True)
class ChannelOverride:
    """
    What one channel says differently; each field given replaces the message's own.

    A field left `None` keeps the message's. `body=""` says nothing in the body on that
    channel (a push with a title only, an email with HTML only).

    Attributes:
        subject: The email subject or push title on this channel.
        body: The plain text on this channel (a shorter SMS, a push body).
        html: The HTML part on this channel.
        media: The media URLs on this channel (`()` for none).
        call_to_action: The call to action on this channel.
        data: The data for the app on this channel (push data, webhook fields).

    Added in version 0.1.0.
    """

    subject: str | None = attrs.field(default=None, validator=_sources)
    body: str | None = attrs.field(default=None, validator=_sources)
    html: str | None = attrs.field(default=None, validator=_sources)
    media: tuple[str, ...] | None = attrs.field(
        default=None, converter=_tuple_or_none, validator=_sources
    )
    call_to_action: CallToAction | None = attrs.field(
        default=None, validator=_optional(CallToAction)
    )
    data: Mapping[str, str] | None = attrs.field(
        default=None, converter=_string_map_or_none, validator=_check_string_map
    )


def _variables(value: Mapping[str, Any] | None) -> dict[str, Any]:
    data = json_data(dict(value or {}), "variables")
    taken = sorted(RESERVED_VARIABLES & data.keys())
    if taken:
        raise ValidationError(
            [f"variables.{name}: reserved (rendering fills it in itself)" for name in taken]
        )
    return dict(data)


@attrs.define(frozen=True, kw_only=True)
class Message:
    """
    The content of a message, written once for every channel.

    Every text is a [Liquid](https://shopify.github.io/liquid/) template: `{{ first_name }}`
    reads a variable, `{{ customer.traits.city }}` the customer, `{{ brand.name }}` the brand,
    `{% render 'footer' %}` one of the brand's snippets. A variable nobody gave is an error,
    unless the template gives a default: `{{ first_name | default: "there" }}`.

    ```python
    message = omnikit.Message(
        subject="Your order {{ order_id }} is on its way",
        body="Hi {{ first_name }}, order {{ order_id }} ships today.",
        overrides={"sms": omnikit.ChannelOverride(body="Order {{ order_id }} shipped.")},
    )
    ```

    Attributes:
        subject: An email's subject, a push notification's title.
        body: The plain text: an SMS, a push body, a WhatsApp or chat message, an email's
            text part (derived from *html* when empty).
        html: An email's HTML part; variables in it are HTML-escaped.
        media: URLs of images or attachments.
        call_to_action: A label and a link, placed as each channel places one.
        data: Key-value data for the app or receiving system (push data); text values.
        variables: Personalization values the message carries itself (an offer code);
            those given when rendering win.
        overrides: Per channel name, the fields that channel says differently.
        templates: Per channel name, the provider template to send where free text is not
            allowed (WhatsApp outside its 24-hour window). Its parameters are Liquid
            templates too.

    Added in version 0.1.0.
    """

    subject: str | None = attrs.field(default=None, validator=_sources)
    body: str = attrs.field(default="", validator=_sources)
    html: str | None = attrs.field(default=None, validator=_sources)
    media: tuple[str, ...] = attrs.field(default=(), converter=_urls, validator=_sources)
    call_to_action: CallToAction | None = attrs.field(
        default=None, validator=_optional(CallToAction)
    )
    data: Mapping[str, str] = attrs.field(
        factory=dict, converter=_string_map, validator=_check_string_map
    )
    variables: Mapping[str, Any] = attrs.field(factory=dict, converter=_variables)
    overrides: Mapping[str, ChannelOverride] = attrs.field(
        factory=dict, converter=_overrides, validator=_instances_of(ChannelOverride)
    )
    templates: Mapping[str, TemplateRef] = attrs.field(
        factory=dict, converter=_templates, validator=_instances_of(TemplateRef)
    )


def _check_snippets(_instance: object, _attribute: object, value: Mapping[str, str]) -> None:
    for key, source in value.items():
        name: object = key  # a caller may pass anything: say what is wrong with it
        if not isinstance(name, str) or not _SNIPPET.fullmatch(name):
            raise ValidationError(
                f"snippets: {name!r:.40} is not a snippet name (letters, digits, '_', '.', '-')"
            )
        _check_source(f"snippets.{name}", source)


def _check_senders(_instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    _check_channels(_instance, attribute, value)
    for channel, given in value.items():
        sender: object = given
        if not isinstance(sender, str) or not sender or not sender.isprintable():
            raise ValidationError(f"senders.{channel}: {sender!r:.40} is not a sender")


def _check_segments(_instance: object, _attribute: object, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 255:
        raise ValidationError(
            f"max_sms_segments: {value!r:.20} is not a number of segments from 1 to 255"
        )


@attrs.define(frozen=True, kw_only=True)
class Brand:
    """
    What every message of a brand shares, so that every channel speaks with one voice.

    ```python
    brand = omnikit.Brand(
        name="Lisbon Boots",
        snippets={"footer": "{{ brand.name }}, Rua Augusta 1, Lisboa"},
        senders={"email": "orders@boots.example", "sms": "LisbonBoot"},
    )
    ```

    Attributes:
        name: The brand's name, `{{ brand.name }}` in templates.
        snippets: Named Liquid partials (a sign-off, a legal footer) any template of any
            channel renders with `{% render 'footer' %}` or `{% include 'footer' %}`.
        senders: Per channel name, who messages come from (an email address, an SMS sender
            id or number).
        transliterate: Swap curly quotes, long dashes, ellipses and unusual spaces in SMS for
            their plain GSM-7 forms, when that makes the whole text GSM-7 (one curly
            quote otherwise makes an SMS UCS-2: 70 characters a segment instead of 160).
        max_sms_segments: The most segments an SMS may take; longer is an error, never a
            truncation. Ten GSM-7 segments are 1,530 characters, under Twilio's 1,600.

    Added in version 0.1.0.
    """

    name: str = ""
    snippets: Mapping[str, str] = attrs.field(
        factory=dict, converter=_string_map, validator=_check_snippets
    )
    senders: Mapping[str, str] = attrs.field(
        factory=dict, converter=_string_map, validator=_check_senders
    )
    transliterate: bool = False
    max_sms_segments: int = attrs.field(default=10, validator=_check_segments)


@attrs.define(frozen=True, kw_only=True)
class SmsInfo:
    r"""
    What a text costs as SMS: its encoding and how many segments it is billed as.

    Attributes:
        encoding: `"GSM-7"` when every character is in the GSM 03.38 alphabet, else
            `"UCS-2"` (one emoji or curly quote is enough).
        segments: How many SMS the text is sent as: one up to 160 GSM-7 or 70 UCS-2 units,
            else parts of 153 or 67 (a character is never split between two).
        characters: The number of characters (Unicode code points).
        units: Septets in GSM-7 (`^ { } \ [ ~ ] | €` and form feed take two), UTF-16 code
            units in UCS-2 (an emoji outside the Basic Multilingual Plane takes two).

    Added in version 0.1.0.
    """

    encoding: Literal["GSM-7", "UCS-2"]
    segments: int
    characters: int
    units: int
