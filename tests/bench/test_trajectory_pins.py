"""benchmarks/trajectory_pins.py: a pin is the same for the same run, and --check names an algorithm whose pin changed."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch", reason="needs the [agents] extra")
pytest.importorskip("stable_baselines3", reason="needs the [agents] extra")

from tests.bench.benchmark_scripts import load_script

pytestmark = pytest.mark.agents
#: A cheap algorithm (tabular) and a short run of it.
ALGO, FLAGS = "biac", ["--algos", "biac", "--steps", "50"]


def test_a_pin_is_the_same_for_the_same_run_and_another_for_another_seed():
    """Two runs of one algorithm from one seed give one hash (each part of it too); another seed another hash."""
    script = load_script("trajectory_pins")
    first = script.pin(ALGO, ("penalty:-25",), steps=50, seed=0)
    again = script.pin(ALGO, ("penalty:-25",), steps=50, seed=0)
    assert first == again and first["parameters"] is not None
    assert script.pin(ALGO, ("penalty:-25",), steps=50, seed=1)["hash"] != first["hash"]


def test_an_algorithm_that_refuses_a_task_is_pinned_on_the_next():
    """Oracles & Followers refuses Penalty (three actions): it is pinned on the iterated game that comes next."""
    assert load_script("trajectory_pins").pin("oaf", ("penalty:-25", "iterated:bots"), steps=10, seed=0)["task"] == (
        "iterated:bots"
    )


def test_check_passes_an_unchanged_pin_and_lists_a_changed_one(tmp_path, capsys):
    """--check exits normally when the pins match; after a planted difference it exits with status 1 naming the
    algorithm and the part that changed, and a plain run refuses to replace the pin without --overwrite. Without
    --algos, --check checks the pinned algorithms and names the registered ones without a pin."""
    script = load_script("trajectory_pins")
    out = tmp_path / "pins.json"
    script.main([*FLAGS, "--out", str(out)])
    script.main([*FLAGS, "--out", str(out), "--check"])
    assert "all 1 unchanged" in capsys.readouterr().err
    document = json.loads(out.read_text())
    document["pins"][ALGO]["hash"] = "0" * 64
    document["pins"][ALGO]["readout"] = "0" * 64
    out.write_text(json.dumps(document))
    with pytest.raises(SystemExit) as exit_info:
        script.main([*FLAGS, "--out", str(out), "--check"])
    assert exit_info.value.code == 1
    assert f"{ALGO}: readout hash" in capsys.readouterr().err
    with pytest.raises(ValueError, match="pass --overwrite"):
        script.main([*FLAGS, "--out", str(out)])
    script.main([*FLAGS, "--out", str(out), "--overwrite"])
    capsys.readouterr()
    script.main(["--steps", "50", "--out", str(out), "--check"])  # every pinned algorithm: biac alone
    err = capsys.readouterr().err
    assert "all 1 unchanged" in err and "not checked, no pin yet" in err and "mappo" in err
