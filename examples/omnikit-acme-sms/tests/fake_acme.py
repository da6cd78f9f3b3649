"""
A fake Acme on loopback: a real HTTP server that holds the connector to Acme's documented API.

It checks each request as Acme would (method, path, token, content type, fields) and answers
with Acme's documented bodies, so the connector is tested against the API, not against itself.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

KEY_ID = "AK-test"
KEY_SECRET = "acme-key-secret-1"  # noqa: S105 - a test credential


class FakeAcme:
    """Acme's API on 127.0.0.1: tokens, messages, and a few scripted failures."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.token_requests = 0
        self.tokens: set[str] = set()
        self.script: list[tuple[int, dict[str, Any], dict[str, str]]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def expire_tokens(self) -> None:
        with self._lock:
            self.tokens.clear()

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _serve(self) -> None:
        self._server.serve_forever(poll_interval=0.02)

    def answer(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        if headers.get("content-type") != "application/json":
            return _error(415, "unsupported_media_type", "send JSON")
        try:
            fields = json.loads(body)
        except ValueError:
            return _error(400, "invalid_json", "the body is not JSON")
        if path == "/v1/token":
            return self._token(fields)
        if path == "/v1/messages":
            return self._message(headers, fields)
        return _error(404, "not_found", path)

    def _token(self, fields: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        if (fields.get("key_id"), fields.get("key_secret")) != (KEY_ID, KEY_SECRET):
            return _error(401, "bad_credentials", "unknown API key")
        with self._lock:
            self.token_requests += 1
            token = f"tok-{self.token_requests}"
            self.tokens.add(token)
        return 200, {"access_token": token, "expires_in": 3600}, {}

    def _message(
        self, headers: dict[str, str], fields: dict[str, Any]
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        token = headers.get("authorization", "").removeprefix("Bearer ")
        with self._lock:
            if token not in self.tokens:
                return _error(401, "token_expired", "fetch a new token")
            if self.script:
                return self.script.pop(0)
        missing = [name for name in ("from", "to", "text", "client_ref") if not fields.get(name)]
        if missing:
            return _error(400, "missing_field", ", ".join(missing))
        if not str(fields["to"]).startswith("+"):
            return _error(400, "invalid_number", "'to' is not an E.164 number")
        with self._lock:
            self.messages.append(fields)
            sid = f"AM{len(self.messages):04d}"
        return 201, {"id": sid, "status": "queued"}, {}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        acme = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, payload, extra = acme.answer(self.path, headers, body)
                content = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

        return Handler


def _error(status: int, code: str, message: str) -> tuple[int, dict[str, Any], dict[str, str]]:
    return status, {"error": {"code": code, "message": message}}, {}
