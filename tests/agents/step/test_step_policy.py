"""NLevelPolicy: shapes, constant parameter count, consistency of its paths, SB3 hooks."""

from __future__ import annotations

import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from stable_baselines3.common.distributions import CategoricalDistribution, DiagGaussianDistribution
from torch import nn

from stmg_agents.step.policy import NLevelPolicy
from tests.agents.step.subgame_batches import batch, subgame_space

pytestmark = pytest.mark.agents


def make_policy(space: spaces.Dict, action_space: spaces.Space, **kwargs) -> NLevelPolicy:
    th.manual_seed(0)
    return NLevelPolicy(space, action_space, lambda _: 5e-4, **kwargs)


def n_params(policy: nn.Module) -> int:
    return sum(p.numel() for p in policy.parameters())


@pytest.mark.parametrize("action_space", [spaces.Discrete(3), spaces.Box(-1.0, 1.0, (2,), np.float32)])
@pytest.mark.parametrize("n_agents", range(2, 9))
def test_shapes_for_two_to_eight_agents(n_agents, action_space):
    """forward/evaluate/predict_values give one row per observation for N = 2..8 agents."""
    space = subgame_space(n_agents, action_space)
    policy = make_policy(space, action_space)
    obs = batch(space, 5)
    actions, values, log_probs = policy(obs)
    assert actions.shape == (5, *action_space.shape)
    assert values.shape == (5, 1) and log_probs.shape == (5,)
    out_values, out_log_probs, entropy = policy.evaluate_actions(obs, actions)
    assert out_values.shape == (5, 1) and out_log_probs.shape == (5,) and entropy.shape == (5,)
    assert policy.predict_values(obs).shape == (5, 1)
    assert policy.target_parameters(th.arange(n_agents)).shape == (n_agents, policy.action_net.num_target_params)


@pytest.mark.parametrize("prior_encoding", ["padded", "set"])
@pytest.mark.parametrize("rank_encoding", ["learned", "sinusoidal"])
@pytest.mark.parametrize("action_space", [spaces.Discrete(3), spaces.Box(-1.0, 1.0, (2,), np.float32)])
def test_parameter_count_is_constant_for_two_to_eight_agents(action_space, rank_encoding, prior_encoding):
    """The number of policy parameters does not grow with the number of agents (N = 2..8)."""
    counts = {
        n_params(
            make_policy(
                subgame_space(n, action_space), action_space, rank_encoding=rank_encoding, prior_encoding=prior_encoding
            )
        )
        for n in range(2, 9)
    }
    assert len(counts) == 1


def test_padded_input_equals_concatenation():
    """The padded first layer reads exactly the concatenated input: same outputs as 'concat' with the same weights."""
    space = subgame_space(3, spaces.Discrete(3))
    padded = make_policy(space, spaces.Discrete(3))
    concat = make_policy(space, spaces.Discrete(3), prior_encoding="concat")
    state = padded.state_dict()
    for name in ("policy_embedding", "value_embedding"):
        key = f"mlp_extractor.{name}.trunk.0.weight"
        used = concat.state_dict()[key].shape[1]
        assert th.count_nonzero(state[key][:, used:]) == 0  # reserved columns start (and stay) unused
        state[key] = state[key][:, :used]
    concat.load_state_dict(state)
    obs = batch(space, 5)
    with th.no_grad():
        th.testing.assert_close(padded.action_probabilities(obs), concat.action_probabilities(obs))
        th.testing.assert_close(padded.predict_values(obs), concat.predict_values(obs))


def test_concat_prior_encoding_grows_with_agents():
    """The unpadded concatenation does grow (why it is not the default)."""
    a = n_params(make_policy(subgame_space(2, spaces.Discrete(3)), spaces.Discrete(3), prior_encoding="concat"))
    b = n_params(make_policy(subgame_space(3, spaces.Discrete(3)), spaces.Discrete(3), prior_encoding="concat"))
    assert b > a


def test_more_agents_than_max_agents():
    """Learned tables and the padded input reserve max_agents slots; more agents is a clear error with the fix.

    The sinusoidal rank encoding with the set prior encoder has no such limit.
    """
    space = subgame_space(5, spaces.Discrete(3))
    with pytest.raises(ValueError, match="max_agents=4"):
        make_policy(space, spaces.Discrete(3), max_agents=4)
    with pytest.raises(ValueError, match="max_agents=4"):
        make_policy(space, spaces.Discrete(3), max_agents=4, rank_encoding="sinusoidal")
    make_policy(space, spaces.Discrete(3), max_agents=4, rank_encoding="sinusoidal", prior_encoding="set")
    assert n_params(make_policy(space, spaces.Discrete(3), max_agents=5)) < n_params(
        make_policy(space, spaces.Discrete(3))
    )


def test_bad_spaces_and_arguments():
    """Non-STMG observation spaces, unsupported actions, gSDE and unknown options raise clear errors."""
    space = subgame_space(2, spaces.Discrete(3))
    with pytest.raises(TypeError, match="Dict observation space of an STMG"):
        make_policy(spaces.Box(0, 1, (4,)), spaces.Discrete(3))
    with pytest.raises(ValueError, match="Discrete .* and Box"):
        make_policy(space, spaces.MultiDiscrete([3, 3]))
    with pytest.raises(ValueError, match="gSDE"):
        make_policy(subgame_space(2, spaces.Box(-1, 1, (2,))), spaces.Box(-1, 1, (2,)), use_sde=True)
    with pytest.raises(ValueError, match="prior_encoding"):
        make_policy(space, spaces.Discrete(3), prior_encoding="attention")
    with pytest.raises(ValueError, match="rank_encoding"):
        make_policy(space, spaces.Discrete(3), rank_encoding="onehot")


