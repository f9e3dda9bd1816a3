"""What the control benchmarks (``benchmarks/mamujoco.py``, ``benchmarks/onramp.py``) share: arguments, budget
planning, calibration, grouping, tables, significance tests and curve plots, for any algorithm.

A control study is a set of *tasks* (a label -> :class:`TaskSpec`) x algorithms x seeds,
each trial a :func:`stmg_bench.suites.control.control_trial`. Budgets are joint
environment steps, the same for every algorithm (``--steps``); ``--budget`` minutes
are turned into steps by measuring each algorithm's training throughput on this
machine now (a short trial per task and algorithm), never from a table.

Examples:
    >>> welch_difference([1.0, 2.0, 3.0], [1.5, 2.5, 3.5]).significant
    False
"""

from __future__ import annotations

import math
import sys
import textwrap
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import numpy as np

from stmg_bench import selection
from stmg_bench.args import algos_field, hyperparams_field
from stmg_bench.learning_curves import T_975, aggregate_curves, steps_for_share, t_interval, whole_rollouts
from stmg_bench.registry import ResolvedAlgorithm, suite_settings
from stmg_bench.suites.control import ORDERS, PRESETS, control_trial
from stmg_bench.sweep import SweepOptions, Trial
from stmg_bench.sweep.reporting import default_workers

__all__ = [
    "ControlArgs",
    "TaskSpec",
    "WelchResult",
    "resolve_algorithms",
    "order_problem",
    "check_construction",
    "plan_steps",
    "calibrate",
    "make_trial",
    "group_records",
    "welch_difference",
    "t_two_sided_p",
    "holm",
    "TESTS_NOTE",
    "significance_rows",
    "plot_curves",
]


@dataclass(frozen=True)
class ControlArgs(SweepOptions):
    """The arguments every control benchmark takes; a script's ``Args`` adds its tasks."""

    algos: tuple[str, ...] = algos_field(("step", "mappo", "ippo"))
    hyperparams: dict[str, dict[str, Any]] = hyperparams_field(
        "on top of the control benchmarks' lever for step, '{\"hyper_scale_by_width\": true}' (pass false to undo it)"
    )
    seeds: int = field(default=3, metadata={"help": "trials per task and algorithm (the paper: 5)"})
    steps: int | None = field(
        default=None,
        metadata={
            "help": "joint steps per trial, the same for every algorithm (neither this nor --budget: the study's default)"
        },
    )
    budget: float | None = field(
        default=None,
        metadata={
            "help": "instead of --steps: wall-clock minutes of the sweep, turned into steps by measuring each "
            "algorithm's throughput now"
        },
    )
    eval_points: int = field(
        default=10, metadata={"help": "evaluations during training (plus one before and one after)"}
    )
    eval_episodes: int = field(default=2, metadata={"help": "greedy episodes per evaluation"})
    calibration_steps: int = field(
        default=8_000, metadata={"help": "joint steps of each throughput measurement (--budget)"}
    )

    #: Joint steps per trial when neither ``steps`` nor ``budget`` is given (each study sets its own).
    DEFAULT_STEPS: ClassVar[int] = 100_000

    def __post_init__(self) -> None:
        if self.steps is None and self.budget is None:
            object.__setattr__(self, "steps", self.DEFAULT_STEPS)

    def check(self) -> str | None:
        if (
            self.seeds < 1
            or (self.steps is not None and self.steps < 1)
            or (self.budget is not None and self.budget <= 0)
        ):
            return f"expected --seeds >= 1, --steps >= 1, --budget > 0, got {self.seeds}, {self.steps}, {self.budget}"
        if self.steps is not None and self.budget is not None:
            return "expected one of --steps (joint steps per trial) or --budget (minutes), got both"
        if self.eval_points < 0 or self.eval_episodes < 1:
            return f"expected --eval-points >= 0 and --eval-episodes >= 1, got {self.eval_points}, {self.eval_episodes}"
        if not self.algos:
            return "expected --algos to name at least one algorithm, got none"
        if self.calibration_steps < 1:
            return f"expected --calibration-steps >= 1, got {self.calibration_steps}"
        return None

    @property
    def budget_text(self) -> str:
        return f"--steps {self.steps}" if self.steps is not None else f"--budget {self.budget:g} min"

    @property
    def algos_text(self) -> str:
        """``--algos`` and every ``--hyperparams`` as given, for the report's command line."""
        import json

        text = f"--algos {','.join(self.algos)}"
        for name, hp in sorted(self.hyperparams.items()):
            text += f" --hyperparams {name}='{json.dumps(hp, sort_keys=True)}'"
        return text


