"""Training behaviour of IPPO and MAPPO: reproducibility, learning progress, step counting, callbacks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from stmg_agents.baselines import IPPO, MAPPO
from stmg_envs.matrix import penalty_payoff

pytestmark = pytest.mark.agents

ALGORITHMS = [IPPO, MAPPO]


def _parameters(agent) -> list[np.ndarray]:
    module = agent.model.policy if isinstance(agent, IPPO) else torch.nn.ModuleList([agent.actor, agent.critic])
    return [p.detach().numpy().copy() for p in module.parameters()]


def _expected_penalty_reward(agent, k: float) -> float:
    """Expected per-step payoff of the joint policy in Penalty(k) (both agents get the same)."""
    readout = agent.action_readout()
    return float(readout["agent_0"].probabilities @ penalty_payoff(k) @ readout["agent_1"].probabilities)


@pytest.mark.parametrize("cls", ALGORITHMS)
def test_same_seed_same_run_even_when_interleaved(cls):
    """Two agents with one seed must train identically, whatever the process does with the global RNGs between."""
    first = cls("stmg/Penalty-v0", seed=3, env_kwargs={"k": -50})
    torch.rand(7), np.random.rand(7)  # disturb the global streams
    second = cls("stmg/Penalty-v0", seed=3, env_kwargs={"k": -50})
    first.learn(200)
    torch.rand(7), np.random.rand(7)
    second.learn(200)
    for a, b in zip(_parameters(first), _parameters(second)):
        np.testing.assert_array_equal(a, b)
    obs = {"agent_0": np.ones(1, np.float32), "agent_1": np.ones(1, np.float32)}
    assert [first.predict(obs, deterministic=False) for _ in range(5)] == [
        second.predict(obs, deterministic=False) for _ in range(5)
    ]


@pytest.mark.parametrize("cls", ALGORITHMS)
def test_different_seeds_differ(cls):
    """The seed must reach the networks: two seeds give different initial parameters."""
    a, b = cls("stmg/Penalty-v0", seed=0), cls("stmg/Penalty-v0", seed=1)
    assert any(not np.array_equal(x, y) for x, y in zip(_parameters(a), _parameters(b)))


@pytest.mark.parametrize("cls", ALGORITHMS)
def test_short_learn_on_penalty_k0_improves_the_return(cls):
    """2,000 joint steps on Penalty(k=0) must raise the policy's expected payoff well above uniform play (2.22)."""
    agent = cls("stmg/Penalty-v0", seed=0, env_kwargs={"k": 0})
    before = _expected_penalty_reward(agent, 0)
    assert before == pytest.approx(20 / 9, abs=0.1)
    agent.learn(2_000)
    assert _expected_penalty_reward(agent, 0) > before + 0.5


@pytest.mark.parametrize("cls", ALGORITHMS)
def test_timesteps_count_joint_steps_and_callbacks_follow_sb3(cls):
    """num_timesteps counts joint steps in whole rollouts; an SB3 BaseCallback sees the agent as its model, its
    events in SB3's order (on_step after every joint step of all copies), and False from on_step stops there."""
    from stable_baselines3.common.callbacks import BaseCallback

    class Events(BaseCallback):
        def __init__(self, stop_at=None):
            super().__init__()
            self.events, self.stop_at = [], stop_at

        def _on_training_start(self):
            self.events.append(("start", self.model.num_timesteps))

        def _on_rollout_start(self):
            self.events.append(("rollout", self.model.num_timesteps))

        def _on_step(self):
            self.events.append(("step", self.model.num_timesteps))
            return self.stop_at is None or self.model.num_timesteps < self.stop_at

        def _on_rollout_end(self):
            self.events.append(("update", self.model.num_timesteps))

        def _on_training_end(self):
            self.events.append(("end", self.model.num_timesteps))

    agent = cls("stmg/Penalty-v0", seed=0, n_envs=2, n_steps=5)  # 10 joint steps per update
    events = Events()
    agent.learn(25, callback=events)
    assert events.model is agent and agent.num_timesteps == 30
    assert events.events[:2] == [("start", 0), ("rollout", 0)] and events.events[-1] == ("end", 30)
    assert [n for kind, n in events.events if kind == "step"] == list(range(2, 31, 2))
    assert [n for kind, n in events.events if kind == "update"] == [10, 20, 30]
    stopper = Events(stop_at=36)
    agent.learn(20, reset_num_timesteps=False, callback=[stopper])
    assert agent.num_timesteps == 36 and [n for kind, n in stopper.events if kind == "update"] == []
    calls = []
    agent.learn(10, callback=lambda local_vars, global_vars: calls.append(1) or True)  # SB3's callable form
    assert len(calls) == 5


