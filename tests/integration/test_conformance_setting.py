"""
Where the conformance suites are found: a setting, `../shared/conformance` by default; a
clone without them skips their tests saying how to get them, and CI fails instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _pytest(
    env: dict[str, str], suite: str = "tests/conformance/test_jsonlogic_suite.py"
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:xdist",
            "-q",
            "-rs",
            suite,
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_conformance_suite_is_found_by_a_setting_and_skipped_without_it(
    tmp_path: Path,
) -> None:
    """
    Without the JsonLogic suite the conformance tests skip, saying how to get it; with
    `OMNIKIT_REQUIRE_CONFORMANCE` set, as `.ci/run` sets it, they fail instead.
    """
    missing = {"OMNIKIT_CONFORMANCE_DIR": str(tmp_path), "OMNIKIT_REQUIRE_CONFORMANCE": ""}

    skipped = _pytest(missing)
    required = _pytest({**missing, "OMNIKIT_REQUIRE_CONFORMANCE": "1"})

    assert 0 == skipped.returncode, skipped.stdout
    assert "2 skipped" in skipped.stdout
    assert "https://jsonlogic.com/tests.json" in skipped.stdout
    assert "OMNIKIT_CONFORMANCE_DIR" in skipped.stdout
    assert 0 != required.returncode
    assert "2 errors" in required.stdout
    assert "export OMNIKIT_REQUIRE_CONFORMANCE=1" in (ROOT / ".ci" / "run").read_text()


def test_the_attribution_reference_is_skipped_without_it_and_required_in_ci(
    tmp_path: Path,
) -> None:
    """
    Without ChannelAttribution's figures the attribution conformance tests skip, saying
    where to put them; with `OMNIKIT_REQUIRE_CONFORMANCE` set they fail instead.
    """
    suite = "tests/conformance/test_attribution_suite.py"
    missing = {"OMNIKIT_CONFORMANCE_DIR": str(tmp_path), "OMNIKIT_REQUIRE_CONFORMANCE": ""}

    skipped = _pytest(missing, suite)
    required = _pytest({**missing, "OMNIKIT_REQUIRE_CONFORMANCE": "1"}, suite)

    assert 0 == skipped.returncode, skipped.stdout
    assert "8 skipped" in skipped.stdout
    assert "attribution/channelattribution.json" in skipped.stdout
    assert "OMNIKIT_CONFORMANCE_DIR" in skipped.stdout
    assert 0 != required.returncode
    assert "8 errors" in required.stdout
