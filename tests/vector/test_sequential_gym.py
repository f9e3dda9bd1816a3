"""The Gymnasium vector entry point: K copies of the Gym view over the batched STMG equal make_vec(..., "sync")."""

from __future__ import annotations

import functools

import gymnasium
import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from pettingzoo import ParallelEnv

import stmg_envs
from stmg_envs.vector import SequentialGymVectorEnv
from tests.mujoco.conftest import MUJOCO_SKIP_REASON


def _equal(a, b, where: str) -> None:
    """Exact equality of nested infos/observations (arrays: values, shapes and dtypes)."""
    if isinstance(a, tuple):
        assert isinstance(b, tuple) and len(a) == len(b), f"{where}: {a!r} vs {b!r}"
        for i, (x, y) in enumerate(zip(a, b)):
            _equal(x, y, f"{where}[{i}]")
    elif isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), f"{where}: keys {sorted(a)} vs {sorted(b)}"
        for key in a:
            _equal(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.shape == b.shape and a.dtype == b.dtype, f"{where}: {a!r} vs {b!r}"
        if a.dtype == object:
            for i, (x, y) in enumerate(zip(a.tolist(), b.tolist())):
                _equal(x, y, f"{where}[{i}]")
        else:
            np.testing.assert_array_equal(a, b, err_msg=where)
    else:
        assert type(a) is type(b) and a == b, f"{where}: {a!r} vs {b!r}"


def _pair(task_id: str, num_envs: int, **kwargs):
    ours = gymnasium.make_vec(task_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs)
    sync = gymnasium.make_vec(
        task_id,
        num_envs=num_envs,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP},
        **kwargs,
    )
    return ours, sync


def _run_side_by_side(ours, sync, seed: int, steps: int) -> int:
    """Reset both with ``seed``, feed both the same random actions; every output equal. Returns the episode ends."""
    assert ours.single_observation_space == sync.single_observation_space
    assert ours.single_action_space == sync.single_action_space
    assert ours.observation_space == sync.observation_space and ours.action_space == sync.action_space
    _equal(ours.reset(seed=seed), sync.reset(seed=seed), "reset")
    ours.action_space.seed(seed)
    ends = 0
    for t in range(steps):
        actions = ours.action_space.sample()
        got, want = ours.step(actions), sync.step(actions)
        _equal(got, want, f"step {t}")
        assert ours.observation_space.contains(got[0]), f"step {t}: observation outside the space"
        ends += int(got[2].sum() + got[3].sum())
    return ends


@pytest.mark.parametrize("flatten", [False, True])
@pytest.mark.parametrize("order", [None, "reversed", "random"])
@pytest.mark.parametrize(("task_id", "kwargs"), [("stmg/Penalty-v0", {"k": -50}), ("stmg/Mixing-v0", {})])
def test_equals_sync_make_vec_of_the_same_id(task_id, kwargs, order, flatten):
    """Observations, rewards, terminations, truncations and infos (final_obs/final_info included) equal, exactly,
    SyncVectorEnv's in SAME_STEP mode over the registered single env, through several episode ends and autoresets."""
    ours, sync = _pair(task_id, 3, episode_length=3, order=order, flatten=flatten, **kwargs)
    assert isinstance(ours.unwrapped, SequentialGymVectorEnv) and isinstance(ours, VectorEnv)
    assert ours.metadata["autoreset_mode"] is AutoresetMode.SAME_STEP
    assert _run_side_by_side(ours, sync, seed=7, steps=40) > 0


def test_the_numpy_and_generic_backends_give_the_same_vector_env():
    """The backend is a speed choice only: both give what the sync vector env gives."""
    for backend in ("numpy", "generic"):
        ours = gymnasium.make_vec("stmg/Penalty-v0", 4, vectorization_mode="vector_entry_point", backend=backend)
        assert type(ours.unwrapped.batched.backend).__name__ == {"numpy": "MatrixBackend"}.get(
            backend, "GenericBackend"
        )
        sync = gymnasium.make_vec(
            "stmg/Penalty-v0", 4, vectorization_mode="sync", vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP}
        )
        _run_side_by_side(ours, sync, seed=1, steps=60)


