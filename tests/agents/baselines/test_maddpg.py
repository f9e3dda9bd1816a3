"""MADDPG (stmg_agents.baselines.maddpg): its update by hand, the optima it reaches, its cadence, seeding and saves."""

from __future__ import annotations

from typing import Any

import numpy as np
import pettingzoo
import pytest
import torch
from gymnasium import spaces
from pettingzoo import ParallelEnv

import stmg_envs  # noqa: F401  (registers the tasks)
from stmg_agents.baselines.maddpg import MADDPG, MADDPGConfig, _Batch, soft_update
from stmg_bench.contract import accepted_hyperparameters, check_algorithm
from stmg_bench.suites.matrix import joint_policy

TINY = {"hidden_sizes": (16,), "batch_size": 16, "learning_starts": 16}


def penalty(k: float = 0.0):
    return lambda: pettingzoo.make("parallel", "stmg/Penalty-v0", k=k)


class QuadraticGame(ParallelEnv):
    """Two agents, Box(-1, 1) actions, one-step episodes; common reward ``-(a0 - 0.5)^2 - (a1 + 0.3)^2``.

    The optimum is the joint action (0.5, -0.3). Each episode ends by termination (no bootstrap).
    """

    metadata = {"name": "quadratic_v0", "render_modes": []}
    OPTIMUM = (0.5, -0.3)

    def __init__(self) -> None:
        self.possible_agents = ["agent_0", "agent_1"]
        self.agents: list[str] = []
        self.render_mode = None
        self._obs_space = spaces.Box(0.0, 1.0, (1,), np.float32)
        self._act_space = spaces.Box(-1.0, 1.0, (1,), np.float32)

    def observation_space(self, agent: str) -> spaces.Space:
        return self._obs_space

    def action_space(self, agent: str) -> spaces.Space:
        return self._act_space

    def reset(self, seed: int | None = None, options: dict | None = None):
        self.agents = list(self.possible_agents)
        return {a: np.ones(1, np.float32) for a in self.agents}, {a: {} for a in self.agents}

    def step(self, actions: dict[str, Any]):
        a0, a1 = float(actions["agent_0"][0]), float(actions["agent_1"][0])
        reward = -((a0 - self.OPTIMUM[0]) ** 2) - (a1 - self.OPTIMUM[1]) ** 2
        obs = {a: np.ones(1, np.float32) for a in self.agents}
        out = (obs, dict.fromkeys(self.agents, reward), dict.fromkeys(self.agents, True))
        self.agents = []
        return (*out, dict.fromkeys(obs, False), {a: {} for a in obs})


def test_reaches_the_optimum_of_a_cooperative_continuous_game():
    """On the one-step quadratic game the greedy joint action ends within 0.1 of its optimum (0.5, -0.3)."""
    for seed in range(2):
        model = MADDPG(
            QuadraticGame, seed=seed, n_envs=4, learning_starts=64, batch_size=64, hidden_sizes=(32,),
            learning_rate=3e-3, exploration_noise=0.2,
        ).learn(2_000)  # fmt: skip
        obs = np.ones(1, np.float32)
        greedy = (float(model.act("agent_0", obs)[0]), float(model.act("agent_1", obs)[0]))
        np.testing.assert_allclose(greedy, QuadraticGame.OPTIMUM, atol=0.1, err_msg=f"seed {seed}")


def test_reaches_the_optimum_of_penalty_k0_in_most_seeds():
    """Penalty k=0: the greedy joint action is one of the optima (a1, a3) or (a3, a1), payoff 10, in 2 of 3 seeds."""
    hits = 0
    for seed in range(3):
        model = MADDPG(
            penalty(0.0), seed=seed, n_envs=4, gamma=0.0, learning_starts=200, batch_size=64, hidden_sizes=(32, 32),
            learning_rate=3e-3,
        ).learn(1_200)  # fmt: skip
        greedy, _ = joint_policy(model, penalty(0.0), seed=0)
        hits += greedy in ((0, 2), (2, 0))
    assert hits >= 2


def _tiny_batch(model: MADDPG) -> _Batch:
    """Two transitions of Penalty (one-hot actions), the second one terminated for agent_1 only."""
    eye = torch.eye(3)
    return _Batch(
        obs=torch.ones(2, 2),
        actions=torch.stack([torch.cat([eye[0], eye[2]]), torch.cat([eye[1], eye[1]])]),
        rewards=torch.tensor([[10.0, 10.0], [2.0, 2.0]]),
        next_obs=torch.ones(2, 2),
        next_present=torch.ones(2, 2),
        terminated=torch.tensor([[0.0, 0.0], [0.0, 1.0]]),
        active=torch.ones(2, 2),
    )


