"""
Writing conditions in Python: expressions that build the condition model.

```python
from omnikit.rules import customer, event, days_since

vip_browsing = (
    (customer.traits["tier"] == "gold")
    & (event.name == "Product Viewed")
    & (days_since(customer.stats.last_order_at) < 30)
)
vip_browsing.to_jsonlogic()  # the same condition as JsonLogic
```

Python's `and`, `or`, `not` and `in` can't be overloaded: use `&`, `|`, `~`, `.is_in()` and
`.contains()`.
"""

from __future__ import annotations

from typing import Any

from omnikit.rules._lang.nodes import Array, Literal, Node, Op, to_jsonlogic

__all__ = [
    "Expr",
    "context",
    "count_events",
    "customer",
    "days_since",
    "distance_km",
    "event",
    "hours_since",
    "in_segment",
    "lit",
    "local_hour",
    "local_time",
    "local_weekday",
    "op",
    "sum_events",
    "var",
    "within_km",
]


def node_of(value: Any) -> Node:
    """The condition node for *value*: an `Expr`'s node, a node, or a literal."""
    if isinstance(value, Expr):
        return value.node
    if isinstance(value, Node):
        return value
    if isinstance(value, list | tuple):
        return Array(tuple(node_of(item) for item in value))
    return Literal(value)


class Expr:
    """
    A condition (or part of one) being written in Python.

    Comparisons (`==`, `!=`, `<`, `<=`, `>`, `>=`) and arithmetic (`+`, `-`, `*`, `/`, `%`)
    build JsonLogic operations with JsonLogic's meaning; `&`, `|` and `~` are `and`, `or` and
    `!`. Attribute and item access extend a `var` path: `customer.traits["tier"]` reads
    `customer.traits.tier`.

    Added in version 0.1.0.
    """

    __slots__ = ("_path", "node")
    __hash__ = None  # type: ignore[assignment]  # `==` builds a condition, so no hashing

    def __init__(self, node: Node, *, path: str | None = None) -> None:
        self.node = node
        self._path = path

    def __repr__(self) -> str:
        return f"Expr({to_jsonlogic(self.node)!r})"

    def __bool__(self) -> bool:
        msg = (
            "a condition has no truth value in Python: combine with &, |, ~ instead of and, or, not"
        )
        raise TypeError(msg)

    def to_jsonlogic(self) -> Any:
        """This condition as JsonLogic."""
        return to_jsonlogic(self.node)

    # -- paths -------------------------------------------------------------------------------

    def __getattr__(self, name: str) -> Expr:
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name]

    def __getitem__(self, key: object) -> Expr:
        if self._path is None:
            msg = "only a data path (customer, event, context, var(...)) can be indexed"
            raise TypeError(msg)
        if not isinstance(key, str | int) or isinstance(key, bool):
            msg = f"a path step must be a string or an integer, got {key!r}"
            raise TypeError(msg)
        path = f"{self._path}.{key}" if self._path else str(key)
        return Expr(Op("var", (Literal(path),)), path=path)

    # -- comparisons -------------------------------------------------------------------------

    def _op(self, name: str, *others: Any) -> Expr:
        return Expr(Op(name, (self.node, *(node_of(o) for o in others))))

    def __eq__(self, other: object) -> Expr:  # type: ignore[override]
        return self._op("==", other)

    def __ne__(self, other: object) -> Expr:  # type: ignore[override]
        return self._op("!=", other)

    def __lt__(self, other: Any) -> Expr:
        return self._op("<", other)

    def __le__(self, other: Any) -> Expr:
        return self._op("<=", other)

    def __gt__(self, other: Any) -> Expr:
        return self._op(">", other)

    def __ge__(self, other: Any) -> Expr:
        return self._op(">=", other)

    def same_as(self, other: Any) -> Expr:
        """Strict equality (`===`): no type coercion."""
        return self._op("===", other)

    def between(self, low: Any, high: Any, *, inclusive: bool = True) -> Expr:
        """`low <= self <= high` (or `<` with *inclusive* false), in one operation."""
        return Expr(Op("<=" if inclusive else "<", (node_of(low), self.node, node_of(high))))

    def is_in(self, collection: Any) -> Expr:
        """Membership: in a list of values, or a substring of a string."""
        return self._op("in", collection)

    def contains(self, item: Any) -> Expr:
        """Membership the other way round: *item* is in this list or string."""
        return Expr(Op("in", (node_of(item), self.node)))

    def is_missing(self) -> Expr:
        """True when this data path has no value (null, empty string, or absent)."""
        if self._path is None:
            msg = "is_missing() needs a data path"
            raise TypeError(msg)
        return Expr(Op("!!", (Op("missing", (Literal(self._path),)),)))

    # -- logic -------------------------------------------------------------------------------

    def __and__(self, other: Any) -> Expr:
        return _joined("and", self, other)

    def __rand__(self, other: Any) -> Expr:
        return _joined("and", other, self)

    def __or__(self, other: Any) -> Expr:
        return _joined("or", self, other)

    def __ror__(self, other: Any) -> Expr:
        return _joined("or", other, self)

    def __invert__(self) -> Expr:
        return Expr(Op("!", (self.node,)))

    # -- arithmetic --------------------------------------------------------------------------

    def __add__(self, other: Any) -> Expr:
        return self._op("+", other)

    def __radd__(self, other: Any) -> Expr:
        return Expr(Op("+", (node_of(other), self.node)))

    def __sub__(self, other: Any) -> Expr:
        return self._op("-", other)

    def __rsub__(self, other: Any) -> Expr:
        return Expr(Op("-", (node_of(other), self.node)))

    def __mul__(self, other: Any) -> Expr:
        return self._op("*", other)

    def __rmul__(self, other: Any) -> Expr:
        return Expr(Op("*", (node_of(other), self.node)))

    def __truediv__(self, other: Any) -> Expr:
        return self._op("/", other)

    def __rtruediv__(self, other: Any) -> Expr:
        return Expr(Op("/", (node_of(other), self.node)))

    def __mod__(self, other: Any) -> Expr:
        return self._op("%", other)

    def __neg__(self) -> Expr:
        return Expr(Op("-", (self.node,)))


