"""Registries: every task is reachable through PettingZoo (aec, parallel) and Gymnasium and is conformant."""

from __future__ import annotations

import subprocess
import sys
import warnings

import gymnasium
import numpy as np
import pettingzoo
import pytest

import stmg_envs
from stmg_envs import SequentialGymEnv, STMGEnv
from stmg_envs.matrix import MatrixGame
from stmg_envs.matrix.tasks import TASKS as MATRIX_TASKS
from stmg_envs.registration import example_kwargs
from stmg_envs.testing import check_task

MATRIX_IDS = [spec.id for spec in MATRIX_TASKS]


def test_every_matrix_task_is_reachable_in_every_form():
    """Every matrix TaskSpec is registered and builds its game in both PettingZoo forms and Gymnasium's."""
    assert MATRIX_IDS and set(MATRIX_IDS) <= set(stmg_envs.registered_task_ids())
    for task_id in MATRIX_IDS:
        kwargs = example_kwargs(task_id)  # stmg/Matrix-v0 needs a game
        parallel = pettingzoo.make("parallel", task_id, **kwargs)
        assert isinstance(parallel.unwrapped, MatrixGame) and len(parallel.possible_agents) >= 2
        assert isinstance(pettingzoo.make("aec", task_id, **kwargs), STMGEnv)
        assert isinstance(gymnasium.make(task_id, **kwargs).unwrapped, SequentialGymEnv)


@pytest.mark.parametrize("task_id", MATRIX_IDS)
@pytest.mark.parametrize("kwargs", [{}, {"order": "random", "flatten": True}], ids=["default", "random-flat"])
def test_conformance(task_id, kwargs):
    """api_test, seed_test, parallel_api_test, multi-step determinism and check_env on every matrix task."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_task(task_id, num_cycles=40, quiet=True, **example_kwargs(task_id), **kwargs)


def test_forms_and_kwargs():
    """aec -> STMGEnv, parallel -> the simultaneous game, gymnasium -> SequentialGymEnv; kwargs are routed."""
    aec = pettingzoo.make("aec", "stmg/Penalty-v0", k=-25, order=["agent_1", "agent_0"])
    assert isinstance(aec, STMGEnv) and aec.parallel_env.payoffs[0, 0, 0] == -25
    aec.reset(seed=0)
    assert aec.order == ("agent_1", "agent_0")
    par = pettingzoo.make("parallel", "stmg/Penalty-v0", k=-50)
    assert isinstance(par, MatrixGame) and par.payoffs[0, 2, 2] == -50
    gym_env = gymnasium.make("stmg/Matrix-v0", payoffs=np.zeros((3, 2, 2, 2)), flatten=True)
    assert isinstance(gym_env.unwrapped, SequentialGymEnv)
    assert gym_env.unwrapped.env.possible_agents == ["agent_0", "agent_1", "agent_2"]


def test_wrapper_kwargs_rejected_by_the_parallel_form():
    """order/flatten make no sense for the simultaneous game: the error says to use the aec form."""
    with pytest.raises(TypeError, match="aec"):
        pettingzoo.make("parallel", "stmg/Penalty-v0", order="random")


def test_gymnasium_make_without_import():
    """gymnasium.make('stmg_envs:stmg/Penalty-v0') works in a fresh interpreter without importing stmg_envs."""
    code = "import gymnasium; env = gymnasium.make('stmg_envs:stmg/Penalty-v0', k=-75); print(env.reset(seed=0)[1]['agent'])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "agent_0"


def test_determinism_across_processes():
    """Same seed, same trajectory in two separate processes (random order and random actions)."""
    code = (
        "import pettingzoo, stmg_envs, numpy as np\n"
        "env = pettingzoo.make('aec', 'stmg/Matrix-v0', payoffs=np.arange(24.).reshape(3, 2, 2, 2), order='random')\n"
        "env.reset(seed=7)\n"
        "rng = np.random.default_rng(7); out = []\n"
        "for agent in env.agent_iter():\n"
        "    obs, r, te, tr, info = env.last()\n"
        "    out.append((agent, float(r), tuple(obs['prior_actions'].tolist()), info['order']))\n"
        "    env.step(None if te or tr else int(rng.integers(2)))\n"
        "print(repr(out))\n"
    )
    # Different PYTHONHASHSEEDs: nothing may depend on set/dict hashing order.
    reprs = [
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={"PYTHONHASHSEED": str(s)}
        ).stdout
        for s in (1, 2)
    ]
    assert reprs[0].count("agent_") >= 75
    assert reprs[0] == reprs[1]


def test_missing_task_names_the_registered_ones():
    """An unknown ID raises PettingZoo's NameNotFound and lists every registered task."""
    from pettingzoo.env_registry.exceptions import NameNotFound

    with pytest.raises(NameNotFound, match="unknown stmg task 'stmg/Nope-v0'; registered tasks:") as caught:
        stmg_envs.make_parallel("stmg/Nope-v0")
    assert all(task_id in str(caught.value) for task_id in stmg_envs.registered_task_ids())
