"""A dynamic priority order for the merge tasks: Chen et al.'s safety-supervisor ranking."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["merge_priority_order"]


def merge_priority_order(parallel_env: Any, rng: np.random.Generator | None = None) -> list[str]:
    """Rank the live agents of a merge task: ramp vehicles nearest the merge end first, short headways first.

    The ranking of the "safety supervisor" of Chen et al. (2021), which decides
    in which order vehicles' actions are checked. Each vehicle gets the score
    ``0.5 * log(headway / (1.2 * speed))`` (0 when stopped), and a vehicle on
    the merge lane additionally ``-0.5 - (fraction of the merge lane already
    driven)``; lower scores act first. Exact ties are broken by ``rng`` (by
    agent order when ``rng`` is ``None``); the reference code instead added a
    uniform 0..0.001 jitter to every score.

    Pass it as the ``order`` of :func:`stmg_envs.stmg_v0` (it is called before every time step)::

        aec = stmg_v0(OnRampMergeEnv("hard"), order=merge_priority_order)

    Args:
        parallel_env: An :class:`~stmg_envs.highway.OnRampMergeEnv` or
            :class:`~stmg_envs.highway.TrafficMergeEnv` (or a wrapper with one as ``unwrapped``).
        rng: Random generator for tie-breaking.

    Returns:
        Every live agent once, first to act first.

    Raises:
        TypeError: ``parallel_env`` is not one of the merge tasks.

    Examples:
        >>> from stmg_envs.highway import OnRampMergeEnv, merge_priority_order
        >>> env = OnRampMergeEnv("easy", num_controlled=2)
        >>> _ = env.reset(seed=0, options={"controlled": [("main", 300.0, 25.0), ("ramp", 400.0, 25.0)]})
        >>> merge_priority_order(env)
        ['vehicle_1', 'vehicle_0']
    """
    env = getattr(parallel_env, "unwrapped", parallel_env)
    scores_of = getattr(env, "priority_scores", None)
    if not callable(scores_of):
        raise TypeError(
            "merge_priority_order expected a highway merge env (stmg_envs.highway.OnRampMergeEnv or "
            f"TrafficMergeEnv), got {type(parallel_env).__name__}."
        )
    scores = scores_of()
    agents = list(scores)
    tie_break = rng.random(len(agents)) if rng is not None else np.arange(len(agents))
    ranked = sorted(range(len(agents)), key=lambda i: (scores[agents[i]], tie_break[i]))
    return [agents[i] for i in ranked]
