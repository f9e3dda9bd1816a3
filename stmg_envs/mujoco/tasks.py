"""Registry entries of the mujoco task family (see :mod:`stmg_envs.registration`).

This module must stay import-light: it names entry points as strings only.
"""

from stmg_envs.task_spec import TaskSpec

TASKS: tuple[TaskSpec, ...] = (
    TaskSpec(
        id="stmg/Ant-v0",
        parallel_entry_point="stmg_envs.mujoco.factories:ant",
        extra="mujoco",
        description="Multi-Agent MuJoCo Ant; agent_conf '2x4' (default), '4x2', '8x1'",
    ),
    TaskSpec(
        id="stmg/HalfCheetah-v0",
        parallel_entry_point="stmg_envs.mujoco.factories:half_cheetah",
        extra="mujoco",
        description="Multi-Agent MuJoCo HalfCheetah; agent_conf '2x3' (default), '3x2', '6x1'",
    ),
    TaskSpec(
        id="stmg/ManySegmentAnt-v0",
        parallel_entry_point="stmg_envs.mujoco.factories:many_segment_ant",
        extra="mujoco",
        description="Multi-Agent MuJoCo many-segment Ant; agent_conf '2x3' (default), '3x2', '6x1'",
    ),
)
