"""Rules, rule sets and decisions."""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

import attrs

from omnikit._models.consent import aware
from omnikit.errors import RuleSyntaxError, ValidationError
from omnikit.rules import _js
from omnikit.rules._ast import JSONLOGIC_OPERATIONS, Literal, Node, Op, from_jsonlogic, walk
from omnikit.rules._builder import Expr
from omnikit.rules._compile import Compiled, bind, compile_condition
from omnikit.rules._domain import DOMAIN_OPERATIONS, Env, Operation
from omnikit.rules._explain import Trace, trace

__all__ = [
    "Action",
    "Cap",
    "Chosen",
    "Decision",
    "Experiment",
    "Outcome",
    "Rule",
    "RuleOutcome",
    "RuleSet",
    "Strategy",
    "Variant",
    "as_condition",
]

_NAME: Final = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
DECISION_EVENT: Final = "Decision Made"
"""The touchpoint name a recorded decision is stored under; caps count these."""


def as_condition(value: Any) -> Node:
    """
    A condition node from a node, a builder `Expr`, or JsonLogic data.

    Any operation name is accepted here; a rule set checks the names against its operations.

    Added in version 0.1.0.
    """
    if isinstance(value, Node):
        return value
    if isinstance(value, Expr):
        return value.node
    return from_jsonlogic(value, operations=None)


def _optional_condition(value: Any) -> Node | None:
    return None if value is None else as_condition(value)


class Strategy(enum.StrEnum):
    """
    How a rule set picks among the rules that match.

    Added in version 0.1.0.
    """

    FIRST_MATCH = "first_match"
    """The highest-priority matching rule only."""
    ALL_MATCHES = "all_matches"
    """Every matching rule, by priority."""
    BEST_SCORE = "best_score"
    """Every matching rule, best score first (see `Rule.score`); `limit` keeps the top ones."""


def _check_type(_instance: object, _attribute: object, value: Any) -> None:
    if not isinstance(value, str) or not _NAME.match(value):
        raise ValidationError(f"type: {value!r} is not an action type (lower-case, digits, '_')")


@attrs.define(frozen=True, kw_only=True)
class Action:
    """
    What a rule does when it is chosen: data for the host to act on.

    Built-in types (any other lower-case name is a host-defined action type):
    `offer`, `content`, `recommendation`, `channel`, `tag`, `loyalty_points`.

    Added in version 0.1.0.
    """

    type: str = attrs.field(validator=_check_type)
    id: str | None = None
    params: Mapping[str, Any] = attrs.field(factory=dict)

    @classmethod
    def offer(cls, id: str, **params: Any) -> Action:
        """An offer (`Action.offer("free-shipping", code="SHIPFREE")`)."""
        return cls(type="offer", id=id, params=params)

    @classmethod
    def content(cls, id: str, **params: Any) -> Action:
        """A content variant to show (`Action.content("hero-winter", slot="home")`)."""
        return cls(type="content", id=id, params=params)

    @classmethod
    def recommend(cls, *product_ids: str, strategy: str | None = None, **params: Any) -> Action:
        """Product recommendations: given products, or a *strategy* (`"bought_together"`)."""
        found: dict[str, Any] = dict(params)
        if product_ids:
            found["products"] = list(product_ids)
        if strategy:
            found["strategy"] = strategy
        return cls(type="recommendation", params=found)

    @classmethod
    def channel(cls, name: str) -> Action:
        """The channel to reach the customer on."""
        return cls(type="channel", id=name)

    @classmethod
    def tag(cls, name: str) -> Action:
        """A tag to put on the customer."""
        return cls(type="tag", id=name)

    @classmethod
    def points(cls, amount: int, *, reason: str = "") -> Action:
        """Loyalty points to award."""
        return cls(
            type="loyalty_points",
            params={"amount": amount, **({"reason": reason} if reason else {})},
        )


@attrs.define(frozen=True, kw_only=True)
class Cap:
    """
    At most *times* choices of a rule per customer in any *days* days.

    Counted from recorded decisions (`Hub.decide(..., record=True)`).

    Added in version 0.1.0.
    """

    times: int = attrs.field(validator=attrs.validators.ge(1))
    days: float = attrs.field(validator=attrs.validators.gt(0))


@attrs.define(frozen=True, kw_only=True)
class Variant:
    """
    One arm of an experiment; its *actions*, when given, replace the rule's.

    Added in version 0.1.0.
    """

    id: str
    weight: float = attrs.field(default=1.0, validator=attrs.validators.gt(0))
    actions: tuple[Action, ...] = ()


