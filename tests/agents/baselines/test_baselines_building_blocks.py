"""Building blocks of the baselines: observation encoding, RNG scopes, GAE, ValueNorm, lock-step rollouts."""

from __future__ import annotations

import functools
import random

import numpy as np
import pytest
import torch
from gymnasium import spaces

from stmg_agents.baselines import mappo_rollout
from stmg_agents.baselines.mappo_networks import ValueNorm
from stmg_agents.baselines.mappo_rollout import (
    CriticInputBuilder,
    LockstepRollout,
    batched_copies,
    compute_gae,
    joint_action_converter,
    state_space_of,
)
from stmg_agents.baselines.observation_encoding import SharedObservationEncoder
from stmg_agents.baselines.rng import GlobalRngScope
from stmg_agents.losses import huber
from stmg_envs.vector import batched_parallel

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


def _rollout_of(envs, critic_input="state", backend="generic"):
    """A LockstepRollout over the given env copies (copy k is ``envs[k]``) as one BatchedParallel."""
    made = iter(envs)
    venv = batched_parallel(lambda: next(made), len(envs), backend=backend)
    probe = envs[0]
    encoder = SharedObservationEncoder(
        probe.possible_agents, {a: probe.observation_space(a) for a in probe.possible_agents}, agent_indicator=True
    )
    critic_inputs = CriticInputBuilder(critic_input, encoder, state_dim=2 if critic_input == "state" else 0)
    to_env_actions = joint_action_converter([probe.action_space(a) for a in probe.possible_agents])
    return LockstepRollout(venv, encoder, critic_inputs, to_env_actions)


def _zero_actions(obs, critic_in):
    n = obs.shape[0]
    return torch.zeros(n, dtype=torch.long), np.zeros(n, np.float32), np.zeros(n, np.float32)


class _DeclaredStateEnv:
    """Gives :class:`DyingAgentEnv` the ``state_space`` its ``state()`` lacks (the batched game reads declared states)."""

    state_space = spaces.Box(-np.inf, np.inf, (2,), np.float32)


def test_lockstep_rollout_masks_dead_agents_and_bootstraps_truncation(dying_agent_env):
    """A dead agent is inactive until the restart; truncated streams get gamma * V(final) added."""
    env_class = type("DeclaredDying", (_DeclaredStateEnv, dying_agent_env), {})
    rollout = _rollout_of([env_class(length=4, death_step=2)])
    rollout.request_reset(seed=0)
    batch = rollout.collect(6, _zero_actions, lambda critic_in: np.full(critic_in.shape[0], 10.0, np.float32), 0.5)
    active = batch.active[:, 0, :].tolist()
    assert active == [[1, 1], [1, 1], [1, 0], [1, 0], [1, 1], [1, 1]]
    dones = batch.dones[:, 0, :].tolist()
    assert dones == [[0, 0], [0, 1], [0, 1], [1, 1], [0, 0], [0, 1]]
    rewards = batch.rewards[:, 0, :]
    np.testing.assert_allclose(rewards[:, 1], [1, 1, 0, 0, 1, 1])  # terminated: no bootstrap
    np.testing.assert_allclose(rewards[:, 0], [1, 1, 1, 1 + 0.5 * 10, 1, 1])  # truncated at t=3
    np.testing.assert_array_equal(batch.critic_in[0, 0, :, 2:], np.eye(2))  # agent one-hot in the critic
    np.testing.assert_allclose(  # the state (t / 10, live agents), read through the declared state_space
        batch.critic_in[:, 0, 0, :2], [[0, 2], [0.1, 2], [0.2, 1], [0.3, 1], [0, 2], [0.1, 2]], rtol=1e-6
    )


