"""Registry entries of the highway task family (see :mod:`stmg_envs.registration`).

This module must stay import-light: it names entry points as strings only and
never imports highway-env.
"""

from stmg_envs.task_spec import TaskSpec

TASKS: tuple[TaskSpec, ...] = (
    TaskSpec(
        "stmg/OnRampMerge-v0",
        "stmg_envs.highway.on_ramp:OnRampMergeEnv",
        kwargs=(("difficulty", "easy"),),
        extra="highway",
        agents_leave_early=True,  # a vehicle that crashes or merges leaves while the others drive on
        description="Multi-agent on-ramp merging in mixed traffic (Chen et al. 2021), difficulty easy/medium/hard",
    ),
    TaskSpec(
        "stmg/TrafficMerge-v0",
        "stmg_envs.highway.traffic_merge:TrafficMergeEnv",
        extra="highway",
        description="Bi-AC's two-car merge: main-lane leader vs ramp follower",
    ),
)
