"""stmg_agents.callbacks: the one place that tells the contract's callback(num_timesteps) from SB3's callback forms."""

from __future__ import annotations

import functools

import pytest

pytest.importorskip("stable_baselines3", reason="needs the [agents] extra")

from stable_baselines3.common.callbacks import BaseCallback, CallbackList, ConvertCallback

from stmg_agents.callbacks import ProgressAfterUpdate, sb3_callback
from stmg_envs.matrix import penalty

pytestmark = pytest.mark.agents


class Counting(BaseCallback):
    def _on_step(self) -> bool:
        return True


def test_each_form_becomes_the_sb3_callback_that_runs_it():
    """One argument (a lambda, a bound builtin, a partial): the contract's; (locals, globals): SB3's callable form;
    a BaseCallback as it is; a list: a CallbackList; None: SB3's no-op."""
    seen: list[int] = []

    def sb3_style(locals_, globals_):
        return True

    def two(a, b):
        return None

    assert isinstance(sb3_callback(lambda n: None), ProgressAfterUpdate)
    assert isinstance(sb3_callback(seen.append), ProgressAfterUpdate)
    assert isinstance(sb3_callback(functools.partial(two, 1)), ProgressAfterUpdate)
    assert isinstance(sb3_callback(sb3_style), ConvertCallback)
    mine = Counting()
    assert sb3_callback(mine) is mine
    assert isinstance(sb3_callback([mine]), CallbackList)
    assert isinstance(sb3_callback(None), ConvertCallback)


@pytest.mark.parametrize("bad", ["print", 3, lambda: None, lambda a, b, c: None])
def test_anything_else_is_refused_naming_the_forms(bad):
    """Not callable, or a callable taking neither one nor two arguments: a TypeError listing what is taken."""
    with pytest.raises(TypeError, match=r"callback\(num_timesteps\).*callback\(locals, globals\)"):
        sb3_callback(bad)


def test_the_contracts_callback_runs_after_every_update_and_false_stops():
    """Through MAPPO's learn: callback(num_timesteps) once per update (after each rollout of n_envs * n_steps joint
    steps), never at a step; False stops training at the next step, before the next update."""
    from stmg_agents.baselines import MAPPO

    seen: list[int] = []
    MAPPO(lambda: penalty(k=0), seed=0, n_envs=2, n_steps=5).learn(30, callback=seen.append)
    assert seen == [10, 20, 30]
    stopped: list[int] = []
    agent = MAPPO(lambda: penalty(k=0), seed=0, n_envs=2, n_steps=5)
    agent.learn(30, callback=lambda n: stopped.append(n) or False)
    assert stopped == [10] and agent.num_timesteps == 12  # one more joint step of both copies, then the stop
