"""The sending how-to's example runs, and says what the page says it does."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from omnikit import DeliveryStatus

EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "sending.py"


def test_the_sending_how_to_runs_as_written(capsys: Any) -> None:
    spec = importlib.util.spec_from_file_location("sending_example", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    seen = module.main()
    printed = capsys.readouterr().out.splitlines()
    assert seen["refused"].status == DeliveryStatus.REFUSED
    assert seen["sent"].status == DeliveryStatus.SENT
    assert seen["transactional"].status == DeliveryStatus.SENT
    assert seen["deferred"].status == DeliveryStatus.DEFERRED
    assert seen["dispatched"].status == DeliveryStatus.SENT
    assert seen["retried"].attempts == 2
    assert [d.status for d in seen["received"].deliveries] == [DeliveryStatus.DELIVERED]
    assert "Message Delivered" in seen["touchpoints"]
    # the comments on the page show what was printed
    assert printed[0] == "refused - contact policy: email: no marketing consent in force on email"
    assert printed[1] == "sent memory-email mem-1"
    assert printed[3] == "deferred 2026-12-06 08:00:00+00:00"
    assert printed[4] == "DispatchReport(sent=1)"
