"""SuperSuit wraps both forms: its observation/action wrappers the STMG, its vector envs the simultaneous game.

SuperSuit's observation wrappers accept ``Box`` (and ``Discrete``) spaces only,
so the STMG is built with ``flatten=True``. Each wrapped STMG is compared, step
by step, with an unwrapped twin fed the same actions.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pettingzoo
import pytest
from pettingzoo.test import api_test

from tests.interop.helpers import (
    MATRIX_TASK,
    MUJOCO_TASK,
    TASKS,
    Task,
    make_aec,
    make_parallel,
    one_hot,
    random_action,
    require,
)

pytestmark = pytest.mark.both_envs

STACK = 3


@pytest.fixture(scope="module")
def ss():
    return require("supersuit")


def _twin_run(
    wrapped: pettingzoo.AECEnv,
    raw: pettingzoo.AECEnv,
    expect: Callable[[Any, np.ndarray, list[np.ndarray]], np.ndarray],
    decisions: int = 60,
) -> None:
    """Step ``wrapped`` and ``raw`` with the same actions; each wrapped observation must equal ``expect(...)``.

    ``expect(agent, raw_obs, history)`` gets the raw observation and the raw
    observations the agent saw at its earlier turns (oldest first).
    """
    wrapped.reset(seed=3)
    raw.reset(seed=3)
    history: dict[Any, list[np.ndarray]] = {a: [] for a in raw.possible_agents}
    rng = np.random.default_rng(3)
    for step in range(decisions):
        if not raw.agents:
            wrapped.reset(seed=3 + step)
            raw.reset(seed=3 + step)
            history = {a: [] for a in raw.possible_agents}
        agent = raw.agent_selection
        assert wrapped.agent_selection == agent
        obs, reward, terminated, truncated, _ = wrapped.last()
        raw_obs, raw_reward, raw_terminated, raw_truncated, _ = raw.last()
        assert wrapped.observation_space(agent).contains(obs), f"decision {step}: {obs} not in the wrapped space"
        np.testing.assert_allclose(obs, expect(agent, raw_obs, history[agent]), err_msg=f"decision {step}, {agent}")
        assert (reward, terminated, truncated) == (raw_reward, raw_terminated, raw_truncated)
        history[agent].append(raw_obs)
        action = None if terminated or truncated else random_action(raw.action_space(agent), rng)
        wrapped.step(action)
        raw.step(action)


def _stacked(agent: Any, obs: np.ndarray, history: list[np.ndarray]) -> np.ndarray:
    frames = [np.zeros_like(obs)] * STACK + history[-(STACK - 1) :] + [obs]
    return np.concatenate(frames[-STACK:])


def _wrappers(ss) -> dict[str, tuple[Callable, Callable]]:
    """name -> (wrap(env), expect(agent, raw_obs, history)) for homogeneous spaces."""
    same = lambda agent, obs, history: obs  # noqa: E731
    return {
        "flatten_v0": (ss.flatten_v0, same),
        "pad_observations_v0": (ss.pad_observations_v0, same),
        "pad_action_space_v0": (ss.pad_action_space_v0, same),
        "frame_stack_v1": (lambda env: ss.frame_stack_v1(env, STACK), _stacked),
    }


@pytest.mark.parametrize("name", ["flatten_v0", "pad_observations_v0", "pad_action_space_v0", "frame_stack_v1"])
@pytest.mark.parametrize("task", TASKS)
def test_aec_wrappers_keep_the_stmg_observations(ss, task: Task, name: str):
    """flatten, pad_observations, pad_action_space, frame_stack pass api_test and show the STMG's observations.

    frame_stack stacks each agent's *own* earlier observations (its turns), so
    the newest frame holds the prior actions of this time step.
    """
    wrap, expect = _wrappers(ss)[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        api_test(wrap(make_aec(task, flatten=True)), num_cycles=20)
    _twin_run(wrap(make_aec(task, flatten=True)), make_aec(task, flatten=True), expect)


def test_normalize_obs_maps_the_matrix_stmg_into_the_unit_box(ss):
    """normalize_obs rescales the flat STMG observation by its (finite) bounds, api_test included."""
    raw_space = make_aec(MATRIX_TASK, flatten=True).observation_space("agent_0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        api_test(ss.normalize_obs_v0(make_aec(MATRIX_TASK, flatten=True)), num_cycles=20)
    _twin_run(
        ss.normalize_obs_v0(make_aec(MATRIX_TASK, flatten=True)),
        make_aec(MATRIX_TASK, flatten=True),
        lambda agent, obs, history: (obs - raw_space.low) / (raw_space.high - raw_space.low),
    )


@pytest.mark.mujoco
def test_normalize_obs_refuses_mujoco_observations(ss):
    """MuJoCo observations are unbounded, so SuperSuit's normalize_obs refuses them (use a running normaliser)."""
    with pytest.raises(AssertionError, match="infinite bounds"):
        ss.normalize_obs_v0(make_aec(MUJOCO_TASK, flatten=True))


