"""
The example connector package, `examples/omnikit-acme-sms`, works as a user would meet it.

It is built and installed from its own `pyproject.toml` (offline: no dependency is fetched),
`connect("acme-sms://...")` finds it through its `omnikit.connectors` entry point, and its
own test suite (the connector contract against its fake Acme) passes against the installed copy.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_provider import Answer, FakeProvider, Seen

from omnikit._plugins import AUTOLOAD_OFF
from omnikit.connectors import Accepted, Envelope, Rendition, connect, names

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "omnikit-acme-sms"


@pytest.fixture(scope="module", name="site")
def _site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder the example package is installed into, as pip installs a wheel of it."""
    target = tmp_path_factory.mktemp("site")
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps"]
    command += ["--no-build-isolation", "--no-index", "--target", str(target), str(EXAMPLE)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert 0 == done.returncode, done.stderr
    return target


@pytest.fixture(name="installed")
def _installed(site: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The installed example on `sys.path` for one test, and forgotten after it."""
    monkeypatch.delenv(AUTOLOAD_OFF, raising=False)
    monkeypatch.syspath_prepend(str(site))
    yield site
    for name in [name for name in sys.modules if name.startswith("omnikit_acme_sms")]:
        del sys.modules[name]


def acme(seen: Seen) -> Answer:
    """Just enough of Acme: a token for the example's key, a message for that token."""
    if seen.path == "/v1/token" and seen.json() == {"key_id": "AK1", "key_secret": "s3cret"}:
        return Answer(200, {"access_token": "tok", "expires_in": 3600})
    if seen.path == "/v1/messages" and seen.headers.get("authorization") == "Bearer tok":
        return Answer(201, {"id": f"AM-{seen.json()['client_ref']}", "status": "queued"})
    return Answer(401, {"error": {"code": "bad_credentials", "message": "no"}})


def test_connect_finds_the_installed_example_through_its_entry_point(installed: Path) -> None:
    assert [installed / "omnikit_acme_sms-1.0.0.dist-info"] == list(installed.glob("*.dist-info"))
    assert "acme-sms" in names()
    envelope = Envelope(id="dlv_7", rendition=Rendition(channel="sms", to="+15550123", text="Hi"))

    with FakeProvider(acme) as fake:
        sms = connect("acme-sms://AK1:s3cret@/+15550100", base_url=fake.url)
        try:
            result = sms.send(envelope)
        finally:
            sms.close()

    assert "omnikit_acme_sms.sms" == type(sms).__module__
    assert str(installed) in sys.modules["omnikit_acme_sms"].__file__  # type: ignore[operator]
    assert Accepted(provider_message_id="AM-dlv_7", status="queued") == result
    assert "s3cret" not in repr(sms)


def test_the_examples_own_tests_pass_against_the_installed_copy(site: Path) -> None:
    environment = {**os.environ, "PYTHONPATH": str(site)}
    environment.pop("PYTEST_ADDOPTS", None)
    environment.pop(AUTOLOAD_OFF, None)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=EXAMPLE,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert 0 == done.returncode, done.stdout[-3000:] + done.stderr[-3000:]
    assert " passed" in done.stdout
    assert "skipped" not in done.stdout  # the contract's webhook checks all ran


def test_the_example_uses_only_omnikits_public_names() -> None:
    """A plugin needs no `omnikit._...` module or name: what the guide shows is the public API."""
    private = []
    for path in sorted(EXAMPLE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("omnikit."):
                modules = [node.module or ""]
                imported = [alias.name for alias in node.names]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names if alias.name.startswith("omnikit.")]
                imported = []
            else:
                continue
            hidden = [m for m in modules if any(p.startswith("_") for p in m.split("."))]
            hidden += [name for name in imported if name.startswith("_")]
            private += [f"{path.relative_to(EXAMPLE)}: {name}" for name in hidden]
    assert [] == private
