"""The headline summary (`stmg_bench.suites.summary`): its numbers are the CSVs' numbers, and a missing run is missing."""

from __future__ import annotations

import csv
from pathlib import Path

from stmg_bench.suites import summary
from stmg_bench.suites.matrix_study import wilson_interval


def _write(path: Path, rows: list[dict[str, object]]) -> None:
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


TABLE = summary.MatrixTable(
    title="tiny",
    games=("mixing", "penalty:0"),
    columns=(
        summary.Column("tuned", "step-explore", ("tuned",), "0-4"),
        summary.Column("held out", "step-explore", ("heldout",), "100-104"),
    ),
)
CONTROL = summary.ControlTable(title="control", runs=(("ctl", "scenario", "final_return_mean"),), algos=("step",))


def _matrix_rows() -> list[dict[str, object]]:
    labels = {"mixing": "SE SE NE SE SE", "penalty:0": "NE NE SE NE SE"}
    rows: list[dict[str, object]] = []
    for game, text in labels.items():
        for seed, label in enumerate(text.split()):
            rows.append(
                {"game": game, "algo": "step-explore", "order": "possible_agents", "seed": seed, "label": label}
            )
        rows.append({"game": game, "algo": "mappo", "order": "possible_agents", "seed": 0, "label": "SE"})  # not read
    return rows


def test_summary_numbers_equal_a_recomputation_and_a_missing_run_is_named(tmp_path: Path) -> None:
    """Guards that every SE cell is the CSV's SE count over its trials with the Wilson interval (only the column's
    algorithm), that the control cells are the CSV's mean and interval (ablation rows left out), and that a run with
    no CSV is reported as not run yet instead of raising."""
    _write(tmp_path / "tuned.csv", _matrix_rows())
    _write(
        tmp_path / "ctl.csv",
        [
            {
                "scenario": "Ant-2x4",
                "algo": "step",
                "beta": "",
                "seeds": 5,
                "steps_per_trial": 1000,
                "final_return_mean": 12.34,
                "final_return_ci95_low": 1.5,
                "final_return_ci95_high": 23.26,
            },
            {
                "scenario": "Ant-2x4",
                "algo": "step",
                "beta": "0.0",
                "seeds": 3,
                "steps_per_trial": 1000,
                "final_return_mean": 99.0,
                "final_return_ci95_low": 98.0,
                "final_return_ci95_high": 100.0,
            },
        ],
    )
    text = summary.run(summary.Args(out=tmp_path), matrix_tables=(TABLE,), control_table=CONTROL)

    with open(tmp_path / "summary.csv", newline="") as fh:
        written = {(row["task"], row["column"]): row for row in csv.DictReader(fh)}
    for game, se in (("mixing", 4), ("penalty:0", 2)):
        low, high = wilson_interval(se, 5)
        row = written[(game, "tuned")]
        assert (int(row["n"]), float(row["se"]), row["seeds"]) == (5, se / 5, "0-4")
        assert (float(row["se_low"]), float(row["se_high"])) == (low, high)
        assert f"| {game} | {se / 5:.0%} [{100 * low:.0f}-{high:.0%}], n=5 | - |" in text
    assert ("mixing", "held out") not in written
    assert "`heldout`: **not run yet**" in text
    assert "| Ant-2x4 | 1,000 | 12.3 [1.5..23.3], n=5 |" in text
    assert float(written[("Ant-2x4", "step")]["mean"]) == 12.34
    assert "99.0" not in text


def test_partial_run_shows_its_n_and_seeds(tmp_path: Path) -> None:
    """Guards that a run still being computed shows the trials and seeds it has, not the planned ones."""
    rows = [r for r in _matrix_rows() if r["algo"] == "step-explore" and int(str(r["seed"])) in (0, 1, 3)]
    _write(tmp_path / "heldout.csv", rows)
    text = summary.run(summary.Args(out=tmp_path), matrix_tables=(TABLE,), control_table=None)
    low, high = wilson_interval(3, 3)  # mixing: seeds 0, 1, 3 all at the SE
    assert f"| mixing | - | 100% [{100 * low:.0f}-{high:.0%}], n=3 |" in text
    assert "seeds 0-1, 3" in text
    assert "`tuned`: **not run yet**" in text
