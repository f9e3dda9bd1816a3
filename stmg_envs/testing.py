"""Conformance checks for stmg tasks, shipped like ``pettingzoo.test``.

:func:`check_task` runs, for a registered task, PettingZoo's ``api_test`` and
``seed_test`` on the sequential (AEC) form, ``parallel_api_test`` on the
simultaneous form, a multi-step determinism check on both forms and on the
Gymnasium view (PettingZoo's ``parallel_seed_test`` compares a single step
only), and Gymnasium's ``check_env``.

Examples:
    >>> import stmg_envs
    >>> from stmg_envs.testing import check_task
    >>> check_task("stmg/Penalty-v0", num_cycles=10, quiet=True)
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from typing import Any

import gymnasium
import numpy as np
import pettingzoo

__all__ = [
    "check_task",
    "aec_determinism_test",
    "parallel_determinism_test",
    "gym_determinism_test",
    "assert_same",
]


def assert_same(a: Any, b: Any, where: str, exact: bool = False) -> None:
    """Assert two (nested) observations/rewards/infos are equal, NaN-aware, with a readable message.

    With ``exact=True`` they must also agree in form: dict keys in the same order, the same
    container and scalar types, arrays of the same dtype.
    """
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), f"{where}: keys differ: {list(a)} vs {list(b)}"
        assert not exact or list(a) == list(b), f"{where}: key order differs: {list(a)} vs {list(b)}"
        for key in a:
            assert_same(a[key], b[key], f"{where}[{key!r}]", exact)
    elif isinstance(a, (tuple, list)):
        assert isinstance(b, (tuple, list)) and len(a) == len(b), f"{where}: lengths differ"
        assert not exact or type(a) is type(b), f"{where}: {type(a).__name__} vs {type(b).__name__}"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]", exact)
    elif isinstance(a, (np.ndarray, np.generic)) or isinstance(b, (np.ndarray, np.generic)):
        assert np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True), f"{where}: {a!r} != {b!r}"
        assert not exact or (type(a) is type(b) and np.asarray(a).dtype == np.asarray(b).dtype), (
            f"{where}: {type(a).__name__} of {np.asarray(a).dtype} vs {type(b).__name__} of {np.asarray(b).dtype}"
        )
    else:
        assert a == b or (a != a and b != b), f"{where}: {a!r} != {b!r}"  # noqa: PLR0124
        assert not exact or type(a) is type(b), f"{where}: {type(a).__name__} vs {type(b).__name__}"


def aec_determinism_test(env_fn: Callable[[], Any], num_steps: int = 200, seed: int = 42) -> None:
    """Two AEC envs reset with the same seed and fed the same seeded actions give the same trajectory.

    Runs ``num_steps`` decisions (resetting with ``seed + episode`` when an
    episode ends) and compares every ``agent_selection``, observation, reward,
    termination, truncation and info.
    """
    envs = [env_fn(), env_fn()]
    episode = 0
    for env in envs:
        env.reset(seed=seed)
        for agent in env.possible_agents:
            env.action_space(agent).seed(seed)
    for step in range(num_steps):
        records = []
        for env in envs:
            if not env.agents:
                env.reset(seed=seed + episode + 1)
            agent = env.agent_selection
            obs, reward, term, trunc, info = env.last()
            if term or trunc:
                action = None
            else:
                mask = obs.get("action_mask") if isinstance(obs, dict) else info.get("action_mask")
                action = env.action_space(agent).sample(mask)
            env.step(action)
            records.append((agent, obs, reward, term, trunc, info, action))
        if not envs[0].agents:
            episode += 1
        assert_same(records[0], records[1], f"decision {step}")


def parallel_determinism_test(env_fn: Callable[[], Any], num_steps: int = 100, seed: int = 42) -> None:
    """Like :func:`aec_determinism_test` for the parallel form, over many steps."""
    envs = [env_fn(), env_fn()]
    outs = [env.reset(seed=seed) for env in envs]
    assert_same(outs[0], outs[1], "reset")
    for env in envs:
        for agent in env.possible_agents:
            env.action_space(agent).seed(seed)
    resets = 0
    for step in range(num_steps):
        results = []
        for env in envs:
            if env.agents:
                actions = {agent: env.action_space(agent).sample() for agent in env.agents}
                results.append((actions, *env.step(actions)))
            else:
                results.append(env.reset(seed=seed + resets + 1))
        resets += len(results[0]) == 2
        assert_same(results[0], results[1], f"parallel step {step}")


def gym_determinism_test(env_fn: Callable[[], gymnasium.Env], num_steps: int = 200, seed: int = 42) -> None:
    """Like :func:`aec_determinism_test` for a ``gymnasium.Env`` (the Gymnasium view of a task)."""
    envs = [env_fn(), env_fn()]
    outs = [env.reset(seed=seed) for env in envs]
    assert_same(outs[0], outs[1], "reset")
    for env in envs:
        env.action_space.seed(seed)
    episode = 0
    for step in range(num_steps):
        results = []
        for env in envs:
            action = env.action_space.sample()
            obs, reward, term, trunc, info = env.step(action)
            results.append((action, obs, reward, term, trunc, info))
            if term or trunc:
                env.reset(seed=seed + episode + 1)
        if results[0][3] or results[0][4]:
            episode += 1
        assert_same(results[0], results[1], f"gym step {step}")


def check_task(task_id: str, num_cycles: int = 50, quiet: bool = False, **kwargs: Any) -> None:
    """Run every conformance check on a registered task; raise ``AssertionError`` on the first failure.

    Args:
        task_id: A registered ID such as ``"stmg/Penalty-v0"``.
        num_cycles: Cycles for PettingZoo's tests and decisions/steps for the determinism checks.
        quiet: Silence the progress lines PettingZoo's tests print.
        **kwargs: Passed to every ``make`` (task arguments, ``order``; ``flatten`` for the AEC and Gym forms).
    """
    from gymnasium.utils.env_checker import check_env
    from pettingzoo.test import api_test, parallel_api_test, seed_test

    env_kwargs = {k: v for k, v in kwargs.items() if k not in ("order", "flatten")}
    redirect = contextlib.redirect_stdout(io.StringIO()) if quiet else contextlib.nullcontext()
    with redirect:
        aec = pettingzoo.make("aec", task_id, **kwargs)
        api_test(aec, num_cycles=num_cycles)
        aec.close()
        seed_test(lambda: pettingzoo.make("aec", task_id, **kwargs), num_cycles=num_cycles)
        par = pettingzoo.make("parallel", task_id, **env_kwargs)
        parallel_api_test(par, num_cycles=num_cycles)
        par.close()
    aec_determinism_test(lambda: pettingzoo.make("aec", task_id, **kwargs), num_steps=2 * num_cycles)
    parallel_determinism_test(lambda: pettingzoo.make("parallel", task_id, **env_kwargs), num_steps=num_cycles)
    gym_env = gymnasium.make(task_id, **kwargs)
    check_env(gym_env.unwrapped, skip_render_check=True)
    gym_env.close()
    gym_determinism_test(lambda: gymnasium.make(task_id, **kwargs), num_steps=2 * num_cycles)
