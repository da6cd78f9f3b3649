"""
Rule evaluation speed: omnikit against hand-written Python and peer engines, same rules.

    python benchmarks/rules.py            # fuller runs
    python benchmarks/rules.py --quick    # under a minute (the two slowest peers skip 1000 rules)

Rule sets of 10, 100 and 1000 realistic personalization rules (tier, order and revenue
thresholds, event names, product categories, channels, opt-ins, prices; two or three combined
with and/or/not) are evaluated over the same customer profiles by:

- `handwritten`: plain Python functions, as a developer would write them (the practical limit);
- `omnikit`: `RuleSet.matching(..., indexed=False)`, every rule for every profile;
- peers, when installed (`pip install '.[benchmark]'`): `panzi-json-logic` (pure-Python
  JsonLogic), `rule-engine`, `zen-engine` (Rust, with Python bindings) and `cel-python`.

All engines must agree on which rules match; then one JSON line per engine and size:

    {"case": "<engine>-<rules>", "per_s": rule evaluations per second, "ratio": per_s / handwritten per_s}

and a line for deciding one event at a time against 1000 rules, each triggered by an event name
(spread over 30 names): `{"case": "indexed-1000", "per_s": decisions per second, ...}`, whose
`vs_unindexed_100` compares it with evaluating 100 rules without the index (>= 1 means the
indexed decision costs no more).

Last, the same 1000 rules through a hub: customers stored in SQLite, each looked up by email
and decided for with `hub.decide` (`{"case": "hub-decide-sqlite", "per_s": decisions per
second, "ratio": ...}`), against `RuleSet.decide` on the same customers and events already in
memory.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, TypeVar

import omnikit
from omnikit.rules import Env, Rule, RuleSet, decision_data
from omnikit.testing import FrozenClock

NOW = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
T = TypeVar("T")
TIERS = ("gold", "silver", "bronze")
CATEGORIES = ("Shoes", "Jackets", "Knitwear", "Bags", "Accessories", "Home", "Beauty", "Kids")
CHANNELS = ("web", "app", "email", "store", "sms")
EVENTS = tuple(f"Event {i}" for i in range(30))


class Atom:
    """One comparison, rendered in every engine's language."""

    def __init__(self, rng: random.Random, *, event: str | None = None) -> None:
        kind = (
            "event"
            if event
            else rng.choice(
                ("tier", "orders", "revenue", "category", "channel", "newsletter", "price")
            )
        )
        self.kind = kind
        if kind == "event":
            self.value: Any = event
        elif kind == "tier":
            self.value = rng.choice(TIERS)
        elif kind == "orders":
            self.value = rng.randrange(0, 10)
        elif kind == "revenue":
            self.value = float(rng.randrange(50, 2000, 50))
        elif kind == "category":
            self.value = rng.choice(CATEGORIES)
        elif kind == "channel":
            self.value = rng.sample(CHANNELS, 2)
        elif kind == "newsletter":
            self.value = True
        else:
            self.value = float(rng.randrange(20, 300, 10))

    _PATHS: ClassVar[dict[str, tuple[str, ...]]] = {
        "event": ("event", "name"),
        "tier": ("customer", "traits", "tier"),
        "orders": ("customer", "stats", "orders"),
        "revenue": ("customer", "stats", "revenue"),
        "category": ("event", "properties", "category"),
        "channel": ("context", "channel"),
        "newsletter": ("customer", "traits", "newsletter"),
        "price": ("event", "properties", "price"),
    }
    _OPS: ClassVar[dict[str, str]] = {"orders": ">", "revenue": ">=", "price": "<"}

    def path(self) -> str:
        return ".".join(self._PATHS[self.kind])

    def op(self) -> str:
        return self._OPS.get(self.kind, "in" if self.kind == "channel" else "==")

    def python(self) -> str:
        keys = "".join(f"[{k!r}]" for k in self._PATHS[self.kind])
        return f"(d{keys} {self.op()} {self.value!r})"

    def jsonlogic(self) -> Any:
        return {self.op(): [{"var": self.path()}, self.value]}

    def rule_engine(self) -> str:
        value = json.dumps(self.value) if self.kind != "newsletter" else "true"
        return f"({self.path()} {self.op()} {value})"

    def zen(self) -> str:
        if isinstance(self.value, list):
            value = "[" + ", ".join(f"'{v}'" for v in self.value) + "]"
        elif isinstance(self.value, str):
            value = f"'{self.value}'"
        else:
            value = json.dumps(self.value)
        return f"({self.path()} {self.op()} {value})"

    def cel(self) -> str:
        return self.zen()


