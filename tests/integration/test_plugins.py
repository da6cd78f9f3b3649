"""
Plugins found by name: registered in the process, built in, or declared by an installed package.

The packages here are real distributions: a module and its `.dist-info` folder (`METADATA`,
`entry_points.txt`), as installing a wheel leaves them, in a folder put on `sys.path`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

import omnikit
from omnikit import stores
from omnikit._plugins import ANALYTICS, AUTOLOAD_OFF, CONNECTORS, STORES, Builtin, PluginLoader
from omnikit.errors import (
    ConnectorNotFoundError,
    PluginError,
    PluginNotFoundError,
    StoreNotFoundError,
    StoreUnavailableError,
    ValidationError,
)
from omnikit.stores.memory import MemoryStore

ROOT = Path(__file__).resolve().parents[2]

ACME_STORE = """
from omnikit.stores.memory import MemoryStore


class AcmeStore(MemoryStore):
    opened = []

    @classmethod
    def from_url(cls, url):
        cls.opened.append(url)
        store = cls()
        store.url = url
        return store
"""


class HostStore(MemoryStore):
    """A host's own store: the memory store, opened from its own URLs."""

    @classmethod
    def from_url(cls, url: str) -> HostStore:
        store = cls()
        store.url = url
        return store


@pytest.fixture(autouse=True)
def _forget_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts with nothing registered, and leaves no module of its packages."""
    monkeypatch.delenv(AUTOLOAD_OFF, raising=False)
    before = set(sys.modules)
    yield
    for loader in (STORES, CONNECTORS, ANALYTICS):
        loader._registered.clear()
    for name in set(sys.modules) - before:
        if name.startswith("acme"):
            del sys.modules[name]


def _distribution(
    root: Path,
    name: str,
    entry_points: dict[str, dict[str, str]],
    modules: dict[str, str],
) -> Path:
    """Lay out an installed distribution *name* 1.0 in its own folder under *root*."""
    folder = root / name
    folder.mkdir()
    for module, source in modules.items():
        (folder / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    info = folder / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n", encoding="utf-8"
    )
    sections = [
        f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in entries.items())
        for group, entries in entry_points.items()
    ]
    (info / "entry_points.txt").write_text("\n".join(sections), encoding="utf-8")
    (info / "RECORD").write_text("", encoding="utf-8")
    return folder


@pytest.fixture(name="acme")
def _acme(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The package `acme-omnikit` installed: a store `acme`, a connector, an analytics backend."""
    folder = _distribution(
        tmp_path,
        "acme-omnikit",
        {
            "omnikit.stores": {"acme": "acme_store:AcmeStore"},
            "omnikit.connectors": {"acme-sms": "acme_store:AcmeStore"},
            "omnikit.analytics": {"acme-olap": "acme_store:AcmeStore"},
        },
        {"acme_store": ACME_STORE},
    )
    monkeypatch.syspath_prepend(str(folder))
    return folder


# -- registered in the process ---------------------------------------------------------------


def test_a_host_registers_its_own_store(tmp_path: Path) -> None:
    """`stores.register()` makes `Hub.open()` open the host's store for its scheme."""
    stores.register("mystore", HostStore)

    with omnikit.Hub.open("mystore://inventory/omnikit") as hub:
        hub.ingest({"type": "track", "event": "Viewed", "messageId": "m1", "anonymousId": "a1"})
        store = hub.store
        found = hub.customer(anonymous_id="a1")
    with omnikit.Hub("MyStore://other") as by_url:
        other = by_url.store

    assert isinstance(store, HostStore)
    assert "mystore://inventory/omnikit" == store.url
    assert found is not None
    assert isinstance(other, HostStore)


@pytest.mark.anyio
async def test_an_async_hub_opens_a_registered_store() -> None:
    """`AsyncHub.open()` finds registered stores too."""
    stores.register("mystore", HostStore)

    async with omnikit.AsyncHub.open("mystore://x") as hub:
        assert isinstance(hub.sync.store, HostStore)


