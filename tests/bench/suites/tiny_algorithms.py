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


class JointLeaderFirst:
    """Simultaneous, centrally executed and order-aware: the first agent of the given order plays `first`, each later
    one the (n-1)-th... action mirrored: a correlated joint distribution half on (first, 2 - first), half on the swap,
    which no product of marginals gives. Records the order it was given."""

    form = "simultaneous"
    name = "joint-leader-first"
    execution = "centralized"
    uses_order = True

    def __init__(self, make_env, seed, order=None, first=0):
        self.agents = list(make_env().possible_agents)
        self.order = order
        self.first = first
        self.num_timesteps = 0

    def learn(self, total_timesteps, callback=None):
        self.num_timesteps = total_timesteps
        if callback is not None:
            callback(total_timesteps)
        return self

    def act(self, agent, observation):
        raise RuntimeError("a centrally executed policy: use act_joint")

    def act_joint(self, observations):
        ranked = self.agents if self.order in (None, "random") else list(self.order)
        return {a: (self.first if i == 0 else 2 - self.first) for i, a in enumerate(ranked)}

    def joint_probabilities(self, observations):
        joint = np.zeros((3,) * len(self.agents))
        joint[(self.first, 2 - self.first)] = 0.5
        joint[(2 - self.first, self.first)] = 0.5
        return joint


class BadProbabilities:
    """Simultaneous: plays 0, but its action_probabilities have `length` entries (the game has 3 actions), or it plays
    `action` out of range."""

    form = "simultaneous"
    name = "bad-probabilities"

    def __init__(self, make_env, seed, length=2, action=0):
        self.length = length
        self.action = action

    def learn(self, total_timesteps, callback=None):
        return self

    def act(self, agent, observation):
        return self.action

    def action_probabilities(self, agent, observation):
        return np.full(self.length, 1.0 / self.length)
