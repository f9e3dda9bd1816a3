"""Iterated 2x2 games with memory (Oracles & Followers): :class:`IteratedMatrixGame` and ``stmg/IteratedMatrix-v0``.

The games, their memory encodings and their exact Stackelberg solver live in
:mod:`stmg_envs.equilibria.iterated`; this module makes them PettingZoo environments.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from gymnasium import spaces

from stmg_envs.equilibria.iterated import (
    ITERATED_GAMES,
    JOINT_STATES,
    IteratedGame,
    iterated_game,
    joint_state,
    memory_view,
    num_memory_states,
)
from stmg_envs.matrix.matrix_game import MatrixGame

__all__ = ["IteratedMatrixGame", "iterated_matrix", "ITERATED_GAMES"]


def _one_hots(n: int) -> list[np.ndarray]:
    rows = []
    for i in range(n):
        row = np.zeros(n, dtype=np.float32)
        row[i] = 1.0
        row.setflags(write=False)
        rows.append(row)
    return rows


class IteratedMatrixGame(MatrixGame):
    """A 2x2 game repeated for a fixed number of steps, each agent observing its memory of the last step.

    The setting of Oracles & Followers (Gerstgrasser & Parkes 2023): ``agent_0`` (the leader
    under the default order) picks the row, ``agent_1`` the column; every step pays
    ``payoffs[i, a_0, a_1] + reward_offset`` to agent ``i``. What an agent observes is its
    *memory state* of the previous step (encodings as in O&F's code, see
    :mod:`stmg_envs.equilibria.iterated`):

    * ``memory="joint"``: the previous joint action: 0 at the first step, then ``1 + a_0 + 2 * a_1``;
    * ``memory="opponent"`` (O&F's ``small_memory``): the other agent's previous action, 0 then ``1 + a``;
    * ``memory="none"``: always 0.

    The observation does not include the time step (as in O&F): a policy of the observation alone
    is a stationary memory-1 policy.

    ## Spaces
    * Action of each agent: ``Discrete(2)``.
    * Observation of each agent: ``Box(0, 1, (M,), float32)``, the one-hot memory state
      (``M`` = 5, 3 or 1); ``infos[agent]["memory_state"]`` holds its index.
    * ``state()``: ``Box(0, 1, (5,), float32)``, the one-hot joint state (the previous joint action),
      whatever the agents' memory.

    ## Rewards
    ``payoffs[i, a_0, a_1] + reward_offset`` for agent ``i``.

    ## Episode end
    Truncation of both agents after ``episode_length`` steps; never termination.

    ## Version history
    * v0: first version.

    Examples:
        >>> from stmg_envs.equilibria.iterated import iterated_game
        >>> from stmg_envs.matrix.iterated import IteratedMatrixGame
        >>> env = IteratedMatrixGame(iterated_game("ipd", episode_length=2))
        >>> obs, infos = env.reset(seed=0)
        >>> obs["agent_1"], infos["agent_1"]
        (array([1., 0., 0., 0., 0.], dtype=float32), {'memory_state': 0})
        >>> obs, rewards, terms, truncs, infos = env.step({"agent_0": 1, "agent_1": 0})
        >>> rewards, infos["agent_1"]
        ({'agent_0': 1.5, 'agent_1': -1.5}, {'memory_state': 2})
    """

    metadata = {"render_modes": ["ansi"], "name": "iterated_matrix_v0", "is_parallelizable": True}

    def __init__(self, game: IteratedGame, *, render_mode: str | None = None):
        if not isinstance(game, IteratedGame):
            raise TypeError(
                f"IteratedMatrixGame expected an IteratedGame (build one with iterated_game(...)), "
                f"got {type(game).__name__}."
            )
        super().__init__(
            game.payoffs,
            episode_length=game.episode_length,
            render_mode=render_mode,
            name=f"iterated_matrix_v0[{game.name}]",
        )
        self.game = game
        self.memory = game.memory
        self.reward_offset = game.reward_offset
        self.n_memory_states = num_memory_states(game.memory)
        self._view = memory_view(game.memory)
        self._rewards = game.rewards
        self._memory_obs = _one_hots(self.n_memory_states)
        self._joint_obs = _one_hots(JOINT_STATES)
        obs_space = spaces.Box(0.0, 1.0, shape=(self.n_memory_states,), dtype=np.float32)
        self.observation_spaces = dict.fromkeys(self.possible_agents, obs_space)
        self.state_space = spaces.Box(0.0, 1.0, shape=(JOINT_STATES,), dtype=np.float32)
        self._joint_state = 0

    def _observe(self, agents: list[str]) -> tuple[dict[str, np.ndarray], dict[str, dict[str, Any]]]:
        obs, infos = {}, {}
        for index, agent in enumerate(self.possible_agents):
            if agent in agents:
                memory_state = int(self._view[index, self._joint_state])
                obs[agent] = self._memory_obs[memory_state]
                infos[agent] = {"memory_state": memory_state}
        return obs, infos

    def reset(self, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed, options=options)
        self._joint_state = 0
        return self._observe(self.agents)

    def step(self, actions: dict[str, Any]):
        live = list(self.agents)
        _, _, terms, truncs, _ = super().step(actions)  # checks the actions, counts the steps
        assert self._last_joint is not None
        a0, a1 = self._last_joint
        self._joint_state = joint_state(a0, a1)
        rewards = {"agent_0": float(self._rewards[0, a0, a1]), "agent_1": float(self._rewards[1, a0, a1])}
        obs, infos = self._observe(live)
        return obs, rewards, terms, truncs, infos

    def state(self) -> np.ndarray:
        return self._joint_obs[self._joint_state]

    def __repr__(self) -> str:
        return (
            f"{self.metadata['name']}(memory={self.memory!r}, episode_length={self.episode_length}, "
            f"reward_offset={self.reward_offset:g})"
        )


def iterated_matrix(
    game: str | None = None,
    *,
    payoffs: npt.ArrayLike | None = None,
    memory: str | None = None,
    episode_length: int | None = None,
    reward_offset: float | None = None,
    render_mode: str | None = None,
) -> IteratedMatrixGame:
    """Entry point of ``stmg/IteratedMatrix-v0``: a named iterated 2x2 game of Oracles & Followers, or your own.

    ``game`` names one of the games below (default ``"ipd"``); ``payoffs`` gives your own instead,
    an array of shape ``(2, 2, 2)`` with ``payoffs[i, a_0, a_1]`` agent ``i``'s payoff (note: O&F's
    code writes ``m[a_0][a_1] = [r_0, r_1]``, the other way round). ``memory``, ``episode_length``
    and ``reward_offset`` override the game's settings (for ``payoffs``: ``"joint"``, 10 and 0).
    The leader's best memory-1 policy against a best-responding follower is computed exactly by
    :func:`stmg_envs.equilibria.iterated.iterated_stackelberg`.

    ## Named games
    All from ``mgerstgrasser/oracles_and_followers``: the twelve 2x2 games of
    ``named_matrix_games`` (``stackerlberg/envs/matrix_game.py``), played as in their
    ``ipd_allmatrices_*`` experiments (10 steps, memory of the joint action, reward offset -2.5,
    the default of their ``MatrixGameEnv``), plus three settings of their experiments
    (``stackerlberg/train/experiments/configurations.py``). Action 0 is the first row/column
    (cooperate in the prisoner's dilemma). Each cell: agent_0's payoff, agent_1's, before the offset.
    "Leader's best": the leader's return (offset included) under its best deterministic memory-1 policy,
    the follower best-responding with ties in the leader's favour, first time-aware (``follower="markov"``),
    then stationary memory-1 (``follower="memory-1"``, O&F's follower; their success threshold for the
    IPD, a leader return >= 6.0, is this optimum).

    | game | (0, 0) | (0, 1) | (1, 0) | (1, 1) | memory | steps | offset | leader's best |
    |---|---|---|---|---|---|---|---|---|
    | `ipd` (= `prisoners_dilemma`) | 3, 3 | 1, 4 | 4, 1 | 2, 2 | joint | 10 | -2.5 | 4 / 6 |
    | `smipd` (single-memory IPD, `smipd_*`) | 3, 3 | 1, 4 | 4, 1 | 2, 2 | opponent | 5 | -2.5 | 1.5 / 3.5 |
    | `bots` (Battle of the Sexes, `matrix_bots`) | 1, 0.5 | 0, 0 | 0, 0 | 0.5, 1 | none | 1 | 0 | 1 / 1 |
    | `stag_hunt` | 4, 4 | 1, 3 | 3, 1 | 2, 2 | joint | 10 | -2.5 | 15 / 15 |
    | `assurance` | 4, 4 | 1, 2 | 2, 1 | 3, 3 | joint | 10 | -2.5 | 15 / 15 |
    | `coordination` | 4, 4 | 2, 1 | 1, 2 | 3, 3 | joint | 10 | -2.5 | 15 / 15 |
    | `mixedharmony` | 4, 4 | 3, 1 | 1, 3 | 2, 2 | joint | 10 | -2.5 | 15 / 15 |
    | `harmony` | 4, 4 | 3, 2 | 2, 3 | 1, 1 | joint | 10 | -2.5 | 15 / 15 |
    | `noconflict` | 4, 4 | 2, 3 | 3, 2 | 1, 1 | joint | 10 | -2.5 | 15 / 15 |
    | `deadlock` | 2, 2 | 1, 4 | 4, 1 | 3, 3 | joint | 10 | -2.5 | 5 / 5 |
    | `prisoners_delight` | 1, 1 | 2, 4 | 4, 2 | 3, 3 | joint | 10 | -2.5 | 5 / 5 |
    | `hero` | 1, 1 | 3, 4 | 4, 3 | 2, 2 | joint | 10 | -2.5 | 15 / 15 |
    | `battle` | 2, 2 | 3, 4 | 4, 3 | 1, 1 | joint | 10 | -2.5 | 15 / 15 |
    | `chicken` | 3, 3 | 2, 4 | 4, 2 | 1, 1 | joint | 10 | -2.5 | 15 / 15 |

    Examples:
        >>> import pettingzoo, stmg_envs
        >>> env = pettingzoo.make("parallel", "stmg/IteratedMatrix-v0", game="smipd")
        >>> env.observation_space("agent_0").shape, env.episode_length
        ((3,), 5)
        >>> pettingzoo.make("parallel", "stmg/IteratedMatrix-v0", game="ipd2")
        Traceback (most recent call last):
        ...
        ValueError: expected `game` to be one of ['assurance', ...] (or `payoffs=`), got 'ipd2'.
    """
    return IteratedMatrixGame(
        iterated_game(game, payoffs=payoffs, memory=memory, episode_length=episode_length, reward_offset=reward_offset),
        render_mode=render_mode,
    )
