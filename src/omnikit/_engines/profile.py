"""
A customer profile as a fold over their touchpoints.

Every field is combined with an order-independent rule (latest wins by event time and message
id, minimum, maximum, sum, union by key), so the profile is the same whatever order the
touchpoints arrived in, two profiles merge by combining their states, and an unmerge recomputes
each side from its touchpoints.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeAlias

from omnikit._engines.consents import consents_of
from omnikit._engines.money import (
    Refund,
    by_order,
    carries_amount,
    keep_refund,
    order_amount,
    order_currency,
    order_id_of,
    refund_of,
    refunded,
)
from omnikit._engines.times import from_us, to_us
from omnikit._models.consent import Consent, Preferences, QuietHours, read_answer
from omnikit._models.customers import ChannelStats, Customer, Stats
from omnikit._models.identities import Identity
from omnikit._models.touchpoints import Direction, Touchpoint
from omnikit._models.trusted import trusted
from omnikit.errors import ValidationError

__all__ = ["ProfileState", "Survivorship", "from_us", "to_us"]

Entry: TypeAlias = tuple[Any, ...]

PREFERENCE_TRAITS = ("preferred_channels", "language", "timezone", "quiet_hours")
"""Traits that set `Customer.preferences` (and stay visible as traits too)."""


class Survivorship:
    """
    Decides which of two values of one trait survives.

    `"latest"` keeps the value from the latest event; with *source_priority* (`["crm", "pos",
    "web"]`, best first) a value from a better source beats a later one from a worse source,
    and sources not listed rank below every listed one.

    Added in version 0.1.0.
    """

    __slots__ = ("_rank",)

    def __init__(self, source_priority: Sequence[str] = ()) -> None:
        n = len(source_priority)
        self._rank = {source: n - i for i, source in enumerate(source_priority)}

    def key(self, entry: Sequence[Any]) -> tuple[int, int, str]:
        """Sort key of a stored trait entry `(value, at_us, message_id, source)`."""
        return (self._rank.get(entry[3], 0), entry[1], entry[2])


_LATEST = Survivorship()
_CUSTOMER = trusted(Customer)
_STATS = trusted(Stats)
_CHANNEL_STATS = trusted(ChannelStats)
_CONSENT = trusted(Consent)
_IDENTITY = trusted(Identity)
_NO_PREFERENCES = Preferences()
_CONSENT_EVENTS = frozenset({"Consent Updated", "Unsubscribed"})
_ORDER_COMPLETED = "Order Completed"
_ORDER_EVENTS = frozenset({_ORDER_COMPLETED, "Order Updated"})
_ORDER_REFUNDED = "Order Refunded"
_ORDER_CANCELLED = "Order Cancelled"
_REVENUE_FIELDS = ("revenue", "total")
"""Where an order's revenue is read, first found first (the order's total reads the other way)."""
SEGMENT_ENTERED = "Segment Entered"
SEGMENT_EXITED = "Segment Exited"
SEGMENT_EVENTS = frozenset({SEGMENT_ENTERED, SEGMENT_EXITED})
OWN_SEGMENT_IDS = "omk-seg-"
"""How the message ids of a hub's own segment changes begin (no message from outside may)."""
EXPERIMENT_ASSIGNED = "Experiment Assigned"
"""A hub's record of the keys a customer's experiment arms are drawn from (see `Env`)."""


def _later(a: Sequence[Any], b: Sequence[Any]) -> bool:
    """Whether entry *a* (`(..., at_us, message_id, ...)` at 1 and 2) is newer than *b*."""
    return (a[1], a[2]) > (b[1], b[2])


def _consent_later(a: Sequence[Any], b: Sequence[Any]) -> bool:
    """
    Whether consent entry *a* (`(granted, at_us, message_id, ...)`) stands over *b*.

    The later answer; of two at the same moment, the refusal (a tie never opens the contact
    policy); then the message id, so that any order of arrival gives the same answer.
    """
    return (a[1], not a[0], a[2]) > (b[1], not b[0], b[2])


def _add_amount(book: dict[str, str], currency: str, amount: Decimal) -> None:
    book[currency] = str(Decimal(book.get(currency, "0")) + amount)


