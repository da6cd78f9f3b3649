"""
A fake provider on loopback: a real HTTP server that a connector's tests point it at.

Each provider's tests give it a handler that enforces the provider's documented request shape
(method, path, auth, content type, required fields) and answers as the provider documents.
Faults are queued per request: a delay past the client's timeout, a reset connection, a 5xx
after the message was stored (the message exists, the client hears a failure).

```python
def twilio(request: Seen) -> Answer:
    ...
with FakeProvider(twilio) as fake:
    connector = Twilio(base_url=fake.url, ...)
    fake.fault(Fault.reset())
```
"""

from __future__ import annotations

import collections
import json
import socket
import struct
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

import attrs


@attrs.frozen
class Seen:
    """A request as the fake provider received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: Mapping[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, list[str]]:
        return urllib.parse.parse_qs(self.body.decode(), keep_blank_values=True)


@attrs.frozen
class Answer:
    """What the fake provider answers."""

    status: int = 200
    body: bytes | str | dict[str, Any] | list[Any] = b""
    headers: Mapping[str, str] = attrs.field(factory=dict)

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        if isinstance(self.body, dict | list):
            headers.setdefault("Content-Type", "application/json")
            return json.dumps(self.body).encode(), headers
        if isinstance(self.body, str):
            headers.setdefault("Content-Type", "text/plain; charset=utf-8")
            return self.body.encode(), headers
        return self.body, headers


@attrs.frozen
class Fault:
    """A fault for the next request: `delay` then answer, `reset` the connection, or `fail_after_store`."""

    kind: str
    seconds: float = 0.0
    status: int = 500

    @classmethod
    def delay(cls, seconds: float) -> Fault:
        return cls("delay", seconds=seconds)

    @classmethod
    def reset(cls) -> Fault:
        return cls("reset")

    @classmethod
    def fail_after_store(cls, status: int = 500) -> Fault:
        return cls("fail_after_store", status=status)


Handler = Callable[[Seen], Answer]


class FakeProvider:
    """A threaded HTTP server on 127.0.0.1 answering with *handler*; records every request."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[Seen] = []
        self.stored: list[Seen] = []  # requests whose message the "provider" kept
        self._faults: collections.deque[Fault] = collections.deque()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def _serve(self) -> None:
        self._server.serve_forever(poll_interval=0.02)  # shutdown() waits for one poll

    def fault(self, *faults: Fault) -> None:
        with self._lock:
            self._faults.extend(faults)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next_fault(self) -> Fault | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urllib.parse.urlsplit(self.path)
                seen = Seen(
                    method=self.command,
                    path=parts.path,
                    query=urllib.parse.parse_qs(parts.query, keep_blank_values=True),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                with provider._lock:
                    provider.requests.append(seen)
                fault = provider._next_fault()
                if fault is not None and fault.kind == "reset":
                    self._reset()
                    return
                if fault is not None and fault.kind == "delay":
                    time.sleep(fault.seconds)
                answer = provider.handler(seen)
                if 200 <= answer.status < 300:
                    with provider._lock:
                        provider.stored.append(seen)
                if fault is not None and fault.kind == "fail_after_store":
                    answer = Answer(status=fault.status, body={"error": "internal"})
                content, headers = answer.encoded()
                try:
                    self.send_response(answer.status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(content)))
                    self.end_headers()
                    self.wfile.write(content)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout)
                    pass

            def _reset(self) -> None:
                linger = struct.pack("ii", 1, 0)  # close with RST, not FIN
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                self.close_connection = True
                self.connection.close()

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve  # noqa: N815

        return _Handler
