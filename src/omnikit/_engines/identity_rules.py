"""
The rules identity resolution follows, and which of a touchpoint's identifiers may link.

`IdentityRules` is what a host configures: kinds best first, per-kind limits, the placeholder
blocklist, survivorship of traits, and which sources it vouches for (see "Trust" on the
identity resolution page). The resolver in `identity` applies them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import ClassVar

import attrs

from omnikit._engines.blocked import (
    DEFAULT_BLOCKED_PATTERNS,
    DEFAULT_BLOCKED_VALUES,
    Blocklist,
    check_patterns,
    check_values,
)
from omnikit._engines.profile import Survivorship
from omnikit._engines.records import IdKey
from omnikit._models.identities import Identity
from omnikit._models.touchpoints import Touchpoint, Trust
from omnikit.errors import ValidationError

__all__ = ["DEFAULT_LIMITS", "DEFAULT_PRIORITY", "WEAK_KINDS", "IdentityRules", "linkable"]

DEFAULT_PRIORITY = ("user_id", "loyalty_id", "email", "phone")
"""Identity kinds, best first; kinds not listed come next (alphabetically), then the weak ones."""

WEAK_KINDS = ("push_token", "device_id", "anonymous_id")
"""Kinds that rank below every other: they identify a browser or a device, not a person."""

DEFAULT_LIMITS: Mapping[str, int] = {"user_id": 1, "loyalty_id": 1, "email": 5, "phone": 5}


def _names(value: Iterable[str]) -> frozenset[str]:
    if isinstance(value, str):  # one name, not its letters
        return frozenset({value})
    return frozenset(value)


def _frozen_limits(value: Mapping[str, int]) -> Mapping[str, int]:
    limits: dict[str, object] = dict(value)
    for kind, limit in limits.items():
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValidationError(f"limits.{kind}: expected a positive integer, got {limit!r}")
    return {kind: int(limit) for kind, limit in limits.items()}  # type: ignore[call-overload]


@attrs.define(frozen=True, kw_only=True)
class IdentityRules:
    """
    How identities are stitched into customers.

    Attributes:
        priority: Identity kinds, best first. When a touchpoint's identifiers cannot all join
            one customer, the best ones decide and the others are left unlinked.
        limits: The most distinct values of a kind one customer may hold: by default one
            `user_id` and one `loyalty_id` (two members with different accounts are never
            merged, even through a shared device or household email), five emails and phones.
        default_limit: The limit for kinds not in *limits*; `None` means no limit.
        blocked_values: Placeholder values that never link anyone, of any kind, added to
            omnikit's own (`DEFAULT_BLOCKED_VALUES`). They are compared with the normalised
            identifier, ignoring case and the quotes or brackets around it: `"n/a"` blocks
            `"N/A"` and `"(n/a)"`, `"noemail@shop.example"` blocks `"NoEmail@Shop.Example"`.
        blocked_patterns: Regular expressions of such values, added to omnikit's own
            (`DEFAULT_BLOCKED_PATTERNS`): a list holds for every kind, a mapping by kind for
            that kind (`{"loyalty_id": ["L-9+"], "*": ["tmp-.*"]}`). A pattern must
            match the whole normalised value, ignoring case.
        blocked_identities: Specific identities that never link anyone (a test card).
        default_blocklist: Whether omnikit's own values and patterns apply: placeholders in
            many spellings (`"null"`, `"(null)"`, `"undefined"`, `"[object Object]"`,
            `"n/a"`), `noemail@...` addresses, test cards and phone numbers reserved for
            fiction, the device ids of emulators and opted-out advertising ids. `False`
            leaves only the host's own.
        source_priority: Trait sources, best first. Empty means the latest value wins.
        verified_sources: The sources whose identifiers the host vouches for: a server-side
            call after the customer authenticated, the till scanning a card, a call-centre
            agent who checked. A touchpoint is verified when the host hands it over naming one
            of them (`Hub.ingest(payload, source="pos")`); any other is a claim. Once a hub
            has verified sources, a claim acts only through its own session (*session_kinds*):
            it never joins or merges customers through an email, phone, card or user id, and
            never links an identifier any verified touchpoint carried. Without verified
            sources every touchpoint links as a verified one does. See "Trust" on the identity
            resolution page.
        session_kinds: Kinds a client holds rather than knows (a browser's anonymous id, a
            device id, a push token): a claim carrying a customer's session identifier
            speaks for that customer, as their own browser or app does. Emails, phones,
            loyalty numbers and user ids can be known by anyone, so a claim of one does not.

    Added in version 0.1.0.
    """

    DEFAULT_BLOCKED_VALUES: ClassVar[frozenset[str]] = DEFAULT_BLOCKED_VALUES
    DEFAULT_BLOCKED_PATTERNS: ClassVar[Mapping[str, tuple[str, ...]]] = DEFAULT_BLOCKED_PATTERNS

    priority: tuple[str, ...] = DEFAULT_PRIORITY
    limits: Mapping[str, int] = attrs.field(default=DEFAULT_LIMITS, converter=_frozen_limits)
    default_limit: int | None = None
    blocked_values: frozenset[str] = attrs.field(default=frozenset(), converter=check_values)
    blocked_patterns: Mapping[str, tuple[str, ...]] = attrs.field(
        factory=dict, converter=check_patterns
    )
    blocked_identities: frozenset[Identity] = frozenset()
    default_blocklist: bool = True
    source_priority: tuple[str, ...] = ()
    verified_sources: frozenset[str] = attrs.field(default=frozenset(), converter=_names)
    session_kinds: frozenset[str] = attrs.field(default=frozenset(WEAK_KINDS), converter=_names)

    _blocked_keys: frozenset[IdKey] = attrs.field(init=False, eq=False, repr=False)
    _blocklist: Blocklist = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(
            self, "_blocked_keys", frozenset((i.kind, i.value) for i in self.blocked_identities)
        )
        object.__setattr__(
            self,
            "_blocklist",
            Blocklist(self.blocked_values, self.blocked_patterns, defaults=self.default_blocklist),
        )

    @functools.cached_property
    def _ranks(self) -> dict[str, int]:
        return {kind: i for i, kind in enumerate(self.priority)}

    @functools.cached_property
    def _rank_keys(self) -> dict[str, tuple[int, str]]:
        return {}

    def rank(self, kind: str) -> tuple[int, str]:
        """Sort key of *kind*: smaller is more trusted."""
        found = self._rank_keys.get(kind)
        if found is None:
            rank = self._ranks.get(kind)
            if rank is not None:
                found = (0, f"{rank:04d}")
            elif kind in WEAK_KINDS:
                found = (2, f"{WEAK_KINDS.index(kind):04d}")
            else:
                found = (1, kind)
            if len(self._rank_keys) < 1024:  # kinds are few; a flood of odd ones is not kept
                self._rank_keys[kind] = found
        return found

    def limit(self, kind: str) -> int | None:
        """The most values of *kind* one customer may hold."""
        return self.limits.get(kind, self.default_limit)

    def is_blocked(self, key: IdKey) -> bool:
        """Whether the identity *key* (normalised) must never link anyone."""
        return key in self._blocked_keys or key in self._blocklist

    def trust_of(self, source: str | None) -> Trust:
        """The trust of a touchpoint the host hands over from *source*."""
        return Trust.VERIFIED if source in self.verified_sources else Trust.CLAIMED

    def survivorship(self) -> Survivorship:
        """The trait survivorship these rules ask for."""
        return Survivorship(self.source_priority)


def linkable(tp: Touchpoint, rules: IdentityRules, cache: dict[IdKey, bool]) -> tuple[IdKey, ...]:
    """The touchpoint's identities that may link people, best first, without duplicates."""
    identities = tp.identities
    if len(identities) == 1:  # the usual case, without the list and the sort
        identity = identities[0]
        key = (identity.kind, identity.value)
        blocked = cache.get(key)
        if blocked is None:
            blocked = cache[key] = rules.is_blocked(key)
        return () if blocked else (key,)
    keys: list[IdKey] = []
    for identity in identities:
        key = (identity.kind, identity.value)
        blocked = cache.get(key)
        if blocked is None:
            blocked = cache[key] = rules.is_blocked(key)
        if not blocked and key not in keys:
            keys.append(key)
    if len(keys) > 1:
        rank = rules.rank
        keys.sort(key=lambda k: (rank(k[0]), k[1]))
    return tuple(keys)