def test_lockstep_rollout_copies_with_different_live_agents_and_episode_ends(dying_agent_env):
    """Copies whose agents leave at different steps, and whose episodes end mid-rollout at different steps: each
    copy's rows are its own game's, dead agents are zero rows with their indicator, and a truncated stream is
    bootstrapped with the value of the ended episode's last observations (not the reset's), a terminated one not."""
    envs = [dying_agent_env(length=3, death_step=None), dying_agent_env(length=5, death_step=2)]
    rollout = _rollout_of(envs, critic_input="concat_obs")
    rollout.request_reset(seed=4)
    assert [env.seeds for env in envs] == [[], []]  # the reset waits for the first collection

    def value(critic_in):  # 100 * agent_0's observation (t / 10 in both games): it tells final from first rows
        return (100 * critic_in[:, 0]).numpy()

    batch = rollout.collect(7, _zero_actions, value, gamma=0.5)
    assert [env.seeds for env in envs] == [[4, None, None], [5, None]]
    assert batch.active[:, 0].all()  # copy 0: nobody leaves
    assert batch.active[:, 1, 1].tolist() == [1, 1, 0, 0, 0, 1, 1]  # copy 1: agent_1 leaves after step 2
    assert batch.dones[:, 0].tolist() == [[0, 0], [0, 0], [1, 1], [0, 0], [0, 0], [1, 1], [0, 0]]
    assert batch.dones[:, 1].tolist() == [[0, 0], [0, 1], [0, 1], [0, 1], [1, 1], [0, 0], [0, 1]]
    np.testing.assert_allclose(batch.rewards[:, 0, 0], [1, 1, 1 + 0.5 * 30, 1, 1, 1 + 0.5 * 30, 1], rtol=1e-6)
    np.testing.assert_allclose(batch.rewards[:, 1, 0], [1, 1, 1, 1, 1 + 0.5 * 50, 1, 1], rtol=1e-6)
    np.testing.assert_allclose(batch.rewards[:, 1, 1], [1, 1, 0, 0, 0, 1, 1])  # terminated: no bootstrap
    # copy 1's agent_1 once out: the step it left keeps the last observation the game gave it (inactive), then zeros
    # and its indicator
    np.testing.assert_allclose(batch.obs[2, 1, 1], [0.2, 0.2, 0.2, 0, 1], rtol=1e-6)
    np.testing.assert_array_equal(batch.obs[3:5, 1, 1], np.tile([0, 0, 0, 0, 1], (2, 1)))
    np.testing.assert_allclose(batch.obs[:, 1, 0, 0], [0, 0.1, 0.2, 0.3, 0.4, 0, 0.1], rtol=1e-6)  # reset at 5
    np.testing.assert_allclose(batch.obs[:, 0, 0, 0], [0, 0.1, 0.2, 0, 0.1, 0.2, 0], rtol=1e-6)  # resets at 3, 6
    critic = batch.critic_in[:, 1, 0, :6]  # copy 1's critic input: both agents' padded observations
    np.testing.assert_allclose(critic[2], [0.2, 0, 0, 0.2, 0.2, 0.2], rtol=1e-6)  # agent_1's last observation
    np.testing.assert_allclose(critic[3], [0.3, 0, 0, 0, 0, 0], rtol=1e-6)  # then black death


def test_lockstep_rollout_refuses_what_it_cannot_run(dying_agent_env, stateless_env):
    """Agents other than the encoder's, and a critic on the state of a game without one, say what was expected."""
    rollout = _rollout_of([dying_agent_env()], critic_input="concat_obs")
    other = SharedObservationEncoder(
        ["x", "y"], {"x": spaces.Box(0, 1, (1,)), "y": spaces.Box(0, 1, (1,))}, agent_indicator=True
    )
    with pytest.raises(ValueError, match="expected the copies' agents"):
        LockstepRollout(rollout.venv, other, CriticInputBuilder("concat_obs", other), lambda a: a)
    with pytest.raises(ValueError, match="expected a game with a global state"):
        _rollout_of([stateless_env()], critic_input="state")
    with pytest.raises(TypeError, match="expected a stmg_envs.vector.BatchedParallel"):
        LockstepRollout([dying_agent_env()], rollout.encoder, rollout.critic_inputs, lambda a: a)


def test_batched_copies_declare_the_state_of_a_game_that_does_not(dying_agent_env):
    """A game whose state() has no state_space gets one (shaped like its state), so the rollout's critic reads it."""
    probe = dying_agent_env()
    probe.reset(seed=0)
    space = state_space_of(probe)
    assert space.shape == (2,) and space.dtype == np.float32
    venv = batched_copies(dying_agent_env, 2, space)
    venv.reset(seed=0)
    np.testing.assert_array_equal(venv.state(), [[0, 2], [0, 2]])
    assert batched_copies(dying_agent_env, 2).single_state_space is None


