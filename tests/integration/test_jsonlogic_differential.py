"""
omnikit.rules.jsonlogic against the reference, json-logic-js, run by Node.js.

One Node process (tests/oracle/jsonlogic/oracle.js) serves the whole session; Hypothesis
sends it batches of random rules and data, and each answer must be ours: the same JSON
value (NaN, infinities, -0 and undefined included), or an error on both sides.

Set OMNIKIT_JSONLOGIC_DIFFERENTIAL_SCALE to run N times more examples, to hunt for
disagreements.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from omnikit.errors import OmnikitError
from omnikit.rules import jsonlogic
from oracle.jsonlogic import strategies

ORACLE = Path(__file__).resolve().parents[1] / "oracle" / "jsonlogic"
SCALE = int(os.environ.get("OMNIKIT_JSONLOGIC_DIFFERENTIAL_SCALE", "1"))
TIMEOUT = 120.0


class Oracle:
    """A long-lived `node oracle.js`: JSON lines of `[rule, data]` in, answers out."""

    def __init__(self, node: str) -> None:
        self.process = subprocess.Popen(
            [node, "oracle.js"],
            cwd=ORACLE,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )

    def run(self, cases: list[tuple[Any, Any]]) -> list[dict[str, Any]]:
        """Send *cases*, return the reference's answers, in order."""
        payload = "".join(json.dumps([rule, data], allow_nan=False) + "\n" for rule, data in cases)
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        stdin = self.process.stdin

        def write() -> None:
            stdin.write(payload)
            stdin.flush()

        # Write from a thread, so that a full pipe in one direction cannot block the other.
        writer = threading.Thread(target=write, daemon=True)
        watchdog = threading.Timer(TIMEOUT, self.process.kill)
        writer.start()
        watchdog.start()
        try:
            lines = [self.process.stdout.readline() for _ in cases]
        finally:
            watchdog.cancel()
            writer.join(TIMEOUT)
        if not all(lines):
            pytest.fail(f"the JsonLogic oracle died or took over {TIMEOUT} s on {cases!r}")
        return [json.loads(line) for line in lines]

    def close(self) -> None:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()


@contextlib.contextmanager
def _install_lock() -> Iterator[None]:
    """Serialise `npm ci` between pytest-xdist workers."""
    if sys.platform == "win32":
        yield
        return
    import fcntl  # noqa: PLC0415 (POSIX only)

    with (Path(tempfile.gettempdir()) / "omnikit-jsonlogic-oracle.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _locked_version() -> str:
    lock = json.loads((ORACLE / "package-lock.json").read_text(encoding="utf-8"))
    return str(lock["packages"]["node_modules/json-logic-js"]["version"])


def _installed_version() -> str | None:
    manifest = ORACLE / "node_modules" / "json-logic-js" / "package.json"
    if not manifest.is_file() or not (manifest.parent / "logic.js").is_file():
        return None
    return str(json.loads(manifest.read_text(encoding="utf-8"))["version"])


@pytest.fixture(name="oracle", scope="session")
def _oracle() -> Iterator[Oracle]:
    node = shutil.which("node")
    npm = shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("the JsonLogic differential tests need Node.js and npm on PATH")
    with _install_lock():
        if _installed_version() != _locked_version():
            subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=ORACLE,
                check=True,
                stdout=subprocess.DEVNULL,
            )
    oracle = Oracle(node)
    yield oracle
    oracle.close()


# --- comparing answers --------------------------------------------------------------------

_DROP = object()
_MARKERS = {
    "NaN": math.nan,
    "Infinity": math.inf,
    "-Infinity": -math.inf,
    "-0": -0.0,
    "function": "<a JavaScript function>",
}


def _decode(value: Any, *, in_object: bool = False) -> Any:
    """The oracle's answer as Python values: markers decoded, `undefined` as JSON has it."""
    if isinstance(value, dict):
        if set(value) == {"$js"}:
            if value["$js"] == "undefined":
                return _DROP if in_object else None
            return _MARKERS[value["$js"]]
        decoded = {key: _decode(item, in_object=True) for key, item in value.items()}
        return {key: item for key, item in decoded.items() if item is not _DROP}
    if isinstance(value, list):
        return [_decode(item) for item in value]
    return value


