"""The summary of several matrix runs (:mod:`stmg_bench.suites.matrix_summary`, ``benchmarks/matrix_summary.py``)."""

from __future__ import annotations

import json

import pytest

from stmg_bench.suites import matrix_summary
from stmg_bench.sweep.reporting import write_csv
from tests.bench.benchmark_scripts import load_script


def _write_run(out, run, game, agents, steps, labels, hyperparameters, algo="step-explore"):
    """A run as the matrix study leaves it: ``<run>.csv`` (one row per trial) and ``trials/<run>/*.json``."""
    rows = []
    folder = out / "trials" / run
    folder.mkdir(parents=True)
    for seed, label in enumerate(labels):
        row = {"game": game, "algo": algo, "order": "possible_agents", "seed": seed, "steps": steps, "label": label}
        row["p_se"] = 0.99 if label == "SE" else 0.2
        row.update({f"p_agent_{i}_a1": 0.5 for i in range(agents)})
        rows.append(row)
        record = {"result": {"algo": algo}, "fingerprint": {"hyperparameters": hyperparameters}, "commit": "abc"}
        (folder / f"{algo}_{seed}.json").write_text(json.dumps(record))
    write_csv(out / f"{run}.csv", rows)


PRESET = {"ent_coef": [0.6, 0.05], "n_epochs": 20}


def test_the_summary_puts_each_runs_games_in_one_table_with_their_targets(tmp_path):
    """Rows keep each run's budget and agents; a target is met or not by the SE share; the failing seeds are named;
    an algorithm whose records share one setting across the runs is said to; the algorithms on one game stand
    together whichever runs they come from."""
    _write_run(tmp_path, "two", "mixing", 2, 10000, ["SE"] * 4, PRESET)
    _write_run(tmp_path, "five", "robust-sum:5:0", 5, 80000, ["SE", "SE", "NE", "SE"], PRESET)
    _write_run(tmp_path, "base", "mixing", 2, 10000, ["NE"] * 4, PRESET, algo="mappo")
    args = matrix_summary.Args(runs=("two", "five", "base"), name="together", out=tmp_path)
    text = matrix_summary.run(args)
    table = [line.removeprefix("| ").split(" | ")[:4] for line in text.splitlines() if line.startswith("| ")]
    assert table[1:] == [
        ["mixing", "2", "1.00", "step-explore"],
        ["mixing", "2", "1.00", "mappo"],
        ["robust-sum:5:0", "5", "1.01", "step-explore"],
    ]
    assert (
        "| mixing | 2 | 1.00 | mappo | possible_agents | 10,000 | 4 | 0% [0%-49%] | 0.20 / 0.20 | 0 1 2 3 | - |" in text
    )
    assert "`step-explore` (one setting in every run; runs two, five)" in text
    assert "| mixing | 2 | 1.00 | step-explore | possible_agents | 10,000 | 4 | 100% [51%-100%] |" in text
    assert (
        "| robust-sum:5:0 | 5 | 1.01 | step-explore | possible_agents | 80,000 | 4 | 75% [30%-95%] | 0.20 / 0.99 | 2 |"
        in text
    )
    assert ">= 90%: **NOT met**" in text and "1 of 2 targets met." in text
    assert (tmp_path / "together.md").read_text() == text
    assert (tmp_path / "together.csv").read_text().splitlines()[0].startswith("run,game,agents,algo,order,steps")


def test_the_summary_says_when_the_runs_gave_an_algorithm_different_settings(tmp_path):
    """Two runs whose records gave STEP different settings are flagged, with both settings shown: the table is then
    not one setting's result."""
    _write_run(tmp_path, "a", "mixing", 2, 10000, ["SE"], PRESET)
    _write_run(tmp_path, "b", "penalty:0", 2, 10000, ["SE"], {"n_epochs": 5})
    text = matrix_summary.run(matrix_summary.Args(runs=("a", "b"), name="s", out=tmp_path))
    assert "**2 different settings**" in text and '`{"n_epochs": 5}`' in text


def test_a_missing_run_or_a_bad_name_is_a_clear_error(tmp_path):
    """A run without its CSV or its records names what is missing and how to make it; no run, or a --name that
    would overwrite a run's report, is refused."""
    with pytest.raises(FileNotFoundError, match="expected the matrix study's per-trial CSV .*nowhere.csv"):
        matrix_summary.run(matrix_summary.Args(runs=("nowhere",), out=tmp_path))
    write_csv(tmp_path / "bare.csv", [{"game": "mixing"}])
    with pytest.raises(FileNotFoundError, match="expected the trial records of run 'bare'"):
        matrix_summary.run(matrix_summary.Args(runs=("bare",), out=tmp_path))
    assert "expected at least one run" in matrix_summary.Args().check()
    assert "it would overwrite that report" in matrix_summary.Args(runs=("a",), name="a").check()


def test_the_script_writes_the_summary(tmp_path, capsys):
    """benchmarks/matrix_summary.py parses its Args and prints the page it writes."""
    _write_run(tmp_path, "two", "mixing", 2, 10000, ["SE"], PRESET)
    load_script("matrix_summary").main(["--runs", "two", "--name", "page", "--out", str(tmp_path)])
    assert "| mixing | 2 | 1.00 | step-explore |" in capsys.readouterr().out
    assert (tmp_path / "page.md").exists()
