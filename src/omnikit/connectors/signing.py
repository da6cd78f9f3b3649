"""
What webhook verification shares across providers.

Constant-time comparison, replay windows, and a guard against a request verified twice.

Providers sign differently (Twilio HMAC-SHA1 over the URL and form, Slack v0 HMAC-SHA256 over
a timestamp and the body, Meta over the body, SendGrid ECDSA), but every scheme ends the same
way: compare in constant time, reject what is too old, reject what was already seen. A
connector's `verify()` raises `SignatureError` naming which check failed, never the secret or
the signature it expected.
"""

from __future__ import annotations

import base64
import binascii
import collections
import datetime as dt
import hashlib
import hmac
import threading

from omnikit.errors import ReplayError, SignatureError

__all__ = ["ReplayGuard", "b64decode", "check_fresh", "equal", "hmac_digest"]


def hmac_digest(secret: bytes | str, message: bytes | str, algorithm: str = "sha256") -> bytes:
    """
    The HMAC of *message* under *secret* with *algorithm* (`"sha256"`, `"sha1"`).

    Added in version 0.1.0.
    """
    key = secret.encode() if isinstance(secret, str) else secret
    data = message.encode() if isinstance(message, str) else message
    return hmac.new(key, data, getattr(hashlib, algorithm)).digest()


def equal(given: bytes | str, expected: bytes | str) -> bool:
    """
    Whether *given* equals *expected*, in time that does not depend on where they differ.

    Added in version 0.1.0.
    """
    left = given.encode() if isinstance(given, str) else given
    right = expected.encode() if isinstance(expected, str) else expected
    return hmac.compare_digest(left, right)


def b64decode(value: str, *, what: str = "signature") -> bytes:
    """
    *value* decoded from base64, or a `SignatureError` naming *what* if it is not base64.

    Added in version 0.1.0.
    """
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError(f"{what}: not base64") from None


def check_fresh(
    timestamp: str | None,
    *,
    now: dt.datetime,
    tolerance: dt.timedelta,
    header: str,
) -> int:
    """
    The Unix time *timestamp* as an integer, if it is within *tolerance* of *now*.

    Raises:
        SignatureError: If it is missing, not a number, or too far from *now* in either
            direction (a replayed old request, or a clock far off).

    Added in version 0.1.0.
    """
    if timestamp is None:
        raise SignatureError(f"{header}: missing")
    try:
        seconds = int(timestamp.strip())
    except ValueError:
        raise SignatureError(f"{header}: not a Unix time") from None
    if abs(now.timestamp() - seconds) > tolerance.total_seconds():
        raise SignatureError(
            f"{header}: the request is stale (more than {tolerance.total_seconds():g} s "
            "from now); a replayed request, or a clock far off"
        )
    return seconds


class ReplayGuard:
    """
    Remembers the signatures verified in the last *window*, and refuses one seen again.

    A webhook delivered twice by the provider carries the same event ids and is made harmless
    by the hub's idempotent ingestion; a request *replayed* by someone who captured it is
    refused here, within one process. Bounded by *capacity*: the oldest are forgotten first.

    Added in version 0.1.0.
    """

    def __init__(self, window: dt.timedelta, capacity: int = 100_000) -> None:
        self.window = window
        self.capacity = capacity
        self._seen: collections.OrderedDict[bytes, float] = collections.OrderedDict()
        self._lock = threading.Lock()

    def check(self, signature: bytes | str, *, now: dt.datetime) -> None:
        """
        Record *signature* as seen at *now*.

        Raises:
            ReplayError: If it was seen within the window.
        """
        key = hashlib.sha256(signature.encode() if isinstance(signature, str) else signature)
        digest = key.digest()
        moment = now.timestamp()
        with self._lock:
            horizon = moment - self.window.total_seconds()
            while self._seen and next(iter(self._seen.values())) < horizon:
                self._seen.popitem(last=False)
            if digest in self._seen:
                raise ReplayError("signature: this request was already received (a replay)")
            self._seen[digest] = moment
            while len(self._seen) > self.capacity:
                self._seen.popitem(last=False)
