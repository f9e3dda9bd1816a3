"""`make run` (the Makefile): the project's setting beside the baselines, into a new folder, never the committed results."""

from __future__ import annotations

import shlex
from pathlib import Path

from stmg_bench.args import parse_dataclass
from stmg_bench.suites import matrix_study

ROOT = Path(__file__).resolve().parents[2]


def make_run_argv() -> tuple[list[str], str]:
    """The arguments `make run` gives benchmarks/matrix_games.py (its recipe, continuation lines joined), and the
    default of the folder it writes into (RUN_OUT)."""
    lines = (ROOT / "Makefile").read_text().replace("\\\n", " ").splitlines()
    recipe = lines[lines.index("run: $(STAMP)") + 1]
    words = shlex.split(recipe)
    run_out = next(line for line in lines if line.startswith("RUN_OUT ?="))
    return words[words.index("benchmarks/matrix_games.py") + 1 :], run_out.split("?=", 1)[1].strip()


def test_make_run_runs_the_readme_setting_beside_the_baselines_into_a_new_ignored_folder():
    """`make run` trains step-explore with the entropy preset next to MAPPO and seq-ppo (the preset reaches every one
    of them) on Mixing, where they part, with enough seeds that all at the SE against one is a difference its
    intervals show (18 trials: about a minute on 2 cores), and writes into a fresh folder under runs/ (git-ignored),
    never into benchmarks/results/."""
    argv, run_out = make_run_argv()
    args = parse_dataclass(matrix_study.Args, [a if a != "$(RUN_OUT)" else "runs/x" for a in argv])
    assert args.algos == ("step-explore", "mappo", "seq-ppo") and args.preset == "entropy"
    assert args.games == ("mixing",)
    assert args.steps == matrix_study.Args().steps  # the setting's budget, 10,000 steps for two agents
    assert wilson_interval_apart(args.seeds)
    assert "$(RUN_OUT)" in argv and run_out.startswith("runs/quick-$(shell date") and not args.overwrite
    assert "/runs/" in (ROOT / ".gitignore").read_text().splitlines()


def wilson_interval_apart(seeds: int) -> bool:
    """All of ``seeds`` at the SE against one of them: the two 95% Wilson intervals do not overlap."""
    return matrix_study.wilson_interval(seeds, seeds)[0] > matrix_study.wilson_interval(1, seeds)[1]
