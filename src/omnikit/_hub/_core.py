"""
The hub's core: its configuration and the verbs' pure parts.

`_HubCore` validates the options and builds what every verb needs: the ingestion options, the
identity engine's configuration, the hub's own touchpoints, customers from stored records,
decisions from a customer and their history. It holds no store and makes no store call: the
verbs are flows that ask the store for what they need (see `_base`), and the drivers (`Hub`,
`AsyncHub`) open the store, read its secret (`_use_secret`) and answer the flows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import uuid
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypedDict

import attrs
import cattrs
import phonenumbers

from omnikit._engines.erasure import MIN_KEY_BYTES, NO_KEY
from omnikit._engines.identity import IdentityRules
from omnikit._engines.inbound import IngestOptions
from omnikit._engines.ingest import IngestConfig
from omnikit._engines.outbox import Backoff
from omnikit._engines.policy import ContactPolicy
from omnikit._engines.profile import OWN_SEGMENT_IDS
from omnikit._engines.reader import ReadCache
from omnikit._engines.records import CustomerRecord, IdKey
from omnikit._engines.times import MAX_FUTURE, MAX_PAST
from omnikit._hub.outbound import Outbound
from omnikit._models.channels import Channel, Channels
from omnikit._models.customers import Customer
from omnikit._models.identities import BUILT_IN_KINDS, Identity, normalize_identifier
from omnikit._models.touchpoints import Context, Direction, Touchpoint, TouchpointType, Trust
from omnikit.converters import make_converter
from omnikit.errors import ValidationError
from omnikit.rules._data import decision_data
from omnikit.rules._domain import Env, History, Place
from omnikit.rules._rules import Decision, RuleSet
from omnikit.rules._segments import Segment, SegmentSet

__all__ = [
    "Clock",
    "CustomerRef",
    "HubOptions",
    "require_positive",
    "segment_message_id",
    "segment_revision",
    "suppression_key_bytes",
]


CustomerRef = Customer | str
"""A customer, or a customer id (`"cus_..."`)."""

Clock = Callable[[], dt.datetime]


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _zone(value: str | dt.tzinfo | None) -> dt.tzinfo | None:
    if value is None or isinstance(value, dt.tzinfo):
        return value
    try:
        return zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # "America" is a directory
        raise ValidationError(f"default_timezone: unknown time zone {value!r}") from None


def require_positive(field: str, value: object) -> None:
    """Raise a `ValidationError` naming *field* unless *value* is a positive integer."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(f"{field}: expected a positive integer, got {value!r}")


def suppression_key_bytes(value: bytes | str | None) -> bytes | None:
    """*value* as the key `Hub(suppression_key=...)` keeps, or a `ValidationError`."""
    if value is None:
        return None
    if not isinstance(value, bytes | str):
        raise ValidationError(f"suppression_key: expected {NO_KEY}, got {type(value).__name__}")
    key = value.encode() if isinstance(value, str) else value
    if len(key) < MIN_KEY_BYTES:
        raise ValidationError(f"suppression_key: expected {NO_KEY}")
    return key


def segment_message_id(
    record: CustomerRecord, anchor: object, segment: str, *, entered: bool, key: bytes
) -> str:
    """
    The id of the touchpoint saying a customer entered (or left) *segment*.

    Derived from the customer's best identity and the change before this one, not from the
    time or the customer id (which an earlier event arriving at the same moment can change):
    two threads or processes that both see the customer outside a segment record one entry,
    the second being a duplicate. Keyed with the store's *key*: a plain hash of the identity
    would confirm a guess of it.
    """
    previous = record.profile.segments.get(segment)
    after = "" if previous is None else f"{previous[2]}|{previous[3]}"
    text = f"{anchor}|{segment}|{'in' if entered else 'out'}|{after}"
    return OWN_SEGMENT_IDS + hmac.new(key, text.encode(), hashlib.sha256).hexdigest()[:32]


def segment_revision(record: CustomerRecord, segment: str) -> int:
    """The revision of the next change of *segment* for the customer: one past the latest."""
    previous = record.profile.segments.get(segment)
    return 1 if previous is None else int(previous[3]) + 1


