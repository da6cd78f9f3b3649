"""
A rule and what it is made of: its condition, actions, window, cap, group and experiment.

Also what rule data shares: `as_condition()` (a condition from a builder expression,
JsonLogic or a node) and the attrs validators of its fields. A rule set (`_rules`) decides
with rules; this module knows nothing of deciding.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Mapping
from typing import Any, Final

import attrs

from omnikit._models.consent import aware
from omnikit.errors import RuleError, RuleSyntaxError, ValidationError
from omnikit.rules._lang.builder import Expr
from omnikit.rules._lang.nodes import Array, Literal, Node, Op, from_jsonlogic

__all__ = ["Action", "Cap", "Experiment", "Rule", "Variant", "as_condition", "checked_condition"]

_NAME: Final = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


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


_JSONLOGIC_EXAMPLE: Final = (
    '{"==": [{"var": "customer.traits.tier"}, "gold"]}, or in Python '
    'customer.traits["tier"] == "gold"'
)


def checked_condition(value: Any) -> Node:
    """
    A condition node, as `as_condition()` makes it, refused where it is surely a mistake.

    Text (`"customer.traits.tier == 'gold'"`, even `"false"`) is a string to JsonLogic, true
    whenever it is not empty; so is any value that is not an operation, `true` or `false`
    (a number, `null`, an object, an array of conditions): each would hold for everyone, or
    for no one, whatever the customer.

    Raises:
        RuleSyntaxError: Naming what was given and how to write it.

    Added in version 0.1.0.
    """
    node = as_condition(value)
    if isinstance(node, Literal) and isinstance(node.value, str):
        raise RuleSyntaxError(
            f"a condition is JsonLogic or a builder expression, not text: {_short(node.value)} "
            f"would be a string, true for everyone. Write it as {_JSONLOGIC_EXAMPLE}",
        )
    if isinstance(node, Array):
        raise RuleSyntaxError(
            "a condition is one operation, not an array: an array is true whenever it is not "
            'empty. Combine conditions with {"and": [...]} or {"or": [...]} (& or | in Python)',
        )
    if isinstance(node, Literal) and not isinstance(node.value, bool):
        raise RuleSyntaxError(
            f"a condition is an operation, true or false, not {_short(node.value)}, which "
            f"decides the same whatever the customer. Write it as {_JSONLOGIC_EXAMPLE}",
        )
    return node


def _checked_score(value: Any) -> Node:
    node = as_condition(value)
    if isinstance(node, Literal) and isinstance(node.value, str):
        raise RuleSyntaxError(
            f"a score is a number or a condition giving one, not text: {_short(node.value)}. "
            'Write a number (10), or JsonLogic ({"var": "customer.stats.revenue"})',
        )
    return node


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:79] + "…"


def _named(part: str, value: Any, rule: Any) -> Node:
    """*value* as a condition; an error raised for it names the rule and the part."""
    try:
        return checked_condition(value) if part == "condition" else _checked_score(value)
    except RuleSyntaxError as exc:
        if exc.rule_id is not None:
            raise
        path = f"{part}.{exc.path}" if exc.path and exc.path != "rule" else part
        raise RuleSyntaxError(exc.reason, path=path, rule_id=_id_of(rule)) from exc
    except RuleError as exc:
        if exc.rule_id is not None:
            raise
        raise type(exc)(f"{part}: {exc}", rule_id=_id_of(rule)) from exc


def _id_of(rule: Any) -> str | None:
    # Converters run as the fields are set, in order: `id` first, not yet validated.
    rule_id = getattr(rule, "id", None)
    return rule_id if isinstance(rule_id, str) else None


def _condition(value: Any, rule: Any) -> Node:
    return _named("condition", value, rule)


def _optional_score(value: Any, rule: Any) -> Node | None:
    return None if value is None else _named("score", value, rule)


def number(
    field: str, *, low: float | None = None, inclusive: bool = True, integer: bool = False
) -> Any:
    """An attrs validator: a number (an integer, with *integer*) above *low*."""

    def check(_instance: object, _attribute: object, value: Any) -> None:
        kinds = (int,) if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds):
            expected = "an integer" if integer else "a number"
            raise ValidationError(f"{field}: expected {expected}, got {value!r}")
        if low is not None and (value < low if inclusive else value <= low):
            bound = "at least" if inclusive else "more than"
            raise ValidationError(f"{field}: must be {bound} {low:g}, got {value!r}")

    return check


def text(field: str) -> Any:
    """An attrs validator: a non-empty string."""

    def check(_instance: object, _attribute: object, value: Any) -> None:
        if not isinstance(value, str) or not value:
            raise ValidationError(f"{field}: expected a non-empty string, got {value!r}")

    return check


def _check_type(_instance: object, _attribute: object, value: Any) -> None:
    if not isinstance(value, str) or not _NAME.match(value):
        raise ValidationError(f"type: {value!r} is not an action type (lower-case, digits, '_')")


def _actions(value: Any) -> tuple[Action, ...]:
    """*value* as a tuple of actions; anything else is refused with how to write it."""
    if isinstance(value, Action):
        raise ValidationError(
            f"actions: expected a list of actions, got one; write ({_action_hint(value)},)"
        )
    if isinstance(value, (str, bytes, Mapping)) or not hasattr(value, "__iter__"):
        raise ValidationError(
            f"actions: expected a list of actions such as (Action.offer('gold-15'),), "
            f"got {_short(value)}"
        )
    actions = tuple(value)
    for index, action in enumerate(actions):
        if not isinstance(action, Action):
            raise ValidationError(
                f"actions[{index}]: expected an Action, got {_short(action)}; write "
                f"{_action_hint(action)} (or Action.content, Action.tag, ...; in a rule "
                "file, {type: offer, id: ...})"
            )
    return actions


def _action_hint(value: Any) -> str:
    if isinstance(value, Action):
        return repr(value)
    return f"Action.offer({value!r})" if isinstance(value, str) else "Action.offer('gold-15')"


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

    times: int = attrs.field(validator=number("times", low=1, integer=True))
    days: float = attrs.field(validator=number("days", low=0, inclusive=False))


@attrs.define(frozen=True, kw_only=True)
class Variant:
    """
    One arm of an experiment; its *actions*, when given, replace the rule's.

    Added in version 0.1.0.
    """

    id: str = attrs.field(validator=text("id"))
    weight: float = attrs.field(default=1.0, validator=number("weight", low=0, inclusive=False))
    actions: tuple[Action, ...] = attrs.field(default=(), converter=_actions)


def _share(_instance: object, _attribute: object, value: float) -> None:
    if not 0.0 <= value < 1.0:
        raise ValidationError(f"holdout: expected a share from 0 to below 1, got {value!r}")


@attrs.define(frozen=True, kw_only=True)
class Experiment:
    """
    Variants of a rule, and a holdout that gets nothing.

    Assignment is a stable hash of the customer and the experiment: a customer sees the same
    arm on every channel. A hub records the key it hashed (the customer's id when first
    assigned) in the profile, so the arm survives merges and unmerges.

    Added in version 0.1.0.
    """

    id: str = attrs.field(validator=text("id"))
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
        condition: When the rule applies: a builder expression, JsonLogic, or a node; an
            operation, `true` or `false` (text, numbers, objects and arrays are refused:
            they would decide the same for everyone, see `checked_condition`).
        actions: What to do when it is chosen: `Action`s (anything else is refused).
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

    id: str = attrs.field(validator=text("id"))
    condition: Node = attrs.field(
        default=Literal(value=True),
        converter=attrs.Converter(_condition, takes_self=True),  # type: ignore[misc]
    )
    actions: tuple[Action, ...] = attrs.field(default=(), converter=_actions)
    description: str = ""
    priority: int = attrs.field(default=0, validator=number("priority", integer=True))
    score: Node | None = attrs.field(
        default=None,
        converter=attrs.Converter(_optional_score, takes_self=True),  # type: ignore[misc]
    )
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
        return _required(self.condition, "event.name")

    def channel_triggers(self) -> frozenset[str] | None:
        """
        The decision channels (`context.channel`) this rule can match on, or `None` for any.

        Read from the condition's top (`context.channel == "app"`, `context.channel in
        [...]`), as event names are.
        """
        return _required(self.condition, "context.channel")


def _required(node: Node, path: str) -> frozenset[str] | None:
    """The strings a condition requires at *path*, at its top level, if it requires any."""
    if isinstance(node, Op) and node.op == "and":
        found: frozenset[str] | None = None
        for arg in node.args:
            names = _required(arg, path)
            if names is not None:
                found = names if found is None else found & names
        return found
    if isinstance(node, Op) and node.op in {"==", "==="} and len(node.args) == 2:
        left, right = node.args
        for a, b in ((left, right), (right, left)):
            if _reads(a, path) and isinstance(b, Literal) and isinstance(b.value, str):
                return frozenset({b.value})
    if isinstance(node, Op) and node.op == "in" and len(node.args) == 2:
        needle, haystack = node.args
        if _reads(needle, path):
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


def _reads(node: Node, path: str) -> bool:
    return (
        isinstance(node, Op)
        and node.op == "var"
        and len(node.args) == 1
        and isinstance(node.args[0], Literal)
        and node.args[0].value == path
    )
