"""Property-based tests: the STMG invariants hold on randomly generated ParallelEnvs."""

from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np
from gymnasium import spaces
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pettingzoo.test import api_test

from stmg_envs import stmg_v0
from stmg_envs.testing import assert_same
from stmg_envs.wrappers import STMGEnv
from stmg_envs.wrappers.stmg import _Phase
from tests.wrappers.toy_env import AgentSpec, ToyParallelEnv, encoded, joint_reward

plain_action_spaces = st.one_of(
    st.integers(1, 4).map(spaces.Discrete),
    st.integers(1, 3).map(lambda n: spaces.Box(-1.0, 1.0, shape=(n,), dtype=np.float32)),
    st.lists(st.integers(1, 3), min_size=1, max_size=3).map(spaces.MultiDiscrete),
    st.integers(1, 3).map(spaces.MultiBinary),
)
action_spaces = st.one_of(
    plain_action_spaces,
    st.tuples(st.integers(1, 4), st.integers(-2, 2)).map(lambda t: spaces.Discrete(t[0], start=t[1])),
)


@st.composite
def toy_envs(draw, action_space_strategy=action_spaces):
    n = draw(st.integers(1, 4))
    length = draw(st.integers(1, 6))
    specs = {}
    for i in range(n):
        space = draw(action_space_strategy)
        masked = isinstance(space, spaces.Discrete) and space.start == 0 and draw(st.booleans())
        appears = 0 if i == 0 else draw(st.sampled_from([0, 0, 1, 2]))
        ends = draw(st.one_of(st.none(), st.integers(1, length)))
        truncated = draw(st.one_of(st.none(), st.integers(1, length)))
        specs[f"agent_{i}"] = AgentSpec(
            space,
            obs_size=draw(st.integers(1, 3)),
            with_action_mask=masked,
            appears_at=appears,
            terminates_at=ends,
            truncated_at=truncated,
        )
    kind = draw(st.sampled_from(["default", "random", "fixed", "callable"]))
    if kind == "default":
        order = None
    elif kind == "random":
        order = "random"
    elif kind == "fixed":
        order = draw(st.permutations(list(specs)))
    else:

        def order(env, rng):
            agents = list(env.agents)
            return [agents[i] for i in rng.permutation(len(agents))]

    return specs, length, order, draw(st.booleans())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(toy_envs(), st.integers(0, 2**16))
def test_stmg_invariants_on_random_parallel_envs(setup, seed):
    """Every live agent acts once per time step in order, sees exactly the actions above it, and the
    parallel env is stepped once per time step with exactly those actions; rewards pass through."""
    specs, length, order, _flatten = setup
    toy = ToyParallelEnv(specs, episode_length=length)
    env = stmg_v0(toy, order=order)
    flat = stmg_v0(ToyParallelEnv(specs, episode_length=length), order=order, flatten=True)
    rng = np.random.default_rng(seed)
    for episode in range(2):
        env.reset(seed=seed + episode)
        flat.reset(seed=seed + episode)
        toy.log.clear()
        chosen: dict = {}
        acted: list = []
        steps_done = 0
        for agent in env.agent_iter():
            obs, _, term, trunc, info = env.last()
            flat_obs, *_ = flat.last()
            assert flat.agent_selection == agent
            assert env.observation_space(agent).contains(obs)
            assert flat.observation_space(agent).contains(flat_obs)
            if term or trunc:
                env.step(None)
                flat.step(None)
                continue
            rank = info["rank"]
            assert env.order[rank] == agent and int(obs["rank"]) == rank
            assert acted == list(env.order[:rank])
            expected = np.zeros_like(obs["prior_actions"])
            for other in acted:
                expected[env.action_layout[other]] = encoded(env.action_space(other), chosen[other])
            np.testing.assert_array_equal(obs["prior_actions"], expected)
            flat_part = flat_obs[flat._flat_parts[agent][1]]
            np.testing.assert_array_equal(flat_part, expected)
            space = env.action_space(agent)
            mask = obs.get("action_mask")
            action = space.sample(mask) if mask is not None and mask.any() else space.sample()
            if isinstance(space, spaces.Box):
                action = rng.uniform(-1, 1, size=space.shape).astype(np.float32)
            chosen[agent] = action
            acted.append(agent)
            before = len(toy.log)
            env.step(action)
            flat.step(action)
            if len(acted) == len(env.order) or env.num_time_steps > steps_done:
                assert len(toy.log) == before + 1 and env.num_time_steps == steps_done + 1
                steps_done += 1
                assert set(toy.log[-1]) == set(acted)
                for a in acted:
                    np.testing.assert_array_equal(toy.log[-1][a], chosen[a])
                    assert env.rewards[a] == joint_reward(toy.possible_agents.index(a), chosen)
                chosen, acted = {}, []
            else:
                assert len(toy.log) == before
        assert len(toy.log) == steps_done == env.num_time_steps


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(toy_envs(plain_action_spaces))  # api_test steps Discrete spaces with 0, so no start offsets here
def test_pettingzoo_api_test_passes_on_random_parallel_envs(setup):
    """PettingZoo's own api_test accepts the STMG of any generated ParallelEnv."""
    specs, length, order, flatten = setup
    env = stmg_v0(ToyParallelEnv(specs, episode_length=length), order=order, flatten=flatten)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        api_test(env, num_cycles=20)


