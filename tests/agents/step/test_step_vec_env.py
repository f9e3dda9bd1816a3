"""STMGVecEnv: STEP's VecEnv facade over one BatchedSTMG: rank by rank, live agents that differ, orders, the SB3 view,
and STEP's rollouts on it (bootstraps on truncation, backends)."""

from __future__ import annotations

import itertools

import numpy as np
import pettingzoo
import pytest
import torch as th

import stmg_envs  # noqa: F401  (registers the tasks)
from stmg_agents import STEP
from stmg_agents.step.vec_env import BootstrapRequest, STMGVecEnv, TickOutcome, make_stmg_vec_env
from stmg_envs import stmg_v0
from stmg_envs.matrix import MatrixGame, mixing, penalty
from stmg_envs.vector import GenericBackend, MatrixBackend
from tests.agents.step.toy_games import CountdownGame, rotating_order

pytestmark = pytest.mark.agents


def run_tick(venv: STMGVecEnv, choose) -> tuple[list, TickOutcome]:
    """Play one time step in every copy; ``choose(decisions)`` gives the actions. Returns the rounds and the outcome."""
    rounds = []
    outcome = None
    while outcome is None:
        decisions = venv.decisions()
        rounds.append(decisions)
        outcome = venv.play(decisions, choose(decisions))
    return rounds, outcome


def zeros(decisions) -> np.ndarray:
    return np.zeros(len(decisions.envs), np.int64)


def countdowns(*lifetimes: tuple[int | None, ...], **kwargs):
    """A factory whose successive calls return CountdownGames with the given lifetimes (copies that differ)."""
    it = itertools.cycle(lifetimes)
    return lambda: stmg_v0(CountdownGame(len(lifetimes[0]), lifetimes=next(it), **kwargs))


