"""Running observation normalisation of the benchmark's control suites: the env core's, re-exported.

Every algorithm of a control study gets the same inputs and rewards through
:class:`NormalizedObservations` and one shared :class:`ObservationStatistics`. Both live in
:mod:`stmg_envs.normalization` (one home, which the batched forms of :mod:`stmg_envs.vector`
use too); this module keeps the harness's import path.

Examples:
    >>> from stmg_bench.normalization import ObservationStatistics
    >>> import stmg_envs.normalization
    >>> ObservationStatistics is stmg_envs.normalization.ObservationStatistics
    True
"""

from __future__ import annotations

from stmg_envs.normalization import (
    REWARD_KEY,
    STATE_KEY,
    NormalizedObservations,
    ObservationStatistics,
    RunningMeanStd,
)

__all__ = ["ObservationStatistics", "NormalizedObservations", "RunningMeanStd", "STATE_KEY", "REWARD_KEY"]
