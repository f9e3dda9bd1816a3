"""A ``ParallelEnv`` wrapper that prepares any simultaneous game for SuperSuit's vector envs.

SuperSuit 3.11's ``pettingzoo_env_to_vec_env_v1`` takes only games whose
agents have identical spaces and never die, and the usual fixes have
problems of their own:

* ``agent_indicator_v0`` + ``pad_observations_v0`` handle unequal
  observation spaces, at the cost of two wrapper layers per step;
* ``black_death_v3`` never ends an episode that stops by *truncation*
  (it ends one only when every agent is terminated *and* truncated), and
  reports terminations and truncations as the same flag;
* ``MarkovVectorEnv`` never sets ``info["TimeLimit.truncated"]``, so SB3
  treats a time-limit end as a terminal state and does not bootstrap.

:class:`SharedPolicyParallelEnv` does all of this in one layer: it encodes
observations with :class:`SharedObservationEncoder` (flatten, pad, agent
indicator), keeps dead agents in the game with zero observations and zero
reward until every agent is done ("black death", ending on termination *or*
truncation), and marks each agent's end with ``terminal_observation`` and
``TimeLimit.truncated`` in its info, so SB3 bootstraps truncated episodes.

Examples:
    >>> from stmg_envs.matrix import penalty
    >>> from stmg_agents.baselines.shared_policy_env import SharedPolicyParallelEnv
    >>> env = SharedPolicyParallelEnv(penalty(k=0, episode_length=1))
    >>> obs, infos = env.reset(seed=0)
    >>> obs["agent_1"]
    array([1., 0., 1.], dtype=float32)
    >>> obs, rewards, terms, truncs, infos = env.step({"agent_0": 0, "agent_1": 2})
    >>> truncs["agent_0"], infos["agent_0"]["TimeLimit.truncated"], env.agents
    (True, True, [])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from stmg_agents.baselines.env_source import shared_action_space
from stmg_agents.baselines.observation_encoding import SharedObservationEncoder

__all__ = ["SharedPolicyParallelEnv", "env_action_converter"]


def env_action_converter(space: spaces.Space) -> Callable[[Any], Any]:
    """Return a function turning a policy's action (NumPy) into what the env expects.

    ``Discrete`` actions become plain ``int`` (the matrix games' fast path),
    ``Box`` actions are clipped to the bounds, the multi-spaces become int arrays.
    """
    if isinstance(space, spaces.Discrete):
        return int
    if isinstance(space, spaces.Box):
        low, high = space.low, space.high
        return lambda a: np.clip(np.asarray(a, dtype=space.dtype).reshape(space.shape), low, high)
    return lambda a: np.asarray(a, dtype=np.int64).reshape(space.shape)


class SharedPolicyParallelEnv(ParallelEnv):
    """Encode observations for a shared policy and keep dead agents in the game.

    Args:
        env: The simultaneous game.
        encoder: Observation layout; by default one with the agent indicator
            on, built from ``env``'s observation spaces.

    Every possible agent is present from ``reset`` until the whole game is
    over (every agent terminated or truncated); then ``agents`` is empty.
    An agent that stops earlier is reported terminated/truncated at that step
    and afterwards receives zero observations and zero reward, with its
    actions ignored.
    """

    def __init__(self, env: ParallelEnv, encoder: SharedObservationEncoder | None = None) -> None:
        self.env = env
        self.possible_agents = list(env.possible_agents)
        self.agents: list[str] = []
        if encoder is None:
            encoder = SharedObservationEncoder(
                self.possible_agents,
                {a: env.observation_space(a) for a in self.possible_agents},
                agent_indicator=True,
            )
        self.encoder = encoder
        self._action_space = shared_action_space(env)
        self._to_env_action = env_action_converter(self._action_space)
        self.metadata = dict(getattr(env, "metadata", {}))
        self.render_mode = getattr(env, "render_mode", None)

    def observation_space(self, agent: str) -> spaces.Space:
        return self.encoder.space

    def action_space(self, agent: str) -> spaces.Space:
        return self._action_space

    def reset(self, seed: int | None = None, options: dict | None = None):
        obs, infos = self.env.reset(seed=seed, options=options)
        self.agents = list(self.possible_agents)
        encoded = self.encoder.encode(obs)
        observations = {a: encoded[i] for i, a in enumerate(self.possible_agents)}
        return observations, {a: dict(infos.get(a, {})) for a in self.possible_agents}

    def step(self, actions: dict[str, Any]):
        live = list(self.env.agents)
        convert = self._to_env_action
        obs, rewards, terms, truncs, infos = self.env.step({a: convert(actions[a]) for a in live})
        encoded = self.encoder.encode(obs)
        ending = {a for a in live if terms.get(a, False) or truncs.get(a, False)}
        game_over = not self.env.agents or len(ending) == len(live)

        out_obs: dict[str, np.ndarray] = {}
        out_rewards: dict[str, float] = {}
        out_terms: dict[str, bool] = {}
        out_truncs: dict[str, bool] = {}
        out_infos: dict[str, dict] = {}
        for i, agent in enumerate(self.possible_agents):
            out_obs[agent] = encoded[i]
            out_rewards[agent] = float(rewards.get(agent, 0.0))
            info = infos.get(agent, {})
            if agent in live and (agent in ending or game_over):
                terminated = bool(terms.get(agent, False))
                truncated = not terminated  # a live agent stopped by the game's end without a flag counts as cut off
                info = {**info, "terminal_observation": encoded[i], "TimeLimit.truncated": truncated}
            elif agent not in live and game_over:
                # A dead agent's zero-observation stream ends with the game, with nothing to bootstrap.
                terminated, truncated = True, False
                info = {**info, "terminal_observation": encoded[i], "TimeLimit.truncated": False}
            else:
                terminated = truncated = False
            out_terms[agent] = terminated
            out_truncs[agent] = truncated
            out_infos[agent] = info
        self.agents = [] if game_over else list(self.possible_agents)
        return out_obs, out_rewards, out_terms, out_truncs, out_infos

    def state(self) -> np.ndarray:
        return self.env.state()

    def render(self) -> Any:
        return self.env.render()

    def close(self) -> None:
        self.env.close()