@pytest.mark.parametrize("cls", ALGORITHMS)
def test_action_readout_matches_predict(cls):
    """The read-out's greedy action is what deterministic predict plays; probabilities sum to one."""
    agent = cls("stmg/Mixing-v0", seed=2).learn(300)
    readout = agent.action_readout()
    actions = agent.predict({a: np.ones(1, np.float32) for a in agent.possible_agents})
    for name, entry in readout.items():
        assert entry.greedy_action == actions[name] == int(np.argmax(entry.probabilities))
        assert entry.probabilities.shape == (3,) and entry.probabilities.sum() == pytest.approx(1.0)
        assert not entry.probabilities.flags.writeable


@pytest.mark.parametrize("cls", ALGORITHMS)
def test_box_actions_and_agent_death_train_in_the_rewarded_direction(cls, dying_agent_env):
    """Continuous actions, unequal observation spaces and an early death go through full updates that move the
    policy the right way: paid the sum of its action, each agent's greedy action rises (agent_1 dies after 2 steps)."""
    agent = cls(
        lambda: dying_agent_env(length=5, death_step=2, box_actions=True, reward_actions=True),
        seed=0,
        n_envs=2,
        n_steps=5,
        learning_rate=3e-3,
    )
    obs = {"agent_0": np.zeros(1, np.float32), "agent_1": np.zeros(3, np.float32)}
    before = agent.predict(obs)
    agent.learn(600)
    after = agent.predict(obs)
    for name in obs:
        assert after[name].shape == (2,) and np.all(np.abs(after[name]) <= 1.0)
        assert after[name].sum() > before[name].sum() + 0.2, (name, before[name], after[name])


def test_mappo_env_copies_get_seed_plus_index(dying_agent_env):
    """MAPPO seeds copy i with seed + i at the first collection and lets later resets continue the streams."""
    agent = MAPPO(dying_agent_env, seed=9, n_envs=3, n_steps=4).learn(24)
    envs = agent.rollout.venv.backend.envs  # the generic backend's copies
    assert [env.seeds[0] for env in envs] == [9, 10, 11]
    assert all(len(env.seeds) > 1 and set(env.seeds[1:]) == {None} for env in envs)


def _bonus_per_update(agent, monkeypatch) -> list[float]:
    """The entropy bonus each update of ``agent`` trains with (MAPPO: its minibatch steps, one per update here;
    IPPO: what SB3's PPO.train reads, ``self.ent_coef``, when the schedule has set it)."""
    seen: list[float] = []
    if isinstance(agent, MAPPO):
        step = agent._minibatch_step
        monkeypatch.setattr(agent, "_minibatch_step", lambda *a, **k: seen.append(k["ent_coef"]) or step(*a, **k))
    else:
        from stable_baselines3 import PPO

        monkeypatch.setattr(PPO, "train", lambda self: seen.append(self.ent_coef))
    return seen


@pytest.mark.parametrize("cls", ALGORITHMS)
def test_an_entropy_schedule_is_read_at_every_update_and_a_constant_one_changes_nothing(cls, monkeypatch, tmp_path):
    """ent_coef=(start, end) gives each update the bonus at its progress remaining (SB3's convention, as STEP and
    seq-ppo read it), survives save/load, and a schedule that stays at 0.05 trains exactly as ent_coef=0.05."""
    agent = cls("stmg/Penalty-v0", seed=0, n_epochs=1, ent_coef=[0.6, 0.0])
    assert agent.config.ent_coef == (0.6, 0.0)
    seen = _bonus_per_update(agent, monkeypatch)
    agent.learn(300)  # three updates of 4 copies x 25 steps, after 1/3, 2/3 and all of training
    assert seen == pytest.approx([0.4, 0.2, 0.0])
    monkeypatch.undo()
    agent.save(tmp_path / "scheduled")
    assert cls.load(tmp_path / "scheduled").config.ent_coef == (0.6, 0.0)
    constant = cls("stmg/Penalty-v0", seed=0, env_kwargs={"k": -50}, ent_coef=(0.05, 0.05)).learn(200)
    plain = cls("stmg/Penalty-v0", seed=0, env_kwargs={"k": -50}, ent_coef=0.05).learn(200)
    for a, b in zip(_parameters(constant), _parameters(plain)):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match=r"expected `ent_coef` to be a finite number >= 0, or \[start, end\]"):
        cls("stmg/Penalty-v0", seed=0, ent_coef=[0.6])
