"""
What omnikit computes over customers and their history: scores, recommendations, simulations.

- `rfm_scores()` and `RFM`: each customer's recency, frequency and monetary quintiles, and
  the segment they put them in;
- `LeadScoring`: points per behaviour, decaying over time;
- `BoughtTogether` and `Recommendation`: "customers who bought this also bought";
- `simulate()`: a rule set tried on stored history, who would have got what and why
  (`omnikit.rules.RuleSet.simulate` calls it).
- `omnikit.analytics.attribution`: which channels earned the conversions of a table of
  paths: first touch, last touch, linear, time decay, position based and the Markov chain's
  removal effects, solved exactly (numpy and pandas, in `omnikit[analytics]`).

```python
from omnikit.analytics import rfm_scores

scores = rfm_scores(hub.customers(), now=now)
scores[customer.id].segment  # 'champions', 'at_risk', ...
```

They are pure computations over the models and rules (`now` passed in); `simulate()` reads
what it needs through the hub it is given. Until omnikit 0.2.0 the scores and
recommendations can still be imported from `omnikit.rules`, with a `DeprecationWarning`.
"""

from omnikit.analytics._recommend import BoughtTogether, Recommendation
from omnikit.analytics._scores import RFM, LeadScoring, rfm_scores
from omnikit.analytics._simulation import simulate

__all__ = [
    "BoughtTogether",
    "LeadScoring",
    "RFM",
    "Recommendation",
    "rfm_scores",
    "simulate",
]