def test_a_store_can_be_registered_as_a_function_or_a_path() -> None:
    """A callable taking the URL, or `"module:attribute"` imported when needed, is a store."""
    opened: list[str] = []

    def open_host_store(url: str) -> MemoryStore:
        opened.append(url)
        return MemoryStore()

    stores.register("fn", open_host_store)
    stores.register("path", "omnikit.stores.memory:MemoryStore")

    assert isinstance(stores.open_store("fn://a"), MemoryStore)
    assert ["fn://a"] == opened
    assert isinstance(stores.open_store("path://"), MemoryStore)


def test_a_registered_scheme_comes_before_a_built_in_one() -> None:
    """Registering `memory` replaces the built-in memory store until it is unregistered."""
    stores.register("memory", HostStore)
    replaced = stores.open_store("memory://")
    stores.unregister("memory")
    restored = stores.open_store("memory://")

    assert isinstance(replaced, HostStore)
    assert type(restored) is MemoryStore


@pytest.mark.parametrize(
    ("name", "target", "message"),
    [
        ("my store", HostStore, "name: 'my store' is not a plugin name"),
        ("", HostStore, "name: '' is not a plugin name"),
        ("1db", HostStore, "name: '1db' is not a plugin name"),
        ("mystore", "no_colon", "target: 'no_colon' is not 'module:attribute'"),
        ("mystore", 42, "target: a int is not a plugin"),
    ],
)
def test_registering_something_unusable_says_why(name: str, target: object, message: str) -> None:
    """A name that is no URL scheme, or a target that is no store, is refused by field."""
    with pytest.raises(ValidationError, match=message):
        stores.register(name, target)  # type: ignore[arg-type]


def test_a_store_that_opens_no_store_is_named() -> None:
    """A plugin whose opener returns something else raises `PluginError` saying what it lacks."""
    stores.register("broken", lambda _url: object())  # type: ignore[arg-type, return-value]

    with pytest.raises(PluginError) as info:
        stores.open_store("broken://x")

    assert "the store for scheme 'broken' opened a object" in str(info.value)
    assert "it lacks close, customer, find" in str(info.value)
    assert ("omnikit.stores", "broken") == (info.value.group, info.value.name)


# -- built in --------------------------------------------------------------------------------


def test_the_built_in_stores_are_declared_as_entry_points() -> None:
    """omnikit's own entry points name exactly its built-in stores (the loader's fallback)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    declared = project["project"]["entry-points"]["omnikit.stores"]

    assert {name: b.target for name, b in STORES._builtins.items()} == declared


def test_the_built_in_connectors_are_declared_as_entry_points() -> None:
    """omnikit's own entry points name exactly its built-in connectors."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    declared = project["project"]["entry-points"]["omnikit.connectors"]

    assert {name: b.target for name, b in CONNECTORS._builtins.items()} == declared


def test_an_unknown_scheme_lists_those_that_exist() -> None:
    """The error names the scheme, lists the known ones, and says how to add one."""
    with pytest.raises(StoreNotFoundError) as info:
        omnikit.Hub.open("mongodb://user:secret@db.example.com/shop")

    error = info.value
    assert "mongodb" == error.name
    assert {"memory", "postgres", "postgresql", "sqlite"} <= set(error.available)
    assert str(error).startswith(
        "no store for scheme 'mongodb' (available: memory, postgres, postgresql, "
    )
    assert "omnikit.stores.register()" in str(error)
    assert "secret" not in str(error)
    assert None is error.extra
    assert not isinstance(error, StoreUnavailableError)  # a mistake: retrying never helps
    assert isinstance(error, LookupError)


