"""
JsonLogic rules, evaluated exactly as the reference implementation evaluates them.

[JsonLogic](https://jsonlogic.com) writes a rule as JSON: `{"<": [{"var": "age"}, 18]}`.
`apply()` returns what `jsonLogic.apply()` of the npm package `json-logic-js` 2.x returns,
JavaScript's coercions included: `{"+": ["1", 1]}` is 2, `{"==": [1, "1"]}` is true,
`{"cat": [1.0, true]}` is `"1true"`, `{"/": [1, 0]}` is infinity.

How JavaScript values come out in Python:

- A number an operation computes is an `int` when it is an integer within ±2**53, and a
  `float` otherwise: `-0.0`, `nan`, `inf` and `-inf` appear where JavaScript has `-0`, `NaN`,
  `Infinity` and `-Infinity`. Numbers that a rule or its data pass through unchanged keep
  their Python type; operations read an `int` beyond ±2**53 as the nearest double, as
  `JSON.parse` would have.
- JavaScript's `undefined` (what an empty `{"and": []}` returns) comes out as `None` at the
  top and inside arrays, and is left out of objects, as `JSON.stringify` does.
- Strings are indexed, measured, sliced and compared by UTF-16 code units, as in JavaScript.
- Data is JSON-shaped: `dict` objects with `str` keys, `list` arrays, `str`, `int`, `float`,
  `bool` and `None`. Any other object is an opaque JavaScript object (`"[object Object]"`).
  Only a dict's own keys, an array's or string's indices and their `length` are properties:
  those every JavaScript object inherits (`constructor`, `toString`, ...) are functions,
  which JSON cannot carry.

Differences from the reference, all on purpose:

- `method` is not an operation (json-logic-js 2.x dropped it too): it would let a rule call
  any method of any value.
- Bounds: a rule is checked against *max_depth* and *max_size* before it runs; evaluation
  stops after *max_work* units of work, counted by size (see `apply()`), or before it
  builds a string or array longer than *max_length* (V8 allows strings of 2**29 - 24 code
  units); logic that `missing` finds in the data and runs counts towards *max_depth*. Each
  raises `RuleLimitError`.
- Errors: where json-logic-js throws (an unknown operation, `{"*": []}`, ...) `apply()`
  raises a `RuleError`. Nothing else leaves it: an exception from a custom operation comes
  out as a `RuleError` caused by it.
- Operation names are looked up as they are. json-logic-js reads a name with dots as a path
  into its table of operations, so that `var.prototype.constructor` is `var` there.
- `log` writes to the `omnikit.rules.jsonlogic` logger at INFO level, not to the console,
  and shortens what it writes (`reprlib`).
- Custom operations get plain Python arguments (`undefined` as `None`) and no `this`.
- Without *data*, a rule reads `null`, where json-logic-js reads `undefined`; the two differ
  only to `===` (`{"===": [{"var": ""}, null]}`).
"""

from __future__ import annotations

from omnikit.rules._lang.interpreter import apply, is_logic, uses_data

__all__ = ["apply", "is_logic", "uses_data"]
