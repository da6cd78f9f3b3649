"""`AsyncHub`: the hub's verbs, awaited, for asyncio services."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import itertools
import types
from collections.abc import AsyncIterator, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, Self, TypeVar

from omnikit._hub.sync import Hub
from omnikit.errors import StoreUnavailableError, ValidationError

if TYPE_CHECKING:
    from omnikit._models.customers import Customer
    from omnikit.stores import Store

__all__ = ["AsyncHub"]

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _awaited(
    method: Callable[Concatenate[Hub, _P], _R],
) -> Callable[Concatenate[AsyncHub, _P], Coroutine[Any, Any, _R]]:
    """`Hub.<method>` of the async hub's `Hub` (a subclass's, if it is one), awaited."""
    name = method.__name__

    @functools.wraps(method)
    async def call(self: AsyncHub, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        verb: Callable[_P, _R] = getattr(self._hub, name)
        return await self._run(functools.partial(verb, *args, **kwargs))

    call.__qualname__ = f"AsyncHub.{name}"
    call.__doc__ = f"Await `Hub.{name}()`: same arguments, result and errors."
    return call


def _require_positive(field: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(f"{field}: expected a positive integer, got {value!r}")


class AsyncHub:
    """
    `Hub` for asyncio services: the same verbs, awaited.

    ```python
    async with omnikit.AsyncHub.open("postgresql://shop@db/omnikit", ruleset=rules) as hub:
        await hub.ingest(message)
        customer = await hub.customer(email="ana@example.com")
        decision = await hub.decide(customer, "Product Viewed")
    ```

    Every call runs the `Hub` verb of the same name (same arguments, same result, same
    errors; see `Hub` for each) in one of the hub's own threads, so the event loop never
    waits on the store. The verbs: `ingest`, `track`, `identify`, `set_consent`, `customer`,
    `touchpoints`, `orders`, `merges`, `links`, `unmerge`, `forget`, `unsuppress`, `export`,
    `decide`, `recommend`, `bought_together`, `rfm`, `lead_scores`, `lead_score`,
    `refresh_segments`; and `customers`, an async iterator.

    The threads live as long as the hub, each with its own store connection (plus the one
    opening made: *max_threads* + 1 in all). Opening connects and migrates the schema in the
    calling thread: open the hub at start-up, not per request.

    Cancelling a call that has not started yet means it never runs. A call already under way
    completes in its thread, whole or not at all (a batch commits chunk by chunk, as
    `Hub.ingest()` does); its result, or its error, is dropped.
    `AsyncHub.sync` is the `Hub` underneath, for what is not a verb (its rule set, segments
    and places) and for synchronous code sharing the same store.

    Args:
        store: A `Store`, a store URL, or `None` for a fresh in-memory store, as for `Hub`;
            or a `Hub` to serve (then it stays open when the async hub closes).
        max_threads: The most calls running at once; others wait their turn.
        **options: `Hub`'s options (*identity_rules*, *default_region*, *ruleset*, ...).

    Added in version 0.1.0.
    """

    def __init__(
        self, store: Hub | Store | str | None = None, *, max_threads: int = 4, **options: Any
    ) -> None:
        _require_positive("max_threads", max_threads)
        if isinstance(store, Hub):
            if options:
                raise ValidationError(f"{min(options)}: the Hub given has its options already")
            self._hub, self._owns_hub = store, False
        else:
            self._hub, self._owns_hub = Hub(store, **options), True
        self._executor = ThreadPoolExecutor(max_workers=max_threads, thread_name_prefix="omnikit")
        self._closed = False
        self._closing: asyncio.Future[None] | None = None

    @classmethod
    def open(cls, url: str, *, max_threads: int = 4, **options: Any) -> Self:
        """
        Open an async hub on the store *url* names; it closes the store when it closes.

        Opening connects and migrates the schema once, before the hub serves; do it at start-up.

        Added in version 0.1.0.
        """
        _require_positive("max_threads", max_threads)
        hub = cls(Hub.open(url, **options), max_threads=max_threads)
        hub._owns_hub = True
        return hub

    @property
    def sync(self) -> Hub:
        """
        The `Hub` underneath (its rule set, segments, places, store and options).

        Added in version 0.1.0.
        """
        return self._hub

    async def _run(self, call: Callable[[], _R]) -> _R:
        if self._closed:
            raise StoreUnavailableError(f"{self!r} is closed")
        # The caller's context variables (a request id, a tracing span) hold in the thread.
        context = contextvars.copy_context()
        return await asyncio.wrap_future(self._executor.submit(context.run, call))

    # -- lifecycle ---------------------------------------------------------------------------

    async def aclose(self) -> None:
        """
        Wait for the calls under way, then close the hub (and the store it opened).

        A `Hub` the async hub was given stays open. Cancelling `aclose()` does not stop the
        closing; calling it again waits for the same one.

        Added in version 0.1.0.
        """
        if self._closing is None:
            self._closed = True
            self._closing = asyncio.ensure_future(asyncio.to_thread(self._close))
        await asyncio.shield(self._closing)

    def _close(self) -> None:
        # The calls under way finish first; then the store closes.
        self._executor.shutdown(wait=True)
        if self._owns_hub:
            self._hub.close()

    async def __aenter__(self) -> Self:
        if self._closed:
            raise StoreUnavailableError(f"{self!r} is closed")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"<AsyncHub store={self._hub.store.url!r}>"

    # -- the verbs ---------------------------------------------------------------------------

    ingest = _awaited(Hub.ingest)
    track = _awaited(Hub.track)
    identify = _awaited(Hub.identify)
    set_consent = _awaited(Hub.set_consent)
    refresh_segments = _awaited(Hub.refresh_segments)
    customer = _awaited(Hub.customer)
    touchpoints = _awaited(Hub.touchpoints)
    orders = _awaited(Hub.orders)
    merges = _awaited(Hub.merges)
    links = _awaited(Hub.links)
    unmerge = _awaited(Hub.unmerge)
    forget = _awaited(Hub.forget)
    unsuppress = _awaited(Hub.unsuppress)
    export = _awaited(Hub.export)
    decide = _awaited(Hub.decide)
    recommend = _awaited(Hub.recommend)
    bought_together = _awaited(Hub.bought_together)
    rfm = _awaited(Hub.rfm)
    lead_scores = _awaited(Hub.lead_scores)
    lead_score = _awaited(Hub.lead_score)

    def customers(self, *, batch_size: int = 500) -> AsyncIterator[Customer]:
        """
        Every customer, in id order, streamed from the store *batch_size* at a time.

        ```python
        async for customer in hub.customers():
            ...
        ```

        Args:
            batch_size: Customers read per trip to the hub's threads.

        Raises:
            ValidationError: If *batch_size* is not a positive integer.

        Added in version 0.1.0.
        """
        _require_positive("batch_size", batch_size)
        return self._customers(batch_size)

    async def _customers(self, batch_size: int) -> AsyncIterator[Customer]:
        stream = iter(self._hub.customers())
        while True:
            page = await self._run(lambda: list(itertools.islice(stream, batch_size)))
            for customer in page:
                yield customer
            if len(page) < batch_size:
                return

    load = _awaited(Hub.load)