def test_encode_batch_equals_encode_per_copy():
    """encode_batch of a batched game's arrays equals encode of each copy's dict, absent rows as dead agents."""
    encoder = SharedObservationEncoder(
        ["a", "b"], {"a": spaces.Box(0, 1, (2, 2)), "b": spaces.Box(0, 1, (3,))}, agent_indicator=True
    )
    padded = np.zeros((2, 2, 4))  # (copy, agent, padded flat observation), as BatchedParallel stacks them
    padded[:, 0] = np.arange(8).reshape(2, 4)
    padded[:, 1, :3] = [[7, 8, 9], [4, 5, 6]]
    present = np.array([[True, True], [True, False]])
    out = encoder.encode_batch(padded, present)
    assert out.dtype == np.float32 and out.shape == (2, 2, 6)
    np.testing.assert_array_equal(out[0], encoder.encode({"a": np.arange(4).reshape(2, 2), "b": [7, 8, 9]}))
    np.testing.assert_array_equal(out[1], encoder.encode({"a": np.arange(4, 8).reshape(2, 2)}))
    discrete = SharedObservationEncoder(["a", "b"], dict.fromkeys("ab", spaces.Discrete(3)), agent_indicator=False)
    out = discrete.encode_batch(np.array([[2, 0]]), np.array([[True, True]]))
    np.testing.assert_array_equal(out[0], discrete.encode({"a": 2, "b": 0}))
    with pytest.raises(ValueError, match=r"expected observations of shape \(2, 2, ...\)"):
        encoder.encode_batch(padded[:, :1], present)


def test_joint_action_converter_casts_and_clips_per_agent():
    """Box actions are cast to the space's dtype and clipped to each agent's own bounds; Discrete pass as int64."""
    convert = joint_action_converter([spaces.Box(-1, 1, (2,), np.float32), spaces.Box(0, 3, (2,), np.float32)])
    out = convert(np.array([[[-2.0, 0.5], [-2.0, 5.0]]]))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[[-1, 0.5], [0, 3]]])
    assert joint_action_converter([spaces.Discrete(3)] * 2)(np.array([[1, 2]], np.int32)).dtype == np.int64
    with pytest.raises(ValueError, match="expected every agent to have a Discrete action space"):
        joint_action_converter([spaces.Discrete(3), spaces.Box(-1, 1, (1,))])


@pytest.mark.parametrize(
    "algorithm, make_env",
    [
        ("mappo", "penalty"),
        ("happo", "penalty"),
        ("mat", "penalty"),
        pytest.param("mappo", "cheetah", marks=pytest.mark.mujoco),
        pytest.param("happo", "cheetah", marks=pytest.mark.mujoco),
    ],
)
def test_native_backends_train_as_the_generic_one(algorithm, make_env, monkeypatch):
    """Rollouts over the task's native backend (NumPy, mujoco.batch) train exactly as over its generic copies."""
    from stmg_agents.baselines import MAPPO
    from stmg_agents.baselines.happo import HAPPO
    from stmg_agents.baselines.mat import MAT

    if make_env == "penalty":
        from stmg_envs.matrix import penalty

        factory, native = (lambda: penalty(k=-25, episode_length=3)), "MatrixBackend"
    else:
        from stmg_envs.mujoco import half_cheetah
        from stmg_envs.vector.mujoco import batch_available

        if not batch_available():
            pytest.skip("mujoco.batch (MuJoCo >= 4) is not available")
        factory, native = (lambda: half_cheetah("2x3", episode_length=7)), "MuJoCoBackend"
    cls = {"mappo": MAPPO, "happo": HAPPO, "mat": MAT}[algorithm]

    def train():
        model = cls(factory, seed=3, n_envs=2, n_steps=5)
        model.learn(20)
        rollout = model._rollout if algorithm == "mat" else model.rollout
        networks = [model.network] if algorithm == "mat" else [model.critic, *getattr(model, "actors", [])]
        networks += [model.actor] if algorithm == "mappo" else []
        return type(rollout.venv.backend).__name__, [
            t.detach().clone() for n in networks for t in n.state_dict().values()
        ]

    backend, weights = train()
    assert backend == native
    monkeypatch.setattr(mappo_rollout, "batched_parallel", functools.partial(batched_parallel, backend="generic"))
    generic, generic_weights = train()
    assert generic == "GenericBackend"
    for a, b in zip(weights, generic_weights):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


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


def test_mappo_rolls_out_multi_discrete_actions(dying_agent_env):
    """MultiDiscrete actions, which the batched game stacks as int64 Box actions, reach the game as int arrays."""
    from stmg_agents.baselines import MAPPO

    seen = []

    class MultiDiscreteEnv(dying_agent_env):
        def __init__(self):
            super().__init__(length=3, death_step=2)
            self._action_spaces = dict.fromkeys(self.possible_agents, spaces.MultiDiscrete([2, 3]))

        def step(self, actions):
            seen.extend(actions.values())
            return super().step(actions)

    agent = MAPPO(MultiDiscreteEnv, seed=0, n_envs=2, n_steps=4).learn(8)
    assert agent.num_timesteps == 8 and seen
    assert all(a.dtype == np.int64 and a.shape == (2,) and 0 <= a[0] <= 1 and 0 <= a[1] <= 2 for a in seen)