def _order_entry(
    properties: Mapping[str, Any], *, completed: bool, at_us: int, mid: str, currency: str
) -> Entry:
    """
    What one `Order Completed` or `Order Updated` event says about its order.

    `(completed, amount, amount_us, amount_mid, currency, named, currency_us, currency_mid,
    placed_us)`: the amount is `None` when the event carries none (an update of the status
    only), *named* tells a currency the event names from the hub's default, and *placed_us*
    is when an `Order Completed` event placed it (`None` for an update).
    """
    named = properties.get("currency")
    amount = str(order_amount(properties, _REVENUE_FIELDS)) if carries_amount(properties) else None
    placed = at_us if completed else None
    if isinstance(named, str) and named.strip():
        return (completed, amount, at_us, mid, named.upper(), True, at_us, mid, placed)
    return (completed, amount, at_us, mid, currency, False, at_us, mid, placed)


def _combine_orders(a: Entry, b: Entry) -> Entry:
    """
    Two accounts of one order as one.

    Completed if either is, with the amount of the latest event that carries one, the
    currency of the latest event that names one, and placed by the earliest completion.
    """
    later = a[1] is None or (b[1] is not None and (b[2], b[3]) > (a[2], a[3]))
    amount = b[1:4] if later else a[1:4]
    currency = b[4:8] if (b[5], b[6], b[7]) > (a[5], a[6], a[7]) else a[4:8]
    placed = min((p for p in (a[8], b[8]) if p is not None), default=None)
    return (a[0] or b[0], *amount, *currency, placed)


def _identity_key(identity: Identity) -> tuple[str, str]:
    """The order of identities (kind, then value), without attrs' generic comparison."""
    return (identity.kind, identity.value)


