"""
What the email connectors share: addresses and header text checked before anything is sent.

A line break in an address, a subject or a sender's name would let a recipient's data write
headers of its own (`Bcc:`) into the message; these checks refuse it with a `ValidationError`
naming the field, whichever connector builds the message.
"""

from __future__ import annotations

import email.errors
import html
import re
import urllib.parse
from email.headerregistry import Address

from omnikit._models.outbound import Rendition
from omnikit.errors import ValidationError

__all__ = ["Mailbox", "check_header", "mailbox", "with_links"]

_BREAKS = re.compile(r"[\r\n\x00\x0b\x0c\x85\u2028\u2029]")
_NAMED = re.compile(r"(?P<name>[^<>]*?)\s*<(?P<address>[^<>]*)>")


class Mailbox:
    """An address as SMTP and providers take it (`address`), and a display name (`name`)."""

    __slots__ = ("address", "domain", "name")

    def __init__(self, address: str, domain: str, name: str) -> None:
        self.address = address
        self.domain = domain
        self.name = name

    def header(self) -> str:
        """The mailbox as a header value: `"Name" <address>`, or the bare address."""
        return str(Address(display_name=self.name, addr_spec=self.address))


def check_header(field: str, value: str) -> str:
    """
    *value* if it can go into a header: no line break, no NUL.

    Raises:
        ValidationError: Naming *field*, if *value* would end its header line.
    """
    if _BREAKS.search(value):
        raise ValidationError(
            f"{field}: contains a line break or NUL; refused, as it would write headers of its own"
        )
    return value


def mailbox(field: str, value: str) -> Mailbox:
    """
    *value* (`shop@example.com` or `Shop <shop@example.com>`) as a checked `Mailbox`.

    The domain is given in its ASCII (IDNA) form, as SMTP needs it.

    Raises:
        ValidationError: Naming *field*, for a line break, several addresses, or text that is
            not an address.
    """
    check_header(field, value)
    text = value.strip()
    name = ""
    named = _NAMED.fullmatch(text)
    if named:
        name = named["name"].strip().strip('"').strip()
        text = named["address"].strip()
    try:
        parsed = Address(addr_spec=text)
    except (ValueError, IndexError, email.errors.MessageError):
        raise ValidationError(f"{field}: {value!r:.80} is not an email address") from None
    if not parsed.username or not parsed.domain or not parsed.username.isascii():
        raise ValidationError(
            f"{field}: {value!r:.80} is not an email address with an ASCII local part"
        )
    try:
        domain = parsed.domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValidationError(f"{field}: the domain of {value!r:.80} is not valid") from None
    address = Address(username=parsed.username, domain=domain).addr_spec
    return Mailbox(address, domain, name)


def with_links(rendition: Rendition) -> tuple[str, str | None]:
    """
    The text and HTML parts of *rendition*, its media appended to each as links.

    Email connectors carry media as links, not attachments.

    Raises:
        ValidationError: If a media entry is not an http(s) URL.
    """
    text, markup = rendition.text, rendition.html
    if not rendition.media:
        return text, markup
    for index, url in enumerate(rendition.media):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.netloc or _BREAKS.search(url):
            raise ValidationError(f"media.{index}: {url!r:.80} is not an http(s) URL")
    links = "\n".join(rendition.media)
    if text or markup is None:
        text = f"{text}\n\n{links}" if text else links
    if markup is not None:
        items = "".join(
            f'<li><a href="{html.escape(url, quote=True)}">{html.escape(url)}</a></li>'
            for url in rendition.media
        )
        markup = f"{markup}\n<ul>{items}</ul>"
    return text, markup