def _double(number: float) -> float:
    try:
        return float(number)
    except OverflowError:
        return math.inf if number > 0 else -math.inf


def canonical(value: Any) -> Any:
    """
    A form of a JSON-ish value in which `==` is strict JSON equality: booleans are not
    numbers, 1 equals 1.0, ints past 2**53 equal the double JavaScript reads, NaN equals
    NaN and -0 differs from 0.
    """
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        number = _double(value)
        if number != number:
            return ("number", "NaN")
        if number == 0:
            return ("number", "-0" if math.copysign(1.0, number) < 0 else "0")
        return ("number", number)
    if isinstance(value, list):
        return [canonical(item) for item in value]
    if isinstance(value, dict):
        return {key: canonical(item) for key, item in value.items()}
    return ("python", repr(value))


def _ours(rule: Any, data: Any) -> Any:
    try:
        return canonical(jsonlogic.apply(rule, data))
    except OmnikitError:
        return ("error",)


def _theirs(answer: dict[str, Any]) -> Any:
    if "error" in answer:
        return ("error",)
    return canonical(_decode(answer["ok"]))


def _check(oracle: Oracle, cases: list[tuple[Any, Any]]) -> None:
    answers = oracle.run(cases)
    for (rule, data), answer in zip(cases, answers, strict=True):
        expected = _theirs(answer)
        actual = _ours(rule, data)
        assert expected == actual, (rule, data, answer)


# --- the tests ----------------------------------------------------------------------------

_SETTINGS = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)


def _examples(count: int) -> settings:
    return settings(_SETTINGS, max_examples=count * SCALE)


@_examples(100)
@given(batch=strategies.st.lists(strategies.rules_and_data, min_size=10, max_size=30))
def test_random_rules_agree(oracle: Oracle, batch: list[tuple[Any, Any]]) -> None:
    """
    Random rules over every operator give the reference's result, or an error where it
    throws.
    """
    _check(oracle, batch)


@_examples(40)
@given(batch=strategies.st.lists(strategies.coercions, min_size=10, max_size=30))
def test_coercions_agree(oracle: Oracle, batch: list[tuple[Any, Any]]) -> None:
    """
    One operation over odd scalars, arrays and variables coerces as JavaScript does.
    """
    _check(oracle, batch)


@_examples(40)
@given(batch=strategies.st.lists(strategies.arithmetic, min_size=10, max_size=30))
def test_numbers_agree(oracle: Oracle, batch: list[tuple[Any, Any]]) -> None:
    """
    Arithmetic, number formatting and number parsing (ToNumber and parseFloat) over
    random floats and numeric-looking strings give the reference's results.
    """
    _check(oracle, batch)


@_examples(10)
@given(batch=strategies.st.lists(strategies.unknown_operations_and_data, min_size=10, max_size=30))
def test_unknown_operations_fail_alike(oracle: Oracle, batch: list[tuple[Any, Any]]) -> None:
    """
    Operations json-logic-js does not know (`method` among them) are errors on both sides.
    """
    _check(oracle, batch)


