"""
Async dispatch through the outbox, against raw httpx posts to the same loopback server.

    python benchmarks/dispatch.py [--quick] [--messages N] [--store sqlite|memory]

Records N sends (held by quiet hours, so that nothing goes out yet), then times one
`await AsyncHub.dispatch(limit=N)`: claiming them in the outbox, rendering nothing more,
posting each through the webhook connector (Standard Webhooks signatures) many at once, and
settling each in the outbox with its touchpoint. The baseline, measured in the same run
against the same server, posts the same bodies with a bare `httpx.AsyncClient` at the same
concurrency. Prints one JSON line:

    {"case": "async-dispatch", "per_s": ..., "baseline_per_s": ..., "ratio": ...}

The server is a minimal asyncio HTTP/1.1 server in its own process, answering 200 with an id.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import multiprocessing
import socket
import tempfile
import time
from pathlib import Path

import httpx

import omnikit
from omnikit.connectors.webhook import WebhookConnector, generate_secret
from omnikit.testing import FrozenClock

CONCURRENCY = 32
NIGHT = dt.datetime(2026, 12, 5, 23, tzinfo=dt.UTC)  # inside the default quiet hours (UTC)


async def _serve(sock: socket.socket) -> None:
    count = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal count
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if length:
                    await reader.readexactly(length)
                count += 1
                body = b'{"id":"r%d"}' % count
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(handle, sock=sock)
    async with server:
        await server.serve_forever()


def _server_process(sock: socket.socket) -> None:
    asyncio.run(_serve(sock))


async def _baseline(url: str, bodies: list[bytes]) -> float:
    gate = asyncio.Semaphore(CONCURRENCY)
    async with httpx.AsyncClient(timeout=30) as client:

        async def post(body: bytes) -> None:
            async with gate:
                response = await client.post(
                    url, content=body, headers={"Content-Type": "application/json"}
                )
                response.raise_for_status()

        start = time.perf_counter()
        await asyncio.gather(*(post(body) for body in bodies))
        return time.perf_counter() - start


def _hub(store: str, url: str, clock: FrozenClock, folder: Path) -> omnikit.AsyncHub:
    connector = WebhookConnector(secret=generate_secret(), endpoint=url)
    target = "memory://" if store == "memory" else f"sqlite:///{folder / 'outbox.db'}"
    return omnikit.AsyncHub(
        target,
        connectors=[connector],
        contact_policy=omnikit.ContactPolicy(transactional_in_quiet_hours=False),
        clock=clock,
    )


async def _dispatch(store: str, url: str, messages: int, folder: Path) -> tuple[float, int]:
    clock = FrozenClock(NIGHT)
    async with _hub(store, url, clock, folder) as hub:
        await hub.identify(user_id="crm", traits={"email": "crm@example.com"})
        crm = await hub.customer(email="crm@example.com")
        for n in range(messages):
            await hub.send(
                crm,
                f"order {n} is ready",
                channel="webhook",
                purpose="transactional",
                to=url,
                name="bench",
            )
        clock.advance(hours=10)  # morning: every one is due
        start = time.perf_counter()
        report = await hub.dispatch(limit=messages)
        elapsed = time.perf_counter() - start
        return elapsed, report.counts.get("sent", 0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="2,000 messages")
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--store", choices=["sqlite", "memory"], default="sqlite")
    args = parser.parse_args()
    messages = 2_000 if args.quick else args.messages
    sock = socket.create_server(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/hooks"
    server = multiprocessing.get_context("spawn").Process(
        target=_server_process, args=(sock,), daemon=True
    )
    server.start()
    try:
        bodies = [json.dumps({"text": f"order {n} is ready"}).encode() for n in range(messages)]
        asyncio.run(_baseline(url, bodies[:200]))  # warm up
        baseline = asyncio.run(_baseline(url, bodies))
        with tempfile.TemporaryDirectory() as folder:
            elapsed, sent = asyncio.run(_dispatch(args.store, url, messages, Path(folder)))
    finally:
        server.terminate()
        server.join()
    if sent != messages:
        raise SystemExit(f"only {sent} of {messages} were sent")
    per_s, baseline_per_s = messages / elapsed, messages / baseline
    print(
        json.dumps(
            {
                "case": "async-dispatch",
                "store": args.store,
                "messages": messages,
                "per_s": round(per_s),
                "baseline_per_s": round(baseline_per_s),
                "ratio": round(per_s / baseline_per_s, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
