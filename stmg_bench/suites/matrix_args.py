"""The matrix study's arguments: :class:`Args` (the command line of ``benchmarks/matrix_games.py`` and
``stmg-bench matrix``), the shared settings every algorithm gets, the named presets of them, and the algorithms
they resolve to.

Examples:
    >>> Args(preset="entropy").shared_settings()
    {'n_envs': 8, 'gamma': 0.0, 'ent_coef': [0.6, 0.05], 'n_epochs': 20}
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from stmg_bench import selection
from stmg_bench.args import algos_field, hyperparams_field
from stmg_bench.registry import ResolvedAlgorithm
from stmg_bench.suites.matrix import GAMES, ORDERS, SUITES, expand_games
from stmg_bench.suites.matrix_stats import _game_table
from stmg_bench.sweep import SweepOptions

__all__ = ["Args", "MATRIX_PRESETS", "MatrixPreset", "SHARED_SETTINGS", "resolve_algorithms"]


#: Settings every algorithm gets (where its constructor takes them): they are not part of any method.
#: ``ent_coef`` and ``n_epochs`` only when given (``None``: each algorithm's own default).
SHARED_SETTINGS = ("n_envs", "gamma", "ent_coef", "n_epochs")


#: Named matrix presets of the shared settings ``--ent-coef`` and ``--n-epochs`` (``--preset NAME``), given to
#: every algorithm that takes them like the flags themselves. ``entropy``: an entropy bonus that fades linearly
#: from 0.6 to 0.05 over training and 20 passes over each rollout; with ``step-explore`` it is the one setting
#: the N-agent results use for every matrix game, at 10,000 steps x 2^(N-2) for N agents
#: (docs/benchmarks.md, "One setting for every matrix game").
@dataclass(frozen=True)
class MatrixPreset:
    """A named set of the shared settings ``--ent-coef`` (a number, or a linear schedule START,END) and
    ``--n-epochs``."""

    ent_coef: tuple[float, ...]
    n_epochs: int

    def flags(self) -> str:
        """The command-line flags it stands for.

        Examples:
            >>> MATRIX_PRESETS["entropy"].flags()
            '--ent-coef 0.6,0.05 --n-epochs 20'
        """
        return f"--ent-coef {_ent_coef_text(self.ent_coef)} --n-epochs {self.n_epochs}"


def _ent_coef_text(values: Sequence[float]) -> str:
    """``--ent-coef``'s value as the command line writes it: ``0.6,0.05``."""
    return ",".join(f"{v:g}" for v in values)


MATRIX_PRESETS: Mapping[str, MatrixPreset] = MappingProxyType({"entropy": MatrixPreset((0.6, 0.05), 20)})


def _parse_ent_coef(text: str) -> tuple[float, ...]:
    """``--ent-coef``: one number, or ``START,END`` (a linear schedule over training)."""
    try:
        values = tuple(float(item) for item in text.split(","))
    except ValueError:
        values = ()
    if len(values) not in (1, 2) or not all(math.isfinite(v) and v >= 0 for v in values):
        raise argparse.ArgumentTypeError(
            f"expected a number >= 0 or START,END (e.g. 0.6,0.05: a linear schedule over training), got {text!r}"
        )
    return values


