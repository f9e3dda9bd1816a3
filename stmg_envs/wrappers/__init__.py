"""The STMG wrapper (:func:`stmg_v0`) and its single-agent Gymnasium view."""

from stmg_envs.wrappers.action_codec import ActionCodec, InvalidActionError
from stmg_envs.wrappers.priority_order import ORDER_NAMES, InvalidOrderError, PriorityOrder, parse_order
from stmg_envs.wrappers.sequential_gym import SequentialGymEnv
from stmg_envs.wrappers.stmg import OBSERVATION_KEYS, STMGEnv, skip_dead_steps, stmg_v0

__all__ = [
    "stmg_v0",
    "STMGEnv",
    "SequentialGymEnv",
    "ActionCodec",
    "PriorityOrder",
    "ORDER_NAMES",
    "parse_order",
    "InvalidActionError",
    "InvalidOrderError",
    "OBSERVATION_KEYS",
    "skip_dead_steps",
]
