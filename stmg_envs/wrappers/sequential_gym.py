"""A single-agent Gymnasium view of an STMG: one decision per ``step``."""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np

from stmg_envs.wrappers.stmg import STMGEnv, skip_dead_steps

__all__ = ["SequentialGymEnv"]


class SequentialGymEnv(gymnasium.Env):
    """Presents an STMG one decision at a time, as a ``gymnasium.Env``.

    Each ``step`` is the decision of the agent whose turn it is; the next
    observation is that of the agent who acts next (its subgame state: own
    observation, the actions above it this time step, its rank). A single
    policy trained on this view is a parameter-shared policy that knows its
    rank, which is how ``gymnasium.make("stmg/<Task>-v0")`` lets any
    single-agent library (SB3, CleanRL, ...) train on the sequential game.

    ## Spaces
    Every agent must have the same observation and action space in the STMG
    (use ``flatten=True`` or SuperSuit's padding wrappers otherwise): the
    observation space is the per-agent STMG space, the action space the
    per-agent action space.

    ## Rewards
    The team reward: the mean of the live agents' rewards, credited on the
    decision that completes a time step, 0 on the others.
    ``info["agent_rewards"]`` holds each agent's own reward on that decision.

    ## Episode end
    When no agent is left. ``terminated`` if every agent terminated,
    ``truncated`` otherwise. Dead steps of agents that leave early are taken
    for you.

    ## Info
    ``"agent"``: whose turn it is now (the owner of the returned observation);
    ``"rank"``: its rank; ``"time_step"``: time steps completed;
    ``"agent_rewards"``: each agent's reward (empty dict on decisions that did
    not complete a time step).

    ## Version history
    * v0: first version.

    Examples:
        >>> import gymnasium, stmg_envs
        >>> env = gymnasium.make("stmg/Penalty-v0", k=-25)
        >>> obs, info = env.reset(seed=0)
        >>> info["agent"], int(obs["rank"])
        ('agent_0', 0)
        >>> obs, reward, terminated, truncated, info = env.step(0)
        >>> info["agent"], reward
        ('agent_1', 0.0)
        >>> obs, reward, terminated, truncated, info = env.step(2)
        >>> reward, info["agent_rewards"]
        (10.0, {'agent_0': 10.0, 'agent_1': 10.0})
    """

    def __init__(self, env: STMGEnv):
        if not isinstance(env, STMGEnv):
            raise TypeError(f"SequentialGymEnv expected an STMG from stmg_envs.stmg_v0(...), got {type(env).__name__}.")
        self.env = env
        agents = env.possible_agents
        first = agents[0]
        for agent in agents[1:]:
            for kind, space_of in (("observation", env.observation_space), ("action", env.action_space)):
                if space_of(agent) != space_of(first):
                    raise ValueError(
                        f"SequentialGymEnv needs one {kind} space shared by all agents, but {first!r} has "
                        f"{space_of(first)} and {agent!r} has {space_of(agent)}. Pad the spaces first "
                        "(e.g. supersuit.pad_observations_v0 / pad_action_space_v0 on the parallel env), or use the "
                        "AEC form (pettingzoo.make('aec', ...)) with one policy per agent."
                    )
        self.observation_space = env.observation_space(first)
        self.action_space = env.action_space(first)
        self.metadata = {**env.metadata, "render_modes": list(env.metadata.get("render_modes", []))}
        self.render_mode = env.render_mode

    def _info(self, agent_rewards: dict[Any, float]) -> dict[str, Any]:
        agent = self.env.agent_selection
        return {
            "agent": agent,
            "rank": self.env.infos[agent]["rank"],
            "time_step": self.env.num_time_steps,
            "agent_rewards": agent_rewards,
        }

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.env.reset(seed=seed, options=options)
        skip_dead_steps(self.env)
        if not self.env.agents:
            raise RuntimeError(f"{self.env}: the parallel env started an episode with no agents.")
        return self.env.observe(self.env.agent_selection), self._info({})

    def step(self, action: Any):
        env = self.env
        acting = env.agent_selection
        before = env.num_time_steps
        env.step(action)
        agent_rewards: dict[Any, float] = {}
        reward = 0.0
        if env.num_time_steps != before:
            agent_rewards = {a: float(r) for a, r in env.rewards.items()}
            reward = float(np.mean(list(agent_rewards.values()))) if agent_rewards else 0.0
            final_terms = dict(env.terminations)
            skip_dead_steps(self.env)
            if not env.agents:
                terminated = all(final_terms.values())
                obs = env.observe(acting)
                info = {"agent": acting, "rank": -1, "time_step": env.num_time_steps, "agent_rewards": agent_rewards}
                return obs, reward, terminated, not terminated, info
        return env.observe(env.agent_selection), reward, False, False, self._info(agent_rewards)

    def render(self) -> Any:
        return self.env.render()

    def close(self) -> None:
        self.env.close()
