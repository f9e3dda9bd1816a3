"""matrix_trial: one benchmark trial per algorithm gives a consistent, JSON-able record."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("torch", reason="needs the [agents] extra")
pytest.importorskip("stable_baselines3", reason="needs the [agents] extra")

from stmg_agents.matrix_trials import ALGORITHMS, matrix_trial  # noqa: E402
from stmg_envs.games import classify_outcome  # noqa: E402
from stmg_envs.matrix import penalty_payoff  # noqa: E402
from tests.agents.benchmark_scripts import load_script  # noqa: E402

pytestmark = pytest.mark.agents


@pytest.mark.parametrize("algo", ALGORITHMS)
def test_record_is_consistent(algo):
    """Probabilities sum to 1, marginals match the joint, the label is the solver's, and it survives JSON."""
    record = matrix_trial(algo, "stmg/Penalty-v0", {"k": -25.0}, seed=1, steps=200, curve_points=2)
    json.loads(json.dumps(record))
    joint = np.asarray(record["joint_probabilities"])
    assert joint.shape == (3, 3) and joint.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(record["marginals"][0], joint.sum(axis=1))
    np.testing.assert_allclose(record["marginals"][1], joint.sum(axis=0))
    payoffs = np.stack([penalty_payoff(-25.0)] * 2)
    outcome = classify_outcome(payoffs, tuple(record["greedy_joint_action"]))
    assert (record["label"], record["tag"]) == (outcome.label, outcome.tag)
    assert record["p_se"] == pytest.approx(joint[0, 2])
    np.testing.assert_allclose(record["expected_payoffs"], [(payoffs[i] * joint).sum() for i in range(2)])
    assert record["steps"] >= 200 and record["decisions_per_s"] > 0 and len(record["curve"]) >= 1


def test_same_seed_same_record():
    """A trial is reproducible: same arguments, same joint policy."""
    a = matrix_trial("mappo", "stmg/Mixing-v0", seed=3, steps=200, curve_points=0)
    b = matrix_trial("mappo", "stmg/Mixing-v0", seed=3, steps=200, curve_points=0)
    assert a["joint_probabilities"] == b["joint_probabilities"]


def test_unknown_algorithm():
    """A typo in the algorithm name is a clear ValueError."""
    with pytest.raises(ValueError, match="expected algo"):
        matrix_trial("ppo", "stmg/Penalty-v0")


def test_benchmark_gives_every_algorithm_the_same_settings():
    """benchmarks/matrix_games.py hands --n-envs and --gamma to every algorithm's trial, and the trials take them."""
    script = load_script("matrix_games")
    args = script.parse_args(["--seeds", "1", "--games", "mixing", "--n-envs", "2", "--gamma", "0.5"])
    trials = script.make_trials(args)
    assert {t.kwargs["algo"] for t in trials} == set(ALGORITHMS)
    assert all(t.kwargs["hyperparams"] == {"n_envs": 2, "gamma": 0.5} for t in trials)
    defaults = script.parse_args([])
    assert all(script.hyperparams(defaults, algo) == {"n_envs": 8, "gamma": 0.0} for algo in ALGORITHMS)
    for algo in ALGORITHMS:  # every algorithm accepts them (an unknown name would raise)
        record = matrix_trial(algo, "stmg/Mixing-v0", seed=0, steps=100, curve_points=0, hyperparams=script.hyperparams(args, algo))
        assert record["steps"] >= 100


def test_benchmark_scaled_hypernetwork_flag_reaches_only_step():
    """--step-hyper-scale-by-width changes STEP's policy (the trial builds it) and leaves the baselines' settings alone."""
    script = load_script("matrix_games")
    args = script.parse_args(["--seeds", "1", "--games", "mixing", "--step-hyper-scale-by-width"])
    by_algo = {t.kwargs["algo"]: t.kwargs["hyperparams"] for t in script.make_trials(args)}
    assert by_algo["step"] == {"n_envs": 8, "gamma": 0.0, "policy_kwargs": {"hyper_scale_by_width": True}}
    assert by_algo["mappo"] == by_algo["ippo"] == {"n_envs": 8, "gamma": 0.0}
    from stmg_agents import STEP

    model = STEP("stmg/Mixing-v0", seed=0, **by_algo["step"])
    assert model.policy.action_net.hypernet.scale_by_width


@pytest.mark.parametrize("flags", [["--n-envs", "0"], ["--gamma", "1.5"], ["--gamma", "-0.1"]])
def test_benchmark_rejects_bad_settings(flags, capsys):
    """Out-of-range --n-envs or --gamma stop the script with a message that names both values."""
    script = load_script("matrix_games")
    with pytest.raises(SystemExit):
        script.parse_args(flags)
    assert "expected --n-envs >= 1 and 0 <= --gamma <= 1" in capsys.readouterr().err
