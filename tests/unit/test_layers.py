"""
Imports point downward only, and never in a circle: the layers of the design, on the graph.

Every module of the installed `omnikit` package is parsed with `ast`. Its imports give the
edges of the graph: those at the top and inside functions, absolute and relative ones, but not
those under `if TYPE_CHECKING:`, which never run. `from omnikit.rules import _serialize` is an
edge to the module `omnikit.rules._serialize`; `from omnikit.rules import RuleSet` one to the
package `omnikit.rules` (a module's parent packages are not edges of their own).

A module may import its own layer and the layers below it. The exceptions the code still has
are listed below, each with its reason; one that is gone must leave the list.
"""

from __future__ import annotations

import ast
import fnmatch
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import omnikit

LAYERS: Final = (
    # The plugin loader finds stores, connectors and analytics backends by name: it imports
    # them by their dotted path when asked, never at the top.
    (
        "foundation",
        ("omnikit.errors", "omnikit._version", "omnikit._deprecated", "omnikit._plugins"),
    ),
    ("models", ("omnikit._models", "omnikit._models.*", "omnikit.converters")),
    # The language rules are written in knows nothing of rules, customers or decisions.
    ("language", ("omnikit.rules._lang", "omnikit.rules._lang.*", "omnikit.rules.jsonlogic")),
    (
        "engines",
        (
            "omnikit._engines",
            "omnikit._engines.*",
            "omnikit.rules",
            "omnikit.rules.*",
            "omnikit.analytics",
            "omnikit.analytics.*",
        ),
    ),
    ("ports", ("omnikit.stores", "omnikit.stores.records", "omnikit.connectors")),
    (
        "hub",
        (
            "omnikit._hub",
            "omnikit._hub.*",
            "omnikit._chunks",
            "omnikit._load",
        ),
    ),
    ("adapters", ("omnikit.stores.*", "omnikit.connectors.*")),
    (
        "surfaces",
        (
            "omnikit",
            "omnikit.__main__",
            "omnikit._cli",
            "omnikit._demo_send",
            "omnikit._jupyter",
            "omnikit.testing",
            "omnikit.testing.*",
            "omnikit.simulate",
        ),
    ),
)
"""The layers of DESIGN.md, lowest first, and the modules in each (`fnmatch` patterns)."""

UPWARD_BY_DESIGN: Final = {
    ("omnikit._models.customers", "omnikit._jupyter"): (
        "Jupyter calls Customer._repr_html_; the view it returns loads only in notebooks"
    ),
}
"""Upward imports that stay: a hook a tool calls on a model, answered by a surface."""

UPWARD_UNTIL_ISSUE_8: Final[dict[tuple[str, str], str]] = {}
"""Upward imports of the hub core and the store port, which issue 8 rebuilds."""


def _modules(package: Path) -> dict[str, tuple[Path, bool]]:
    """Every module under *package*, by dotted name: its file, and whether it is a package."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _import_nodes(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """The imports under *node*, at any depth, except those only type checkers run."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                yield from _import_nodes_of(other)
            continue
        yield from _import_nodes_of(child)


