"""Rule sets to and from JSON and YAML, with errors that name the rule and the path."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import cattrs

from omnikit.converters import make_converter, structure
from omnikit.errors import RuleError, RuleLimitError, RuleSyntaxError, ValidationError
from omnikit.rules._ast import JSONLOGIC_OPERATIONS, Node, from_jsonlogic, to_jsonlogic
from omnikit.rules._decision import Strategy
from omnikit.rules._domain import DOMAIN_OPERATIONS, Operation
from omnikit.rules._rule import Experiment, Rule, as_condition
from omnikit.rules._rules import RuleSet

__all__ = ["dump", "load", "rules_converter", "ruleset_from_data", "ruleset_to_data"]

FORMAT = "omnikit.rules/1"


def _structure_node(value: Any, _: type) -> Node:
    return as_condition(value)


def rules_converter() -> cattrs.Converter:
    """The omnikit converter, taught to write conditions as JsonLogic."""
    conv = make_converter()
    conv.register_unstructure_hook(Node, to_jsonlogic)
    conv.register_unstructure_hook_func(
        lambda t: isinstance(t, type) and issubclass(t, Node), to_jsonlogic
    )
    conv.register_structure_hook(Node, _structure_node)
    return conv


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


def ruleset_from_data(data: Any, *, operations: Mapping[str, Operation] | None = None) -> RuleSet:
    """
    A rule set from data `ruleset_to_data` wrote (or a person did).

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
        try:
            rules.append(structure(raw, Rule, converter=_CONVERTER))
        except ValidationError as exc:
            errors.extend(
                f"{where}.{line}" if not line.startswith("[") else f"{where}{line}"
                for line in exc.errors
            )
        if isinstance(raw, Mapping):
            for part in ("condition", "score"):
                if raw.get(part) is None:
                    continue
                try:
                    from_jsonlogic(raw[part], operations=known)
                except RuleSyntaxError as exc:
                    errors.append(f"{where}.{part}.{exc.path}: {exc.reason}")
                except RuleLimitError as exc:
                    errors.append(f"{where}.{part}: {exc}")
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
        return RuleSet(
            rules,
            id=str(data.get("id", "default")),
            strategy=strategy,
            operations=operations,
            experiments=experiments,
        )
    except RuleError as exc:
        position = next((i for i, r in enumerate(rules) if r.id == exc.rule_id), None)
        where = f"rules[{position}] ({exc.rule_id!r})" if position is not None else "rules"
        raise ValidationError(
            f"{where}.{getattr(exc, 'path', '') or 'condition'}: {str(exc).split(': ', 2)[-1]}"
        ) from None


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
    text: str, *, format: str = "json", operations: Mapping[str, Operation] | None = None
) -> RuleSet:
    """A rule set from JSON or YAML text."""
    if format == "json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ValidationError(f"not valid JSON ({exc})") from None
    elif format == "yaml":
        yaml = _yaml()
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ValidationError(f"not valid YAML ({exc})") from None
    else:
        raise ValidationError(f"format: expected 'json' or 'yaml', got {format!r}")
    return ruleset_from_data(data, operations=operations)


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
