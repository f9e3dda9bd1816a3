"""Seeded generators of N-player normal-form games, passed to ``stmg/Matrix-v0`` as payoffs.

Each game is named by its generator, its number of players and its seed, e.g.
``"team-trap:3:0"``, and the name is all it takes to rebuild it exactly
(:func:`generate`): the payoffs come from ``numpy.random.default_rng(seed)`` and
are rounded to two decimals, so they print and compare reproducibly. There is
no new registration: a game is ``stmg/Matrix-v0`` with ``payoffs=game.payoffs``.

Three families:

* ``team-trap`` (:func:`team_trap`): team games with miscoordination penalties,
  the N-player form of the climbing and penalty games (relative
  overgeneralisation). Each player has an *optimal* action, a *safe* action and
  a third one. Everyone on the optimal action pays the best reward ``R``; a
  joint action where some but not all players are on it pays a penalty ``-P``
  with ``P >= R``; otherwise the payoff grows with the number of players on the
  safe action, everyone on it paying ``S`` (``0.4 R <= S <= 0.7 R``). So the
  all-safe joint action is a pure Nash equilibrium that independent learners
  fall back to (trying the optimal action alone is punished), while the team
  optimum, the Stackelberg equilibrium under every order, needs each follower
  to answer its leaders' optimal actions with its own.
* ``general-sum`` (:func:`general_sum`): every player's payoffs are distinct
  values drawn from ``[-10, 10]`` (strict preferences, so the SE under every
  order is unique), redrawn until the SE under the default order
  (``possible_agents``) is not a pure Nash equilibrium: leading pays there.
* ``robust-sum`` (:func:`robust_sum`): ``general-sum`` games redrawn further until
  their SE does not hinge on a payoff gap under :data:`ROBUST_MARGIN` (its decisive
  margin, :func:`stmg_envs.equilibria.decisive_margin`). A random draw with many
  players often hinges on a tiny gap (``general-sum:5:1`` on 0.01 of a [-10, 10]
  range), which no learner that estimates values from samples resolves reliably.

Examples:
    >>> import pettingzoo, stmg_envs
    >>> from stmg_envs.matrix.generators import generate
    >>> game = generate("team-trap:3:0")
    >>> game.payoffs.shape
    (3, 3, 3, 3)
    >>> game.stackelberg_equilibrium == game.optimum
    True
    >>> env = pettingzoo.make("parallel", "stmg/Matrix-v0", payoffs=game.payoffs)
    >>> env.possible_agents
    ['agent_0', 'agent_1', 'agent_2']
    >>> generate("general-sum:4:1").se_is_nash
    False

Version history:
    * 0.1.0: added (``team-trap``, ``general-sum``, ``robust-sum``; ``general_sum``'s ``min_margin``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from stmg_envs.equilibria.nash import is_pure_nash_equilibrium
from stmg_envs.equilibria.payoffs import common_payoff_tensor
from stmg_envs.equilibria.stackelberg import decisive_margin, stackelberg_equilibrium

__all__ = [
    "GeneratedGame",
    "GENERATORS",
    "ROBUST_MARGIN",
    "team_trap",
    "general_sum",
    "robust_sum",
    "generate",
    "suite",
]

#: Redraws a generator may make before it gives up (never reached by the seeds tried; a guard, not a budget).
_MAX_DRAWS = 10_000


@dataclass(frozen=True)
class GeneratedGame:
    """A generated normal-form game and what its generator knows about it.

    Attributes:
        name: ``"<generator>:<players>:<seed>"``; :func:`generate` rebuilds the game from it.
        generator: ``"team-trap"`` or ``"general-sum"``.
        n_players: Number of players (agents).
        n_actions: Actions per player.
        seed: Seed of the generator's random draws.
        payoffs: ``(N, A, ..., A)`` payoff tensor, read-only; ``payoffs[i]`` is player ``i``'s.
        stackelberg_equilibrium: The SE joint action under the default order (player 0 leads).
        se_is_nash: Whether that joint action is also a pure Nash equilibrium.
        optimum: ``team-trap``: the team-optimal joint action (``None`` for ``general-sum``).
        safe: ``team-trap``: the all-safe joint action, a pure NE (``None`` for ``general-sum``).
    """

    name: str
    generator: str
    n_players: int
    n_actions: int
    seed: int
    payoffs: np.ndarray = field(repr=False)
    stackelberg_equilibrium: tuple[int, ...]
    se_is_nash: bool
    optimum: tuple[int, ...] | None = None
    safe: tuple[int, ...] | None = None

    def env_kwargs(self) -> dict[str, Any]:
        """Arguments of ``stmg/Matrix-v0`` (and :func:`stmg_envs.matrix.matrix`) that build this game."""
        return {"payoffs": self.payoffs}

    def make(self, **kwargs: Any) -> Any:
        """This game as a :class:`~stmg_envs.matrix.MatrixGame` (``kwargs``: ``episode_length``, ``render_mode``)."""
        from stmg_envs.matrix.classic import matrix

        return matrix(self.payoffs, **kwargs)


def _check(n_players: Any, seed: Any, n_actions: Any, min_actions: int) -> None:
    for name, value, minimum in (("n_players", n_players, 2), ("seed", seed, 0), ("n_actions", n_actions, min_actions)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
            raise ValueError(f"expected {name} to be an int >= {minimum}, got {value!r}")
    if n_actions**n_players > 1_000_000:
        raise ValueError(
            f"expected at most 1,000,000 joint actions, got {n_actions}^{n_players} = {n_actions**n_players:,}; "
            "use fewer players or actions"
        )


def _frozen(payoffs: np.ndarray) -> np.ndarray:
    payoffs = np.round(payoffs, 2) + 0.0  # + 0.0: no negative zeros
    payoffs.setflags(write=False)
    return payoffs


def team_trap(n_players: int, seed: int, n_actions: int = 3) -> GeneratedGame:
    """A team game with a miscoordination trap (see the module docstring).

    Args:
        n_players: Number of players, at least 2.
        seed: Seed of the draws (which actions are optimal and safe, ``R``, ``S``, ``P``, the small terms).
        n_actions: Actions per player, at least 3 (optimal, safe, and the rest).

    Returns:
        The game; ``optimum`` is its unique team optimum and SE under every order, ``safe`` a pure NE.

    Examples:
        >>> game = team_trap(2, seed=0)
        >>> game.name, game.se_is_nash
        ('team-trap:2:0', True)
    """
    _check(n_players, seed, n_actions, 3)
    rng = np.random.default_rng(seed)
    optimal = rng.integers(0, n_actions, size=n_players)
    safe = (optimal + rng.integers(1, n_actions, size=n_players)) % n_actions
    best = rng.uniform(8.0, 12.0)
    fallback = best * rng.uniform(0.4, 0.7)
    penalty = best * rng.uniform(1.0, 2.0)
    shape = (n_actions,) * n_players
    common = np.empty(shape)
    for joint in itertools.product(range(n_actions), repeat=n_players):
        on_optimal = int(np.sum(np.asarray(joint) == optimal))
        on_safe = int(np.sum(np.asarray(joint) == safe))
        if on_optimal == n_players:
            value = best
        elif on_optimal > 0:
            value = -penalty
        elif on_safe == n_players:
            value = fallback
        else:
            # Fewer on the safe action pay less; the small term (below S / N) keeps the all-safe action a strict NE.
            value = fallback * on_safe / n_players + rng.uniform(0.0, 0.5) * fallback / n_players
        common[joint] = value
    payoffs = _frozen(common_payoff_tensor(common))
    optimum = tuple(int(a) for a in optimal)
    se = stackelberg_equilibrium(payoffs).joint_action
    return GeneratedGame(
        name=f"team-trap:{n_players}:{seed}",
        generator="team-trap",
        n_players=n_players,
        n_actions=n_actions,
        seed=seed,
        payoffs=payoffs,
        stackelberg_equilibrium=se,
        se_is_nash=is_pure_nash_equilibrium(payoffs, se),
        optimum=optimum,
        safe=tuple(int(a) for a in safe),
    )


def general_sum(n_players: int, seed: int, n_actions: int = 3, *, min_margin: float = 0.0) -> GeneratedGame:
    """A general-sum game with strict preferences whose default-order SE is not a pure NE.

    Args:
        n_players: Number of players, at least 2.
        seed: Seed of the draws.
        n_actions: Actions per player, at least 2.
        min_margin: Redraw also until the SE's decisive margin
            (:func:`stmg_envs.equilibria.decisive_margin`: the smallest payoff gap that decides it) is at
            least this: 0 (default; any draw whose SE is not a pure NE, named ``general-sum``) or
            :data:`ROBUST_MARGIN` (named ``robust-sum``, what :func:`robust_sum` draws); other values are
            refused, since no name would rebuild the game. Draws are made in the same order whatever the
            margin, so a game that already has the margin is the same game.

    Returns:
        The game (its SE under every order is unique: no player is indifferent between two outcomes).

    Raises:
        RuntimeError: If no draw qualifies (not seen; e.g. 2 players with 2 actions can make it rare).

    Examples:
        >>> game = general_sum(3, seed=0)
        >>> game.se_is_nash, len(set(game.payoffs[0].ravel().tolist()))
        (False, 27)
    """
    _check(n_players, seed, n_actions, 2)
    if isinstance(min_margin, bool) or not isinstance(min_margin, (int, float)) or not 0.0 <= min_margin < 20.0:
        raise ValueError(
            f"expected min_margin to be a number in [0, 20) (payoffs lie in [-10, 10]), got {min_margin!r}"
        )
    if min_margin not in (0.0, ROBUST_MARGIN):  # a game's name must rebuild it (generate)
        raise ValueError(
            f"expected min_margin 0 (a general-sum game) or ROBUST_MARGIN = {ROBUST_MARGIN} (a robust-sum game), "
            f"got {min_margin!r}: no generator name rebuilds a game drawn with another margin."
        )
    rng = np.random.default_rng(seed)
    cells = n_actions**n_players
    grid = np.arange(-1000, 1001) / 100.0  # 2,001 distinct values in [-10, 10]
    if cells > grid.size:
        raise ValueError(f"expected at most {grid.size} joint actions for distinct payoffs, got {cells:,}")
    for _ in range(_MAX_DRAWS):
        payoffs = np.stack(
            [rng.choice(grid, size=cells, replace=False).reshape((n_actions,) * n_players) for _ in range(n_players)]
        )
        payoffs = _frozen(payoffs)
        se = stackelberg_equilibrium(payoffs).joint_action
        if is_pure_nash_equilibrium(payoffs, se):
            continue
        if min_margin == 0.0 or decisive_margin(payoffs).margin >= min_margin:
            kind = "general-sum" if min_margin == 0.0 else "robust-sum"
            return GeneratedGame(
                name=f"{kind}:{n_players}:{seed}",
                generator=kind,
                n_players=n_players,
                n_actions=n_actions,
                seed=seed,
                payoffs=payoffs,
                stackelberg_equilibrium=se,
                se_is_nash=False,
            )
    raise RuntimeError(f"no general-sum game with {n_players} players and {n_actions} actions in {_MAX_DRAWS} draws")


#: The decisive margin a ``robust-sum`` game's SE has at least (2.5% of the payoffs' range, [-10, 10]).
ROBUST_MARGIN = 0.5


def robust_sum(n_players: int, seed: int, n_actions: int = 3) -> GeneratedGame:
    """A ``general-sum`` game whose SE does not hinge on a payoff gap under :data:`ROBUST_MARGIN`.

    The draws of :func:`general_sum` with ``min_margin=ROBUST_MARGIN``: where ``general-sum:<N>:<seed>``
    already has that margin, ``robust-sum:<N>:<seed>`` is the same game; where its SE hinges on a finer gap
    (the 5-agent ``general-sum:5:0`` on 0.13, ``general-sum:5:1`` on 0.01), a later draw.

    Examples:
        >>> from stmg_envs.equilibria import decisive_margin
        >>> bool((robust_sum(3, seed=0).payoffs == general_sum(3, seed=0).payoffs).all())
        True
        >>> decisive_margin(robust_sum(5, seed=1).payoffs).margin >= ROBUST_MARGIN
        True
    """
    return general_sum(n_players, seed, n_actions, min_margin=ROBUST_MARGIN)


#: The generators by name (the first part of a game's name).
GENERATORS: dict[str, Callable[..., GeneratedGame]] = {
    "team-trap": team_trap,
    "general-sum": general_sum,
    "robust-sum": robust_sum,
}


def generate(name: str, n_actions: int = 3) -> GeneratedGame:
    """Rebuild a game from its name ``"<generator>:<players>:<seed>"``.

    Raises:
        ValueError: A malformed name or an unknown generator (the message lists the generators).

    Examples:
        >>> generate("team-trap:4:2").n_players
        4
    """
    parts = name.split(":") if isinstance(name, str) else []
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        raise ValueError(f"expected a game name '<generator>:<players>:<seed>' such as 'team-trap:3:0', got {name!r}")
    if parts[0] not in GENERATORS:
        raise ValueError(f"unknown generator {parts[0]!r} in {name!r}; expected one of {sorted(GENERATORS)}")
    return GENERATORS[parts[0]](int(parts[1]), int(parts[2]), n_actions=n_actions)


def suite(
    players: Sequence[int] = (3, 4, 5),
    seeds: Sequence[int] = (0, 1),
    n_actions: int = 3,
    kinds: Sequence[str] = ("team-trap", "general-sum"),
) -> list[GeneratedGame]:
    """The ``nagent`` suite: for each number of players, one game of each generator in ``kinds`` per seed.

    The defaults give 4 games for each N in 3, 4 and 5 (2 team-trap, 2 general-sum), 3 actions each.

    Examples:
        >>> [g.name for g in suite(players=(3,), seeds=(0,))]
        ['team-trap:3:0', 'general-sum:3:0']
    """
    return [GENERATORS[kind](n, seed, n_actions=n_actions) for n in players for seed in seeds for kind in kinds]
