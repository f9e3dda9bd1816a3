"""Iterated 2x2 games with memory (Oracles & Followers) and their exact Stackelberg solver.

Oracles & Followers (Gerstgrasser & Parkes 2023; code: ``mgerstgrasser/oracles_and_followers``)
study a leader who commits to a *policy* of a repeated game, not to one action: an action for
each *memory state*, and a follower who best-responds to that policy over the whole episode.

The game (:class:`IteratedGame`). A 2x2 stage game is played ``episode_length`` times; every
step pays ``payoffs[i, a_0, a_1] + reward_offset`` to agent ``i`` (``agent_0``, the leader,
picks the row). An agent's memory state is what it saw of the previous step:

* ``"joint"``: the previous joint action, 5 states: ``0`` at the first step, then
  ``1 + a_0 + 2 * a_1`` (O&F's encoding: 1 = (0, 0), 2 = (1, 0), 3 = (0, 1), 4 = (1, 1));
* ``"opponent"`` (O&F's ``small_memory``): the other agent's previous action, 3 states:
  ``0`` at the first step, then ``1 + a_other``;
* ``"none"``: a single state (the stage game repeated without memory).

Every history is summarised by the *joint state* ``s`` (the ``"joint"`` memory state, 5 values);
:func:`memory_view` gives each agent's memory state as a function of it.

The solver (:func:`iterated_stackelberg`). The leader's deterministic memory-1 policies are
enumerated (``2 ** n`` of them, ``n`` the leader's memory states: 32, 8 or 2). For each, the
follower's best response is computed exactly, by one of two follower models (``follower``):

* ``"markov"`` (default): the follower may condition on the time step and the whole history.
  Given the leader's policy its problem is a deterministic finite-horizon MDP whose state is
  ``(t, s)``; backward induction solves it (no history-dependent policy does better, since the
  leader's next action depends on ``s`` only). The reply is a table ``(episode_length, 5)``.
* ``"memory-1"``: the follower is, like the leader, a stationary map from its own memory state to
  an action (what O&F's time-blind linear follower can represent, and what their regret check
  ``calculate_pretrain_perf_targets`` ranges over). Its ``2 ** m`` policies are enumerated.

Tie rule (``tie_break``, the same rules as :func:`stmg_envs.equilibria.stackelberg_equilibrium`).
Follower values within ``atol`` of the best count as tied. ``"optimistic"`` (default) breaks the
follower's ties in the leader's favour: the strong Stackelberg equilibrium, the standard concept
(it always exists and is what a leader can enforce by an arbitrarily small incentive), and the
default of the stage-game solver; ``"leader_pessimistic"`` against the leader (the weak SE);
``"first"`` by lowest index. With ``"markov"`` the rule is applied at every ``(t, s)`` of the
backward induction (the follower-optimal continuations from a state are exactly the optimal
actions followed by follower-optimal continuations, so this optimises the leader's value over all
follower-optimal policies); with ``"memory-1"`` it is applied to the enumerated policies. What
remains goes to the lowest action (``"markov"``) or the first policy in lexicographic order
(``"memory-1"``). The leader's own ties go to the first policy in lexicographic order, that is the
one with the lowest actions in the lowest memory states, so the result is unique and does not
depend on floating-point noise.

Values are episode returns, with ``reward_offset`` included, exactly as the environment
:func:`stmg_envs.matrix.iterated_matrix` pays them.

Examples:
    >>> from stmg_envs.equilibria.iterated import iterated_game, iterated_stackelberg
    >>> game = iterated_game("ipd", episode_length=2, reward_offset=0.0)
    >>> solution = iterated_stackelberg(game)
    >>> solution.leader_policy, solution.joint_actions, solution.leader_value, solution.follower_value
    ((1, 0, 0, 0, 1), ((1, 0), (0, 1)), 5.0, 5.0)

    The leader defects first and cooperates next only if the follower cooperated: the follower,
    who will defect at the last step anyway, cooperates first (1 + 4 > 2 + 2), and the leader gets
    4 + 1 = 5, more than the 2 + 2 of the stage game's Stackelberg equilibrium repeated.
"""

