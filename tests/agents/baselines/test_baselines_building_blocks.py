"""Building blocks of the baselines: observation encoding, RNG scopes, GAE, ValueNorm, lock-step rollouts."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from gymnasium import spaces

from stmg_agents.baselines.mappo_networks import ValueNorm
from stmg_agents.baselines.mappo_rollout import CriticInputBuilder, LockstepRollout, compute_gae
from stmg_agents.baselines.observation_encoding import SharedObservationEncoder
from stmg_agents.baselines.rng import GlobalRngScope
from stmg_agents.losses import huber

pytestmark = pytest.mark.agents


def test_encoder_pads_flattens_and_tags():
    """Unequal spaces are flattened, zero-padded to the longest and tagged; missing agents get zeros."""
    encoder = SharedObservationEncoder(
        ["a", "b", "c"],
        {"a": spaces.Box(0, 1, (2, 2)), "b": spaces.Discrete(3), "c": spaces.Box(0, 1, (1,))},
        agent_indicator=True,
    )
    assert encoder.obs_dim == 4 and encoder.dim == 7 and encoder.space.shape == (7,)
    out = encoder.encode({"a": np.arange(4).reshape(2, 2), "b": 2})
    np.testing.assert_array_equal(
        out,
        [[0, 1, 2, 3, 1, 0, 0], [0, 0, 1, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1]],
    )
    assert out.dtype == np.float32
    without = SharedObservationEncoder(["a"], {"a": spaces.Box(0, 1, (2,))}, agent_indicator=False)
    assert without.dim == 2


def test_encoder_rejects_unflattenable_spaces():
    """A space with no fixed flat size is refused with what is accepted."""
    with pytest.raises(ValueError, match="expected an observation space with a fixed flat size"):
        SharedObservationEncoder(["a"], {"a": spaces.Sequence(spaces.Discrete(2))}, agent_indicator=True)


def test_rng_scope_isolates_and_restores_global_streams():
    """Inside a scope the private streams run; outside, the caller's streams are untouched."""
    torch.manual_seed(0), np.random.seed(0), random.seed(0)
    expected_outside = (torch.rand(1).item(), np.random.rand(), random.random())
    torch.manual_seed(0), np.random.seed(0), random.seed(0)
    scope, twin = GlobalRngScope(11), GlobalRngScope(11)
    with scope:
        inside = (torch.rand(1).item(), np.random.rand(), random.random())
    assert (torch.rand(1).item(), np.random.rand(), random.random()) == expected_outside
    with twin:
        assert (torch.rand(1).item(), np.random.rand(), random.random()) == inside
    with scope:  # the scope resumes where it stopped
        assert torch.rand(1).item() != inside[0]
        with pytest.raises(RuntimeError, match="do not nest"):
            scope.__enter__()


def test_gae_matches_a_direct_computation():
    """Vectorised GAE equals the textbook per-stream recursion, including cuts at dones."""
    rng = np.random.default_rng(0)
    rewards = rng.normal(size=(6, 2, 3)).astype(np.float32)
    values = rng.normal(size=(6, 2, 3)).astype(np.float32)
    next_values = rng.normal(size=(2, 3)).astype(np.float32)
    dones = rng.random((6, 2, 3)) < 0.3
    adv, ret = compute_gae(rewards, values, next_values, dones, gamma=0.9, gae_lambda=0.8)
    for e in range(2):
        for i in range(3):
            running = 0.0
            for t in reversed(range(6)):
                following = next_values[e, i] if t == 5 else values[t + 1, e, i]
                keep = 0.0 if dones[t, e, i] else 1.0
                delta = rewards[t, e, i] + 0.9 * following * keep - values[t, e, i]
                running = delta + 0.9 * 0.8 * keep * running
                assert adv[t, e, i] == pytest.approx(running, rel=1e-5, abs=1e-5)
    np.testing.assert_allclose(ret, adv + values)


def test_value_norm_round_trip_and_statistics():
    """ValueNorm tracks mean and spread of the targets and denormalize inverts normalize."""
    norm = ValueNorm()
    data = torch.tensor([100.0, 110.0, 90.0, 120.0])
    norm.update(data)
    normalised = norm.normalize(data)
    assert normalised.mean().item() == pytest.approx(0.0, abs=1e-3)
    assert normalised.std(unbiased=False).item() == pytest.approx(1.0, abs=1e-2)
    torch.testing.assert_close(norm.denormalize(normalised), data)


def test_huber_is_quadratic_inside_and_linear_outside():
    """Huber loss: e**2/2 within delta, delta*(|e| - delta/2) beyond, on both sides."""
    errors = torch.tensor([-3.0, -0.5, 0.5, 3.0])
    torch.testing.assert_close(huber(errors, 1.0), torch.tensor([2.5, 0.125, 0.125, 2.5]))


