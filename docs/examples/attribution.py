"""
Which channels earned the conversions: every attribution model on one table of paths.

The example of the analytics guide's attribution section: the guide includes the parts
between the markers, and the test suite runs this file and checks what it says it prints.
"""

# The comments show what each line prints.
# ruff: noqa: ERA001

from __future__ import annotations

import datetime as dt

from omnikit.analytics import attribution

# --8<-- [start:table]
paths = [
    {"path": "social > email > web", "conversions": 30, "value": 2400.0, "nulls": 170},
    {"path": "social > web", "conversions": 10, "value": 700.0, "nulls": 290},
    {"path": "email > store", "conversions": 25, "value": 3100.0, "nulls": 75},
    {"path": "web", "conversions": 20, "value": 1300.0, "nulls": 480},
    {"path": "email > email > web", "conversions": 15, "value": 1000.0, "nulls": 85},
    {"path": "social", "nulls": 400},
]
# --8<-- [end:table]

# --8<-- [start:models]
models = {
    "first": attribution.first_touch(paths),
    "last": attribution.last_touch(paths),
    "linear": attribution.linear(paths),
    "u-shape": attribution.position_based(paths),  # 40/20/40
    "markov": attribution.markov(paths),
}
print("channel  " + "".join(f"{name:>9}" for name in models))
for channel in models["markov"].channels:
    print(f"{channel:9}" + "".join(f"{m[channel].conversions:9.1f}" for m in models.values()))
# channel      first     last   linear  u-shape   markov
# email         40.0      0.0     32.5     27.5     24.1
# social        40.0      0.0     15.0     17.0     22.9
# store          0.0     25.0     12.5     12.5     13.3
# web           20.0     75.0     40.0     43.0     39.8
# --8<-- [end:models]

# --8<-- [start:markov]
chain = attribution.markov(paths)
print(f"{chain.conversion_probability:.3f}")  # the table's conversions over its journeys
# 0.062
effect = chain.removal_effect("store")
print(f"{effect.conversions:.3f} {effect.value:.3f}")  # P(conversion) and value lost without it
# 0.250 0.365
print(f"{chain['store'].value:.2f}")
# 1565.49
# --8<-- [end:markov]

# --8<-- [start:touches]
t0 = dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.UTC)
touches = [
    {"customer_id": "c1", "occurred_at": t0, "channel": "social"},
    {"customer_id": "c1", "occurred_at": t0 + dt.timedelta(days=6), "channel": "email"},
    {
        "customer_id": "c1",
        "occurred_at": t0 + dt.timedelta(days=7),
        "channel": "web",
        "converted": True,
        "value": 80.0,
    },
    {"customer_id": "c2", "occurred_at": t0, "channel": "store", "converted": True, "value": 35.0},
    {"customer_id": "c2", "occurred_at": t0 + dt.timedelta(days=2), "channel": "email"},
]
table = attribution.PathTable.from_touches(touches)
decayed = attribution.time_decay(table, half_life=dt.timedelta(days=7))
print([(row.channels, row.conversions, row.nulls) for row in table])
# [(('social', 'email', 'web'), 1.0, 0.0), (('store',), 1.0, 0.0), (('email',), 0.0, 1.0)]
print({credit.channel: round(credit.conversions, 3) for credit in decayed})
# {'email': 0.376, 'social': 0.208, 'store': 1.0, 'web': 0.416}
# --8<-- [end:touches]

# --8<-- [start:pandas]
frame = attribution.markov(paths).to_pandas()
print(list(frame.columns))
# ['channel', 'conversions', 'value', 'removal_effect', 'removal_effect_value']
# --8<-- [end:pandas]
