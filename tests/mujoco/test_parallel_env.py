"""Tests of stmg_envs.mujoco.parallel_env.MaMuJoCoParallelEnv (the ParallelEnv wrapper of MaMuJoCo)."""

from __future__ import annotations

import numpy as np
import pytest
from pettingzoo.test import parallel_api_test

from stmg_envs.mujoco import MaMuJoCoParallelEnv, make_mamujoco

pytestmark = pytest.mark.mujoco

EPISODE_LENGTH = 20


@pytest.fixture
def env():
    """A HalfCheetah 3x2 (agents with unequal observations), closed after the test."""
    built = make_mamujoco("HalfCheetah", "3x2", episode_length=EPISODE_LENGTH)
    yield built
    built.close()


def random_actions(env: MaMuJoCoParallelEnv, rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {a: rng.uniform(-1.0, 1.0, env.action_space(a).shape).astype(np.float32) for a in env.agents}


def rollout(env: MaMuJoCoParallelEnv, seed: int, steps: int) -> list[tuple]:
    """(observations, rewards, terminations, truncations, state) of each step, actions from a seeded RNG."""
    rng = np.random.default_rng(1234)
    observations, _ = env.reset(seed=seed)
    trajectory = [(observations, None, None, None, env.state())]
    for _ in range(steps):
        if not env.agents:
            break
        observations, rewards, terminations, truncations, _ = env.step(random_actions(env, rng))
        trajectory.append((observations, rewards, terminations, truncations, env.state()))
    return trajectory


def assert_same_trajectory(first: list[tuple], second: list[tuple]) -> None:
    assert len(first) == len(second)
    for (obs_a, rew_a, term_a, trunc_a, state_a), (obs_b, rew_b, term_b, trunc_b, state_b) in zip(first, second):
        assert obs_a.keys() == obs_b.keys()
        for agent in obs_a:
            np.testing.assert_array_equal(obs_a[agent], obs_b[agent])
        assert (rew_a, term_a, trunc_a) == (rew_b, term_b, trunc_b)
        np.testing.assert_array_equal(state_a, state_b)


def test_parallel_api_test_passes_on_every_sub_scenario(sub_scenario):
    """PettingZoo's parallel_api_test accepts each of the nine sub-scenarios (short episodes)."""
    _, scenario, conf, _, _ = sub_scenario
    built = make_mamujoco(scenario, conf, episode_length=EPISODE_LENGTH)
    try:
        parallel_api_test(built, num_cycles=2 * EPISODE_LENGTH)
    finally:
        built.close()


def test_parallel_api_test_passes_with_library_observation_lengths():
    """parallel_api_test also passes with pad_observations=False (agents with different spaces)."""
    built = make_mamujoco("HalfCheetah", "6x1", episode_length=EPISODE_LENGTH, pad_observations=False)
    try:
        parallel_api_test(built, num_cycles=2 * EPISODE_LENGTH)
    finally:
        built.close()


def test_same_seed_gives_identical_multi_step_trajectories(sub_scenario):
    """Two envs reset with one seed and fed the same actions agree exactly on 25 steps of obs, rewards, ends, state."""
    _, scenario, conf, _, _ = sub_scenario
    first = make_mamujoco(scenario, conf, episode_length=30)
    second = make_mamujoco(scenario, conf, episode_length=30)
    try:
        trajectory = rollout(first, seed=11, steps=25)
        assert len(trajectory) > 20, "the episode ended too early to check 20 steps"
        assert_same_trajectory(trajectory, rollout(second, seed=11, steps=25))
        # Re-seeding the same env reproduces it too (no state leaks between episodes).
        assert_same_trajectory(trajectory, rollout(first, seed=11, steps=25))
    finally:
        first.close()
        second.close()


def test_different_seeds_give_different_initial_states(env):
    """reset(seed=...) really seeds the initial state: two seeds start apart."""
    env.reset(seed=0)
    state = env.state()
    env.reset(seed=1)
    assert not np.array_equal(env.state(), state)


def test_spaces_are_cached_and_contain_what_the_env_returns(env):
    """observation_space/action_space return the same object each call; obs, state and sampled actions fit them."""
    observations, _ = env.reset(seed=0)
    for agent in env.possible_agents:
        assert env.observation_space(agent) is env.observation_space(agent)
        assert env.action_space(agent) is env.action_space(agent)
        assert env.observation_space(agent).contains(observations[agent])
    assert env.state_space.contains(env.state())
    observations, *_ = env.step({a: env.action_space(a).sample() for a in env.agents})
    for agent in env.possible_agents:
        assert env.observation_space(agent).contains(observations[agent])
    assert env.state_space.contains(env.state())


def test_state_is_the_single_agent_observation_of_the_robot(env):
    """state() is the whole robot's Gymnasium observation (17 values for HalfCheetah), shape of state_space."""
    env.reset(seed=0)
    assert env.state_space.shape == (17,)
    assert env.state().shape == env.state_space.shape
    np.testing.assert_array_equal(env.state(), env.mamujoco.single_agent_env.unwrapped._get_obs())


def test_render_mode_and_metadata_are_set(env):
    """render_mode is an attribute (None here); metadata names the task and carries render_fps."""
    assert env.render_mode is None
    assert env.metadata["name"] == "mamujoco_HalfCheetah_3x2"
    assert env.metadata["render_fps"] == 20
    assert "rgb_array" in env.metadata["render_modes"]
    assert MaMuJoCoParallelEnv.metadata["name"] == "mamujoco", "the class metadata must not be mutated"


def test_reward_is_shared_and_infos_are_separate_dicts(env):
    """All agents get the same reward, and each its own info dict (writing one does not change the others)."""
    _, infos = env.reset(seed=0)
    assert len({id(info) for info in infos.values()}) == len(env.possible_agents)
    _, rewards, _, _, infos = env.step({a: env.action_space(a).sample() for a in env.agents})
    assert len(set(rewards.values())) == 1
    assert all(isinstance(r, float) for r in rewards.values())
    infos["agent_0"]["rank"] = 0
    assert "rank" not in infos["agent_1"]


def test_agents_is_not_an_alias_of_possible_agents(env):
    """Editing agents (as some wrappers do) leaves possible_agents intact."""
    env.reset(seed=0)
    env.agents.remove("agent_0")
    assert env.possible_agents == ["agent_0", "agent_1", "agent_2"]


def test_step_without_a_running_episode_is_refused(env):
    """step() before reset() or after the episode ended raises RuntimeError telling to call reset()."""
    zero = {a: np.zeros(env.action_space(a).shape, np.float32) for a in env.possible_agents}
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(zero)
    env.reset(seed=0)
    for _ in range(EPISODE_LENGTH):
        env.step(zero)
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(zero)


def test_missing_extra_or_misshaped_actions_are_refused(env):
    """A missing agent, an unknown agent or a wrongly shaped action raises ValueError (expected vs got)."""
    env.reset(seed=0)
    actions = {a: np.zeros(env.action_space(a).shape, np.float32) for a in env.agents}
    missing = dict(actions)
    del missing["agent_2"]
    with pytest.raises(ValueError, match="expected one action for each live agent"):
        env.step(missing)
    with pytest.raises(ValueError, match="got actions for"):
        env.step({**actions, "agent_9": actions["agent_0"]})
    with pytest.raises(ValueError, match=r"expected the action of 'agent_1' to have shape \(2,\), got shape \(3,\)"):
        env.step({**actions, "agent_1": np.zeros(3, np.float32)})


def test_unknown_agent_space_lookup_names_the_agents(env):
    """observation_space/action_space of an unknown agent raise KeyError listing the possible agents."""
    with pytest.raises(KeyError, match="agent_0"):
        env.observation_space("agent_7")
    with pytest.raises(KeyError, match="agent_0"):
        env.action_space("ghost")


@pytest.mark.parametrize("agent_obsk", [0, 1, 2])
def test_gathered_observations_equal_the_librarys_through_episode_ends(sub_scenario, agent_obsk):
    """The index gathers give exactly Gymnasium-Robotics' observations, rewards, ends and state.

    Our env and the library's own ``MultiAgentMujocoEnv`` (built the same way, stepped through its
    ``reset``/``step``) get the same seeds and actions for three episodes of 15 steps; observations
    (padded and unpadded) and ``state()`` must be bit-identical, also at each episode's last step.
    """
    _, scenario, conf, _, _ = sub_scenario
    ours = make_mamujoco(scenario, conf, agent_obsk=agent_obsk, episode_length=15, pad_observations=False)
    padded = make_mamujoco(scenario, conf, agent_obsk=agent_obsk, episode_length=15)
    library = make_mamujoco(scenario, conf, agent_obsk=agent_obsk, episode_length=15).mamujoco
    rng = np.random.default_rng(agent_obsk)
    try:
        assert ours.fast_observations and padded.fast_observations
        for episode in range(3):
            expected, _ = library.reset(seed=episode)
            got, _ = ours.reset(seed=episode)
            got_padded, _ = padded.reset(seed=episode)
            ends = 0
            while True:
                for agent in ours.possible_agents:
                    np.testing.assert_array_equal(got[agent], expected[agent])
                    size = expected[agent].shape[0]
                    np.testing.assert_array_equal(got_padded[agent][:size], expected[agent])
                    assert not got_padded[agent][size:].any()
                np.testing.assert_array_equal(ours.state(), library.state())
                np.testing.assert_array_equal(padded.state(), library.state())
                if not ours.agents:
                    break
                actions = random_actions(ours, rng)
                expected, rewards, terminations, truncations, _ = library.step(actions)
                got, our_rewards, our_terminations, our_truncations, _ = ours.step(actions)
                got_padded, *_ = padded.step(actions)
                agent = ours.possible_agents[0]
                assert our_rewards[agent] == rewards[agent]
                assert (our_terminations[agent], our_truncations[agent]) == (terminations[agent], truncations[agent])
                ends += bool(terminations[agent] or truncations[agent])
            assert ends == 1
    finally:
        ours.close()
        padded.close()
        library.close()


def test_an_env_the_gathers_cannot_trace_keeps_the_librarys_path():
    """Hopper's graph computes velocities (clipped to [-10, 10]) instead of reading them: the library builds them."""
    from gymnasium_robotics import mamujoco_v1

    built = MaMuJoCoParallelEnv(mamujoco_v1.parallel_env("Hopper", "3x1", max_episode_steps=5))
    try:
        assert not built.fast_observations
        observations, _ = built.reset(seed=0)
        for agent in built.possible_agents:
            np.testing.assert_array_equal(observations[agent], built.mamujoco._get_obs()[agent])
        observations, *_ = built.step({a: built.action_space(a).sample() for a in built.agents})
        for agent in built.possible_agents:
            np.testing.assert_array_equal(observations[agent], built.mamujoco._get_obs()[agent])
        np.testing.assert_array_equal(built.state(), built.mamujoco.state())
    finally:
        built.close()


def test_gathers_also_hold_for_a_non_default_contact_force_range():
    """The local views clip contact forces to [-1, 1] whatever the robot's own range: the gathers read the raw forces."""
    built = make_mamujoco("Ant", "2x4", episode_length=30, gym_kwargs={"contact_force_range": (-0.1, 0.1)})
    rng = np.random.default_rng(0)
    try:
        assert built.fast_observations
        built.reset(seed=0)
        while built.agents:
            observations, *_ = built.step(random_actions(built, rng))
            expected = built.mamujoco._get_obs()
            for agent in built.possible_agents:
                np.testing.assert_array_equal(observations[agent][: expected[agent].shape[0]], expected[agent])
    finally:
        built.close()


def test_a_wrapper_of_the_users_on_the_robot_is_stepped_and_gives_the_same_trajectory():
    """The fast path steps the robot under ``gymnasium.make``'s own wrappers (counting the time limit itself), but
    any other wrapper around the robot stays in the loop: it sees every step, and the trajectory (observations,
    rewards, ends at the time limit, state) is the same as without it."""
    import gymnasium
    from gymnasium_robotics import mamujoco_v1

    class Counting(gymnasium.Wrapper):
        steps = 0

        def step(self, action):
            Counting.steps += 1
            return super().step(action)

    plain = MaMuJoCoParallelEnv(mamujoco_v1.parallel_env("HalfCheetah", "2x3", max_episode_steps=7))
    library = mamujoco_v1.parallel_env("HalfCheetah", "2x3", max_episode_steps=7)
    library.single_agent_env = Counting(library.single_agent_env)
    wrapped = MaMuJoCoParallelEnv(library)
    try:
        assert plain.fast_observations and wrapped.fast_observations and plain.episode_length == 7
        before = Counting.steps
        first, second = rollout(plain, seed=3, steps=30), rollout(wrapped, seed=3, steps=30)
        assert Counting.steps - before == 7 and len(first) == 8  # one episode: 7 steps, truncated at the 7th
        assert first[-1][3] == dict.fromkeys(plain.possible_agents, True)
        assert_same_trajectory(first, second)
        assert_same_trajectory(rollout(plain, seed=3, steps=30), first)  # the time limit restarts with reset
    finally:
        plain.close()
        wrapped.close()