TRICKY = [
    ({"cat": [1.5, None]}, None),
    ({"cat": [True, False, None, [1, [2, None]], {}]}, None),
    ({"cat": [1.0, 1e21, 1e-7, 0.1, -0.0, 123e-20, 2**53 + 1, 2**70]}, None),
    ({"+": [0.1, 0.2]}, None),
    ({"cat": [{"+": [0.1, 0.2]}]}, None),
    ({"min": [False]}, None),
    ({"min": []}, None),
    ({"max": []}, None),
    ({"min": [0, -0.0]}, None),
    ({"max": [-0.0, 0]}, None),
    ({"/": [1, {"min": [0, -0.0]}]}, None),
    ({"!=": [0, ""]}, None),
    ({"==": [None, 0]}, None),
    ({"==": [None, {"and": []}]}, None),
    ({"===": [None, {"and": []}]}, None),
    ({"==": [[1, 2], "1,2"]}, None),
    ({"==": [[], False]}, None),
    ({"==": [[0], False]}, None),
    ({"==": [{"var": "a"}, {"var": "a"}]}, {"a": [1]}),
    ({"==": [[1], [1]]}, None),
    ({"==": [{}, "[object Object]"]}, None),
    ({"===": [1, True]}, None),
    ({"===": [1, 1.0]}, None),
    ({"===": [2**53, 2**53 + 1]}, None),
    ({"==": []}, None),
    ({"<": ["10", "9"]}, None),
    ({"<": ["10", 9]}, None),
    ({"<": [[2], "10"]}, None),
    ({"<": ["\uffff", "\U0001f600"]}, None),
    ({"<": [None, 1]}, None),
    ({"<=": [None, 0]}, None),
    ({"<": [1, 2, {"and": []}]}, None),
    ({"<": [2, 1, {"cat": [{"var": "o"}]}]}, {"o": {"toString": 1}}),
    ({"<": [1, 2, {"cat": [{"var": "o"}]}]}, {"o": {"toString": 1}}),
    ({"+": ["1", 1]}, None),
    ({"+": [" 2 ", "1e3", "0x10", ".5", "5.", "-.5e-3x"]}, None),
    ({"+": [True]}, None),
    ({"+": [[1, 2]]}, None),
    ({"+": []}, None),
    ({"+": ["-0"]}, None),
    ({"*": []}, None),
    ({"*": ["5"]}, None),
    ({"*": [[1]]}, None),
    ({"*": [-1, 0]}, None),
    ({"*": [-1, 0, 5]}, None),
    ({"-": ["0x10", 1]}, None),
    ({"-": [None]}, None),
    ({"-": []}, None),
    ({"-": [1, {"and": []}]}, None),
    ({"/": [1, 0]}, None),
    ({"/": [-1, 0]}, None),
    ({"/": [0, 0]}, None),
    ({"/": [1e308, 1e-308]}, None),
    ({"%": [1, 0]}, None),
    ({"%": [-5, 3]}, None),
    ({"%": [5.5, -2]}, None),
    ({"%": [-0.0, 5]}, None),
    ({"%": [5, "Infinity"]}, None),
    ({"in": ["", ""]}, None),
    ({"in": [None, "null"]}, None),
    ({"in": [{"and": []}, "undefined"]}, None),
    ({"in": [None, [None]]}, None),
    ({"in": [1, [True, "1", 1.0]]}, None),
    ({"in": ["a", {"var": "o"}]}, {"o": {"indexOf": 1}}),
    ({"in": ["a", 0]}, None),
    ({"in": ["\ud83d", "\U0001f600"]}, None),
    ({"substr": ["hello", -3]}, None),
    ({"substr": ["hello", 1, -1]}, None),
    ({"substr": ["hello", 1, "-1"]}, None),
    ({"substr": ["hello", 1, [-1]]}, None),
    ({"substr": ["hello", 1, None]}, None),
    ({"substr": ["hello", "1", "2"]}, None),
    ({"substr": [None, 0]}, None),
    ({"substr": []}, None),
    ({"substr": ["\U0001f600x", 1]}, None),
    ({"substr": ["a\U0001f600b", 0, 2]}, None),
    ({"var": "s.length"}, {"s": "a\U0001f600"}),
    ({"var": "s.1"}, {"s": "a\U0001f600"}),
    ({"var": "arr.length"}, {"arr": [1, 2, 3]}),
    ({"var": "arr.01"}, {"arr": [1, 2, 3]}),
    ({"var": ["a.b", 5]}, {"a": {"b": None}}),
    ({"var": ["a.b.c", 5]}, {"a": {"b": None}}),
    ({"var": ["x", {"and": []}]}, {}),
    ({"var": 1.5}, {"1": {"5": "deep"}}),
    ({"var": []}, {"a": 1}),
    ({"var": [[]]}, {"": "empty key"}),
    ({"var": True}, {"true": 1}),
    ({"missing": ["a", "b"]}, {"a": "", "b": 0}),
    ({"missing": [["a", "b"], "c"]}, {}),
    ({"missing": [[["a", "x"]]]}, {}),
    ({"missing": [{"var": "k"}]}, {"k": {"var": "x"}, "x": "a"}),
    ({"missing": [{"var": "k"}]}, {"k": {"foo": 1}}),
    ({"missing": [{"var": "k"}]}, {"k": {"missing": [{"var": "k"}]}}),
    ({"missing_some": [1, ["a", "b"]]}, {"a": 1}),
    ({"missing_some": [2, "ab"]}, {}),
    ({"missing_some": [1, 5]}, {}),
    ({"missing_some": [1, None]}, {}),
    ({"missing_some": [1, {"var": "o"}]}, {"o": {"length": 3}}),
    ({"missing_some": ["1", ["a"]]}, {"a": 1}),
    ({"merge": [1, [2, [3]], None, {"and": []}]}, None),
    ({"merge": []}, None),
    ({"and": []}, None),
    ({"or": []}, None),
    ({"and": [1, "", 2]}, None),
    ({"or": [0, [], "x"]}, None),
    ({"or": [0, []]}, None),
    ({"!!": [[]]}, None),
    ({"!!": [{}]}, None),
    ({"!": []}, None),
    ({"!!": ["0"]}, None),
    ({"if": []}, None),
    ({"if": [True]}, None),
    ({"if": [[], 1, 2]}, None),
    ({"?:": [0, 1, "", 2, 3]}, None),
    ({"map": [[1, 2]]}, None),
    ({"map": [{"var": "arr"}, {"*": [{"var": ""}, 2]}]}, {"arr": [1, 2]}),
    ({"map": ["abc", {"var": ""}]}, None),
    ({"filter": [[0, 1, "", "a", []], {"var": ""}]}, None),
    ({"reduce": [[1, 2, 3]]}, None),
    ({"reduce": [[1, 2], {"var": ""}, {"and": []}]}, None),
    ({"reduce": [5, {"var": "current"}, 7]}, None),
    ({"reduce": [[1, 2], {"+": [{"var": "current"}, {"var": "accumulator"}]}]}, None),
    ({"all": [[], True]}, None),
    ({"none": [[], True]}, None),
    ({"some": [[], True]}, None),
    ({"all": [[1, 0], {"var": ""}]}, None),
    ({"log": []}, None),
    ({"log": [{"var": ""}]}, {"a": 1}),
    ([1, {"var": "x"}, [{"and": []}]], {"x": 2}),
    ({"method": ["abc", "toUpperCase"]}, None),
    ({"var.length": []}, None),
    ({"foo": [{"bar": 1}]}, None),
    ({"cat": [{"var": "o"}]}, {"o": {"toString": None}}),
    ({"cat": [{"var": "o"}]}, {"o": {"valueOf": None}}),
    ({"==": [{"var": "o"}, 1]}, {"o": {"toString": 1}}),
    ({"==": [{"var": "o"}, None]}, {"o": {"toString": 1}}),
    ({"substr": ["abc", {"and": []}]}, None),
    ({"<": [[], []]}, None),
    ({"==": [[[]], ""]}, None),
    ({"!==": [[], []]}, None),
    ({"merge": ["abc", [[1]]]}, None),
    ({"max": ["", " ", None, [], [[]], [5]]}, None),
    ({"-": [[], [[]]]}, None),
    ({"%": [{"-": [0]}, 1]}, None),
    ({"cat": [[{"-": [0]}]]}, None),
    ({"var": {"-": [0]}}, ["zero"]),
    ({"if": [{"var": "x"}, 1]}, {"x": 0}),
    ({"var": "0"}, "\U0001f600"),
    ({"var": "length"}, [1, 2]),
    ({"var": "a.b"}, {"a": "text"}),
    ({"var": "a.length"}, {"a": 5}),
    ({"==": [2**53, 2**53 + 1]}, None),
    ({"<": [2**53, 2**53 + 1]}, None),
    ({"===": [10**400, {"/": [1, 0]}]}, None),
    ({"in": [2**53 + 1, [2**53]]}, None),
]


@pytest.mark.parametrize(("rule", "data"), TRICKY, ids=[f"tricky-{i}" for i in range(len(TRICKY))])
def test_tricky_cases_agree(oracle: Oracle, rule: Any, data: Any) -> None:
    """
    Corners found reading json-logic-js's source give the reference's result.
    """
    _check(oracle, [(rule, data)])
