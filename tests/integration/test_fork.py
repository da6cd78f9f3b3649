"""A hub used in a parent and in a forked child at once: each process has its own connections."""

from __future__ import annotations

import multiprocessing
import signal

import pytest

import omnikit


def _view(mid: str, user: str) -> dict[str, str]:
    return {
        "type": "track",
        "event": "Product Viewed",
        "messageId": mid,
        "userId": user,
        "timestamp": "2026-11-01T10:00:00Z",
    }


def _use(hub: omnikit.Hub, who: str, count: int) -> None:
    for i in range(count):
        hub.ingest(_view(f"{who}-{i}", who))
        found = hub.customer(user_id=who)
        assert found is not None
        assert i + 1 == found.stats.touchpoints


def _child(hub: omnikit.Hub) -> None:
    signal.alarm(45)  # a hung child ends rather than outliving the test
    _use(hub, "child", 20)


def _parent(url: str) -> None:
    """Use a hub, fork a child that uses it too, and use it meanwhile; fail if the child does."""
    signal.alarm(45)
    with omnikit.Hub.open(url) as hub:
        _use(hub, "parent-before", 1)  # the parent's connection is open when it forks
        child = multiprocessing.get_context("fork").Process(target=_child, args=(hub,))
        child.start()
        _use(hub, "parent", 20)
        child.join()
        assert 0 == child.exitcode
        assert 20 == hub.customer(user_id="child").stats.touchpoints  # type: ignore[union-attr]


@pytest.mark.stores("postgres")
def test_a_forked_child_opens_its_own_connections(store_url: str) -> None:
    """
    A child forked while the parent's hub has open connections works on its own ones, and the
    parent, using the hub at the same time, is not disturbed (sharing a socket would hang).
    """
    omnikit.Hub.open(store_url).close()  # create the schema once, up front
    parent = multiprocessing.get_context("spawn").Process(target=_parent, args=(store_url,))
    parent.start()
    parent.join(timeout=60)
    if parent.is_alive():  # pragma: no cover - its alarm ends it first
        parent.kill()
        parent.join()

    assert 0 == parent.exitcode
    with omnikit.Hub.open(store_url) as hub:
        assert 20 == hub.customer(user_id="child").stats.touchpoints  # type: ignore[union-attr]
        assert 20 == hub.customer(user_id="parent").stats.touchpoints  # type: ignore[union-attr]
