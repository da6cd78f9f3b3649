"""
The Markov chain of a path table, and its removal effects, solved exactly.

The chain's transient states are `(start)` and the channels (order 1) or the last *order*
channels of a path (order k); `(conversion)` and `(null)` absorb. Transition probabilities
are the weighted counts of the table's moves, with repeated consecutive channels collapsed
into one touch. With Q the moves between transient states, r the moves into `(conversion)`,
N = (I - Q)⁻¹ the fundamental matrix and x = N r, the probability of converting from
`(start)` is x₀.

Removing a channel c sends every move into a state S_c holding c to `(null)`. Then the
probability of converting from `(start)` is x₀ - N[0, S] N[S, S]⁻¹ x[S] (the Woodbury identity
on rows S of I - Q; for one state s it is x₀ - P(reach s) x_s, a first visit then a
conversion from s). So one inverse gives every channel's removal effect, exactly, with no
simulation, and the same for conversion value with r weighted by the value of each conversion.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence

import attrs
import numpy as np
import numpy.typing as npt

from omnikit.analytics._paths import ConversionPath, PathTable
from omnikit.errors import ValidationError

__all__ = ["Chain", "collapsed", "solve"]

START = "(start)"
CONVERSION = "(conversion)"
NULL = "(null)"

State = tuple[str, ...]
Floats = npt.NDArray[np.float64]


def collapsed(channels: Sequence[str]) -> tuple[str, ...]:
    """*channels* with repeated consecutive ones kept once: a > a > b is a > b."""
    return tuple(
        name for index, name in enumerate(channels) if not index or name != channels[index - 1]
    )


def _states_of(row: ConversionPath, order: int) -> Iterator[State]:
    path = collapsed(row.channels)
    for index in range(len(path)):
        yield path[max(0, index - order + 1) : index + 1]


@attrs.define(frozen=True, kw_only=True)
class Chain:
    """The chain of a table: its transient states (start first), moves and absorptions."""

    states: tuple[State, ...]
    moves: Floats
    conversions: Floats
    values: Floats
    nulls: Floats

    @classmethod
    def of(cls, table: PathTable, *, order: int, max_states: int) -> Chain:
        """Count the moves of *table*'s paths, each weighted by how many journeys took it."""
        walks = [(row, (*_states_of(row, order),)) for row in table.rows if row.journeys > 0]
        states = sorted({state for _, walk in walks for state in walk})
        if len(states) > max_states:
            raise ValidationError(
                f"order: {order} gives {len(states)} states, more than max_states={max_states}"
            )
        index = {state: number for number, state in enumerate(states, start=1)}
        size = len(states) + 1
        moves = np.zeros((size, size))
        conversions, values, nulls = np.zeros(size), np.zeros(size), np.zeros(size)
        for row, walk in walks:
            steps = [0, *(index[state] for state in walk)]
            for here, there in itertools.pairwise(steps):
                moves[here, there] += row.journeys
            conversions[steps[-1]] += row.conversions
            values[steps[-1]] += row.value
            nulls[steps[-1]] += row.nulls
        return cls(
            states=((), *states),
            moves=moves,
            conversions=conversions,
            values=values,
            nulls=nulls,
        )

    def name(self, number: int) -> str:
        """The name of transient state *number*: `(start)`, `web` or `email > web`."""
        return " > ".join(self.states[number]) if number else START

    def transitions(self) -> Iterator[tuple[str, str, float]]:
        """Every move with a probability above 0, from state to state, start first."""
        leaving = self.moves.sum(axis=1) + self.conversions + self.nulls
        for here in range(len(self.states)):
            if not leaving[here]:
                continue
            for there in np.flatnonzero(self.moves[here]):
                yield (
                    self.name(here),
                    self.name(int(there)),
                    float(self.moves[here, there] / leaving[here]),
                )
            if self.conversions[here]:
                yield self.name(here), CONVERSION, float(self.conversions[here] / leaving[here])
            if self.nulls[here]:
                yield self.name(here), NULL, float(self.nulls[here] / leaving[here])


@attrs.define(frozen=True, kw_only=True)
class Solution:
    """The chance of a conversion from the start, its value, and each channel's removal effects."""

    probability: float
    expected_value: float
    effects: dict[str, tuple[float, float]]


def _removal_effect(fundamental: Floats, absorbed: Floats, removed: npt.NDArray[np.intp]) -> float:
    """The share of *absorbed*'s start value lost when the states *removed* lead nowhere."""
    if not absorbed[0] or not removed.size:
        return 0.0
    block = fundamental[np.ix_(removed, removed)]
    lost = fundamental[0, removed] @ np.linalg.solve(block, absorbed[removed])
    return float(min(1.0, max(0.0, lost / absorbed[0])))


def solve(chain: Chain, channels: Sequence[str]) -> Solution:
    """The exact conversion probability and removal effects of *chain*, per channel."""
    leaving = chain.moves.sum(axis=1) + chain.conversions + chain.nulls
    if len(chain.states) == 1 or not leaving[0]:
        return Solution(
            probability=0.0, expected_value=0.0, effects=dict.fromkeys(channels, (0.0, 0.0))
        )
    leaving[leaving == 0] = 1.0
    moves = chain.moves / leaving[:, None]
    fundamental = np.linalg.inv(np.eye(len(chain.states)) - moves)
    absorbed = fundamental @ (chain.conversions / leaving)
    valued = fundamental @ (chain.values / leaving)
    effects = {}
    for channel in channels:
        removed = np.array(
            [number for number, state in enumerate(chain.states) if channel in state],
            dtype=np.intp,
        )
        effects[channel] = (
            _removal_effect(fundamental, absorbed, removed),
            _removal_effect(fundamental, valued, removed),
        )
    return Solution(
        probability=float(min(1.0, max(0.0, absorbed[0]))),
        expected_value=float(valued[0]),
        effects=effects,
    )