from __future__ import annotations

import itertools
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal, NamedTuple, get_args

import numpy as np
import numpy.typing as npt

from stmg_envs.equilibria.payoffs import as_payoff_tensor, as_tolerance
from stmg_envs.equilibria.stackelberg import TIE_BREAKS, TieBreak

__all__ = [
    "Memory",
    "MEMORIES",
    "FollowerModel",
    "FOLLOWER_MODELS",
    "JOINT_STATES",
    "IteratedGame",
    "ITERATED_GAMES",
    "iterated_game",
    "joint_state",
    "memory_view",
    "num_memory_states",
    "leader_policies",
    "Rollout",
    "play",
    "FollowerResponse",
    "follower_best_response",
    "IteratedStackelberg",
    "iterated_stackelberg",
]

#: What an agent remembers of the previous step (see the module docstring).
Memory = Literal["joint", "opponent", "none"]
#: The accepted values of ``memory``.
MEMORIES: tuple[str, ...] = get_args(Memory)
#: Which followers :func:`follower_best_response` ranges over (see the module docstring).
FollowerModel = Literal["markov", "memory-1"]
#: The accepted values of ``follower``.
FOLLOWER_MODELS: tuple[str, ...] = get_args(FollowerModel)
#: Number of joint states: the start, then the four joint actions of a 2x2 game.
JOINT_STATES = 5

_NUM_STATES = {"joint": 5, "opponent": 3, "none": 1}


def joint_state(leader_action: int, follower_action: int) -> int:
    """The joint state after the joint action ``(leader_action, follower_action)``: ``1 + a_0 + 2 * a_1``.

    Examples:
        >>> from stmg_envs.equilibria.iterated import joint_state
        >>> [joint_state(a0, a1) for a1 in (0, 1) for a0 in (0, 1)]
        [1, 2, 3, 4]
    """
    return 1 + int(leader_action) + 2 * int(follower_action)


def num_memory_states(memory: str) -> int:
    """How many memory states an agent with ``memory`` has (5, 3 or 1).

    Examples:
        >>> from stmg_envs.equilibria.iterated import num_memory_states
        >>> [num_memory_states(m) for m in ("joint", "opponent", "none")]
        [5, 3, 1]
    """
    _check_memory(memory)
    return _NUM_STATES[memory]


def memory_view(memory: str) -> np.ndarray:
    """``view[i, s]``: agent ``i``'s memory state in joint state ``s`` (a read-only int array of shape ``(2, 5)``).

    Examples:
        >>> from stmg_envs.equilibria.iterated import memory_view
        >>> memory_view("opponent")  # agent_0 remembers agent_1's action, agent_1 agent_0's
        array([[0, 1, 1, 2, 2],
               [0, 1, 2, 1, 2]])
    """
    _check_memory(memory)
    return _VIEWS[memory]


def _memory_view(memory: str) -> np.ndarray:
    view = np.zeros((2, JOINT_STATES), dtype=np.int64)
    for s in range(1, JOINT_STATES):
        a0, a1 = (s - 1) % 2, (s - 1) // 2
        if memory == "joint":
            view[:, s] = s
        elif memory == "opponent":
            view[0, s], view[1, s] = 1 + a1, 1 + a0
    view.setflags(write=False)
    return view


_VIEWS = {memory: _memory_view(memory) for memory in _NUM_STATES}


def _check_memory(memory: object) -> None:
    if memory not in MEMORIES:
        raise ValueError(f"expected `memory` to be one of {MEMORIES}, got {memory!r}.")


def _check_payoffs(payoffs: npt.ArrayLike) -> np.ndarray:
    table = as_payoff_tensor(payoffs)
    if table.shape != (2, 2, 2):
        agents = table.shape[0]
        why = f" ({agents} agents; these games have two)" if agents > 2 else ""
        raise ValueError(
            "expected `payoffs` of shape (2, 2, 2), payoffs[i, a_0, a_1] for two agents with two actions each, "
            f"got shape {table.shape}{why}. Use stmg/Matrix-v0 for other normal-form games."
        )
    return table