class Spec:
    """A rule: atoms joined by and/or, maybe negated."""

    def __init__(self, index: int, rng: random.Random, *, events: bool) -> None:
        self.id = f"r{index}"
        event = EVENTS[index % len(EVENTS)] if events else None
        atoms = [Atom(rng, event=event)] if event else []
        atoms += [Atom(rng) for _ in range(rng.choice((1, 2, 2, 3)))]
        self.atoms = atoms
        self.joiner = "or" if not event and rng.random() < 0.25 else "and"
        self.negate_last = rng.random() < 0.2 and len(atoms) > 1

    def _parts(self, render: Callable[[Atom], Any], negate: Callable[[Any], Any]) -> list[Any]:
        parts = [render(a) for a in self.atoms]
        if self.negate_last:
            parts[-1] = negate(parts[-1])
        return parts

    def python(self) -> str:
        return f" {self.joiner} ".join(self._parts(Atom.python, lambda p: f"(not {p})"))

    def jsonlogic(self) -> Any:
        return {self.joiner: self._parts(Atom.jsonlogic, lambda p: {"!": p})}

    def rule_engine(self) -> str:
        return f" {self.joiner} ".join(self._parts(Atom.rule_engine, lambda p: f"(not {p})"))

    def zen(self) -> str:
        return f" {self.joiner} ".join(self._parts(Atom.zen, lambda p: f"(not {p})"))

    def cel(self) -> str:
        joiner = " && " if self.joiner == "and" else " || "
        return joiner.join(self._parts(Atom.cel, lambda p: f"(!{p})"))