def test_one_policy_call_per_rank_and_per_agent_rewards():
    """Each rank batches every copy; rewards land on the agent that earned them (general-sum Mixing)."""
    venv = make_stmg_vec_env(lambda: stmg_v0(mixing()), 3)
    venv.reset()
    rounds, outcome = run_tick(venv, zeros)
    assert [d.ranks.tolist() for d in rounds] == [[0, 0, 0], [1, 1, 1]]
    assert [d.agents.tolist() for d in rounds] == [[0, 0, 0], [1, 1, 1]]
    # the follower saw the leader's action (a1 -> one-hot in slot 0)
    np.testing.assert_array_equal(rounds[1].observations["prior_actions"][0], [1, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(outcome.rewards, np.tile([0.0, 5.0], (3, 1)))  # Mixing (a1, a1) = (0, 5)
    assert outcome.rewards.dtype == np.float32
    assert outcome.acted.all() and not outcome.truncated.any()


def test_truncation_gives_final_observations_and_auto_reset():
    """At the episode end the truncated agents' final observations come back and the copy resets itself."""
    venv = make_stmg_vec_env(lambda: stmg_v0(CountdownGame(2, episode_length=2)), 2)
    venv.reset()
    run_tick(venv, zeros)
    _, outcome = run_tick(venv, lambda d: np.full(len(d.envs), 2, np.int64))
    assert outcome.truncated.all() and outcome.episode_over.all()
    assert [(r.copy, r.agent) for r in outcome.final_observations] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    for request in outcome.final_observations:
        assert isinstance(request, BootstrapRequest)
        obs = request.observation
        assert obs["observation"][0] == 1.0  # t / episode_length after the last step: before the reset
        assert int(obs["rank"]) == request.agent and not obs["prior_mask"].any() and not obs["prior_actions"].any()
    assert outcome.infos[0]["episode"]["l"] == 2
    assert outcome.infos[0]["episode"]["agent_returns"] == {"agent_0": 2.0, "agent_1": 2.0}
    rounds, _ = run_tick(venv, zeros)  # a fresh episode runs
    assert rounds[0].ranks.tolist() == [0, 0] and rounds[0].observations["observation"][0, 0] == 0.0


def test_dynamic_order_and_dying_agents():
    """With a rotating order and agents that die, a copy's time step has as many ranks as live agents."""
    venv = make_stmg_vec_env(
        lambda: stmg_v0(CountdownGame(3, lifetimes=(None, 1, 2), episode_length=4), rotating_order), 1
    )
    assert type(venv.batch.backend) is GenericBackend
    venv.reset()
    seen = []
    for _ in range(4):
        rounds, outcome = run_tick(venv, zeros)
        seen.append(([int(d.agents[0]) for d in rounds], outcome.acted[0].tolist(), outcome.terminated[0].tolist()))
    # t=0: order 0,1,2, agent_1 dies; t=1: live 0,2 rotated by 1 -> 2,0, agent_2 dies; t=2, t=3: agent_0 alone
    assert seen[0] == ([0, 1, 2], [True, True, True], [False, True, False])
    assert seen[1] == ([2, 0], [True, False, True], [False, False, True])
    assert seen[2][0] == [0] and seen[3][0] == [0]


def test_copies_whose_live_agents_differ():
    """Copies with fewer live agents drop out of the higher ranks; bootstraps come in the order copies finish."""
    venv = make_stmg_vec_env(countdowns((None, None, None), (None, 1, None), episode_length=2), 2)
    venv.reset()
    rounds, outcome = run_tick(venv, zeros)  # copy 1's agent_1 terminates after this step
    assert [d.envs.tolist() for d in rounds] == [[0, 1], [0, 1], [0, 1]]
    assert outcome.terminated[1].tolist() == [False, True, False]
    rounds, outcome = run_tick(venv, zeros)  # copy 1 has two live agents left: no rank 2
    assert [d.envs.tolist() for d in rounds] == [[0, 1], [0, 1], [0]]
    assert [d.agents.tolist() for d in rounds] == [[0, 0], [1, 2], [2]]
    assert outcome.acted.tolist() == [[True, True, True], [True, False, True]]
    # both episodes end: copy 1 (two ranks) finished its time step before copy 0 (three)
    assert [(r.copy, r.agent) for r in outcome.final_observations] == [(1, 0), (1, 2), (0, 0), (0, 1), (0, 2)]
    assert [int(r.observation["rank"]) for r in outcome.final_observations] == [0, 1, 0, 1, 2]
    assert outcome.rewards[1, 1] == 0.0 and outcome.episode_over.all()


def test_random_orders_are_drawn_per_copy_and_seeded():
    """Random orders: one permutation per copy and episode, drawn from the copy's seeded RNG (seed + copy)."""
    venv = make_stmg_vec_env(lambda: stmg_v0(CountdownGame(3), order="random"), 4)
    venv.seed(5)
    venv.reset()
    first = venv.batch.orders
    venv.seed(5)
    venv.reset()
    np.testing.assert_array_equal(venv.batch.orders, first)
    expected = []
    for e in range(4):
        env = stmg_v0(CountdownGame(3), order="random")
        env.reset(seed=5 + e)
        expected.append([int(a[-1]) for a in env.order])
    assert first.tolist() == expected
    rounds, _ = run_tick(venv, zeros)
    assert [d.agents.tolist() for d in rounds] == first.T.tolist()


def test_uneven_observations_are_padded():
    """Agents with Box observations of different lengths share one zero-padded float32 observation space."""
    venv = make_stmg_vec_env(lambda: stmg_v0(CountdownGame(2, extra_obs=(0, 3))), 1)
    assert venv.padded and venv.observation_space["observation"].shape == (5,)
    venv.reset()
    rounds, _ = run_tick(venv, zeros)
    assert rounds[0].observations["observation"].shape == (1, 5)
    assert rounds[0].observations["observation"].dtype == np.float32
    np.testing.assert_array_equal(rounds[0].observations["observation"][0, 2:], 0.0)


def test_box_actions_are_clipped_into_bounds():
    """Gaussian samples outside the Box are clipped before reaching the batch (which rejects them)."""
    venv = make_stmg_vec_env(lambda: stmg_v0(CountdownGame(2, box_actions=True)), 1)
    venv.reset()
    rounds, outcome = run_tick(venv, lambda d: np.full((len(d.envs), 2), 5.0, np.float32))
    assert outcome.acted.all()
    np.testing.assert_array_equal(rounds[1].observations["prior_actions"][0], [1.0, 1.0, 0.0, 0.0])
    np.testing.assert_array_equal(venv.encode_action(0, np.array([3.0, -3.0])), [1.0, -1.0])


def test_sb3_view_steps_one_rank_at_a_time():
    """The VecEnv view: obs of the acting agent; reward (mean of agents) only on the completing rank."""
    venv = make_stmg_vec_env(lambda: stmg_v0(penalty(episode_length=1)), 1)
    obs = venv.reset()
    assert obs["rank"].tolist() == [0]
    obs, rewards, dones, infos = venv.step(np.array([0]))
    assert rewards.tolist() == [0.0] and not dones[0] and obs["rank"].tolist() == [1]
    obs, rewards, dones, infos = venv.step(np.array([2]))
    assert rewards.tolist() == [10.0] and dones[0] and infos[0]["TimeLimit.truncated"]
    assert infos[0]["agent_rewards"] == {"agent_0": 10.0, "agent_1": 10.0}
    assert obs["rank"].tolist() == [0]  # auto-reset


def test_make_stmg_vec_env_sources_and_backends():
    """An id, an STMG and a factory all give n copies; 'auto' runs a matrix game in NumPy, order callables generic."""
    by_id = make_stmg_vec_env("stmg/Penalty-v0", 2, env_kwargs={"k": -25})
    assert by_id.num_envs == 2 and type(by_id.batch.backend) is MatrixBackend
    assert by_id.template.parallel_env.payoffs[0, 0, 0] == -25
    env = stmg_v0(penalty(), order="reversed")
    copies = make_stmg_vec_env(env, 3, backend="generic")
    assert copies.template is env and copies.batch.backend.envs[0] is env.parallel_env
    assert len({id(e) for e in copies.batch.backend.envs}) == 3
    copies.reset()
    assert copies.batch.orders[0].tolist() == [1, 0]
    assert make_stmg_vec_env(lambda: stmg_v0(penalty()), 2).num_envs == 2
    assert make_stmg_vec_env(copies, 3) is copies
    rotating = make_stmg_vec_env(lambda: stmg_v0(CountdownGame(2), order=rotating_order), 2)
    assert type(rotating.batch.backend) is GenericBackend  # the callable reads each copy's parallel env
    fresh = by_id.make_stmg()
    assert fresh is not by_id.template and fresh.parallel_env.payoffs[0, 0, 0] == -25


def test_the_deprecated_list_of_copies_still_works():
    """STMGVecEnv(list of STMGs) warns and steps those copies' parallel envs on the generic backend."""
    copies = [stmg_v0(mixing()) for _ in range(2)]
    with pytest.warns(DeprecationWarning, match="make_stmg_vec_env"):
        venv = STMGVecEnv(copies)
    assert all(a is b.parallel_env for a, b in zip(venv.batch.backend.envs, copies))
    venv.reset()
    _, outcome = run_tick(venv, zeros)
    np.testing.assert_array_equal(outcome.rewards, np.tile([0.0, 5.0], (2, 1)))


def test_bad_envs_are_clear_errors():
    """Wrong env types, flattened STMGs, unequal action spaces and misuse say what to do."""
    import gymnasium

    with pytest.raises(TypeError, match="Gymnasium env"):
        make_stmg_vec_env(gymnasium.make("stmg/Penalty-v0"), 1)
    with pytest.raises(TypeError, match="flatten=False"):
        make_stmg_vec_env(stmg_v0(penalty(), flatten=True), 1)
    with pytest.raises(TypeError, match="stmg_v0"):
        make_stmg_vec_env(pettingzoo.utils.parallel_to_aec(penalty()), 1)
    with pytest.raises(TypeError, match="got int"):
        make_stmg_vec_env(3, 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="identical action spaces"):
        make_stmg_vec_env(stmg_v0(MatrixGame(np.zeros((2, 2, 3)))), 1)
    with pytest.raises(ValueError, match="n_envs"):
        make_stmg_vec_env("stmg/Penalty-v0", 0)
    with pytest.raises(ValueError, match="env_kwargs"):
        make_stmg_vec_env(stmg_v0(penalty()), 1, env_kwargs={"k": 0})
    with pytest.raises(TypeError, match="BatchedSTMG"):
        STMGVecEnv("stmg/Penalty-v0")  # type: ignore[arg-type]
    venv = make_stmg_vec_env("stmg/Penalty-v0", 1)
    with pytest.raises(RuntimeError, match="reset"):
        venv.decisions()
    with pytest.raises(NotImplementedError, match="BatchedSTMG"):
        venv.env_method("reset")


# ---------------------------------------------------------------------- STEP's rollouts on the batch
def _parameters(model: STEP) -> list[th.Tensor]:
    return [p.detach().clone() for p in model.policy.parameters()]


def test_step_trains_the_same_on_the_native_and_the_generic_backend():
    """The batch's backend does not change a run: NumPy and generic backends give the same parameters, bit for bit."""
    runs = []
    for backend in ("auto", "generic"):
        venv = make_stmg_vec_env(lambda: stmg_v0(penalty(k=-25), order="random"), 3, backend=backend)
        model = STEP(venv, seed=4, n_steps=10)
        model.learn(60)
        runs.append(_parameters(model))
    assert all(th.equal(a, b) for a, b in zip(*runs))


def test_step_bootstraps_truncated_agents_with_their_final_observation(monkeypatch):
    """An episode that ends mid-rollout is bootstrapped from the final observation, before the copy resets."""
    seen = []
    original = STEP._bootstrap_values

    def spy(self, env, requests, act):
        values = original(self, env, requests, act)
        seen.append(([(r.copy, r.agent, float(r.observation["observation"][0])) for r in requests], values))
        return values

    monkeypatch.setattr(STEP, "_bootstrap_values", spy)
    model = STEP(countdowns((None, None), (None, 2), episode_length=3), seed=0, n_envs=2, n_steps=4, gamma=0.9)
    model.learn(8)
    truncations, end_of_rollout = seen
    # step 3 (t = 3 = episode_length): copy 1's agent_1 terminated at t = 2, so only agent_0 of copy 1 and both
    # agents of copy 0 are truncated; their final observations read t / episode_length = 1, not the reset's 0
    assert sorted(lane[:2] for lane in truncations[0]) == [(0, 0), (0, 1), (1, 0)]
    assert all(obs == 1.0 for _, _, obs in truncations[0])
    buf = model.rollout_buffer
    for lane, value in truncations[1].items():  # the step's reward (0 or 1) plus gamma * V(final observation)
        raw = float(buf.rewards[2, lane]) - 0.9 * value
        assert min(abs(raw), abs(raw - 1.0)) < 1e-5 and value != 0.0
    # the last step of the rollout (a new episode's first) continues into the next rollout: bootstrapped there
    assert sorted(end_of_rollout[1]) == [0, 1, 2, 3]
    assert buf.episode_starts[3].tolist() == [1.0, 1.0, 1.0, 1.0]  # every lane starts a new episode at step 3
    assert not buf.valid[2, 3]  # copy 1's agent_1 is dead in the last step of the first episode


def test_step_skips_the_dead_agents_of_some_copies():
    """Lanes of agents that left their copy hold no decision; the others do, with their own ranks."""
    model = STEP(countdowns((None, None, None), (None, 1, 2), episode_length=4), seed=0, n_envs=2, n_steps=4)
    model.learn(8)
    buf = model.rollout_buffer
    valid = buf.valid.reshape(4, 2, 3)
    assert valid[:, 0].all()  # copy 0: every agent acts every step
    assert valid[:, 1].tolist() == [[True, True, True], [True, False, True], [True, False, False], [True, False, False]]
    ranks = buf.ranks.reshape(4, 2, 3)
    assert ranks[1, 1, [0, 2]].tolist() == [0, 1]
