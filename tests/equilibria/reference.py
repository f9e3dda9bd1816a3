"""Slow, independent reference solvers the tests compare :mod:`stmg_envs.equilibria` against.

Written in plain Python from the definitions, sharing no code with the package:

* :func:`extensive_form_stackelberg` enumerates every pure strategy profile of the
  perfect-information game a priority order induces (a strategy of the k-th mover maps
  each history of the k-1 earlier actions to an action) and keeps the profiles in which
  every mover, at every history, plays what the tie rule prescribes given the profile's
  own continuation. Exactly one profile must survive; its path is the SE.
* :func:`recursive_stackelberg` solves the same game by recursion over histories.
* :func:`brute_force_nash` checks every unilateral deviation of every joint action.

The tie rule is written as one lexicographic key per action (own payoff, then the
leaders' payoffs in priority order, signed by the rule, then minus the action index),
not as the package's successive narrowing of a candidate set.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

SIGN = {"optimistic": 1.0, "leader_pessimistic": -1.0}


def payoff_vector(payoffs: np.ndarray, joint_action: Sequence[int]) -> tuple[float, ...]:
    """Every player's payoff at a joint action given in player index order."""
    return tuple(float(payoffs[(player, *joint_action)]) for player in range(payoffs.shape[0]))


def prescribed_action(vectors: list[tuple[float, ...]], mover: int, leaders: Sequence[int], rule: str) -> int:
    """The action the tie rule prescribes, given the payoff vector each action leads to."""

    def key(action: int) -> tuple[float, ...]:
        vector = vectors[action]
        if rule == "first":
            return (vector[mover], -action)
        return (vector[mover], *(SIGN[rule] * vector[leader] for leader in leaders), -action)

    return max(range(len(vectors)), key=key)


def _to_player_order(path: Sequence[int], order: Sequence[int]) -> tuple[int, ...]:
    joint = [0] * len(order)
    for rank, player in enumerate(order):
        joint[player] = path[rank]
    return tuple(joint)


def count_profiles(sizes_in_order: Sequence[int]) -> int:
    """Number of pure strategy profiles of the induced extensive-form game."""
    count, histories = 1, 1
    for size in sizes_in_order:
        count *= size**histories
        histories *= size
    return count


def extensive_form_stackelberg(payoffs: np.ndarray, order: Sequence[int], rule: str) -> tuple[int, ...]:
    """The SE joint action (player index order) by enumerating all pure strategy profiles."""
    n = payoffs.shape[0]
    sizes = [payoffs.shape[1 + player] for player in order]
    histories = [list(itertools.product(*(range(s) for s in sizes[:k]))) for k in range(n)]
    slot = [{history: i for i, history in enumerate(histories[k])} for k in range(n)]
    strategies = [list(itertools.product(range(sizes[k]), repeat=len(histories[k]))) for k in range(n)]

    def play(profile: tuple, history: tuple[int, ...]) -> tuple[int, ...]:
        for k in range(len(history), n):
            history = (*history, profile[k][slot[k][history]])
        return history

    def consistent(profile: tuple) -> bool:
        for k in range(n):
            for history in histories[k]:
                vectors = [
                    payoff_vector(payoffs, _to_player_order(play(profile, (*history, a)), order))
                    for a in range(sizes[k])
                ]
                if profile[k][slot[k][history]] != prescribed_action(vectors, order[k], order[:k], rule):
                    return False
        return True

    survivors = [profile for profile in itertools.product(*strategies) if consistent(profile)]
    assert len(survivors) == 1, f"the tie rule should pin down one profile, got {len(survivors)}"
    return _to_player_order(play(survivors[0], ()), order)


def recursive_stackelberg(payoffs: np.ndarray, order: Sequence[int], rule: str) -> tuple[int, ...]:
    """The SE joint action (player index order) by recursion over histories."""
    n = payoffs.shape[0]
    sizes = [payoffs.shape[1 + player] for player in order]

    def solve(history: tuple[int, ...]) -> tuple[int, ...]:
        if len(history) == n:
            return history
        k = len(history)
        paths = [solve((*history, a)) for a in range(sizes[k])]
        vectors = [payoff_vector(payoffs, _to_player_order(path, order)) for path in paths]
        return paths[prescribed_action(vectors, order[k], order[:k], rule)]

    return _to_player_order(solve(()), order)


def brute_force_nash(payoffs: np.ndarray, strict: bool = False) -> list[tuple[int, ...]]:
    """All pure NE (or strict pure NE) by checking every unilateral deviation, row-major order."""
    n = payoffs.shape[0]
    shape = payoffs.shape[1:]
    equilibria = []
    for joint in itertools.product(*(range(s) for s in shape)):
        stable = True
        for player in range(n):
            for deviation in range(shape[player]):
                if deviation == joint[player]:
                    continue
                other = (*joint[:player], deviation, *joint[player + 1 :])
                gain = payoffs[(player, *other)] - payoffs[(player, *joint)]
                if gain > 0 or (strict and gain == 0):
                    stable = False
        if stable:
            equilibria.append(joint)
    return equilibria
