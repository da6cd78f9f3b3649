"""
No function over 80 lines, no file over 800: each module of the installed `omnikit` package,
read with `ast`.

A function's length runs from its `def` line to its last line (`end_lineno - lineno + 1`),
its docstring and nested functions included; a decorator is not counted. Methods and nested
functions are measured on their own too, and named by their path (`Class.method`,
`outer.inner`).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import omnikit

MAX_FUNCTION_LINES: Final = 80
MAX_FILE_LINES: Final = 800

PACKAGE: Final = Path(omnikit.__file__).parent


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _shown(path: Path) -> str:
    return path.relative_to(PACKAGE.parent).as_posix()


def function_lengths(source: str) -> Iterator[tuple[str, int]]:
    """Each function and method of *source*, by its dotted path, with its length in lines."""

    def walk(node: ast.AST, prefix: str) -> Iterator[tuple[str, int]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = f"{prefix}{child.name}"
                yield name, child.end_lineno - child.lineno + 1  # type: ignore[operator]
                yield from walk(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                yield from walk(child, f"{prefix}{child.name}.")
            else:
                yield from walk(child, prefix)

    yield from walk(ast.parse(source), "")


def long_functions(path: Path, limit: int = MAX_FUNCTION_LINES) -> list[str]:
    """`file:function:length` for each function of the module *path* over *limit* lines."""
    return [
        f"{_shown(path)}:{name}:{length}"
        for name, length in function_lengths(path.read_text(encoding="utf-8"))
        if length > limit
    ]


def test_no_function_is_over_80_lines() -> None:
    """A function past 80 lines is split into named pieces; the failure names each one."""
    found = [line for path in _modules() for line in long_functions(path)]

    assert [] == found


def test_no_file_is_over_800_lines() -> None:
    """A module past 800 lines is split by concept; the failure names each file and its size."""
    found = []
    for path in _modules():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_FILE_LINES:
            found.append(f"{_shown(path)}:{lines}")

    assert [] == found


def test_every_function_is_measured_from_def_to_its_last_line() -> None:
    """Functions, methods, nested and async ones each count, by path; decorators don't."""
    source = '''
@decorated
def top():
    """Doc."""
    def inner():
        return 1
    return inner

class Shop:
    async def visit(self):
        pass

    @property
    def name(self):
        return (
            "shop"
        )
'''

    assert [
        ("top", 5),
        ("top.inner", 2),
        ("Shop.visit", 2),
        ("Shop.name", 4),
    ] == list(function_lengths(source))


def test_the_walk_reads_every_module_of_the_package() -> None:
    """The modules measured are those of the installed package, subpackages included."""
    shown = {_shown(path) for path in _modules()}

    assert {"omnikit/__init__.py", "omnikit/_engines/inbound.py"} <= shown
    assert any(name.startswith("omnikit/rules/_lang/") for name in shown)