class TaskSpec(NamedTuple):
    """One task of a control study.

    Attributes:
        task_id: The registered task.
        task_kwargs: Its arguments.
        preset: The shared PPO settings, a key of :data:`~stmg_bench.suites.control.PRESETS`.
        normalize_observations: Standardise observations with running statistics.
        normalize_rewards: Scale training rewards by the running std of the discounted return.
        order: The STMG's priority order for sequential-form algorithms.
    """

    task_id: str
    task_kwargs: dict[str, Any]
    preset: str
    normalize_observations: bool
    normalize_rewards: bool
    order: str = "possible_agents"


def order_problem(order: str, tasks: Mapping[str, TaskSpec], orders: Sequence[str] = ORDERS) -> str | None:
    """A message for an ``--order`` that is neither one of ``orders`` nor agents joined by ``+`` that rank every
    agent of each task (read with the STMG's parser, :func:`stmg_envs.wrappers.priority_order.parse_order`), or None.

    Examples:
        >>> order_problem("reverse", {}, ("possible_agents", "reversed", "random"))
        "expected --order from ['possible_agents', 'reversed', 'random'] or agents joined by '+' (e.g. \
agent_1+agent_0), got 'reverse'"
    """
    if order in orders:
        return None
    if "+" not in order:
        return f"expected --order from {list(orders)} or agents joined by '+' (e.g. agent_1+agent_0), got {order!r}"
    import pettingzoo

    import stmg_envs  # noqa: F401  (registers the tasks)
    from stmg_envs.wrappers.priority_order import InvalidOrderError, parse_order

    for label, task in tasks.items():
        env = pettingzoo.make("parallel", task.task_id, **dict(task.task_kwargs))
        agents = list(env.possible_agents)
        env.close()
        try:
            parse_order(order, agents, "--order")
        except InvalidOrderError as exc:
            return f"{exc} (task {label})"
    return None


def check_construction(
    algorithms: Sequence[ResolvedAlgorithm], settings: Mapping[str, Mapping[str, Any]], task: TaskSpec
) -> None:
    """Build each algorithm once with its settings on ``task`` (its STMG in the task's order for the sequential
    form), before the sweep: :func:`stmg_bench.selection.check_construction` (a ``ValueError`` names a setting the
    class refuses)."""
    import pettingzoo

    from stmg_bench.suites.control import _order_callable
    from stmg_envs import stmg_v0

    def make_env(algo: ResolvedAlgorithm) -> Callable[[], Any]:
        def game() -> Any:
            return pettingzoo.make("parallel", task.task_id, **dict(task.task_kwargs))

        if algo.form == "simultaneous":
            return game
        return lambda: stmg_v0(game(), order=_order_callable(task.order))

    selection.check_construction(algorithms, settings, make_env)


def resolve_algorithms(args: ControlArgs, preset: str) -> tuple[list[ResolvedAlgorithm], dict[str, dict[str, Any]]]:
    """Resolve ``--algos``: each gets the preset's shared settings it takes, its registry entry's settings for the
    control suite (:func:`stmg_bench.registry.suite_settings`: STEP's hypernetwork scaled by its width), then its own.

    See :func:`stmg_bench.selection.resolve_algorithms` (and what it raises).
    """
    return selection.resolve_algorithms(
        args.algos, args.hyperparams, PRESETS[preset].as_kwargs(), base=suite_settings("control")
    )