@dataclass(frozen=True, eq=False)
class IteratedGame:
    """An iterated 2x2 game with memory (checked once, on construction); :func:`iterated_game` builds one by name.

    Attributes:
        payoffs: read-only float64 array of shape ``(2, 2, 2)``; ``payoffs[i, a_0, a_1]`` is agent
            ``i``'s stage payoff before the offset (the layout of :mod:`stmg_envs.equilibria.payoffs`).
        memory: ``"joint"``, ``"opponent"`` or ``"none"`` (see the module docstring).
        episode_length: number of stage games per episode.
        reward_offset: added to every stage payoff of both agents.
        name: the named game's key in :data:`ITERATED_GAMES`, or ``"custom"``.
        source: where the numbers come from.
    """

    payoffs: np.ndarray
    memory: Memory
    episode_length: int
    reward_offset: float
    name: str = "custom"
    source: str = "given by the user"

    def __post_init__(self) -> None:
        table = _check_payoffs(self.payoffs)
        table.setflags(write=False)
        object.__setattr__(self, "payoffs", table)
        _check_memory(self.memory)
        length = self.episode_length
        if isinstance(length, (bool, np.bool_)) or not isinstance(length, numbers.Integral) or length < 1:
            raise ValueError(f"expected `episode_length` to be an integer >= 1, got {length!r}.")
        object.__setattr__(self, "episode_length", int(length))
        offset = self.reward_offset
        if isinstance(offset, (bool, np.bool_)) or not isinstance(offset, numbers.Real) or not np.isfinite(offset):
            raise ValueError(f"expected `reward_offset` to be a finite real number, got {offset!r}.")
        object.__setattr__(self, "reward_offset", float(offset))

    @property
    def rewards(self) -> np.ndarray:
        """``payoffs + reward_offset``: what the environment pays per step."""
        return self.payoffs + self.reward_offset


# O&F's tables, ``named_matrix_games`` in stackerlberg/envs/matrix_game.py, are ``m[a_0][a_1] = [r_0, r_1]``;
# here they are stored the other way round, ``payoffs[i, a_0, a_1]`` (see _from_oaf). Action 0 is the
# first row/column (in the prisoner's dilemma: cooperate).
_OAF_TABLES: dict[str, list[list[list[float]]]] = {
    "prisoners_dilemma": [[[3, 3], [1, 4]], [[4, 1], [2, 2]]],
    "stag_hunt": [[[4, 4], [1, 3]], [[3, 1], [2, 2]]],
    "assurance": [[[4, 4], [1, 2]], [[2, 1], [3, 3]]],
    "coordination": [[[4, 4], [2, 1]], [[1, 2], [3, 3]]],
    "mixedharmony": [[[4, 4], [3, 1]], [[1, 3], [2, 2]]],
    "harmony": [[[4, 4], [3, 2]], [[2, 3], [1, 1]]],
    "noconflict": [[[4, 4], [2, 3]], [[3, 2], [1, 1]]],
    "deadlock": [[[2, 2], [1, 4]], [[4, 1], [3, 3]]],
    "prisoners_delight": [[[1, 1], [2, 4]], [[4, 2], [3, 3]]],
    "hero": [[[1, 1], [3, 4]], [[4, 3], [2, 2]]],
    "battle": [[[2, 2], [3, 4]], [[4, 3], [1, 1]]],
    "chicken": [[[3, 3], [2, 4]], [[4, 2], [1, 1]]],
}
_OAF_FILE = "mgerstgrasser/oracles_and_followers, stackerlberg/envs/matrix_game.py"
_OAF_CONFIGS = "stackerlberg/train/experiments/configurations.py"


