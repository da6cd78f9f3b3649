"""`omnikit demo`, the simulated retailer, and the notebook view."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

import omnikit
from omnikit._cli import demo, main
from omnikit.errors import ValidationError
from omnikit.testing import Retailer


def test_the_simulation_is_deterministic_and_omnichannel() -> None:
    """The same seed gives the same messages; people use at least eight channels."""
    first = list(Retailer(60, seed=3).messages())
    again = list(Retailer(60, seed=3).messages())
    other = list(Retailer(60, seed=4).messages())

    channels = Counter(m["context"].get("channel") for m in first)

    assert first == again
    assert first != other
    with pytest.raises(ValidationError, match="customers: must be at least 1, got 0"):
        Retailer(0)
    assert len(channels) >= 8
    assert {"web", "app", "store", "phone", "email", "sms", "social"} <= set(channels)


def test_the_simulated_stream_is_valid_and_unifies(tmp_path: Path) -> None:
    """Every simulated message is accepted (or a deliberate duplicate), and people unify."""
    shop = Retailer(80, seed=11)
    messages = list(shop.messages())
    hub = omnikit.Hub(default_region="PT")

    result = hub.ingest({"batch": messages})
    customers = list(hub.customers())
    multichannel = [c for c in customers if len(c.stats.channels) >= 3]

    assert () == result.rejected
    assert len(messages) == len(result.accepted) + len(result.duplicates)
    assert len(result.duplicates) > 0
    assert len(multichannel) > 20
    for person in shop.people:
        customer = hub.customer(user_id=person.user_id)
        assert customer is not None
        assert person.phone.replace(" ", "") in customer.identifiers("phone")


def test_demo_prints_what_was_unified(tmp_path: Path) -> None:
    """The demo ingests into SQLite and reports identities, channels and one customer."""
    out = io.StringIO()
    db = tmp_path / "demo.db"

    status = demo(customers=40, seed=7, db=db, fresh=False, quiet=True, out=out)
    text = out.getvalue()

    assert 0 == status
    assert db.exists()
    for heading in (
        "Identities stitched",
        "Customers by number of channels used",
        "Touchpoints per channel",
        "Trust",
        "One customer, 360 degrees",
    ):
        assert heading in text
    assert "0 rejected" in text
    sending = text[text.index("Sending: the winter sale") : text.index("One customer, 360 degrees")]
    sent = int(sending.split("  sent")[1].split()[0])
    refused = int(sending.split("  refused")[1].split()[0])
    assert sent > 0
    assert refused > 0  # no consent, no address: the wall holds in the demo too
    assert "no marketing consent in force" in sending
    assert "1 strangers claimed a customer's email or loyalty card" in text
    assert ": 0 reached that customer's profile" in text


def test_simulated_impostors_never_reach_the_customers_they_claim(tmp_path: Path) -> None:
    """
    Strangers claiming customers' emails and loyalty cards from their own browsers stay
    apart from those customers, when the shop's sources are handed over as such; naming
    no source, every message is a claim and the same impostors do reach their victims.
    """
    shop = Retailer(60, seed=5, impostors=12)
    messages = list(shop.sourced_messages())
    rules = omnikit.IdentityRules(verified_sources=Retailer.VERIFIED_SOURCES)
    trusted = omnikit.Hub(identity_rules=rules)
    naive = omnikit.Hub()  # trusts every source: what a hub without verified sources does
    for source, message in messages:
        trusted.ingest(message, source=source)
    naive.ingest({"batch": [m for _, m in messages]})

    def reached(hub: omnikit.Hub) -> int:
        count = 0
        for anonymous_id, _, _, user_id in shop.claims:
            stranger = hub.customer(anonymous_id=anonymous_id)
            owner = hub.customer(user_id=user_id)
            assert stranger is not None
            count += owner is not None and stranger.id == owner.id
        return count

    assert 12 == len(shop.claims)
    assert {"backend", "pos", "call-centre", "web", "app", "impostor"} <= {s for s, _ in messages}
    assert 0 == reached(trusted)
    assert reached(naive) > 6


def test_running_the_demo_again_is_idempotent(tmp_path: Path) -> None:
    """A second run on the same database stores nothing new."""
    db = tmp_path / "demo.db"
    demo(customers=20, seed=1, db=db, fresh=False, quiet=True, out=io.StringIO())
    out = io.StringIO()

    demo(customers=20, seed=1, db=db, fresh=False, quiet=True, out=out)

    assert " 0 new, " in out.getvalue()
    assert "ingestion is idempotent" in out.getvalue()
    with omnikit.Hub.open(f"sqlite:///{db}") as hub:  # the campaign's keys: sent once
        keys = [d.key for d in hub.deliveries(limit=10_000)]
    assert len(keys) == len(set(keys))


def _demo(db: Path, *options: str) -> list[str]:
    """The command line of a quiet 15-customer demo into *db*."""
    return [
        sys.executable,
        "-m",
        "omnikit",
        "demo",
        "--customers",
        "15",
        "--db",
        str(db),
        "--quiet",
        *options,
    ]


def test_the_command_line_runs(tmp_path: Path) -> None:
    """`python -m omnikit demo` works as a command, with its options."""
    db = tmp_path / "cli.db"

    done = subprocess.run(
        _demo(db, "--seed", "2"),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )

    assert 0 == done.returncode, done.stderr
    assert "15 simulated customers (seed 2)" in done.stdout
    assert 2 == main(["demo", "--customers", "0"])


def test_a_reader_that_stops_early_gets_no_traceback(tmp_path: Path) -> None:
    """`omnikit demo | head -1`: the demo stops quietly when its reader goes away."""
    command = _demo(tmp_path / "pipe.db")
    # Buffered output, as in a shell; and a reader that has already gone.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run(
            command, stdout=write, stderr=subprocess.PIPE, env=env, check=False, timeout=120
        )
    finally:
        os.close(write)

    assert "Traceback" not in done.stderr.decode()
    assert "BrokenPipeError" not in done.stderr.decode()
    assert 141 == done.returncode


def test_a_customer_renders_in_a_notebook() -> None:
    """`Customer._repr_html_` shows identities, traits, consents and a channel timeline."""
    hub = omnikit.Hub()
    hub.identify(user_id="u1", traits={"email": "ana@example.com", "name": "Ana <3"}, channel="web")
    hub.track(
        "Order Completed", user_id="u1", channel="store", properties={"order_id": "o1", "total": 10}
    )
    hub.set_consent(hub.customer(user_id="u1"), purpose="marketing", granted=True, channel="sms")  # type: ignore[arg-type]

    html = hub.customer(user_id="u1")._repr_html_()  # type: ignore[union-attr]

    assert "ana@example.com" in html
    assert "Ana &lt;3" in html
    assert "marketing" in html
    assert "<svg" in html
    assert "Order Completed" in html


def test_a_lapsed_consent_does_not_show_as_given_in_a_notebook() -> None:
    """A grant past its expiry shows as lapsed, as `has_consent()` reads it."""
    hub = omnikit.Hub()
    hub.identify(user_id="u1", channel="web", timestamp="2026-01-01T00:00:00Z")
    hub.ingest(
        {
            "type": "track",
            "event": "Consent Updated",
            "messageId": "c1",
            "userId": "u1",
            "timestamp": "2026-01-02T00:00:00Z",
            "properties": {
                "purpose": "marketing",
                "granted": True,
                "expires_at": "2026-02-01T00:00:00Z",
            },
        }
    )
    customer = hub.customer(user_id="u1")
    assert customer is not None

    html = customer._repr_html_()

    assert "lapsed" in html
    assert ">yes<" not in html
