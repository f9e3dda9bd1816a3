"""HAPPO (stmg_agents.baselines.happo): the sequential update checked by hand, its orders, optima it reaches, saves."""

from __future__ import annotations

import copy
import json

import numpy as np
import pettingzoo
import pytest
import torch
from gymnasium import spaces
from pettingzoo import ParallelEnv

import stmg_envs  # noqa: F401  (registers the tasks)
from stmg_agents.baselines.happo import HAPPO, AgentBatch, HAPPOConfig

AGENTS = ("agent_0", "agent_1")
TARGET = (0.5, -0.3)


class QuadraticGame(ParallelEnv):
    """A one-step cooperative continuous game: both agents get ``-(a0 - 0.5)**2 - (a1 + 0.3)**2``.

    Actions are ``Box(-3, 3, (1,))``: wide enough that clipping barely skews the optimum of a
    Gaussian policy of unit scale; the observation is a constant 1.
    """

    metadata = {"name": "quadratic_game_v0"}

    def __init__(self) -> None:
        self.possible_agents = list(AGENTS)
        self.agents: list[str] = []
        self._observation_space = spaces.Box(0.0, 1.0, (1,), np.float32)
        self._action_space = spaces.Box(-3.0, 3.0, (1,), np.float32)

    def observation_space(self, agent):
        return self._observation_space

    def action_space(self, agent):
        return self._action_space

    def _obs(self):
        return {a: np.ones(1, np.float32) for a in self.possible_agents}

    def reset(self, seed=None, options=None):
        self.agents = list(self.possible_agents)
        return self._obs(), {a: {} for a in self.agents}

    def step(self, actions):
        a0, a1 = float(actions["agent_0"][0]), float(actions["agent_1"][0])
        reward = -((a0 - TARGET[0]) ** 2) - (a1 - TARGET[1]) ** 2
        self.agents = []
        return (
            self._obs(),
            dict.fromkeys(AGENTS, reward),
            dict.fromkeys(AGENTS, True),
            dict.fromkeys(AGENTS, False),
            {a: {} for a in AGENTS},
        )


class MixedSpacesGame(QuadraticGame):
    """Two agents with nothing in common: agent_0 sees Box(2) and picks one of 3, agent_1 sees Box(1) and plays Box(2)."""

    def __init__(self) -> None:
        super().__init__()
        self._spaces = {
            "agent_0": (spaces.Box(0.0, 1.0, (2,), np.float32), spaces.Discrete(3)),
            "agent_1": (spaces.Box(0.0, 1.0, (1,), np.float32), spaces.Box(-1.0, 1.0, (2,), np.float32)),
        }
        self.seen: list[dict] = []

    def observation_space(self, agent):
        return self._spaces[agent][0]

    def action_space(self, agent):
        return self._spaces[agent][1]

    def _obs(self):
        return {a: np.full(self._spaces[a][0].shape, 0.5, np.float32) for a in self.possible_agents}

    def step(self, actions):
        self.seen.append(actions)
        reward = float(actions["agent_0"] == 2) + float(np.sum(actions["agent_1"]))
        self.agents = []
        return (
            self._obs(),
            dict.fromkeys(AGENTS, reward),
            dict.fromkeys(AGENTS, True),
            dict.fromkeys(AGENTS, False),
            {a: {} for a in AGENTS},
        )


def penalty():
    return pettingzoo.make("parallel", "stmg/Penalty-v0", k=0)


def gaussian_log_prob(actor, obs, actions):
    """log N(actions; mean, exp(log_std)), summed over the action's entries, from the actor's mean and log-std."""
    with torch.no_grad():
        mean = actor(obs).distribution.mean
    return torch.distributions.Normal(mean, actor.log_std.detach().exp()).log_prob(actions).sum(-1)