def _from_oaf(table: Sequence[Sequence[Sequence[float]]]) -> np.ndarray:
    """O&F's ``m[a_0][a_1] = [r_0, r_1]`` as ``payoffs[i, a_0, a_1]``."""
    return np.moveaxis(np.asarray(table, dtype=np.float64), -1, 0)


def _named_games() -> dict[str, IteratedGame]:
    games: dict[str, IteratedGame] = {}
    for key, table in _OAF_TABLES.items():
        games[key] = _build(
            _from_oaf(table),
            "joint",
            10,
            -2.5,
            key,
            f"named_matrix_games[{key!r}] of {_OAF_FILE}; 10 steps and memory of the joint action as in their "
            f"'ipd_allmatrices_*' experiments ({_OAF_CONFIGS}); offset -2.5, MatrixGameEnv's default",
        )
    games["ipd"] = _build(
        games["prisoners_dilemma"].payoffs,
        "joint",
        10,
        -2.5,
        "ipd",
        "the iterated prisoner's dilemma: 'prisoners_dilemma' under its usual name",
    )
    games["smipd"] = _build(
        games["prisoners_dilemma"].payoffs,
        "opponent",
        5,
        -2.5,
        "smipd",
        f"the single-memory IPD of O&F's 'smipd_*' experiments ({_OAF_CONFIGS}: small_memory=True, "
        "episode_length=5); offset -2.5, MatrixGameEnv's default",
    )
    games["bots"] = _build(
        _from_oaf([[[1.0, 0.5], [0.0, 0.0]], [[0.0, 0.0], [0.5, 1.0]]]),
        "none",
        1,
        0.0,
        "bots",
        f"Battle of the Sexes of O&F's 'matrix_bots' experiment ({_OAF_CONFIGS}): one shot, no memory, reward_offset=0",
    )
    return games


def _build(
    payoffs: np.ndarray, memory: Memory, episode_length: int, reward_offset: float, name: str, source: str
) -> IteratedGame:
    return IteratedGame(payoffs, memory, episode_length, reward_offset, name, source)


#: The named games, by name (read-only): O&F's twelve 2x2 games (joint memory, 10 steps, offset -2.5),
#: ``"ipd"`` (their prisoner's dilemma), ``"smipd"`` (single memory, 5 steps) and ``"bots"`` (one shot).
ITERATED_GAMES: Mapping[str, IteratedGame] = MappingProxyType(_named_games())


def iterated_game(
    game: str | None = None,
    *,
    payoffs: npt.ArrayLike | None = None,
    memory: str | None = None,
    episode_length: int | None = None,
    reward_offset: float | None = None,
) -> IteratedGame:
    """A named game of :data:`ITERATED_GAMES` or one given by ``payoffs``, with any setting overridden.

    Args:
        game: a key of :data:`ITERATED_GAMES`; ``None`` means ``"ipd"`` unless ``payoffs`` is given.
        payoffs: instead of ``game``: array of shape ``(2, 2, 2)``, ``payoffs[i, a_0, a_1]``.
        memory: ``"joint"``, ``"opponent"`` or ``"none"``; default: the named game's, ``"joint"`` for ``payoffs``.
        episode_length: steps per episode; default: the named game's, 10 for ``payoffs``.
        reward_offset: added to every payoff; default: the named game's, 0 for ``payoffs``.

    Raises:
        ValueError: both or an unknown ``game``, payoffs not of shape ``(2, 2, 2)``, a bad setting.
        TypeError: payoffs that are not real numbers.

    Examples:
        >>> from stmg_envs.equilibria.iterated import iterated_game
        >>> iterated_game("smipd").memory, iterated_game("smipd").episode_length
        ('opponent', 5)
        >>> iterated_game(payoffs=[[[1, 0], [0, 2]], [[1, 0], [0, 2]]]).reward_offset
        0.0
    """
    if game is not None and payoffs is not None:
        raise ValueError(f"expected either `game` or `payoffs`, got both (game={game!r}); pass one of them.")
    if payoffs is not None:
        base = IteratedGame(payoffs, "joint", 10, 0.0)  # type: ignore[arg-type]  # checked in __post_init__
    else:
        key = "ipd" if game is None else game
        if not isinstance(key, str) or key not in ITERATED_GAMES:
            raise ValueError(f"expected `game` to be one of {sorted(ITERATED_GAMES)} (or `payoffs=`), got {game!r}.")
        base = ITERATED_GAMES[key]
    return IteratedGame(
        base.payoffs,
        base.memory if memory is None else memory,  # type: ignore[arg-type]  # checked in __post_init__
        base.episode_length if episode_length is None else episode_length,
        base.reward_offset if reward_offset is None else reward_offset,
        base.name,
        base.source,
    )


