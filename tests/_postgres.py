"""A throwaway PostgreSQL server for the test session, started from the installed binaries."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _bindir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), reverse=True)
    return Path(candidates[0]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_postgres() -> Iterator[str]:
    """
    Start a PostgreSQL server on a free loopback port and yield its URL; stop it afterwards.

    As root, the server runs as the `postgres` user (PostgreSQL refuses to run as root).
    """
    bindir = _bindir()
    if bindir is None:
        msg = (
            "PostgreSQL binaries not found: install PostgreSQL (apt-get install postgresql) or "
            "point OMNIKIT_TEST_POSTGRES_URL at a server"
        )
        raise RuntimeError(msg)
    base = Path(tempfile.mkdtemp(prefix="omnikit-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(base, user="postgres", group="postgres")
        base.chmod(0o755)
        prefix = ["runuser", "-u", "postgres", "--"]
    data, sock, log = base / "data", base / "sock", base / "log"
    port = _free_port()

    def run(*args: str) -> None:
        subprocess.run([*prefix, *args], check=True, capture_output=True, timeout=120)

    run("mkdir", "-p", str(sock))
    run(
        str(bindir / "initdb"),
        "-D",
        str(data),
        "-A",
        "trust",
        "-U",
        "omnikit",
        "-E",
        "UTF8",
        "--no-sync",
    )
    options = f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    run(
        str(bindir / "pg_ctl"),
        "-D",
        str(data),
        "-o",
        options,
        "-l",
        str(log),
        "-w",
        "-t",
        "60",
        "start",
    )
    try:
        yield f"postgresql://omnikit@127.0.0.1:{port}/postgres"
    finally:
        with contextlib.suppress(Exception):
            run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)