def test_td_target_is_reward_plus_discounted_target_q_of_the_target_actors_greedy_actions():
    """y_i = r_i + gamma (1 - terminated_i) Q'_i(o', one-hot argmax of mu'_j(o'_j)), computed by hand."""
    model = MADDPG(penalty(0.0), seed=0, gamma=0.9, **TINY)
    batch = _tiny_batch(model)
    with torch.no_grad():
        for critic in model.target_critics:  # make Q' differ from the online critics, so that using them would show
            critic.head.bias.add_(3.0)
        ones = torch.ones(1, 1)
        greedy = [int(model.target_actors[i](ones).argmax()) for i in range(2)]
        next_actions = torch.cat([torch.eye(3)[greedy[0]], torch.eye(3)[greedy[1]]])[None]
        q_next = [float(model.target_critics[i](torch.cat([torch.ones(1, 2), next_actions], dim=-1))) for i in range(2)]
    expected = np.array([[10 + 0.9 * q_next[0], 10 + 0.9 * q_next[1]], [2 + 0.9 * q_next[0], 2.0]])
    np.testing.assert_allclose(model.td_targets(batch).numpy(), expected, rtol=1e-5)


def test_one_update_moves_each_critic_toward_its_target_and_the_targets_by_tau():
    """After one update the critics' loss on the batch fell, and every target parameter moved tau of the way."""
    model = MADDPG(penalty(0.0), seed=0, gamma=0.0, tau=0.1, **TINY)
    batch = _tiny_batch(model)
    critic_in = torch.cat([batch.obs, batch.actions], dim=-1)

    def loss() -> float:
        with torch.no_grad():
            q = torch.cat([critic(critic_in) for critic in model.critics], dim=-1)
            return float((q - batch.rewards).square().mean())

    before_loss = loss()
    old_targets = [p.detach().clone() for p in model.target_critics.parameters()]
    model._update(batch)
    assert loss() < before_loss
    for old, target, online in zip(old_targets, model.target_critics.parameters(), model.critics.parameters()):
        torch.testing.assert_close(target, old + 0.1 * (online.detach() - old))


def test_soft_update_is_polyak_averaging():
    """soft_update sets every parameter to tau * source + (1 - tau) * target."""
    target, source = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    expected = [0.3 * s.detach() + 0.7 * t.detach() for t, s in zip(target.parameters(), source.parameters())]
    soft_update(target, source, 0.3)
    for p, e in zip(target.parameters(), expected):
        torch.testing.assert_close(p.detach(), e)


