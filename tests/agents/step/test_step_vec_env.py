"""STMGVecEnv: rank-by-rank stepping of several STMG copies, dynamic orders, dying agents, the SB3 view."""

from __future__ import annotations

import numpy as np
import pettingzoo
import pytest

import stmg_envs  # noqa: F401  (registers the tasks)
from stmg_agents.step.vec_env import STMGVecEnv, make_stmg_vec_env
from stmg_envs import stmg_v0
from stmg_envs.matrix import MatrixGame, mixing, penalty
from tests.agents.step.toy_games import CountdownGame, rotating_order

pytestmark = pytest.mark.agents


def run_tick(venv: STMGVecEnv, choose) -> tuple[list, object]:
    """Play one time step in every copy; ``choose(batch)`` gives the actions. Returns the batches and the outcome."""
    venv.begin_tick()
    batches = []
    while (batch := venv.next_decisions()) is not None:
        batches.append(batch)
        venv.apply(batch, choose(batch))
    return batches, venv.outcome()


def test_one_policy_call_per_rank_and_per_agent_rewards():
    """Each rank round batches every copy; rewards land on the agent that earned them (general-sum Mixing)."""
    venv = STMGVecEnv([stmg_v0(mixing()) for _ in range(3)])
    venv.reset()
    batches, outcome = run_tick(venv, lambda b: np.zeros(len(b.envs), np.int64))
    assert [b.ranks.tolist() for b in batches] == [[0, 0, 0], [1, 1, 1]]
    assert [b.agents.tolist() for b in batches] == [[0, 0, 0], [1, 1, 1]]
    # the follower saw the leader's action (a1 -> one-hot in slot 0)
    np.testing.assert_array_equal(batches[1].observations["prior_actions"][0], [1, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(outcome.rewards, np.tile([0.0, 5.0], (3, 1)))  # Mixing (a1, a1) = (0, 5)
    assert outcome.acted.all() and not outcome.truncated.any()


def test_truncation_gives_final_observations_and_auto_reset():
    """At the episode end the truncated agents' final observations come back and the copy resets itself."""
    venv = STMGVecEnv([stmg_v0(penalty(episode_length=2)) for _ in range(2)])
    venv.reset()
    run_tick(venv, lambda b: np.zeros(len(b.envs), np.int64))
    _, outcome = run_tick(venv, lambda b: np.full(len(b.envs), 2, np.int64))
    assert outcome.truncated.all() and outcome.episode_over.all()
    assert sorted((e, k) for e, k, _ in outcome.final_observations) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert outcome.infos[0]["episode"]["l"] == 2
    assert outcome.infos[0]["episode"]["agent_returns"] == {"agent_0": -200.0, "agent_1": -200.0}  # (a1,a1), (a3,a3)
    batches, _ = run_tick(venv, lambda b: np.zeros(len(b.envs), np.int64))  # a fresh episode runs
    assert batches[0].ranks.tolist() == [0, 0]


def test_dynamic_order_and_dying_agents():
    """With a rotating order and agents that die at different times, copies finish steps after different rounds."""
    venv = STMGVecEnv([stmg_v0(CountdownGame(3, lifetimes=(None, 1, 2), episode_length=4), order=rotating_order)])
    venv.reset()
    seen = []
    for _ in range(4):
        batches, outcome = run_tick(venv, lambda b: np.zeros(len(b.envs), np.int64))
        seen.append(([int(b.agents[0]) for b in batches], outcome.acted[0].tolist(), outcome.terminated[0].tolist()))
    # t=0: order 0,1,2, agent_1 dies; t=1: live 0,2 rotated by 1 -> 2,0, agent_2 dies; t=2, t=3: agent_0 alone
    assert seen[0] == ([0, 1, 2], [True, True, True], [False, True, False])
    assert seen[1] == ([2, 0], [True, False, True], [False, False, True])
    assert seen[2][0] == [0] and seen[3][0] == [0]


def test_uneven_observations_are_padded():
    """Agents with Box observations of different lengths share one zero-padded observation space."""
    venv = STMGVecEnv([stmg_v0(CountdownGame(2, extra_obs=(0, 3)))])
    assert venv.padded and venv.observation_space["observation"].shape == (5,)
    venv.reset()
    batches, _ = run_tick(venv, lambda b: np.zeros(len(b.envs), np.int64))
    assert batches[0].observations["observation"].shape == (1, 5)
    np.testing.assert_array_equal(batches[0].observations["observation"][0, 2:], 0.0)


def test_box_actions_are_clipped_into_bounds():
    """Gaussian samples outside the Box are clipped before reaching the STMG (which rejects them)."""
    venv = STMGVecEnv([stmg_v0(CountdownGame(2, box_actions=True))])
    venv.reset()
    _, outcome = run_tick(venv, lambda b: np.full((len(b.envs), 2), 5.0, np.float32))
    assert outcome.acted.all()
    np.testing.assert_array_equal(venv.encode_action(0, np.array([3.0, -3.0])), [1.0, -1.0])


def test_sb3_view_steps_one_decision_at_a_time():
    """The VecEnv view: obs of the acting agent; reward (mean of agents) only on the completing decision."""
    venv = STMGVecEnv([stmg_v0(penalty(episode_length=1))])
    obs = venv.reset()
    assert obs["rank"].tolist() == [0]
    obs, rewards, dones, infos = venv.step(np.array([0]))
    assert rewards.tolist() == [0.0] and not dones[0] and obs["rank"].tolist() == [1]
    obs, rewards, dones, infos = venv.step(np.array([2]))
    assert rewards.tolist() == [10.0] and dones[0] and infos[0]["TimeLimit.truncated"]
    assert infos[0]["agent_rewards"] == {"agent_0": 10.0, "agent_1": 10.0}
    assert obs["rank"].tolist() == [0]  # auto-reset


def test_seeded_resets():
    """seed() seeds the next reset of each copy (seed + index), as SB3's VecEnvs do."""
    venv = STMGVecEnv([stmg_v0(CountdownGame(3), order="random") for _ in range(2)])
    venv.seed(5)
    venv.reset()
    first = [e.order for e in venv.envs]
    venv.seed(5)
    venv.reset()
    assert [e.order for e in venv.envs] == first


def test_make_stmg_vec_env_sources():
    """An id, an STMG (deep-copied) and a factory all give n independent copies."""
    by_id = make_stmg_vec_env("stmg/Penalty-v0", 2, env_kwargs={"k": -25})
    assert by_id.num_envs == 2 and by_id.envs[0].parallel_env.payoffs[0, 0, 0] == -25
    env = stmg_v0(penalty())
    copies = make_stmg_vec_env(env, 3)
    assert copies.envs[0] is env and len({id(e) for e in copies.envs}) == 3
    assert make_stmg_vec_env(lambda: stmg_v0(penalty()), 2).num_envs == 2
    assert make_stmg_vec_env(copies, 3) is copies


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
    venv = make_stmg_vec_env("stmg/Penalty-v0", 1)
    with pytest.raises(RuntimeError, match="reset"):
        venv.begin_tick()
