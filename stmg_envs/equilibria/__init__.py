"""Exact solvers for normal-form (stage) games given as payoff tensors.

A game with ``N`` players is a float array ``payoffs`` of shape ``(N, A_1, ..., A_N)``:
``payoffs[i][a_1, ..., a_N]`` is player ``i``'s payoff (see :mod:`stmg_envs.equilibria.payoffs`;
:func:`common_payoff_tensor` builds one from a team game's single table).

* :func:`stackelberg_equilibrium`: the pure Stackelberg equilibrium under a priority order,
  by backward induction with a stated tie rule (:mod:`stmg_envs.equilibria.stackelberg`).
* :func:`decisive_margin`: the smallest payoff gap that decides that SE (how fine a difference a
  learner must resolve to reach it).
* :func:`pure_nash_equilibria`: all pure Nash equilibria, optionally strict only.
* :func:`cooperation_level`: Bi-AC's cooperation level (Eq. 6), and
  :func:`sample_correlated_game` for the random games of Bi-AC's Fig. 2.
* :func:`classify_outcome`: tag a joint action as ``"SE"``, ``"NE"`` or ``"none"``.
* :func:`iterated_stackelberg`: the leader's best deterministic memory-1 policy in an iterated 2x2
  game with memory (Oracles & Followers), the follower best-responding
  (:mod:`stmg_envs.equilibria.iterated`; :func:`iterated_game` builds the games).

Examples:
    >>> from stmg_envs.equilibria import classify_outcome, pure_nash_equilibria, stackelberg_equilibrium
    >>> maintain = [[[20, 0, 0], [30, 10, 0], [0, 0, 5]], [[15, 0, 0], [0, 5, 0], [0, 0, 10]]]
    >>> stackelberg_equilibrium(maintain).joint_action, pure_nash_equilibria(maintain)
    ((0, 0), [(1, 1), (2, 2)])
    >>> classify_outcome(maintain, (0, 0)).is_nash
    False
"""

from stmg_envs.equilibria.cooperation import cooperation_level, pairwise_cooperation_levels, sample_correlated_game
from stmg_envs.equilibria.iterated import (
    FollowerResponse,
    IteratedGame,
    IteratedStackelberg,
    follower_best_response,
    iterated_game,
    iterated_stackelberg,
)
from stmg_envs.equilibria.nash import is_pure_nash_equilibrium, pure_nash_equilibria, pure_nash_mask
from stmg_envs.equilibria.outcome import OutcomeClassification, OutcomeLabel, classify_outcome
from stmg_envs.equilibria.payoffs import as_joint_action, as_order, as_payoff_tensor, common_payoff_tensor
from stmg_envs.equilibria.stackelberg import (
    TIE_BREAKS,
    DecisiveMargin,
    StackelbergEquilibrium,
    TieBreak,
    decisive_margin,
    stackelberg_equilibrium,
)

__all__ = [
    "as_payoff_tensor",
    "common_payoff_tensor",
    "as_order",
    "as_joint_action",
    "stackelberg_equilibrium",
    "StackelbergEquilibrium",
    "decisive_margin",
    "DecisiveMargin",
    "TieBreak",
    "TIE_BREAKS",
    "pure_nash_equilibria",
    "pure_nash_mask",
    "is_pure_nash_equilibrium",
    "cooperation_level",
    "pairwise_cooperation_levels",
    "sample_correlated_game",
    "classify_outcome",
    "OutcomeClassification",
    "OutcomeLabel",
    "iterated_game",
    "IteratedGame",
    "iterated_stackelberg",
    "IteratedStackelberg",
    "follower_best_response",
    "FollowerResponse",
]
