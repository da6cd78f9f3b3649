"""
Rules that marketers can read and machines run fast.

A condition is written with the Python builder, as JsonLogic (what browser query builders
export), or in YAML/JSON rule files; all three give the same condition model, compiled once.

```python
from omnikit.rules import Action, Rule, RuleSet, customer, event

rules = RuleSet(
    [
        Rule(
            id="vip-boots",
            condition=(customer.traits["tier"] == "gold") & (event.name == "Product Viewed"),
            actions=(Action.offer("vip-10"),),
        ),
    ]
)
```

`omnikit.rules.jsonlogic` runs JsonLogic as its reference implementation does. What is
computed over customers and their history (RFM and lead scores, bought-together
recommendations, a rule set simulated on stored events) is in `omnikit.analytics`.
"""

from typing import Any, Final

from omnikit._deprecated import warn_moved
from omnikit.rules import jsonlogic
from omnikit.rules._content import Content, ContentCatalog, nearest_place
from omnikit.rules._data import customer_data, decision_data, event_data
from omnikit.rules._decision import (
    Chosen,
    Decision,
    Explanation,
    Outcome,
    RuleExplanation,
    RuleOutcome,
    Strategy,
)
from omnikit.rules._domain import DOMAIN_OPERATIONS, Env, History, Place
from omnikit.rules._lang.builder import (
    Expr,
    context,
    count_events,
    customer,
    days_since,
    distance_km,
    event,
    hours_since,
    in_segment,
    lit,
    local_hour,
    local_time,
    local_weekday,
    op,
    sum_events,
    var,
    within_km,
)
from omnikit.rules._lang.limits import Limits
from omnikit.rules._lang.nodes import Array, Literal, Node, Op, from_jsonlogic, to_jsonlogic
from omnikit.rules._lang.trace import Trace
from omnikit.rules._rule import Action, Cap, Experiment, Rule, Variant
from omnikit.rules._rules import RuleSet
from omnikit.rules._segments import Segment, SegmentSet

__all__ = [
    "Action",
    "Array",
    "Cap",
    "Chosen",
    "Content",
    "ContentCatalog",
    "DOMAIN_OPERATIONS",
    "Decision",
    "Env",
    "Experiment",
    "Explanation",
    "Expr",
    "History",
    "Limits",
    "Literal",
    "Node",
    "Op",
    "Outcome",
    "Place",
    "Rule",
    "RuleExplanation",
    "RuleOutcome",
    "RuleSet",
    "Segment",
    "SegmentSet",
    "Strategy",
    "Trace",
    "Variant",
    "context",
    "count_events",
    "customer",
    "customer_data",
    "days_since",
    "decision_data",
    "distance_km",
    "event",
    "event_data",
    "from_jsonlogic",
    "hours_since",
    "in_segment",
    "jsonlogic",
    "lit",
    "local_hour",
    "local_time",
    "local_weekday",
    "nearest_place",
    "op",
    "sum_events",
    "to_jsonlogic",
    "var",
    "within_km",
]

_MOVED_TO_ANALYTICS: Final = frozenset(
    {"BoughtTogether", "LeadScoring", "RFM", "Recommendation", "rfm_scores"}
)
"""Names this package exported until they moved to `omnikit.analytics`."""


def __getattr__(name: str) -> Any:
    if name in _MOVED_TO_ANALYTICS:
        from omnikit import analytics  # noqa: PLC0415 - only code reading an old name pays

        warn_moved(f"omnikit.rules.{name}", f"omnikit.analytics.{name}")
        return getattr(analytics, name)
    msg = f"module 'omnikit.rules' has no attribute {name!r}"
    raise AttributeError(msg)