@pytest.mark.parametrize("action_space", [spaces.Discrete(3), spaces.Box(-1.0, 1.0, (2,), np.float32)])
def test_fast_act_matches_sb3_distribution(action_space):
    """act() (used in rollouts) and evaluate() give the same log-probs as SB3's distribution objects."""
    space = subgame_space(3, action_space)
    policy = make_policy(space, action_space)
    obs = batch(space, 6)
    with th.no_grad():
        out = policy.act(obs, generator=th.Generator().manual_seed(1))
        dist = policy.get_distribution(obs)
        ev = policy.evaluate(obs, out.actions)
    assert isinstance(
        dist, CategoricalDistribution if isinstance(action_space, spaces.Discrete) else DiagGaussianDistribution
    )
    th.testing.assert_close(out.log_probs, dist.log_prob(out.actions))
    th.testing.assert_close(ev.log_probs, out.log_probs)
    th.testing.assert_close(ev.entropy, dist.entropy())
    th.testing.assert_close(policy.value_normalizer.denormalize(ev.normalized_values), out.values)


def test_mixed_rank_batch_equals_per_rank_batches():
    """A batch mixing ranks is evaluated row by row with each row's own rank-conditioned policy."""
    space = subgame_space(4, spaces.Discrete(3))
    policy = make_policy(space, spaces.Discrete(3))
    obs = batch(space, 8)
    with th.no_grad():
        mixed = policy.action_probabilities(obs)
        for row in range(8):
            single = {k: v[row : row + 1] for k, v in obs.items()}
            th.testing.assert_close(mixed[row : row + 1], policy.action_probabilities(single))


def test_ranks_get_different_policies_from_the_same_input():
    """The rank alone changes the generated head: same state embedding, different rank -> different logits."""
    space = subgame_space(3, spaces.Discrete(3))
    policy = make_policy(space, spaces.Discrete(3))
    obs = batch(space, 1, rank=0)
    other = dict(obs, rank=th.tensor([2]))
    with th.no_grad():
        assert not th.allclose(policy.action_probabilities(obs), policy.action_probabilities(other))


def test_initial_policy_is_near_uniform():
    """Orthogonal init of mlp_extractor leaves the hypernetwork head alone: initial policies are near uniform."""
    space = subgame_space(2, spaces.Discrete(3))
    policy = make_policy(space, spaces.Discrete(3))
    with th.no_grad():
        probs = policy.action_probabilities(batch(space, 16))
    assert th.allclose(probs, th.full_like(probs, 1 / 3), atol=0.02)


def test_action_mask_is_respected():
    """Masked-out actions get probability 0 and are never sampled."""
    space = subgame_space(2, spaces.Discrete(3), action_mask=True)
    policy = make_policy(space, spaces.Discrete(3))
    obs = batch(space, 32)
    with th.no_grad():
        assert policy.action_probabilities(obs)[:, 1].max() < 1e-6
        actions = policy.act(obs, generator=th.Generator().manual_seed(0)).actions
    assert not (actions == 1).any()


def test_policy_save_load_round_trip(tmp_path):
    """Every new constructor argument is in _get_constructor_parameters: NLevelPolicy.load rebuilds it."""
    space = subgame_space(3, spaces.Discrete(3))
    policy = make_policy(
        space,
        spaces.Discrete(3),
        rank_encoding="sinusoidal",
        rank_embedding_dim=8,
        hyper_net_arch=(32,),
        target_net_arch=(16,),
        prior_embedding_dim=8,
        net_arch=dict(pi=[32], vf=[16, 16]),
        activation_fn=nn.ReLU,
        normalize_values=False,
        hyper_scale_by_width=True,
    )
    policy.save(str(tmp_path / "policy.pt"))
    loaded = NLevelPolicy.load(str(tmp_path / "policy.pt"))
    assert loaded._get_constructor_parameters().keys() == policy._get_constructor_parameters().keys()
    for key in (
        "rank_encoding",
        "rank_embedding_dim",
        "hyper_net_arch",
        "target_net_arch",
        "prior_embedding_dim",
        "normalize_values",
        "hyper_scale_by_width",
    ):
        assert getattr(loaded, key) == getattr(policy, key)
    assert loaded.action_net.hypernet.scale_by_width
    obs = batch(space, 4)
    with th.no_grad():
        th.testing.assert_close(loaded.action_probabilities(obs), policy.action_probabilities(obs))
        th.testing.assert_close(loaded.predict_values(obs), policy.predict_values(obs))


def test_predict_single_observation():
    """SB3's predict works on one agent's raw (numpy) observation."""
    space = subgame_space(2, spaces.Discrete(3))
    policy = make_policy(space, spaces.Discrete(3))
    obs = {
        "observation": np.zeros(4, np.float32),
        "prior_actions": np.array([0, 1, 0, 0, 0, 0], np.float32),
        "prior_mask": np.array([1, 0], np.int8),
        "rank": 1,
    }
    action, state = policy.predict(obs, deterministic=True)
    assert action.shape == () and 0 <= int(action) < 3 and state is None
