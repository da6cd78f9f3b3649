"""Dynamic segments: who is in, by a condition, kept current as events arrive."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any, Final

import attrs

from omnikit.errors import RuleError, ValidationError
from omnikit.rules._domain import DOMAIN_OPERATIONS, Env, Operation
from omnikit.rules._lang import js
from omnikit.rules._lang.compiler import Compiled, compile_condition
from omnikit.rules._lang.limits import DEFAULT_LIMITS, Limits
from omnikit.rules._lang.nodes import Node, Op, walk
from omnikit.rules._rule import checked_condition, text

__all__ = ["Segment", "SegmentSet"]

_logger: Final = logging.getLogger("omnikit.rules")


@attrs.define(frozen=True, kw_only=True)
class Segment:
    """
    A dynamic segment: the customers for whom *condition* holds.

    The condition reads `customer`, as a rule does; there is no event.

    A hub keeps membership current: when ingestion changes a customer, their segments are
    evaluated again, and `Segment Entered` / `Segment Exited` touchpoints record each change,
    for journeys and campaigns to trigger on and analytics to count. Each change carries a
    revision (`properties.revision`, 1, 2, ... per customer and segment); the highest is the
    membership, so it is what the final data says whatever order the events came in.

    Added in version 0.1.0.
    """

    id: str = attrs.field(validator=text("id"))
    condition: Node = attrs.field(converter=checked_condition)
    description: str = ""


class SegmentSet:
    """
    Segments compiled once, evaluated together.

    Args:
        segments: The segments; ids must be unique.
        operations: Extra operations, `fn(env, *arguments)`, by name.
        limits: What one evaluation of a segment's condition may do (see `Limits`): past
            them, the condition does not hold.

    Added in version 0.1.0.
    """

    def __init__(
        self,
        segments: Iterable[Segment],
        *,
        operations: Mapping[str, Operation] | None = None,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self.segments = tuple(segments)
        ids = [s.id for s in self.segments]
        if len(set(ids)) != len(ids):
            raise ValidationError("segments: two segments have the same id")
        ops = {**DOMAIN_OPERATIONS, **(operations or {})}
        self.limits = limits
        self._compiled: list[tuple[str, Compiled]] = [
            (s.id, compile_condition(s.condition, ops, limits)) for s in self.segments
        ]

    def __bool__(self) -> bool:
        return bool(self.segments)

    @property
    def needs_history(self) -> bool:
        """Whether a condition reads the customer's history (`count_events`, `sum_events`)."""
        return any(
            isinstance(node, Op) and node.op in {"count_events", "sum_events"}
            for segment in self.segments
            for node in walk(segment.condition)
        )

    def members_of(self, data: Mapping[str, Any], env: Env) -> frozenset[str]:
        """
        The ids of the segments whose condition holds for *data*.

        A condition that raises doesn't hold (one past its limits included); the reason is
        logged as a warning on the `omnikit.rules` logger, naming the segment.

        Added in version 0.1.0.
        """
        found = set()
        for segment_id, run in self._compiled:
            try:
                if js.truthy(run(data, env)):
                    found.add(segment_id)
            except RuleError as exc:
                _logger.warning("segment %r: its condition failed: %s", segment_id, exc)
        return frozenset(found)
