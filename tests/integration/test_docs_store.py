"""
The stores the guide "Write a store on your own database" builds pass the store contracts.

They are imported from the very files the guide includes, so the guide's examples cannot rot:
the JSON-file store passes `StoreContract`, its async twin `AsyncStoreContract`.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import omnikit
from omnikit.connectors.memory import MemoryConnector
from omnikit.stores import AsyncStore, Store
from omnikit.testing import AsyncStoreContract, StoreContract

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # attrs, the converter and the twin look it up by name
    spec.loader.exec_module(module)
    return module


jsonfile_store = _load("jsonfile_store")
JSONFileStore: Any = jsonfile_store.JSONFileStore
AsyncJSONFileStore: Any = _load("async_jsonfile_store").AsyncJSONFileStore


class TestJSONFileStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[Store]:
        store = JSONFileStore(tmp_path / "omnikit.json")
        yield store
        store.close()


class TestAsyncJSONFileStore(AsyncStoreContract):
    @pytest.fixture
    def open_async_store(self, tmp_path: Path) -> Callable[[], Awaitable[AsyncStore]]:
        async def open_store() -> AsyncStore:
            store: AsyncStore = await AsyncJSONFileStore.aopen(
                f"jsonfile:///{tmp_path / 'omnikit.json'}"
            )
            return store

        return open_store


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_async_twin_shares_the_guide_store_s_file(tmp_path: Path) -> None:
    """What `AsyncHub` writes through the twin, the sync store reads back from the file."""
    url = f"jsonfile:///{tmp_path / 'shop.json'}"
    store = await AsyncJSONFileStore.aopen(url)
    async with omnikit.AsyncHub(store) as hub:
        await hub.identify(user_id="u1", traits={"email": "ana@example.com"}, message_id="m1")
        before = await hub.customer(user_id="u1")
    await store.aclose()

    with omnikit.Hub(JSONFileStore.from_url(url)) as hub:
        after = hub.customer(email="ana@example.com")

    assert before is not None
    assert before == after


@pytest.fixture(name="registered")
def _registered() -> Iterator[None]:
    omnikit.stores.register("jsonfile", JSONFileStore)
    yield
    omnikit.stores.unregister("jsonfile")


def test_the_guide_store_opens_by_its_url_and_keeps_its_data(
    registered: None, tmp_path: Path
) -> None:
    """Registered as the guide says, it opens from a URL, and what it held is there on reopening."""
    url = f"jsonfile:///{tmp_path / 'shop.json'}"
    with omnikit.Hub.open(url) as hub:
        hub.identify(user_id="u1", traits={"email": "ana@example.com"}, message_id="m1")
        hub.track("Order Completed", user_id="u1", properties={"order_id": "o1"}, message_id="m2")
        before = hub.customer(user_id="u1")

    with omnikit.Hub.open(url) as hub:
        after = hub.customer(email="ana@example.com")
        history = [tp.message_id for tp in hub.touchpoints(after)] if after else []

    assert isinstance(hub.store, JSONFileStore)
    assert before is not None
    assert before == after
    assert ["m1", "m2"] == history


def test_the_guide_store_refuses_a_folder_that_is_not_there(
    registered: None, tmp_path: Path
) -> None:
    """A path whose folder is missing is refused when the store opens, naming the folder."""
    with pytest.raises(omnikit.StoreUnavailableError, match="jsonfile: no directory"):
        omnikit.stores.open_store(f"jsonfile:///{tmp_path / 'no' / 'x.json'}")


def test_a_store_without_an_outbox_cannot_send_and_says_so(tmp_path: Path) -> None:
    with omnikit.Hub(
        JSONFileStore(tmp_path / "shop.json"), connectors=[MemoryConnector("email")]
    ) as hub:
        hub.identify(user_id="ana", traits={"email": "ana@example.com"})
        with pytest.raises(omnikit.ValidationError, match="keeps no outbox"):
            hub.send(hub.customer(email="ana@example.com"), "Hello", channel="email")
