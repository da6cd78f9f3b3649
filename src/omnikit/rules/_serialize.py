"""
Rule sets to and from JSON and YAML, with errors that name the rule and the path.

Rule files come from people and from other systems, so their text is checked before
anything is built from it: JSON for how deeply it nests (a scan, before `json.loads`,
which recurses), YAML as it is composed into nodes (how deeply, how many aliases, no alias
inside the node it names) and, before those nodes become Python values, for how many values
they stand for once every alias is expanded (a "billion laughs" document is a few lines).
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import cattrs

from omnikit.converters import make_converter, structure
from omnikit.errors import RuleError, RuleLimitError, RuleSyntaxError, ValidationError
from omnikit.rules._decision import Strategy
from omnikit.rules._domain import DOMAIN_OPERATIONS, Operation
from omnikit.rules._lang.limits import DEFAULT_LIMITS, Limits
from omnikit.rules._lang.nodes import JSONLOGIC_OPERATIONS, Node, from_jsonlogic, to_jsonlogic
from omnikit.rules._rule import (
    Action,
    Experiment,
    Rule,
    _checked_score,
    as_condition,
    checked_condition,
)

if TYPE_CHECKING:  # a rule set reads and writes itself through this module: it gives its class
    from omnikit.rules._rules import RuleSet

__all__ = ["dump", "load", "rules_converter", "ruleset_from_data", "ruleset_to_data"]

FORMAT = "omnikit.rules/1"

MAX_NESTING: Final = 128
"""How deeply a rule file may nest: a condition's 64 levels, and the file's own around it."""
MAX_ALIASES: Final = 100
"""How many YAML aliases (`*name`) a rule file may use."""
MAX_VALUES: Final = 1_000_000
"""How many values a YAML rule file may stand for, every alias expanded."""


def _structure_node(value: Any, _: type) -> Node:
    return as_condition(value)


def _structure_action(value: Any, _: type) -> Action:
    if not isinstance(value, Mapping):
        raise ValidationError(
            f"expected an action such as {{type: offer, id: {_example_id(value)}}}, got {value!r}"
        )
    return structure(value, Action, converter=_PLAIN)


def _example_id(value: Any) -> str:
    return (
        value if isinstance(value, str) and value.isprintable() and len(value) < 40 else "gold-15"
    )


def rules_converter() -> cattrs.Converter:
    """The omnikit converter, taught to write conditions as JsonLogic."""
    conv = make_converter()
    conv.register_unstructure_hook(Node, to_jsonlogic)
    conv.register_unstructure_hook_func(
        lambda t: isinstance(t, type) and issubclass(t, Node), to_jsonlogic
    )
    conv.register_structure_hook(Node, _structure_node)
    conv.register_structure_hook(Action, _structure_action)
    return conv


_PLAIN = make_converter()
_CONVERTER = rules_converter()


_DEFAULTS = _CONVERTER.unstructure(Rule(id="_"))


def ruleset_to_data(ruleset: RuleSet) -> dict[str, Any]:
    """A rule set as JSON-ready data (conditions as JsonLogic); defaults are left out."""
    rules = []
    for rule in ruleset.rules:
        data = _CONVERTER.unstructure(rule)
        rules.append(
            {k: v for k, v in data.items() if k in {"id", "condition"} or v != _DEFAULTS[k]}
        )
    out: dict[str, Any] = {
        "format": FORMAT,
        "id": ruleset.id,
        "strategy": ruleset.strategy.value,
        "rules": rules,
    }
    if ruleset.experiments:
        out["experiments"] = {g: _CONVERTER.unstructure(e) for g, e in ruleset.experiments.items()}
    return out


def ruleset_from_data(
    cls: type[RuleSet],
    data: Any,
    *,
    operations: Mapping[str, Operation] | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> RuleSet:
    """
    A rule set of class *cls* from data `ruleset_to_data` wrote (or a person did).

    Raises:
        ValidationError: Naming each rule by index and id, and the path inside it.
    """
    if not isinstance(data, Mapping):
        raise ValidationError(f"expected a rule set object, got {type(data).__name__}")
    extra = sorted(set(data) - {"format", "id", "strategy", "rules", "experiments"})
    errors = [f"{key}: unknown field" for key in extra]
    if data.get("format", FORMAT) != FORMAT:
        errors.append(f"format: expected {FORMAT!r}, got {data.get('format')!r}")
    try:
        strategy = Strategy(data.get("strategy", Strategy.ALL_MATCHES.value))
    except ValueError:
        choices = ", ".join(s.value for s in Strategy)
        errors.append(f"strategy: expected one of {choices}, got {data.get('strategy')!r}")
        strategy = Strategy.ALL_MATCHES
    raw_rules = data.get("rules", [])
    if not isinstance(raw_rules, list):
        raise ValidationError([*errors, "rules: expected a list of rules"])
    rules: list[Rule] = []
    known = JSONLOGIC_OPERATIONS | set(DOMAIN_OPERATIONS) | set(operations or ())
    for index, raw in enumerate(raw_rules):
        name = raw.get("id") if isinstance(raw, Mapping) else None
        where = f"rules[{index}]" + (f" ({name!r})" if isinstance(name, str) else "")
        wrong = _wrong_parts(raw, known) if isinstance(raw, Mapping) else {}
        errors.extend(f"{where}.{line}" for line in wrong.values())
        # The other fields are checked too, without the parts already found wrong.
        fields = {k: v for k, v in raw.items() if k not in wrong} if wrong else raw
        try:
            rule = structure(fields, Rule, converter=_CONVERTER)
        except ValidationError as exc:
            errors.extend(
                f"{where}.{line}" if not line.startswith("[") else f"{where}{line}"
                for line in exc.errors
            )
        else:
            if not wrong:
                rules.append(rule)
    experiments: dict[str, Experiment] = {}
    raw_experiments = data.get("experiments", {})
    if not isinstance(raw_experiments, Mapping):
        errors.append("experiments: expected an object of experiments by group")
    else:
        for group, raw in raw_experiments.items():
            try:
                experiments[group] = structure(raw, Experiment, converter=_CONVERTER)
            except ValidationError as exc:
                errors.extend(f"experiments.{group}.{line}" for line in exc.errors)
    if errors:
        # A condition's problem can be found twice: building the rule, and checking its names.
        raise ValidationError(list(dict.fromkeys(errors)))
    try:
        return cls(
            rules,
            id=str(data.get("id", "default")),
            strategy=strategy,
            operations=operations,
            experiments=experiments,
            limits=limits,
        )
    except RuleError as exc:
        position = next((i for i, r in enumerate(rules) if r.id == exc.rule_id), None)
        where = f"rules[{position}] ({exc.rule_id!r})" if position is not None else "rules"
        raise ValidationError(
            f"{where}.{getattr(exc, 'path', '') or 'condition'}: {str(exc).split(': ', 2)[-1]}"
        ) from None


def _wrong_parts(raw: Mapping[str, Any], known: frozenset[str]) -> dict[str, str]:
    """What is wrong with a rule's condition and score, by part: `"part.path: reason"`."""
    wrong = {}
    for part, check in (("condition", checked_condition), ("score", _checked_score)):
        if raw.get(part) is None:
            continue
        try:
            check(from_jsonlogic(raw[part], operations=known))
        except RuleSyntaxError as exc:
            wrong[part] = f"{part}.{exc.path}: {exc.reason}" if exc.path else f"{part}: {exc}"
        except RuleLimitError as exc:
            wrong[part] = f"{part}: {exc}"
    return wrong


