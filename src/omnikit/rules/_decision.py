"""
Decisions: what a rule set chose, what became of each rule it considered, and why.

`Strategy` is how a rule set picks among the rules that match; a `Decision` holds the chosen
rules (`Chosen`) and an outcome for every rule considered (`RuleOutcome`), and explains itself
rule by rule (`Explanation`). A decision made quickly (see `RuleSet.decide`) leaves some fields
for later: they are made when first read, from what the rule set left with it.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

import attrs

from omnikit.errors import NotFoundError
from omnikit.rules._domain import Env
from omnikit.rules._lang.compiler import bind
from omnikit.rules._lang.trace import Trace, trace
from omnikit.rules._rule import Action

if TYPE_CHECKING:  # the rule set makes decisions: it imports this module
    from omnikit.rules._rules import RuleSet, _Bucket

__all__ = [
    "DECISION_EVENT",
    "Chosen",
    "Decision",
    "Explanation",
    "Outcome",
    "RuleExplanation",
    "RuleOutcome",
    "Strategy",
]

DECISION_EVENT: Final = "Decision Made"
"""The touchpoint name a recorded decision is stored under; caps count these."""


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
    _pending: Any = attrs.field(default=None, eq=False, repr=False, alias="_pending")
    """What the fields left unset are made from (see `RuleSet.decide`)."""

    if not TYPE_CHECKING:  # mypy would take any attribute for one

        def __getattr__(self, name: str) -> Any:
            # Only unset slots come here: those of a decision made quickly, left for later.
            pending = self._pending
            if pending is not None and name in _LATER:
                bucket, ruleset, data, env = pending
                if name == "outcomes":
                    value = _outcomes(bucket, self.chosen, ruleset.strategy)
                else:
                    value = {"_ruleset": ruleset, "_data": data, "_env": env}[name]
                object.__setattr__(self, name, value)
                return value
            msg = f"{type(self).__name__!r} object has no attribute {name!r}"
            raise AttributeError(msg)

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

        The trace shows which parts of the condition held or failed, with what values. Each
        condition is evaluated once more, as the decision evaluated it, within the rule
        set's limits: an explanation costs what the decision did, and a condition that
        stopped at a limit in the decision stops at the same place, shown in its trace.

        Added in version 0.1.0.
        """
        if self._ruleset is None or self._env is None:
            return Explanation(decision=self, rules=())
        ops = bind(self._ruleset.operations, self._env)
        limits = self._ruleset.limits
        rules = []
        for outcome in self.outcomes:
            rule = self._ruleset.rule(outcome.rule_id)
            rules.append(
                RuleExplanation(
                    rule_id=outcome.rule_id,
                    description=rule.description,
                    outcome=outcome.outcome,
                    detail=outcome.detail,
                    condition=trace(rule.condition, self._data, ops, limits),
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
        """
        The explanation of one rule.

        Raises:
            NotFoundError: If the decision did not consider that rule.
        """
        for rule in self.rules:
            if rule.rule_id == rule_id:
                return rule
        raise NotFoundError("rule", rule_id)


def _outcomes(
    bucket: _Bucket, chosen: Sequence[Chosen], strategy: Strategy
) -> tuple[RuleOutcome, ...]:
    """The outcomes of a decision in a plain bucket: its matches were chosen."""
    held = [bucket.positions[item.rule_id] for item in chosen]
    if strategy is Strategy.FIRST_MATCH and held:
        first = held[0]
        return (
            *bucket.not_matched[:first],
            bucket.chosen_outcomes[first],
            *bucket.not_needed[first + 1 :],
        )
    outcomes = list(bucket.not_matched)
    chosen_outcomes = bucket.chosen_outcomes
    for index in held:
        outcomes[index] = chosen_outcomes[index]
    return tuple(outcomes)


_LATER: Final = frozenset({"outcomes", "_ruleset", "_data", "_env"})
"""Fields of a decision made quickly that are made when first read."""

_new: Final = object.__new__
_set_customer_id: Final = Decision.__dict__["customer_id"].__set__
_set_event: Final = Decision.__dict__["event"].__set__
_set_at: Final = Decision.__dict__["at"].__set__
_set_strategy: Final = Decision.__dict__["strategy"].__set__
_set_chosen: Final = Decision.__dict__["chosen"].__set__
_set_pending: Final = Decision.__dict__["_pending"].__set__