def make_trial(
    key: str, algo: ResolvedAlgorithm, hp: Mapping[str, Any], task: TaskSpec, seed: int, steps: int, args: ControlArgs
) -> Trial:
    """The sweep trial of one (task, algorithm, seed)."""
    from stmg_bench.provenance import fingerprint

    return Trial(
        key=key,
        fn="stmg_bench.suites.control:control_trial",
        kwargs={
            "algorithm": algo.to_json(),
            "task_id": task.task_id,
            "task_kwargs": dict(task.task_kwargs),
            "seed": seed,
            "steps": steps,
            "eval_points": args.eval_points,
            "eval_episodes": args.eval_episodes,
            "normalize_observations": task.normalize_observations,
            "normalize_rewards": task.normalize_rewards,
            "order": task.order,
            "hyperparameters": dict(hp),
            "reward_gamma": PRESETS[task.preset].gamma,
        },
        fingerprint=fingerprint(algo, hp, "stmg_bench.suites.control"),
    )


def calibrate(
    tasks: Mapping[str, TaskSpec],
    algorithms: Sequence[ResolvedAlgorithm],
    settings: Mapping[str, Mapping[str, Any]],
    steps: int,
) -> dict[str, dict[str, float]]:
    """Training throughput (joint steps/s) of each algorithm on each task, measured now in this process."""
    table: dict[str, dict[str, float]] = {}
    for label, task in tasks.items():
        table[label] = {}
        for algo in algorithms:
            record = control_trial(
                algo.to_json(),
                task.task_id,
                dict(task.task_kwargs),
                seed=0,
                steps=steps,
                eval_points=0,
                eval_episodes=1,
                normalize_observations=task.normalize_observations,
                normalize_rewards=task.normalize_rewards,
                order=task.order,
                hyperparameters=settings[algo.name],
                reward_gamma=PRESETS[task.preset].gamma,
            )
            table[label][algo.name] = round(record["steps_per_s"], 1)
            print(
                f"calibrate: {label} {algo.name}: {record['steps_per_s']:.0f} joint steps/s",
                file=sys.stderr,
                flush=True,
            )
    return table


def plan_steps(
    args: ControlArgs,
    groups: Mapping[str, Sequence[str]],
    shares: Mapping[str, int],
    throughput: Mapping[str, Mapping[str, float]] | None,
    rollout: Mapping[str, int],
    training_fraction: float,
) -> dict[str, int]:
    """Joint steps per trial for each task label.

    With ``--steps``, that many (rounded up to whole rollouts). With ``--budget``, the
    training core-seconds of the budget are split into equal shares (``shares[label]``
    of them per task); within a task every trial trains the same steps, which the
    measured ``throughput`` of the algorithms in ``groups[label]`` (one entry per trial)
    buys with that share.
    """
    if args.steps is not None:
        return {label: whole_rollouts(args.steps, rollout[label]) for label in groups}
    assert args.budget is not None and throughput is not None
    share = args.budget * 60.0 * default_workers(args.workers) * training_fraction / sum(shares.values())
    return {
        label: steps_for_share(share * shares[label], [throughput[label][a] for a in algos], rollout[label])
        for label, algos in groups.items()
        if algos
    }


