"""
A load on SQLite, in many transactions of its own, gives exactly what ingesting gives.

Load and ingest are compared on SQLite over random streams with merges, late events,
retries and verified sources, and on the simulated retailer in many small transactions; a
write to the database between two of the load's transactions, from another connection or
from the hub itself, is never lost; the load's SQLite settings end with it.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

import omnikit
from omnikit.testing import FrozenClock, Retailer
from strategies import streams

T0 = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
RETAILER_NOW = dt.datetime(2026, 11, 15, tzinfo=dt.UTC)


def state(hub: omnikit.Hub) -> dict[str, Any]:
    """Every customer whole, with their touchpoints, merges and links, by customer id."""
    return {
        customer.id: (
            customer,
            hub.touchpoints(customer),
            hub.merges(customer),
            hub.links(customer),
        )
        for customer in hub.customers()
    }


def write_lines(path: Path, messages: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(m) + "\n" for m in messages), encoding="utf-8")
    return path


def at(minute: int) -> dt.datetime:
    return T0 - dt.timedelta(hours=1) + dt.timedelta(minutes=minute)


def track(message_id: str, minute: int, **fields: Any) -> dict[str, Any]:
    return {
        "type": "track",
        "event": "Product Viewed",
        "messageId": message_id,
        "timestamp": at(minute).isoformat(),
        **fields,
    }


@given(
    stream=streams(max_size=40),
    data=st.data(),
)
def test_load_into_sqlite_of_random_streams_is_ingest(
    stream: list[dict[str, Any]], data: st.DataObject
) -> None:
    """
    A random stream (merges, late events, retries), from a verified source or not, loaded
    into SQLite in transactions of a few messages gives what ingesting it into SQLite gives.
    """
    retried = data.draw(st.lists(st.sampled_from(stream), max_size=5))
    messages = stream + retried
    source = data.draw(st.sampled_from((None, "pos")))
    options: dict[str, Any] = {
        "clock": FrozenClock(T0),
        "batch_size": data.draw(st.integers(1, 8)),
        "identity_rules": omnikit.IdentityRules(verified_sources=["pos"]),
    }
    with tempfile.TemporaryDirectory() as folder:
        path = write_lines(Path(folder) / "history.ndjson", messages)
        with omnikit.Hub(f"sqlite:///{Path(folder) / 'ingested.db'}", **options) as reference:
            result = reference.ingest(messages, source=source)
            expected = state(reference)
        with omnikit.Hub(f"sqlite:///{Path(folder) / 'loaded.db'}", **options) as hub:
            report = hub.load(path, source=source, batch_size=data.draw(st.integers(1, 50)))
            loaded = state(hub)

    assert expected == loaded
    assert (len(result.accepted), len(result.duplicates)) == (report.accepted, report.duplicates)


def test_load_in_small_transactions_gives_what_ingest_gives_on_the_retailer(
    tmp_path: Path,
) -> None:
    """
    The simulated retailer (impostors, late app events, retries) loaded from a verified
    source in transactions of 25 messages is the retailer ingested in one call.
    """
    messages = list(Retailer(40, seed=11, impostors=2).messages())
    history = write_lines(tmp_path / "history.ndjson", messages)
    options: dict[str, Any] = {
        "clock": FrozenClock(RETAILER_NOW),
        "default_region": "PT",
        "identity_rules": omnikit.IdentityRules(verified_sources=["backend"]),
    }
    with omnikit.Hub(f"sqlite:///{tmp_path / 'ingested.db'}", **options) as ingested:
        ingested.ingest(messages, source="backend")
        expected = state(ingested)
    with omnikit.Hub(f"sqlite:///{tmp_path / 'loaded.db'}", batch_size=25, **options) as loaded:
        report = loaded.load(history, source="backend", batch_size=100)

        assert expected == state(loaded)
    assert report.ok


def test_a_write_by_another_connection_between_transactions_is_kept(tmp_path: Path) -> None:
    """
    Another hub on the same database adds a trait to a customer between two of the load's
    transactions (an event between the load's two); the load's next event of that customer
    keeps it.
    """
    first = track("m1", 1, userId="u1", context={"traits": {"tier": "gold"}})
    later = track("m2", 3, userId="u1")
    history = write_lines(tmp_path / "history.ndjson", [first, later])
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    other = omnikit.Hub(url, clock=FrozenClock(T0))

    def between(report: omnikit.LoadReport) -> None:
        if report.accepted == 1:
            other.identify(
                user_id="u1", traits={"city": "Porto"}, message_id="m-other", timestamp=at(2)
            )

    with omnikit.Hub(url, clock=FrozenClock(T0), batch_size=1) as hub:
        hub.load(history, batch_size=1, progress=between)
        customer = hub.customer(user_id="u1")
    other.close()

    assert customer is not None
    assert {"tier": "gold", "city": "Porto"}.items() <= customer.traits.items()
    assert 3 == customer.stats.touchpoints


def test_a_write_by_the_hub_itself_between_transactions_is_kept(tmp_path: Path) -> None:
    """
    The hub records a consent (on its own connection) between two of the load's
    transactions (given before the load's second event); the load's next event of that
    customer keeps it.
    """
    first = track("m1", 1, userId="u1")
    later = track("m2", 3, userId="u1")
    history = write_lines(tmp_path / "history.ndjson", [first, later])

    with omnikit.Hub(f"sqlite:///{tmp_path / 'shop.db'}", clock=FrozenClock(T0)) as hub:

        def between(report: omnikit.LoadReport) -> None:
            if report.accepted == 1:
                known = hub.customer(user_id="u1")
                assert known is not None
                hub.set_consent(
                    known, purpose="marketing", granted=True, channel="email", timestamp=at(2)
                )

        hub.load(history, batch_size=1, progress=between)
        customer = hub.customer(user_id="u1")

    assert customer is not None
    assert customer.has_consent("email", "marketing", now=T0)
    assert 2 == customer.stats.touchpoints  # the consent is the hub's record, not activity
