"""
The webhook connector in a shop's code: configured for its CRM, and hearing the CRM's callbacks.

The guide "Send through the built-in connectors" includes these parts; omnikit's tests run them.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from collections.abc import Mapping

from omnikit.connectors import Connector, InboundRequest, ProviderEvent, connect
from omnikit.connectors.webhook import WebhookConnector
from omnikit.errors import SignatureError, ValidationError


# --8<-- [start:configure]
def crm_connector(secret: str) -> WebhookConnector:
    """Every message goes to the CRM's endpoint; a rendition's `to` names the CRM's contact."""
    return WebhookConnector(secret=secret, endpoint="https://crm.shop.example/omnikit")


def crm_connector_from_url(secret: str) -> Connector:
    """The same from a URL, as configuration files hold it: percent-encode the secret."""
    quoted = urllib.parse.quote(secret, safe="")
    return connect(f"webhook://crm.shop.example/omnikit?secret={quoted}")


# --8<-- [end:configure]


# --8<-- [start:receive]
def receive(
    hooks: WebhookConnector, method: str, url: str, headers: Mapping[str, str], body: bytes
) -> tuple[int, list[ProviderEvent]]:
    """Whatever the web framework: the raw request in; the status to answer and the events out."""
    request = InboundRequest(method=method, url=url, headers=headers, body=body)
    try:
        hooks.verify(request, now=dt.datetime.now(dt.UTC))
    except SignatureError:
        return 401, []  # forged, tampered, stale or replayed: nothing of it is recorded
    try:
        events = hooks.parse(request)
    except ValidationError:
        return 400, []  # signed, but not the documented shape
    return 204, events  # hand the events to the hub; the sender retries anything but 2xx


# --8<-- [end:receive]