def _joined(name: str, left: Any, right: Any) -> Expr:
    """`a & b & c` becomes one `and` with three arguments, not nested pairs."""
    args: list[Node] = []
    for side in (left, right):
        node = node_of(side)
        if isinstance(node, Op) and node.op == name:
            args.extend(node.args)
        else:
            args.append(node)
    return Expr(Op(name, tuple(args)))


def var(path: str = "", default: Any = None) -> Expr:
    """
    The value at a dotted data *path* (`var("customer.traits.tier")`), or *default*.

    Added in version 0.1.0.
    """
    args: tuple[Node, ...] = (
        (Literal(path),) if default is None else (Literal(path), node_of(default))
    )
    return Expr(Op("var", args), path=path if default is None else None)


def lit(value: Any) -> Expr:
    """
    A literal value, to start an expression with one (`lit(3) < customer.stats.orders`).

    Added in version 0.1.0.
    """
    return Expr(node_of(value))


def op(name: str, *args: Any) -> Expr:
    """
    Any operation by name, JsonLogic's or a registered one: `op("cat", "Hi ", var("name"))`.

    Added in version 0.1.0.
    """
    return Expr(Op(name, tuple(node_of(a) for a in args)))


customer = Expr(Op("var", (Literal("customer"),)), path="customer")
"""The customer being decided for: `customer.traits`, `.stats`, `.segments`, ...."""

event = Expr(Op("var", (Literal("event"),)), path="event")
"""The event at hand, if any: `event.name`, `event.channel`, `event.properties`."""

context = Expr(Op("var", (Literal("context"),)), path="context")
"""The context of the decision: `context.channel`, `context.location`, `context.store_id`."""


def days_since(moment: Any) -> Expr:
    """Days (fractional) from *moment* (an ISO timestamp) to now; null if it is not one."""
    return op("days_since", moment)


def hours_since(moment: Any) -> Expr:
    """Hours (fractional) from *moment* to now; null if it is not a timestamp."""
    return op("hours_since", moment)


def count_events(name: Any = None, *, days: Any = None, channel: Any = None) -> Expr:
    """How many of the customer's events named *name* (any, if null) in the last *days*."""
    return op("count_events", name, days, channel)


def sum_events(name: Any, field: Any, *, days: Any = None) -> Expr:
    """The sum of the numeric property *field* over the customer's events named *name*."""
    return op("sum_events", name, field, days)


def in_segment(segment: Any) -> Expr:
    """Whether the customer is currently in the segment with that id."""
    return op("in_segment", segment)


def distance_km(a: Any, b: Any) -> Expr:
    """
    Great-circle distance between two places, in kilometres.

    A place is `[lat, lon]`, a `{"latitude", "longitude"}` object (a `context.location`), or
    the id of a known store.
    """
    return op("distance_km", a, b)


def within_km(a: Any, b: Any, km: Any) -> Expr:
    """Whether two places are at most *km* apart (false when either is unknown)."""
    return op("within_km", a, b, km)


def local_hour() -> Expr:
    """The hour (0-23) now, in the customer's time zone."""
    return op("local_hour")


def local_time() -> Expr:
    """The time now in the customer's time zone, as `"HH:MM"` (compares as a string)."""
    return op("local_time")


def local_weekday() -> Expr:
    """The day of the week now in the customer's time zone: 1 (Monday) to 7 (Sunday)."""
    return op("local_weekday")