def fixed_batches(model, n=6, seed=0):
    """A fixed batch for every agent of the quadratic game: random actions and advantages, one inactive row each."""
    g = torch.Generator().manual_seed(seed)
    obs = torch.ones(n, 1)
    batches = {}
    for i, agent in enumerate(model.possible_agents):
        actions = torch.randn(n, 1, generator=g)
        active = torch.ones(n, dtype=torch.bool)
        active[i] = False  # agent_0 misses row 0, agent_1 row 1
        batches[agent] = AgentBatch(
            obs,
            actions,
            gaussian_log_prob(model.actors[i], obs, actions),
            torch.randn(n, generator=g),
            active,
        )
    return batches


def test_second_agents_factor_is_the_first_agents_ratio_and_weights_its_objective():
    """The factor of the second agent is the first one's new/old ratio, sample by sample (1 where it was not in
    the game); the second agent takes exactly the Adam step of -mean(factor * min(r A, clip(r) A)) - c H."""
    model = HAPPO(QuadraticGame, seed=0, n_epochs=1, n_minibatches=1, hidden_sizes=(8,), ent_coef=0.01)
    batches = fixed_batches(model)
    first_before, second_before = copy.deepcopy(model.actors[0]), copy.deepcopy(model.actors[1])

    update = model.update_actors(batches, ("agent_0", "agent_1"), ent_coef=0.01)

    assert update.order == ("agent_0", "agent_1")
    torch.testing.assert_close(update.factors["agent_0"], torch.ones(6))
    b0 = batches["agent_0"]
    ratio = torch.exp(
        gaussian_log_prob(model.actors[0], b0.obs, b0.actions) - gaussian_log_prob(first_before, b0.obs, b0.actions)
    )
    expected = torch.where(b0.active, ratio, torch.ones(6))
    assert not torch.allclose(expected, torch.ones(6))  # the first agent did move
    assert expected[0] == 1.0
    torch.testing.assert_close(update.factors["agent_1"], expected)

    def step_by_hand(factor):
        actor = copy.deepcopy(second_before)
        optimizer = torch.optim.Adam(actor.parameters(), lr=model.config.learning_rate, eps=model.config.adam_eps)
        b1 = batches["agent_1"]
        rows = b1.active
        dist = actor(b1.obs[rows])
        log_prob = dist.log_prob(b1.actions[rows])
        r = torch.exp(log_prob - b1.old_log_probs[rows])
        a = b1.advantages[rows]
        objective = factor[rows] * torch.min(r * a, torch.clamp(r, 0.8, 1.2) * a)
        loss = -objective.mean() - 0.01 * dist.entropy().mean()
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(actor.parameters(), model.config.max_grad_norm)
        optimizer.step()
        return torch.cat([p.detach().reshape(-1) for p in actor.parameters()])

    updated = torch.cat([p.detach().reshape(-1) for p in model.actors[1].parameters()])
    torch.testing.assert_close(updated, step_by_hand(expected))
    assert not torch.allclose(updated, step_by_hand(torch.ones(6)), atol=1e-7, rtol=0)


class ThreeAgentQuadraticGame(QuadraticGame):
    """The quadratic game's spaces for three agents (only the update is exercised, not the game)."""

    def __init__(self) -> None:
        super().__init__()
        self.possible_agents = ["agent_0", "agent_1", "agent_2"]


def test_the_third_agents_factor_is_the_product_of_the_first_two_ratios():
    """In the order (agent_2, agent_0, agent_1) the last agent's factor is agent_2's ratio times agent_0's."""
    model = HAPPO(ThreeAgentQuadraticGame, seed=1, n_epochs=2, n_minibatches=1, hidden_sizes=(8,))
    batches = fixed_batches(model)
    before = copy.deepcopy(model.actors)
    update = model.update_actors(batches, ("agent_2", "agent_0", "agent_1"), ent_coef=0.0)

    def ratio(i):
        b = batches[f"agent_{i}"]
        r = torch.exp(
            gaussian_log_prob(model.actors[i], b.obs, b.actions) - gaussian_log_prob(before[i], b.obs, b.actions)
        )
        return torch.where(b.active, r, torch.ones_like(r))

    torch.testing.assert_close(update.factors["agent_2"], torch.ones(6))
    torch.testing.assert_close(update.factors["agent_0"], ratio(2))
    torch.testing.assert_close(update.factors["agent_1"], ratio(2) * ratio(0))
    assert not torch.allclose(update.factors["agent_1"], ratio(2))


