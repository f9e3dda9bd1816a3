"""The native MuJoCo backend (mujoco.batch) equals the generic backend on the same actions, through episode ends."""

from __future__ import annotations

import numpy as np
import pytest

from tests.mujoco.conftest import MUJOCO_SKIP_REASON

pytestmark = pytest.mark.mujoco

if MUJOCO_SKIP_REASON is None:
    from stmg_envs.vector.mujoco import batch_available

    BATCH_SKIP_REASON = None if batch_available() else "mujoco.batch is missing (it needs MuJoCo >= 4.0)"
else:
    BATCH_SKIP_REASON = MUJOCO_SKIP_REASON

#: Absolute tolerance of the equality (mujoco.batch steps as mj_step does: in practice the values are identical).
ATOL = 1e-9


def _close(a, b, where):
    if isinstance(a, np.ndarray):
        assert a.shape == b.shape and a.dtype == b.dtype, f"{where}: {a.dtype}{a.shape} vs {b.dtype}{b.shape}"
        if a.dtype.kind == "f":
            np.testing.assert_allclose(a, b, rtol=0, atol=ATOL, err_msg=where)
        else:
            np.testing.assert_array_equal(a, b, err_msg=where)
    else:  # sparse infos
        assert sorted(a) == sorted(b), where
        for e in b:
            assert a[e].keys() == b[e].keys(), where
            for agent in b[e]:
                assert a[e][agent].keys() == b[e][agent].keys(), where
                for key, value in b[e][agent].items():
                    assert abs(a[e][agent][key] - value) <= ATOL, f"{where}[{e}][{agent}][{key}]"


def _factory(robot, conf, episode_length):
    from stmg_envs.mujoco import ant, half_cheetah, many_segment_ant

    if robot == "HalfCheetah":
        return lambda: half_cheetah(conf, episode_length=episode_length)
    if robot == "Ant":  # a narrow healthy range: the ant falls (terminates) within a few steps, some copies earlier
        return lambda: ant(conf, episode_length=episode_length, gym_kwargs={"healthy_z_range": (0.6, 1.0)})
    return lambda: many_segment_ant(conf, episode_length=episode_length)


def _time_steps(robot, conf, order, episode_length, steps, seed):
    from stmg_envs.vector import BatchedSTMG, GenericBackend, make_backend
    from stmg_envs.vector.mujoco import MuJoCoBackend

    make = _factory(robot, conf, episode_length)

    native = BatchedSTMG(MuJoCoBackend(make(), 3, nthread=2), order=order)
    generic = BatchedSTMG(make_backend(make, 3, "generic"), order=order)
    assert isinstance(generic.backend, GenericBackend)
    obs_a, info_a = native.reset(seed=seed)
    obs_b, info_b = generic.reset(seed=seed)
    yield "reset", obs_a, obs_b, info_a, info_b
    rng = np.random.default_rng(seed)
    low, high = native.single_action_space.low, native.single_action_space.high
    for t in range(steps):
        done_a = None
        while done_a is None:
            actions = rng.uniform(low, high, size=(3, *low.shape)).astype(np.float32)
            (obs_a, done_a), (obs_b, done_b) = native.step(actions), generic.step(actions)
            yield f"step {t}", obs_a, obs_b, None, None
        assert done_b is not None
        _close(native.state(), generic.state(), f"states after time step {t}")
        assert (done_a.final_state is None) == (done_b.final_state is None)
        yield f"time step {t}", done_a, done_b, done_a.infos, done_b.infos
        yield f"time step {t} resets", done_a, done_b, done_a.reset_infos, done_b.reset_infos


@pytest.mark.skipif(BATCH_SKIP_REASON is not None, reason=str(BATCH_SKIP_REASON))
@pytest.mark.parametrize(
    ("robot", "conf", "order"),
    [
        ("HalfCheetah", "2x3", None),
        ("HalfCheetah", "6x1", "random"),
        ("HalfCheetah", "3x2", "reversed"),
        ("Ant", "2x4", None),
        ("Ant", "4x2", "random"),
        ("ManySegmentAnt", "2x3", None),
    ],
)
def test_native_robot_equals_generic(robot, conf, order):
    """Rank observations, rewards, terminations (Ant falls), truncations, final observations, global states and
    infos on mujoco.batch equal our single env's (the generic backend) within ATOL, through episode ends and
    autoresets (Ant's contact forces included)."""
    ends = terminations = 0
    episode_length, steps = (30, 40) if robot == "Ant" else (6, 20)
    for where, a, b, infos_a, infos_b in _time_steps(robot, conf, order, episode_length, steps, seed=4):
        for field, x, y in zip(a._fields, a, b):
            if isinstance(x, np.ndarray):
                _close(x, y, f"{where}.{field}")
        if infos_a is not None:
            _close(infos_a, infos_b, f"{where} infos")
        if where.endswith("resets"):
            ends += int(a.episode_over.sum())
            terminations += int(a.terminations[:, 0].sum())
    assert ends >= 3 * (1 if robot == "Ant" else 3)
    assert (terminations > 0) == (robot == "Ant")


def test_auto_falls_back_to_the_generic_backend():
    """make_backend("auto") takes the native backend for the robots it runs when mujoco.batch exists, and the
    generic one for the others (Hopper) or without mujoco.batch."""
    if MUJOCO_SKIP_REASON is not None:
        pytest.skip(MUJOCO_SKIP_REASON)
    from gymnasium_robotics import mamujoco_v1

    from stmg_envs.mujoco import MaMuJoCoParallelEnv, ant
    from stmg_envs.vector import GenericBackend, make_backend
    from stmg_envs.vector.mujoco import MuJoCoBackend

    native = MuJoCoBackend if BATCH_SKIP_REASON is None else GenericBackend
    assert isinstance(make_backend(_factory("HalfCheetah", "2x3", 5), 2), native)
    assert isinstance(make_backend(lambda: ant("2x4", episode_length=5), 2), native)

    def hopper():
        return MaMuJoCoParallelEnv(mamujoco_v1.parallel_env("Hopper", "3x1", max_episode_steps=5))

    assert isinstance(make_backend(hopper, 2), GenericBackend)
    with pytest.raises(TypeError, match="MuJoCoBackend expected a HalfCheetah, Ant or ManySegmentAnt"):
        MuJoCoBackend(hopper(), 2)
