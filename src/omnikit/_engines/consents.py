"""
Consent answers in messages: checked as they arrive, read as the profile is built.

Three places carry them: `context.consent.categoryPreferences` (Segment's consent object,
a purpose for every channel per key), a `Consent Updated` event (`properties.purpose`,
`.granted`, `.channel`, `.expires_at`), and an `Unsubscribed` event (a refusal).

Consent-management platforms name purposes in their own case (`"Marketing"`, `"EMAIL"`) and
write answers as strings or numbers (`"false"`, `"no"`, `0`). Names are normalised by
`purpose_name`, answers read by `read_answer`; an answer that is neither a grant nor a refusal
is refused when the message arrives, naming the field, rather than guessed. A message stored
before these checks is read without failing: an answer it holds that cannot be read is a
refusal, never a grant.

Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from omnikit._engines.times import from_us, to_us
from omnikit._engines.values import kind_of
from omnikit._models.consent import Consent, is_purpose, purpose_name, read_answer
from omnikit._models.touchpoints import Touchpoint
from omnikit.errors import ValidationError

__all__ = [
    "answer_error",
    "answer_properties",
    "check_consent_context",
    "check_consent_event",
    "consents_of",
    "purpose_error",
    "read_expiry",
]

_PREFERENCES = "context.consent.categoryPreferences"


def _shown(value: object) -> str:
    """*value* as an error message shows it: strings quoted, other JSON types by kind."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)[:40]
    if isinstance(value, str):
        text = repr(value)
        return text if len(text) <= 40 else text[:37] + "..."
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def answer_error(value: object) -> str | None:
    """Why *value* is no consent answer, or `None` if `read_answer` reads it."""
    if read_answer(value) is not None:
        return None
    return f"expected true or false, got {_shown(value)}"


def purpose_error(name: object) -> str | None:
    """Why *name* names no consent purpose, even normalised, or `None` if it names one."""
    if not isinstance(name, str):
        return f"expected a consent purpose name, got {kind_of(name)}"
    if is_purpose(purpose_name(name)):
        return None
    return (
        f"{_shown(name)} is not a consent purpose (ASCII letters, digits and '_', starting "
        "with a letter, at most 40; case, surrounding spaces, inner spaces and '-' are ignored)"
    )


def check_consent_context(consent: object, errors: list[str]) -> None:
    """Append to *errors* what is wrong with a message's `context.consent`."""
    if consent is None:
        return
    if not isinstance(consent, Mapping):
        errors.append(f"context.consent: expected an object, got {kind_of(consent)}")
        return
    preferences = consent.get("categoryPreferences")
    if preferences is None:
        return
    if not isinstance(preferences, Mapping):
        errors.append(f"{_PREFERENCES}: expected an object, got {kind_of(preferences)}")
        return
    seen: dict[str, tuple[str, bool]] = {}  # purpose -> (the key that named it, its answer)
    for key, value in preferences.items():
        field = f"{_PREFERENCES}.{str(key)[:40]}"
        problem = purpose_error(key)
        if problem is not None:
            errors.append(f"{field}: {problem}")
            continue
        answer = read_answer(value)
        if answer is None:
            errors.append(f"{field}: {answer_error(value)}")
            continue
        purpose = purpose_name(key)
        other = seen.setdefault(purpose, (key, answer))
        if other[1] != answer:
            errors.append(
                f"{_PREFERENCES}: {_shown(other[0])} and {_shown(key)} name one purpose "
                f"({purpose!r}) with different answers"
            )


def check_consent_event(name: str, properties: Mapping[str, Any], errors: list[str]) -> None:
    """Append to *errors* what is wrong with a `Consent Updated` or `Unsubscribed` event."""
    purpose = properties.get("purpose")
    if name != "Consent Updated":
        purpose = purpose or None  # an unsubscribe is from marketing unless it says
    else:
        if not isinstance(purpose, str) or not purpose.strip():
            errors.append("properties.purpose: required, a consent purpose such as 'marketing'")
            purpose = None
        granted = properties.get("granted")
        if granted is None:
            errors.append("properties.granted: required, true or false")
        elif read_answer(granted) is None:
            errors.append(f"properties.granted: {answer_error(granted)}")
        expires = properties.get("expires_at")
        if expires is not None and read_expiry(expires) is None:
            errors.append(
                "properties.expires_at: expected an ISO-8601 time with a UTC offset "
                f"('2027-11-01T00:00:00Z'), got {_shown(expires)}"
            )
    if purpose is not None:
        problem = purpose_error(purpose)
        if problem is not None:
            errors.append(f"properties.purpose: {problem}")
    channel = properties.get("channel")
    if channel is not None and not isinstance(channel, str):
        errors.append(f"properties.channel: expected a channel name, got {kind_of(channel)}")


