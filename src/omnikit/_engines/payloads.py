"""
What a collector receives, as messages: JSON text, newline-delimited JSON, batch envelopes.

Also the messages the hub's Python verbs (`Hub.track()`, `Hub.identify()`) stand for.
Pure: messages are read, not ingested.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from omnikit._engines.messages import kind_of
from omnikit.errors import ValidationError

__all__ = ["build_message", "read_payload", "unpack"]


def unpack(payload: object) -> tuple[list[object], bool]:
    """
    Return the messages of *payload*, and whether it was a batch.

    A batch is an envelope (`{"batch": [...]}`, optionally with `"type": "batch"`) or a list.

    Raises:
        ValidationError: If a batch envelope is malformed.
    """
    if isinstance(payload, list):
        return payload, True
    if isinstance(payload, Mapping) and ("batch" in payload or payload.get("type") == "batch"):
        batch = payload.get("batch")
        if not isinstance(batch, list):
            raise ValidationError(f"batch: expected a list of messages, got {kind_of(batch)}")
        extra = set(payload) - {
            "batch",
            "type",
            "sentAt",
            "context",
            "integrations",
            "writeKey",
            "messageId",
        }
        if extra:
            raise ValidationError(
                [f"{k}: unknown field of a batch envelope" for k in sorted(extra)]
            )
        sent_at, context = payload.get("sentAt"), payload.get("context")
        if context is not None and not isinstance(context, Mapping):
            raise ValidationError(f"context: expected an object, got {kind_of(context)}")
        if sent_at is None and not context:
            return batch, True
        # What the envelope says holds for each message that doesn't say otherwise (Segment's
        # libraries stamp `sentAt` on the batch, not on each message).
        return [_with_envelope(m, sent_at, context) for m in batch], True
    return [payload], False


def _with_envelope(message: object, sent_at: object, context: Mapping[str, Any] | None) -> object:
    if not isinstance(message, Mapping):
        return message
    merged = dict(message)
    if sent_at is not None and "sentAt" not in merged:
        merged["sentAt"] = sent_at
    if context:
        own = merged.get("context")
        merged["context"] = (
            {**context, **own}
            if isinstance(own, Mapping)
            else own
            if own is not None
            else dict(context)
        )
    return merged


def read_payload(payload: object) -> tuple[Iterable[tuple[Any, int | None]], bool]:
    """
    The messages of *payload* with their sizes when read from JSON text, and batch-ness.

    Newline-delimited JSON is decoded a line at a time, as the caller reads it: a decoded
    message is dropped as soon as it is parsed instead of living as long as the payload does
    (which keeps thousands of short-lived objects away from the garbage collector's oldest
    generation).
    """
    if isinstance(payload, bytes | bytearray):
        try:
            payload = payload.decode()
        except UnicodeDecodeError as exc:
            raise ValidationError(f"payload: not UTF-8 text ({exc})") from None
    if not isinstance(payload, str):
        given, is_batch = unpack(payload)
        return ((message, None) for message in given), is_batch
    lines = [line for line in payload.splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].lstrip().startswith("{") and lines[0].rstrip().endswith("}"):
        try:
            first = json.loads(lines[0])
        except ValueError:
            first = None
        if isinstance(first, dict) and "type" in first:  # newline-delimited messages
            return _lines(lines, first), True
    try:
        document = json.loads(payload)
    except ValueError as exc:
        raise ValidationError(f"payload: not valid JSON ({exc})") from None
    messages, is_batch = unpack(document)
    if is_batch:
        return ((message, None) for message in messages), True
    size = len(payload) if payload.isascii() else len(payload.encode())
    return [(messages[0], size)], False


def _lines(lines: list[str], first: dict[str, Any]) -> Iterator[tuple[Any, int]]:
    """Each line's message (or the error saying why it is none) and its size in bytes."""
    for number, line in enumerate(lines, start=1):
        message: Any
        if number == 1:
            message = first
        else:
            try:
                message = json.loads(line)
            except ValueError as exc:
                message = ValidationError(f"line {number}: not valid JSON ({exc})")
        yield message, len(line) if line.isascii() else len(line.encode())


def build_message(
    kind: str,
    *,
    user_id: str | None,
    anonymous_id: str | None,
    email: str | None,
    phone: str | None,
    identities: Mapping[str, str] | None,
    channel: str | None,
    timestamp: dt.datetime | str | None,
    message_id: str | None,
    context: Mapping[str, Any] | None,
    traits_field: str,
    traits: Mapping[str, Any] | None,
    now: Callable[[], dt.datetime],
    key: bytes = b"",
) -> dict[str, Any]:
    """
    The Segment Spec message `Hub.track()` or `Hub.identify()` ingests for its arguments.

    An anonymous id derived from identifiers is keyed with the store's *key*.
    """
    ctx: dict[str, Any] = dict(context or {})
    person: dict[str, Any] = dict(traits or {})
    if email is not None:
        person["email"] = email
    if phone is not None:
        person["phone"] = phone
    if person:
        if traits_field == "traits":
            ctx.pop("traits", None)
        else:
            ctx["traits"] = {**(ctx.get("traits") or {}), **person}
    if identities:
        ctx["externalIds"] = [
            *(ctx.get("externalIds") or ()),
            *(
                {"id": value, "type": kind_, "collection": "users", "encoding": "none"}
                for kind_, value in identities.items()
            ),
        ]
    if channel is not None:
        ctx["channel"] = channel
    message: dict[str, Any] = {"type": kind, "context": ctx}
    if traits_field == "traits" and person:
        message["traits"] = person
    if user_id is not None:
        message["userId"] = user_id
    if anonymous_id is not None:
        message["anonymousId"] = anonymous_id
    if user_id is None and anonymous_id is None:
        # The Segment Spec asks for one of them. A host that only knows an email, a phone or
        # a loyalty card gets an anonymous id derived from those, so that calls about one
        # person don't pile up new identities on their profile. Keyed: a plain hash of an
        # email would confirm a guess of it.
        known = sorted(
            [*(("email", email), ("phone", phone)), *((identities or {}).items())],
            key=str,
        )
        message["anonymousId"] = (
            "omk-"
            + hmac.new(
                key, repr([k for k in known if k[1] is not None]).encode(), hashlib.sha256
            ).hexdigest()[:20]
        )
    message["timestamp"] = timestamp if timestamp is not None else now()
    message["messageId"] = message_id or f"omk-{uuid.uuid4().hex}"
    return message
