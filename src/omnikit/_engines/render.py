"""
One message, rendered for one channel, within that channel's limits.

`render()` picks the message's content for the channel (its overrides win), renders its
Liquid templates with the customer's variables and the brand's snippets, and shapes the
result as the channel carries it:

- **email**: a one-line subject, the HTML part with every value escaped, and a plain-text
  part (the body, or the HTML's text when there is no body);
- **sms**: plain text, optionally transliterated to GSM-7, at most `Brand.max_sms_segments`
  segments;
- **push**: a title, a body and text-only data, 4096 bytes at most (FCM);
- **whatsapp**: free text only within 24 hours of the customer's last inbound message,
  otherwise the approved template the message names for WhatsApp;
- any other channel: the text, subject, HTML, media and data as they are.

A rendition that would break a limit is a `ValidationError` naming the field and the limit:
nothing is ever truncated. Rendering is pure: the moment is passed in, nothing is read or
sent.
"""

from __future__ import annotations

import datetime as dt
import functools
import html as html_lib
import re
from collections.abc import Mapping
from typing import Any

from omnikit._engines.html_text import html_to_text
from omnikit._engines.sms import first_non_gsm7, sms_segments, transliterate
from omnikit._engines.templates import render_template
from omnikit._models.message import (
    RESERVED_VARIABLES,
    Brand,
    CallToAction,
    Message,
    SmsInfo,
    json_data,
)
from omnikit._models.outbound import Rendition, TemplateRef
from omnikit.errors import ValidationError

__all__ = [
    "EMAIL_MAX_SUBJECT",
    "PUSH_MAX_BYTES",
    "WHATSAPP_MAX_TEXT",
    "WHATSAPP_WINDOW",
    "render",
]

WHATSAPP_WINDOW = dt.timedelta(hours=24)
"""How long after a customer's last message WhatsApp lets the brand answer in free text."""

WHATSAPP_MAX_TEXT = 4096
"""The longest WhatsApp text message, in characters."""

PUSH_MAX_BYTES = 4096
"""The largest FCM payload: the title, body, image and data keys and values, in bytes."""

EMAIL_MAX_SUBJECT = 998
"""The longest email subject, in characters: a header line's limit (RFC 5322)."""

_PUSH_RESERVED = frozenset({"from", "message_type", "collapse_key"})
_PUSH_RESERVED_PREFIXES = ("google", "gcm")
_LINK = re.compile(r"(?:https?://|mailto:|tel:)\S+", re.IGNORECASE)
_MEDIA = re.compile(r"https?://\S+", re.IGNORECASE)
_CHANNEL = re.compile(r"[a-z][a-z0-9_]{0,39}")
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)


def render(
    message: Message,
    channel: str,
    *,
    to: str,
    variables: Mapping[str, Any] | None = None,
    customer_context: Mapping[str, Any] | None = None,
    brand: Brand | None = None,
    now: dt.datetime,
    last_inbound_at: dt.datetime | None = None,
) -> Rendition:
    """
    Render *message* for *channel*, addressed *to* one recipient, within the channel's limits.

    ```python
    rendition = omnikit.render(
        message, "sms", to="+351912345678", variables={"first_name": "Ana"}, brand=brand, now=now
    )
    rendition.text  # 'Hi Ana, ...'
    ```

    Args:
        message: What to say.
        channel: The channel name (`"email"`, `"sms"`, `"push"`, `"whatsapp"`, ...).
        to: The recipient's address on that channel.
        variables: Personalization values for this recipient; they win over the
            message's own. `brand`, `customer`, `now` and `today` are taken.
        customer_context: What templates read as `customer` (`{{ customer.traits.tier }}`).
        brand: The brand's name, snippets, senders and SMS settings.
        now: The moment of rendering: `{{ now }}`, `{{ today }}`, and the WhatsApp window.
        last_inbound_at: When the customer last wrote on this channel (WhatsApp's window).

    Returns:
        The rendition, ready for a connector of *channel*.

    Raises:
        ValidationError: If a template is malformed or reads a variable nobody gave, or the
            rendition would break a limit of the channel; each error names the field.
        PluginNotFoundError: If the message has Liquid markup and python-liquid is not
            installed (`pip install 'omnikit[templates]'`).

    Added in version 0.1.0.
    """
    _check_arguments(message, channel, to, now, last_inbound_at)
    brand = Brand() if brand is None else brand
    if not isinstance(brand, Brand):
        raise ValidationError(f"brand: expected a Brand, got {type(brand).__name__}")
    scope = _scope(message, variables, customer_context, brand, now)
    context = _Context(
        message=message,
        channel=channel,
        brand=brand,
        scope=scope,
        now=now,
        last_inbound_at=last_inbound_at,
    )
    build = _BUILDERS.get(channel, _other)
    return build(context, to)


