"""
Rule sets: rules compiled together, indexed by the events and channels that trigger them.

`RuleSet.decide()` evaluates every condition worth a look in one call of generated code,
then applies windows, groups, caps, experiments and scores rule by rule. A rule and its
parts are in `_rule`, decisions and their outcomes in `_decision`; their public names are
importable from here too.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

import attrs

from omnikit.errors import OmnikitError, RuleError, RuleLimitError, RuleSyntaxError, ValidationError
from omnikit.rules import _serialize
from omnikit.rules._decision import (
    DECISION_EVENT,
    Chosen,
    Decision,
    Explanation,
    Outcome,
    RuleExplanation,
    RuleOutcome,
    Strategy,
    _new,
    _outcomes,
    _set_at,
    _set_chosen,
    _set_customer_id,
    _set_event,
    _set_pending,
    _set_strategy,
)
from omnikit.rules._domain import DOMAIN_OPERATIONS, Env, Operation
from omnikit.rules._lang import js
from omnikit.rules._lang.compiler import Batch, Compiled, CompiledMany, compile_condition
from omnikit.rules._lang.limits import DEFAULT_LIMITS, Limits
from omnikit.rules._lang.nodes import JSONLOGIC_OPERATIONS, Op, walk
from omnikit.rules._lang.runtime import _State
from omnikit.rules._rule import Action, Cap, Experiment, Rule, Variant, as_condition

__all__ = [
    "Action",
    "Cap",
    "Chosen",
    "Decision",
    "Experiment",
    "Explanation",
    "Outcome",
    "Rule",
    "RuleExplanation",
    "RuleOutcome",
    "RuleSet",
    "Strategy",
    "Variant",
    "as_condition",
]

_ANY_CHANNEL: Final[Any] = object()
"""`RuleSet.candidates()` without a channel: no filtering by channel."""


@attrs.define(frozen=True, slots=True)
class _Prepared:
    """A rule ready to decide with: its score compiled, its plain outcomes made once."""

    rule: Rule
    score: Compiled | None
    windowed: bool
    plain: bool
    """No window, group, cap, experiment or score condition: chosen whenever it matches."""
    not_matched: RuleOutcome
    not_needed: RuleOutcome
    outside_window: RuleOutcome
    chosen: RuleOutcome
    chosen_plainly: Chosen
    """What a decision chooses when the rule is plain."""


def _prepared(rule: Rule, operations: Mapping[str, Operation], limits: Limits) -> _Prepared:
    def outcome(outcome: Outcome) -> RuleOutcome:
        return RuleOutcome(rule_id=rule.id, outcome=outcome)

    windowed = rule.starts_at is not None or rule.ends_at is not None
    return _Prepared(
        rule=rule,
        score=None if rule.score is None else compile_condition(rule.score, operations, limits),
        windowed=windowed,
        plain=not windowed
        and rule.group is None
        and rule.cap is None
        and rule.experiment is None
        and rule.score is None,
        not_matched=outcome(Outcome.NOT_MATCHED),
        not_needed=outcome(Outcome.NOT_NEEDED),
        outside_window=outcome(Outcome.OUTSIDE_WINDOW),
        chosen=outcome(Outcome.CHOSEN),
        chosen_plainly=Chosen(rule_id=rule.id, actions=rule.actions, score=float(rule.priority)),
    )


class _Bucket:
    """
    Rules considered together (for one event, for no event, or all), in priority order.

    `run(data, env)` evaluates all their conditions in one call of generated code.
    """

    __slots__ = (
        "channel_bound",
        "chosen",
        "chosen_outcomes",
        "ids",
        "items",
        "not_matched",
        "not_needed",
        "plain",
        "positions",
        "run",
        "windowed",
    )

    def __init__(self, items: list[_Prepared], batch: Batch) -> None:
        self.items = tuple(items)
        self.ids = tuple(item.rule.id for item in items)
        self.positions = {rule_id: index for index, rule_id in enumerate(self.ids)}
        self.run: CompiledMany = batch.function([item.rule.condition for item in items])
        self.not_matched = tuple(item.not_matched for item in items)
        self.not_needed = tuple(item.not_needed for item in items)
        self.chosen = tuple(item.chosen_plainly for item in items)
        self.chosen_outcomes = tuple(item.chosen for item in items)
        self.windowed = tuple(index for index, item in enumerate(items) if item.windowed)
        self.plain = all(item.plain for item in items)
        """Every rule is chosen when it matches: a decision is its matches."""
        self.channel_bound = False
        """Some rule requires a decision channel (the rule set sets this)."""


class RuleSet:
    """
    Rules that decide together, compiled once and indexed by the events that trigger them.

    ```python
    rules = RuleSet(
        [
            Rule(
                id="vip",
                condition=customer.traits["tier"] == "gold",
                actions=(Action.offer("vip-10"),),
            ),
        ],
        strategy=Strategy.FIRST_MATCH,
    )
    ```

    Args:
        rules: The rules; ids must be unique.
        id: The rule set's name (recorded with decisions).
        strategy: First match, all matches, or best score.
        operations: Extra operations, `fn(env, *arguments)`, by name, beside JsonLogic's and
            omnikit's domain operations.
        experiments: Experiments over exclusive groups, by group: each variant's id names a
            rule of the group, the only one of the group a customer in that arm can get (its
            actions replaced by the variant's, if it has any); the holdout gets none of them.
        limits: What one evaluation of a condition or score may do (see `Limits`): a
            condition past them has the outcome `error` with the reason, a score past them
            makes `decide()` raise `RuleLimitError` naming the rule.

    Raises:
        ValidationError: Duplicate rule ids.
        RuleSyntaxError: A condition uses an operation that is not known; the error names the
            rule and the path inside it.

    Added in version 0.1.0.
    """

    def __init__(
        self,
        rules: Iterable[Rule],
        *,
        id: str = "default",
        strategy: Strategy | str = Strategy.ALL_MATCHES,
        operations: Mapping[str, Operation] | None = None,
        experiments: Mapping[str, Experiment] | None = None,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self.id = id
        if not isinstance(limits, Limits):
            raise ValidationError(f"limits: expected omnikit.rules.Limits, got {limits!r}")
        self.limits = limits
        self.strategy = Strategy(strategy)
        self.rules: tuple[Rule, ...] = tuple(sorted(rules, key=lambda r: (-r.priority, r.id)))
        self.operations: dict[str, Operation] = {**DOMAIN_OPERATIONS, **(operations or {})}
        clash = set(operations or ()) & JSONLOGIC_OPERATIONS
        if clash:
            raise ValidationError(
                f"operations: {', '.join(sorted(clash))} would replace JsonLogic's own"
            )
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValidationError(f"rules: two rules have the id {rule.id!r}")
            seen.add(rule.id)
            self._check_operations(rule)
        self.experiments: dict[str, Experiment] = dict(experiments or {})
        for group, experiment in self.experiments.items():
            members = {rule.id for rule in self.rules if rule.group == group}
            if not members:
                raise ValidationError(f"experiments.{group}: no rule is in that group")
            strangers = sorted(v.id for v in experiment.variants if v.id not in members)
            if strangers or not experiment.variants:
                raise ValidationError(
                    f"experiments.{group}: each variant must name a rule of the group "
                    f"({', '.join(sorted(members))}), not {', '.join(strangers) or 'nothing'}"
                )
        self._by_id = {rule.id: rule for rule in self.rules}
        self._buckets: tuple[_Bucket, _Bucket, dict[str, _Bucket]] | None = None
        """All rules, those for no event, those for each event: made by `_prepare()`."""
        self._compiling = threading.Lock()
        """Held while compiling, so threads sharing a new rule set compile each bucket once."""

    def _check_operations(self, rule: Rule) -> None:
        known = JSONLOGIC_OPERATIONS | set(self.operations)
        for part, node in (("condition", rule.condition), ("score", rule.score)):
            if node is None:
                continue
            for sub in walk(node):
                if isinstance(sub, Op) and sub.op not in known:
                    raise RuleSyntaxError(
                        f"unknown operation {sub.op!r}", path=part, rule_id=rule.id
                    )

    def rule(self, rule_id: str) -> Rule:
        """The rule with that id."""
        return self._by_id[rule_id]

    # -- notebooks ---------------------------------------------------------------------------

    def simulate(
        self,
        hub: Any,
        *,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        customers: Iterable[Any] | None = None,
        outcomes: str = "chosen",
        places: Mapping[str, Any] | None = None,
        frame: str | None = None,
        limit: int | None = None,
    ) -> Any:
        """
        Try the rule set on stored history: who would have got what, and why.

        Every stored event in [*since*, *until*) the customer made is replayed in time order;
        the customer's profile is folded from their touchpoints up to that moment and the rule
        set decides with the history known then, told the event's channel, location and store
        (`context.channel`, `context.location`, `context.store_id`). Each decision counts as
        recorded, so caps hold across the replay: decisions this rule set (by its id)
        recorded live inside the window are replaced by the replayed ones; those before the
        window, and those of other rule sets, count as they are (caps count by rule id, so
        give a new version of a live rule set the live one's id to replay it in its place).
        Nothing is written.

        This method calls `omnikit.analytics.simulate(self, hub, ...)`: simulating a rule set
        lives in `omnikit.analytics`, with the other computations over stored history.

        Args:
            hub: The hub whose store holds the history.
            since: The first moment to replay (default: the beginning).
            until: The end of the window, excluded (default: no end).
            customers: Customers (or ids) to replay; default every customer.
            outcomes: `"chosen"` rows only, or `"all"` rules considered with their outcome.
            places: Stores and other places for `within_km` (default: the hub's).
            frame: `"pandas"`, `"polars"`, `"rows"` (a list of dicts), or `None` for the first
                of those installed.
            limit: The most rules each decision chooses, as `Hub.decide(limit=...)`.

        Returns:
            A table with columns customer_id, at, event, channel, rule_id, outcome, variant,
            actions, detail.

        Added in version 0.1.0.
        """
        from omnikit.analytics import simulate  # noqa: PLC0415 - analytics builds on rules

        return simulate(
            self,
            hub,
            since=since,
            until=until,
            customers=customers,
            outcomes=outcomes,
            places=places,
            frame=frame,
            limit=limit,
        )

    # -- data --------------------------------------------------------------------------------

    def to_data(self) -> dict[str, Any]:
        """
        The rule set as JSON-ready data, conditions as JsonLogic.

        Added in version 0.1.0.
        """
        return _serialize.ruleset_to_data(self)

    @classmethod
    def from_data(
        cls,
        data: Any,
        *,
        operations: Mapping[str, Operation] | None = None,
        limits: Limits = DEFAULT_LIMITS,
    ) -> RuleSet:
        """
        A rule set from data, e.g. parsed JSON or YAML.

        *limits* are the host's to set, never the file's (see `RuleSet`).

        Raises:
            ValidationError: Each problem, naming the rule (index and id) and the path.

        Added in version 0.1.0.
        """
        return _serialize.ruleset_from_data(cls, data, operations=operations, limits=limits)

    def dumps(self, format: str = "json") -> str:
        """
        The rule set as `"json"` or `"yaml"` text (YAML needs `omnikit[yaml]`).

        Added in version 0.1.0.
        """
        return _serialize.dump(self, format=format)

    @classmethod
    def loads(
        cls,
        text: str,
        format: str = "json",
        *,
        operations: Mapping[str, Operation] | None = None,
        limits: Limits = DEFAULT_LIMITS,
    ) -> RuleSet:
        """
        A rule set from `"json"` or `"yaml"` text.

        The text is checked before it is built: nesting deeper than 128 levels, YAML aliases
        that refer to themselves, more than 100 of them, or a document that expands to more
        than a million values are refused, as is a rule past its own limits.

        Raises:
            ValidationError: The text is not valid, is refused as above, or a rule in it is
                wrong; each problem names the rule (index and id) and the path inside it.

        Added in version 0.1.0.
        """
        return _serialize.load(cls, text, format=format, operations=operations, limits=limits)

    def save(self, path: str | Path) -> None:
        """
        Write the rule set to *path*, as YAML for `.yaml`/`.yml`, else JSON.

        Added in version 0.1.0.
        """
        target = Path(path)
        target.write_text(self.dumps(_serialize.format_of(target)), encoding="utf-8")

    @classmethod
    def load(
        cls,
        path: str | Path,
        *,
        operations: Mapping[str, Operation] | None = None,
        limits: Limits = DEFAULT_LIMITS,
    ) -> RuleSet:
        """
        Read a rule set from a `.json`, `.yaml` or `.yml` file (checked as `loads()` does).

        Added in version 0.1.0.
        """
        source = Path(path)
        return cls.loads(
            source.read_text(encoding="utf-8"),
            _serialize.format_of(source),
            operations=operations,
            limits=limits,
        )

    def __len__(self) -> int:
        return len(self.rules)

    def __iter__(self) -> Any:
        return iter(self.rules)

    def __repr__(self) -> str:
        return f"<RuleSet {self.id!r}: {len(self.rules)} rules, {self.strategy.value}>"

    # -- compiling ---------------------------------------------------------------------------

    def _prepare(self) -> tuple[_Bucket, _Bucket, dict[str, _Bucket]]:
        """Compile the conditions: one function per event, one for no event, one for all."""
        with self._compiling:  # threads deciding with a new rule set compile it once
            return self._buckets or self._compile()

    def _compile(self) -> tuple[_Bucket, _Bucket, dict[str, _Bucket]]:
        if self._buckets is None:
            ops = dict(self.operations)
            prepared = [_prepared(rule, ops, self.limits) for rule in self.rules]
            by_event: dict[str, list[_Prepared]] = {}
            always: list[_Prepared] = []
            for item in prepared:
                names = item.rule.triggers()
                if names is None:
                    always.append(item)
                else:
                    for name in names:
                        by_event.setdefault(name, []).append(item)
            order = {rule.id: i for i, rule in enumerate(self.rules)}
            buckets: dict[tuple[str, ...], _Bucket] = {}  # events with the same rules share one
            batch = Batch(ops, self.limits)  # each condition generated once, in one namespace

            def bucket(items: list[_Prepared]) -> _Bucket:
                key = tuple(item.rule.id for item in items)
                found = buckets.get(key)
                if found is None:
                    found = buckets[key] = _Bucket(items, batch)
                    found.channel_bound = any(channels[item.rule.id] is not None for item in items)
                return found

            for items in by_event.values():
                items.extend(always)
                items.sort(key=lambda p: order[p.rule.id])
            self._bucket_of = bucket
            channels = {item.rule.id: item.rule.channel_triggers() for item in prepared}
            self._channels = channels
            self._named_channels = frozenset().union(*(c for c in channels.values() if c))
            # (the event's bucket, by identity: kept as long as the rule set; channel) -> bucket
            self._channel_buckets: dict[tuple[int, str | None], _Bucket] = {}
            self._buckets = (
                bucket(prepared),
                bucket(always),
                {name: bucket(items) for name, items in by_event.items()},
            )
        return self._buckets

    def candidates(self, event: str | None, channel: Any = _ANY_CHANNEL) -> list[Rule]:
        """
        The rules worth evaluating for an event named *event* (`None`: no event).

        Given a decision channel *channel* (`context.channel`; `None`: none), rules that
        require another channel are left out too.

        Added in version 0.1.0.
        """
        return [p.rule for p in self._candidates(event, channel).items]

    def _candidates(
        self, event: str | None, channel: Any = _ANY_CHANNEL, *, indexed: bool = True
    ) -> _Bucket:
        everything, always, by_event = self._buckets or self._prepare()
        if not indexed:
            return everything
        base = always if event is None else by_event.get(event, always)
        if not base.channel_bound:
            return base
        if not isinstance(channel, str):
            if channel is not None:
                return base  # an unusual value: no filtering on it
        elif channel not in self._named_channels:
            channel = None  # no rule names it: the rules that name one are out, as for none
        # Keyed by the event's bucket, not its name: events no rule names share one entry.
        key = (id(base), channel)
        found = self._channel_buckets.get(key)
        if found is None:
            with self._compiling:
                found = self._channel_buckets.get(key)
                if found is None:
                    # Rules that require another channel can't match: leave them out.
                    channels = self._channels
                    items = [
                        p
                        for p in base.items
                        if (c := channels[p.rule.id]) is None
                        or (channel is not None and channel in c)
                    ]
                    found = self._channel_buckets[key] = self._bucket_of(items)
        return found

    # -- deciding ----------------------------------------------------------------------------

    def matching(
        self, data: Mapping[str, Any], env: Env | None = None, *, indexed: bool = True
    ) -> list[str]:
        """
        The ids of the rules whose condition holds, in priority order.

        Only conditions: no windows, caps, groups or experiments (that is `decide()`). A
        condition that raises counts as not holding.

        Added in version 0.1.0.
        """
        env = env or Env(now=dt.datetime.now(dt.UTC))
        bucket = self._candidates(_event_name(data), _channel(data), indexed=indexed)
        held, _failed = bucket.run(data, env, bucket.ids)
        return held

    def decide(
        self,
        data: Mapping[str, Any],
        env: Env,
        *,
        customer_id: str | None = None,
        limit: int | None = None,
        indexed: bool = True,
    ) -> Decision:
        """
        Decide for the customer and event in *data*, at `env.now`.

        *data* is what conditions read: `{"customer": ..., "event": ..., "context": ...}`.

        Args:
            data: What conditions read.
            env: The time, history, segments and places of the decision.
            customer_id: Who it is for (experiments hash it, unless `env.assignments` holds
                the customer's key for one; caps count their decisions).
            limit: The most rules to choose.
            indexed: Evaluate only the rules the event can trigger (the default), or all.

        Added in version 0.1.0.
        """
        name = _event_name(data)
        bucket = self._candidates(name, _channel(data), indexed=indexed)
        # Every condition at once; then only the rules that matched (or raised, or have a
        # window) need a look. The others keep the "not matched" outcome made beforehand.
        if bucket.plain:
            matched, failed = bucket.run(data, env, bucket.chosen)
            if not failed:
                # Each rule that matched is chosen (scores are priorities, in the bucket's
                # order already). The outcomes follow from that: they are made when first
                # read, and the decision is put together without __init__, which would
                # want them (the same decision, quicker; see `Decision.__getattr__`).
                if self.strategy is Strategy.FIRST_MATCH:
                    del matched[1:]
                if limit is None or len(matched) <= limit:
                    decision: Decision = _new(Decision)
                    _set_customer_id(decision, customer_id)
                    _set_event(decision, name)
                    _set_at(decision, env.now)
                    _set_strategy(decision, self.strategy)
                    _set_chosen(decision, tuple(matched))
                    _set_pending(decision, (bucket, self, data, env))
                    return decision
                outcomes = list(_outcomes(bucket, matched, self.strategy))
                return self._decision(
                    data=data,
                    env=env,
                    customer_id=customer_id,
                    event=name,
                    chosen=matched,
                    outcomes=outcomes,
                    limit=limit,
                )
            held = [bucket.positions[chosen.rule_id] for chosen in matched]
        else:
            held, failed = bucket.run(data, env)
        chosen_list, outcomes = self._walk(
            bucket, held, failed, data=data, env=env, customer_id=customer_id
        )
        return self._decision(
            data=data,
            env=env,
            customer_id=customer_id,
            event=name,
            chosen=chosen_list,
            outcomes=outcomes,
            limit=limit,
        )

    def _decision(
        self,
        *,
        data: Mapping[str, Any],
        env: Env,
        customer_id: str | None,
        event: str | None,
        chosen: list[Chosen],
        outcomes: list[RuleOutcome],
        limit: int | None,
    ) -> Decision:
        """The decision, after keeping the best *limit* rules."""
        if limit is not None and len(chosen) > limit:
            dropped = {c.rule_id for c in chosen[limit:]}
            chosen = chosen[:limit]
            outcomes = [
                attrs.evolve(o, outcome=Outcome.NOT_NEEDED, detail=f"beyond limit {limit}")
                if o.rule_id in dropped
                else o
                for o in outcomes
            ]
        return Decision(
            customer_id=customer_id,
            event=event,
            at=env.now,
            strategy=self.strategy,
            chosen=tuple(chosen),
            outcomes=tuple(outcomes),
            _ruleset=self,
            _data=data,
            _env=env,
        )

    def _walk(
        self,
        bucket: _Bucket,
        held: list[int],
        failed: list[tuple[int, Exception]],
        *,
        data: Mapping[str, Any],
        env: Env,
        customer_id: str | None,
    ) -> tuple[list[Chosen], list[RuleOutcome]]:
        """Windows, errors, groups, caps, experiments and scores, rule by rule."""
        now = env.now
        items = bucket.items
        outcomes = list(bucket.not_matched)
        chosen: list[Chosen] = []
        groups: set[str] = set()
        first_match = self.strategy is Strategy.FIRST_MATCH
        errors = dict(failed)
        matched = set(held)
        for index in sorted({*held, *errors, *bucket.windowed}):
            item = items[index]
            rule = item.rule
            if item.windowed and (
                (rule.starts_at is not None and now < rule.starts_at)
                or (rule.ends_at is not None and now >= rule.ends_at)
            ):
                outcomes[index] = item.outside_window
                continue
            error = errors.get(index)
            if error is not None:
                outcomes[index] = RuleOutcome(
                    rule_id=rule.id, outcome=Outcome.ERROR, detail=str(error)
                )
                continue
            if index not in matched:
                continue  # a rule with a window that did not match
            verdict = self._verdict(rule, env, customer_id, groups)
            if isinstance(verdict, RuleOutcome):
                outcomes[index] = verdict
                continue
            actions, variant_id = verdict
            score = float(rule.priority) if item.score is None else self._score(item, data, env)
            if rule.group is not None:
                groups.add(rule.group)
            chosen.append(Chosen(rule_id=rule.id, actions=actions, score=score, variant=variant_id))
            outcomes[index] = (
                item.chosen
                if variant_id is None
                else RuleOutcome(rule_id=rule.id, outcome=Outcome.CHOSEN, variant=variant_id)
            )
            if first_match:  # the rules after it were not needed
                outcomes[index + 1 :] = bucket.not_needed[index + 1 :]
                break
        if self.strategy is Strategy.BEST_SCORE:
            chosen.sort(key=lambda c: -c.score)
        return chosen, outcomes

    def _verdict(
        self, rule: Rule, env: Env, customer_id: str | None, groups: set[str]
    ) -> RuleOutcome | tuple[tuple[Action, ...], str | None]:
        """
        What groups, experiments and caps make of a rule that matched.

        Why it is not chosen, or the actions it brings and the variant they come from.
        """
        if rule.group is not None and rule.group in groups:
            return RuleOutcome(rule_id=rule.id, outcome=Outcome.GROUP_TAKEN, detail=rule.group)
        actions, variant_id = rule.actions, None
        arm: Variant | None = None
        group_experiment = self.experiments.get(rule.group) if rule.group is not None else None
        if group_experiment is not None:
            arm = group_experiment.assign(_key(env, group_experiment, customer_id))
            if arm is None:
                return RuleOutcome(
                    rule_id=rule.id, outcome=Outcome.HOLDOUT, detail=group_experiment.id
                )
            if arm.id != rule.id:
                detail = f"experiment {group_experiment.id}: arm {arm.id}"
                return RuleOutcome(rule_id=rule.id, outcome=Outcome.NOT_NEEDED, detail=detail)
        if rule.cap is not None and _used(env, rule, env.now) >= rule.cap.times:
            detail = f"{rule.cap.times} in {rule.cap.days:g} days"
            return RuleOutcome(rule_id=rule.id, outcome=Outcome.CAPPED, detail=detail)
        if arm is not None:
            variant_id = rule.id
            actions = arm.actions or actions
        if rule.experiment is not None:
            variant = rule.experiment.assign(_key(env, rule.experiment, customer_id))
            if variant is None:
                if rule.group is not None:
                    groups.add(rule.group)
                return RuleOutcome(
                    rule_id=rule.id, outcome=Outcome.HOLDOUT, detail=rule.experiment.id
                )
            variant_id = variant.id
            actions = variant.actions or actions
        return actions, variant_id

    def _score(self, item: _Prepared, data: Mapping[str, Any], env: Env) -> float:
        """The rule's score: its condition's value as a number; an error names the rule."""
        assert item.score is not None  # noqa: S101 - for mypy: called for scored rules
        try:
            raw = js.to_number(item.score(data, env), _State(self.limits))
        except OmnikitError as exc:
            raise _for_rule(exc, item.rule.id, "score") from exc
        return raw if raw == raw else float("-inf")  # noqa: PLR0124 - NaN scores last


def _for_rule(exc: OmnikitError, rule_id: str, part: str) -> RuleError:
    """*exc*, raised evaluating *part* of a rule, as the same kind of error naming the rule."""
    if isinstance(exc, RuleError) and exc.rule_id is not None:
        return exc
    if isinstance(exc, RuleSyntaxError):
        path = f"{part}.{exc.path}" if exc.path else part
        return RuleSyntaxError(exc.reason, path=path, rule_id=rule_id)
    kind = RuleLimitError if isinstance(exc, RuleLimitError) else RuleError
    return kind(f"{part}: {exc}", rule_id=rule_id)


def _channel(data: Mapping[str, Any]) -> Any:
    """The decision channel in *data* (`context.channel`), `None` when there is none."""
    context = data.get("context")
    if type(context) is dict or isinstance(context, Mapping):
        return context.get("channel")
    return None


def _event_name(data: Mapping[str, Any]) -> str | None:
    """The name of the event in *data*, if it has one."""
    event = data.get("event")
    name = event.get("name") if type(event) is dict or isinstance(event, Mapping) else None
    return name if type(name) is str or isinstance(name, str) else None


def _key(env: Env, experiment: Experiment, customer_id: str | None) -> str:
    """What the customer's arm of *experiment* is drawn from (see `Env.assignments`)."""
    return env.assignments.get(experiment.id) or customer_id or ""


def _used(env: Env, rule: Rule, now: dt.datetime) -> int:
    """How many recorded decisions chose *rule* within its cap's period."""
    days = rule.cap.days if rule.cap is not None else 0.0
    since = (now - dt.timedelta(days=days)).timestamp()
    count = 0
    for tp in env.history.events(DECISION_EVENT, since, now.timestamp()):
        rules = tp.properties.get("rules")
        if isinstance(rules, list) and rule.id in rules:
            count += 1
    return count
