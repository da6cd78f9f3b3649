"""
A fake SendGrid for the connector's tests: the v3 Mail Send API as SendGrid documents it, and
requests signed as its Event Webhook signs them.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fake_provider import Answer, Seen

from omnikit.connectors import InboundRequest
from omnikit.connectors.sendgrid import MAX_PERSONALIZATIONS, SIGNATURE_HEADER, TIMESTAMP_HEADER

KEY = "SG.test-key.omnikit-0123456789"
EXHAUSTED_KEY = "SG.no-credits-left"
NOW = dt.datetime(2026, 12, 5, 12, tzinfo=dt.UTC)


def _errors(status: int, *problems: tuple[str | None, str], **headers: str) -> Answer:
    body = {
        "errors": [
            {"field": field, "message": message, "help": None} for field, message in problems
        ]
    }
    return Answer(status, body, headers=headers)


class FakeSendGrid:
    """
    `POST /v3/mail/send` as SendGrid documents it: Bearer auth, JSON, the required fields.

    It answers 202 with an `X-Message-Id`, or SendGrid's documented errors: 401 (key), 403
    (credits used up, unverified sender), 400 (shape, with `errors[].field`), 413 (too large,
    as nginx says it, in HTML), 429 for any recipient at `limited.example` (with the
    `X-RateLimit-*` headers).
    """

    def __init__(self, max_bytes: int = 30 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self.verified = {"shop@example.com", "loja@example.com"}
        self.accepted: list[dict[str, Any]] = []

    def __call__(self, seen: Seen) -> Answer:
        if seen.method != "POST" or seen.path != "/v3/mail/send":
            return _errors(404, (None, "resource not found"))
        auth = seen.headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            return _errors(401, (None, "authorization required"))
        if auth.removeprefix("Bearer ") == EXHAUSTED_KEY:
            return _errors(403, (None, "You have exceeded your messaging limits"))
        if auth.removeprefix("Bearer ") != KEY:
            return _errors(
                401, (None, "The provided authorization grant is invalid, expired, or revoked")
            )
        if len(seen.body) > self.max_bytes:
            page = "<html><head><title>413 Request Entity Too Large</title></head></html>"
            return Answer(413, page, headers={"Content-Type": "text/html"})
        if seen.headers.get("content-type", "").split(";")[0] != "application/json":
            return _errors(400, (None, "Content-Type should be application/json."))
        try:
            body = seen.json()
        except ValueError:
            return _errors(400, (None, "Bad Request"))
        problems = _shape(body) if isinstance(body, dict) else [(None, "Bad Request")]
        if problems:
            return _errors(400, *problems)
        if body["from"]["email"] not in self.verified:
            return _errors(
                403,
                ("from", "The from address does not match a verified Sender Identity."),
            )
        if any(p["to"][0]["email"].endswith("@limited.example") for p in body["personalizations"]):
            reset = str(int(time.time()) + 30)
            return _errors(
                429,
                (None, "too many requests"),
                **{
                    "X-RateLimit-Limit": "600",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": reset,
                },
            )
        self.accepted.append(body)
        return Answer(202, b"", headers={"X-Message-Id": f"sgmsg{len(self.accepted)}"})


# SendGrid's validation messages, as its error reference words them
FROM = "The from object must be provided for every email send. It is an object that requires the email parameter, but may also contain a name parameter."
SUBJECT = "The subject is required. You can get around this requirement if you use a template with a subject defined or if every personalization has a subject defined."
CONTENT = "Unless a valid template_id is provided, the content parameter is required. There must be at least one defined content block."
ORDER = "If present, text/plain content must be first, followed by text/html, followed by any other content."
VALUE = "The content value must be a string at least one character in length."
PEOPLE = "The personalizations field is required and must have at least one personalization."
TOO_MANY = "The personalizations field may not have more than 1000 personalizations."
TO = "The to array is required for all personalization objects, and must have at least one email object with a valid email address."
DUPLICATE = "Each email address in the personalization block should be unique between to, cc, and bcc. We found the first duplicate instance of [{}] in the {} field."
ARGS = "Custom arguments must be strings."


def _shape(body: dict[str, Any]) -> list[tuple[str | None, str]]:
    """What SendGrid's validation would say about *body*."""
    problems = _personalizations(body.get("personalizations"))
    sender = body.get("from")
    if not isinstance(sender, dict) or not isinstance(sender.get("email"), str):
        problems.append(("from", FROM))
    templated = isinstance(body.get("template_id"), str)
    people = body.get("personalizations") or []
    subjects = all(isinstance(p, dict) and p.get("subject") for p in people)
    if not templated and not body.get("subject") and not subjects:
        problems.append(("subject", SUBJECT))
    content = body.get("content")
    if not templated and (not isinstance(content, list) or not content):
        problems.append(("content", CONTENT))
    elif isinstance(content, list):
        kinds = [part.get("type") for part in content if isinstance(part, dict)]
        values = [part.get("value") for part in content if isinstance(part, dict)]
        if "text/plain" in kinds and kinds[0] != "text/plain":
            problems.append(("content", ORDER))
        if not all(isinstance(value, str) and value for value in values):
            problems.append(("content.value", VALUE))
    return problems


def _personalizations(people: object) -> list[tuple[str | None, str]]:
    if not isinstance(people, list) or not people:
        return [("personalizations", PEOPLE)]
    if len(people) > MAX_PERSONALIZATIONS:
        return [("personalizations", TOO_MANY)]
    seen: set[str] = set()
    for index, person in enumerate(people):
        field = f"personalizations.{index}.to"
        to = person.get("to") if isinstance(person, dict) else None
        if not isinstance(to, list) or not to:
            return [(field, TO)]
        if not all(isinstance(item, dict) and "@" in str(item.get("email", "")) for item in to):
            return [(field, TO)]
        for item in to:
            address = item["email"].lower()
            if address in seen:
                return [(field, DUPLICATE.format(address, field))]
            seen.add(address)
        args = person.get("custom_args", {})
        if not isinstance(args, dict) or not all(isinstance(v, str) for v in args.values()):
            return [(f"personalizations.{index}.custom_args", ARGS)]
    return []


def public_b64(key: ec.EllipticCurvePrivateKey) -> str:
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def signed(
    key: ec.EllipticCurvePrivateKey, events: list[dict[str, Any]] | bytes, now: dt.datetime = NOW
) -> InboundRequest:
    """A request as SendGrid's Event Webhook posts it, signed with *key*."""
    body = events if isinstance(events, bytes) else (json.dumps(events) + "\r\n").encode()
    stamp = str(int(now.timestamp()))
    signature = key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return InboundRequest(
        method="POST",
        url="https://shop.example/hooks/sendgrid",
        headers={
            "Content-Type": "application/json",
            SIGNATURE_HEADER: base64.b64encode(signature).decode(),
            TIMESTAMP_HEADER: stamp,
        },
        body=body,
    )