def _as_game(game: IteratedGame | str) -> IteratedGame:
    if isinstance(game, IteratedGame):
        return game
    if isinstance(game, str):
        return iterated_game(game)
    raise TypeError(f"expected an IteratedGame (see iterated_game) or a game name, got {type(game).__name__}.")


def leader_policies(game: IteratedGame | str) -> list[tuple[int, ...]]:
    """Every deterministic memory-1 policy of the leader (an action per memory state), in lexicographic order.

    Examples:
        >>> from stmg_envs.equilibria.iterated import leader_policies
        >>> len(leader_policies("ipd")), leader_policies("smipd")[:2]
        (32, [(0, 0, 0), (0, 0, 1)])
    """
    game = _as_game(game)
    return list(itertools.product((0, 1), repeat=_NUM_STATES[game.memory]))


def _check_policy(policy: Sequence[int] | np.ndarray, length: int, who: str) -> tuple[int, ...]:
    values = np.asarray(policy)
    if values.shape != (length,) or not set(values.tolist()) <= {0, 1}:
        raise ValueError(
            f"expected the {who}'s policy to be {length} actions in {{0, 1}} (one per memory state), got {policy!r}."
        )
    return tuple(int(a) for a in values)


class Rollout(NamedTuple):
    """One deterministic episode: the returns (offset included) and the joint actions played."""

    leader_value: float
    follower_value: float
    joint_actions: tuple[tuple[int, int], ...]


def play(
    game: IteratedGame | str, leader_policy: Sequence[int], follower_policy: Sequence[int] | npt.ArrayLike
) -> Rollout:
    """Play one episode of deterministic policies.

    Args:
        game: the game, or a name of :data:`ITERATED_GAMES`.
        leader_policy: an action per leader memory state.
        follower_policy: an action per follower memory state (memory-1), or an array of shape
            ``(episode_length, 5)``: an action per time step and joint state (a ``"markov"`` reply).

    Examples:
        >>> from stmg_envs.equilibria.iterated import iterated_game, play
        >>> tit_for_tat = (0, 0, 0, 1, 1)  # cooperate first, then copy the follower's last action
        >>> play(iterated_game("ipd", episode_length=3), tit_for_tat, (1, 1, 1, 1, 1))  # always defect
        Rollout(leader_value=-2.5, follower_value=0.5, joint_actions=((0, 1), (1, 1), (1, 1)))
    """
    game = _as_game(game)
    view = memory_view(game.memory)
    n = _NUM_STATES[game.memory]
    leader = _check_policy(leader_policy, n, "leader")
    table = np.asarray(follower_policy)
    markov = table.ndim == 2
    if markov:
        if table.shape != (game.episode_length, JOINT_STATES) or not set(table.ravel().tolist()) <= {0, 1}:
            raise ValueError(
                f"expected a markov follower policy of shape ({game.episode_length}, {JOINT_STATES}) with actions "
                f"in {{0, 1}}, got shape {table.shape}."
            )
    else:
        follower = _check_policy(table, n, "follower")
    rewards = game.rewards
    s, values, path = 0, [0.0, 0.0], []
    for t in range(game.episode_length):
        a0 = leader[view[0, s]]
        a1 = int(table[t, s]) if markov else follower[view[1, s]]
        values[0] += float(rewards[0, a0, a1])
        values[1] += float(rewards[1, a0, a1])
        path.append((a0, a1))
        s = joint_state(a0, a1)
    return Rollout(values[0], values[1], tuple(path))