def test_a_built_in_store_without_its_extra_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without psycopg, `postgresql://` says to install `omnikit[postgres]`."""
    monkeypatch.setitem(sys.modules, "psycopg", None)  # what an import without it sees

    with pytest.raises(StoreNotFoundError) as info:
        stores.open_store("postgresql://omnikit@localhost/shop")

    assert "postgres" == info.value.extra
    assert "store 'postgresql' needs the 'postgres' extra: pip install 'omnikit[postgres]'" == str(
        info.value
    )


def test_a_loader_checks_what_a_built_in_needs() -> None:
    """A built-in whose module is missing names its extra; one without an extra is listed."""
    loader = PluginLoader(
        "omnikit.example",
        builtins={
            "fast": Builtin(
                "omnikit_missing.fast:Fast", extra="fast", requires=("omnikit_missing",)
            ),
            "plain": Builtin("omnikit.stores.memory:MemoryStore"),
        },
    )

    with pytest.raises(PluginNotFoundError, match=r"plugin 'fast' needs the 'fast' extra"):
        loader.load("fast")
    with pytest.raises(PluginNotFoundError, match=r"available: fast, plain\)"):
        loader.load("slow")
    assert MemoryStore is loader.load("PLAIN")


# -- declared by installed packages ----------------------------------------------------------


def test_an_installed_package_declares_a_store(acme: Path) -> None:
    """A store declared in the `omnikit.stores` entry points opens by its scheme."""
    with omnikit.Hub.open("acme://warehouse") as hub:
        store = hub.store

    assert "AcmeStore" == type(store).__name__
    assert ["acme://warehouse"] == type(store).opened  # type: ignore[attr-defined]
    assert "acme" in STORES.names()
    with pytest.raises(StoreNotFoundError, match=r"available: acme, memory, "):
        stores.open_store("nosuch://x")


def test_every_group_reads_its_own_entry_points(acme: Path) -> None:
    """Connectors and analytics backends are found the same way, each in its group."""
    assert "AcmeStore" == CONNECTORS.load("acme-sms").__name__
    assert "AcmeStore" == ANALYTICS.load("ACME-OLAP").__name__
    assert "acme-sms" not in STORES.names()
    with pytest.raises(
        ConnectorNotFoundError,
        match=r"no connector named 'acme' \(available: acme-sms, console, fcm, memory, sendgrid, slack, smtp, smtps, twilio, twilio\+whatsapp, webhook, whatsapp\)",
    ):
        CONNECTORS.load("acme")
    with pytest.raises(PluginNotFoundError) as info:
        ANALYTICS.load("spark")
    assert "omnikit.analytics" == info.value.group
    assert ("acme-olap",) == info.value.available


def test_a_fresh_process_finds_an_installed_store(acme: Path) -> None:
    """Installing the package is enough: a new interpreter opens its scheme, unless told not to."""
    code = (
        "import omnikit\n"
        "with omnikit.Hub.open('acme://x') as hub:\n"
        "    print(type(hub.store).__name__)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(acme)}
    env.pop(AUTOLOAD_OFF, None)

    found = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    off = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, AUTOLOAD_OFF: "1"},
        capture_output=True,
        text=True,
        check=False,
    )

    assert "AcmeStore\n" == found.stdout, found.stderr
    assert 0 != off.returncode
    assert "StoreNotFoundError: no store for scheme 'acme'" in off.stderr


def test_two_packages_declaring_one_scheme_are_both_named(
    acme: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two distributions claiming `acme` is an error naming both, until one is registered."""
    rival = _distribution(
        tmp_path,
        "rival-omnikit",
        {"omnikit.stores": {"acme": "acme_rival:RivalStore"}},
        {"acme_rival": "from omnikit.stores.memory import MemoryStore as RivalStore\n"},
    )
    monkeypatch.syspath_prepend(str(rival))

    with pytest.raises(PluginError) as info:
        stores.open_store("acme://x")
    stores.register("acme", "acme_rival:RivalStore")

    message = str(info.value)
    assert "'acme' is declared by more than one distribution" in message
    assert "acme-omnikit 1.0 (acme_store:AcmeStore)" in message
    assert "rival-omnikit 1.0 (acme_rival:RivalStore)" in message
    assert not isinstance(info.value, PluginNotFoundError)
    assert isinstance(stores.open_store("acme://x"), MemoryStore)


def test_a_package_that_fails_to_import_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A declared store whose module raises on import names its distribution, with the cause."""
    folder = _distribution(
        tmp_path,
        "acme-broken",
        {"omnikit.stores": {"broken": "acme_broken:Store"}},
        {"acme_broken": "import acme_not_installed\n"},
    )
    monkeypatch.syspath_prepend(str(folder))

    with pytest.raises(PluginError) as info:
        stores.open_store("broken://x")

    assert str(info.value).startswith(
        "omnikit.stores 'broken' from acme-broken 1.0 (acme_broken:Store) failed to load: "
        "ModuleNotFoundError: No module named 'acme_not_installed'"
    )
    assert isinstance(info.value.__cause__, ModuleNotFoundError)