def _import_nodes_of(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        yield node
    yield from _import_nodes(node)


def imports_of(name: str, source: str, modules: set[str], *, is_package: bool) -> set[str]:
    """The omnikit modules that the module *name*, of text *source*, imports."""
    found = set()
    for node in _import_nodes(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "omnikit"}
            continue
        if node.level:
            base = name.split(".") if is_package else name.split(".")[:-1]
            base = base[: len(base) - node.level + 1]
            target = ".".join([*base, node.module] if node.module else base)
        else:
            target = node.module or ""
        if target.split(".")[0] != "omnikit":
            continue
        for alias in node.names:
            submodule = f"{target}.{alias.name}"
            found.add(submodule if submodule in modules else target)
    found.discard(name)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules(Path(omnikit.__file__).parent)
    names = set(modules)
    return {
        name: imports_of(name, path.read_text(encoding="utf-8"), names, is_package=is_package)
        for name, (path, is_package) in modules.items()
    }


def layer_of(module: str) -> int | None:
    """The index in `LAYERS` of *module*'s layer: that of the longest pattern it matches."""
    best: tuple[int, int] | None = None
    for index, (_, patterns) in enumerate(LAYERS):
        for pattern in patterns:
            if fnmatch.fnmatchcase(module, pattern) and (best is None or len(pattern) > best[0]):
                best = (len(pattern), index)
    return None if best is None else best[1]


def _upward(graph: dict[str, set[str]]) -> dict[tuple[str, str], str]:
    found = {}
    for importer, imported in sorted((a, b) for a, targets in graph.items() for b in targets):
        low, high = layer_of(importer), layer_of(imported)
        if low is not None and high is not None and high > low:
            found[importer, imported] = f"{LAYERS[low][0]} imports {LAYERS[high][0]}"
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of *graph* with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_every_module_has_a_layer() -> None:
    """A new module is placed in a layer of `LAYERS` before it is imported anywhere."""
    assert [] == [name for name in sorted(_graph()) if layer_of(name) is None]


def test_imports_point_downward() -> None:
    """No module imports a module of a higher layer, except the listed ones."""
    upward = _upward(_graph())
    known = UPWARD_BY_DESIGN.keys() | UPWARD_UNTIL_ISSUE_8.keys()

    assert {} == {edge: why for edge, why in upward.items() if edge not in known}


def test_every_listed_exception_still_happens() -> None:
    """An upward import that is gone leaves the lists, so it can't come back unnoticed."""
    upward = _upward(_graph())
    listed = UPWARD_BY_DESIGN.keys() | UPWARD_UNTIL_ISSUE_8.keys()

    assert set() == listed - upward.keys()


def test_no_modules_import_each_other_in_a_circle() -> None:
    """However long the path, no module imports itself back; lazy imports included."""
    assert [] == cycles(_graph())


def test_the_walk_reads_every_kind_of_import() -> None:
    """Absolute, relative and function-level imports count; `if TYPE_CHECKING:` ones don't."""
    source = """
from typing import TYPE_CHECKING
import omnikit.errors
from . import _js, sibling
from .._models import customers
from omnikit.rules import RuleSet

if TYPE_CHECKING:
    from omnikit._hub import Hub
else:
    from omnikit import converters

def later():
    from omnikit.analytics import simulate
"""
    modules = {
        "omnikit",
        "omnikit.errors",
        "omnikit.converters",
        "omnikit.rules",
        "omnikit.rules.sibling",
        "omnikit.rules.here",
        "omnikit._models.customers",
        "omnikit.analytics",
        "omnikit._hub",
    }

    found = imports_of("omnikit.rules.here", source, modules, is_package=False)

    assert {
        "omnikit.errors",
        "omnikit.rules",
        "omnikit.rules.sibling",
        "omnikit._models.customers",
        "omnikit.converters",
        "omnikit.analytics",
    } == found


def test_cycles_are_found_however_long() -> None:
    """A circle through three modules is one component; a tree has none."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}

    assert [["a", "b", "c"]] == cycles(graph)
    assert [] == cycles({"a": {"b"}, "b": {"c"}, "d": {"c"}})


def test_the_most_specific_pattern_places_a_module() -> None:
    """A store adapter is an adapter, the store port a port, the language below the rules."""
    names = {index: name for index, (name, _) in enumerate(LAYERS)}

    assert "adapters" == names[layer_of("omnikit.stores.sqlite")]
    assert "ports" == names[layer_of("omnikit.stores")]
    assert "language" == names[layer_of("omnikit.rules._lang.compiler")]
    assert "engines" == names[layer_of("omnikit.rules._rules")]
    assert "surfaces" == names[layer_of("omnikit")]
    assert "models" == names[layer_of("omnikit._models.message")]
    assert "engines" == names[layer_of("omnikit._engines.render")]
    assert "engines" == names[layer_of("omnikit._engines.templates")]
    assert "engines" == names[layer_of("omnikit.analytics.attribution")]
    assert "engines" == names[layer_of("omnikit.analytics._markov")]
    assert layer_of("omnikit.somewhere_new") is None


PUBLIC_ONLY: Final = (
    "omnikit.testing._async_contract",
    "omnikit.testing._contract",
    "omnikit.testing._streams",
)
"""The store contract kit: what a host's store is checked with uses public names only."""


def _private(module: str) -> bool:
    """Whether *module* is private to omnikit (a `_name` part), apart from the kit's own."""
    own = module.startswith("omnikit.testing.")
    return not own and any(part.startswith("_") for part in module.split("."))


def test_the_store_contract_and_the_docs_store_import_only_public_names() -> None:
    """A host's store needs no `omnikit._...` module: the contract and the docs example show it."""
    graph = _graph()
    example = Path(__file__).parents[2] / "docs" / "examples" / "jsonfile_store.py"
    from_example = imports_of(
        "jsonfile_store", example.read_text(encoding="utf-8"), set(graph), is_package=False
    )

    found = {kit: sorted(filter(_private, graph[kit])) for kit in PUBLIC_ONLY}
    found["docs/examples/jsonfile_store.py"] = sorted(filter(_private, from_example))

    assert all(not private for private in found.values()), found
