"""`Hub`: the hub's verbs over a synchronous store, each verb's flow driven by `drive`."""

from __future__ import annotations

import types
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Self, TypeVar, Unpack

from omnikit._hub._core import HubOptions
from omnikit._hub.flows import HubFlow, drive
from omnikit._hub.messaging import Messaging
from omnikit._hub.personalize import Personalization
from omnikit._hub.privacy import Privacy
from omnikit._load import LoadPath, load_files
from omnikit._models.customers import Customer
from omnikit._models.results import IngestResult, LoadReport
from omnikit.stores import Store, open_store

__all__ = ["Hub"]

_R = TypeVar("_R")

_MEMORY = "memory://"


class Hub(Messaging, Personalization, Privacy):
    """
    One customer, seen the same way on every channel.

    Ingest touchpoints, look customers up by any identifier, read their history, erase (and
    suppress) or export them.

    ```python
    with omnikit.Hub.open("sqlite:///shop.db") as hub:
        hub.ingest({"type": "track", "event": "Product Viewed", "anonymousId": "a1", ...})
        hub.customer(anonymous_id="a1")
    ```

    A hub holds no global state: two hubs in one process never see each other.

    Args:
        store: A `Store`, a store URL, or `None` for a fresh in-memory store.
        **options: The hub's options, each by keyword:

            - *identity_rules*: How identities are stitched (priority, limits, blocked values).
            - *channels*: Channels to add to the built-in ones.
            - *default_channel*: The channel of messages that name none.
            - *default_region*: Region for phone numbers without a country code (`"PT"`).
            - *default_timezone*: Zone for timestamps without a UTC offset; `None` rejects them.
            - *max_message_bytes*: The largest message accepted, as compact JSON (32 KB, as
              Segment's libraries).
            - *max_past*: How long before its receipt an event may have happened: 30 years by
              default, for order histories loaded from the start of online retail; older
              events are rejected (a date of 1970 or 0001 is a sender's placeholder). `None`
              accepts any date a datetime holds.
            - *max_future*: How far after its receipt an event may say it happened: a day by
              default (a device clock set to the wrong zone); later ones are rejected. `None`
              accepts any date a datetime holds.
            - *currency*: The currency of orders that don't name one.
            - *clock*: Returns the current time; tests pass a frozen one.
            - *batch_size*: Messages per store transaction when ingesting a batch.
            - *ruleset*: The personalization rules `Hub.decide()` runs by default.
            - *segments*: Dynamic segments kept current as events arrive (see `Segment`); a
              `SegmentSet` to give them their own operations or limits.
            - *places*: Stores and other places rules can measure distances to.
            - *suppression_key*: The secret that keys the hashes of suppressed identifiers (see
              `Hub.forget()`): at least 16 bytes, kept outside the store, the same for every
              hub on it. Without one, `forget(..., suppress=True)` is refused.

    Added in version 0.1.0.
    """

    def __init__(self, store: Store | str | None = None, **options: Unpack[HubOptions]) -> None:
        super().__init__(**options)
        self._owns_store = not isinstance(store, Store)
        opened = (
            store if isinstance(store, Store) else open_store(_MEMORY if store is None else store)
        )
        self._store: Store = opened
        self._use_secret(opened.secret())
        self._closed = False

    @classmethod
    def open(cls, url: str, **options: Unpack[HubOptions]) -> Self:
        """
        Open a hub on the store *url* names; the hub closes the store when it closes.

        URLs: `sqlite:///shop.db`, `postgresql://...`, `memory://`, and the schemes of stores
        registered with `omnikit.stores.register()` or installed in the `omnikit.stores`
        entry-point group (see "Write a store").

        Added in version 0.1.0.
        """
        hub = cls(open_store(url), **options)
        hub._owns_store = True
        return hub

    @property
    def store(self) -> Store:
        """
        The store this hub reads and writes.

        Added in version 0.1.0.
        """
        return self._store

    def __repr__(self) -> str:
        return f"<Hub store={self._store.url!r}>"

    def _run(self, flow: HubFlow[_R]) -> _R:
        """Drive a verb's *flow* over the store, in this thread."""
        return drive(flow, self._store)

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """
        Close the store if the hub opened it.

        Data written before is there when the same URL is opened again.

        Added in version 0.1.0.
        """
        if not self._closed:
            self._closed = True
            if self._owns_store:
                self._store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        self.close()

    # -- streams -----------------------------------------------------------------------------

    def customers(self) -> Iterator[Customer]:
        """
        Every customer, in id order, streamed from the store.

        Added in version 0.1.0.
        """
        for record in self._store.iter_customers():
            yield self._build_customer(record)

    # -- bulk loading --------------------------------------------------------------------------

    def load(
        self,
        path: LoadPath,
        /,
        *,
        source: str | None = None,
        batch_size: int = 5000,
        progress: Callable[[LoadReport], None] | None = None,
    ) -> LoadReport:
        """
        Load history from files: exactly what `Hub.ingest()` gives for the same messages.

        ```python
        report = hub.load("exports/2025-*.ndjson.gz", source="backend")
        report.raise_for_failures()
        ```

        Formats, by the file's name: NDJSON (`.ndjson`, `.jsonl`, or `.json` holding one
        message per line), a JSON array of messages (`.json`), each optionally gzipped
        (`.gz`); and Parquet (`.parquet`, one message per row, a null column being an
        absent field) with the `load` extra (`pip install 'omnikit[load]'`).

        The files are read in order (a folder's and a glob's by name) and their messages
        handed to `Hub.ingest()` *batch_size* at a time; each batch is committed in
        transactions of at most the hub's own *batch_size* lines. A line that is not JSON or not a valid
        message is reported with its file and line, and the others are kept. Loading the
        same files again changes nothing (message ids already stored are duplicates): after
        an interruption, run the same load again to finish it.

        Args:
            path: A file, a folder, a glob (`"exports/**/*.ndjson"`), or a list of these.
            source: Where the history comes from, as for `Hub.ingest()`.
            batch_size: How many messages to read before handing them to `Hub.ingest()`.
            progress: Called with the report so far after each batch.

        Raises:
            ValidationError: If *path* names no file load reads, or a Parquet file needs
                pyarrow and it is not installed, or *batch_size* is not positive.
            StoreError: If the store fails; `error.partial` holds the `LoadReport` of what
                was done before. Nothing committed is lost: load the same files again.

        Added in version 0.1.0.
        """

        # The messages as read, with their text: ingestion need not encode them again.
        def ingest(messages: Iterable[tuple[Any, str | None]]) -> IngestResult:
            return self._run(self._ingest(messages, is_batch=True, source=source))

        return load_files(
            ingest, path, batch_size=batch_size, chunk_size=self.batch_size, progress=progress
        )
