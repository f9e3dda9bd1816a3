"""Every rank's replies in a matrix game, against backward induction: why a learner misses the SE.

The matrix suite labels the greedy joint action: SE or not. When it is not, the
question is *which* agent answers wrongly, and where. In the STMG of an ``N``-player
matrix game the agent of rank ``k`` decides in one context per joint action of the
``k`` agents above it (``A**k`` contexts); the Stackelberg equilibrium is the outcome
of backward induction, which fixes one reply for every context. This module reads an
algorithm's greedy reply (and, where offered, its probability of the backward-induction
reply) in every context, through the sequential form, and counts the contexts where
they differ, rank by rank.

A wrong reply in a context the learners seldom visit still matters: the agents above
compare their actions against the replies below them, so one wrong reply of the last
follower can turn a leader's best action into a bad one.

* :func:`backward_induction_replies`: the reply of every rank in every context, from
  :func:`stmg_envs.equilibria.stackelberg_equilibrium` (the same solver and tie rule
  that label the matrix suite's outcomes);
* :func:`joint_reply_errors`: the wrong replies (ties aside) read from a joint-action distribution
  (a matrix trial record's ``joint_probabilities``), so saved runs are read without
  retraining;
* :func:`reply_errors`: an algorithm's replies against them, one
  :class:`RankReplies` per rank, with the value of each of the rank's actions on the
  SE path against the learned ranks below and against backward induction: where they
  disagree on the best action, the ranks below have made another action better, and
  the rank cannot learn the SE however well it learns.

Examples:
    >>> from stmg_envs.equilibria import common_payoff_tensor
    >>> penalty = common_payoff_tensor([[-100, 0, 10], [0, 2, 0], [8, 0, -100]])
    >>> replies = backward_induction_replies(penalty)
    >>> replies[()], replies[(0,)], replies[(1,)], replies[(2,)]
    (0, 2, 1, 0)
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from stmg_bench.contract import has_probabilities
from stmg_bench.suites.matrix import walk_contexts

__all__ = [
    "RankReplies",
    "JointReplies",
    "backward_induction_replies",
    "contexts",
    "rank_contexts",
    "reply_errors",
    "joint_reply_errors",
]


def backward_induction_replies(
    payoffs: npt.ArrayLike, order: Sequence[int] | None = None
) -> dict[tuple[int, ...], int]:
    """The backward-induction reply of the mover in every context, ``{context: action}``.

    A context is the tuple of actions of the agents above the mover, in priority order
    (``()`` for the leader), so the mover is ``order[len(context)]``. Each reply is
    the SE of the game in which the agents above the mover have only their context
    actions left, solved by :func:`stmg_envs.equilibria.stackelberg_equilibrium` with
    its default tie rule: the replies the matrix suite's labels assume.

    Args:
        payoffs: ``(N, A_1, ..., A_N)`` payoff tensor.
        order: Priority order of player indices (default ``0..N-1``).

    Returns:
        ``{context: reply}`` for every context of every rank (``sum_k prod A`` entries).
    """
    from stmg_envs.equilibria import stackelberg_equilibrium
    from stmg_envs.equilibria.payoffs import as_order, as_payoff_tensor

    table = as_payoff_tensor(payoffs)
    priority = as_order(order, table.shape[0])
    replies: dict[tuple[int, ...], int] = {}
    for context in contexts(table.shape[1:], priority):
        index: list[slice] = [slice(None)] * table.ndim  # axis 0: the players; the movers above keep one action
        for player, action in zip(priority, context):
            index[1 + player] = slice(action, action + 1)
        subgame = table[tuple(index)]
        replies[context] = int(stackelberg_equilibrium(subgame, order=priority).joint_action[priority[len(context)]])
    return replies


def contexts(n_actions: Sequence[int], order: Sequence[int]) -> Iterator[tuple[int, ...]]:
    """Every context of every rank, rank by rank: ``()``, then each action of ``order[0]``, and so on."""
    for rank in range(len(order)):
        yield from rank_contexts(n_actions, order, rank)


def rank_contexts(n_actions: Sequence[int], order: Sequence[int], rank: int) -> Iterator[tuple[int, ...]]:
    """The contexts of rank ``rank``: every joint action of ``order[:rank]``, in row-major order."""
    return itertools.product(*(range(n_actions[player]) for player in order[:rank]))


def _payoff_vector(table: np.ndarray, order: Sequence[int], history: tuple[int, ...]) -> np.ndarray:
    """Every player's payoff of a complete history (actions in priority order)."""
    joint = [0] * len(order)
    for rank, player in enumerate(order):
        joint[player] = history[rank]
    index: tuple[Any, ...] = (slice(None), *joint)
    return table[index]


def _induced_payoffs(
    table: np.ndarray, order: Sequence[int], replies: dict[tuple[int, ...], int], history: tuple[int, ...]
) -> np.ndarray:
    """Every player's payoff after ``history`` when the ranks below play the backward-induction replies."""
    while len(history) < len(order):
        history = (*history, replies[history])
    return _payoff_vector(table, order, history)