@dataclass(frozen=True)
class Args(SweepOptions):
    """The matrix suite's settings; ``stmg-bench matrix --help`` and ``benchmarks/matrix_games.py --help`` list them."""

    games: tuple[str, ...] = field(
        default=tuple(GAMES),
        metadata={
            "help": f"games, from {list(GAMES)}, suites {list(SUITES)} (nagent: generated 3-5 agent games; nagent-robust: the same with robust-sum for general-sum), or generated "
            "games by name, e.g. team-trap:3:0 (stmg_envs.matrix.generators)"
        },
    )
    algos: tuple[str, ...] = algos_field(("step", "mappo", "ippo"))
    hyperparams: dict[str, dict[str, Any]] = hyperparams_field()
    orders: tuple[str, ...] = field(
        default=("possible_agents",),
        metadata={
            "help": "priority orders of the STMG: possible_agents, reversed, random (drawn each episode; evaluated under "
            "every order), or agents joined by '+' (agent_1+agent_0)"
        },
    )
    agent_indicator: bool = field(
        default=False,
        metadata={
            "help": "observations also say which agent observes them (SuperSuit's agent_indicator_v0 on the game, "
            "for every algorithm); without it a sequential policy tells matrix-game agents apart only by rank"
        },
    )
    seeds: int = field(default=100, metadata={"help": "trials per game, algorithm and order (the paper: 100)"})
    seed_start: int = field(
        default=0,
        metadata={
            "help": "the first seed: trials use seeds SEED_START .. SEED_START + SEEDS - 1 (e.g. 100 to score a setting "
            "on seeds other than those it was chosen on)"
        },
    )
    steps: int = field(
        default=10_000, metadata={"help": "joint environment steps of training per trial (the paper: 10,000)"}
    )
    curve_points: int = field(default=20, metadata={"help": "read-outs of the policy during training, for the curves"})
    n_envs: int = field(
        default=8,
        metadata={"help": "environment copies per rollout, for every algorithm that takes it (the authors: 4)"},
    )
    gamma: float = field(
        default=0.0, metadata={"help": "discount factor, for every algorithm that takes it (the authors: 0.99)"}
    )
    ent_coef: tuple[float, ...] | None = field(
        default=None,
        metadata={
            "help": "entropy bonus for every algorithm that takes it: a number, or START,END for one that moves "
            "linearly from START to END over training (none: each algorithm's own, 0.05 for the built-ins)",
            "type": _parse_ent_coef,
        },
    )
    n_epochs: int | None = field(
        default=None,
        metadata={
            "help": "passes over each rollout, for every algorithm that takes it (none: each algorithm's own, 5)"
        },
    )
    preset: str | None = field(
        default=None,
        metadata={
            "help": "a named set of --ent-coef and --n-epochs (stmg_bench.suites.matrix_study.MATRIX_PRESETS): "
            + "; ".join(f"{name}: {preset.flags()}" for name, preset in MATRIX_PRESETS.items()),
            "choices": sorted(MATRIX_PRESETS),
        },
    )
    compare_with: str | None = field(
        default=None,
        metadata={
            "help": "name of an earlier run in --out whose per-trial CSV to put side by side (SE rates and intervals)"
        },
    )
    name: str = field(default="matrix_games", metadata={"help": "base name of the results files"})
    out: Path = field(
        default=Path("runs"),
        metadata={"help": "results folder (benchmarks/matrix_games.py: benchmarks/results/ next to it)"},
    )

    def check(self) -> str | None:
        """A message for the first bad setting, or None (every order is checked against every game's agents).

        Examples:
            >>> Args(games=("mixing",), orders=("reverse",)).check()
            "--orders: expected an order: one of possible_agents, reversed, random, or the agents ['agent_0', \
'agent_1'] joined by '+' in priority order (e.g. agent_1+agent_0), got 'reverse' for game mixing: neither an \
order's name nor agents."
        """
        try:
            games = expand_games(self.games)
        except ValueError as exc:
            return str(exc)
        for flag, given in (("--games", self.games), ("--algos", self.algos), ("--orders", self.orders)):
            if not given:
                return f"expected {flag} to name at least one, got none"
        if problem := self._orders_problem(games):
            return problem
        if self.seeds < 1 or self.steps < 1 or self.curve_points < 0:
            return f"expected --seeds >= 1, --steps >= 1 and --curve-points >= 0, got {self.seeds}, {self.steps}, {self.curve_points}"
        if not 0 <= self.seed_start <= 2**32 - 1 - self.seeds:
            return f"expected 0 <= --seed-start <= 2**32 - 1 - --seeds, got --seed-start {self.seed_start}"
        if self.n_envs < 1 or not 0.0 <= self.gamma <= 1.0:
            return f"expected --n-envs >= 1 and 0 <= --gamma <= 1, got --n-envs {self.n_envs} and --gamma {self.gamma}"
        if self.n_epochs is not None and self.n_epochs < 1:
            return f"expected --n-epochs >= 1, got {self.n_epochs}"
        return self._preset_problem()

    def _orders_problem(self, games: Sequence[str]) -> str | None:
        """A message for an order of ``--orders`` that some game cannot be played in, or None."""
        from stmg_envs.wrappers.priority_order import InvalidOrderError, parse_order

        if len(set(self.order_names())) < len(self.orders):
            return f"expected distinct --orders, got {','.join(self.orders)}"
        for order in self.orders:
            if order in ORDERS:
                continue
            for game in games:
                agents = _game_table(game).agents
                try:
                    parse_order(order, agents, "--orders:")
                except InvalidOrderError as exc:
                    text = str(exc)
                    if f"got {order!r}" in text:  # name the game whose agents the order does not fit
                        text = text.replace(f"got {order!r}", f"got {order!r} for game {game}", 1)
                    return text
        return None

    def _preset_problem(self) -> str | None:
        """A message for an unknown ``--preset`` or one given next to the flags it sets, or None."""
        if self.preset is None:
            return None
        if self.preset not in MATRIX_PRESETS:
            return f"expected --preset from {sorted(MATRIX_PRESETS)}, got {self.preset!r}"
        if self.ent_coef is not None or self.n_epochs is not None:
            given = " and ".join(f for f, v in (("--ent-coef", self.ent_coef), ("--n-epochs", self.n_epochs)) if v)
            return (
                f"expected either --preset or --ent-coef/--n-epochs, got --preset {self.preset} with {given}: "
                "the preset sets both; drop the preset or the flags"
            )
        return None

    def with_preset(self) -> Args:
        """These settings with ``--preset`` written out as the ``--ent-coef`` and ``--n-epochs`` it stands for.

        Examples:
            >>> Args(preset="entropy").with_preset().shared_flags()
            ' --ent-coef 0.6,0.05 --n-epochs 20'
        """
        if self.preset is None:
            return self
        if (problem := self._preset_problem()) is not None:  # never drop a flag the preset would overwrite
            raise ValueError(problem)
        preset = MATRIX_PRESETS[self.preset]
        return dataclasses.replace(self, ent_coef=preset.ent_coef, n_epochs=preset.n_epochs, preset=None)

    def shared_settings(self) -> dict[str, Any]:
        """The :data:`SHARED_SETTINGS` that are set, ``--preset`` included (a one-number ``--ent-coef`` as a number, two
        as ``[start, end]``)."""
        args = self.with_preset()
        shared: dict[str, Any] = {k: getattr(args, k) for k in SHARED_SETTINGS if getattr(args, k) is not None}
        if "ent_coef" in shared:
            values = list(shared["ent_coef"])
            shared["ent_coef"] = values[0] if len(values) == 1 else values
        return shared

    def shared_flags(self) -> str:
        """``--ent-coef``/``--n-epochs`` as given on the command line or by ``--preset`` (empty when not given), for
        the report."""
        args = self.with_preset()
        flags = ""
        if args.ent_coef is not None:
            flags += f" --ent-coef {_ent_coef_text(args.ent_coef)}"
        if args.n_epochs is not None:
            flags += f" --n-epochs {args.n_epochs}"
        return flags

    def order_names(self) -> tuple[str, ...]:
        """The orders in the form :func:`order_indices` reads (``+`` becomes ``,``)."""
        return tuple(o.replace("+", ",") for o in self.orders)


def resolve_algorithms(args: Args) -> tuple[list[ResolvedAlgorithm], dict[str, dict[str, Any]]]:
    """Resolve ``--algos``: each gets the shared settings (:data:`SHARED_SETTINGS`) it takes, then its ``--hyperparams``.

    See :func:`stmg_bench.selection.resolve_algorithms` (and what it raises).
    """
    return selection.resolve_algorithms(args.algos, args.hyperparams, args.shared_settings())
