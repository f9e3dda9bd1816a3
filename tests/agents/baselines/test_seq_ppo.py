"""seq-ppo (stmg_agents.baselines.seq_ppo): STEP's sequential structure with a plain MLP policy and PPO's update."""

from __future__ import annotations

import numpy as np
import pytest
import torch as th

from stmg_agents.baselines.seq_ppo import SeqPPO, SequentialMLPPolicy
from stmg_agents.step.algorithm import STEP

pytestmark = pytest.mark.agents


def _obs(rank: int, leader_action: int | None = None) -> dict[str, th.Tensor]:
    prior = np.zeros(6, np.float32)
    mask = np.zeros(2, np.int8)
    if leader_action is not None:
        prior[leader_action] = 1.0
        mask[0] = 1
    return {
        "observation": th.ones(1, 1),
        "prior_actions": th.as_tensor(prior)[None],
        "prior_mask": th.as_tensor(mask)[None],
        "rank": th.tensor([rank]),
    }


def test_the_policy_is_a_plain_mlp_that_reads_rank_and_superiors_actions():
    """No hypernetwork; the logits change with the rank alone and with the leader's action alone."""
    model = SeqPPO("stmg/Penalty-v0", seed=0, env_kwargs={"k": 0})
    policy = model.policy
    assert isinstance(policy, SequentialMLPPolicy) and not policy.has_hypernetwork
    assert isinstance(policy.action_net, th.nn.Linear) and not hasattr(policy.action_net, "hypernet")
    with th.no_grad():
        p_rank0 = policy.action_probabilities(_obs(0))
        p_rank1 = policy.action_probabilities(_obs(1))
        p_after_a1 = policy.action_probabilities(_obs(1, leader_action=0))
        p_after_a2 = policy.action_probabilities(_obs(1, leader_action=1))
    assert not th.allclose(p_rank0, p_rank1)
    assert not th.allclose(p_after_a1, p_after_a2)
    with pytest.raises(TypeError, match="no hypernetwork"):
        policy.target_parameters(2)


def test_arguments_that_belong_to_step_are_refused():
    """beta (the hypernetwork regulariser), hyper_scale_by_width (its scaling), a hypernetwork policy, or batch_size
    with n_minibatches raise clearly."""
    with pytest.raises(TypeError, match="expected no beta, got beta=1.0"):
        SeqPPO("stmg/Penalty-v0", seed=0, beta=1.0)
    with pytest.raises(ValueError, match="no hypernetwork: expected no hyper_scale_by_width"):
        SeqPPO("stmg/Penalty-v0", seed=0, hyper_scale_by_width=True)
    from stmg_agents.step.policy import NLevelPolicy

    with pytest.raises(ValueError, match="SequentialMLPPolicy or a subclass"):
        SeqPPO("stmg/Penalty-v0", seed=0, policy=NLevelPolicy)
    with pytest.raises(TypeError, match="no per-rank rank_lr_ratio"):
        SeqPPO("stmg/Penalty-v0", seed=0, rank_lr_ratio=2.0)
    with pytest.raises(TypeError, match="no per-rank ent_stagger"):
        SeqPPO("stmg/Penalty-v0", seed=0, ent_stagger=0.5)
    with pytest.raises(ValueError, match="batch_size or n_minibatches, not both"):
        SeqPPO("stmg/Penalty-v0", seed=0, batch_size=10, n_minibatches=2)


def test_n_minibatches_split_all_decisions_of_a_rollout():
    """n_minibatches=4 of 2 copies x 10 steps x 2 agents = 40 decisions: minibatches of 10; hidden_sizes (the
    suites' shared name, as STEP's) are the widths of the actor's trunk and of the critic."""
    model = SeqPPO("stmg/Penalty-v0", seed=0, n_envs=2, n_steps=10, n_minibatches=4, hidden_sizes=[16])
    assert model.batch_size == 10 and model.beta == 0.0
    assert model.policy_kwargs == {"net_arch": {"pi": [16], "vf": [16]}}
    assert (SeqPPO.name, SeqPPO.form) == ("seq-ppo", "sequential")


def test_the_update_is_one_pass_over_every_rank():
    """train() updates on one group holding the decisions of every rank (STEP: one group per rank)."""
    model = SeqPPO("stmg/Penalty-v0", seed=0, n_envs=2, n_steps=10)
    model.learn(20)
    groups = list(model._update_groups(model.rollout_buffer))
    assert len(groups) == 1 and groups[0][0] is None
    ranks = groups[0][1].observations["rank"].reshape(-1)
    assert sorted(set(ranks.tolist())) == [0, 1] and len(ranks) == 40
    step = STEP("stmg/Penalty-v0", seed=0, n_envs=2, n_steps=10)
    step.learn(20)
    assert [rank for rank, _ in step._update_groups(step.rollout_buffer)] == [0, 1]


def test_each_agent_learns_from_its_own_reward():
    """In a game where each agent is paid for its own action 0 (1 or 0), both ranks learn to play it."""
    payoffs = np.zeros((2, 3, 3))
    payoffs[0, 0, :] = 1.0  # agent_0: paid for a1 = 0
    payoffs[1, :, 0] = 1.0  # agent_1: paid for a2 = 0
    model = SeqPPO("stmg/Matrix-v0", seed=0, env_kwargs={"payoffs": payoffs}, gamma=0.0, n_steps=25)
    with th.no_grad():
        before = [float(model.policy.action_probabilities(_obs(r, 1 if r else None))[0, 0]) for r in (0, 1)]
    model.learn(2_000)
    with th.no_grad():
        after = [float(model.policy.action_probabilities(_obs(r, 1 if r else None))[0, 0]) for r in (0, 1)]
    assert all(b == pytest.approx(1 / 3, abs=0.02) for b in before)
    assert all(a > 0.8 for a in after), after


def test_save_and_load_keep_the_class_and_the_policy(tmp_path):
    """SeqPPO.load gives a SeqPPO with a SequentialMLPPolicy and the same action probabilities."""
    model = SeqPPO("stmg/Penalty-v0", seed=1, n_envs=2, n_steps=10).learn(40)
    model.save(tmp_path / "seq.zip")
    loaded = SeqPPO.load(tmp_path / "seq.zip", env="stmg/Penalty-v0")
    assert type(loaded) is SeqPPO and isinstance(loaded.policy, SequentialMLPPolicy) and loaded.beta == 0.0
    with th.no_grad():
        th.testing.assert_close(
            loaded.policy.action_probabilities(_obs(1, 2)), model.policy.action_probabilities(_obs(1, 2))
        )


def test_leader_explore_decisions_are_contexts_for_the_followers_but_not_trained_on():
    """SeqPPO inherits STEP's rollouts: with leader_explore its update (every rank together) leaves the leader's
    replaced decisions out and keeps all of the follower's."""
    model = SeqPPO("stmg/Penalty-v0", seed=0, n_envs=4, n_steps=25, n_epochs=1, leader_explore=0.5)
    model.learn(100)
    buffer = model.rollout_buffer
    assert buffer.off_policy[buffer.valid].any() and not buffer.off_policy[buffer.ranks == 1].any()
    assert len(buffer.all_samples()) == int((buffer.valid & ~buffer.off_policy).sum())
