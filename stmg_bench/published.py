"""The seed papers' published figures, as data, so that reports print them beside the results of a run.

A report that has trained an algorithm on a task looks up :func:`published_for` with the task's label and the
algorithm's registry target (``module:Class``, :attr:`stmg_bench.registry.RegistryEntry.target`): every registered
name built on that class (e.g. each STEP variant) is compared with the paper's method. Each
:class:`PublishedResult` holds the figures as the paper printed them, under metric keys that the reports know
(:data:`METRICS`); a report shows the metrics it measures and says which it cannot.

Nothing here is measured: the figures are copied from the papers' tables (the Bi-AC paper, Zhang et al., AAAI 2020,
Tables 2-4; the STEP paper, Table 1; percentages as fractions). ``tests/bench/test_published.py`` checks that each
names a registered implementation, a task the suites run and metrics the reports know.

Examples:
    >>> [r.method for r in published_for("escape", "stmg_agents.baselines.biac_ac:BiLevelActorCritic")]
    ['Bi-AC']
    >>> published_for("escape", "stmg_agents.baselines.biac_ac:BiLevelActorCritic")[0].figures["optimal"]
    0.9
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["METRICS", "PUBLISHED", "PublishedResult", "published_for", "settings_notes"]

#: Metric key -> what it means (how a report reads its own value of it).
METRICS: Mapping[str, str] = MappingProxyType(
    {
        "optimal": "share of runs that converged to the paper's optimal joint action (the STMG's SE here)",
        "reward_leader": "the leader's (agent_0's) average reward",
        "reward_follower": "the follower's (agent_1's) average reward",
        "reward_mean": "the average reward of the two agents",
        "probabilities_agent_0": "agent_0's average probability of each action",
        "probabilities_agent_1": "agent_1's average probability of each action",
        "main_first": "share of episodes in which the main-lane car (the leader) passes the merge point first",
        "ramp_first": "share of episodes in which the ramp car (the follower) passes first",
    }
)

_BIAC = "stmg_agents.baselines.biac_ac:BiLevelActorCritic"
_MADDPG = "stmg_agents.baselines.maddpg:MADDPG"
_STEP = "stmg_agents.step.algorithm:STEP"
_MAPPO = "stmg_agents.baselines.mappo:MAPPO"


@dataclass(frozen=True)
class PublishedResult:
    """One method's published figures on one task.

    Attributes:
        source: The paper and table, e.g. ``"Bi-AC paper, Table 2"``.
        method: The method's name in the paper.
        target: The registry target of this project's implementation of it.
        task: The task's label in the suites (``"escape"``, ``"mixing"``, ``"two-car"``).
        figures: Metric key (:data:`METRICS`) -> the published value (shares as fractions; probabilities as a
            tuple, one per action).
        runs: How many runs the paper's figure is over.
        note: How the paper's setting differs from the suite's, where it matters for the comparison.
    """

    source: str
    method: str
    target: str
    task: str
    figures: Mapping[str, float | tuple[float, ...]]
    runs: int
    note: str = ""


_ESCAPE = "Bi-AC paper (Zhang et al., AAAI 2020), Table 2"
_MAINTAIN = "Bi-AC paper, Table 3"
_MERGE = "Bi-AC paper, Table 4"
_MIXING = "STEP paper, Table 1"
_BIAC_MATRIX = (
    "the paper's average reward is of its trained policies; here, each run's expected payoff (mean over runs)"
)

#: Every published figure the reports know, in the papers' order.
PUBLISHED: tuple[PublishedResult, ...] = (
    PublishedResult(
        _ESCAPE, "Bi-AC", _BIAC, "escape", {"optimal": 0.90, "reward_leader": 28.5, "reward_follower": 28.5}, 100,
        _BIAC_MATRIX,
    ),
    PublishedResult(
        _ESCAPE, "MADDPG", _MADDPG, "escape", {"optimal": 0.56, "reward_leader": 23.4, "reward_follower": 23.4}, 100,
        _BIAC_MATRIX,
    ),
    PublishedResult(
        _MAINTAIN, "Bi-AC", _BIAC, "maintain", {"optimal": 1.00, "reward_leader": 20.0, "reward_follower": 15.0}, 100,
        _BIAC_MATRIX,
    ),
    PublishedResult(
        _MAINTAIN, "MADDPG", _MADDPG, "maintain", {"optimal": 0.00, "reward_leader": 12.0, "reward_follower": 4.5},
        100, _BIAC_MATRIX,
    ),
    PublishedResult(
        _MERGE, "Bi-AC", _BIAC, "two-car", {"main_first": 0.722, "ramp_first": 0.252}, 10,
        "the paper's crash costs -10; this task's -25 to -5 (the authors' code); the paper's training budget is not "
        "stated",
    ),
    PublishedResult(
        _MERGE, "MADDPG", _MADDPG, "two-car", {"main_first": 0.375, "ramp_first": 0.602}, 10,
        "the paper's crash costs -10; this task's -25 to -5 (the authors' code); the paper's training budget is not "
        "stated",
    ),
    PublishedResult(
        _MIXING, "STEP", _STEP, "mixing",
        {
            "probabilities_agent_0": (0.9999, 0.0000, 0.0001),
            "probabilities_agent_1": (0.9999, 0.0000, 0.0001),
            "reward_leader": 0.00, "reward_follower": 5.00, "reward_mean": 2.50,
        },
        100,
    ),
    PublishedResult(
        _MIXING, "MAPPO", _MAPPO, "mixing",
        {
            "probabilities_agent_0": (0.3293, 0.0003, 0.6704),
            "probabilities_agent_1": (0.6198, 0.0004, 0.3797),
            "reward_leader": 2.72, "reward_follower": -1.29, "reward_mean": 0.72,
        },
        100,
    ),
    PublishedResult(
        _MIXING, "MADDPG", _MADDPG, "mixing",
        {
            "probabilities_agent_0": (0.2139, 0.0562, 0.7299),
            "probabilities_agent_1": (0.1446, 0.0786, 0.7768),
            "reward_leader": 3.20, "reward_follower": -7.9, "reward_mean": -2.35,
        },
        100,
    ),
)  # fmt: skip


def published_for(task: str, target: str) -> list[PublishedResult]:
    """The published figures of the method that ``target`` implements on ``task`` (empty if the papers have none)."""
    return [r for r in PUBLISHED if r.task == task and r.target == target]


def settings_notes(results: Iterable[PublishedResult]) -> list[str]:
    """One sentence per distinct :attr:`PublishedResult.note` of ``results``, naming every source that shares it.

    Examples:
        >>> print(*settings_notes(published_for("escape", _BIAC) + published_for("maintain", _BIAC)))
        ... # doctest: +ELLIPSIS
        Where the settings differ (Bi-AC paper (Zhang et al., AAAI 2020), Table 2; Bi-AC paper, Table 3): the paper's ...
    """
    sources: dict[str, list[str]] = {}
    for result in results:
        if result.note and result.source not in sources.setdefault(result.note, []):
            sources[result.note].append(result.source)
    return [f"Where the settings differ ({'; '.join(names)}): {note}." for note, names in sources.items()]