class ProfileState:
    """
    The mutable, internal fold state behind a `Customer`.

    Stored as JSON by SQL stores (`to_json`/`from_json`); times are epoch microseconds.
    """

    __slots__ = (
        "cancelled",
        "channels",
        "consents",
        "count",
        "experiments",
        "first_us",
        "last_order_us",
        "last_us",
        "order_book",
        "orders",
        "prefs",
        "refund_book",
        "refunds",
        "revenue",
        "segments",
        "traits",
    )

    def __init__(self) -> None:
        # Entries are tuples, never changed in place (copies share them): a tuple of plain values
        # is soon untracked by the garbage collector, which then never scans it again.
        # name -> (value, at_us, message_id, source)
        self.traits: dict[str, Entry] = {}
        # "channel|purpose" -> (granted, at_us, message_id, source, channel, purpose, expires_us)
        self.consents: dict[str, Entry] = {}
        # field -> (value, at_us, message_id, explicit)  (explicit: 1 from traits, 0 from context)
        self.prefs: dict[str, Entry] = {}
        self.first_us: int | None = None
        self.last_us: int | None = None
        self.count = 0
        # channel -> (first_us, last_us, count)
        self.channels: dict[str, tuple[int, int, int]] = {}
        # Orders without an order id, each message one order (and profiles stored before
        # orders were kept by id: every order they had).
        self.orders = 0
        self.revenue: dict[str, str] = {}
        # order id -> `_order_entry`: an order is counted once, however many events name it.
        self.order_book: dict[str, Entry] = {}
        # refund key -> `money.Refund`: a refund is counted once, and never past its order.
        self.refund_book: dict[str, Refund] = {}
        # The order ids of `Order Cancelled` events: those orders count nowhere.
        self.cancelled: set[str] = set()
        # What profiles stored before refunds were kept by order had refunded, per currency.
        self.refunds: dict[str, str] = {}
        # The latest order without an order id (and, in profiles stored before orders kept
        # their time, the latest of all).
        self.last_order_us: int | None = None
        # segment id -> (member, at_us, message_id, revision), from Segment Entered / Exited
        self.segments: dict[str, Entry] = {}
        # experiment id -> (key, at_us, message_id): the earliest assignment wins
        self.experiments: dict[str, Entry] = {}

    # -- folding -----------------------------------------------------------------------------

    def apply(
        self,
        tp: Touchpoint,
        at_us: int,
        *,
        survivorship: Survivorship = _LATEST,
        currency: str = "USD",
        claims_only: bool = False,
    ) -> None:
        """
        Fold one touchpoint (already validated) into the state.

        With *claims_only* the touchpoint reached this customer only through identifiers it
        claims (see `IdentityRules.verified_sources`): it may withdraw a consent, and
        changes nothing else (no trait, preference, grant, order, refund, segment, experiment
        arm, nor their activity: last seen, counts per channel).
        """
        mid = tp.message_id
        ctx = tp.context
        if tp.traits and not claims_only:
            source = ctx.source or tp.channel
            for name, value in tp.traits.items():
                self._set_trait(name, (value, at_us, mid, source), survivorship)
                if name in PREFERENCE_TRAITS:
                    self._set_pref(name, (value, at_us, mid, 1))
        if ctx.timezone and not claims_only:
            self._set_context_pref("timezone", ctx.timezone, at_us, mid)
        if ctx.locale and not claims_only:
            self._set_context_pref("language", ctx.locale, at_us, mid)
        name = tp.name
        if "consent" in ctx.extra or name in _CONSENT_EVENTS:  # where `consents_of` looks
            for consent in consents_of(tp):
                if not (claims_only and consent.granted):  # anyone may say "stop"
                    self._set_consent(consent, at_us)
        if claims_only:
            return
        if tp.direction is Direction.INBOUND:
            self._seen(tp.channel, at_us)
        if name in _ORDER_EVENTS:
            self._order(tp, at_us, currency)
        elif name == _ORDER_REFUNDED:
            refund = refund_of(tp.properties, at_us=at_us, message_id=mid)
            if refund is not None:
                keep_refund(self.refund_book, *refund)
        elif name == _ORDER_CANCELLED:
            order_id = order_id_of(tp.properties)
            if order_id is not None:
                self.cancelled.add(order_id)
        elif name in SEGMENT_EVENTS:
            props = tp.properties
            # Only the hub's own changes carry a revision it numbered: from elsewhere, none.
            revision = segment_revision(props) if mid.startswith(OWN_SEGMENT_IDS) else 0
            entry = (name == SEGMENT_ENTERED, at_us, mid, revision)
            self._set_segment(props["segment"], entry)
        elif name == EXPERIMENT_ASSIGNED:
            keys = tp.properties.get("assignments")
            if isinstance(keys, dict):
                for experiment, key in keys.items():
                    if isinstance(key, str) and key:
                        self._set_assignment(experiment, (key, at_us, mid))

    def _order(self, tp: Touchpoint, at_us: int, currency: str) -> None:
        props = tp.properties
        completed = tp.name == _ORDER_COMPLETED
        order_id = order_id_of(props)
        if order_id is not None:
            entry = _order_entry(
                props, completed=completed, at_us=at_us, mid=tp.message_id, currency=currency
            )
            self._set_order(order_id, entry)
        elif completed:
            self.orders += 1
            amount = order_amount(props, _REVENUE_FIELDS)
            _add_amount(self.revenue, order_currency(props, currency), amount)
            if self.last_order_us is None or at_us > self.last_order_us:
                self.last_order_us = at_us

    def _set_order(self, order_id: str, entry: Entry) -> None:
        current = self.order_book.get(order_id)
        self.order_book[order_id] = entry if current is None else _combine_orders(current, entry)

    def _set_segment(self, segment: str, entry: Entry) -> None:
        # The revision first: a hub's changes of one segment for one customer can share a
        # moment (a bulk load decides them all at its start), and the next one must win.
        current = self.segments.get(segment)
        if current is None or (entry[3], entry[1], entry[2]) > (current[3], current[1], current[2]):
            self.segments[segment] = entry

    def _set_assignment(self, experiment: str, entry: Entry) -> None:
        current = self.experiments.get(experiment)
        if current is None or _later(current, entry):
            self.experiments[experiment] = entry

    def _set_trait(self, name: str, entry: Entry, survivorship: Survivorship) -> None:
        current = self.traits.get(name)
        if current is None or survivorship.key(entry) > survivorship.key(current):
            self.traits[name] = entry

    def _set_pref(self, name: str, entry: Entry) -> None:
        current = self.prefs.get(name)
        if current is None or (entry[3], entry[1], entry[2]) > (current[3], current[1], current[2]):
            self.prefs[name] = entry

    def _set_context_pref(self, name: str, value: str, at_us: int, mid: str) -> None:
        """`_set_pref` for a preference the context implies; builds no tuple that loses."""
        current = self.prefs.get(name)
        if current is None or (0, at_us, mid) > (current[3], current[1], current[2]):
            self.prefs[name] = (value, at_us, mid, 0)

    def _set_consent(self, consent: Consent, at_us: int) -> None:
        key = f"{consent.channel or ''}|{consent.purpose}"
        entry = (
            consent.granted,
            at_us,
            consent.message_id or "",
            consent.source,
            consent.channel,
            consent.purpose,
            None if consent.expires_at is None else to_us(consent.expires_at),
        )
        current = self.consents.get(key)
        if current is None or _consent_later(entry, current):
            self.consents[key] = entry

    def _seen(self, channel: str, at_us: int) -> None:
        self.count += 1
        if self.first_us is None or at_us < self.first_us:
            self.first_us = at_us
        if self.last_us is None or at_us > self.last_us:
            self.last_us = at_us
        stats = self.channels.get(channel)
        if stats is None:
            self.channels[channel] = (at_us, at_us, 1)
        else:
            first, last, count = stats
            self.channels[channel] = (
                min(first, at_us),
                max(last, at_us),
                count + 1,
            )

    def absorb(self, other: ProfileState, *, survivorship: Survivorship = _LATEST) -> None:
        """Combine *other* into this state, as if one customer had all the touchpoints."""
        for name, entry in other.traits.items():
            self._set_trait(name, entry, survivorship)
        for name, entry in other.prefs.items():
            self._set_pref(name, entry)
        for key, entry in other.consents.items():
            current = self.consents.get(key)
            if current is None or _consent_later(entry, current):
                self.consents[key] = entry
        self.count += other.count
        if other.first_us is not None and (self.first_us is None or other.first_us < self.first_us):
            self.first_us = other.first_us
        if other.last_us is not None and (self.last_us is None or other.last_us > self.last_us):
            self.last_us = other.last_us
        for channel, (first, last, count) in other.channels.items():
            mine = self.channels.get(channel)
            if mine is None:
                self.channels[channel] = (first, last, count)
            else:
                self.channels[channel] = (min(mine[0], first), max(mine[1], last), mine[2] + count)
        self.orders += other.orders
        for currency, amount in other.revenue.items():
            _add_amount(self.revenue, currency, Decimal(amount))
        for order_id, entry in other.order_book.items():
            self._set_order(order_id, entry)  # a union: an order both hold counts once
        for key, refund in other.refund_book.items():
            keep_refund(self.refund_book, key, refund)
        self.cancelled |= other.cancelled
        for currency, amount in other.refunds.items():
            _add_amount(self.refunds, currency, Decimal(amount))
        if other.last_order_us is not None and (
            self.last_order_us is None or other.last_order_us > self.last_order_us
        ):
            self.last_order_us = other.last_order_us
        for segment, entry in other.segments.items():
            self._set_segment(segment, entry)
        for experiment, entry in other.experiments.items():
            self._set_assignment(experiment, entry)

    def copy(self) -> ProfileState:
        """A copy that can change without changing this one."""
        new = ProfileState.__new__(ProfileState)  # every field is set below: no empty ones first
        new.traits = dict(self.traits)
        new.consents = dict(self.consents)
        new.prefs = dict(self.prefs)
        new.first_us, new.last_us, new.count = self.first_us, self.last_us, self.count
        new.channels = dict(self.channels)
        new.orders, new.last_order_us = self.orders, self.last_order_us
        new.revenue, new.refunds = dict(self.revenue), dict(self.refunds)
        new.order_book = dict(self.order_book)
        new.refund_book, new.cancelled = dict(self.refund_book), set(self.cancelled)
        new.segments = dict(self.segments)
        new.experiments = dict(self.experiments)
        return new

    # -- output ------------------------------------------------------------------------------

    def assignments(self) -> dict[str, str]:
        """The keys the customer's experiment arms are drawn from, by experiment id."""
        return {experiment: entry[0] for experiment, entry in self.experiments.items()}

    def to_customer(
        self, customer_id: str, identities: Sequence[Identity], *, ordered: bool = False
    ) -> Customer:
        """Build the public, immutable `Customer` (*ordered*: *identities* are sorted)."""
        # Every value below comes out of the fold (or a stored fold): validated when the
        # touchpoints were, so the models are built without checking them again.
        counted = self._counted_orders() if self.order_book else {}
        revenue, refunds = self._money(counted)
        last_order_us = self.last_order_us
        for entry in counted.values():
            placed = entry[8]
            if placed is not None and (last_order_us is None or placed > last_order_us):
                last_order_us = placed
        return _CUSTOMER(
            id=customer_id,
            identities=tuple(identities if ordered else sorted(identities, key=_identity_key)),
            traits={name: entry[0] for name, entry in sorted(self.traits.items())},
            consents=tuple(
                _CONSENT(
                    channel=e[4],
                    purpose=e[5],
                    granted=e[0],
                    at=from_us(e[1]),
                    source=e[3],
                    message_id=e[2] or None,
                    expires_at=None if e[6] is None else from_us(e[6]),
                )
                for _, e in sorted(self.consents.items())
            ),
            preferences=self._preferences(),
            stats=_STATS(
                first_seen=None if self.first_us is None else from_us(self.first_us),
                last_seen=None if self.last_us is None else from_us(self.last_us),
                touchpoints=self.count,
                per_channel={
                    name: _CHANNEL_STATS(
                        first_seen=from_us(f), last_seen=from_us(la), touchpoints=n
                    )
                    for name, (f, la, n) in sorted(self.channels.items())
                },
                orders=self.orders + len(counted),
                revenue=revenue,
                refunds=refunds,
                last_order_at=None if last_order_us is None else from_us(last_order_us),
            ),
            segments=tuple(sorted(s for s, entry in self.segments.items() if entry[0])),
            recent=(),
        )

    def stored_customer(self, customer_id: str, members: Iterable[tuple[str, str]]) -> Customer:
        """
        The `Customer` a stored record holds, its identities read from their *members* keys.

        Stored identities were normalised on the way in: they are not normalised again.
        """
        return self.to_customer(
            customer_id, [_IDENTITY(kind=k, value=v) for k, v in sorted(members)], ordered=True
        )

    def _counted_orders(self) -> dict[str, Entry]:
        """The orders with an id that count: completed, and not cancelled."""
        return {
            order_id: entry
            for order_id, entry in self.order_book.items()
            if entry[0] and order_id not in self.cancelled
        }

    def _money(self, counted: Mapping[str, Entry]) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
        """
        What the counted orders brought in net of refunds, and what was refunded, per currency.

        Each order's refunds give back no more than it brought in (see `money.refunded`).
        """
        if not (counted or self.revenue or self.refunds):  # most customers never ordered
            return {}, {}
        gross = {c: Decimal(a) for c, a in self.revenue.items()}
        back: dict[str, Decimal] = {}
        given = by_order(self.refund_book) if self.refund_book else {}
        for order_id, (_, amount, _, _, currency, *_) in counted.items():
            worth = Decimal(amount or 0)
            gross[currency] = gross.get(currency, Decimal(0)) + worth
            refund = refunded(worth, currency, given.get(order_id, ()))
            if refund is not None:
                back[currency] = back.get(currency, Decimal(0)) + refund
        for currency, old in self.refunds.items():  # kept by an earlier version, per currency
            room = gross.get(currency, Decimal(0)) - back.get(currency, Decimal(0))
            refund = min(Decimal(old), max(room, Decimal(0)))
            if refund or currency in back:
                back[currency] = back.get(currency, Decimal(0)) + refund
        net = {c: amount - back.get(c, Decimal(0)) for c, amount in gross.items()}
        return dict(sorted(net.items())), dict(sorted(back.items()))

    def _preferences(self) -> Preferences:
        if not self.prefs:
            return _NO_PREFERENCES
        values = {name: entry[0] for name, entry in self.prefs.items()}
        return Preferences(
            preferred_channels=tuple(values.get("preferred_channels") or ()),
            language=values.get("language"),
            timezone=values.get("timezone"),
            quiet_hours=parse_quiet_hours(values["quiet_hours"])
            if values.get("quiet_hours")
            else None,
        )

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data, for stores that keep the state as a document."""
        return {
            "traits": self.traits,
            "consents": self.consents,
            "prefs": self.prefs,
            "first": self.first_us,
            "last": self.last_us,
            "count": self.count,
            "channels": self.channels,
            "orders": self.orders,
            "revenue": self.revenue,
            "refunds": self.refunds,
            "order_book": self.order_book,
            "refund_book": self.refund_book,
            "cancelled": sorted(self.cancelled),
            "last_order": self.last_order_us,
            "segments": self.segments,
            "experiments": self.experiments,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProfileState:
        """The state `to_json` produced, by this version or an earlier one."""
        new = cls.__new__(cls)  # every slot is set below: no empty state made to be replaced
        new.traits = {k: tuple(v) for k, v in data["traits"].items()}
        # Consents stored before they could expire have six fields: they never expire.
        # An answer stored before answers were checked may be a string (`"false"`): it is
        # read as ingestion reads one now, and one that cannot be read is a refusal.
        new.consents = {
            k: (read_answer(v[0]) is True, *v[1:], None)[:7] for k, v in data["consents"].items()
        }
        new.prefs = {k: tuple(v) for k, v in data["prefs"].items()}
        new.first_us, new.last_us, new.count = data["first"], data["last"], data["count"]
        new.channels = {k: (v[0], v[1], v[2]) for k, v in data["channels"].items()}
        new.orders, new.last_order_us = data["orders"], data["last_order"]
        new.revenue, new.refunds = dict(data["revenue"]), dict(data["refunds"])
        # Order entries stored before they kept when the order was placed have eight fields.
        new.order_book = {k: (*v, None)[:9] for k, v in data.get("order_book", {}).items()}
        new.refund_book = {
            k: (v[0], v[1], v[2], v[3], v[4]) for k, v in data.get("refund_book", {}).items()
        }
        new.cancelled = set(data.get("cancelled", ()))
        # Segment entries stored before they had a revision have three fields: revision 0.
        new.segments = {k: (*v, 0)[:4] for k, v in data.get("segments", {}).items()}
        new.experiments = {k: tuple(v) for k, v in data.get("experiments", {}).items()}
        return new


# -- reading touchpoints -------------------------------------------------------------------------


def segment_revision(properties: Mapping[str, Any]) -> int:
    """
    Which change of a customer's membership a `Segment Entered` / `Exited` event is.

    A hub numbers its changes of one segment for one customer 1, 2, 3, ...: the highest is
    the membership, whatever the times. Events from elsewhere count as 0, whatever they carry
    (the profile reads a revision only from the hub's own changes: see `OWN_SEGMENT_IDS`).
    """
    revision = properties.get("revision")
    return revision if type(revision) is int and revision > 0 else 0


def parse_quiet_hours(value: object) -> QuietHours:
    """
    Read `{"start": "22:00", "end": "08:00"}` into `QuietHours`.

    Raises:
        ValidationError: If it is not such a window.
    """
    if not isinstance(value, dict) or set(value) != {"start", "end"}:
        raise ValidationError('expected {"start": "HH:MM", "end": "HH:MM"}')
    try:
        return QuietHours(
            start=dt.time.fromisoformat(value["start"]), end=dt.time.fromisoformat(value["end"])
        )
    except (TypeError, ValueError):
        raise ValidationError(f"expected times like '22:00', got {value!r}") from None


def check_timezone(value: object) -> str:
    """
    Return *value* if it names an IANA time zone.

    Raises:
        ValidationError: Otherwise.
    """
    if type(value) is str and value in KNOWN_ZONES:  # most events name a zone seen before
        return value
    if not isinstance(value, str):
        raise ValidationError(f"expected a time zone name, got {type(value).__name__}")
    unknown = f"unknown time zone {_shown(value)}"
    if len(value) > 64:  # the longest IANA name has 32 characters: spare the file system
        raise ValidationError(unknown)
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # "America" is a directory
        raise ValidationError(unknown) from None
    if len(KNOWN_ZONES) >= 4096:  # only zone names get here, but some file systems ignore case
        KNOWN_ZONES.clear()
    KNOWN_ZONES.add(value)
    return value


KNOWN_ZONES: set[str] = set()
"""Zone names `check_timezone` has found, so that a caller may skip it for one seen before."""


def _shown(value: str) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
