"""Identifiers a person is known by, normalised so that equal people compare equal."""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from typing import Any, Final

import attrs
import email_validator
import phonenumbers

from omnikit.errors import ValidationError

__all__ = [
    "BUILT_IN_KINDS",
    "Identity",
    "IdentityKind",
    "is_identity_kind",
    "normalize_identifier",
    "unknown_kind",
]


class IdentityKind:
    """
    The identity kinds omnikit knows by name; any other lower-case name is allowed too.

    Added in version 0.1.0.
    """

    EMAIL = "email"
    PHONE = "phone"
    USER_ID = "user_id"
    ANONYMOUS_ID = "anonymous_id"
    DEVICE_ID = "device_id"
    LOYALTY_ID = "loyalty_id"
    PUSH_TOKEN = "push_token"  # noqa: S105 - a kind of identifier, not a secret


_KIND = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_MAX_VALUE = 256


@functools.lru_cache(maxsize=1 << 16)
def _email(raw: str) -> str:
    try:
        checked = email_validator.validate_email(
            raw, check_deliverability=False, allow_smtputf8=True
        )
    except email_validator.EmailNotValidError as exc:
        raise ValidationError(f"value: {raw!r} is not a valid email address ({exc})") from None
    # email-validator's normal form: the local part in Unicode NFC, the domain lower-cased
    # (IDNA, UTS #46). Mailbox names are case-sensitive by the letter of RFC 5321 and
    # case-insensitive in practice at every provider a retailer sends mail to, so an ASCII
    # local part is lower-cased too: Ana@ and ana@ are one person. A non-ASCII local part is
    # kept as it is: no provider-independent rule says which of its letters are equal.
    local = checked.local_part
    if local.isascii():
        given = raw[: raw.rindex("@")].strip()
        if not given.isascii():
            # Spelled with characters that NFC turns into ASCII (U+212A KELVIN SIGN into "K"):
            # a look-alike of an address that is someone else's, never folded into it.
            odd = ", ".join(
                f"U+{ord(c):04X} {unicodedata.name(c, '?')}"
                for c in dict.fromkeys(given)
                if not c.isascii()
            )
            raise ValidationError(
                f"value: {raw!r} spells an ASCII address with look-alike characters ({odd}); "
                "write it in plain ASCII"
            )
        local = local.lower()
    return f"{local}@{checked.domain}"


@functools.lru_cache(maxsize=1 << 16)
def _phone(raw: str, region: str | None) -> str:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        hint = (
            ""
            if region or raw.lstrip().startswith("+")
            else " (no country code and no default region)"
        )
        raise ValidationError(f"value: {raw!r} is not a phone number{hint}") from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(f"value: {raw!r} is not a valid phone number")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    # An extension is part of who answers: colleagues behind one switchboard are not one
    # person. Written as in RFC 3966 (`tel:` URIs), after the E.164 number.
    return f"{e164};ext={number.extension}" if number.extension else e164


def normalize_identifier(kind: str, value: object, *, default_region: str | None = None) -> str:
    """
    Return the canonical form of *value* as an identifier of *kind*.

    Emails are validated (syntax only, no DNS) and take email-validator's normal form: the
    domain lower-cased, the local part in Unicode NFC and lower-cased when it is ASCII
    (`Ana@Example.COM` is `ana@example.com`; `JOSÉ@example.com` keeps its case). An address
    that only NFC makes ASCII (a KELVIN SIGN for a `K`) is refused, not folded into the ASCII
    address it imitates. Phones become E.164, read in *default_region* when they carry no
    country code, and keep an extension as in RFC 3966: `+1 650 253 0000 ext. 12` is
    `+16502530000;ext=12`, another identity than `+16502530000`. Every other kind is a
    trimmed string.

    Raises:
        ValidationError: If *value* is not a valid identifier of that kind.

    Added in version 0.1.0.
    """
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValidationError(f"value: expected a string, got {type(value).__name__}")
    text = str(value).strip()
    if not text:
        raise ValidationError("value: must not be empty")
    if len(text) > _MAX_VALUE:
        raise ValidationError(f"value: longer than {_MAX_VALUE} characters")
    if kind == IdentityKind.EMAIL:
        return _email(text)
    if kind == IdentityKind.PHONE:
        return _phone(text, default_region)
    return text


@functools.lru_cache(maxsize=1024)
def is_identity_kind(kind: str) -> bool:
    """Whether *kind* is a valid identity kind name (lower-case letters, digits and '_')."""
    return _KIND.match(kind) is not None


def _check_kind(_instance: object, _attribute: object, kind: Any) -> None:
    if not isinstance(kind, str) or not is_identity_kind(kind):
        raise ValidationError(
            f"kind: {kind!r} is not an identity kind (lower-case letters, digits and '_')"
        )


def _normalize_value(value: Any, self_: Any) -> str:
    return normalize_identifier(self_.kind, value)


@attrs.define(frozen=True, kw_only=True, order=True)
class Identity:
    """
    One identifier of a person: a *kind* and its normalised *value*.

    Constructing an `Identity` normalises the value as `normalize_identifier` does
    (`Identity(kind="email", value="Ana@Example.com").value == "ana@example.com"`); phones
    must then carry their country code. `Identity.of()` reads national phone numbers in a
    default region.

    Added in version 0.1.0.
    """

    kind: str = attrs.field(validator=_check_kind)
    value: str = attrs.field(converter=attrs.Converter(_normalize_value, takes_self=True))  # type: ignore[misc]

    @classmethod
    def of(cls, kind: str, value: object, *, default_region: str | None = None) -> Identity:
        """
        Build an identity from raw input, reading phones in *default_region* (`"PT"`).

        Raises:
            ValidationError: If the value is not a valid identifier of *kind*.

        Added in version 0.1.0.
        """
        return cls(
            kind=kind, value=normalize_identifier(kind, value, default_region=default_region)
        )

    @classmethod
    def from_normalized(cls, kind: str, value: str) -> Identity:
        """
        Build an identity from a value `normalize_identifier` already returned.

        It skips the second normalisation, on the hot path of ingestion.

        Added in version 0.1.0.
        """
        identity = object.__new__(cls)
        object.__setattr__(identity, "kind", kind)
        object.__setattr__(identity, "value", value)
        _check_kind(None, None, kind)
        return identity

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


BUILT_IN_KINDS: Final = frozenset(
    value for name, value in vars(IdentityKind).items() if name.isupper() and isinstance(value, str)
)


def unknown_kind(kind: str, known: set[str]) -> ValidationError:
    """
    The error for a lookup by a kind nobody has.

    It names the kind, the *known* kinds it may be a slip for, and how to declare one's own.

    Added in version 0.1.0.
    """
    close = difflib.get_close_matches(kind, sorted(known), n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(f'{c}=' for c in close)}?" if close else ""
    return ValidationError(
        f"{kind}: no identity of this kind is known (not built in, not declared in "
        f"IdentityRules, none stored){hint} Known kinds: {', '.join(sorted(known))}. To look "
        f"customers up by a kind of your own, ingest identities of it (context.externalIds "
        f"with type {kind!r}) or declare it: Hub(identity_rules=IdentityRules(priority=(..., "
        f"{kind!r})))"
    )
