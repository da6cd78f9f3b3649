"""
The store contract catches broken stores: each fails it, and the shipped ones pass.

The contract runs as a host runs it, in a pytest session of its own (`pytester`), on a test
module that subclasses `StoreContract`.
"""

from __future__ import annotations

import pytest

CONTRACT = """
import pytest

import broken_stores
from omnikit.testing import StoreContract


class TestUnderContract(StoreContract):
    @pytest.fixture
    def store(self, tmp_path):
        store = broken_stores.open_kind({kind!r}, tmp_path)
        yield store
        store.close()
"""


def _failures(pytester: pytest.Pytester, kind: str) -> tuple[int, set[str]]:
    """Run the contract on the store *kind*; how many tests passed, and the names that failed."""
    pytester.makepyfile(test_contract=CONTRACT.format(kind=kind))
    recorder = pytester.inline_run("-p", "no:cacheprovider", "-W", "error", "-q")
    passed, _, failed = recorder.listoutcomes()
    names = {report.nodeid.split("::")[-1].partition("[")[0] for report in failed}
    return len(passed), names


@pytest.mark.parametrize(
    ("kind", "caught_by"),
    [
        ("MutatingStore", "test_the_rows_given_are_never_changed"),
        ("EmailKeepingStore", "test_forget_leaves_no_identifier_behind"),
        ("WriteLosingStore", "test_a_shuffled_history_ends_as_in_the_memory_store"),
        ("KeyReusingStore", "test_a_key_names_one_delivery"),
        ("DeliveryKeepingStore", "test_forget_erases_the_customer_s_deliveries"),
    ],
)
def test_a_broken_store_fails_the_contract(
    pytester: pytest.Pytester, kind: str, caught_by: str
) -> None:
    """
    Mutating rows, keeping an erased email, losing a write, reusing a delivery's key, keeping
    an erased customer's deliveries: each fails where it breaks.
    """
    passed, failed = _failures(pytester, kind)

    assert caught_by in failed
    assert passed > 0


@pytest.mark.parametrize("kind", ["MemoryStore", "SQLiteStore"])
def test_the_shipped_stores_pass_the_same_run(pytester: pytest.Pytester, kind: str) -> None:
    """The same session passes every check on the stores omnikit ships."""
    passed, failed = _failures(pytester, kind)

    assert set() == failed
    assert passed >= 20