def _check_arguments(
    message: object,
    channel: object,
    to: object,
    now: object,
    last_inbound_at: object,
) -> None:
    if not isinstance(message, Message):
        raise ValidationError(f"message: expected a Message, got {type(message).__name__}")
    if not isinstance(channel, str) or not _CHANNEL.fullmatch(channel):
        raise ValidationError(f"channel: {channel!r:.40} is not a channel name")
    if not isinstance(to, str) or not to.strip():
        raise ValidationError("to: the recipient's address is empty")
    if len(to) > 1000 or not to.isprintable():
        raise ValidationError(f"to: {to!r:.60} is not an address (one line of printable text)")
    for name, moment in (("now", now), ("last_inbound_at", last_inbound_at)):
        if moment is None and name == "last_inbound_at":
            continue
        if not isinstance(moment, dt.datetime) or moment.utcoffset() is None:
            raise ValidationError(f"{name}: expected a datetime with a UTC offset")


def _scope(
    message: Message,
    variables: Mapping[str, Any] | None,
    customer_context: Mapping[str, Any] | None,
    brand: Brand,
    now: dt.datetime,
) -> dict[str, Any]:
    for name, value in (("variables", variables), ("customer_context", customer_context)):
        if value is not None and not isinstance(value, Mapping):
            raise ValidationError(f"{name}: expected a mapping, got {type(value).__name__}")
    given = json_data(dict(variables or {}), "variables")
    taken = sorted(RESERVED_VARIABLES & given.keys())
    if taken:
        raise ValidationError(
            [f"variables.{name}: reserved (rendering fills it in itself)" for name in taken]
        )
    return {
        **message.variables,
        **given,
        "customer": json_data(dict(customer_context or {}), "customer_context"),
        "brand": {"name": brand.name},
        "now": now,
        "today": now.date(),
    }