def group_records(
    records: Sequence[Mapping[str, Any]], key: Callable[[Mapping[str, Any]], tuple]
) -> dict[tuple, list[dict]]:
    """Trial results grouped by ``key(record)``, in the order the groups first appear."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for record in records:
        groups[key(record)].append(record["result"])
    return dict(groups)


class WelchResult(NamedTuple):
    """Welch's test of the difference of two means at the 5% level.

    Attributes:
        difference: ``mean(a) - mean(b)``.
        low, high: Its 95% Welch interval (t quantile at the Welch-Satterthwaite degrees of
            freedom rounded down, so the interval is, if anything, too wide).
        df: The degrees of freedom.
        significant: The interval excludes 0 (before any correction for multiple comparisons).
        p: The two-sided p-value of the difference (Student t at the same degrees of freedom, rounded down), so
            that ``p < 0.05`` where ``significant``; :func:`holm` corrects a table's p-values.
    """

    difference: float
    low: float
    high: float
    df: float
    significant: bool
    p: float = 1.0


def welch_difference(a: Sequence[float], b: Sequence[float]) -> WelchResult:
    """Welch's 95% interval of ``mean(a) - mean(b)``; needs at least two values on each side."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(x) < 2 or len(y) < 2:
        return WelchResult(float(x.mean() - y.mean()), -math.inf, math.inf, 0.0, False, 1.0)
    vx, vy = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
    diff = float(x.mean() - y.mean())
    se = math.sqrt(vx + vy)
    if se == 0:
        return WelchResult(diff, diff, diff, math.inf, diff != 0, 0.0 if diff != 0 else 1.0)
    df = (vx + vy) ** 2 / (vx**2 / (len(x) - 1) + vy**2 / (len(y) - 1))
    whole = min(max(int(df), 1), len(T_975))  # the interval's degrees of freedom (the table's last = 30 and more)
    t = T_975[whole - 1]
    low, high = diff - t * se, diff + t * se
    return WelchResult(diff, low, high, df, bool(low > 0 or high < 0), t_two_sided_p(abs(diff) / se, whole))


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the regularised incomplete beta function (modified Lentz)."""
    tiny, front, c = 1e-300, 1.0, 1.0
    d = 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    front = d
    for m in range(1, 300):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            front *= c * d
        if abs(c * d - 1.0) < 1e-14:
            break
    return front


def t_two_sided_p(t: float, df: float) -> float:
    """The two-sided p-value of Student's t statistic ``t`` at ``df`` degrees of freedom,
    ``I_{df/(df+t^2)}(df/2, 1/2)``.

    Examples:
        >>> round(t_two_sided_p(2.776445, 4), 4), round(t_two_sided_p(0.0, 7), 4)
        (0.05, 1.0)
    """
    x = df / (df + t * t)
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    a, b = df / 2.0, 0.5
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return min(1.0, math.exp(log_front) * _beta_continued_fraction(a, b, x) / a)
    return min(1.0, 1.0 - math.exp(log_front) * _beta_continued_fraction(b, a, 1.0 - x) / b)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values of a family of tests (in the order given): the i-th smallest p times the
    number of tests not yet rejected, made monotone, at most 1. A test is shown at level alpha where its adjusted
    p-value is below alpha; the chance of any false claim in the family stays at most alpha.

    Examples:
        >>> holm([0.01, 0.04, 0.03])
        [0.03, 0.06, 0.06]
    """
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted = [1.0] * len(p_values)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[i]))
        adjusted[i] = round(running, 12)
    return adjusted


def significance_rows(
    groups: Mapping[tuple, Sequence[Mapping[str, Any]]],
    tasks: Sequence[str],
    names: Sequence[str],
    metric: str = "team_return",
) -> list[dict[str, Any]]:
    """Every pair of algorithms on every task: the difference of final means, its Welch interval and p-value, and
    whether it is shown at 5%, uncorrected and after :func:`holm`'s correction over the pairs of that task (the
    family of one table's comparisons on one task)."""
    rows: list[dict[str, Any]] = []
    for task in tasks:
        first_row = len(rows)
        for i, first in enumerate(names):
            for second in names[i + 1 :]:
                a, b = groups.get((task, first)), groups.get((task, second))
                if not a or not b:
                    continue
                w = welch_difference([r["final"][metric] for r in a], [r["final"][metric] for r in b])
                rows.append(
                    {
                        "task": task,
                        "a": first,
                        "b": second,
                        "difference": round(w.difference, 3),
                        "ci95_low": round(w.low, 3),
                        "ci95_high": round(w.high, 3),
                        "df": round(w.df, 1),
                        "significant": w.significant,
                        "p": round(w.p, 4),
                        "_p": w.p,
                    }
                )
        family = rows[first_row:]
        for row, adjusted in zip(family, holm([float(r.pop("_p")) for r in family]), strict=True):
            row["p_holm"] = round(adjusted, 4)
            row["significant_holm"] = adjusted < 0.05
    return rows


