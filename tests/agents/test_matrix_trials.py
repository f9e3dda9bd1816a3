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
