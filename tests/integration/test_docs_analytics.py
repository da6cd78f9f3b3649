"""
The analytics guide's attribution example prints what its comments say it prints.

The example is the very file the guide includes, run as a script; in its snippets every
whole-line comment is a line of output, in order.
"""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "attribution.py"


def _commented_output(source: str) -> list[str]:
    inside, lines = False, []
    for line in source.splitlines():
        if line.startswith("# --8<-- [start:"):
            inside = True
        elif line.startswith("# --8<-- [end:"):
            inside = False
        elif inside and line.startswith("# "):
            lines.append(line[2:])
    return lines


def test_the_attribution_example_prints_what_its_comments_say(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Every model's table, the Markov chain's figures, paths from touches and the export."""
    runpy.run_path(str(EXAMPLE), run_name="__main__")

    printed = capsys.readouterr().out.splitlines()

    assert _commented_output(EXAMPLE.read_text(encoding="utf-8")) == printed
    assert 11 == len(printed)
