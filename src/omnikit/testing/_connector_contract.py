"""
The connector contract: what every channel connector must do, as a pytest suite.

```python
import pytest
from omnikit.connectors import Rendition
from omnikit.testing import ConnectorContract


class TestAcmeSMS(ConnectorContract):
    @pytest.fixture
    def connector(self, fake_acme):  # pointed at a fake provider on loopback
        connector = AcmeSMS(base_url=fake_acme.url, token="t0ken")
        yield connector
        connector.close()

    @pytest.fixture
    def rendition(self):
        return Rendition(channel="sms", to="+15550100", text="Your order is ready")

    @pytest.fixture
    def secrets(self):
        return ["t0ken"]
```

A connector that also hears webhooks (an `InboundConnector`) adds a `webhook` fixture: a
request signed as its provider signs, which `verify()` accepts at the time `webhook_now`
gives. The suite then tampers with it every way it can and checks each is refused.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import attrs
import pytest

from omnikit._models.outbound import (
    Accepted,
    Capabilities,
    Envelope,
    InboundRequest,
    ProviderEvent,
    Refused,
    Rendition,
    Transient,
    Unknown,
)
from omnikit.connectors import AsyncConnector, Connector, InboundConnector
from omnikit.errors import ConnectorError, SignatureError, ValidationError

__all__ = ["ConnectorContract"]

_RESULTS = (Accepted, Refused, Transient, Unknown)


def _signature_headers(request: InboundRequest) -> list[str]:
    return [name for name in request.headers if "signature" in name.lower()]


class ConnectorContract:
    """
    The contract every connector passes; subclass it with `connector` and `rendition` fixtures.

    Optional fixtures: `secrets` (credentials that must never show), `webhook` and
    `webhook_now` (for connectors that verify and parse webhooks). Set `timestamped = True`
    on the subclass when the provider's signature covers a timestamp, so that a stale request
    must be refused too.

    Added in version 0.1.0.
    """

    timestamped: bool = False

    @pytest.fixture
    def secrets(self) -> list[str]:
        return []

    @pytest.fixture
    def envelope(self, rendition: Rendition) -> Envelope:
        return Envelope(id="dlv_contract_1", rendition=rendition)

    @pytest.fixture
    def webhook(self) -> InboundRequest | None:
        return None

    @pytest.fixture
    def webhook_now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    # -- who it is -------------------------------------------------------------------------------

    def test_it_names_its_channel_and_capabilities(self, connector: Any) -> None:
        assert isinstance(connector, Connector | AsyncConnector)
        assert isinstance(connector.name, str)
        assert connector.name
        assert isinstance(connector.channel, str)
        assert connector.channel
        assert isinstance(connector.capabilities, Capabilities)
        assert connector.capabilities.max_batch >= 1

    def test_no_secret_shows_in_its_repr(self, connector: Any, secrets: list[str]) -> None:
        shown = [repr(connector), str(connector), str(getattr(connector, "url", ""))]
        for secret in secrets:
            for text in shown:
                assert secret not in text, f"a secret shows in {text!r:.80}"

    # -- sending ---------------------------------------------------------------------------------

    def test_a_valid_envelope_is_accepted_with_the_providers_id(
        self, connector: Any, envelope: Envelope
    ) -> None:
        if not isinstance(connector, Connector):
            pytest.skip("an async-only connector: checked by the async test")
        result = connector.send(envelope)
        assert isinstance(result, _RESULTS), f"send() returned {result!r}, not a send result"
        assert isinstance(result, Accepted), f"the provider did not accept it: {result!r}"
        assert isinstance(result.provider_message_id, str)
        assert result.provider_message_id

    def test_asend_accepts_the_same(self, connector: Any, envelope: Envelope) -> None:
        if not isinstance(connector, AsyncConnector):
            pytest.skip("a sync-only connector")

        async def run() -> Any:
            try:
                return await connector.asend(envelope)
            finally:
                await connector.aclose()

        result = asyncio.run(run())
        assert isinstance(result, Accepted), f"the provider did not accept it: {result!r}"
        assert result.provider_message_id

    def test_another_channels_rendition_is_refused_before_sending(
        self, connector: Any, envelope: Envelope
    ) -> None:
        other = "webhook" if connector.channel != "webhook" else "email"
        wrong = attrs.evolve(envelope, rendition=attrs.evolve(envelope.rendition, channel=other))
        with pytest.raises(ValidationError, match="channel"):
            self._send(connector, wrong)

    def test_text_past_the_channels_limit_is_an_error_not_a_truncation(
        self, connector: Any, envelope: Envelope
    ) -> None:
        limit = connector.capabilities.max_length
        if limit is None:
            pytest.skip("the channel has no length limit")
        long = attrs.evolve(envelope.rendition, text="x" * (limit + 1), template=None)
        with pytest.raises(ValidationError, match="text"):
            self._send(connector, attrs.evolve(envelope, rendition=long))

    def test_an_empty_address_is_an_error(self, connector: Any, envelope: Envelope) -> None:
        nobody = attrs.evolve(envelope.rendition, to="")
        with pytest.raises(ValidationError, match="to"):
            self._send(connector, attrs.evolve(envelope, rendition=nobody))

    def test_closing_twice_is_harmless_and_sending_after_raises(
        self, connector: Any, envelope: Envelope
    ) -> None:
        self._close(connector)
        self._close(connector)
        with pytest.raises(ConnectorError):
            self._send(connector, envelope)

    # -- webhooks --------------------------------------------------------------------------------

    def _inbound(self, connector: Any, webhook: InboundRequest | None) -> InboundRequest:
        if not isinstance(connector, InboundConnector):
            pytest.skip("the connector hears no webhooks")
        if webhook is None:
            pytest.fail(
                "the connector verifies webhooks (it has verify and parse), but the suite has "
                "no `webhook` fixture: give it a request signed as the provider signs"
            )
        return webhook

    def test_a_signed_webhook_verifies_and_parses(
        self, connector: Any, webhook: InboundRequest | None, webhook_now: dt.datetime
    ) -> None:
        request = self._inbound(connector, webhook)
        connector.verify(request, now=webhook_now)
        events = connector.parse(request)
        assert events, "a verified webhook gave no events"
        assert all(isinstance(event, ProviderEvent) for event in events)
        assert all(event.event_id for event in events), "an event has no id to deduplicate by"
        assert len({event.event_id for event in events}) == len(events)

    def test_a_tampered_body_is_refused(
        self, connector: Any, webhook: InboundRequest | None, webhook_now: dt.datetime
    ) -> None:
        request = self._inbound(connector, webhook)
        body = bytearray(request.body or b" ")
        body[len(body) // 2] ^= 0x01
        with pytest.raises(SignatureError):
            connector.verify(attrs.evolve(request, body=bytes(body)), now=webhook_now)

    def test_a_request_without_its_signature_is_refused(
        self, connector: Any, webhook: InboundRequest | None, webhook_now: dt.datetime
    ) -> None:
        request = self._inbound(connector, webhook)
        names = _signature_headers(request)
        assert names, "the webhook fixture carries no signature header"
        kept = {k: v for k, v in request.headers.items() if k not in names}
        with pytest.raises(SignatureError):
            connector.verify(attrs.evolve(request, headers=kept), now=webhook_now)

    def test_a_forged_signature_is_refused(
        self, connector: Any, webhook: InboundRequest | None, webhook_now: dt.datetime
    ) -> None:
        request = self._inbound(connector, webhook)
        forged = dict(request.headers)
        for name in _signature_headers(request):
            value = forged[name]
            forged[name] = value[:-2] + ("AA" if not value.endswith("AA") else "BB")
        with pytest.raises(SignatureError):
            connector.verify(attrs.evolve(request, headers=forged), now=webhook_now)

    def test_a_replayed_request_is_refused(
        self, connector: Any, webhook: InboundRequest | None, webhook_now: dt.datetime
    ) -> None:
        request = self._inbound(connector, webhook)
        connector.verify(request, now=webhook_now)
        with pytest.raises(SignatureError):
            connector.verify(request, now=webhook_now + dt.timedelta(seconds=1))

    def test_a_stale_request_is_refused(
        self, connector: Any, webhook: InboundRequest | None, webhook_now: dt.datetime
    ) -> None:
        request = self._inbound(connector, webhook)
        if not self.timestamped:
            pytest.skip("the provider's signature covers no timestamp")
        with pytest.raises(SignatureError):
            connector.verify(request, now=webhook_now + dt.timedelta(days=1))

    # -- plumbing --------------------------------------------------------------------------------

    @staticmethod
    def _send(connector: Any, envelope: Envelope) -> Any:
        if isinstance(connector, Connector):
            return connector.send(envelope)
        return asyncio.run(connector.asend(envelope))

    @staticmethod
    def _close(connector: Any) -> None:
        if isinstance(connector, Connector):
            connector.close()
        else:
            asyncio.run(connector.aclose())