def significance_lines(rows: Sequence[Mapping[str, Any]], metric_label: str) -> list[str]:
    """A Markdown table of :func:`significance_rows` (rows without a Holm column, from an older CSV, say so)."""
    lines = [
        f"| task | A | B | final {metric_label}: A - B (95% Welch CI) | p | shown at 5% | Holm p | shown after Holm |",
        "|---|---|---|---|---:|---|---:|---|",
    ]
    for r in rows:
        interval = (
            f"({r['ci95_low']:.1f} .. {r['ci95_high']:.1f})"
            if math.isfinite(r["ci95_low"])
            else "(one seed on a side: no interval)"
        )
        holm_p, holm_shown = (
            (f"{r['p_holm']:.3f}", "yes" if r["significant_holm"] else "not shown") if "p_holm" in r else ("-", "-")
        )
        p_text = f"{r['p']:.3f}" if "p" in r else "-"
        lines.append(
            f"| {r['task']} | {r['a']} | {r['b']} | {r['difference']:.1f} {interval} | {p_text} | "
            f"{'yes' if r['significant'] else 'not shown'} | {holm_p} | {holm_shown} |"
        )
    return lines


#: What the reports say about the tests (one place for every control report).
TESTS_NOTE = (
    "Differences at the final point: Welch's test of every pair of algorithms; 'shown at 5%' where the 95% interval "
    "excludes 0, uncorrected; 'shown after Holm' where the p-value stays below 5% after Holm's correction for the "
    "several comparisons on the same task (each task's pairs are one family), so that the chance of any false "
    "'shown' among them is at most 5%. Read the Holm column for a claim."
)


def final_interval(results: Sequence[Mapping[str, Any]], metric: str) -> Any:
    """The 95% t-interval over seeds of a metric at the final evaluation."""
    return t_interval([r["final"][metric] for r in results])


def plot_curves(
    path: Path,
    panels: Sequence[tuple[str, str, Mapping[str, Sequence[Mapping[str, Any]]]]],
    title: str,
    clip: Callable[[str, Any, Any], tuple[Any, Any]] | None = None,
) -> Path:
    """One panel per ``(panel title, metric, {label: results})``: mean and 95% band of each label's curves."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    labels = list(dict.fromkeys(label for _, _, series in panels for label in series))
    colors = {label: plt.get_cmap("tab10")(i % 10) for i, label in enumerate(labels)}
    n = len(panels)
    cols = min(n, 3)
    rows = -(-n // cols)
    panel_width = 4.6  # inches
    fig, axes = plt.subplots(rows, cols, figsize=(panel_width * cols, 3.5 * rows), squeeze=False)
    for ax, (panel_title, metric, series) in zip(axes.flat, panels):
        for label, results in series.items():
            if not results:
                continue
            x, mean, low, high = aggregate_curves([r["curve"] for r in results], metric).arrays()
            if clip is not None:
                low, high = clip(metric, low, high)
            ax.plot(x, mean, color=colors[label], label=f"{label} (n={len(results)})")
            ax.fill_between(x, low, high, color=colors[label], alpha=0.2)
        ax.set_title(panel_title, fontsize=10)
        ax.set_xlabel("joint environment steps")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1000:g}k"))
        ax.set_ylabel(metric.replace("_", " "))
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    # A title wider than the figure is clipped at both ends: wrap it to the figure's width
    # (about 12 characters per inch at this font size).
    fig.suptitle(textwrap.fill(title, width=max(30, int(12 * panel_width * cols))), fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