def profiles(n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(f"profiles:{seed}")
    return [
        {
            "customer": {
                "traits": {"tier": rng.choice(TIERS), "newsletter": rng.random() < 0.5},
                "stats": {"orders": rng.randrange(0, 15), "revenue": float(rng.randrange(0, 3000))},
            },
            "event": {
                "name": rng.choice(EVENTS),
                "properties": {
                    "category": rng.choice(CATEGORIES),
                    "price": float(rng.randrange(5, 400)),
                },
            },
            "context": {"channel": rng.choice(CHANNELS)},
        }
        for _ in range(n)
    ]


# -- engines: each returns a function profile -> list of matching rule ids ----------------------


def handwritten(specs: list[Spec]) -> Callable[[dict[str, Any]], list[str]]:
    # The benchmark writes the "hand-written" functions out as source, as a developer would
    # type them, and compiles its own text: no user input is involved.
    source = "\n".join(f"def {s.id}(d):\n    return {s.python()}\n" for s in specs)
    namespace: dict[str, Any] = {}
    exec(compile(source, "<handwritten>", "exec"), namespace)  # noqa: S102 - our own text
    pairs = [(s.id, namespace[s.id]) for s in specs]
    return lambda d: [rid for rid, fn in pairs if fn(d)]


def omnikit_engine(specs: list[Spec]) -> Callable[[dict[str, Any]], list[str]]:
    ruleset = RuleSet([Rule(id=s.id, condition=s.jsonlogic()) for s in specs])
    env = Env(now=NOW)
    order = {s.id: i for i, s in enumerate(specs)}
    ruleset.matching(profiles(1, 0)[0], env, indexed=False)  # compile up front
    return lambda d: sorted(ruleset.matching(d, env, indexed=False), key=order.__getitem__)


def panzi(specs: list[Spec]) -> Callable[[dict[str, Any]], list[str]]:
    import json_logic  # noqa: PLC0415 - optional peer

    logic = [(s.id, s.jsonlogic()) for s in specs]
    return lambda d: [rid for rid, rule in logic if json_logic.jsonLogic(rule, d)]


def rule_engine_engine(specs: list[Spec]) -> Callable[[dict[str, Any]], list[str]]:
    import rule_engine  # noqa: PLC0415 - optional peer

    context = rule_engine.Context(resolver=rule_engine.resolve_item)
    rules = [(s.id, rule_engine.Rule(s.rule_engine(), context=context)) for s in specs]
    return lambda d: [rid for rid, rule in rules if rule.matches(d)]


def zen_engine(specs: list[Spec]) -> Callable[[dict[str, Any]], list[str]]:
    import zen  # noqa: PLC0415 - optional peer

    rules = [(s.id, zen.compile_expression(s.zen())) for s in specs]
    return lambda d: [rid for rid, rule in rules if rule.evaluate(d)]


def cel_engine(specs: list[Spec]) -> Callable[[dict[str, Any]], list[str]]:
    import celpy  # noqa: PLC0415 - optional peer

    env = celpy.Environment()
    programs = [(s.id, env.program(env.compile(s.cel()))) for s in specs]

    def run(d: dict[str, Any]) -> list[str]:
        activation = celpy.json_to_cel(d)
        return [rid for rid, program in programs if bool(program.evaluate(activation))]

    return run


SLOW_PEERS = frozenset({"rule-engine", "cel-python"})
"""Peers thousands of times slower: compiling 1000 rules for them alone takes most of a minute."""

ENGINES: dict[str, Callable[[list[Spec]], Callable[[dict[str, Any]], list[str]]]] = {
    "handwritten": handwritten,
    "omnikit": omnikit_engine,
    "panzi-json-logic": panzi,
    "rule-engine": rule_engine_engine,
    "zen-engine": zen_engine,
    "cel-python": cel_engine,
}


def measure(fn: Callable[[T], object], data: Sequence[T], budget: float) -> tuple[float, int]:
    """Profiles evaluated per second, running for about *budget* seconds."""
    done = 0
    started = time.perf_counter()
    while True:
        for d in data:
            fn(d)
            done += 1
            if done % 16 == 0 and time.perf_counter() - started > budget:
                return done / (time.perf_counter() - started), done
        if time.perf_counter() - started > budget:
            return done / (time.perf_counter() - started), done


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs (under a minute)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    budget = 0.3 if args.quick else 3.0
    data = profiles(100 if args.quick else 1000, args.seed)
    check = data[:20]
    available: dict[str, Callable[[list[Spec]], Callable[[dict[str, Any]], list[str]]]] = {}
    for name, factory in ENGINES.items():
        try:
            factory([Spec(0, random.Random(0), events=False)])
        except ImportError:
            print(f"# {name}: not installed, skipped", file=sys.stderr)
            continue
        available[name] = factory
    unindexed_100 = None
    for size in (10, 100, 1000):
        rng = random.Random(f"rules:{args.seed}:{size}")
        specs = [Spec(i, rng, events=False) for i in range(size)]
        built = {
            name: factory(specs)
            for name, factory in available.items()
            if not (args.quick and size == 1000 and name in SLOW_PEERS)
        }
        if args.quick and size == 1000:
            print(
                f"# --quick: {', '.join(sorted(SLOW_PEERS))} not run at 1000 rules", file=sys.stderr
            )
        expected = [built["handwritten"](d) for d in check]
        for name, fn in built.items():
            got = [fn(d) for d in check]
            if got != expected:
                print(f"# {name}-{size}: DISAGREES with hand-written Python", file=sys.stderr)
                return 1
        baseline, _ = measure(built["handwritten"], data, budget)
        for name, fn in built.items():
            per_profile = baseline if name == "handwritten" else measure(fn, data, budget)[0]
            per_s = per_profile * size
            if name == "omnikit" and size == 100:
                unindexed_100 = per_profile
            line = {
                "case": f"{name}-{size}",
                "per_s": round(per_s),
                "ratio": round(per_profile / baseline, 3),
            }
            print(json.dumps(line), flush=True)
    rng = random.Random(f"indexed:{args.seed}")
    specs = [Spec(i, rng, events=True) for i in range(1000)]
    ruleset = RuleSet([Rule(id=s.id, condition=s.jsonlogic()) for s in specs])
    env = Env(now=NOW)
    reference = handwritten(specs)
    for d in check:
        if sorted(ruleset.decide(d, env).rule_ids) != sorted(reference(d)):
            print("# indexed-1000: DISAGREES with hand-written Python", file=sys.stderr)
            return 1
    for d in data:  # compile every (event, channel) bucket up front, as the runs above do
        ruleset.decide(d, env)
    decisions, _ = measure(lambda d: ruleset.decide(d, env), data, budget)
    line = {"case": "indexed-1000", "per_s": round(decisions)}
    if unindexed_100:
        line["vs_unindexed_100"] = round(decisions / unindexed_100, 3)
    print(json.dumps(line), flush=True)
    return hub_decide(args.seed, budget)


def stored_customers(path: str, n: int, seed: int) -> list[dict[str, Any]]:
    """Identify and order messages for *n* customers with the traits the rules read."""
    rng = random.Random(f"hub:{seed}")
    messages: list[dict[str, Any]] = []
    for i in range(n):
        traits: dict[str, Any] = {"email": f"c{i}@shop.example.com", "tier": rng.choice(TIERS)}
        traits["newsletter"] = rng.random() < 0.5
        messages.append(
            {"type": "identify", "messageId": f"i{i}", "userId": f"u{i}", "traits": traits}
        )
        for j in range(rng.randrange(0, 6)):
            order = {"order_id": f"o{i}-{j}", "total": rng.randrange(10, 500), "currency": "USD"}
            messages.append(
                {
                    "type": "track",
                    "event": "Order Completed",
                    "messageId": f"o{i}-{j}",
                    "userId": f"u{i}",
                    "properties": order,
                }
            )
    for message in messages:
        message["timestamp"] = (NOW - dt.timedelta(days=30)).isoformat()
    with omnikit.Hub.open(path) as hub:
        hub.ingest({"batch": messages}).raise_for_failures()
    return messages


def hub_decide(seed: int, budget: float) -> int:
    """Decisions through `hub.decide` on SQLite, against `RuleSet.decide` in memory."""
    rng = random.Random(f"rules:{seed}:1000")
    specs = [Spec(i, rng, events=False) for i in range(1000)]
    ruleset = RuleSet([Rule(id=s.id, condition=s.jsonlogic()) for s in specs])
    env = Env(now=NOW)
    with tempfile.TemporaryDirectory() as tmp:
        path = f"sqlite:///{tmp}/shop.db"
        stored_customers(path, 300, seed)
        emails = [f"c{i}@shop.example.com" for i in range(300)]
        asked = [(p["event"], p["context"]) for p in profiles(300, seed)]
        with omnikit.Hub.open(path, clock=FrozenClock(NOW)) as hub:

            def lookup(email: str) -> omnikit.Customer:
                customer = hub.customer(email=email, recent=0)
                if customer is None:
                    raise LookupError(email)
                return customer

            found = [lookup(e) for e in emails]
            data = [
                decision_data(c, event, context, now=NOW)
                for c, (event, context) in zip(found, asked, strict=True)
            ]
            for customer, (event, context), d in zip(found, asked, data, strict=True):
                ours = hub.decide(customer, event, context, ruleset=ruleset, now=NOW).rule_ids
                if ours != ruleset.decide(d, env).rule_ids:
                    print("# hub-decide-sqlite: DISAGREES with RuleSet.decide", file=sys.stderr)
                    return 1
            work = list(zip(emails, asked, strict=True))

            def through_hub(item: tuple[str, tuple[Any, Any]]) -> list[str]:
                email, (event, context) = item
                customer = lookup(email)
                return list(hub.decide(customer, event, context, ruleset=ruleset, now=NOW).rule_ids)

            baseline, _ = measure(lambda d: list(ruleset.decide(d, env).rule_ids), data, budget)
            per_s, _ = measure(through_hub, work, budget)
    line = {"case": "hub-decide-sqlite", "per_s": round(per_s), "ratio": round(per_s / baseline, 3)}
    print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
