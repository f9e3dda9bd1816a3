"""Tag a played joint action as the Stackelberg equilibrium, a pure Nash equilibrium, or neither.

Benchmarks use this to report, e.g., the share of trials that converge to the SE of the
Penalty game versus its other NE. The label precedence is SE, then NE, then none: an SE
that is also an NE (Penalty's (a1, a3)) is labelled ``"SE"``, and the dataclass still
says that it is an NE.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from stmg_envs.equilibria.nash import pure_nash_mask
from stmg_envs.equilibria.payoffs import as_joint_action, as_payoff_tensor, as_tolerance
from stmg_envs.equilibria.stackelberg import StackelbergEquilibrium, TieBreak, stackelberg_equilibrium

__all__ = ["OutcomeLabel", "OutcomeClassification", "classify_outcome"]

#: ``"SE"``: the Stackelberg equilibrium under the order; ``"NE"``: another pure Nash
#: equilibrium; ``"none"``: neither.
OutcomeLabel = Literal["SE", "NE", "none"]


@dataclass(frozen=True)
class OutcomeClassification:
    """What a joint action is, game-theoretically, in a normal-form game.

    Attributes:
        label: ``"SE"`` if ``joint_action`` is the Stackelberg equilibrium ``stackelberg``,
            else ``"NE"`` if it is a pure Nash equilibrium, else ``"none"``.
        joint_action: the classified joint action, in player index order.
        payoffs: every player's payoff at ``joint_action``, in player index order.
        is_stackelberg: ``joint_action == stackelberg.joint_action``.
        matches_stackelberg_payoffs: every player's payoff is within ``atol`` of its SE
            payoff; True for an equally good joint action the tie rule did not pick (e.g.
            another global optimum of a team game); always True when ``label == "SE"``.
        is_nash: whether ``joint_action`` is a pure NE (weak or strict).
        is_strict_nash: whether it is a strict pure NE.
        nash_index: its position in ``nash_equilibria`` (None if not an NE).
        nash_equilibria: all pure NE of the game, as :func:`pure_nash_equilibria` lists them.
        stackelberg: the reference SE (its order and tie rule included).
    """

    label: OutcomeLabel
    joint_action: tuple[int, ...]
    payoffs: tuple[float, ...]
    is_stackelberg: bool
    matches_stackelberg_payoffs: bool
    is_nash: bool
    is_strict_nash: bool
    nash_index: int | None
    nash_equilibria: tuple[tuple[int, ...], ...]
    stackelberg: StackelbergEquilibrium

    @property
    def tag(self) -> str:
        """A short log-friendly tag: ``"SE"``, ``"NE[i]"`` with ``i`` = ``nash_index``, or ``"none"``."""
        if self.label == "NE":
            return f"NE[{self.nash_index}]"
        return self.label


def classify_outcome(
    payoffs: npt.ArrayLike,
    joint_action: Sequence[int],
    order: Sequence[int] | None = None,
    *,
    tie_break: TieBreak = "optimistic",
    atol: float = 0.0,
) -> OutcomeClassification:
    """Classify a joint action as the SE under ``order``, a pure NE, or neither.

    Args:
        payoffs: array-like of shape ``(N, A_1, ..., A_N)``; ``payoffs[i]`` is player ``i``'s payoff.
        joint_action: one action index per player, in player index order.
        order: the priority order defining the SE (first acts first); ``None`` means
            ``(0, 1, ..., N-1)``.
        tie_break: the SE tie rule, see :func:`stackelberg_equilibrium`.
        atol: payoff differences up to ``atol`` count as ties (SE, NE and payoff matching).

    Returns:
        An :class:`OutcomeClassification`; ``.label`` is ``"SE"``, ``"NE"`` or ``"none"``.

    Raises:
        TypeError: if ``payoffs`` is not a real numeric array.
        ValueError: on a malformed ``payoffs``, ``joint_action``, ``order``, ``tie_break`` or ``atol``.

    Examples:
        >>> from stmg_envs.equilibria import classify_outcome, common_payoff_tensor
        >>> penalty = common_payoff_tensor([[-100, 0, 10], [0, 2, 0], [8, 0, -100]])
        >>> [classify_outcome(penalty, a).tag for a in [(0, 2), (1, 1), (2, 0), (0, 0)]]
        ['SE', 'NE[1]', 'NE[2]', 'none']
        >>> classify_outcome(penalty, (0, 2)).is_nash
        True
    """
    table = as_payoff_tensor(payoffs)
    action = as_joint_action(joint_action, table.shape[1:])
    tolerance = as_tolerance(atol)
    reference = stackelberg_equilibrium(table, order, tie_break=tie_break, atol=tolerance)
    weak = pure_nash_mask(table, atol=tolerance)
    nash_equilibria = tuple(tuple(int(a) for a in index) for index in np.argwhere(weak))
    is_nash = bool(weak[action])
    is_strict_nash = is_nash and bool(pure_nash_mask(table, strict=True, atol=tolerance)[action])
    is_stackelberg = action == reference.joint_action
    index: tuple[Any, ...] = (slice(None), *action)
    payoff_vector = tuple(float(v) for v in table[index])
    matches = bool(np.all(np.abs(np.subtract(payoff_vector, reference.payoffs)) <= tolerance))
    label: OutcomeLabel = "SE" if is_stackelberg else ("NE" if is_nash else "none")
    return OutcomeClassification(
        label=label,
        joint_action=action,
        payoffs=payoff_vector,
        is_stackelberg=is_stackelberg,
        matches_stackelberg_payoffs=matches,
        is_nash=is_nash,
        is_strict_nash=is_strict_nash,
        nash_index=nash_equilibria.index(action) if is_nash else None,
        nash_equilibria=nash_equilibria,
        stackelberg=reference,
    )