class FollowerResponse(NamedTuple):
    """The follower's best response to one leader policy (see :func:`follower_best_response`).

    ``policy``: read-only int array, shape ``(episode_length, 5)`` (``"markov"``: an action per time
    step and joint state) or ``(m,)`` (``"memory-1"``: an action per follower memory state).
    """

    policy: np.ndarray
    leader_value: float
    follower_value: float
    joint_actions: tuple[tuple[int, int], ...]


def _check_settings(follower: str, tie_break: str, atol: float) -> float:
    if follower not in FOLLOWER_MODELS:
        raise ValueError(f"expected `follower` to be one of {FOLLOWER_MODELS}, got {follower!r}.")
    if tie_break not in TIE_BREAKS:
        raise ValueError(f"expected `tie_break` to be one of {TIE_BREAKS}, got {tie_break!r}.")
    return as_tolerance(atol)


def _markov_reply(game: IteratedGame, leader: tuple[int, ...], tie_break: str, atol: float) -> np.ndarray:
    """Backward induction over ``(t, s)``: the follower's reply table, shape ``(episode_length, 5)``."""
    rewards = game.rewards
    lead = np.array(leader, dtype=np.int64)[memory_view(game.memory)[0]]  # leader's action in each joint state
    follow = np.array([0, 1])
    reward_f = rewards[1][lead[:, None], follow[None, :]]  # (5, 2)
    reward_l = rewards[0][lead[:, None], follow[None, :]]
    successor = 1 + lead[:, None] + 2 * follow[None, :]  # (5, 2)
    value_f = np.zeros(JOINT_STATES)
    value_l = np.zeros(JOINT_STATES)
    reply = np.zeros((game.episode_length, JOINT_STATES), dtype=np.int64)
    rows = np.arange(JOINT_STATES)
    for t in reversed(range(game.episode_length)):
        q_f = reward_f + value_f[successor]
        q_l = reward_l + value_l[successor]
        candidates = q_f >= q_f.max(axis=1, keepdims=True) - atol
        if tie_break != "first":
            key = np.where(candidates, q_l if tie_break == "optimistic" else -q_l, -np.inf)
            candidates &= key >= key.max(axis=1, keepdims=True) - atol
        choice = np.argmax(candidates, axis=1)  # the lowest action left
        reply[t] = choice
        value_f = q_f[rows, choice]
        value_l = q_l[rows, choice]
    reply.setflags(write=False)
    return reply


def _pick(values: np.ndarray, tie_break: str, atol: float) -> int:
    """Index of the follower's pick among the rows ``(leader_value, follower_value)``, by the tie rule."""
    follower = values[:, 1]
    candidates = follower >= follower.max() - atol
    if tie_break != "first":
        leader = values[:, 0]
        key = np.where(candidates, leader if tie_break == "optimistic" else -leader, -np.inf)
        candidates &= key >= key.max() - atol
    return int(np.argmax(candidates))