def answer_properties(
    *,
    purpose: object,
    granted: object,
    channel: str | None,
    source: str,
    expires_at: dt.datetime | str | None,
) -> dict[str, Any]:
    """
    The properties of the `Consent Updated` event that records an answer given in Python.

    Raises:
        ValidationError: If the purpose, the answer or the expiry cannot be read.
    """
    problem = (
        purpose_error(purpose) if purpose else "required, a consent purpose such as 'marketing'"
    )
    if problem is not None or not isinstance(purpose, str):
        raise ValidationError(f"purpose: {problem}")
    answer = read_answer(granted)
    if answer is None:
        raise ValidationError(f"granted: {answer_error(granted)}")
    properties: dict[str, Any] = {
        "purpose": purpose_name(purpose),
        "granted": answer,
        "channel": channel,
    }
    if source:
        properties["source"] = source
    if expires_at is not None:
        expiry = read_expiry(
            expires_at.isoformat() if isinstance(expires_at, dt.datetime) else expires_at
        )
        if expiry is None:
            raise ValidationError(
                "expires_at: expected a time with a UTC offset ('2027-11-01T00:00:00Z'), "
                f"got {expires_at!r:.40}"
            )
        properties["expires_at"] = expiry.isoformat()
    return properties


def consents_of(tp: Touchpoint) -> list[Consent]:
    """
    The consent answers a stored touchpoint carries.

    Checked messages hold only readable answers. One stored before the checks may not: an
    answer it holds that cannot be read is a refusal, and a name that is no purpose is
    skipped (it was never stored as one).
    """
    found: list[Consent] = []
    source = tp.context.source or tp.channel
    prefs = tp.context.extra.get("consent")
    if isinstance(prefs, dict):
        categories = prefs.get("categoryPreferences")
        if isinstance(categories, dict):
            answers: dict[str, bool] = {}
            for key, value in categories.items():
                if purpose_error(key) is None:
                    purpose = purpose_name(key)  # two spellings that disagree: a refusal
                    answers[purpose] = answers.get(purpose, True) and read_answer(value) is True
            found.extend(
                Consent(
                    channel=None,
                    purpose=purpose,
                    granted=granted,
                    at=tp.occurred_at,
                    source=source,
                    message_id=tp.message_id,
                )
                for purpose, granted in answers.items()
            )
    props = tp.properties
    named = props.get("purpose")
    if tp.name == "Consent Updated" and isinstance(named, str) and purpose_error(named) is None:
        expires = props.get("expires_at")
        found.append(
            Consent(
                channel=props.get("channel"),
                purpose=named,
                granted=read_answer(props.get("granted")) is True,
                at=tp.occurred_at,
                source=props.get("source") or source,
                message_id=tp.message_id,
                # Ingestion checks it; one it can't read (stored before it did) has lapsed.
                expires_at=None if expires is None else read_expiry(expires) or tp.occurred_at,
            )
        )
    elif tp.name == "Unsubscribed" and (not named or purpose_error(named) is None):
        found.append(
            Consent(
                channel=props.get("channel") or tp.channel,
                purpose=named or "marketing",
                granted=False,
                at=tp.occurred_at,
                source=source,
                message_id=tp.message_id,
            )
        )
    return found


def read_expiry(value: object) -> dt.datetime | None:
    """An ISO-8601 time with a UTC offset (a consent's `expires_at`), or `None` if it is not."""
    if isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value)
            if moment.utcoffset() is not None:
                return from_us(to_us(moment))  # in UTC, and within what a profile can keep
        except (ValueError, OverflowError):
            return None
    return None