def _share(_instance: object, _attribute: object, value: float) -> None:
    if not 0.0 <= value < 1.0:
        raise ValidationError(f"holdout: expected a share from 0 to below 1, got {value!r}")


@attrs.define(frozen=True, kw_only=True)
class Experiment:
    """
    Variants of a rule, and a holdout that gets nothing.

    Assignment is a stable hash of the customer and the experiment: a customer sees the same
    arm on every channel.

    Added in version 0.1.0.
    """

    id: str
    variants: tuple[Variant, ...] = ()
    holdout: float = attrs.field(default=0.0, validator=_share)

    def bucket(self, customer_id: str) -> float:
        """The customer's stable position in [0, 1) for this experiment."""
        digest = hashlib.sha256(f"{self.id}\x00{customer_id}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    def assign(self, customer_id: str) -> Variant | None:
        """
        The customer's variant, or `None` in the holdout.

        Added in version 0.1.0.
        """
        point = self.bucket(customer_id)
        if point < self.holdout:
            return None
        if not self.variants:
            return Variant(id="treatment")
        rest = (point - self.holdout) / (1 - self.holdout)
        total = sum(v.weight for v in self.variants)
        edge = 0.0
        for variant in self.variants:
            edge += variant.weight / total
            if rest < edge:
                return variant
        return self.variants[-1]


@attrs.define(frozen=True, kw_only=True)
class Rule:
    """
    A condition and what to do when it holds.

    Attributes:
        id: Unique in its rule set.
        condition: When the rule applies: a builder expression, JsonLogic, or a node.
        actions: What to do when it is chosen.
        description: For people.
        priority: Higher is considered first (ties: by id).
        score: For the best-score strategy: a number, or a condition giving one (evaluated
            like the condition); defaults to *priority*.
        starts_at: The rule applies from then on.
        ends_at: The rule no longer applies from then on.
        cap: At most so many choices per customer per period.
        group: Mutually exclusive group: once a rule of the group is chosen, the others are
            skipped for that decision.
        experiment: Variants and a holdout.
        events: Event names that trigger the rule; when empty, they are read from the
            condition (`event.name == "X"` or `event.name in [...]` at its top).

    Added in version 0.1.0.
    """

    id: str = attrs.field(validator=attrs.validators.min_len(1))
    condition: Node = attrs.field(default=Literal(value=True), converter=as_condition)
    actions: tuple[Action, ...] = ()
    description: str = ""
    priority: int = 0
    score: Node | None = attrs.field(default=None, converter=_optional_condition)
    starts_at: dt.datetime | None = attrs.field(default=None, validator=aware)
    ends_at: dt.datetime | None = attrs.field(default=None, validator=aware)
    cap: Cap | None = None
    group: str | None = None
    experiment: Experiment | None = None
    events: tuple[str, ...] = ()

    def triggers(self) -> frozenset[str] | None:
        """The event names that can make this rule match, or `None` for any (or none)."""
        if self.events:
            return frozenset(self.events)
        return _event_names(self.condition)


def _event_names(node: Node) -> frozenset[str] | None:
    """Event names a condition requires at its top level, if it requires any."""
    if isinstance(node, Op) and node.op == "and":
        found: frozenset[str] | None = None
        for arg in node.args:
            names = _event_names(arg)
            if names is not None:
                found = names if found is None else found & names
        return found
    if isinstance(node, Op) and node.op in {"==", "==="} and len(node.args) == 2:
        left, right = node.args
        for a, b in ((left, right), (right, left)):
            if _is_event_name(a) and isinstance(b, Literal) and isinstance(b.value, str):
                return frozenset({b.value})
    if isinstance(node, Op) and node.op == "in" and len(node.args) == 2:
        needle, haystack = node.args
        if _is_event_name(needle):
            items = getattr(haystack, "items", None)
            if items is not None and all(
                isinstance(i, Literal) and isinstance(i.value, str) for i in items
            ):
                return frozenset(i.value for i in items)
            if (
                isinstance(haystack, Literal)
                and isinstance(haystack.value, list)
                and all(isinstance(v, str) for v in haystack.value)
            ):
                return frozenset(haystack.value)
    return None


def _is_event_name(node: Node) -> bool:
    return (
        isinstance(node, Op)
        and node.op == "var"
        and len(node.args) == 1
        and isinstance(node.args[0], Literal)
        and node.args[0].value == "event.name"
    )


class Outcome(enum.StrEnum):
    """
    What happened to a rule in a decision.

    Added in version 0.1.0.
    """

    CHOSEN = "chosen"
    NOT_MATCHED = "not_matched"
    OUTSIDE_WINDOW = "outside_window"
    CAPPED = "capped"
    GROUP_TAKEN = "group_taken"
    HOLDOUT = "holdout"
    NOT_NEEDED = "not_needed"
    """A first-match decision had already chosen a rule."""
    ERROR = "error"


@attrs.define(frozen=True, kw_only=True)
class Chosen:
    """
    A rule a decision chose, with its actions (after any experiment) and score.

    Added in version 0.1.0.
    """

    rule_id: str
    actions: tuple[Action, ...]
    score: float = 0.0
    variant: str | None = None


@attrs.define(frozen=True, kw_only=True)
class RuleOutcome:
    """
    One rule considered by a decision and what became of it.

    Added in version 0.1.0.
    """

    rule_id: str
    outcome: Outcome
    variant: str | None = None
    detail: str = ""


@attrs.define(frozen=True, kw_only=True)
class Decision:
    """
    What a rule set decided for a customer and an event.

    Attributes:
        customer_id: Who it was for.
        event: The name of the event at hand, if any.
        at: When.
        chosen: The chosen rules with their actions, best first.
        outcomes: Every rule considered and what became of it.

    Added in version 0.1.0.
    """

    customer_id: str | None
    event: str | None
    at: dt.datetime
    strategy: Strategy
    chosen: tuple[Chosen, ...] = ()
    outcomes: tuple[RuleOutcome, ...] = ()
    _ruleset: RuleSet | None = attrs.field(default=None, eq=False, repr=False, alias="_ruleset")
    _data: Any = attrs.field(default=None, eq=False, repr=False, alias="_data")
    _env: Env | None = attrs.field(default=None, eq=False, repr=False, alias="_env")

    @property
    def actions(self) -> tuple[Action, ...]:
        """Every chosen action, best rule first."""
        return tuple(action for chosen in self.chosen for action in chosen.actions)

    @property
    def rule_ids(self) -> tuple[str, ...]:
        """The ids of the chosen rules."""
        return tuple(chosen.rule_id for chosen in self.chosen)

    def explain(self) -> Explanation:
        """
        Explain every rule considered: its outcome, and its condition traced.

        The trace shows which parts of the condition held or failed, with what values.

        Added in version 0.1.0.
        """
        if self._ruleset is None or self._env is None:
            return Explanation(decision=self, rules=())
        ops = bind(self._ruleset.operations, self._env)
        rules = []
        for outcome in self.outcomes:
            rule = self._ruleset.rule(outcome.rule_id)
            rules.append(
                RuleExplanation(
                    rule_id=outcome.rule_id,
                    description=rule.description,
                    outcome=outcome.outcome,
                    detail=outcome.detail,
                    condition=trace(rule.condition, self._data, ops),
                )
            )
        return Explanation(decision=self, rules=tuple(rules))


@attrs.define(frozen=True, kw_only=True)
class RuleExplanation:
    """
    Why one rule was chosen or not, with its condition traced.

    Added in version 0.1.0.
    """

    rule_id: str
    description: str
    outcome: Outcome
    detail: str
    condition: Trace


@attrs.define(frozen=True, kw_only=True)
class Explanation:
    """
    A decision explained rule by rule; `str()` gives a readable report.

    Added in version 0.1.0.
    """

    decision: Decision
    rules: tuple[RuleExplanation, ...]

    def __str__(self) -> str:
        d = self.decision
        lines = [
            f"Decision for {d.customer_id or 'an anonymous customer'} on {d.event or 'no event'} at {d.at.isoformat()}"
        ]
        for rule in self.rules:
            detail = f" ({rule.detail})" if rule.detail else ""
            lines.append(f"- {rule.rule_id}: {rule.outcome.value}{detail}")
            lines.extend("    " + line for line in rule.condition.lines())
        return "\n".join(lines)

    def rule(self, rule_id: str) -> RuleExplanation:
        """The explanation of one rule."""
        for rule in self.rules:
            if rule.rule_id == rule_id:
                return rule
        raise KeyError(rule_id)


@attrs.define(frozen=True, slots=True)
class _Prepared:
    rule: Rule
    run: Compiled
    score: Compiled | None


class RuleSet:
    """
    Rules that decide together, compiled once and indexed by the events that trigger them.

    ```python
    rules = RuleSet(
        [
            Rule(
                id="vip",
                condition=customer.traits["tier"] == "gold",
                actions=(Action.offer("vip-10"),),
            ),
        ],
        strategy=Strategy.FIRST_MATCH,
    )
    ```

    Args:
        rules: The rules; ids must be unique.
        id: The rule set's name (recorded with decisions).
        strategy: First match, all matches, or best score.
        operations: Extra operations, `fn(env, *arguments)`, by name, beside JsonLogic's and
            omnikit's domain operations.

    Raises:
        ValidationError: Duplicate rule ids.
        RuleSyntaxError: A condition uses an operation that is not known; the error names the
            rule and the path inside it.

    Added in version 0.1.0.
    """

    def __init__(
        self,
        rules: Iterable[Rule],
        *,
        id: str = "default",
        strategy: Strategy | str = Strategy.ALL_MATCHES,
        operations: Mapping[str, Operation] | None = None,
    ) -> None:
        self.id = id
        self.strategy = Strategy(strategy)
        self.rules: tuple[Rule, ...] = tuple(sorted(rules, key=lambda r: (-r.priority, r.id)))
        self.operations: dict[str, Operation] = {**DOMAIN_OPERATIONS, **(operations or {})}
        clash = set(operations or ()) & JSONLOGIC_OPERATIONS
        if clash:
            raise ValidationError(
                f"operations: {', '.join(sorted(clash))} would replace JsonLogic's own"
            )
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValidationError(f"rules: two rules have the id {rule.id!r}")
            seen.add(rule.id)
            self._check_operations(rule)
        self._by_id = {rule.id: rule for rule in self.rules}
        self._prepared: list[_Prepared] | None = None
        self._by_event: dict[str, list[_Prepared]] = {}
        self._always: list[_Prepared] = []

    def _check_operations(self, rule: Rule) -> None:
        known = JSONLOGIC_OPERATIONS | set(self.operations)
        for part, node in (("condition", rule.condition), ("score", rule.score)):
            if node is None:
                continue
            for sub in walk(node):
                if isinstance(sub, Op) and sub.op not in known:
                    raise RuleSyntaxError(
                        f"unknown operation {sub.op!r}", path=part, rule_id=rule.id
                    )

    def rule(self, rule_id: str) -> Rule:
        """The rule with that id."""
        return self._by_id[rule_id]

    # -- notebooks ---------------------------------------------------------------------------

    def simulate(
        self,
        hub: Any,
        *,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        customers: Iterable[Any] | None = None,
        outcomes: str = "chosen",
        places: Mapping[str, Any] | None = None,
        frame: str | None = None,
    ) -> Any:
        """
        Try the rule set on stored history: who would have got what, and why.

        Every stored event in [*since*, *until*) is replayed in time order; the customer's
        profile is folded from their touchpoints up to that moment and the rule set decides
        with the history known then. Nothing is written.

        Args:
            hub: The hub whose store holds the history.
            since: The first moment to replay (default: the beginning).
            until: The end of the window (default: now).
            customers: Customers (or ids) to replay; default every customer.
            outcomes: `"chosen"` rows only, or `"all"` rules considered with their outcome.
            places: Stores and other places for `within_km`.
            frame: `"pandas"`, `"polars"`, `"rows"` (a list of dicts), or `None` for the first
                of those installed.

        Returns:
            A table with columns customer_id, at, event, channel, rule_id, outcome, variant,
            actions, detail.

        Added in version 0.1.0.
        """
        from omnikit.rules._simulate import simulate  # noqa: PLC0415 - it imports this module

        return simulate(
            self,
            hub,
            since=since,
            until=until,
            customers=customers,
            outcomes=outcomes,
            places=places,
            frame=frame,
        )

    # -- data --------------------------------------------------------------------------------

    def to_data(self) -> dict[str, Any]:
        """
        The rule set as JSON-ready data, conditions as JsonLogic.

        Added in version 0.1.0.
        """
        from omnikit.rules._serialize import ruleset_to_data  # noqa: PLC0415 - it imports this module

        return ruleset_to_data(self)

    @classmethod
    def from_data(cls, data: Any, *, operations: Mapping[str, Operation] | None = None) -> RuleSet:
        """
        A rule set from data, e.g. parsed JSON or YAML.

        Raises:
            ValidationError: Each problem, naming the rule (index and id) and the path.

        Added in version 0.1.0.
        """
        from omnikit.rules._serialize import ruleset_from_data  # noqa: PLC0415

        return ruleset_from_data(data, operations=operations)

    def dumps(self, format: str = "json") -> str:
        """
        The rule set as `"json"` or `"yaml"` text (YAML needs `omnikit[yaml]`).

        Added in version 0.1.0.
        """
        from omnikit.rules._serialize import dump  # noqa: PLC0415

        return dump(self, format=format)

    @classmethod
    def loads(
        cls,
        text: str,
        format: str = "json",
        *,
        operations: Mapping[str, Operation] | None = None,
    ) -> RuleSet:
        """
        A rule set from `"json"` or `"yaml"` text.

        Added in version 0.1.0.
        """
        from omnikit.rules._serialize import load  # noqa: PLC0415

        return load(text, format=format, operations=operations)

    def save(self, path: str | Path) -> None:
        """
        Write the rule set to *path*, as YAML for `.yaml`/`.yml`, else JSON.

        Added in version 0.1.0.
        """
        from omnikit.rules._serialize import format_of  # noqa: PLC0415

        target = Path(path)
        target.write_text(self.dumps(format_of(target)), encoding="utf-8")

    @classmethod
    def load(
        cls, path: str | Path, *, operations: Mapping[str, Operation] | None = None
    ) -> RuleSet:
        """
        Read a rule set from a `.json`, `.yaml` or `.yml` file.

        Added in version 0.1.0.
        """
        from omnikit.rules._serialize import format_of  # noqa: PLC0415

        source = Path(path)
        return cls.loads(
            source.read_text(encoding="utf-8"), format_of(source), operations=operations
        )

    def __len__(self) -> int:
        return len(self.rules)

    def __iter__(self) -> Any:
        return iter(self.rules)

    def __repr__(self) -> str:
        return f"<RuleSet {self.id!r}: {len(self.rules)} rules, {self.strategy.value}>"

    # -- compiling ---------------------------------------------------------------------------

    def _prepare(self) -> list[_Prepared]:
        if self._prepared is None:
            ops = dict(self.operations)
            prepared = []
            by_event: dict[str, list[_Prepared]] = {}
            always: list[_Prepared] = []
            for rule in self.rules:
                item = _Prepared(
                    rule=rule,
                    run=compile_condition(rule.condition, ops),
                    score=None if rule.score is None else compile_condition(rule.score, ops),
                )
                prepared.append(item)
                names = rule.triggers()
                if names is None:
                    always.append(item)
                else:
                    for name in names:
                        by_event.setdefault(name, []).append(item)
            order = {rule.id: i for i, rule in enumerate(self.rules)}
            for items in by_event.values():
                items.extend(always)
                items.sort(key=lambda p: order[p.rule.id])
            self._by_event, self._always, self._prepared = by_event, always, prepared
        return self._prepared

    def candidates(self, event: str | None) -> list[Rule]:
        """The rules worth evaluating for an event named *event* (`None`: no event)."""
        return [p.rule for p in self._candidates(event)]

    def _candidates(self, event: str | None) -> list[_Prepared]:
        self._prepare()
        if event is None:
            return self._always
        return self._by_event.get(event, self._always)

    # -- deciding ----------------------------------------------------------------------------

    def matching(self, data: Mapping[str, Any], env: Env | None = None, *, indexed: bool = True) -> list[str]:
        """
        The ids of the rules whose condition holds, in priority order.

        Only conditions: no windows, caps, groups or experiments (that is `decide()`). A
        condition that raises counts as not holding.

        Added in version 0.1.0.
        """
        env = env or Env(now=dt.datetime.now(dt.UTC))
        event = data.get("event")
        name = event.get("name") if isinstance(event, Mapping) else None
        pool = self._candidates(name if isinstance(name, str) else None) if indexed else self._prepare()
        truthy = _js.truthy
        found = []
        for item in pool:
            try:
                if truthy(item.run(data, env)):
                    found.append(item.rule.id)
            except Exception:  # noqa: BLE001, S112 - a broken rule doesn't hold
                continue
        return found

    def decide(
        self,
        data: Mapping[str, Any],
        env: Env,
        *,
        customer_id: str | None = None,
        limit: int | None = None,
        indexed: bool = True,
    ) -> Decision:
        """
        Decide for the customer and event in *data*, at `env.now`.

        *data* is what conditions read: `{"customer": ..., "event": ..., "context": ...}`.

        Args:
            data: What conditions read.
            env: The time, history, segments and places of the decision.
            customer_id: Who it is for (experiments hash it; caps count their decisions).
            limit: The most rules to choose.
            indexed: Evaluate only the rules the event can trigger (the default), or all.

        Added in version 0.1.0.
        """
        event = data.get("event")
        name = event.get("name") if isinstance(event, Mapping) else None
        pool = (
            self._candidates(name if isinstance(name, str) else None)
            if indexed
            else self._prepare()
        )
        now = env.now
        outcomes: list[RuleOutcome] = []
        chosen: list[Chosen] = []
        groups: set[str] = set()
        first_match = self.strategy is Strategy.FIRST_MATCH
        for item in pool:
            rule = item.rule
            if first_match and chosen:
                outcomes.append(RuleOutcome(rule_id=rule.id, outcome=Outcome.NOT_NEEDED))
                continue
            if (rule.starts_at is not None and now < rule.starts_at) or (
                rule.ends_at is not None and now >= rule.ends_at
            ):
                outcomes.append(RuleOutcome(rule_id=rule.id, outcome=Outcome.OUTSIDE_WINDOW))
                continue
            try:
                held = _js.truthy(item.run(data, env))
            except Exception as exc:  # noqa: BLE001 - one broken rule must not stop the others
                outcomes.append(
                    RuleOutcome(rule_id=rule.id, outcome=Outcome.ERROR, detail=str(exc))
                )
                continue
            if not held:
                outcomes.append(RuleOutcome(rule_id=rule.id, outcome=Outcome.NOT_MATCHED))
                continue
            if rule.group is not None and rule.group in groups:
                outcomes.append(
                    RuleOutcome(rule_id=rule.id, outcome=Outcome.GROUP_TAKEN, detail=rule.group)
                )
                continue
            if rule.cap is not None and _used(env, rule, now) >= rule.cap.times:
                detail = f"{rule.cap.times} in {rule.cap.days:g} days"
                outcomes.append(RuleOutcome(rule_id=rule.id, outcome=Outcome.CAPPED, detail=detail))
                continue
            actions = rule.actions
            variant_id = None
            if rule.experiment is not None:
                variant = rule.experiment.assign(customer_id or "")
                if variant is None:
                    outcomes.append(
                        RuleOutcome(
                            rule_id=rule.id, outcome=Outcome.HOLDOUT, detail=rule.experiment.id
                        )
                    )
                    if rule.group is not None:
                        groups.add(rule.group)
                    continue
                variant_id = variant.id
                actions = variant.actions or actions
            score = float(rule.priority)
            if item.score is not None:
                raw = _js.to_number(item.score(data, env))
                score = raw if raw == raw else float("-inf")  # noqa: PLR0124 - NaN scores last
            if rule.group is not None:
                groups.add(rule.group)
            chosen.append(Chosen(rule_id=rule.id, actions=actions, score=score, variant=variant_id))
            outcomes.append(
                RuleOutcome(rule_id=rule.id, outcome=Outcome.CHOSEN, variant=variant_id)
            )
        if self.strategy is Strategy.BEST_SCORE:
            chosen.sort(key=lambda c: -c.score)
        if limit is not None and len(chosen) > limit:
            dropped = {c.rule_id for c in chosen[limit:]}
            chosen = chosen[:limit]
            outcomes = [
                attrs.evolve(o, outcome=Outcome.NOT_NEEDED, detail=f"beyond limit {limit}")
                if o.rule_id in dropped
                else o
                for o in outcomes
            ]
        return Decision(
            customer_id=customer_id,
            event=name if isinstance(name, str) else None,
            at=now,
            strategy=self.strategy,
            chosen=tuple(chosen),
            outcomes=tuple(outcomes),
            _ruleset=self,
            _data=data,
            _env=env,
        )


def _used(env: Env, rule: Rule, now: dt.datetime) -> int:
    """How many recorded decisions chose *rule* within its cap's period."""
    days = rule.cap.days if rule.cap is not None else 0.0
    since = (now - dt.timedelta(days=days)).timestamp()
    count = 0
    for tp in env.history.events(DECISION_EVENT, since):
        rules = tp.properties.get("rules")
        if isinstance(rules, list) and rule.id in rules:
            count += 1
    return count