class RankReplies(NamedTuple):
    """One rank's replies against backward induction (see :func:`reply_errors`)."""

    rank: int
    agent: str
    contexts: int
    #: Contexts whose greedy reply is not the backward-induction reply.
    wrong: int
    #: The wrong contexts, in priority order of the actions above.
    wrong_contexts: tuple[tuple[int, ...], ...]
    #: The context on the SE path (the SE actions of the ranks above).
    se_context: tuple[int, ...]
    #: The backward-induction reply there (the SE action of this rank).
    se_reply: int
    #: Probability of the backward-induction reply in the SE-path context (None without ``action_probabilities``).
    p_reply_se_path: float | None
    #: Mean over all contexts of the probability of the backward-induction reply (None likewise).
    p_reply_mean: float | None
    #: The mover's expected payoff of each of its actions in the SE-path context when the ranks below play the
    #: algorithm's policies (their probabilities where offered, else their greedy replies): what it learns against.
    values_learned: tuple[float, ...]
    #: The same when the ranks below play the backward-induction replies: what the SE assumes.
    values_se: tuple[float, ...]

    @property
    def best_learned(self) -> int:
        """The mover's best action against the learned ranks below (the lowest index on a tie)."""
        return int(np.argmax(self.values_learned))


def reply_errors(
    algorithm: Any, make_env: Callable[[], Any], payoffs: npt.ArrayLike, seed: int = 0
) -> list[RankReplies]:
    """An algorithm's reply in every context of its STMG against backward induction, rank by rank.

    Each context is reached by stepping the STMG (after ``reset(seed=seed)``) with the
    context's actions (:func:`stmg_bench.suites.matrix.walk_contexts`, the walk the matrix
    suite's joint distribution uses), so the algorithm sees exactly what the sequential
    form shows it: its observation holds the actions of the agents above it.

    Args:
        algorithm: A sequential-form algorithm of :mod:`stmg_bench.contract` (``act``; ``action_probabilities``
            is used when offered).
        make_env: Its ``make_env``: the STMG of a matrix game, in the order to check.
        payoffs: The game's ``(N, A_1, ..., A_N)`` payoff tensor.
        seed: Seed of the reset.

    Returns:
        One :class:`RankReplies` per rank, leader first.

    Raises:
        ValueError: ``algorithm`` is not of the sequential form (a simultaneous policy has no contexts).
    """
    if getattr(algorithm, "form", None) != "sequential":
        raise ValueError(
            f"expected a sequential-form algorithm (its replies depend on the actions above it), got form "
            f"{getattr(algorithm, 'form', None)!r}"
        )
    env = make_env()
    env.reset(seed=seed)
    agents = list(env.possible_agents)
    order = [agents.index(a) for a in env.order]
    table = np.asarray(payoffs)
    replies = backward_induction_replies(table, order)
    probabilities = has_probabilities(algorithm)
    greedy: dict[tuple[int, ...], int] = {}
    policy: dict[tuple[int, ...], np.ndarray] = {}  # the mover's action distribution (one-hot without probabilities)
    for context in walk_contexts(make_env, seed):
        greedy[context.history] = int(algorithm.act(context.agent, context.observation))
        n = table.shape[1 + order[len(context.history)]]
        policy[context.history] = (
            np.asarray(algorithm.action_probabilities(context.agent, context.observation), dtype=float)
            if probabilities
            else np.eye(n)[greedy[context.history]]
        )
    p_reply = {context: float(pi[replies[context]]) for context, pi in policy.items()}

    @functools.cache  # each rank on the SE path reads the subtree below it: solve every node once
    def learned(history: tuple[int, ...]) -> np.ndarray:
        """Every player's expected payoff after ``history`` when the ranks below play the learned policies."""
        if len(history) == len(order):
            return _payoff_vector(table, order, history)
        children = [p * learned((*history, a)) for a, p in enumerate(policy[history]) if p > 0]
        return np.sum(children, axis=0)

    def induced(history: tuple[int, ...]) -> np.ndarray:
        """The same when the ranks below play the backward-induction replies."""
        return _induced_payoffs(table, order, replies, history)

    result = []
    se_context: tuple[int, ...] = ()
    for rank, player in enumerate(order):
        ranked = list(rank_contexts(table.shape[1:], order, rank))
        wrong = tuple(c for c in ranked if greedy[c] != replies[c])
        result.append(
            RankReplies(
                rank=rank,
                agent=agents[player],
                contexts=len(ranked),
                wrong=len(wrong),
                wrong_contexts=wrong,
                se_context=se_context,
                se_reply=replies[se_context],
                p_reply_se_path=p_reply[se_context] if probabilities else None,
                p_reply_mean=float(np.mean([p_reply[c] for c in ranked])) if probabilities else None,
                values_learned=tuple(float(learned((*se_context, a))[player]) for a in range(table.shape[1 + player])),
                values_se=tuple(float(induced((*se_context, a))[player]) for a in range(table.shape[1 + player])),
            )
        )
        se_context = (*se_context, replies[se_context])
    return result


