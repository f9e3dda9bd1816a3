"""Tests of stmg_envs.mujoco.factories: building the tasks and validating their arguments."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from stmg_envs.mujoco import ant, half_cheetah, many_segment_ant

FACTORIES = {"Ant": ant, "HalfCheetah": half_cheetah, "ManySegmentAnt": many_segment_ant}


@pytest.fixture
def closing():
    """Collects envs and closes them after the test."""
    envs = []

    def keep(env):
        envs.append(env)
        return env

    yield keep
    for env in envs:
        env.close()


@pytest.mark.mujoco
def test_every_sub_scenario_builds_with_its_agents_and_joints(sub_scenario, closing):
    """Each of the nine sub-scenarios builds, with the expected agents and per-agent action size."""
    _, scenario, conf, n_agents, per_agent = sub_scenario
    env = closing(FACTORIES[scenario](conf, episode_length=20))
    assert env.possible_agents == [f"agent_{i}" for i in range(n_agents)]
    for agent in env.possible_agents:
        space = env.action_space(agent)
        assert space.shape == (per_agent,)
        assert np.all(space.low == -1.0) and np.all(space.high == 1.0)
    observations, infos = env.reset(seed=0)
    assert set(observations) == set(infos) == set(env.possible_agents)


@pytest.mark.mujoco
@pytest.mark.parametrize(("factory", "agents"), [(ant, 2), (half_cheetah, 2), (many_segment_ant, 2)])
def test_default_agent_conf_is_the_papers_first(factory, agents, closing):
    """ant() is 2x4, half_cheetah() 2x3, many_segment_ant() 2x3 by default."""
    env = closing(factory(episode_length=20))
    assert env.agent_conf == {"ant": "2x4", "half_cheetah": "2x3", "many_segment_ant": "2x3"}[factory.__name__]
    assert len(env.possible_agents) == agents


@pytest.mark.parametrize(
    ("factory", "conf", "valid"),
    [(ant, "6x1", ("2x4", "4x2", "8x1")), (half_cheetah, "8x1", ("2x3", "3x2", "6x1"))],
)
def test_invalid_agent_conf_names_the_valid_ones(factory, conf, valid):
    """A factory refuses an agent_conf of another robot and lists its own valid ones."""
    with pytest.raises(ValueError) as info:
        factory(conf)
    for name in valid:
        assert repr(name) in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"agent_obsk": -1}, ValueError, "agent_obsk to be an int >= 0, got -1"),
        ({"agent_obsk": 1.0}, ValueError, "agent_obsk to be an int >= 0"),
        ({"agent_obsk": None}, ValueError, "agent_obsk to be an int >= 0"),
        ({"episode_length": 0}, ValueError, "episode_length to be an int >= 1, got 0"),
        ({"episode_length": True}, ValueError, "episode_length to be an int >= 1"),
        ({"render_mode": "rgb"}, ValueError, "render_mode to be None or one of"),
        ({"pad_observations": "yes"}, TypeError, "pad_observations to be a bool"),
        ({"gym_kwargs": [("ctrl_cost_weight", 0.1)]}, TypeError, "gym_kwargs to be a mapping"),
        ({"gym_kwargs": {"max_episode_steps": 5}}, ValueError, "set from episode_length"),
        ({"gym_kwargs": {"render_mode": "rgb_array"}}, ValueError, "set from render_mode"),
    ],
)
def test_bad_arguments_are_refused_with_expected_and_got(kwargs, error, match):
    """Each invalid argument raises a clear error saying what was expected and what was given."""
    with pytest.raises(error, match=match):
        half_cheetah("2x3", **kwargs)


def test_human_rendering_on_a_headless_machine_is_refused(monkeypatch):
    """render_mode='human' without a display raises RuntimeError instead of letting GLFW abort the process."""
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(RuntimeError, match="rgb_array"):
        half_cheetah("2x3", render_mode="human")


def test_missing_mujoco_names_the_extra_to_install(monkeypatch):
    """Without the mujoco binding, building a task raises ImportError naming pip install 'stmg-envs[mujoco]'."""
    monkeypatch.setitem(sys.modules, "mujoco", None)  # makes `import mujoco` fail
    with pytest.raises(ImportError, match=r"pip install 'stmg-envs\[mujoco\]'"):
        ant("2x4")


def test_missing_mujoco_through_the_registry_names_the_extra(monkeypatch):
    """pettingzoo.make on a MuJoCo task without mujoco raises the same helpful ImportError."""
    import pettingzoo

    import stmg_envs  # noqa: F401  (registers the tasks)

    monkeypatch.setitem(sys.modules, "mujoco", None)
    with pytest.raises(ImportError, match=r"stmg-envs\[mujoco\]"):
        pettingzoo.make("parallel", "stmg/HalfCheetah-v0")


@pytest.mark.mujoco
def test_agent_obsk_sets_how_far_agents_see(closing):
    """A larger agent_obsk gives longer observations (more neighbouring joints); 0 sees only its own."""
    sizes = []
    for k in (0, 1, 2):
        env = closing(half_cheetah("6x1", agent_obsk=k, episode_length=20, pad_observations=False))
        sizes.append(env.observation_space("agent_0").shape[0])
    assert sizes[0] < sizes[1] < sizes[2]


@pytest.mark.mujoco
def test_episode_length_truncates_exactly_there(closing):
    """With episode_length=N, steps 1..N-1 are not truncated, step N truncates every agent and ends the episode."""
    env = closing(half_cheetah("3x2", episode_length=7))  # HalfCheetah never terminates
    assert env.episode_length == 7
    env.reset(seed=0)
    zero = {a: np.zeros(env.action_space(a).shape, np.float32) for a in env.possible_agents}
    for _ in range(6):
        _, _, terminations, truncations, _ = env.step(zero)
        assert not any(truncations.values()) and not any(terminations.values())
        assert env.agents == env.possible_agents
    _, _, _, truncations, _ = env.step(zero)
    assert all(truncations.values())
    assert env.agents == []


@pytest.mark.mujoco
def test_default_episode_length_is_gymnasiums_1000(closing):
    """Without episode_length, episodes last the Gymnasium robots' (and the paper's) 1000 steps."""
    assert closing(ant()).episode_length == 1000


@pytest.mark.mujoco
def test_padded_observations_share_one_space_and_keep_the_librarys_values(closing):
    """pad_observations=True appends zeros to the library's observation; False keeps per-agent lengths."""
    raw = closing(half_cheetah("3x2", episode_length=20, pad_observations=False))
    padded = closing(half_cheetah("3x2", episode_length=20, pad_observations=True))
    raw_sizes = [raw.observation_space(a).shape[0] for a in raw.possible_agents]
    assert len(set(raw_sizes)) > 1, "3x2 agents are expected to see different numbers of values"
    assert {padded.observation_space(a).shape for a in padded.possible_agents} == {(max(raw_sizes),)}
    assert padded.observation_sizes == dict(zip(raw.possible_agents, raw_sizes))
    raw_obs, _ = raw.reset(seed=3)
    padded_obs, _ = padded.reset(seed=3)
    for agent, size in zip(raw.possible_agents, raw_sizes):
        assert padded_obs[agent].shape == (max(raw_sizes),)
        np.testing.assert_array_equal(padded_obs[agent][:size], raw_obs[agent])
        assert not padded_obs[agent][size:].any()
        assert padded.observation_space(agent).contains(padded_obs[agent])


@pytest.mark.mujoco
def test_gym_kwargs_reach_the_gymnasium_robot(closing):
    """gym_kwargs configure the -v5 robot: without reset noise every seed starts from the same state."""
    env = closing(ant("2x4", episode_length=20, gym_kwargs={"reset_noise_scale": 0.0}))
    env.reset(seed=1)
    first = env.state()
    env.reset(seed=2)
    np.testing.assert_array_equal(env.state(), first)
    noisy = closing(ant("2x4", episode_length=20))
    noisy.reset(seed=1)
    first = noisy.state()
    noisy.reset(seed=2)
    assert not np.array_equal(noisy.state(), first)


@pytest.mark.mujoco
def test_many_segment_ant_accepts_any_grid(closing):
    """ManySegmentAnt builds for grids beyond the paper's, e.g. 4 agents with one segment each."""
    env = closing(many_segment_ant("4x1", episode_length=20))
    assert len(env.possible_agents) == 4
    assert env.action_space("agent_0").shape == (4,)