class HubOptions(TypedDict, total=False):
    """The options of `Hub` and `AsyncHub`, by keyword (see `Hub` for each)."""

    identity_rules: IdentityRules | None
    channels: Iterable[Channel]
    default_channel: str
    default_region: str | None
    default_timezone: str | dt.tzinfo | None
    max_message_bytes: int
    max_past: dt.timedelta | None
    max_future: dt.timedelta | None
    currency: str
    clock: Clock | None
    batch_size: int
    ruleset: RuleSet | None
    segments: Iterable[Segment] | SegmentSet
    places: Iterable[Place]
    suppression_key: bytes | str | None
    connectors: Iterable[Any]
    contact_policy: ContactPolicy | None
    retry: Backoff | None
    brand: Any
    send_rates: Mapping[str, float]
    send_lease: dt.timedelta


class _HubCore:
    """The hub's configuration and the verbs' pure parts (see `Hub` for the options)."""

    def __init__(
        self,
        *,
        identity_rules: IdentityRules | None = None,
        channels: Iterable[Channel] = (),
        default_channel: str = "web",
        default_region: str | None = None,
        default_timezone: str | dt.tzinfo | None = None,
        max_message_bytes: int = 32 * 1024,
        max_past: dt.timedelta | None = MAX_PAST,
        max_future: dt.timedelta | None = MAX_FUTURE,
        currency: str = "USD",
        clock: Clock | None = None,
        batch_size: int = 1000,
        ruleset: RuleSet | None = None,
        segments: Iterable[Segment] | SegmentSet = (),
        places: Iterable[Place] = (),
        suppression_key: bytes | str | None = None,
        connectors: Iterable[Any] = (),
        contact_policy: ContactPolicy | None = None,
        retry: Backoff | None = None,
        brand: Any = None,
        send_rates: Mapping[str, float] | None = None,
        send_lease: dt.timedelta = dt.timedelta(minutes=5),
    ) -> None:
        known = Channels(channels)
        known.require(default_channel, field="default_channel")
        if batch_size < 1:
            raise ValidationError("batch_size: must be at least 1")
        if default_region is not None:
            default_region = default_region.upper()
            if default_region not in phonenumbers.SUPPORTED_REGIONS:
                raise ValidationError(
                    f"default_region: {default_region!r} is not a region phone numbers know "
                    "(an ISO 3166 code such as 'PT' or 'US')"
                )
        if max_message_bytes < 256:
            raise ValidationError("max_message_bytes: must be at least 256")
        self._suppression_key = suppression_key_bytes(suppression_key)
        for name, span in (("max_past", max_past), ("max_future", max_future)):
            if span is not None and span < dt.timedelta(0):
                raise ValidationError(f"{name}: must not be negative (None for no bound)")
        self._secret = b""  # the store's, once the driver read it (`_use_secret`)
        self.identity_rules = identity_rules or IdentityRules()
        self.channels = known
        self.options = IngestOptions(
            channels=known,
            default_channel=default_channel,
            default_region=default_region,
            default_timezone=_zone(default_timezone),
            max_message_bytes=max_message_bytes,
            max_past=max_past,
            max_future=max_future,
        )
        self.currency = currency.upper()
        self.clock: Clock = clock or _utcnow
        self.batch_size = batch_size
        self.converter: cattrs.Converter = make_converter()
        self._blocked: dict[IdKey, bool] = {}
        self._read_cache = ReadCache()
        self.ruleset = ruleset
        self.segments = segments if isinstance(segments, SegmentSet) else SegmentSet(segments)
        self.places: dict[str, Place] = {place.id: place for place in places}
        self.outbound = Outbound.of(
            connectors,
            channels=known,
            policy=contact_policy,
            retry=retry,
            brand=brand,
            rates=send_rates,
            lease=send_lease,
        )

    def _use_secret(self, secret: bytes) -> None:
        """Key what the hub derives from data with the store's *secret* (read by the driver)."""
        self._secret = secret
        self.options = attrs.evolve(self.options, id_key=secret)

    def _ingest_config(self) -> IngestConfig:
        return IngestConfig(
            rules=self.identity_rules,
            currency=self.currency,
            secret=self._secret,
            suppression_key=self._suppression_key,
            blocked=self._blocked,
        )

    def _now(self) -> dt.datetime:
        return self.clock()

    def _anchor(self, record: CustomerRecord) -> IdKey | None:
        """
        The customer's best identity: what the hub's own touchpoints about them carry.

        A verified one when they have any, else one of their sessions, which no claim takes
        from them: what the hub records about them (a consent, an experiment arm) stays
        theirs whatever anyone claims later.
        """
        rules = self.identity_rules
        sessions = [k for k in record.members if k[0] in rules.session_kinds]
        return min(
            record.verified or sessions or record.members,
            key=lambda k: (rules.rank(k[0]), k[1]),
            default=None,
        )

    def _own_touchpoint(
        self,
        record: CustomerRecord,
        name: str,
        *,
        at: dt.datetime,
        properties: Mapping[str, Any] | None = None,
        traits: Mapping[str, Any] | None = None,
        channel: str | None = None,
        source: str = "omnikit",
        message_id: str | None = None,
    ) -> Touchpoint:
        """
        A touchpoint the hub itself makes about a customer.

        A decision, a segment change, computed traits: outbound, so it counts in no customer
        activity, and carrying the customer's best identity, so it reaches them whatever merges
        come later.
        """
        anchor = self._anchor(record)
        if anchor is None:
            raise ValidationError(
                f"customer: {record.id!r} holds no identifier (only claims on others' reached "
                f"them), so there is nobody to record {name!r} for"
            )
        is_identify = traits is not None and name == "Identify"
        return Touchpoint(
            message_id=message_id or f"omk-{uuid.uuid4().hex}",
            type=TouchpointType.IDENTIFY if is_identify else TouchpointType.TRACK,
            name=name,
            channel=self.channels.require(channel) if channel else self.options.default_channel,
            direction=Direction.OUTBOUND,
            occurred_at=at,
            received_at=self.clock(),
            identities=(Identity.from_normalized(*anchor),),
            properties=dict(properties or {}),
            traits=dict(traits or {}),
            context=Context(source=source),
            # It reaches the customer whose identity it carries, and links nothing.
            trust=Trust.INTERNAL,
        )

    def _key(self, kind: str, value: object) -> IdKey:
        try:
            normalized = normalize_identifier(
                kind, value, default_region=self.options.default_region
            )
        except ValidationError as exc:
            raise ValidationError(
                [f"{kind}: {e.removeprefix('value: ')}" for e in exc.errors]
            ) from None
        Identity(kind=kind, value=normalized)  # checks the kind's name
        return (kind, normalized)

    def _declared_kinds(self) -> set[str]:
        rules = self.identity_rules
        declared = {*BUILT_IN_KINDS, *rules.priority, *rules.limits}
        return declared | {identity.kind for identity in rules.blocked_identities}

    def _build_customer(self, record: CustomerRecord) -> Customer:
        """The customer a stored record holds, without their recent touchpoints."""
        return record.profile.stored_customer(record.id, record.members)

    def _decide(
        self,
        rules: RuleSet,
        stored: CustomerRecord,
        event: Touchpoint | Mapping[str, Any] | str | None,
        context: Mapping[str, Any] | None,
        *,
        history: list[Touchpoint],
        moment: dt.datetime,
        limit: int | None,
        assigned: Mapping[str, str] | None = None,
    ) -> Decision:
        """The decision of *rules* for the stored customer (see `_decide_for`)."""
        assignments = {**stored.profile.assignments(), **(assigned or {})}
        return self._decide_for(
            rules,
            self._build_customer(stored),
            event,
            context,
            history=history,
            moment=moment,
            limit=limit,
            assignments=assignments,
        )

    def _decide_for(
        self,
        rules: RuleSet,
        profile: Customer,
        event: Touchpoint | Mapping[str, Any] | str | None,
        context: Mapping[str, Any] | None,
        *,
        history: list[Touchpoint],
        moment: dt.datetime,
        limit: int | None,
        assignments: Mapping[str, str],
    ) -> Decision:
        """The decision of *rules* for *profile*, with its *history* and experiment arms."""
        if isinstance(event, str):
            event = {"name": event}
        timezone = profile.preferences.timezone or (context or {}).get("timezone")
        env = Env(
            now=moment,
            timezone=timezone if isinstance(timezone, str) else None,
            history=History(history),
            segments=frozenset(profile.segments),
            places=self.places,
            assignments=assignments,
        )
        data = decision_data(profile, event, context, segments=profile.segments, now=moment)
        return rules.decide(data, env, customer_id=profile.id, limit=limit)
