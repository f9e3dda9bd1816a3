"""A tabular learner written outside stmg-envs, benchmarked with no edit to the library.

``SequentialQ`` plays the STMG (the sequential form) of a repeated matrix game. Each
agent keeps a table of action values per *context*: the actions of the agents ranked
above it this time step, which the STMG shows it in ``prior_actions``. It learns each
value from its own reward, with an epsilon-greedy exploration that decays to zero
over ``explore_fraction`` of training; followers explore for a shorter time than
leaders (``follower_explore_scale``), so that a leader's values are learned against
followers that already reply to it (two timescales).

It satisfies the contract of ``stmg_bench.contract`` and nothing more: ``form``,
``__init__(make_env, seed, **hyperparameters)``, ``learn(total_timesteps, callback)``
and ``act(agent, observation)``, plus the optional ``action_probabilities`` (here the
greedy policy as a one-hot, so the report shows P(SE) as 0 or 1).

Benchmark it next to STEP from the repository's root::

    stmg-bench matrix --algos step,examples/tabular_learner.py:SequentialQ --games penalty:-100,mixing --seeds 10
    python benchmarks/matrix_games.py --algos examples/tabular_learner.py:SequentialQ \\
        --hyperparams SequentialQ='{"learning_rate": 0.2}' --seeds 10 --name tabular

Example:
    >>> import pettingzoo, stmg_envs
    >>> learner = SequentialQ(lambda: pettingzoo.make("aec", "stmg/Penalty-v0", k=0.0), seed=0)
    >>> _ = learner.learn(2_000)
    >>> env = pettingzoo.make("aec", "stmg/Penalty-v0", k=0.0)
    >>> env.reset(seed=0)
    >>> learner.act("agent_0", env.observe("agent_0")) in (0, 1, 2)
    True
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np


class SequentialQ:
    """Tabular action values per (agent, superiors' actions), epsilon-greedy, on the STMG.

    Args:
        make_env: Builds the STMG (a PettingZoo ``AECEnv`` with ``Discrete`` actions).
        seed: Seed of the exploration and the resets.
        learning_rate: Step size of each value update (a recency-weighted average).
        explore_fraction: Fraction of training over which the leader's epsilon decays from 1 to 0.
        follower_explore_scale: A follower's exploration lasts this fraction of the leader's.
    """

    form = "sequential"
    name = "SequentialQ"

    def __init__(
        self,
        make_env: Callable[[], Any],
        seed: int,
        learning_rate: float = 0.1,
        explore_fraction: float = 0.8,
        follower_explore_scale: float = 0.5,
    ) -> None:
        if not 0 < learning_rate <= 1:
            raise ValueError(f"expected 0 < learning_rate <= 1, got {learning_rate!r}")
        if not 0 < explore_fraction <= 1 or not 0 < follower_explore_scale <= 1:
            raise ValueError(
                f"expected explore_fraction and follower_explore_scale in (0, 1], got {explore_fraction!r} "
                f"and {follower_explore_scale!r}"
            )
        self.make_env = make_env
        self.seed = int(seed)
        self.learning_rate = float(learning_rate)
        self.explore_fraction = float(explore_fraction)
        self.follower_explore_scale = float(follower_explore_scale)
        self.rng = np.random.default_rng(self.seed)
        env = make_env()
        self.n_actions = {a: int(env.action_space(a).n) for a in env.possible_agents}
        self.q: dict[Any, dict[bytes, np.ndarray]] = {
            a: defaultdict(lambda n=n: np.zeros(n)) for a, n in self.n_actions.items()
        }
        self.num_timesteps = 0

    @staticmethod
    def _context(observation: dict[str, Any]) -> bytes:
        """What the agent conditions on: the superiors' actions this time step (one-hot slots) and its rank."""
        return np.asarray(observation["prior_actions"]).tobytes() + bytes([int(observation["rank"])])

    def learn(self, total_timesteps: int, callback: Callable[[int], bool | None] | None = None) -> SequentialQ:
        """Train for ``total_timesteps`` joint steps; ``callback(num_timesteps)`` after every 100 of them."""
        env = self.make_env()
        env.reset(seed=self.seed)
        explore_until = self.explore_fraction * total_timesteps
        chosen: dict[Any, tuple[bytes, int]] = {}
        done = 0
        while done < total_timesteps:
            if not env.agents:
                env.reset()
            agent = env.agent_selection
            observation, _, terminated, truncated, _ = env.last()
            if terminated or truncated:
                env.step(None)
                continue
            rank = int(observation["rank"])
            horizon = explore_until * (self.follower_explore_scale if rank > 0 else 1.0)
            epsilon = max(0.0, 1.0 - done / horizon) if horizon > 0 else 0.0
            context = self._context(observation)
            if self.rng.random() < epsilon:
                action = int(self.rng.integers(self.n_actions[agent]))
            else:
                action = int(np.argmax(self.q[agent][context]))
            chosen[agent] = (context, action)
            env.step(action)
            if rank == len(env.possible_agents) - 1 or not env.agents:  # the time step is complete
                for who, (ctx, act) in chosen.items():
                    values = self.q[who][ctx]
                    values[act] += self.learning_rate * (env.rewards.get(who, 0.0) - values[act])
                chosen.clear()
                done += 1
                self.num_timesteps += 1
                if callback is not None and done % 100 == 0 and callback(self.num_timesteps) is False:
                    break
        return self

    def act(self, agent: Any, observation: dict[str, Any]) -> int:
        """The greedy action for the agent's STMG observation."""
        return int(np.argmax(self.q[agent][self._context(observation)]))

    def action_probabilities(self, agent: Any, observation: dict[str, Any]) -> np.ndarray:
        """The greedy policy as probabilities (one-hot)."""
        return np.eye(self.n_actions[agent])[self.act(agent, observation)]
