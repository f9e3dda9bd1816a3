"""Deterministic evaluation of any benchmarked algorithm on whole episodes, with task metrics.

:class:`EpisodeRecorder` wraps the simultaneous game being evaluated and
records what happened in the current episode: every agent's summed reward, and
where the task reports them in its infos (the highway merge tasks) the speed
and crashes of the controlled vehicles. :func:`evaluate_greedy` plays greedy
episodes through the algorithm's form on top of the recorder, so the metrics
mean the same for every algorithm: a sequential-form algorithm plays the STMG
built on the recorder (agents act one after another in the priority order, each
receiving the greedy actions of those above it: STEP's "received" execution), a
simultaneous-form one the simultaneous game.

Metrics of one episode (:class:`EpisodeSummary`): ``team_return`` is the mean
over the agents that took part of each agent's episode return (for a shared
reward, as in Multi-Agent MuJoCo, that is the episode return of the team);
``mean_speed`` is the mean of ``info["speed"]`` over every agent and decision
(m/s); ``crashed`` says whether any agent's ``info["crashed"]`` was set; ``flags`` says, for every
boolean an agent's info reported during the episode (e.g. the two-car merge's ``"main_first"`` and
``"ramp_first"``), whether any agent's was ever ``True``.

Examples:
    >>> import pettingzoo, stmg_envs
    >>> from stmg_agents.baselines import MAPPO
    >>> from stmg_envs.matrix import penalty
    >>> agent = MAPPO(lambda: penalty(k=0), seed=0)
    >>> [s.length for s in evaluate_greedy(agent, lambda: penalty(k=0), seeds=[1, 2])]
    [25, 25]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pettingzoo import ParallelEnv
from pettingzoo.utils import BaseParallelWrapper

from stmg_bench.contract import ContractError, algorithm_execution
from stmg_envs import stmg_v0

__all__ = ["EpisodeSummary", "EpisodeRecorder", "evaluate_greedy", "summarize_episodes"]


@dataclass(frozen=True)
class EpisodeSummary:
    """What one evaluation episode gave.

    Attributes:
        team_return: Mean over the participating agents of their episode returns.
        agent_returns: Episode return of each agent that took part.
        length: Time steps (joint steps) of the episode.
        mean_speed: Mean of ``info["speed"]`` over agents and decisions; ``None`` if the task reports no speed.
        crashed: Whether any agent crashed; ``None`` if the task reports no crashes.
        flags: Each boolean info key the episode reported (any agent, any step, ``reset`` included), and
            whether it was ever ``True``; empty if the task reports none.
    """

    team_return: float
    agent_returns: dict[str, float]
    length: int
    mean_speed: float | None
    crashed: bool | None
    flags: Mapping[str, bool] = field(default_factory=dict)


class EpisodeRecorder(BaseParallelWrapper):
    """A pass-through ``ParallelEnv`` wrapper that records the current episode (see :meth:`summary`).

    Args:
        env: The simultaneous game.

    Examples:
        >>> from stmg_envs.matrix import penalty
        >>> env = EpisodeRecorder(penalty(k=0, episode_length=2))
        >>> _ = env.reset(seed=0)
        >>> for _ in range(2):
        ...     _ = env.step({"agent_0": 0, "agent_1": 2})
        >>> env.summary().team_return, env.summary().length
        (20.0, 2)
    """

    def __init__(self, env: ParallelEnv):
        if not isinstance(env, ParallelEnv):
            raise TypeError(f"expected a PettingZoo ParallelEnv, got {type(env).__name__}.")
        super().__init__(env)
        self._clear()

    def _clear(self) -> None:
        self._returns: dict[str, float] = {}
        self._length = 0
        self._speeds: list[float] = []
        self._crashed: bool | None = None
        self._flags: dict[str, bool] = {}

    def _record_flags(self, infos: Mapping[Any, Any]) -> None:
        for info in infos.values():
            for key, value in info.items():
                if isinstance(value, (bool, np.bool_)):
                    self._flags[str(key)] = self._flags.get(str(key), False) or bool(value)

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict, dict]:
        observations, infos = self.env.reset(seed=seed, options=options)
        self._clear()
        for agent in observations:
            self._returns.setdefault(str(agent), 0.0)
        self._record_flags(infos)
        return observations, infos

    def step(self, actions: dict[Any, Any]) -> tuple[dict, dict, dict, dict, dict]:
        observations, rewards, terminations, truncations, infos = self.env.step(actions)
        self._length += 1
        for agent, reward in rewards.items():
            self._returns[str(agent)] = self._returns.get(str(agent), 0.0) + float(reward)
        for info in infos.values():
            if "speed" in info:
                self._speeds.append(float(info["speed"]))
            if "crashed" in info:
                self._crashed = bool(self._crashed) or bool(info["crashed"])
        self._record_flags(infos)
        return observations, rewards, terminations, truncations, infos

    def summary(self) -> EpisodeSummary:
        """The episode so far (the whole episode once it has ended)."""
        returns = dict(self._returns)
        return EpisodeSummary(
            team_return=float(np.mean(list(returns.values()))) if returns else 0.0,
            agent_returns=returns,
            length=self._length,
            mean_speed=float(np.mean(self._speeds)) if self._speeds else None,
            crashed=self._crashed,
            flags=dict(self._flags),
        )


def _check_seeds(seeds: Sequence[int]) -> list[int]:
    seeds = list(seeds)
    if not seeds or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in seeds):
        raise ValueError(f"expected a non-empty list of int seeds (one per evaluation episode), got {seeds!r}.")
    return [int(s) for s in seeds]


def evaluate_greedy(
    algorithm: Any,
    make_parallel_env: Callable[[], ParallelEnv],
    seeds: Sequence[int],
    order: Any = None,
) -> list[EpisodeSummary]:
    """Play one greedy episode per seed through the algorithm's form, and summarise each.

    A ``"sequential"`` algorithm plays the STMG built on the recorder (``stmg_v0(recorder,
    order)``): each agent acts on its STMG observation, which holds the greedy actions of
    the agents ranked above it (STEP's "received" execution). A ``"simultaneous"`` one plays
    the simultaneous game, every live agent acting on its own observation, or, executed centrally
    (``execution = "centralized"``, :mod:`stmg_bench.contract`), all live agents together through
    ``act_joint`` on their observations.

    Args:
        algorithm: Anything with ``form`` and ``act(agent, observation)`` (:mod:`stmg_bench.contract`).
        make_parallel_env: Builds the simultaneous game.
        seeds: One ``reset`` seed per episode.
        order: The STMG's priority order (see :func:`stmg_envs.stmg_v0`); unused by simultaneous algorithms.

    Returns:
        One :class:`EpisodeSummary` per seed.
    """
    seeds = _check_seeds(seeds)
    centralized = algorithm_execution(algorithm) == "centralized"
    recorder = EpisodeRecorder(make_parallel_env())
    summaries = []
    if algorithm.form == "sequential":
        env = stmg_v0(recorder, order=order)
        try:
            for seed in seeds:
                env.reset(seed=seed)
                for agent in env.agent_iter():
                    observation, _, terminated, truncated, _ = env.last()
                    env.step(None if terminated or truncated else algorithm.act(agent, observation))
                summaries.append(recorder.summary())
        finally:
            env.close()
        return summaries
    try:
        for seed in seeds:
            observations, _ = recorder.reset(seed=seed)
            while recorder.agents:
                live = {a: observations[a] for a in recorder.agents}
                if centralized:  # one joint decision from every live agent's observation
                    actions = _joint_actions(algorithm, live)
                else:
                    actions = {a: algorithm.act(a, obs) for a, obs in live.items()}
                observations, *_ = recorder.step(actions)
            summaries.append(recorder.summary())
    finally:
        recorder.close()
    return summaries


def _joint_actions(algorithm: Any, observations: dict[Any, Any]) -> dict[Any, Any]:
    """``act_joint`` on the live agents' observations, checked to give one action for each of them."""
    actions = algorithm.act_joint(observations)
    if not isinstance(actions, dict) or set(actions) != set(observations):
        got = sorted(map(str, actions)) if isinstance(actions, dict) else type(actions).__name__
        raise ContractError(
            f"{type(algorithm).__qualname__}.act_joint returned {got}; expected a dict with an action for each live "
            f"agent, {sorted(map(str, observations))}."
        )
    return actions


def summarize_episodes(summaries: Sequence[EpisodeSummary]) -> dict[str, Any]:
    """Means over evaluation episodes, as a JSON-able dict.

    Returns:
        ``team_return`` (mean), ``team_returns`` (each episode), ``length`` (mean),
        ``mean_speed`` (mean over episodes that report one, else ``None``) and
        ``crash_rate`` (fraction of episodes with a crash, else ``None``) and ``flag_rates`` (for each
        boolean info key any episode reported, the fraction of episodes that set it; an episode that did
        not report a key counts as not setting it; empty if none did).

    Examples:
        >>> s = EpisodeSummary(1.0, {"a": 1.0}, 10, 20.0, False)
        >>> summarize_episodes([s, EpisodeSummary(3.0, {"a": 3.0}, 20, None, True)])["crash_rate"]
        0.5
        >>> flagged = EpisodeSummary(3.0, {"a": 3.0}, 2, None, None, {"main_first": True})
        >>> summarize_episodes([s, flagged])["flag_rates"]
        {'main_first': 0.5}
    """
    if not summaries:
        raise ValueError("expected at least one episode summary, got none.")
    speeds = [s.mean_speed for s in summaries if s.mean_speed is not None]
    crashes = [s.crashed for s in summaries if s.crashed is not None]
    return {
        "team_return": float(np.mean([s.team_return for s in summaries])),
        "team_returns": [float(s.team_return) for s in summaries],
        "length": float(np.mean([s.length for s in summaries])),
        "mean_speed": float(np.mean(speeds)) if speeds else None,
        "crash_rate": float(np.mean(crashes)) if crashes else None,
        "flag_rates": {
            key: float(np.mean([bool(s.flags.get(key, False)) for s in summaries]))
            for key in sorted({key for s in summaries for key in s.flags})
        },
    }
