"""
The async store contract catches broken async stores, and a sound one passes it.

As the sync contract is checked (`test_contract_catches.py`): in a pytest session of its own,
on a module that subclasses `AsyncStoreContract`.
"""

from __future__ import annotations

import pytest

CONTRACT = """
import pytest

import broken_stores
from omnikit.testing import AsyncStoreContract


class TestUnderContract(AsyncStoreContract):
    timeout = 30.0

    @pytest.fixture
    def open_async_store(self):
        async def open_store():
            return broken_stores.{kind}()

        return open_store
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
        ("UnlockedAsyncStore", "test_many_tasks_writing_at_once_lose_no_update"),
        ("CancelCommittingAsyncStore", "test_a_task_cancelled_inside_a_transaction_leaves_nothing"),
        ("TaskJoiningAsyncStore", "test_the_async_hub_s_verbs_from_many_tasks_at_once"),
    ],
)
def test_a_broken_async_store_fails_the_contract(
    pytester: pytest.Pytester, kind: str, caught_by: str
) -> None:
    """Writers not taking turns, a cancelled task's writes kept: each fails where it breaks."""
    passed, failed = _failures(pytester, kind)

    assert caught_by in failed
    assert passed > 0


def test_a_sound_async_store_passes_the_same_run(pytester: pytest.Pytester) -> None:
    """The same session passes every check, sync and async, on a sound async store."""
    passed, failed = _failures(pytester, "AsyncMemoryStore")

    assert set() == failed
    assert passed >= 25
