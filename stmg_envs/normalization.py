"""Running observation normalisation: one home for the running statistics, for single and batched games.

Multi-Agent MuJoCo observations are unbounded (joint velocities reach tens of
units) while policies with ``tanh`` layers work best on inputs of order one.
:class:`NormalizedObservations` wraps a simultaneous game and standardises
each agent's observation (and ``state()``) with running statistics, as SB3's
``VecNormalize`` does for one agent: ``clip((x - mean) / sqrt(var + eps), -clip, clip)``.
:class:`stmg_envs.vector.NormalizedBackend` does the same on the stacked arrays of the
batched forms (:mod:`stmg_envs.vector`), with the same :class:`ObservationStatistics`.

The statistics live in an :class:`ObservationStatistics` object that is
*shared*: the env copies that collect training data all update the same
statistics (one estimate, whichever copy saw the data), and an evaluation
copy built with ``update=False`` reads them without changing them. Each
agent has its own statistics (agents of a partitioned robot observe different
joints in the same slots), and so has the global state. The running mean and
variance are :class:`RunningMeanStd`, the parallel algorithm of Stable-Baselines3's
class of that name (the same arithmetic, so the same numbers; the env core imports
no training code).

Optionally (``reward_gamma``) the training copies also scale rewards by the
running standard deviation of the discounted return, as ``VecNormalize`` with
``norm_reward=True``: learners without value normalisation (SB3's PPO inside
IPPO) otherwise face value losses in the thousands on MuJoCo rewards, whose
gradients, after global gradient-norm clipping, leave the policy almost no update.

Because normalisation happens in the environment, STEP (on the STMG built on
top of the wrapper) and the IPPO/MAPPO baselines (on the wrapper itself) see
exactly the same inputs and rewards. The benchmark harness uses this module
through its own ``normalization`` module, which re-exports it.

Examples:
    >>> from stmg_envs.matrix import penalty
    >>> stats = ObservationStatistics()
    >>> env = NormalizedObservations(penalty(), stats)
    >>> obs, _ = env.reset(seed=0)
    >>> stats.count("agent_0")
    1
    >>> frozen = NormalizedObservations(penalty(), stats, update=False)
    >>> _ = frozen.reset(seed=0)
    >>> stats.count("agent_0")
    1
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from typing import Any

import numpy as np
from pettingzoo import ParallelEnv
from pettingzoo.utils import BaseParallelWrapper

__all__ = ["ObservationStatistics", "NormalizedObservations", "RunningMeanStd", "STATE_KEY", "REWARD_KEY"]

#: Key of the global state's statistics in :class:`ObservationStatistics`.
STATE_KEY = "__state__"

#: Key of the discounted-return statistics used to scale rewards.
REWARD_KEY = "__return__"


class RunningMeanStd:
    """Running mean and variance of a stream of arrays (the parallel algorithm; Chan et al.).

    The arithmetic of Stable-Baselines3's ``RunningMeanStd`` (``tests/test_normalization.py`` checks the
    numbers are the same): the mean starts at 0, the variance at 1, the count at ``epsilon``.

    Args:
        epsilon: The starting count.
        shape: The shape of one array of the stream.

    Examples:
        >>> import numpy as np
        >>> rms = RunningMeanStd(shape=(1,))
        >>> rms.update(np.array([[1.0], [3.0]]))
        >>> rms.mean.round(3), rms.var.round(3)
        (array([2.]), array([1.]))
    """

    def __init__(self, epsilon: float = 1e-4, shape: tuple[int, ...] = ()):
        self.mean = np.zeros(shape, np.float64)
        self.var = np.ones(shape, np.float64)
        self.count = epsilon

    def update(self, arr: np.ndarray) -> None:
        """Add a batch ``(B, *shape)``."""
        self.update_from_moments(np.mean(arr, axis=0), np.var(arr, axis=0), arr.shape[0])

    def update_from_moments(self, batch_mean: np.ndarray, batch_var: np.ndarray, batch_count: float) -> None:
        """Add a batch given by its mean, (population) variance and size."""
        delta = batch_mean - self.mean
        tot_count = self.count + batch_count
        new_mean = self.mean + delta * batch_count / tot_count
        m_a = self.var * self.count
        m_b = batch_var * batch_count
        m_2 = m_a + m_b + np.square(delta) * self.count * batch_count / (self.count + batch_count)
        self.mean = new_mean
        self.var = m_2 / (self.count + batch_count)
        self.count = batch_count + self.count


class ObservationStatistics:
    """Running mean and variance of each agent's observation (and of the state), created on first use.

    Args:
        clip: Normalised values are clipped to ``[-clip, clip]`` (SB3's ``VecNormalize`` uses 10).
        epsilon: Added to the variance before the square root.

    Raises:
        ValueError: ``clip`` or ``epsilon`` is not a positive finite number.

    Examples:
        >>> import numpy as np
        >>> stats = ObservationStatistics(clip=5.0)
        >>> stats.update("a", np.array([[0.0], [2.0]]))
        >>> stats.normalize("a", np.array([1.0])).round(3)
        array([0.], dtype=float32)
    """

    def __init__(self, clip: float = 10.0, epsilon: float = 1e-8):
        for name, value in (("clip", clip), ("epsilon", epsilon)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"expected {name} to be a positive finite number, got {value!r}.")
        self.clip = float(clip)
        self.epsilon = float(epsilon)
        self._stats: dict[Hashable, RunningMeanStd] = {}

    def _get(self, key: Hashable, shape: tuple[int, ...]) -> RunningMeanStd:
        stats = self._stats.get(key)
        if stats is None:
            stats = self._stats[key] = RunningMeanStd(shape=shape)
        elif stats.mean.shape != shape:
            raise ValueError(f"expected observations of {key!r} with shape {stats.mean.shape}, got {shape}.")
        return stats

    def update(self, key: Hashable, batch: np.ndarray) -> None:
        """Add a batch ``(B, *shape)`` of observations of ``key`` (an agent, or :data:`STATE_KEY`)."""
        batch = np.asarray(batch, dtype=np.float64)
        self._get(key, batch.shape[1:]).update(batch)

    def normalize(self, key: Hashable, value: np.ndarray) -> np.ndarray:
        """``value`` standardised with the statistics of ``key`` and clipped, as float32 (unchanged if none yet)."""
        value = np.asarray(value, dtype=np.float64)
        stats = self._stats.get(key)
        if stats is None:
            return value.astype(np.float32)
        out = (value - stats.mean) / np.sqrt(stats.var + self.epsilon)
        return np.clip(out, -self.clip, self.clip).astype(np.float32)

    def reward_std(self) -> float:
        """Running standard deviation of the discounted returns (:data:`REWARD_KEY`), 1 before any data."""
        stats = self._stats.get(REWARD_KEY)
        return 1.0 if stats is None else float(np.sqrt(stats.var[0] + self.epsilon))

    def count(self, key: Hashable) -> int:
        """Number of observations of ``key`` seen so far (0 if none)."""
        stats = self._stats.get(key)
        return 0 if stats is None else round(stats.count - 1e-4)  # RunningMeanStd starts at epsilon

    def state_dict(self) -> dict[str, Any]:
        """The statistics as plain lists (JSON-able), e.g. to store next to a saved model."""
        return {
            "clip": self.clip,
            "epsilon": self.epsilon,
            "stats": {
                str(k): {"mean": s.mean.tolist(), "var": s.var.tolist(), "count": s.count}
                for k, s in self._stats.items()
            },
        }


class NormalizedObservations(BaseParallelWrapper):
    """A ``ParallelEnv`` whose ``Box`` observations and ``state()`` are standardised by shared running statistics.

    Args:
        env: The simultaneous game; its observations must be numeric arrays.
        statistics: The (shared) :class:`ObservationStatistics`.
        update: Add every observation this copy returns to the statistics (training copies);
            ``False`` only reads them (evaluation copies).
        normalize_state: Standardise ``state()`` too (MAPPO's critic reads it).
        normalize_observations: Standardise the observations (``False``: pass them through, e.g.
            to scale only rewards).
        reward_gamma: If given, also scale each agent's reward by the running standard deviation
            of its discounted return with this discount (SB3 ``VecNormalize``'s ``norm_reward``;
            statistics under :data:`REWARD_KEY`, shared by all agents and copies). Only for
            training copies (``update=True``): evaluation must see the task's own rewards.

    Raises:
        TypeError: ``env`` is not a ``ParallelEnv`` or ``statistics`` not an :class:`ObservationStatistics`.
        ValueError: ``reward_gamma`` outside ``[0, 1]``, or given with ``update=False``.

    The observation spaces are reported unchanged (normalised values stay inside
    the unbounded ``Box`` spaces of the tasks this is meant for).
    """

    def __init__(
        self,
        env: ParallelEnv,
        statistics: ObservationStatistics,
        update: bool = True,
        normalize_state: bool = True,
        normalize_observations: bool = True,
        reward_gamma: float | None = None,
    ):
        if not isinstance(env, ParallelEnv):
            raise TypeError(f"expected a PettingZoo ParallelEnv, got {type(env).__name__}.")
        if not isinstance(statistics, ObservationStatistics):
            raise TypeError(f"expected statistics to be an ObservationStatistics, got {type(statistics).__name__}.")
        if reward_gamma is not None:
            if (
                isinstance(reward_gamma, bool)
                or not isinstance(reward_gamma, (int, float))
                or not 0 <= reward_gamma <= 1
            ):
                raise ValueError(f"expected reward_gamma to be None or a number in [0, 1], got {reward_gamma!r}.")
            if not update:
                raise ValueError(
                    "expected reward_gamma=None with update=False: evaluation copies report the task's own rewards."
                )
        super().__init__(env)
        self.statistics = statistics
        self.update = bool(update)
        self.normalize_state = bool(normalize_state)
        self.normalize_observations = bool(normalize_observations)
        self.reward_gamma = None if reward_gamma is None else float(reward_gamma)
        self._returns: dict[Any, float] = {}

    def _normalize_all(self, observations: dict[Any, Any]) -> dict[Any, Any]:
        if not self.normalize_observations:
            return observations
        stats = self.statistics
        out = {}
        for agent, obs in observations.items():
            obs = np.asarray(obs)  # noqa: PLW2901
            if self.update:
                stats.update(agent, obs[None])
            out[agent] = stats.normalize(agent, obs)
        return out

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict, dict]:
        observations, infos = self.env.reset(seed=seed, options=options)
        self._returns = {}
        return self._normalize_all(observations), infos

    def step(self, actions: dict[Any, Any]) -> tuple[dict, dict, dict, dict, dict]:
        observations, rewards, terminations, truncations, infos = self.env.step(actions)
        if self.reward_gamma is not None:
            rewards = self._scale_rewards(rewards, terminations, truncations)
        return self._normalize_all(observations), rewards, terminations, truncations, infos

    def _scale_rewards(self, rewards: dict[Any, float], terminations: dict, truncations: dict) -> dict[Any, float]:
        """Divide rewards by the running std of the discounted returns (updated with this step's returns)."""
        stats = self.statistics
        returns = self._returns
        gamma = self.reward_gamma
        assert gamma is not None, "reward scaling without a discount (reward_gamma=None)"
        for agent, reward in rewards.items():
            returns[agent] = returns.get(agent, 0.0) * gamma + float(reward)
        if returns:
            stats.update(REWARD_KEY, np.array([[returns[a]] for a in rewards], dtype=np.float64).reshape(-1, 1))
        std = stats.reward_std()
        scaled = {agent: float(np.clip(reward / std, -stats.clip, stats.clip)) for agent, reward in rewards.items()}
        for agent in rewards:
            if terminations.get(agent) or truncations.get(agent):
                returns.pop(agent, None)
        return scaled

    def state(self) -> np.ndarray:
        state = np.asarray(self.env.state())
        if not (self.normalize_state and self.normalize_observations):
            return state
        if self.update:
            self.statistics.update(STATE_KEY, state.reshape(1, -1))
        return self.statistics.normalize(STATE_KEY, state.reshape(-1)).reshape(state.shape)

    def __repr__(self) -> str:
        return f"NormalizedObservations({self.env!r}, update={self.update})"