def test_a_given_order_is_the_update_order():
    """With order=(agent_1, agent_0) every update trains agent_1 first, with a factor of one."""
    seen = []
    model = HAPPO(penalty, seed=0, n_envs=2, order=("agent_1", "agent_0"), hidden_sizes=(8,))
    model.learn(100, callback=lambda n: seen.append(model.last_update))
    assert len(seen) == 2
    for update in seen:
        assert update.order == ("agent_1", "agent_0")
        torch.testing.assert_close(update.factors["agent_1"], torch.ones(50))
        assert not torch.allclose(update.factors["agent_0"], torch.ones(50))


@pytest.mark.parametrize("order", [None, "random"])
def test_a_random_order_is_a_permutation_drawn_from_the_seed(order):
    """Without a fixed order, update k uses the k-th permutation of numpy's default_rng(seed)."""
    for seed in (5, 6):
        model = HAPPO(penalty, seed=seed, order=order, n_envs=1, n_steps=5, n_epochs=1, hidden_sizes=(4,))
        orders = []
        for _ in range(8):
            model.learn(5)
            orders.append(model.last_update.order)
        rng = np.random.default_rng(seed)
        assert orders == [tuple(AGENTS[i] for i in rng.permutation(2)) for _ in range(8)]
        assert len(set(orders)) == 2


def test_bad_settings_are_refused_with_what_was_expected():
    """An unknown name lists the known ones; a bad order or value says what it expected."""
    with pytest.raises(TypeError, match=r"unknown hyper-parameter 'lr' for HAPPO; did you mean 'learning_rate'\?"):
        HAPPO(penalty, seed=0, lr=0.1)
    with pytest.raises(ValueError, match="expected `order` to be a permutation of the agents"):
        HAPPO(penalty, seed=0, order=("agent_0", "agent_7"))
    with pytest.raises(ValueError, match="expected `n_minibatches` <= n_envs \\* n_steps"):
        HAPPOConfig(n_envs=1, n_steps=2, n_minibatches=3)
    with pytest.raises(ValueError, match="expected `ent_coef`"):
        HAPPOConfig(ent_coef=-1.0)
    assert HAPPOConfig(ent_coef=[0.6, 0.05], hidden_sizes=[8]).ent_coef == (0.6, 0.05)


def test_each_agent_has_its_own_spaces():
    """Actors are sized to their own agent's spaces; a Discrete and a Box agent learn side by side."""
    model = HAPPO(MixedSpacesGame, seed=0, n_envs=2, n_steps=4, hidden_sizes=(8,), learning_rate=1e-2)
    assert model.actors[0].body.linears[0].in_features == 2
    assert model.actors[1].body.linears[0].in_features == 1
    model.learn(16)
    env = model.rollout.venv.backend.envs[0].env  # the generic backend's copy, behind HAPPO's padded-action layer
    assert all(isinstance(a["agent_0"], int) and np.shape(a["agent_1"]) == (2,) for a in env.seen)
    assert model.act("agent_0", np.full(2, 0.5)) in (0, 1, 2)
    action = model.act("agent_1", np.full(1, 0.5))
    assert action.shape == (2,) and np.all(np.abs(action) <= 1.0)
    assert model.action_probabilities("agent_0", np.full(2, 0.5)).shape == (3,)
    with pytest.raises(TypeError, match="Discrete"):
        model.action_probabilities("agent_1", np.full(1, 0.5))


