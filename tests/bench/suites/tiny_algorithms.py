"""Tiny algorithms of the harness tests, written against the contract only (no stmg_bench import)."""

from __future__ import annotations

import numpy as np


class CopyLeader:
    """Sequential: the agent ranked first plays `first`; every other agent copies its superiors' (one-hot) action."""

    form = "sequential"
    name = "copy-leader"

    def __init__(self, make_env, seed, first=2):
        self.first = first
        self.num_timesteps = 0

    def learn(self, total_timesteps, callback=None):
        for n in range(100, total_timesteps + 1, 100):
            self.num_timesteps = n
            if callback is not None and callback(n) is False:
                break
        return self

    def act(self, agent, observation):
        if observation["rank"] == 0:
            return self.first
        return int(np.argmax(np.asarray(observation["prior_actions"]).reshape(-1, 3).sum(axis=0)))

    def action_probabilities(self, agent, observation):
        return np.eye(3)[self.act(agent, observation)]


class Fixed:
    """Simultaneous: every agent plays `action`; no probabilities (greedy outcome only)."""

    form = "simultaneous"
    name = "fixed"

    def __init__(self, make_env, seed, action=0, fail_seed=None):
        self.action = action
        self.seed = seed
        self.fail_seed = fail_seed

    def learn(self, total_timesteps, callback=None):
        if self.seed == self.fail_seed:
            raise RuntimeError(f"planted failure for seed {self.seed}")
        return self

    def act(self, agent, observation):
        return self.action


class ByIdentity:
    """Sequential: each agent plays `plays[i]`, where i is read from the agent indicator at the end of its own
    observation (not from the `agent` argument), so it needs the matrix suite's --agent-indicator."""

    form = "sequential"
    name = "by-identity"

    def __init__(self, make_env, seed, plays=(0, 0, 0)):
        self.plays = tuple(plays)
        self.n = len(self.plays)
        self.num_timesteps = 0

    def learn(self, total_timesteps, callback=None):
        self.num_timesteps = total_timesteps
        return self

    def act(self, agent, observation):
        own = np.asarray(observation["observation"]).reshape(-1)
        return self.plays[int(np.argmax(own[-self.n :]))]
