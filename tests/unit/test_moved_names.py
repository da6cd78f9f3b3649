"""Names that moved keep working at their old places for one minor version, with a warning."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import omnikit.analytics
import omnikit.rules
import omnikit.testing
import omnikit.testing.retailer

MOVED = [
    ("omnikit.rules", "RFM", "omnikit.analytics"),
    ("omnikit.rules", "LeadScoring", "omnikit.analytics"),
    ("omnikit.rules", "rfm_scores", "omnikit.analytics"),
    ("omnikit.rules", "BoughtTogether", "omnikit.analytics"),
    ("omnikit.rules", "Recommendation", "omnikit.analytics"),
    ("omnikit.simulate", "Retailer", "omnikit.testing.retailer"),
    ("omnikit.simulate", "Person", "omnikit.testing.retailer"),
]
"""Each moved name: where it was, what it is called, where it lives now."""


@pytest.mark.parametrize(("module", "name", "new"), MOVED)
def test_an_old_name_warns_and_gives_the_same_object(module: str, name: str, new: str) -> None:
    """Reading an old name gives the very object, and a warning naming where it lives now."""
    old = importlib.import_module(module)

    with pytest.warns(DeprecationWarning, match=f"{module}.{name} is deprecated") as caught:
        found = getattr(old, name)

    assert getattr(importlib.import_module(new), name) is found
    assert f"use {new}.{name} instead" in str(caught[0].message)
    assert "removed in omnikit 0.2.0" in str(caught[0].message)
    assert __file__ == caught[0].filename  # it points at the line that read the old name


def test_from_import_of_an_old_name_warns() -> None:
    """`from omnikit.rules import RFM` warns as attribute access does."""
    with pytest.warns(DeprecationWarning, match="use omnikit.analytics.RFM instead"):
        from omnikit.rules import RFM  # noqa: PLC0415

    assert omnikit.analytics.RFM is RFM


def test_the_retailer_is_public_in_testing() -> None:
    """`omnikit.testing.Retailer` is the simulated retailer of `omnikit.testing.retailer`."""
    assert omnikit.testing.retailer.Retailer is omnikit.testing.Retailer
    assert "Retailer" in omnikit.testing.__all__


def test_moved_names_are_not_listed_at_their_old_place() -> None:
    """`omnikit.rules.__all__` lists no moved name, so `import *` warns about nothing."""
    moved = {name for module, name, _ in MOVED if module == "omnikit.rules"}

    assert set() == moved & set(omnikit.rules.__all__)
    assert set(omnikit.analytics.__all__) >= moved
    assert sorted(omnikit.analytics.__all__) == omnikit.analytics.__all__


@pytest.mark.parametrize("module", ["omnikit.rules", "omnikit.simulate", "omnikit.testing"])
def test_an_unknown_name_is_still_an_attribute_error(module: str) -> None:
    """A module `__getattr__` answers only for the names it knows."""
    with pytest.raises(AttributeError, match="no attribute 'Nothing'"):
        importlib.import_module(module).Nothing  # noqa: B018 - the read is the test


def test_the_retailer_and_the_demo_need_no_pytest() -> None:
    """`omnikit.testing.Retailer` and `omnikit demo` run where pytest is not installed."""
    code = (
        "import sys; sys.modules['pytest'] = None\n"
        "from omnikit.testing import Retailer\n"
        "from omnikit._cli import main\n"
        "assert list(Retailer(3, seed=1).messages())\n"
        "import omnikit.testing\n"
        "try:\n"
        "    omnikit.testing.StoreContract\n"
        "except ImportError:\n"
        "    print('contract needs pytest')\n"
    )

    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )

    assert 0 == done.returncode, done.stderr
    assert "contract needs pytest" in done.stdout
