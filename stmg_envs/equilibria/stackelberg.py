"""Pure Stackelberg equilibria of N-player normal-form games under a priority order.

Under a priority order ``(p_1, ..., p_N)`` the simultaneous stage game becomes a game of
perfect information: ``p_1`` (the top leader) acts, ``p_2`` sees that action and acts, and
so on, ``p_N`` acting last with every other action known. This is one time step of the
STMG built by :func:`stmg_envs.stmg_v0`. The Stackelberg equilibrium (SE) under the
order is the outcome of backward induction on that game:

1. ``p_N`` best-responds to every prefix of actions ``(a_{p_1}, ..., a_{p_{N-1}})``;
2. ``p_{N-1}`` best-responds to every prefix ``(a_{p_1}, ..., a_{p_{N-2}})``, anticipating
   that ``p_N`` answers as in step 1;
3. and so on up to ``p_1``, whose choice fixes the equilibrium joint action.

Tie rule (``tie_break``). Let ``o(a)`` be the joint action reached when ``p_k`` plays
``a`` after a given prefix and everyone below answers as already solved. ``p_k``'s
candidates are its best responses ``C = {a : u_{p_k}(o(a)) >= max_b u_{p_k}(o(b)) - atol}``.
Then:

* ``"optimistic"`` (default; the *strong* SE when ``N = 2``): followers break ties in
  favour of their leaders, the higher-priority leader first: ``C`` is narrowed to the
  actions maximising ``u_{p_1}(o(a))``, then among those to the ones maximising
  ``u_{p_2}(o(a))``, ..., up to ``u_{p_{k-1}}``.
* ``"leader_pessimistic"`` (the *weak* SE when ``N = 2``: the leader secures the worst
  case over the follower's best responses): the same narrowing, minimising instead of
  maximising.
* ``"first"``: no narrowing (what ``np.argmax`` over best responses does).

Whatever is left after that goes to the lowest action index, so the result is unique
and deterministic. The top leader ``p_1`` has no leader above it: its ties always go to
its lowest action index. In a team game (common payoff) every rule reaches a global
maximum of the common payoff.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, get_args

import numpy as np
import numpy.typing as npt

from stmg_envs.equilibria.payoffs import as_order, as_payoff_tensor, as_tolerance

__all__ = [
    "TieBreak",
    "TIE_BREAKS",
    "StackelbergEquilibrium",
    "stackelberg_equilibrium",
    "DecisiveMargin",
    "decisive_margin",
]

#: How a follower chooses among its best responses (see the module docstring).
TieBreak = Literal["optimistic", "leader_pessimistic", "first"]
#: The accepted values of ``tie_break``.
TIE_BREAKS: tuple[str, ...] = get_args(TieBreak)


@dataclass(frozen=True)
class StackelbergEquilibrium:
    """The pure Stackelberg equilibrium of a normal-form game under one priority order.

    Attributes:
        joint_action: one action index per player, in player index order (not in
            priority order), so ``payoffs[(slice(None), *joint_action)]`` is its payoff vector.
        payoffs: the payoff of every player at ``joint_action``, in player index order.
        order: the priority order used, ``order[0]`` acting first.
        tie_break: the tie rule used (see :mod:`stmg_envs.equilibria.stackelberg`).
    """

    joint_action: tuple[int, ...]
    payoffs: tuple[float, ...]
    order: tuple[int, ...]
    tie_break: TieBreak

    @property
    def leader(self) -> int:
        """The player who acts first (``order[0]``)."""
        return self.order[0]


def _check_tie_break(tie_break: str) -> None:
    if tie_break not in TIE_BREAKS:
        raise ValueError(f"expected `tie_break` to be one of {TIE_BREAKS}, got {tie_break!r}.")


def _near_max(values: np.ndarray, atol: float) -> np.ndarray:
    """Mask of the entries within ``atol`` of the maximum along the last axis."""
    return values >= values.max(axis=-1, keepdims=True) - atol


class _Induction(NamedTuple):
    """Backward induction over every action prefix, rank by rank (axes in priority order).

    ``choices[k]``: rank ``k``'s reply to every prefix of the ``k`` ranks above (shape of those ranks' actions);
    ``mover_values[k]``: rank ``k``'s payoff of each of its actions after every prefix, the ranks below
    answering as solved (that shape plus rank ``k``'s actions).
    """

    choices: list[np.ndarray]
    mover_values: list[np.ndarray]


def _backward_induction(table: np.ndarray, priority: tuple[int, ...], tie_break: str, tolerance: float) -> _Induction:
    """Solve every prefix of ``table`` under ``priority`` (vectorised; see :func:`stackelberg_equilibrium`)."""
    num_players = table.shape[0]
    # values[i][b_1, ..., b_k]: player i's payoff when the first k movers of the order play
    # b_1..b_k and everybody below answers as already solved. Action axes in priority order.
    values = np.transpose(table, (0, *(1 + player for player in priority)))
    choices: list[np.ndarray] = [np.empty(0, dtype=np.intp)] * num_players
    mover_values: list[np.ndarray] = [np.empty(0)] * num_players
    for rank in reversed(range(num_players)):
        mover = priority[rank]
        mover_values[rank] = values[mover]
        candidates = _near_max(values[mover], tolerance)
        if tie_break != "first":
            sign = 1.0 if tie_break == "optimistic" else -1.0
            for leader in priority[:rank]:
                key = np.where(candidates, sign * values[leader], -np.inf)
                candidates &= _near_max(key, tolerance)
        choice = np.argmax(candidates, axis=-1)  # lowest index among the remaining candidates
        choices[rank] = choice
        values = np.take_along_axis(values, choice[np.newaxis, ..., np.newaxis], axis=-1)[..., 0]
    return _Induction(choices, mover_values)


def _joint_action(choices: list[np.ndarray], priority: tuple[int, ...]) -> tuple[int, ...]:
    """The joint action (player index order) that the replies ``choices`` reach from the empty prefix."""
    joint_action = [0] * len(priority)
    prefix: tuple[int, ...] = ()
    for rank, player in enumerate(priority):
        action = int(choices[rank][prefix])
        joint_action[player] = action
        prefix += (action,)
    return tuple(joint_action)


def stackelberg_equilibrium(
    payoffs: npt.ArrayLike,
    order: Sequence[int] | None = None,
    *,
    tie_break: TieBreak = "optimistic",
    atol: float = 0.0,
) -> StackelbergEquilibrium:
    """Compute the pure Stackelberg equilibrium under a priority order by backward induction.

    Each player, given the actions of the players above it in ``order``, plays a best
    response that anticipates the (already solved) best responses of the players below
    it; ties follow ``tie_break`` and then the lowest action index (see
    :mod:`stmg_envs.equilibria.stackelberg` for the exact rule). The induction is vectorised
    over all action prefixes, so its cost is ``O(N * prod(A_i))``.

    Args:
        payoffs: array-like of shape ``(N, A_1, ..., A_N)``; ``payoffs[i]`` is player
            ``i``'s payoff. For a team game use :func:`common_payoff_tensor`.
        order: priority order of player indices, first acts first; ``None`` means
            ``(0, 1, ..., N-1)``, i.e. player 0 (the row player) leads.
        tie_break: ``"optimistic"`` (followers favour their leaders; default),
            ``"leader_pessimistic"`` (followers disfavour them) or ``"first"`` (lowest index).
        atol: payoffs closer than ``atol`` count as tied (default 0: exact comparison).

    Returns:
        The equilibrium joint action, its payoff vector, the order and the tie rule.

    Raises:
        TypeError: if ``payoffs`` is not a real numeric array.
        ValueError: on a malformed ``payoffs``, ``order``, ``tie_break`` or ``atol``.

    Examples:
        >>> import numpy as np
        >>> from stmg_envs.equilibria import common_payoff_tensor, stackelberg_equilibrium
        >>> k = -100
        >>> penalty = common_payoff_tensor([[k, 0, 10], [0, 2, 0], [8, 0, k]])
        >>> se = stackelberg_equilibrium(penalty)
        >>> se.joint_action, se.payoffs
        ((0, 2), (10.0, 10.0))
        >>> stackelberg_equilibrium(penalty, order=[1, 0]).joint_action   # column player leads
        (0, 2)
    """
    table = as_payoff_tensor(payoffs)
    num_players = table.shape[0]
    priority = as_order(order, num_players)
    _check_tie_break(tie_break)
    choices = _backward_induction(table, priority, tie_break, as_tolerance(atol)).choices

    joint_action = _joint_action(choices, priority)
    index: tuple[Any, ...] = (slice(None), *joint_action)
    payoff_vector = table[index]
    return StackelbergEquilibrium(
        joint_action=joint_action,
        payoffs=tuple(float(v) for v in payoff_vector),
        order=priority,
        tie_break=tie_break,
    )


class DecisiveMargin(NamedTuple):
    """The finest payoff difference the SE of a game depends on (see :func:`decisive_margin`)."""

    #: The mover's gap between its backward-induction reply and its next-best action (``inf``: no swap matters).
    margin: float
    #: The rank (position in the order) that decides there (None when no swap matters).
    rank: int | None
    #: Its context: the actions of the ranks above, in priority order (None likewise).
    context: tuple[int, ...] | None


def decisive_margin(
    payoffs: npt.ArrayLike,
    order: Sequence[int] | None = None,
    *,
    tie_break: TieBreak = "optimistic",
) -> DecisiveMargin:
    """The smallest payoff gap that decides the SE of ``payoffs`` under ``order``.

    In every context (the actions of the ranks above) of every rank, the mover's backward-induction reply
    is swapped for its next-best action, the one paying it most after the reply (the ranks below answering
    as solved), and the game is solved again (the ranks above re-solving, the same tie rule). Where that
    changes the SE joint action, the mover's gap between the two actions decides the SE. The margin is the
    smallest such gap: a learner that estimates values from samples must resolve it, with its own noise and
    that of the ranks below it, so a game whose SE hinges on a gap of 0.01 is a knife edge for any such
    learner, whatever the number of agents. A gap of 0 means that a tie rule decides the SE.

    Args:
        payoffs: array-like of shape ``(N, A_1, ..., A_N)``.
        order: priority order of player indices (``None``: ``(0, ..., N-1)``).
        tie_break: the tie rule of the solver (see the module docstring).

    Returns:
        The margin with the rank and context where it lies; ``inf`` (rank and context None) when no swap
        changes the SE (every player has one action).

    Examples:
        >>> import numpy as np
        >>> payoffs = np.zeros((2, 2, 2))
        >>> payoffs[0] = [[3.0, 0.0], [2.5, 0.0]]; payoffs[1] = [[1.0, 0.0], [1.0, 0.0]]
        >>> decisive_margin(payoffs)  # the leader's 3 against 2.5: swapping its reply changes the SE
        DecisiveMargin(margin=0.5, rank=0, context=())
    """
    table = as_payoff_tensor(payoffs)
    priority = as_order(order, table.shape[0])
    _check_tie_break(tie_break)
    induction = _backward_induction(table, priority, tie_break, 0.0)
    se = _joint_action(induction.choices, priority)
    low = float(table.min()) - 1.0 - float(np.ptp(table))  # below every payoff
    best = DecisiveMargin(float("inf"), None, None)
    for rank, (choices, values) in enumerate(zip(induction.choices, induction.mover_values)):
        if values.shape[-1] < 2:
            continue
        replies = choices[..., np.newaxis]
        chosen = np.take_along_axis(values, replies, axis=-1)[..., 0]
        others = values.copy()
        np.put_along_axis(others, replies, -np.inf, axis=-1)
        gaps = chosen - others.max(axis=-1)
        for flat in np.argsort(gaps, axis=None, kind="stable"):  # smallest gaps first
            context = tuple(int(a) for a in np.unravel_index(flat, gaps.shape))
            gap = float(gaps[context])
            if gap >= best.margin:
                break
            swapped = table.copy()  # the mover's payoffs after its reply made the lowest: it plays its next best
            index: list[Any] = [priority[rank]] + [slice(None)] * (table.ndim - 1)
            for mover, action in zip(priority, (*context, int(choices[context]))):
                index[1 + mover] = action
            swapped[tuple(index)] = low
            if stackelberg_equilibrium(swapped, order=priority, tie_break=tie_break).joint_action != se:
                best = DecisiveMargin(gap, rank, context)
                break
    return best