class _Context:
    """One message on its way to one channel: its fields picked, rendered once each."""

    def __init__(
        self,
        *,
        message: Message,
        channel: str,
        brand: Brand,
        scope: Mapping[str, Any],
        now: dt.datetime,
        last_inbound_at: dt.datetime | None,
    ) -> None:
        self.message = message
        self.channel = channel
        self.brand = brand
        self.scope = scope
        self.now = now
        self.last_inbound_at = last_inbound_at
        self.snippets = tuple(sorted(brand.snippets.items()))

    def field(self, name: str) -> tuple[str, Any]:
        """The field *name* for this channel, and where it came from: an override or not."""
        override = self.message.overrides.get(self.channel)
        value = getattr(override, name, None) if override is not None else None
        if value is not None:
            return f"overrides.{self.channel}.{name}", value
        return name, getattr(self.message, name)

    def text_of(self, path: str, source: str, *, html: bool = False) -> str:
        return render_template(source, self.scope, field=path, snippets=self.snippets, html=html)

    @property
    def sender(self) -> str | None:
        return self.brand.senders.get(self.channel)

    def subject(self) -> tuple[str, str | None]:
        path, source = self.field("subject")
        if source is None:
            return path, None
        return path, self.text_of(path, source).strip() or None

    @functools.cached_property
    def html(self) -> tuple[str, str | None]:
        path, source = self.field("html")
        if source is None:
            return path, None
        return path, self.text_of(path, source, html=True)

    @functools.cached_property
    def body(self) -> tuple[str, str]:
        """The plain text: the body, or the text of the HTML when the body is empty."""
        path, source = self.field("body")
        text = self.text_of(path, source).strip()
        html_path, html = self.html
        if not text and html:
            return html_path, html_to_text(html)
        return path, text

    @functools.cached_property
    def call_to_action(self) -> tuple[str, str] | None:
        path, action = self.field("call_to_action")
        if action is None:
            return None
        cta: CallToAction = action
        label = self.text_of(f"{path}.label", cta.label).strip()
        url = self.text_of(f"{path}.url", cta.url).strip()
        if not _LINK.fullmatch(url):
            raise ValidationError(f"{path}.url: {url!r:.80} is not an http(s), mailto or tel link")
        return label, url

    def media(self) -> tuple[str, ...]:
        path, sources = self.field("media")
        found = []
        for index, source in enumerate(sources):
            url = self.text_of(f"{path}[{index}]", source).strip()
            if not _MEDIA.fullmatch(url):
                raise ValidationError(f"{path}[{index}]: {url!r:.80} is not an http(s) URL")
            found.append(url)
        return tuple(found)

    def data(self) -> dict[str, str]:
        path, sources = self.field("data")
        return {key: self.text_of(f"{path}.{key}", value) for key, value in sources.items()}

    def template(self) -> TemplateRef | None:
        ref = self.message.templates.get(self.channel)
        if ref is None:
            return None
        path = f"templates.{self.channel}.parameters"
        parameters = []
        for index, source in enumerate(ref.parameters):
            value = self.text_of(f"{path}[{index}]", source).strip()
            if not value:
                raise ValidationError(
                    f"{path}[{index}]: empty; providers refuse empty template parameters"
                )
            parameters.append(value)
        return TemplateRef(name=ref.name, language=ref.language, parameters=tuple(parameters))

    def text_with_link(self, separator: str) -> tuple[str, str]:
        path, text = self.body
        action = self.call_to_action
        if action is None or action[1] in text:
            return path, text
        line = f"{action[0]}: {action[1]}" if action[0] else action[1]
        return path, f"{text}{separator}{line}" if text else line

    def html_with_link(self) -> str | None:
        _, html = self.html
        action = self.call_to_action
        if html is None or action is None:
            return html
        label, url = action
        href = html_lib.escape(url, quote=True)
        if href in html or url in html:
            return html
        link = f'<p><a href="{href}">{html_lib.escape(label or url)}</a></p>'
        ends = list(_BODY_END.finditer(html))
        if not ends:
            return f"{html}\n{link}"
        at = ends[-1].start()
        return f"{html[:at]}{link}\n{html[at:]}"

    def empty(self, path: str) -> ValidationError:
        return ValidationError(f"{path}: the message is empty on {self.channel}")


def _data(data: dict[str, str]) -> Mapping[object, object]:
    """*data* as `Rendition` takes it (it checks every key and value is text itself)."""
    return dict[object, object](data.items())


def _email(context: _Context, to: str) -> Rendition:
    template = context.template()
    path, subject = context.subject()
    if subject is None and template is None:
        raise ValidationError(f"{path}: an email needs a subject")
    if subject is not None:
        _check_subject(path, subject)
    html = context.html_with_link()
    body_path, text = context.text_with_link("\n\n")
    if not text and html is None and template is None:
        raise context.empty(body_path)
    return Rendition(
        channel=context.channel,
        to=to,
        text=text,
        subject=subject,
        html=html,
        data=_data(context.data()),
        template=template,
        media=context.media(),
        sender=context.sender,
    )


def _check_subject(path: str, subject: str) -> None:
    if any(ord(char) < 32 or ord(char) == 127 for char in subject):
        raise ValidationError(
            f"{path}: an email subject is one line of printable text (a line break in it "
            "would start a new header)"
        )
    if len(subject) > EMAIL_MAX_SUBJECT:
        raise ValidationError(
            f"{path}: {len(subject)} characters; an email subject takes at most {EMAIL_MAX_SUBJECT}"
        )