def follower_best_response(
    game: IteratedGame | str,
    leader_policy: Sequence[int],
    *,
    follower: FollowerModel = "markov",
    tie_break: TieBreak = "optimistic",
    atol: float = 1e-9,
) -> FollowerResponse:
    """The follower's best response to a deterministic memory-1 leader policy (see the module docstring).

    Args:
        game: the game, or a name of :data:`ITERATED_GAMES`.
        leader_policy: an action per leader memory state.
        follower: ``"markov"`` (backward induction over time step and joint state) or ``"memory-1"``.
        tie_break: ``"optimistic"``, ``"leader_pessimistic"`` or ``"first"``.
        atol: follower values closer than this count as tied.

    Examples:
        >>> from stmg_envs.equilibria.iterated import follower_best_response
        >>> tit_for_tat = (0, 0, 0, 1, 1)
        >>> follower_best_response("ipd", tit_for_tat).joint_actions[-2:]  # defects at the last step only
        ((0, 0), (0, 1))
        >>> follower_best_response("ipd", tit_for_tat, follower="memory-1").policy  # cannot: always cooperates
        array([0, 0, 0, 0, 0])
    """
    game = _as_game(game)
    atol = _check_settings(follower, tie_break, atol)
    leader = _check_policy(leader_policy, _NUM_STATES[game.memory], "leader")
    if follower == "markov":
        policy = _markov_reply(game, leader, tie_break, atol)
        return FollowerResponse(policy, *play(game, leader, policy))
    replies = np.array(list(itertools.product((0, 1), repeat=_NUM_STATES[game.memory])), dtype=np.int64)
    best = _pick(_memory1_values(game, leader, replies), tie_break, atol)
    policy = replies[best]
    policy.setflags(write=False)
    return FollowerResponse(policy, *play(game, leader, policy))


def _memory1_values(game: IteratedGame, leader: tuple[int, ...], replies: np.ndarray) -> np.ndarray:
    """Returns ``(K, 2)`` (leader's, follower's) of the ``K`` memory-1 follower policies ``replies``, played at once."""
    view = memory_view(game.memory)
    rewards = game.rewards
    lead = np.array(leader, dtype=np.int64)
    rows = np.arange(len(replies))
    state = np.zeros(len(replies), dtype=np.int64)
    values = np.zeros((len(replies), 2))
    for _ in range(game.episode_length):
        a0 = lead[view[0, state]]
        a1 = replies[rows, view[1, state]]
        values[:, 0] += rewards[0, a0, a1]
        values[:, 1] += rewards[1, a0, a1]
        state = 1 + a0 + 2 * a1
    return values


@dataclass(frozen=True, eq=False)
class IteratedStackelberg:
    """The leader's best deterministic memory-1 policy against a best-responding follower.

    Attributes:
        leader_policy: an action per leader memory state.
        follower_policy: the follower's reply (see :class:`FollowerResponse`).
        leader_value: the leader's episode return (offset included).
        follower_value: the follower's episode return.
        joint_actions: the joint actions played, one per step.
        follower: the follower model used.
        tie_break: the tie rule used.
    """

    leader_policy: tuple[int, ...]
    follower_policy: np.ndarray
    leader_value: float
    follower_value: float
    joint_actions: tuple[tuple[int, int], ...]
    follower: FollowerModel
    tie_break: TieBreak


def iterated_stackelberg(
    game: IteratedGame | str,
    *,
    follower: FollowerModel = "markov",
    tie_break: TieBreak = "optimistic",
    atol: float = 1e-9,
) -> IteratedStackelberg:
    """The leader's best deterministic memory-1 policy, the follower best-responding (see the module docstring).

    Args:
        game: the game (:func:`iterated_game`), or a name of :data:`ITERATED_GAMES`.
        follower: ``"markov"`` (default) or ``"memory-1"``: the follower's model.
        tie_break: how the follower breaks ties: ``"optimistic"`` (default), ``"leader_pessimistic"``, ``"first"``.
        atol: values closer than this count as tied (the follower's and the leader's).

    Examples:
        >>> from stmg_envs.equilibria.iterated import iterated_stackelberg
        >>> iterated_stackelberg("bots").joint_actions, iterated_stackelberg("bots").leader_value
        (((0, 0),), 1.0)
    """
    game = _as_game(game)
    atol = _check_settings(follower, tie_break, atol)
    responses = [
        follower_best_response(game, leader, follower=follower, tie_break=tie_break, atol=atol)
        for leader in leader_policies(game)
    ]
    values = np.array([r.leader_value for r in responses])
    best = int(np.argmax(values >= values.max() - atol))  # the first policy in lexicographic order
    response = responses[best]
    return IteratedStackelberg(
        leader_policies(game)[best],
        response.policy,
        response.leader_value,
        response.follower_value,
        response.joint_actions,
        follower,
        tie_break,
    )
