"""
What a collector receives, as messages: JSON text, newline-delimited JSON, batch envelopes.

Also the messages the hub's Python verbs (`Hub.track()`, `Hub.identify()`) stand for.
Pure: messages are read, not ingested.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from omnikit._engines.values import decode, kind_of
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


def read_payload(payload: object) -> tuple[Iterable[tuple[Any, str | None]], bool]:
    """
    The messages of *payload*, each with the JSON text it was read from, and batch-ness.

    A message's text is `None` when it was not read from text of its own (a Python value, a
    message of a batch envelope) or holds a number no store keeps (`values.decode`): the
    reader then encodes it, converting and checking its values.

    Text that is not one JSON document but has several lines, the first or second of them an
    object, is newline-delimited JSON: it is decoded a line at a time, as the caller reads it (a
    decoded message is dropped as soon as it is parsed instead of living as long as the
    payload does, which keeps thousands of short-lived objects away from the garbage
    collector's oldest generation), and a line that is not JSON is rejected alone.

    Raises:
        ValidationError: If *payload* is not UTF-8 text or not JSON, or a batch envelope is
            malformed.
    """
    if isinstance(payload, bytes | bytearray):
        try:
            payload = payload.decode()
        except UnicodeDecodeError as exc:
            raise ValidationError(f"payload: not UTF-8 text ({exc})") from None
    if not isinstance(payload, str):
        given, is_batch = unpack(payload)
        return ((message, None) for message in given), is_batch
    try:
        document, storable = decode(payload, "payload")
    except ValidationError:
        # Not one JSON document: newline-delimited messages, if it looks like them, each read
        # on its own so that a broken line spoils only itself. Lines end at "\n" only: a JSON
        # string may hold the other characters `str.splitlines()` splits at.
        lines = [line for line in payload.split("\n") if line.strip()]
        if len(lines) > 1 and (_whole_object(lines[0]) or _whole_object(lines[1])):
            return _lines(lines), True
        raise
    messages, is_batch = unpack(document)
    if is_batch:
        return ((message, None) for message in messages), True
    return [(messages[0], payload if storable else None)], False


def _whole_object(line: str) -> bool:
    """Whether *line* looks like a message of its own (a pretty-printed object's lines do not)."""
    stripped = line.strip()
    return stripped.startswith("{") and stripped.endswith("}")


def _lines(lines: list[str]) -> Iterator[tuple[Any, str | None]]:
    """Each line's message (or the error saying why it is none) and its text."""
    for number, line in enumerate(lines, start=1):
        message: Any
        text: str | None = None
        try:
            message, storable = decode(line, f"line {number}")
        except ValidationError as exc:
            message = exc
        else:
            text = line if storable else None
        yield message, text


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
) -> dict[str, Any]:
    """
    The Segment Spec message `Hub.track()` or `Hub.identify()` ingests for its arguments.

    It carries the identifiers given and no others: an event known only by a phone number or
    a loyalty card names the person by that, not by an anonymous id made up for it (which
    would link whoever shares the made-up id's source, a placeholder email included). A call
    with no identifier at all makes a message that reading rejects, saying which fields
    identify.
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
    message["timestamp"] = timestamp if timestamp is not None else now()
    message["messageId"] = message_id or f"omk-{uuid.uuid4().hex}"
    return message