def test_observation_wrappers_need_the_flat_stmg(ss):
    """SuperSuit's observation wrappers refuse the Dict observation: flatten=True is the way in (README, section Interop)."""
    for wrap in (ss.frame_stack_v1, ss.pad_observations_v0):
        with pytest.raises(AssertionError):
            wrap(make_aec(MATRIX_TASK))


def test_pad_action_space_on_heterogeneous_actions(ss):
    """Discrete(2) and Discrete(3) agents both get Discrete(3) from pad_action_space; the extra action plays 0.

    The follower's prior_actions then show the leader's *played* action, as the STMG encodes it.
    """
    env = ss.pad_action_space_v0(pettingzoo.make("aec", "stmg/Matrix-v0", payoffs=np.zeros((2, 2, 3)), flatten=True))
    assert env.action_space("agent_0") == env.action_space("agent_1")
    assert env.action_space("agent_0").n == 3
    env.reset(seed=0)
    env.step(2)  # not an action of agent_0: SuperSuit maps it to 0
    prior_actions = env.observe("agent_1")[1:]  # the flat observation: own observation (1 value), then prior actions
    np.testing.assert_array_equal(prior_actions[env.unwrapped.action_layout["agent_0"]], one_hot(0, 2))


@pytest.mark.mujoco
def test_pad_observations_on_heterogeneous_observations(ss):
    """HalfCheetah 3x2 unpadded has observations of 22, 24 and 23 values; pad_observations zero-pads them to 24."""
    task: Task = ("stmg/HalfCheetah-v0", {"agent_conf": "3x2", "pad_observations": False, "episode_length": 5})
    raw = make_aec(task, flatten=True)
    sizes = {a: raw.observation_space(a).shape[0] for a in raw.possible_agents}
    assert len(set(sizes.values())) > 1
    width = max(sizes.values())
    env = ss.pad_observations_v0(make_aec(task, flatten=True))
    assert {env.observation_space(a).shape for a in env.possible_agents} == {(width,)}
    _twin_run(env, raw, lambda agent, obs, history: np.pad(obs, (0, width - obs.shape[0])))


@pytest.mark.parametrize("task", TASKS)
def test_parallel_form_as_a_gymnasium_vector_env(ss, task: Task):
    """pettingzoo_env_to_vec_env + concat_vec_envs: a slot per (copy, agent), joint-action rewards, auto-reset."""
    par = make_parallel(task)
    agents = par.possible_agents
    n = len(agents)
    vec = ss.concat_vec_envs_v1(
        ss.pettingzoo_env_to_vec_env_v1(make_parallel(task)), 2, num_cpus=0, base_class="gymnasium"
    )
    try:
        assert vec.num_envs == 2 * n
        assert vec.observation_space == par.observation_space(agents[0])
        assert vec.action_space == par.action_space(agents[0])
        obs, _ = vec.reset(seed=5)
        expected, _ = par.reset(seed=5)  # copy 0 is seeded with the seed itself
        np.testing.assert_allclose(obs[:n], np.stack([expected[a] for a in agents]))
        vec.action_space.seed(5)
        steps = 0
        while True:
            actions = np.stack([vec.action_space.sample() for _ in range(vec.num_envs)])
            obs, rewards, terminated, truncated, _ = vec.step(actions)
            _, expected_rewards, expected_terms, expected_truncs, _ = par.step(
                {a: actions[i] for i, a in enumerate(agents)}
            )
            steps += 1
            assert obs.shape == (vec.num_envs, *vec.observation_space.shape)
            np.testing.assert_allclose(rewards[:n], [expected_rewards[a] for a in agents], rtol=1e-5)
            assert list(truncated[:n]) == [expected_truncs[a] for a in agents]
            assert list(terminated[:n]) == [expected_terms[a] for a in agents]
            if truncated[0] or terminated[0]:
                break
        assert truncated[0] and steps == par.episode_length
        obs, rewards, terminated, truncated, _ = vec.step(actions)  # the next episode started by itself
        assert not truncated.any() and not terminated.any()
    finally:
        vec.close()


@pytest.mark.agents
@pytest.mark.parametrize("task", TASKS)
def test_sb3_ppo_on_the_supersuit_vector_env(ss, task: Task):
    """SB3 PPO trains on concat_vec_envs_v1(..., base_class='stable_baselines3'), unseeded (SB3 cannot seed it)."""
    sb3 = require("stable_baselines3")
    vec = ss.concat_vec_envs_v1(
        ss.pettingzoo_env_to_vec_env_v1(make_parallel(task)), 2, num_cpus=0, base_class="stable_baselines3"
    )
    try:
        model = sb3.PPO("MlpPolicy", vec, n_steps=16, batch_size=32, n_epochs=1, device="cpu")
        model.learn(2 * 16 * vec.num_envs)
        assert model.num_timesteps == 2 * 16 * vec.num_envs
    finally:
        vec.close()
