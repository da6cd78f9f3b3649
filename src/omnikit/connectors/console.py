"""
The console connector: prints each message instead of sending it, for demos and development.

```python
omnikit.connectors.connect("console://sms")
```
"""

from __future__ import annotations

import sys
import threading
from typing import Any, TextIO

from omnikit._models.outbound import Accepted, Capabilities, Envelope, SendResult
from omnikit.connectors import ConnectorURL, check_rendition
from omnikit.errors import ConnectorError, ValidationError

__all__ = ["ConsoleConnector"]


class ConsoleConnector:
    """
    A connector that writes each envelope to *stream* (standard output by default).

    Args:
        channel: The channel it serves.
        stream: Where to write.
        name: The name deliveries show (`console-<channel>` by default).

    Added in version 0.1.0.
    """

    capabilities = Capabilities(rich_content=True, attachments=True)

    def __init__(
        self, channel: str = "email", *, stream: TextIO | None = None, name: str | None = None
    ) -> None:
        self.channel = channel
        self.name = name or f"console-{channel}"
        self._stream = stream
        self._count = 0
        self._closed = False
        self._lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, **options: Any) -> ConsoleConnector:
        """`console://sms`: the host names the channel."""
        return cls(ConnectorURL(url).host or "email", **options)

    def send(self, envelope: Envelope) -> SendResult:
        """Write *envelope* and accept it."""
        if self._closed:
            raise ConnectorError(f"connector {self.name!r} is closed")
        rendition = envelope.rendition
        if rendition.channel != self.channel:
            raise ValidationError(
                f"channel: connector {self.name!r} serves {self.channel!r}, not {rendition.channel!r}"
            )
        check_rendition(rendition, self.capabilities)
        lines = [f"--- {rendition.channel} to {rendition.to} ({envelope.id})"]
        if rendition.subject:
            lines.append(f"Subject: {rendition.subject}")
        if rendition.template is not None:
            lines.append(
                f"Template: {rendition.template.name} {list(rendition.template.parameters)}"
            )
        if rendition.text:
            lines.append(rendition.text)
        with self._lock:
            self._count += 1
            print("\n".join(lines), file=self._stream or sys.stdout, flush=True)
            return Accepted(provider_message_id=f"console-{self._count}", status="printed")

    async def asend(self, envelope: Envelope) -> SendResult:
        """As `send()`."""
        return self.send(envelope)

    def close(self) -> None:
        """Stop writing."""
        self._closed = True

    async def aclose(self) -> None:
        """As `close()`."""
        self.close()

    def __repr__(self) -> str:
        return f"<ConsoleConnector {self.name} channel={self.channel}>"