def dump(ruleset: RuleSet, *, format: str = "json") -> str:
    """The rule set as JSON or YAML text."""
    data = ruleset_to_data(ruleset)
    if format == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if format == "yaml":
        yaml = _yaml()
        return str(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    raise ValidationError(f"format: expected 'json' or 'yaml', got {format!r}")


def load(
    cls: type[RuleSet],
    text: str,
    *,
    format: str = "json",
    operations: Mapping[str, Operation] | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> RuleSet:
    """A rule set of class *cls* from JSON or YAML text, checked before it is built."""
    if format == "json":
        data = _load_json(text)
    elif format == "yaml":
        data = _load_yaml(text)
    else:
        raise ValidationError(f"format: expected 'json' or 'yaml', got {format!r}")
    return ruleset_from_data(cls, data, operations=operations, limits=limits)


def _too_deep() -> ValidationError:
    return ValidationError(
        f"the rule file nests deeper than {MAX_NESTING} levels; a condition may nest 64 deep"
    )


def _load_json(text: str) -> Any:
    if _json_depth(text) > MAX_NESTING:
        raise _too_deep()
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ValidationError(f"not valid JSON ({exc})") from None
    except RecursionError:  # text the scan could not read: it is not JSON anyway
        raise _too_deep() from None


_scanstring: Final[Callable[[str, int], tuple[str, int]]] = json.decoder.scanstring  # type: ignore[attr-defined]
_JSON_TOKEN: Final = re.compile(r'["\[\]{}]')
_DEPTH_STEP: Final = {"[": 1, "{": 1, "]": -1, "}": -1}


def _json_depth(text: str) -> int:
    """How deeply the arrays and objects of JSON *text* nest (strings skipped), in one pass."""
    return max(itertools.accumulate(map(_DEPTH_STEP.__getitem__, _json_brackets(text))), default=0)


def _json_brackets(text: str) -> Iterator[str]:
    position = 0
    while (found := _JSON_TOKEN.search(text, position)) is not None:
        bracket = found.group()
        if bracket != '"':
            yield bracket
            position = found.end()
            continue
        try:
            position = _scanstring(text, found.end())[1]
        except ValueError:  # an unfinished string: json.loads will say where
            return


def _load_yaml(text: str) -> Any:
    yaml = _yaml()
    loader = None
    try:
        loader = _safe_loader(yaml)(text)  # reading starts here: it can refuse the text
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        raise ValidationError(f"not valid YAML ({exc})") from None
    except RecursionError:  # pragma: no cover - the loader stops at MAX_NESTING first
        raise _too_deep() from None
    finally:
        if loader is not None:
            loader.dispose()


def _safe_loader(yaml: Any) -> Any:
    """PyYAML's safe loader, bounded: nesting, aliases, and the values they expand to."""

    class BoundedLoader(yaml.SafeLoader):  # type: ignore[misc]
        def __init__(self, stream: str) -> None:
            super().__init__(stream)
            self.depth = 0
            self.aliases = 0
            self.open_anchors: dict[str, int] = {}

        def compose_node(self, parent: Any, index: Any) -> Any:
            event = self.peek_event()
            if isinstance(event, yaml.AliasEvent):
                self.aliases += 1
                if self.aliases > MAX_ALIASES:
                    raise ValidationError(f"the rule file uses more than {MAX_ALIASES} aliases")
                if self.open_anchors.get(event.anchor):
                    raise ValidationError(
                        f"the alias *{event.anchor} is inside the value it names: "
                        "a rule file cannot refer to itself"
                    )
                return super().compose_node(parent, index)
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise _too_deep()
            anchor = getattr(event, "anchor", None)
            if anchor is not None:
                self.open_anchors[anchor] = self.open_anchors.get(anchor, 0) + 1
            try:
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1
                if anchor is not None:
                    self.open_anchors[anchor] -= 1

        def construct_document(self, node: Any) -> Any:
            if _expanded_size(yaml, node, {}) > MAX_VALUES:
                raise ValidationError(
                    f"the rule file stands for more than {MAX_VALUES} values once its "
                    "aliases are expanded"
                )
            return super().construct_document(node)

    return BoundedLoader


def _expanded_size(yaml: Any, node: Any, sizes: dict[int, int]) -> int:
    """How many values *node* stands for, each alias counted in full (shared nodes once)."""
    key = id(node)
    found = sizes.get(key)
    if found is not None:
        return found
    size = 1
    if isinstance(node, yaml.SequenceNode):
        for child in node.value:
            size += _expanded_size(yaml, child, sizes)
            if size > MAX_VALUES:
                break
    elif isinstance(node, yaml.MappingNode):
        for name, value in node.value:
            size += _expanded_size(yaml, name, sizes) + _expanded_size(yaml, value, sizes)
            if size > MAX_VALUES:
                break
    sizes[key] = size
    return size


def format_of(path: Path) -> str:
    """`"yaml"` for .yaml/.yml files, else `"json"`."""
    return "yaml" if path.suffix.lower() in {".yaml", ".yml"} else "json"


def _yaml() -> Any:
    try:
        import yaml  # noqa: PLC0415 - an optional dependency, loaded when asked for
    except ImportError as exc:
        msg = "YAML rule sets need PyYAML: pip install 'omnikit[yaml]'"
        raise RuleError(msg) from exc
    return yaml
