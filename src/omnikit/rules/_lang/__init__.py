"""
The JsonLogic language rules are written in: it knows nothing of customers or decisions.

- `nodes`: the condition model (`Node`, `Op`, `Array`, `Literal`) and JsonLogic to and from it;
- `builder`: conditions written as Python expressions (`customer.traits["tier"] == "gold"`);
- `js`, `utf16`: JavaScript's values and coercions over JSON-shaped Python values;
- `meter`, `limits`, `walk`: what an evaluation may do, what it costs, checked before it runs;
- `evaluator`, `operations`, `interpreter`: the interpreter, public as `omnikit.rules.jsonlogic`;
- `runtime`, `codegen`, `compiler`: conditions compiled to Python functions that give the
  interpreter's results;
- `trace`: one evaluation traced, part by part, for explanations.

The product built on it (rules, rule sets, decisions, segments, the domain operations) is in
`omnikit.rules`; nothing here imports it.
"""
