"""
Touchpoints as stored: the converter's JSON shape, written and read by hand.

Every store writes one touchpoint per ingested event, so this is on the hot path: the JSON is
put together from pieces, and read back without the converter (the data was validated on the
way in). Tests check both against the converter.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from omnikit._models.identities import Identity
from omnikit._models.touchpoints import (
    Context,
    Direction,
    Location,
    Touchpoint,
    TouchpointType,
    Trust,
)
from omnikit._models.trusted import trusted

__all__ = ["encode", "touchpoint_from", "touchpoint_json", "touchpoint_text"]

_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_quote = json.encoder.encode_basestring  # what `encode` writes a string as
_make_c_encoder: Any = getattr(json.encoder, "c_make_encoder", None)
_c_encode: Any = (
    None
    if _make_c_encoder is None
    else _make_c_encoder(  # the arguments `JSONEncoder.iterencode` passes, but the markers
        None,
        _ENCODER.default,
        _quote,
        _ENCODER.indent,
        _ENCODER.key_separator,
        _ENCODER.item_separator,
        _ENCODER.sort_keys,
        _ENCODER.skipkeys,
        _ENCODER.allow_nan,
    )
)


def encode(value: object) -> str:
    """
    What `json.dumps(value, separators=(",", ":"), ensure_ascii=False)` returns.

    It runs for every touchpoint and every changed customer, so it calls the C encoder that
    `json.dumps` ends in, built once. Built without the record of the objects being encoded
    (which is how `json.dumps` finds a cycle), it ends a cycle with RecursionError: then
    the standard encoder runs and raises what `json.dumps` raises.
    """
    if _c_encode is None:  # pragma: no cover - CPython has it
        return _ENCODER.encode(value)
    try:
        return "".join(_c_encode(value, 0))
    except RecursionError:
        return _ENCODER.encode(value)


_TP_FIELDS = (
    "message_id",
    "type",
    "name",
    "channel",
    "direction",
    "occurred_at",
    "received_at",
    "identities",
    "properties",
    "traits",
    "context",
    "trust",
    "claims_only",
)


def touchpoint_json(tp: Touchpoint) -> dict[str, Any]:
    """
    A touchpoint as stored: the converter's JSON shape, without its customer.

    Written out by hand because it runs once per ingested event; a test checks it against
    the converter.
    """
    ctx = tp.context
    location = ctx.location
    return {
        "message_id": tp.message_id,
        "type": tp.type.value,
        "name": tp.name,
        "channel": tp.channel,
        "direction": tp.direction.value,
        "occurred_at": tp.occurred_at.isoformat(),
        "received_at": tp.received_at.isoformat(),
        "identities": [{"kind": i.kind, "value": i.value} for i in tp.identities],
        "properties": tp.properties,
        "traits": tp.traits,
        "context": {
            "source": ctx.source,
            "store_id": ctx.store_id,
            "agent": ctx.agent,
            "campaign": ctx.campaign,
            "device": ctx.device,
            "location": None
            if location is None
            else {
                "latitude": location.latitude,
                "longitude": location.longitude,
                "city": location.city,
                "region": location.region,
                "country": location.country,
                "postal_code": location.postal_code,
            },
            "page": ctx.page,
            "ip": ctx.ip,
            "locale": ctx.locale,
            "timezone": ctx.timezone,
            "user_agent": ctx.user_agent,
            "extra": ctx.extra,
        },
        "trust": tp.trust.value,
        "claims_only": tp.claims_only,
    }


def _value(value: object) -> str:
    """*value* as JSON, as `encode` writes it."""
    if type(value) is str:
        return _quote(value)
    return "null" if value is None else encode(value)


def _object(value: object) -> str:
    """A mapping as JSON, as `encode` writes it."""
    return "{}" if type(value) is dict and not value else encode(value)


def touchpoint_text(tp: Touchpoint) -> str:
    """
    `touchpoint_json(tp)` as JSON text, exactly as `Dialect.dump` writes it.

    Put together from pieces because it runs once per ingested event: only the free-form
    parts (properties, traits, context objects) go through the encoder. A test checks it
    against `touchpoint_json`.
    """
    ctx = tp.context
    location = ctx.location
    identities = ",".join(
        [f'{{"kind":{_value(i.kind)},"value":{_value(i.value)}}}' for i in tp.identities]
    )
    place = (
        "null"
        if location is None
        else encode(
            {
                "latitude": location.latitude,
                "longitude": location.longitude,
                "city": location.city,
                "region": location.region,
                "country": location.country,
                "postal_code": location.postal_code,
            }
        )
    )
    source, store_id, agent, ip = ctx.source, ctx.store_id, ctx.agent, ctx.ip
    locale, timezone, user_agent = ctx.locale, ctx.timezone, ctx.user_agent
    return (
        f'{{"message_id":{_value(tp.message_id)},"type":{_value(tp.type.value)},'
        f'"name":{_value(tp.name)},"channel":{_value(tp.channel)},'
        f'"direction":{_value(tp.direction.value)},'
        f'"occurred_at":{_value(tp.occurred_at.isoformat())},'
        f'"received_at":{_value(tp.received_at.isoformat())},'
        f'"identities":[{identities}],"properties":{_object(tp.properties)},'
        f'"traits":{_object(tp.traits)},'
        f'"context":{{"source":{"null" if source is None else _value(source)},'
        f'"store_id":{"null" if store_id is None else _value(store_id)},'
        f'"agent":{"null" if agent is None else _value(agent)},'
        f'"campaign":{_object(ctx.campaign)},"device":{_object(ctx.device)},'
        f'"location":{place},"page":{_object(ctx.page)},'
        f'"ip":{"null" if ip is None else _value(ip)},'
        f'"locale":{"null" if locale is None else _value(locale)},'
        f'"timezone":{"null" if timezone is None else _value(timezone)},'
        f'"user_agent":{"null" if user_agent is None else _value(user_agent)},'
        f'"extra":{_object(ctx.extra)}}},"trust":{_value(tp.trust.value)},'
        f'"claims_only":{"true" if tp.claims_only else "false"}}}'
    )


_TRUST = {t.value: t for t in Trust}
_TYPE = {t.value: t for t in TouchpointType}
_DIRECTION = {d.value: d for d in Direction}
# Stored touchpoints were validated on the way in: read back without checking them again.
_TOUCHPOINT = trusted(Touchpoint)
_CONTEXT = trusted(Context)
_IDENTITY = trusted(Identity)
_from_iso = dt.datetime.fromisoformat


def touchpoint_from(data: dict[str, Any], customer_id: str) -> Touchpoint:
    """
    The touchpoint `touchpoint_json` stored (trusted data: it was validated on the way in).

    Built without the models' converters and validators, equal to what they would build.
    """
    ctx = data["context"]
    location = ctx["location"]
    return _TOUCHPOINT(
        message_id=data["message_id"],
        type=_TYPE[data["type"]],
        name=data["name"],
        channel=data["channel"],
        direction=_DIRECTION[data["direction"]],
        occurred_at=_from_iso(data["occurred_at"]),
        received_at=_from_iso(data["received_at"]),
        identities=tuple([_IDENTITY(kind=i["kind"], value=i["value"]) for i in data["identities"]]),
        properties=data["properties"],
        traits=data["traits"],
        context=_CONTEXT(
            source=ctx["source"],
            store_id=ctx["store_id"],
            agent=ctx["agent"],
            campaign=ctx["campaign"],
            device=ctx["device"],
            location=None if location is None else Location(**location),
            page=ctx["page"],
            ip=ctx["ip"],
            locale=ctx["locale"],
            timezone=ctx["timezone"],
            user_agent=ctx["user_agent"],
            extra=ctx["extra"],
        ),
        # Touchpoints stored before trust levels existed were all claims.
        trust=_TRUST.get(data.get("trust", ""), Trust.CLAIMED),
        claims_only=data.get("claims_only", False),
        customer_id=customer_id,
    )