def test_dead_agents_leave_the_update(dying_agent_env):
    """An agent that leaves the game early is masked out: training runs and its factor entries stay finite."""
    model = HAPPO(dying_agent_env, seed=0, n_envs=2, n_steps=6, hidden_sizes=(8,), critic_input="state")
    model.learn(24)
    assert all(torch.isfinite(f).all() for f in model.last_update.factors.values())


def test_same_seed_same_run_other_seed_other_run():
    """Two models with one seed end with equal weights; another seed does not."""

    def weights(seed):
        model = HAPPO(penalty, seed=seed, n_envs=2, hidden_sizes=(8,)).learn(100)
        return torch.cat([p.detach().reshape(-1) for a in model.actors for p in a.parameters()])

    first = weights(3)
    torch.testing.assert_close(first, weights(3), rtol=0, atol=0)
    assert not torch.equal(first, weights(4))


def test_save_and_load_keep_policy_counters_and_next_order(tmp_path):
    """A loaded model plays the same policy, counts the same steps and draws the same next update order."""
    model = HAPPO(penalty, seed=2, n_envs=2, hidden_sizes=(8,)).learn(100)
    model.save(tmp_path / "happo.zip")
    loaded = HAPPO.load(tmp_path / "happo.zip", penalty)
    assert loaded.num_timesteps == 100 and loaded.config == model.config
    for agent in AGENTS:
        np.testing.assert_array_equal(
            loaded.action_probabilities(agent, [1.0]), model.action_probabilities(agent, [1.0])
        )
    assert loaded._next_order() == model._next_order()


def test_foreign_and_damaged_files_say_so(tmp_path):
    """Another algorithm's archive, a JSON file and a truncated save each raise a ValueError that says what is wrong."""
    from stmg_agents.baselines import MAPPO

    MAPPO(penalty, seed=0, n_envs=1, n_steps=5, torch_num_threads=None).save(tmp_path / "mappo.zip")
    with pytest.raises(ValueError, match="expected a saved HAPPO agent, got a save of 'MAPPO'"):
        HAPPO.load(tmp_path / "mappo.zip", penalty)
    (tmp_path / "other.json").write_text(json.dumps({"format": "stmg_agents.BiLevelQLearning/1"}))
    with pytest.raises(ValueError, match="unreadable"):
        HAPPO.load(tmp_path / "other.json", penalty)
    HAPPO(penalty, seed=0, n_envs=1, n_steps=5).save(tmp_path / "happo.zip")
    data = (tmp_path / "happo.zip").read_bytes()
    (tmp_path / "happo.zip").write_bytes(data[: len(data) // 3])
    with pytest.raises(ValueError, match="unreadable|damaged"):
        HAPPO.load(tmp_path / "happo.zip", penalty)


def test_reaches_the_optimum_of_a_cooperative_continuous_game():
    """Two Box agents with a common quadratic reward: HAPPO's greedy joint action ends near (0.5, -0.3)."""
    model = HAPPO(
        QuadraticGame, seed=0, n_envs=16, n_steps=8, learning_rate=1e-2, hidden_sizes=(16,), gamma=0.0, ent_coef=0.0
    ).learn(3_000)
    joint = [float(model.act(agent, np.ones(1))[0]) for agent in AGENTS]
    np.testing.assert_allclose(joint, TARGET, atol=0.1)


def test_reaches_the_optimum_of_penalty_k0():
    """Penalty k=0 (``[[0, 0, 10], [0, 2, 0], [8, 0, 0]]``): the greedy joint action is the optimum (a1, a3),
    payoff 10, in at least 3 of 4 seeds (not the (a2, a2) that MAPPO finds at lower k)."""
    env = penalty()
    payoffs = np.asarray(env.payoffs)[0]
    found = 0
    for seed in range(4):
        model = HAPPO(penalty, seed=seed, hidden_sizes=(16,), gamma=0.0, learning_rate=5e-3).learn(1_000)
        found += payoffs[model.act("agent_0", [1.0]), model.act("agent_1", [1.0])] == 10
    assert found >= 3
