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


#: The PPO family, whose two updates in a pin's run are smooth in the floating-point arithmetic: a different CPU's
#: rounding moves their probabilities by far less than the tolerance (an argmax-driven learner could flip instead).
SMOOTH = ("step", "seq-ppo", "mappo", "ippo", "happo", "mat")
#: How far a pinned probability may move on another machine (CPU, BLAS) and still count as the same behaviour.
TOLERANCE = 1e-5


@pytest.mark.parametrize("algo", SMOOTH)
def test_committed_pins_hold_within_a_tolerance_on_this_machine(algo):
    """The committed pin of each PPO-family algorithm (two updates from seed 0) gives the same action probabilities
    here within TOLERANCE: bit-identical on the machine that made the pins, close on another CPU. A change of
    behaviour moves them by far more (the next test shows a seed's worth)."""
    script = load_script("trajectory_pins")
    pinned = json.loads((script.RESULTS / "trajectory_pins.json").read_text())["pins"][algo]
    fresh = script.pin(algo, (pinned["task"],), steps=pinned["steps"], seed=pinned["seed"])
    assert fresh["probabilities"], "the pin reads no probabilities"
    assert script.drift(pinned, fresh) <= TOLERANCE


def test_another_seed_moves_the_probabilities_beyond_the_tolerance():
    """The tolerance can fail: the same run from another seed is far outside it."""
    script = load_script("trajectory_pins")
    pinned = json.loads((script.RESULTS / "trajectory_pins.json").read_text())["pins"]["mappo"]
    other = script.pin("mappo", (pinned["task"],), steps=pinned["steps"], seed=pinned["seed"] + 1)
    assert script.drift(pinned, other) > 100 * TOLERANCE
