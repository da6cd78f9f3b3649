"""A provider's retry of a webhook whose recording failed is taken; any other repeat is refused."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import omnikit
from _faults import write_locked
from omnikit.connectors.http import HttpCall
from omnikit.connectors.memory import MemoryConnector
from omnikit.errors import ReplayError, StoreUnavailableError
from omnikit.stores.sqlite import SQLiteStore
from omnikit.testing import FrozenClock

NOON = dt.datetime(2026, 12, 5, 12, tzinfo=dt.UTC)


def test_a_retry_after_a_failed_recording_is_taken_and_a_replay_is_not(tmp_path: Path) -> None:
    path = tmp_path / "shop.db"
    email = MemoryConnector("email")
    store = SQLiteStore(path, timeout=0.05)
    with omnikit.Hub(store, connectors=[email], clock=FrozenClock(NOON)) as hub:
        hub.identify(user_id="ana", traits={"email": "ana@example.com"})
        reply = email.reply("ana@example.com", "Is the red coat in stock?", event_id="r1")
        with write_locked(path), pytest.raises(StoreUnavailableError):
            hub.receive(email, url=reply.url, headers=reply.headers, body=reply.body)
        # The provider retries: the same request, verified before, now recorded.
        report = hub.receive(email, url=reply.url, headers=reply.headers, body=reply.body)
        assert len(report.ingested) == 1
        # Anyone repeating it now is refused.
        with pytest.raises(ReplayError):
            hub.receive(email, url=reply.url, headers=reply.headers, body=reply.body)
    store.close()


def test_a_replay_never_recorded_before_is_refused() -> None:
    email = MemoryConnector("email")
    hub = omnikit.Hub(connectors=[email], clock=FrozenClock(NOON))
    hub.identify(user_id="ana", traits={"email": "ana@example.com"})
    reply = email.reply("ana@example.com", "hello")
    hub.receive(email, url=reply.url, headers=reply.headers, body=reply.body)
    with pytest.raises(ReplayError):
        hub.receive(email, url=reply.url, headers=reply.headers, body=reply.body)


def test_a_calls_repr_hides_its_headers_and_body() -> None:
    call = HttpCall.json(
        "POST", "/send", {"to": "+1555"}, headers={"Authorization": "Bearer s3cr3t"}
    )
    assert "s3cr3t" not in repr(call)
    assert "+1555" not in repr(call)


def test_a_reply_on_chat_lands_on_the_chat_users_profile_and_they_can_be_answered() -> None:
    chat = MemoryConnector("chat")
    hub = omnikit.Hub(connectors=[chat], clock=FrozenClock(NOON))
    reply = chat.reply("U024BE7LH", "Do you have it in blue?")
    report = hub.receive(chat, url=reply.url, headers=reply.headers, body=reply.body)
    assert report.rejected == ()
    assert len(report.ingested) == 1
    person = hub.customer(chat_id="U024BE7LH")
    assert person is not None
    answer = hub.send(person, "Yes: size M is in stock.", channel="chat", purpose="service")
    assert answer.status == omnikit.DeliveryStatus.SENT
    assert chat.sent[0].rendition.to == "U024BE7LH"


def test_a_reply_whose_address_no_identity_takes_is_reported_not_lost() -> None:
    sms = MemoryConnector("sms")
    hub = omnikit.Hub(connectors=[sms], clock=FrozenClock(NOON))
    reply = sms.reply("x" * 300, "hi")  # longer than any identifier may be
    report = hub.receive(sms, url=reply.url, headers=reply.headers, body=reply.body)
    assert report.ingested == ()
    assert len(report.rejected) == 1
