"""
Identifier values that never link anyone: placeholders, test data, the ids of emulators.

A value is compared after normalisation (an email lower-cased, a phone in E.164), so one entry
covers every spelling of it. Plain values are compared case-insensitively and without the
quotes or brackets around them (`"(null)"`, `"<null>"` and `"NULL"` are all `null`); patterns
must match a whole normalised value, ignoring case, and apply to every kind (`"*"`) or to one.

The defaults gather what turns up in real customer data: what code writes for a missing value
(`null`, `undefined`, `[object Object]`, `NaN`), what staff type into a till or a call-centre
form when a customer gives nothing (`n/a`, `noemail@...`, `walk-in`), test data (`test`, card
numbers of payment test suites, phone numbers reserved for fiction), unrendered template
variables (`{{email}}`) and the device ids that emulators and privacy settings report for
every device alike (an all-zero advertising id, Android's `9774d56d682e549c`).
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Final

from omnikit._models.identities import is_identity_kind, normalize_identifier
from omnikit.errors import ValidationError

__all__ = [
    "DEFAULT_BLOCKED_PATTERNS",
    "DEFAULT_BLOCKED_VALUES",
    "EVERY_KIND",
    "Blocklist",
    "check_patterns",
    "check_values",
]

EVERY_KIND: Final = "*"
"""The key of *blocked_patterns* for patterns that hold for every kind."""

DEFAULT_BLOCKED_VALUES: Final = frozenset(
    {
        # Nothing, as code and people write it. Wrapping quotes and brackets are ignored, so
        # "(null)", "<null>", "[null]", "'null'" and "{}" are covered too.
        "",
        "null",
        "nil",
        "none",
        "nothing",
        "undefined",
        "undef",
        "nan",
        "void",
        "empty",
        "blank",
        "missing",
        "na",
        "n/a",
        "n.a.",
        "n.a",
        "#n/a",
        "n\\a",
        "not available",
        "not applicable",
        "not provided",
        "not given",
        "none given",
        "not set",
        "unset",
        "no data",
        "null null",
        "undefined undefined",
        "none none",
        "unknown",
        "unknow",
        "unk",
        "object object",
        "true",
        "false",
        "yes",
        "no",
        "-",
        "--",
        "---",
        "_",
        ".",
        "..",
        "...",
        "?",
        "??",
        "???",
        "*",
        "#",
        "x",
        "xx",
        "xxx",
        "0",
        "-1",
        # Nobody in particular: visitors, walk-in customers, refusals at the till.
        "anonymous",
        "anon",
        "guest",
        "visitor",
        "user",
        "customer",
        "default",
        "walk-in",
        "walkin",
        "walk in",
        "walk-in customer",
        "cash",
        "cash customer",
        "cash sale",
        "no card",
        "nocard",
        "declined",
        "refused",
        "noemail",
        "no email",
        "no-email",
        "no_email",
        "nomail",
        "no phone",
        "nophone",
        # Test data.
        "test",
        "testing",
        "tester",
        "test user",
        "testuser",
        "demo",
        "dummy",
        "fake",
        "sample",
        "example",
        "placeholder",
        "temp",
        "tmp",
        "todo",
        "tbd",
        "tba",
        "4111111111111111",  # payment providers' test cards: Visa, Mastercard, Amex
        "4242424242424242",
        "5555555555554444",
        "378282246310005",
        # The name of a field where its value was meant to be.
        "id",
        "userid",
        "user_id",
        "anonymousid",
        "anonymous_id",
        "deviceid",
        "device_id",
        "android_id",
        "advertisingid",
        "advertising_id",
        "idfa",
        "idfv",
        "gaid",
        "email",
        "e-mail",
        "phone",
    }
)
"""Placeholder values of every kind, compared as `Blocklist` says."""

_DEVICE: Final = (
    "9774d56d682e549c",  # the ANDROID_ID of the emulator and of a series of Android 2.2 phones
    "0123456789abcdef",  # the serial number many Android builds and emulators report
    r"emulator-\d+",  # adb's name for an emulator
    "02:00:00:00:00:00",  # the MAC address Android reports to apps since version 6
    r"generic(?:[_-][a-z0-9_]+)?",  # what Android emulators report as their device
)
_ANY_PHONE_EXT = r"(?:;ext=\d+)?"

DEFAULT_BLOCKED_PATTERNS: Final[Mapping[str, tuple[str, ...]]] = {
    EVERY_KIND: (
        r"[0\s._:/-]*",  # zeros: "0", "000-000", an all-zero UUID (an opted-out advertising id)
        r"(?P<same>[0-9a-z])(?:[\s._:/-]*(?P=same)){5,}",  # one character six times or more: "111111", "ffff…"
        r"\[object [a-z ]*\]",  # JavaScript's name for an object: "[object Object]"
        r"(?=.*undefined)(?:.*[\W_])?undefined(?:[\W_].*)?",  # "undefined" in a joined id: "anon-undefined"
        # Template variables left unrendered, alone or inside a value ("{{email}}@shop.com").
        r".*(?:\{\{.*\}\}|\{%.*%\}|\$\{.*\}|#\{.*\}|<%.*%>|\*\|.*\|\*).*|%%?[a-z_.]+%%?",
    ),
    "email": (
        # A local part that says there is no address, at any domain.
        (
            r"(?:no|none|null|nil|nobody|nothing|undefined|unknown|empty|blank|invalid|fake|dummy"
            r"|sample|example|test|testing|tester|declined|refused|opt[._-]?out"
            r"|no[._-]?e?[._-]?mail(?:[._-]?(?:address|provided|given))?|no[._-]?e?[._-]?mails?"
            r"|no[._-]?reply|do[._-]?not[._-]?(?:reply|e?[._-]?mail|contact)|dont[._-]?e?[._-]?mail"
            r"|not[._-]?(?:provided|given|available)|asdf|qwerty)@.+"
        ),
        # Domains that say so.
        (
            r".+@(?:none|null|nil|noemail|nomail|no-email|noreply|no-reply|donotreply|unknown"
            r"|undefined|fake|fakeemail|fakemail|dummy|invalid|test|testing|sample|nowhere"
            r"|nodomain|nothing|blank|asdf|qwerty)\.(?:com|net|org)"
        ),
        # The top-level domain reserved for examples (RFC 2606; email-validator refuses the
        # other reserved ones). example.com is left alone: documentation everywhere uses it.
        r".+@.+\.example",
        r"(?P<mailbox>[a-z0-9])(?P=mailbox)*@(?P=mailbox)+\.[a-z]+",  # "a@a.com", "xx@xx.net"
    ),
    "phone": (
        r"\+\d*(?P<digit>\d)(?P=digit){6,}"
        + _ANY_PHONE_EXT,  # seven equal digits at the end: +44 7777 777777
        r"\+\d*(?:123456789|234567890|987654321|876543210)\d*" + _ANY_PHONE_EXT,  # a run
        r"\+1\d{3}55501\d\d" + _ANY_PHONE_EXT,  # North America's 555-0100 to 0199: fiction
        r"\+442079460\d{3}" + _ANY_PHONE_EXT,  # UK numbers reserved for drama (020 7946 0xxx)
    ),
    "device_id": _DEVICE,
    "advertising_id": _DEVICE,
    "idfa": _DEVICE,
    "idfv": _DEVICE,
    "gaid": _DEVICE,
    "android_id": _DEVICE,
    "loyalty_id": (r"0?1234567890?|9876543210?",),  # a run of digits typed for a card
    "push_token": ("blacklisted",),  # what Firebase hands out to devices it refuses
}
"""Placeholder patterns, by identity kind; `"*"` holds for every kind."""

_WRAPPING = " \t\r\n\"'`()[]{}<>"


def _bare(value: str) -> str:
    """How a plain blocked value is compared: compatibility-normalised, case-folded, unwrapped."""
    if value.isascii():
        return value.lower().strip(_WRAPPING)
    return unicodedata.normalize("NFKC", value).casefold().strip(_WRAPPING)


def check_values(value: Iterable[str]) -> frozenset[str]:
    """The *blocked_values* a host gave, checked: a set of strings."""
    if isinstance(value, str):
        raise ValidationError(
            f"blocked_values: expected a set of strings, got the string {value!r}"
        )
    values = frozenset(value)
    for item in values:
        if not isinstance(item, str):
            raise ValidationError(f"blocked_values: expected strings, got {item!r}")
    return values


def check_patterns(
    value: Iterable[str] | Mapping[str, Iterable[str]],
) -> Mapping[str, tuple[str, ...]]:
    """
    The *blocked_patterns* a host gave, by kind: a list holds for every kind.

    Raises:
        ValidationError: If a kind or a pattern is not one.
    """
    if isinstance(value, str):
        raise ValidationError(
            f"blocked_patterns: expected a list of regular expressions, got the string {value!r}"
        )
    given = value.items() if isinstance(value, Mapping) else [(EVERY_KIND, value)]
    out: dict[str, tuple[str, ...]] = {}
    for kind, patterns in given:
        field = "blocked_patterns" if kind == EVERY_KIND else f"blocked_patterns.{kind}"
        if kind != EVERY_KIND and (not isinstance(kind, str) or not is_identity_kind(kind)):
            raise ValidationError(
                f"blocked_patterns: {kind!r} is not an identity kind (or '*' for every kind)"
            )
        if isinstance(patterns, str):
            raise ValidationError(
                f"{field}: expected a list of regular expressions, got the string {patterns!r}"
            )
        listed = tuple(patterns)
        for pattern in listed:
            if not isinstance(pattern, str):
                raise ValidationError(f"{field}: expected regular expressions, got {pattern!r}")
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValidationError(
                    f"{field}: not a regular expression ({exc}): {pattern!r}"
                ) from None
        out[kind] = out.get(kind, ()) + listed
    return out


def _normal_forms(value: str) -> set[str]:
    """*value* as given and as an email or a phone would normalise, compared bare."""
    forms = {_bare(value)}
    for kind in ("email", "phone"):
        with contextlib.suppress(ValidationError):
            forms.add(_bare(normalize_identifier(kind, value)))
    return forms


class Blocklist:
    """
    Decides whether a normalised identifier is a placeholder.

    Built once per `IdentityRules` from the defaults (unless turned off) and the host's own
    values and patterns, which add to the defaults.
    """

    __slots__ = ("_compiled", "_defaults", "_patterns", "_values")

    def __init__(
        self,
        values: Iterable[str],
        patterns: Mapping[str, tuple[str, ...]],
        *,
        defaults: bool,
    ) -> None:
        own: set[str] = set()
        for value in values:
            own |= _normal_forms(value)
        if defaults:
            own |= DEFAULT_BLOCKED_VALUES
        self._values = frozenset(own)
        self._defaults = defaults
        self._patterns = patterns
        self._compiled: dict[str, tuple[re.Pattern[str], ...]] = {}

    def _pattern(self, kind: str) -> tuple[re.Pattern[str], ...]:
        compiled = self._compiled.get(kind)
        if compiled is None:
            # The defaults as one expression (their groups are named, so none clash); a
            # host's own each on its own, since joined ones would renumber their groups.
            own = self._patterns.get(EVERY_KIND, ()) + self._patterns.get(kind, ())
            found = [re.compile(p, re.IGNORECASE) for p in dict.fromkeys(own)]
            if self._defaults:
                listed = DEFAULT_BLOCKED_PATTERNS[EVERY_KIND] + DEFAULT_BLOCKED_PATTERNS.get(
                    kind, ()
                )
                found.insert(0, re.compile("|".join(f"(?:{p})" for p in listed), re.IGNORECASE))
            compiled = tuple(found)
            if len(self._compiled) < 1024:  # kinds are few; a flood of odd ones is not kept
                self._compiled[kind] = compiled
        return compiled

    def __contains__(self, key: tuple[str, str]) -> bool:
        kind, value = key
        if _bare(value) in self._values:
            return True
        return any(p.fullmatch(value) is not None for p in self._pattern(kind))
