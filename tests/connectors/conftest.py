"""What every connector's tests share: each send made once by the sync driver, once by the async one."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from omnikit.connectors import Envelope, SendResult


@pytest.fixture(name="send", params=["sync", "async"])
def _send(request: pytest.FixtureRequest) -> Callable[[Any, Envelope], SendResult]:
    """Send an envelope through a connector with `send`, or with `asend`; then close it."""

    def sync(connector: Any, envelope: Envelope) -> SendResult:
        try:
            result: SendResult = connector.send(envelope)
            return result
        finally:
            connector.close()

    def async_(connector: Any, envelope: Envelope) -> SendResult:
        async def run() -> SendResult:
            try:
                result: SendResult = await connector.asend(envelope)
                return result
            finally:
                await connector.aclose()

        return asyncio.run(run())

    return sync if request.param == "sync" else async_
