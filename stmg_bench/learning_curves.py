"""Learning curves over seeds: mean and 95% t-interval per evaluation point, and the trial budget arithmetic.

Used by the control benchmarks (``benchmarks/mamujoco.py``, ``benchmarks/onramp.py``)
on the records of :func:`stmg_bench.suites.control.control_trial`.

The interval is Student's t-interval of the mean over seeds,
``mean +/- t_{0.975, n-1} * sd / sqrt(n)`` (``sd`` with ``n - 1`` degrees of
freedom), what the STEP paper's "95% confidence interval across 5 runs" most
likely is; with one seed it collapses to the mean.

Examples:
    >>> band = t_interval([1.0, 2.0, 3.0])
    >>> round(band.mean, 3), round(band.low, 3), round(band.high, 3), band.n
    (2.0, -0.484, 4.484, 3)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Interval", "t_interval", "T_975", "CurveBand", "aggregate_curves", "steps_for_share", "whole_rollouts"]

#: Two-sided 95% quantiles of Student's t, ``t_{0.975, df}`` for df = 1..30 (beyond: the normal 1.96).
T_975 = (
    12.706,
    4.303,
    3.182,
    2.776,
    2.571,
    2.447,
    2.365,
    2.306,
    2.262,
    2.228,
    2.201,
    2.179,
    2.160,
    2.145,
    2.131,
    2.120,
    2.110,
    2.101,
    2.093,
    2.086,
    2.080,
    2.074,
    2.069,
    2.064,
    2.060,
    2.056,
    2.052,
    2.048,
    2.045,
    2.042,
)


@dataclass(frozen=True)
class Interval:
    """Mean of ``n`` values and its 95% t-interval ``[low, high]``."""

    mean: float
    low: float
    high: float
    n: int

    @property
    def half_width(self) -> float:
        """``high - mean``."""
        return self.high - self.mean


def t_interval(values: Sequence[float]) -> Interval:
    """Mean and 95% Student t-interval of ``values`` (one per seed).

    Raises:
        ValueError: no values, or a value that is not finite.
    """
    x = np.asarray(list(values), dtype=np.float64)
    if x.size == 0 or not np.isfinite(x).all():
        raise ValueError(f"expected one or more finite values, got {list(values)!r}.")
    mean = float(x.mean())
    if x.size == 1:
        return Interval(mean, mean, mean, 1)
    df = x.size - 1
    t = T_975[df - 1] if df <= len(T_975) else 1.96
    half = t * float(x.std(ddof=1)) / math.sqrt(x.size)
    return Interval(mean, mean - half, mean + half, int(x.size))


@dataclass(frozen=True)
class CurveBand:
    """A learning curve over seeds: at each step, the mean and 95% t-interval of a metric.

    Attributes:
        steps: Joint environment steps of the evaluation points.
        intervals: One :class:`Interval` per step.
    """

    steps: tuple[int, ...]
    intervals: tuple[Interval, ...]

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(steps, mean, low, high)`` as arrays, for plotting."""
        return (
            np.asarray(self.steps),
            np.asarray([i.mean for i in self.intervals]),
            np.asarray([i.low for i in self.intervals]),
            np.asarray([i.high for i in self.intervals]),
        )


def aggregate_curves(curves: Sequence[Sequence[Mapping[str, Any]]], metric: str = "team_return") -> CurveBand:
    """Mean and t-interval of ``metric`` across seeds at each evaluation step.

    Args:
        curves: One curve per seed, each a list of evaluation dicts with ``"step"`` and ``metric``
            (as :func:`~stmg_bench.suites.control.control_trial` returns them). Only the steps that
            every curve has are kept; points where the metric is ``None`` are skipped.
        metric: The key to aggregate, e.g. ``"team_return"``, ``"mean_speed"``, ``"crash_rate"``.

    Raises:
        ValueError: no curves.

    Examples:
        >>> band = aggregate_curves([[{"step": 0, "r": 1.0}, {"step": 10, "r": 2.0}],
        ...                          [{"step": 0, "r": 3.0}, {"step": 10, "r": 4.0}, {"step": 20, "r": 9.0}]], "r")
        >>> band.steps, [i.mean for i in band.intervals]
        ((0, 10), [2.0, 3.0])
    """
    if not curves:
        raise ValueError("expected at least one curve, got none.")
    by_step = [{int(p["step"]): p.get(metric) for p in curve} for curve in curves]
    common = sorted(set.intersection(*(set(c) for c in by_step)))
    steps, intervals = [], []
    for step in common:
        values = [float(v) for c in by_step if (v := c[step]) is not None]
        if values:
            steps.append(step)
            intervals.append(t_interval(values))
    return CurveBand(tuple(steps), tuple(intervals))


def steps_for_share(share_core_s: float, trial_rates: Sequence[float], rollout: int) -> int:
    """Joint steps per trial so that trials at the given training rates fill ``share_core_s`` core-seconds.

    Each trial of a group trains the same number of steps ``S``; trial ``j`` trains at
    ``trial_rates[j]`` joint steps/s on one core, so the group costs ``S * sum(1 / rate)``
    core-seconds. ``S`` is rounded down to whole rollouts (at least one).

    Examples:
        >>> steps_for_share(100.0, [1000.0, 1000.0], rollout=1000)
        50000
    """
    if share_core_s <= 0 or not trial_rates or min(trial_rates) <= 0 or rollout < 1:
        raise ValueError(
            f"expected a positive share, positive rates and rollout >= 1, got {share_core_s}, {trial_rates}, {rollout}."
        )
    steps = share_core_s / sum(1.0 / r for r in trial_rates)
    return max(rollout, int(steps // rollout) * rollout)


def whole_rollouts(steps: int, rollout: int) -> int:
    """``steps`` rounded up to whole rollouts of ``rollout`` joint steps (at least one).

    Examples:
        >>> whole_rollouts(2500, rollout=1000), whole_rollouts(0, rollout=400)
        (3000, 400)
    """
    return max(rollout, -(-steps // rollout) * rollout)