def test_policy_update_uses_a_hard_one_hot_sample_and_probabilities_are_the_softmax():
    """The straight-through sample is one-hot forward with a gradient; action_probabilities is softmax(logits)."""
    from stmg_agents.distributions import gumbel_softmax

    logits = torch.tensor([[0.5, -1.0, 2.0]], requires_grad=True)
    sample = gumbel_softmax(logits, 1.0, hard=True)
    assert sorted(sample.detach().flatten().tolist()) == pytest.approx([0.0, 0.0, 1.0])
    (sample * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0
    model = MADDPG(penalty(0.0), seed=0, **TINY)
    with torch.no_grad():
        expected = torch.softmax(model.actors[1](torch.ones(1, 1)), dim=-1)[0].double().numpy()
    np.testing.assert_allclose(model.action_probabilities("agent_1", [1.0]), expected)
    assert model.act("agent_1", [1.0]) == int(np.argmax(expected))


def test_callback_runs_after_each_block_of_updates_and_counts_joint_steps():
    """Blocks come every train_freq rounds once learning_starts steps are stored; each copy's step counts once."""
    model = MADDPG(penalty(0.0), seed=0, n_envs=2, train_freq=3, gradient_steps=2, **TINY)
    seen: list[int] = []
    model.learn(40, callback=seen.append)
    # rounds of 2 joint steps; the buffer holds 16 after round 8; blocks at rounds 9, 12, 15, 18; 40 at the end
    assert seen == [18, 24, 30, 36, 40] and model.num_timesteps == 40
    stopped: list[int] = []
    model.learn(1_000, callback=lambda n: stopped.append(n) or False)
    assert stopped == [42] and model.num_timesteps == 42


def test_truncation_bootstraps_and_termination_does_not(dying_agent_env):
    """In DyingAgentEnv agent_1 terminates at step 2 and the game truncates at step 4: the flags stored say so."""
    model = MADDPG(lambda: dying_agent_env(length=4, death_step=2), seed=0, n_envs=1, learning_starts=100)
    model.learn(4)
    buffer = model._buffer
    np.testing.assert_array_equal(buffer.terminated[:4], [[0, 0], [0, 1], [0, 1], [0, 1]])
    np.testing.assert_array_equal(buffer.active[:4], [[1, 1], [1, 1], [1, 0], [1, 0]])
    np.testing.assert_array_equal(buffer.next_present[:4], [[1, 1], [1, 1], [1, 0], [1, 0]])
    # agent_0 is truncated at step 4 and bootstraps from the final observation t = 0.4
    np.testing.assert_allclose(buffer.next_obs[3, :1], [0.4])


def test_agents_with_unequal_spaces_get_their_own_actor_sizes_and_box_actions_stay_in_bounds(dying_agent_env):
    """Actors are sized to each agent's spaces; Box actions played are clipped to the bounds."""
    env = dying_agent_env(box_actions=True, reward_actions=True, death_step=None)
    model = MADDPG(lambda: dying_agent_env(box_actions=True, reward_actions=True, death_step=None), seed=0, **TINY)
    assert model.actors[0].body.linears[0].in_features == 1 and model.actors[1].body.linears[0].in_features == 3
    assert model.critics[0].body.linears[0].in_features == 1 + 3 + 2 + 2
    model.learn(64)
    action = model.act("agent_1", np.zeros(3, np.float32))
    assert env.action_space("agent_1").contains(action)
    with pytest.raises(TypeError, match="needs Discrete actions"):
        model.action_probabilities("agent_0", np.zeros(1, np.float32))


def test_same_seed_same_run_and_another_seed_another_run():
    """Two runs with one seed end with identical actors; another seed does not."""

    def run(seed: int) -> list[torch.Tensor]:
        model = MADDPG(penalty(-25.0), seed=seed, n_envs=2, **TINY).learn(80)
        return [p.detach().clone() for p in model.actors.parameters()]

    first, second, other = run(3), run(3), run(4)
    for a, b in zip(first, second):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert any(not torch.equal(a, b) for a, b in zip(first, other))


def test_save_load_round_trip_and_clear_errors_for_foreign_or_damaged_files(tmp_path):
    """A save loads back with the same policy and counters; a foreign or truncated file raises a clear ValueError."""
    model = MADDPG(penalty(0.0), seed=0, n_envs=2, **TINY).learn(60)
    model.save(tmp_path / "m.zip")
    loaded = MADDPG.load(tmp_path / "m.zip", penalty(0.0))
    assert loaded.num_timesteps == 60 and loaded.config == model.config
    for agent in model.possible_agents:
        np.testing.assert_array_equal(
            loaded.action_probabilities(agent, [1.0]), model.action_probabilities(agent, [1.0])
        )
    (tmp_path / "other.json").write_text('{"format": "stmg_agents.BiLevelQLearning/1"}')
    with pytest.raises(ValueError, match="expected a saved MADDPG model, got an unreadable or damaged file"):
        MADDPG.load(tmp_path / "other.json", penalty(0.0))
    data = (tmp_path / "m.zip").read_bytes()
    (tmp_path / "cut.zip").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="unreadable or damaged"):
        MADDPG.load(tmp_path / "cut.zip", penalty(0.0))
    from stmg_agents.baselines import MAPPO

    MAPPO("stmg/Penalty-v0", seed=0, env_kwargs={"k": 0}).save(tmp_path / "mappo.zip")
    with pytest.raises(ValueError, match="got a save of 'MAPPO'"):
        MADDPG.load(tmp_path / "mappo.zip", penalty(0.0))


def test_hyperparameters_are_checked_and_the_harness_sees_their_names():
    """Unknown names list the known ones; bad values say what was expected; the suite's PPO-only settings are not taken."""
    with pytest.raises(TypeError, match=r"unknown hyper-parameter 'ent_coef' for MADDPG; expected one of \["):
        MADDPG(penalty(), seed=0, ent_coef=0.1)
    with pytest.raises(ValueError, match=r"expected `tau` in \(0.0, 1.0\], got 0"):
        MADDPGConfig(tau=0)
    names, var_kw = accepted_hyperparameters(MADDPG)
    assert not var_kw and "tau" in names and "n_envs" in names and "gamma" in names and "ent_coef" not in names
    check_algorithm(MADDPG, {"n_envs": 2, "buffer_size": 10})

    class Unbounded(QuadraticGame):
        def action_space(self, agent: str) -> spaces.Space:
            return spaces.Box(-np.inf, np.inf, (1,), np.float32)

    with pytest.raises(ValueError, match="needs a Box with finite bounds"):
        MADDPG(Unbounded, seed=0)
