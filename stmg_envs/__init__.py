"""stmg-envs: spatio-temporal sequential Markov games for PettingZoo and Gymnasium.

``import stmg_envs`` registers every task in PettingZoo's registry
(``pettingzoo.make("aec" | "parallel", "stmg/<Task>-v0")``) and in Gymnasium's
(``gymnasium.make("stmg/<Task>-v0")``, and ``gymnasium.make_vec`` for ``K`` copies). The batched forms of
both PettingZoo games, ``K`` copies stepped as arrays, are :func:`batched_stmg` and :func:`batched_parallel`
(:mod:`stmg_envs.vector`).

Examples:
    >>> import pettingzoo, stmg_envs
    >>> env = pettingzoo.make("aec", "stmg/Penalty-v0", k=-100)
    >>> env.reset(seed=0)
    >>> env.agent_selection
    'agent_0'
"""

from stmg_envs.registration import TaskSpec, make_parallel, register_all, register_task, registered_task_ids
from stmg_envs.vector import batched_parallel, batched_stmg
from stmg_envs.wrappers import (
    InvalidActionError,
    InvalidOrderError,
    SequentialGymEnv,
    STMGEnv,
    stmg_v0,
)

__version__ = "0.1.0"

__all__ = [
    "stmg_v0",
    "STMGEnv",
    "SequentialGymEnv",
    "InvalidActionError",
    "InvalidOrderError",
    "TaskSpec",
    "register_task",
    "registered_task_ids",
    "make_parallel",
    "batched_stmg",
    "batched_parallel",
]

register_all()
