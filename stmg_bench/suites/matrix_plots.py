"""The matrix study's plots: Penalty's outcome shares, action-probability curves and the SE rate per order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from stmg_bench.suites.matrix_stats import RANDOM_POOLED, Stats, game_of

if TYPE_CHECKING:
    from stmg_bench.suites.matrix_args import Args

__all__ = ["plot", "plot_orders"]


def plot(
    stats: Stats,
    records: Sequence[Mapping[str, Any]],
    args: Args,
    names: Sequence[str],
) -> list[Path]:
    """Penalty outcome shares per algorithm (Fig. 5), action-probability curves (Fig. B.2) and, for a run with
    other orders than the default, the SE rate per order (:func:`plot_orders`), as PNG files."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    penalty = [g for g in args.games if g.startswith("penalty")]
    if penalty:
        fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.2), sharey=True, squeeze=False)
        for ax, name in zip(axes[0], names):
            present = [g for g in penalty if (g, name, "possible_agents") in stats]
            ks = [g.split(":")[1] for g in present]
            shares = {
                k: np.array([getattr(stats[(g, name, "possible_agents")], k) for g in present])
                for k in ("se", "ne", "none")
            }
            ax.bar(ks, shares["se"], label="SE (a1,a3)", color="tab:green")
            ax.bar(ks, shares["ne"], bottom=shares["se"], label="other NE", color="tab:orange")
            ax.bar(ks, shares["none"], bottom=shares["se"] + shares["ne"], label="none", color="tab:gray")
            ax.set_title(name)
            ax.set_xlabel("k")
        axes[0][0].set_ylabel("proportion of trials")
        axes[0][-1].legend(loc="lower right", fontsize=8)
        fig.suptitle(f"Penalty: outcome of {args.seeds} trials x {args.steps} steps")
        fig.tight_layout()
        path = args.out / f"{args.name}_penalty_outcomes.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    if args.orders != ("possible_agents",):
        paths.append(plot_orders(stats, args, names))
    for game in [g for g in ("mixing", "penalty:-100") if g in args.games]:
        fig, axes = plt.subplots(2, len(names), figsize=(4 * len(names), 5), sharex=True, sharey=True, squeeze=False)
        for col, name in enumerate(names):
            curves = [
                r["result"]["curve"]
                for r in records
                if game_of(r, args.games) == game
                and r["result"]["algo"] == name
                and r["result"]["order"] == "possible_agents"
                and r["result"]["marginals"] is not None
            ]
            curves = [c for c in curves if c]
            if not curves:
                continue
            length = min(len(c) for c in curves)
            steps = [c[0] for c in curves[0][:length]]
            probs = np.array([[point[1] for point in c[:length]] for c in curves])  # trial, point, agent, action
            mean = probs.mean(axis=0)
            for row in range(min(2, mean.shape[1])):
                ax = axes[row][col]
                for action in range(mean.shape[2]):
                    ax.plot(steps, mean[:, row, action], label=f"a{action + 1}")
                ax.set_title(f"{name} agent_{row}")
                ax.set_ylim(0, 1)
        axes[-1][0].set_xlabel("joint steps")
        axes[0][0].set_ylabel("P(action)")
        if axes[0][-1].lines:
            axes[0][-1].legend(fontsize=8)
        fig.suptitle(f"{game}: action probabilities during training (mean over trials)")
        fig.tight_layout()
        path = args.out / f"{args.name}_{game.replace(':', '')}_curves.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


def plot_orders(stats: Stats, args: Args, names: Sequence[str]) -> Path:
    """The SE rate per order: one panel per algorithm, one group of bars per game, one bar per order of the run.

    Bars carry the 95% Wilson interval. Under ``random`` the bar pools every order the policy is labelled under
    and the dots are the SE share under each order (two agents: who leads; more agents: every permutation).
    Written to ``<out>/<name>_orders.png``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    orders = args.order_names()
    games = list(args.games)
    width = 0.8 / len(orders)
    fig, axes = plt.subplots(
        len(names), 1, figsize=(max(6.0, 0.9 * len(games) + 2), 2.4 * len(names)), sharex=True, squeeze=False
    )
    for ax, name in zip(axes[:, 0], names):
        for j, order in enumerate(orders):
            key_order = RANDOM_POOLED if order == "random" else order
            xs: list[float] = []
            shares: list[float] = []
            errors: list[list[float]] = [[], []]
            for i, game in enumerate(games):
                s = stats.get((game, name, key_order))
                if s is None:
                    continue
                x = i + (j - (len(orders) - 1) / 2) * width
                xs.append(x)
                shares.append(s.se)
                errors[0].append(max(0.0, s.se - s.se_low))
                errors[1].append(max(0.0, s.se_high - s.se))
                if order == "random":
                    each = list((s.per_order_se or {}).values())
                    ax.scatter([x] * len(each), each, s=8, color="black", zorder=3)
            if xs:
                ax.bar(xs, shares, width, yerr=errors, capsize=2, label=order, color=f"C{j}")
        ax.set_title(name, fontsize=9)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("SE share")
    axes[-1][0].set_xticks(range(len(games)), games, rotation=30, ha="right", fontsize=8)
    axes[0][0].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.suptitle(
        f"SE rate per order ({args.seeds} seeds; bars: 95% Wilson; dots: each order of a random-order policy)",
        fontsize=9,
    )
    fig.tight_layout()
    path = args.out / f"{args.name}_orders.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