class JointReplies(NamedTuple):
    """Per rank, the greedy replies read from a joint-action distribution against backward induction."""

    #: Contexts whose greedy reply pays less than the backward-induction reply.
    wrong: tuple[int, ...]
    #: Contexts read.
    contexts: tuple[int, ...]
    #: Contexts the distribution gives zero probability (their reply cannot be read).
    unread: tuple[int, ...]
    #: Per rank, 1 when its greedy reply in the context on the SE path (the backward-induction replies of the ranks
    #: above) is wrong, else 0: the replies that decide the outcome. Wrong replies off that path do not change it.
    wrong_on_path: tuple[int, ...] = ()

    @property
    def right_on_path(self) -> bool:
        """No rank's reply on the SE path is wrong: the policy's greedy play follows the SE path (up to ties)."""
        return not any(self.wrong_on_path)


def joint_reply_errors(
    payoffs: npt.ArrayLike,
    joint: npt.ArrayLike,
    order: Sequence[int] | None = None,
    replies: dict[tuple[int, ...], int] | None = None,
    atol: float = 1e-9,
) -> JointReplies:
    """Count, rank by rank, the contexts whose greedy reply pays less than backward induction's, from ``joint``.

    ``joint`` is the joint-action distribution a sequential policy induces (the matrix suite's
    ``joint_probabilities``, axes in ``possible_agents`` order): rank ``k``'s policy in a context is ``joint``
    conditioned on the context and summed over the ranks below, its greedy reply the most probable action
    (the lowest index on a tie). It is wrong when it is not the backward-induction reply and pays the mover
    less than that reply (by more than ``atol``), the ranks below playing their backward-induction replies:
    :func:`reply_errors`' ``wrong`` without the ties a team game has, read from a policy that is gone.
    ``wrong_on_path`` marks, rank by rank, a wrong reply in the one context on the SE path.

    Args:
        payoffs: ``(N, A_1, ..., A_N)`` payoff tensor.
        joint: ``(A_1, ..., A_N)`` joint-action probabilities.
        order: Priority order of player indices (default ``0..N-1``).
        replies: :func:`backward_induction_replies` of ``payoffs`` and ``order``, if already solved.
        atol: Payoff differences up to this are ties.

    Raises:
        ValueError: ``joint`` does not have one axis per player of ``payoffs``' sizes.

    Examples:
        >>> payoffs = np.zeros((2, 2, 2)); payoffs[1] = [[1, 0], [0, 1]]  # the follower should copy the leader
        >>> joint_reply_errors(payoffs, [[0.5, 0.0], [0.0, 0.5]])
        JointReplies(wrong=(0, 0), contexts=(1, 2), unread=(0, 0), wrong_on_path=(0, 0))
        >>> always_a1 = joint_reply_errors(payoffs, [[0.5, 0.0], [0.5, 0.0]])  # wrong after a2, off the SE path
        >>> always_a1.wrong, always_a1.right_on_path
        ((0, 1), True)
    """
    from stmg_envs.equilibria.payoffs import as_order, as_payoff_tensor

    table = as_payoff_tensor(payoffs)
    probabilities = np.asarray(joint, dtype=np.float64)
    if probabilities.shape != table.shape[1:]:
        raise ValueError(
            f"expected a joint distribution of shape {table.shape[1:]} (one axis per player), got {probabilities.shape}."
        )
    priority = as_order(order, table.shape[0])
    if replies is None:
        replies = backward_induction_replies(table, priority)
    by_rank = probabilities.transpose(priority)  # axes in priority order
    wrong, read, unread = [0] * len(priority), [0] * len(priority), [0] * len(priority)
    wrong_at: set[tuple[int, ...]] = set()
    for rank in range(len(priority)):
        for context in rank_contexts(table.shape[1:], priority, rank):
            mass = by_rank[context].reshape(by_rank.shape[rank], -1).sum(axis=1)
            if mass.sum() <= 0:
                unread[rank] += 1
                continue
            read[rank] += 1
            greedy = int(np.argmax(mass))
            if greedy != replies[context]:  # wrong unless it pays the mover as much (a tie), the ranks below replying
                player = priority[rank]
                value = _induced_payoffs(table, priority, replies, (*context, greedy))[player]
                best = _induced_payoffs(table, priority, replies, (*context, replies[context]))[player]
                if value < best - atol:
                    wrong[rank] += 1
                    wrong_at.add(context)
    path: list[tuple[int, ...]] = [()]
    for _ in priority[:-1]:
        path.append((*path[-1], replies[path[-1]]))
    return JointReplies(tuple(wrong), tuple(read), tuple(unread), tuple(int(c in wrong_at) for c in path))
