"""benchmarks/two_car_game.py: the game of constant policies, its equilibria, and a trace's rows."""

from __future__ import annotations

import csv

import pytest

pytest.importorskip("torch", reason="needs the [agents] extra")

from tests.bench.benchmark_scripts import load_script

pytestmark = [pytest.mark.highway, pytest.mark.slow]


def test_the_game_table_equilibria_and_a_trace_are_written(tmp_path):
    """On two evaluation episodes the constant-policy game already has the structure the docs state (main-lane car
    FASTER is its Stackelberg commitment; both cars' give-way outcomes are Nash equilibria), and a one-reading trace
    gives one row per variant and seed with the replies to all five leader actions."""
    script = load_script("two_car_game")
    script.main(
        ["--eval-episodes", "2", "--variants", "biac-ac", "--trace-seeds", "1", "--steps", "60", "--trace-every", "60",
         "--out", str(tmp_path), "--name", "t"]
    )  # fmt: skip
    game = list(csv.DictReader((tmp_path / "t_constant.csv").read_text().splitlines()))
    assert len(game) == 25
    nash, commitments = script.equilibria(
        [{k: float(v) if k.endswith("reward") else v for k, v in row.items()} for row in game]
    )
    assert ("FASTER", "SLOWER") in nash and ("SLOWER", "FASTER") in nash
    best = max(commitments, key=lambda c: c["leader_worst"])
    assert best["commitment"] == "FASTER" and best["leader_worst"] == 50.0
    trace = list(csv.DictReader((tmp_path / "t_trace.csv").read_text().splitlines()))
    assert [(r["variant"], r["seed"], r["steps"]) for r in trace] == [("biac-ac", "0", "60")]
    assert len(trace[0]["replies"]) == 5
    text = (tmp_path / "t.md").read_text()
    assert "Stackelberg commitment of the main-lane car among constant policies: FASTER" in text