def test_make_vec_uses_the_vector_entry_point_by_default_except_where_agents_leave_early():
    """make_vec(id, K) builds the batched vector env; tasks whose agents leave early register none (sync instead)."""
    assert isinstance(gymnasium.make_vec("stmg/Mixing-v0", 2).unwrapped, SequentialGymVectorEnv)
    for task_id in stmg_envs.registered_task_ids():
        spec = gymnasium.spec(task_id)
        leave = task_id == "stmg/OnRampMerge-v0"
        assert (spec.vector_entry_point is None) == leave, task_id


def test_the_single_env_passes_gymnasiums_checker_and_the_spaces_match():
    """The single env the vector env copies is a valid Gymnasium env, and its spaces are the vector env's single ones."""
    from gymnasium.utils.env_checker import check_env

    single = gymnasium.make("stmg/Mixing-v0")
    check_env(single.unwrapped, skip_render_check=True)
    ours = gymnasium.make_vec("stmg/Mixing-v0", 2, vectorization_mode="vector_entry_point")
    assert ours.single_observation_space == single.observation_space
    assert ours.single_action_space == single.action_space


def test_bad_actions_and_reset_masks_are_refused():
    """Actions outside the space raise the batched form's InvalidActionError; reset_mask is refused (lockstep)."""
    ours = gymnasium.make_vec("stmg/Mixing-v0", 2, vectorization_mode="vector_entry_point")
    with pytest.raises(RuntimeError, match="reset"):
        ours.step(np.zeros(2, dtype=np.int64))
    ours.reset(seed=0)
    with pytest.raises(stmg_envs.InvalidActionError):
        ours.step(np.array([0, 7]))
    with pytest.raises(ValueError, match="reset_mask"):
        ours.reset(options={"reset_mask": np.array([True, False])})


class _LeavesOnOddSeeds(ParallelEnv):
    """Two agents; on an odd seed agent_1 leaves after the first step while agent_0 plays on."""

    metadata = {"name": "leaves_v0"}

    def __init__(self):
        self.possible_agents = ["agent_0", "agent_1"]
        self._obs = spaces.Box(-1.0, 1.0, (1,), np.float32)
        self._act = spaces.Discrete(2)

    def observation_space(self, agent):
        return self._obs

    def action_space(self, agent):
        return self._act

    def reset(self, seed=None, options=None):
        self.agents, self.t, self.odd = list(self.possible_agents), 0, bool((seed or 0) % 2)
        return {a: np.zeros(1, np.float32) for a in self.agents}, {a: {} for a in self.agents}

    def step(self, actions):
        self.t += 1
        agents = list(self.agents)
        term = {a: self.odd and a == "agent_1" for a in agents}
        trunc = dict.fromkeys(agents, self.t >= 3)
        self.agents = [a for a in agents if not (term[a] or trunc[a])]
        obs = {a: np.zeros(1, np.float32) for a in agents}
        return obs, dict.fromkeys(agents, 1.0), term, trunc, {a: {} for a in agents}


def test_copies_whose_live_agents_differ_are_refused_not_faked():
    """When the copies' numbers of live agents differ the lockstep is no longer K single envs: it raises, saying what
    to use instead, rather than returning placeholder transitions."""
    venv = SequentialGymVectorEnv(_LeavesOnOddSeeds, 2)
    venv.reset(seed=0)  # copy 0 even, copy 1 odd
    venv.step(np.zeros(2, dtype=np.int64))
    with pytest.raises(RuntimeError, match="batched_stmg"):
        venv.step(np.zeros(2, dtype=np.int64))


def test_spaces_the_gym_view_refuses_are_refused_the_same_way():
    """Agents with different spaces: the same ValueError as gymnasium.make (one space shared by all agents)."""
    from stmg_envs.matrix import MatrixGame

    with pytest.raises(ValueError, match="one action space shared by all agents"):
        SequentialGymVectorEnv(functools.partial(MatrixGame, np.zeros((2, 2, 3))), 2)


@pytest.mark.mujoco
@pytest.mark.skipif(MUJOCO_SKIP_REASON is not None, reason=str(MUJOCO_SKIP_REASON))
def test_a_box_action_task_equals_sync_make_vec():
    """A MuJoCo task (Box actions, the mujoco.batch backend where available): equal to the sync vector env."""
    ours, sync = _pair("stmg/HalfCheetah-v0", 2)
    _run_side_by_side(ours, sync, seed=3, steps=8)