class _GeneralPathsOnly(STMGEnv):
    """The STMG with its hot paths switched off: its phase never reads ``RUNNING`` (the one state value the
    fast paths test), so every call takes the general path; the other phases read as they are."""

    @property
    def _phase(self):
        return _Phase.DEAD_STEPS if self._stored_phase is _Phase.RUNNING else self._stored_phase

    @_phase.setter
    def _phase(self, value):
        self._stored_phase = value


def _snapshot(env: STMGEnv, observation) -> tuple:
    return (
        env.agent_selection,
        observation,
        dict(env.rewards),
        dict(env._cumulative_rewards),
        dict(env.terminations),
        dict(env.truncations),
        {a: dict(i) for a, i in env.infos.items()},
        list(env.agents),
        env.num_time_steps,
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(toy_envs(), st.integers(0, 2**16))
def test_hot_paths_match_the_general_path(setup, seed):
    """The shortcuts of step()/last()/the time step (taken while no agent waits for its dead step) give
    exactly what the general path gives: same observations, rewards, flags, infos, agents, at every decision."""
    specs, length, order, flatten = setup
    fast = stmg_v0(ToyParallelEnv(specs, episode_length=length), order=order, flatten=flatten)
    general = _GeneralPathsOnly(ToyParallelEnv(specs, episode_length=length), order=order, flatten=flatten)
    rng = np.random.default_rng(seed)
    for episode in range(2):
        fast.reset(seed=seed + episode)
        general.reset(seed=seed + episode)
        for agent in fast.agent_iter():
            observation, *_ = fast.last()
            general_observation, *_ = general.last()
            assert_same(_snapshot(fast, observation), _snapshot(general, general_observation), agent, exact=True)
            waiting = any(fast.terminations[a] or fast.truncations[a] for a in fast.agents)
            assert (fast._phase is _Phase.RUNNING) is not waiting  # the invariant the fast paths rely on
            assert general._phase is not _Phase.RUNNING
            if fast.terminations[agent] or fast.truncations[agent]:
                action = None
            else:
                space = fast.action_space(agent)
                action = space.sample()
                if isinstance(space, spaces.Box):
                    action = rng.uniform(-1, 1, size=space.shape).astype(np.float32)
                elif isinstance(space, spaces.Discrete) and rng.random() < 0.5:
                    action = int(action)  # the plain-int shortcut as well as NumPy integers
            fast.step(action)
            general.step(action)
        assert general.agents == [] and fast._phase is general._phase is _Phase.OVER
        assert_same(_snapshot(fast, None)[1:], _snapshot(general, None)[1:], "episode end", exact=True)
