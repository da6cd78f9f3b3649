"""One flow per verb, two drivers: awaited, it stores exactly what the hub stores."""

from __future__ import annotations

from typing import Any, TypeVar

import anyio
from hypothesis import given, settings
from hypothesis import strategies as st

import omnikit
from _async_memory import AsyncMemoryStore
from omnikit._hub.flows import HubFlow, adrive
from omnikit.stores.memory import MemoryStore
from omnikit.testing import FrozenClock
from strategies import T0, chunked, streams

_R = TypeVar("_R")

KEY = b"a suppression key of the host"


class AsyncDrivenHub(omnikit.Hub):
    """
    A hub whose every verb's flow is awaited over its store's async twin, in an event loop of
    its own: ingestion, reads, the erasure, the segments, all through `adrive`.
    """

    def _run(self, flow: HubFlow[_R]) -> _R:
        assert isinstance(self.store, MemoryStore)
        return anyio.run(adrive, flow, AsyncMemoryStore(self.store))


def state(hub: omnikit.Hub) -> dict[str, Any]:
    """Every customer, with their identities, touchpoints, merges and links."""
    return {
        customer.id: {
            "customer": hub.converter.unstructure(customer),
            "touchpoints": hub.converter.unstructure(hub.touchpoints(customer)),
            "merges": hub.converter.unstructure(hub.merges(customer)),
            "links": hub.converter.unstructure(hub.links(customer)),
        }
        for customer in hub.customers()
    }


@settings(max_examples=30)
@given(data=st.data(), stream=streams(min_size=2))
def test_the_async_driver_stores_what_the_hub_stores(
    data: st.DataObject, stream: list[dict[str, Any]]
) -> None:
    """
    The same batches, in any order, give the same results and customers whether each chunk's
    flow is driven by `Hub` or awaited, and so do late events, duplicates, an erasure with
    suppression, and the replay of everything after it.
    """
    batches = data.draw(chunked(data.draw(st.permutations(stream))))
    options: dict[str, Any] = {"suppression_key": KEY, "clock": FrozenClock(T0)}
    hubs = (omnikit.Hub(**options), AsyncDrivenHub(**options))

    def run(hub: omnikit.Hub) -> list[Any]:
        results: list[Any] = [hub.ingest({"batch": batch}) for batch in batches]
        first = next(iter(hub.customers()))
        results.append(hub.forget(first, suppress=True, scrub=False).identities)
        results.append(hub.ingest({"batch": stream}))
        return [results, state(hub)]

    assert run(hubs[0]) == run(hubs[1])
