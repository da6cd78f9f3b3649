"""`Hub`: the hub's verbs over a synchronous store, each verb's flow driven by `drive`."""

from __future__ import annotations

import types
from collections.abc import Iterator
from typing import Any, Self, TypeVar, Unpack

from omnikit._hub._core import HubOptions
from omnikit._hub.flows import HubFlow, drive, drive_pages
from omnikit._hub.messaging import Messaging
from omnikit._hub.personalize import Personalization
from omnikit._hub.privacy import Privacy
from omnikit.errors import ValidationError
from omnikit.stores import OutboxStore, Store, open_store

__all__ = ["Hub"]

_R = TypeVar("_R")

_MEMORY = "memory://"


class Hub(Messaging, Personalization, Privacy):
    """
    One customer, seen the same way on every channel.

    Ingest touchpoints, look customers up by any identifier, read their history, erase (and
    suppress) or export them, decide for them, and send them messages under one contact
    policy.

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
            - *connectors*: The channel connectors `Hub.send()` uses (see
              `omnikit.connectors`); the first of a channel is tried first, the others are
              its failover order. Each needs its own `name`.
            - *contact_policy*: The `ContactPolicy` every send obeys (consent, caps, quiet
              hours, fallback chain); by default quiet hours 21:00-08:00 and no caps.
            - *retry*: The `Backoff` of retried sends (six attempts by default).
            - *brand*: The `omnikit.Brand` messages are rendered with (snippets, senders).
            - *send_rates*: The most sends a second per connector, by connector name.
            - *send_lease*: How long a dispatch holds the deliveries it claimed (5 minutes by
              default). Past it, another dispatch takes them back as unknown outcomes: keep
              `dispatch(limit=...)` small enough for its sends to finish well within it.

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

    def _require_outbox(self) -> None:
        if not isinstance(self._store, OutboxStore):
            raise ValidationError(
                f"store: a {type(self._store).__name__} keeps no outbox, so this hub cannot send "
                "(see omnikit.stores.OutboxStore; the memory, SQLite and PostgreSQL stores keep one)"
            )

    def __repr__(self) -> str:
        return f"<Hub store={self._store.url!r}>"

    def _run(self, flow: HubFlow[_R]) -> _R:
        """Drive a verb's *flow* over the store, in this thread."""
        return drive(flow, self._store)

    def _stream(self, flow: HubFlow[None]) -> Iterator[Any]:
        """Drive a streaming verb's *flow* over the store, a page at a time, as it is read."""
        for page in drive_pages(flow, self._store):
            yield from page

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
