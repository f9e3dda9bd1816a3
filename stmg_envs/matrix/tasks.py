"""Registry entries of the matrix games (see :mod:`stmg_envs.registration`)."""

from stmg_envs.task_spec import TaskSpec

TASKS: tuple[TaskSpec, ...] = (
    TaskSpec(
        "stmg/Penalty-v0", "stmg_envs.matrix.classic:penalty", description="Penalty game with miscoordination cost k"
    ),
    TaskSpec("stmg/Mixing-v0", "stmg_envs.matrix.classic:mixing", description="Mixing game (general-sum)"),
    TaskSpec("stmg/Escape-v0", "stmg_envs.matrix.classic:escape", description="Bi-AC Escape (team game)"),
    TaskSpec("stmg/Maintain-v0", "stmg_envs.matrix.classic:maintain", description="Bi-AC Maintain (general-sum)"),
    TaskSpec(
        "stmg/Matrix-v0",
        "stmg_envs.matrix.classic:matrix",
        description="Any N-agent normal-form game (payoffs, common_payoff or generator)",
        example_kwargs=(("generator", "team-trap:2:0"),),
    ),
    TaskSpec(
        "stmg/IteratedMatrix-v0",
        "stmg_envs.matrix.iterated:iterated_matrix",
        description="Iterated 2x2 game with memory of the last step (Oracles & Followers; game= or payoffs=)",
    ),
)
