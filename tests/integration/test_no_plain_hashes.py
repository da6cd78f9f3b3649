"""
Ids omnikit derives from personal data are keyed with the store's own key: none is a plain
hash that would confirm a guess of the data it came from, and each stays stable per store.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

import omnikit
from omnikit.rules import Segment, customer
from omnikit.stores import Store
from omnikit.testing import FrozenClock

T0 = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
EMAIL = "ana.keyed@example.org"


def without_id() -> dict[str, Any]:
    return {
        "type": "identify",
        "anonymousId": "a-keyed",
        "timestamp": T0.isoformat(),
        "traits": {"email": EMAIL, "name": "Ana Keyed"},
    }


def test_a_derived_message_id_is_keyed_and_stable_per_store(tmp_path: Path) -> None:
    """
    A message without an id gets one that no plain hash of its content gives, differs from
    store to store, and is the same when the store is opened again (a retry is a duplicate).
    """
    content = json.dumps(without_id(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    plain = "omk-" + hashlib.sha256(content.encode()).hexdigest()[:32]
    url = f"sqlite:///{tmp_path / 'one.db'}"
    with omnikit.Hub.open(url) as hub:
        [derived] = hub.ingest(without_id()).accepted
    with omnikit.Hub.open(url) as hub:
        again = hub.ingest(without_id())
    with omnikit.Hub.open(f"sqlite:///{tmp_path / 'two.db'}") as hub:
        [elsewhere] = hub.ingest(without_id()).accepted

    assert derived.startswith("omk-")
    assert plain != derived
    assert (derived,) == again.duplicates
    assert derived != elsewhere


def test_an_email_alone_makes_no_anonymous_id(tmp_path: Path) -> None:
    """
    `track(email=...)` carries the email and nothing derived from it: no id that a hash of
    the email would give, and no pile of identities over calls.
    """
    with omnikit.Hub.open(f"sqlite:///{tmp_path / 'one.db'}") as hub:
        hub.track("Product Viewed", email=EMAIL)
        hub.track("Product Added", email=EMAIL)
        found = hub.customer(email=EMAIL)

    assert found is not None
    assert [omnikit.Identity(kind="email", value=EMAIL)] == list(found.identities)


@pytest.mark.stores("memory", "sqlite")
def test_a_segment_change_id_is_keyed(store: Store) -> None:
    """The id of a `Segment Entered` touchpoint is no plain hash of the customer's identity."""
    everyone = Segment(id="everyone", condition=customer.stats.touchpoints >= 1)
    hub = omnikit.Hub(store, clock=FrozenClock(T0), segments=[everyone])
    hub.ingest({**without_id(), "messageId": "m1"})
    found = hub.customer(email=EMAIL)
    assert found is not None
    [entered] = [tp for tp in hub.touchpoints(found) if tp.name == "Segment Entered"]
    anchor = ("email", EMAIL)
    plain = (
        "omk-seg-" + hashlib.blake2b(f"{anchor}|everyone|in|".encode(), digest_size=16).hexdigest()
    )

    assert entered.message_id.startswith("omk-seg-")
    assert plain != entered.message_id


def test_hubs_on_one_store_derive_the_same_ids() -> None:
    """Two hubs on one store derive the same ids: the key is the store's, not the hub's."""
    store = omnikit.Hub().store
    first = omnikit.Hub(store, clock=FrozenClock(T0)).ingest(without_id())
    second = omnikit.Hub(store, clock=FrozenClock(T0)).ingest(without_id())

    assert first.accepted == second.duplicates
