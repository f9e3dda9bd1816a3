"""Bi-AC's bi-level tabular Q-learning for two-agent games, on the STMG (the benchmark contract's shape).

The Bi-AC paper (Zhang et al., "Bi-level Actor-Critic for Multi-agent Coordination",
the section "Bi-level Tabular Q-learning") learns a Stackelberg equilibrium of a
two-player Markov game with one Q-table per agent over joint actions, both updated
toward the SE of the next state's stage game. For a transition
``<s, a1, a2, s', r1, r2>`` with the leader's and the follower's learning rates
``alpha_1``, ``alpha_2``:

* Eq. 8: ``a1' = argmax_{a1} Q1(s', a1, argmax_{a2} Q2(s', a1, a2))`` (the leader's best
  action given the follower's best response),
* Eq. 9: ``a2' = argmax_{a2} Q2(s', a1', a2)``,
* Eq. 10-11: ``Q_i(s, a1, a2) <- (1 - alpha_i) Q_i(s, a1, a2) + alpha_i (r_i + gamma Q_i(s', a1', a2'))``.

On the STMG the agent of rank 0 is the leader and the agent of rank 1 the follower;
the follower reads the leader's action from ``prior_actions``. The tables are kept per
leader (``Q_i[s, leader]``), so a ``"random"`` order trains both roles. The state ``s``
is the deciding agent's own observation (in the matrix games every agent observes the
same). Exploration is epsilon-greedy (the paper: "fully explored ... then decaying
epsilon-greedy"): epsilon falls linearly from ``exploration_initial_eps`` to
``exploration_final_eps`` over the first ``exploration_fraction`` of each ``learn``
call's steps. Greedy play (``act``) is Eq. 8-9 at the current state: the learned
policy is deterministic, so ``action_probabilities`` is one-hot.

A time limit (truncation) bootstraps from the final state; a termination does not.
Ties in ``argmax`` go to the lowest action index.

Examples:
    >>> import pettingzoo, stmg_envs
    >>> from stmg_agents.baselines.biac import BiLevelQLearning
    >>> make_env = lambda: pettingzoo.make("aec", "stmg/Penalty-v0", k=-50)
    >>> model = BiLevelQLearning(make_env, seed=0, gamma=0.0).learn(2_000)
    >>> env = make_env(); env.reset(seed=0)
    >>> a1 = model.act("agent_0", env.observe("agent_0")); env.step(a1)
    >>> a2 = model.act("agent_1", env.observe("agent_1"))
    >>> (a1, a2)  # the SE of Penalty: (a1, a3) with payoff 10
    (0, 2)

Version history:
    * 0.1.0: added.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple

import numpy as np
from gymnasium import spaces

from stmg_envs.wrappers import skip_dead_steps

__all__ = ["BiLevelQLearning"]


class _Pending(NamedTuple):
    """A time step whose next state is not known yet: what Eq. 10-11 need besides it."""

    copy: int  # which env copy
    key: tuple[bytes, Any]  # (state, leader)
    leader: Any
    follower: Any
    a1: int
    a2: int
    r1: float
    r2: float


def _check_rate(name: str, value: Any, low: float = 0.0, low_open: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"expected {name} to be a number, got {value!r}.")
    value = float(value)
    if not math.isfinite(value) or value > 1.0 or value < low or (low_open and value == low):
        bound = f"in ({low:g}, 1]" if low_open else f"in [{low:g}, 1]"
        raise ValueError(f"expected {name} {bound}, got {value!r}.")
    return value


class BiLevelQLearning:
    """Bi-level tabular Q-learning (Bi-AC, Eq. 8-11) for two-agent games with ``Discrete`` actions.

    Written against :mod:`stmg_bench.contract` (``form = "sequential"``): the harness
    builds it as ``BiLevelQLearning(make_env, seed=..., **hyperparameters)``.

    Args:
        make_env: Returns a fresh STMG (``stmg_v0`` of a two-agent game, ``flatten=False``).
        seed: Seed of the exploration and of the env resets.
        learning_rate_leader: ``alpha_1``, the leader's step size, in (0, 1].
        learning_rate_follower: ``alpha_2``, the follower's step size, in (0, 1].
        gamma: Discount, in [0, 1].
        exploration_initial_eps: Epsilon at the start of each ``learn``, in [0, 1].
        exploration_final_eps: Epsilon after ``exploration_fraction`` of it, in [0, 1].
        exploration_fraction: Share of ``learn``'s steps over which epsilon falls, in (0, 1].
        n_envs: Env copies played in turn, one time step each (the benchmarks' shared setting).

    Raises:
        ValueError: the game does not have exactly two agents, an action space is not
            ``Discrete``, the observations are not the STMG's ``Dict``, or a bad number.
    """

    form: ClassVar[str] = "sequential"
    name: ClassVar[str] = "biac"

    def __init__(
        self,
        make_env: Callable[[], Any],
        seed: int = 0,
        learning_rate_leader: float = 0.1,
        learning_rate_follower: float = 0.1,
        gamma: float = 0.99,
        exploration_initial_eps: float = 1.0,
        exploration_final_eps: float = 0.05,
        exploration_fraction: float = 0.5,
        n_envs: int = 1,
    ) -> None:
        self.hyperparameters = {
            "learning_rate_leader": _check_rate("learning_rate_leader", learning_rate_leader),
            "learning_rate_follower": _check_rate("learning_rate_follower", learning_rate_follower),
            "gamma": _check_rate("gamma", gamma, low_open=False),
            "exploration_initial_eps": _check_rate("exploration_initial_eps", exploration_initial_eps, low_open=False),
            "exploration_final_eps": _check_rate("exploration_final_eps", exploration_final_eps, low_open=False),
            "exploration_fraction": _check_rate("exploration_fraction", exploration_fraction),
        }
        if isinstance(n_envs, bool) or not isinstance(n_envs, (int, np.integer)) or n_envs < 1:
            raise ValueError(f"expected n_envs to be an int >= 1, got {n_envs!r}.")
        self.n_envs = int(n_envs)
        self.seed = int(seed)
        self.make_env = make_env
        probe = make_env()
        agents = list(probe.possible_agents)
        if len(agents) != 2:
            raise ValueError(
                f"BiLevelQLearning (Bi-AC's tabular learner) is for two-agent games: expected 2 agents, got "
                f"{len(agents)} ({agents}). For more agents use STEP or seq-ppo."
            )
        self.agents = agents
        self.n_actions: dict[Any, int] = {}
        for agent in agents:
            space = probe.action_space(agent)
            if not isinstance(space, spaces.Discrete):
                raise ValueError(f"BiLevelQLearning needs Discrete actions; agent {agent!r} has {space}.")
            self.n_actions[agent] = int(space.n)
        layout = getattr(probe.unwrapped, "action_layout", None)
        if layout is None:
            raise ValueError(
                f"BiLevelQLearning trains on the STMG (stmg_v0, flatten=False); make_env() gave "
                f"{type(probe.unwrapped).__name__}, which has no action_layout."
            )
        self._layout = dict(layout)
        probe.close()
        #: ``(state, leader) -> array (2, n_leader, n_follower)``: ``[0]`` is Q1 (leader), ``[1]`` Q2 (follower).
        self.q_tables: dict[tuple[bytes, Any], np.ndarray] = {}
        self.num_timesteps = 0
        self._rng = np.random.default_rng(self.seed)
        self._envs: list[Any] | None = None
        self._pending: dict[int, _Pending] = {}

    # ------------------------------------------------------------------ the tables
    def _other(self, agent: Any) -> Any:
        return self.agents[1] if agent == self.agents[0] else self.agents[0]

    @staticmethod
    def _state(observation: Any) -> bytes:
        return np.ascontiguousarray(observation["observation"], dtype=np.float64).tobytes()

    def _table(self, key: tuple[bytes, Any]) -> np.ndarray:
        table = self.q_tables.get(key)
        if table is None:
            leader = key[1]
            shape = (2, self.n_actions[leader], self.n_actions[self._other(leader)])
            table = self.q_tables[key] = np.zeros(shape)
        return table

    @staticmethod
    def _stackelberg(table: np.ndarray) -> tuple[int, int]:
        """Eq. 8-9 on one stage game: the leader's best action against the follower's best responses."""
        responses = table[1].argmax(axis=1)  # argmax_{a2} Q2(s, a1, a2) for each a1
        a1 = int(table[0][np.arange(table.shape[1]), responses].argmax())
        return a1, int(responses[a1])

    def _leader_of(self, agent: Any, observation: Any) -> Any:
        """The agent that leads the time step in which ``agent`` makes this observation."""
        if int(observation["rank"]) == 0:
            return agent
        return self._other(agent)

    def _leader_action(self, agent: Any, observation: Any) -> int:
        prior = np.asarray(observation["prior_actions"])[self._layout[self._other(agent)]]
        return int(np.argmax(prior))

    # ------------------------------------------------------------------ the contract
    def act(self, agent: Any, observation: Any) -> int:
        """The greedy action of ``agent`` (Eq. 8 for the leader, the best response of Eq. 9 for the follower)."""
        leader = self._leader_of(agent, observation)
        table = self._table((self._state(observation), leader))
        if agent == leader:
            return self._stackelberg(table)[0]
        return int(table[1][self._leader_action(agent, observation)].argmax())

    def action_probabilities(self, agent: Any, observation: Any) -> np.ndarray:
        """The greedy policy as probabilities (one-hot: the learned policy is deterministic)."""
        out = np.zeros(self.n_actions[agent])
        out[self.act(agent, observation)] = 1.0
        return out

    def learn(self, total_timesteps: int, callback: Callable[[int], Any] | None = None) -> BiLevelQLearning:
        """Play ``total_timesteps`` more joint steps (over the env copies in turn), updating after each.

        ``callback(num_timesteps)`` runs after every update (one per completed time step whose
        next state is known); returning ``False`` stops.
        """
        if isinstance(total_timesteps, bool) or not isinstance(total_timesteps, (int, np.integer)):
            raise ValueError(f"expected total_timesteps to be an int >= 0, got {total_timesteps!r}.")
        if total_timesteps < 0:
            raise ValueError(f"expected total_timesteps to be an int >= 0, got {total_timesteps!r}.")
        if self._envs is None:
            self._envs = [self.make_env() for _ in range(self.n_envs)]
            for i, env in enumerate(self._envs):
                env.reset(seed=self.seed + i)
        hp = self.hyperparameters
        start, end = self.num_timesteps, self.num_timesteps + int(total_timesteps)
        decay = max(1.0, hp["exploration_fraction"] * total_timesteps)
        copy = 0
        while self.num_timesteps < end:
            progress = min(1.0, (self.num_timesteps - start) / decay)
            eps = hp["exploration_initial_eps"] + progress * (
                hp["exploration_final_eps"] - hp["exploration_initial_eps"]
            )
            updated = self._play_time_step(copy, eps)
            copy = (copy + 1) % self.n_envs
            if updated and callback is not None and callback(self.num_timesteps) is False:
                break
        return self

    def _explore(self, greedy: int, n: int, eps: float) -> int:
        if self._rng.random() < eps:
            return int(self._rng.integers(n))
        return greedy

    def _play_time_step(self, copy: int, eps: float) -> bool:
        """Play one time step of env copy ``copy`` (resetting it at the end of an episode); whether Q changed."""
        assert self._envs is not None
        env = self._envs[copy]
        updated = False
        if not env.agents:
            env.reset()
        leader = env.agent_selection
        observation, _, term, trunc, _ = env.last()
        if term or trunc:  # a dead step cannot be left pending: play them out, then start the next episode
            updated = self._finish(copy, observation, bool(term))
            skip_dead_steps(env)
            return updated
        updated = self._finish(copy, observation, False)  # the previous time step's next state is this one
        key = (self._state(observation), leader)
        table = self._table(key)
        greedy_a1, _ = self._stackelberg(table)
        a1 = self._explore(greedy_a1, self.n_actions[leader], eps)
        env.step(a1)
        follower = env.agent_selection
        greedy_a2 = int(table[1][a1].argmax())
        a2 = self._explore(greedy_a2, self.n_actions[follower], eps)
        env.step(a2)
        self.num_timesteps += 1
        rewards = env.rewards
        self._pending[copy] = _Pending(
            copy, key, leader, follower, a1, a2, float(rewards[leader]), float(rewards[follower])
        )
        if env.agents and (env.terminations[env.agent_selection] or env.truncations[env.agent_selection]):
            final, _, term, _, _ = env.last()
            updated = self._finish(copy, final, bool(term)) or updated
            skip_dead_steps(env)
        return updated

    def _finish(self, copy: int, next_observation: Any, terminated: bool) -> bool:
        """Eq. 8-11 for the pending time step of ``copy``, now that its next state is known."""
        pending = self._pending.pop(copy, None)
        if pending is None:
            return False
        hp = self.hyperparameters
        table = self._table(pending.key)
        if terminated:
            next_q = (0.0, 0.0)
        else:
            nxt = self._table((self._state(next_observation), pending.leader))
            b1, b2 = self._stackelberg(nxt)
            next_q = (float(nxt[0, b1, b2]), float(nxt[1, b1, b2]))
        for i, (reward, rate) in enumerate(
            ((pending.r1, hp["learning_rate_leader"]), (pending.r2, hp["learning_rate_follower"]))
        ):
            target = reward + hp["gamma"] * next_q[i]
            table[i, pending.a1, pending.a2] += rate * (target - table[i, pending.a1, pending.a2])
        return True

    # ------------------------------------------------------------------ save / load
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the tables, settings and counters as JSON (``load`` reads them back)."""
        leaders = {agent: i for i, agent in enumerate(self.agents)}
        data = {
            "format": "stmg_agents.BiLevelQLearning/1",
            "seed": self.seed,
            "n_envs": self.n_envs,
            "hyperparameters": self.hyperparameters,
            "agents": [str(a) for a in self.agents],
            "num_timesteps": self.num_timesteps,
            "rng": self._rng.bit_generator.state,
            "tables": [
                {"state": key[0].hex(), "leader": leaders[key[1]], "q": table.tolist()}
                for key, table in self.q_tables.items()
            ],
        }
        with open(path, "w") as file:
            json.dump(data, file)

    @classmethod
    def load(cls, path: str | os.PathLike[str], make_env: Callable[[], Any]) -> BiLevelQLearning:
        """A model saved by :meth:`save`, attached to ``make_env``'s environments."""
        try:
            with open(path) as file:
                data = json.load(file)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"expected a BiLevelQLearning save (JSON), got an unreadable file {path}: {exc}") from None
        if not isinstance(data, dict) or data.get("format") != "stmg_agents.BiLevelQLearning/1":
            raise ValueError(f"expected a BiLevelQLearning save, got a file without its format tag: {path}.")
        self = cls(make_env, seed=data["seed"], n_envs=data["n_envs"], **data["hyperparameters"])
        if [str(a) for a in self.agents] != data["agents"]:
            raise ValueError(f"the save is for agents {data['agents']}; make_env() gives {self.agents}.")
        self.num_timesteps = int(data["num_timesteps"])
        self._rng.bit_generator.state = data["rng"]
        for entry in data["tables"]:
            key = (bytes.fromhex(entry["state"]), self.agents[entry["leader"]])
            self.q_tables[key] = np.asarray(entry["q"], dtype=np.float64)
        return self

    def __repr__(self) -> str:
        return (
            f"BiLevelQLearning(agents={self.agents}, states={len(self.q_tables)}, num_timesteps={self.num_timesteps})"
        )
