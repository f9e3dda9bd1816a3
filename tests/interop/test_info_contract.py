"""Infos that array-based libraries can store: numeric values, same keys and shapes all episode.

TorchRL's ``PettingZooWrapper`` builds one tensor spec per info key from the
infos of ``reset()`` and writes every later info into it
(``torch.as_tensor(value)``); Tianshou's collector stacks infos into a
``Batch`` buffer whose arrays are shaped by the first entry. So an info value
that is a string, or a key that appears only after ``reset()``, or a value
whose shape changes, breaks TorchRL and can break Tianshou (which stores
strings and nested dicts as objects). These tests pin the contract without
either library, so they run in every environment.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.interop.helpers import HIGHWAY_TASKS, TASKS, Task, make_aec, make_parallel

pytestmark = pytest.mark.both_envs


def _signature(info: dict[str, Any], where: str) -> dict[str, tuple[int, ...]]:
    """Key -> shape of a numeric info; fails on a value that is not a number or array of numbers."""
    shapes = {}
    for key, value in info.items():
        array = np.asarray(value)
        assert array.dtype.kind in "biuf", (
            f"{where}: info[{key!r}] = {value!r} is not numeric (dtype {array.dtype}); "
            "array-based libraries (TorchRL, Tianshou) cannot store it"
        )
        shapes[key] = array.shape
    return shapes


def _assert_same_signature(first: dict, now: dict, where: str) -> None:
    assert now.keys() == first.keys(), (
        f"{where}: info keys {sorted(now)} differ from those at reset() {sorted(first)}; "
        "TorchRL builds its info spec from reset() and crashes on a new key"
    )
    assert now == first, f"{where}: info shapes {now} differ from those at reset() {first}"


@pytest.mark.parametrize("flatten", [False, True], ids=["dict", "flat"])
@pytest.mark.parametrize("task", TASKS + HIGHWAY_TASKS)
def test_aec_infos_are_numeric_with_fixed_keys_and_shapes(task: Task, flatten: bool):
    """Every info of the STMG, at reset and after every decision (episode end included), is numeric with fixed keys."""
    env = make_aec(task, flatten=flatten)
    env.reset(seed=0)
    first = {a: _signature(env.infos[a], f"reset, {a}") for a in env.agents}
    for agent in env.possible_agents:
        env.action_space(agent).seed(0)
    decisions = 0
    for agent in env.agent_iter():
        _, _, terminated, truncated, _ = env.last()
        env.step(None if terminated or truncated else env.action_space(agent).sample())
        decisions += 1
        for other, info in env.infos.items():
            where = f"after decision {decisions}, {other}"
            _assert_same_signature(first[other], _signature(info, where), where)
    assert not env.agents and decisions > len(env.possible_agents)  # the episode ran to its end


@pytest.mark.parametrize("task", TASKS + HIGHWAY_TASKS)
def test_parallel_infos_are_numeric_with_fixed_keys_and_shapes(task: Task):
    """Every info of the simultaneous game, at reset and after every step, is numeric with the keys of reset."""
    env = make_parallel(task)
    _, infos = env.reset(seed=0)
    first = {a: _signature(infos[a], f"reset, {a}") for a in env.agents}
    for agent in env.possible_agents:
        env.action_space(agent).seed(0)
    steps = 0
    while env.agents:
        _, _, _, _, infos = env.step({a: env.action_space(a).sample() for a in env.agents})
        steps += 1
        for agent, info in infos.items():
            where = f"after step {steps}, {agent}"
            _assert_same_signature(first[agent], _signature(info, where), where)
    assert steps > 1