def test_lockstep_rollout_masks_dead_agents_and_bootstraps_truncation(dying_agent_env):
    """A dead agent is inactive until the restart; truncated streams get gamma * V(final) added."""
    envs = [dying_agent_env(length=4, death_step=2)]
    encoder = SharedObservationEncoder(
        envs[0].possible_agents,
        {a: envs[0].observation_space(a) for a in envs[0].possible_agents},
        agent_indicator=True,
    )
    critic_inputs = CriticInputBuilder("state", encoder, state_dim=2)
    rollout = LockstepRollout(envs, encoder, critic_inputs, int)
    rollout.request_reset(seed=0)

    def act(obs, critic_in):
        n = obs.shape[0]
        return torch.zeros(n, dtype=torch.long), np.zeros(n, np.float32), np.zeros(n, np.float32)

    batch = rollout.collect(6, act, lambda critic_in: np.full(critic_in.shape[0], 10.0, np.float32), gamma=0.5)
    active = batch.active[:, 0, :].tolist()
    assert active == [[1, 1], [1, 1], [1, 0], [1, 0], [1, 1], [1, 1]]
    dones = batch.dones[:, 0, :].tolist()
    assert dones == [[0, 0], [0, 1], [0, 1], [1, 1], [0, 0], [0, 1]]
    rewards = batch.rewards[:, 0, :]
    np.testing.assert_allclose(rewards[:, 1], [1, 1, 0, 0, 1, 1])  # terminated: no bootstrap
    np.testing.assert_allclose(rewards[:, 0], [1, 1, 1, 1 + 0.5 * 10, 1, 1])  # truncated at t=3
    np.testing.assert_array_equal(batch.critic_in[0, 0, :, 2:], np.eye(2))  # agent one-hot in the critic


def test_mlp_body_fast_path_tracks_loaded_and_trained_parameters():
    """The functional forward must equal the sub-module chain, also after load_state_dict and an optimiser step."""
    from torch import nn

    from stmg_agents.baselines.mappo_networks import MLPBody

    torch.manual_seed(0)
    body, other = MLPBody(3, (8, 8), "tanh", True), MLPBody(3, (8, 8), "tanh", True)
    body.load_state_dict(other.state_dict())
    optimizer = torch.optim.Adam(body.parameters(), lr=0.1)
    body(torch.randn(4, 3)).sum().backward()
    optimizer.step()
    reference = nn.Sequential(
        body.input_norm,
        body.linears[0],
        nn.Tanh(),
        body.hidden_norms[0],
        body.linears[1],
        nn.Tanh(),
        body.hidden_norms[1],
    )
    x = torch.randn(5, 3)
    torch.testing.assert_close(body(x), reference(x))
    assert not torch.allclose(body(x), other(x))  # the step changed the weights the fast path uses


@pytest.mark.parametrize("task", ["matrix", pytest.param("box", marks=pytest.mark.mujoco)])
def test_mappo_and_ippo_build_their_action_distributions_unchecked(task):
    """MAPPO's actor and IPPO's SB3 policy evaluate actions with stmg_agents.distributions' unchecked twins of SB3's
    categorical / diagonal Gaussian (same values, no per-call validation), for discrete and continuous actions."""
    from stable_baselines3.common.distributions import CategoricalDistribution, DiagGaussianDistribution

    from stmg_agents.baselines import IPPO, MAPPO
    from stmg_agents.distributions import UncheckedCategoricalDistribution, UncheckedDiagGaussianDistribution

    if task == "matrix":
        from stmg_envs.matrix import penalty

        make, expected, parent = (lambda: penalty(k=0)), UncheckedCategoricalDistribution, CategoricalDistribution
    else:
        from stmg_envs.mujoco import half_cheetah

        make, expected = (lambda: half_cheetah("2x3", episode_length=5)), UncheckedDiagGaussianDistribution
        parent = DiagGaussianDistribution
    mappo, ippo = MAPPO(make, seed=0, n_envs=1, n_steps=4), IPPO(make, seed=0, n_envs=1, n_steps=4)
    assert type(mappo.actor.distribution) is expected and type(ippo.model.policy.action_dist) is expected
    assert issubclass(expected, parent)
    ippo.learn(8)  # SB3's rollout and update run on it
    assert ippo.num_timesteps == 8


@pytest.mark.parametrize(
    ("meta", "expected"),
    [(b"{not json", "got a damaged meta.json"), (b"\xff\xfe", "got a damaged meta.json"), (b"[1, 2]", "holding list")],
)
def test_a_damaged_meta_json_is_a_plain_value_error_that_says_so(meta, expected):
    """Every archive-based algorithm (HAPPO, MAT, MADDPG, Bi-AC, O&F, MAPPO/IPPO) loads through ``read_archive``: a
    meta.json that is not JSON, not text or not an object must give its "damaged" ValueError there, not a bare
    ``json.JSONDecodeError`` ("Expecting value: line 1 column 2") or an ``AttributeError`` further on."""
    import io
    import zipfile

    from stmg_agents.baselines.persistence import read_archive

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("meta.json", meta)
    with pytest.raises(ValueError, match=expected) as info:
        read_archive(io.BytesIO(buffer.getvalue()))
    assert type(info.value) is ValueError