def _sms(context: _Context, to: str) -> Rendition:
    path, text = context.text_with_link("\n")
    if context.brand.transliterate:
        text = transliterate(text)
    template = context.template()
    if not text and template is None:
        raise context.empty(path)
    info = sms_segments(text)
    if info.segments > context.brand.max_sms_segments:
        raise ValidationError(_too_many_segments(path, text, info, context.brand))
    return Rendition(
        channel=context.channel,
        to=to,
        text=text,
        template=template,
        media=context.media(),
        sender=context.sender,
    )


def _too_many_segments(path: str, text: str, info: SmsInfo, brand: Brand) -> str:
    message = (
        f"{path}: {info.segments} SMS segments ({info.encoding}, {info.characters} "
        f"characters); the brand allows at most {brand.max_sms_segments}"
    )
    odd = first_non_gsm7(text)
    if odd is not None:
        message += f"; {odd!r} makes it UCS-2 (70 characters a segment instead of 160)"
        if not brand.transliterate and transliterate(text) != text:
            message += ", and Brand(transliterate=True) would make it GSM-7"
    return message


def _push(context: _Context, to: str) -> Rendition:
    subject_path, title = context.subject()
    body_path, text = context.body
    data_path, _ = context.field("data")
    data = context.data()
    action = context.call_to_action
    if action is not None:
        data.setdefault("cta_url", action[1])
        if action[0]:
            data.setdefault("cta_label", action[0])
    for key in data:
        if key in _PUSH_RESERVED or key.lower().startswith(_PUSH_RESERVED_PREFIXES):
            raise ValidationError(f"{data_path}.{key}: FCM reserves this key")
    media = context.media()
    template = context.template()
    if not title and not text and not data and template is None:
        raise context.empty(body_path)
    sizes = {
        subject_path: _bytes(title or ""),
        body_path: _bytes(text),
        data_path: sum(_bytes(key) + _bytes(value) for key, value in data.items()),
        "media": sum(_bytes(url) for url in media),
    }
    total = sum(sizes.values())
    if total > PUSH_MAX_BYTES:
        largest = max(sizes, key=lambda name: sizes[name])
        raise ValidationError(
            f"{largest}: the push payload would be {total} bytes (title, body, image and "
            f"data); FCM takes at most {PUSH_MAX_BYTES}"
        )
    return Rendition(
        channel=context.channel,
        to=to,
        text=text,
        subject=title,
        data=_data(data),
        template=template,
        media=media,
        sender=context.sender,
    )


def _bytes(text: str) -> int:
    return len(text.encode())


def _whatsapp(context: _Context, to: str) -> Rendition:
    last = context.last_inbound_at
    path = "body"
    if last is not None and context.now - last < WHATSAPP_WINDOW:
        path, text = context.text_with_link("\n")
        media = context.media()
        if text or media:
            if len(text) > WHATSAPP_MAX_TEXT:
                raise ValidationError(
                    f"{path}: {len(text)} characters; WhatsApp takes at most {WHATSAPP_MAX_TEXT}"
                )
            return Rendition(
                channel=context.channel, to=to, text=text, media=media, sender=context.sender
            )
    template = context.template()
    if template is not None:
        return Rendition(channel=context.channel, to=to, template=template, sender=context.sender)
    if last is not None and context.now - last < WHATSAPP_WINDOW:
        raise context.empty(path)
    since = "there was none" if last is None else f"the last was at {last.isoformat()}"
    raise ValidationError(
        f"templates.{context.channel}: WhatsApp allows free-form text only within 24 hours "
        f"of the customer's last inbound message ({since}); name an approved template for "
        f"{context.channel!r} in Message.templates"
    )


def _other(context: _Context, to: str) -> Rendition:
    _, subject = context.subject()
    path, text = context.text_with_link("\n\n")
    html = context.html_with_link()
    template = context.template()
    data = context.data()
    media = context.media()
    if not text and html is None and template is None and not data and not media:
        raise context.empty(path)
    return Rendition(
        channel=context.channel,
        to=to,
        text=text,
        subject=subject,
        html=html,
        data=_data(data),
        template=template,
        media=media,
        sender=context.sender,
    )


_BUILDERS = {"email": _email, "sms": _sms, "push": _push, "whatsapp": _whatsapp}
