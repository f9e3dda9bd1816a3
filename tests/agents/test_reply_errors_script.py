"""benchmarks/reply_errors.py: its last-follower control, its rows and table, and its arguments."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch", reason="needs the [agents] extra")

from stmg_bench.suites.matrix import game_spec, make_env_factory
from tests.bench.benchmark_scripts import load_script


def test_the_last_follower_control_updates_only_the_last_rank():
    """Only the last rank's decisions are trained on: the ranks above are skipped at every stage of training and
    move only through the shared parameters (held near their start by Eq. 11's regulariser), the last rank moves."""
    script = load_script("reply_errors")
    task_id, kwargs = game_spec("general-sum:3:1")
    make_env = make_env_factory("sequential", task_id, kwargs)
    algorithm = script.LastFollowerSTEP(make_env, seed=0, n_envs=2, gamma=0.0)
    env = make_env()
    env.reset(seed=0)
    observations = []
    for action in (0, 2, None):
        observations.append((env.agent_selection, env.observe(env.agent_selection)))
        if action is not None:
            env.step(action)
    before = [algorithm.action_probabilities(a, o) for a, o in observations]
    algorithm.learn(400)
    after = [algorithm.action_probabilities(a, o) for a, o in observations]
    for progress_remaining in (1.0, 0.5, 0.0):
        algorithm._current_progress_remaining = progress_remaining
        assert [algorithm._rank_started(rank) for rank in (0, 1, 2)] == [False, False, True]
    leaders_moved = max(np.abs(after[k] - before[k]).max() for k in (0, 1))
    assert leaders_moved < 0.02 < np.abs(after[2] - before[2]).max()


def test_a_short_run_writes_a_row_per_rank_and_read_out_and_a_table_row_per_rank(tmp_path):
    """Two runs, one seed, two read-outs: 3 ranks x 2 read-outs rows per run, a table row per run and rank; a run's
    own settings are shown in its rows and in the command line of the header."""
    script = load_script("reply_errors")
    argv = ["--games", "general-sum:3:1", "--runs", "step-backward,last-follower", "--seeds", "1"]
    argv += ["--hyperparams", 'step-backward={"n_epochs": 1}']
    script.main([*argv, "--steps", "800", "--checkpoints", "2", "--n-envs", "2", "--out", str(tmp_path)])
    table = (tmp_path / "reply_errors.md").read_text()
    for run in ("step-backward", "last-follower"):
        for rank, contexts in ((0, 1), (1, 3), (2, 9)):
            assert f"| general-sum:3:1 | {run} |" in table
            assert any(
                line.startswith(f"| general-sum:3:1 | {run} |") and f"| {rank} | {contexts} |" in line
                for line in table.splitlines()
            )
    assert "ent_coef=0.6" in table  # the control's entropy bonus is shown with its row
    assert "| step-backward | n_epochs=1 |" in table and """--hyperparams step-backward='{"n_epochs": 1}'""" in table
    assert len((tmp_path / "reply_errors.csv").read_text().splitlines()) == 1 + 2 * 3 * 2


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--seeds", "0"], "--seeds, --steps and --checkpoints"),
        (["--entropy", "-1"], "--entropy >= 0"),
        (["--hyperparams", 'seq-ppo={"lr": 1}'], "not in --runs"),
        (["--order", "random"], "expected a fixed --order"),
    ],
)
def test_bad_arguments_stop_the_script_with_the_reason(flags, message, capsys):
    """A non-positive count, a negative bonus or settings for a run that is not run are refused with the reason."""
    with pytest.raises(SystemExit):
        load_script("reply_errors").parse_args(flags)
    assert message in capsys.readouterr().err


def test_replies_are_read_in_the_stmg_of_the_order_given():
    """With --order reversed the last agent leads: rank 0's rows are agent_2's (one context), rank 2's agent_0's."""
    script = load_script("reply_errors")
    args = script.parse_args(["--order", "agent_2+agent_1+agent_0", "--steps", "200", "--checkpoints", "1"])
    rows = script.trial("general-sum:3:1", "seq-ppo", 0, args)
    assert {(r["rank"], r["agent"], r["contexts"]) for r in rows} == {
        (0, "agent_2", 1),
        (1, "agent_1", 3),
        (2, "agent_0", 9),
    }


def test_a_simultaneous_algorithm_is_refused_before_it_trains():
    """MAPPO has no contexts to read: the run stops with the reason before any training."""
    script = load_script("reply_errors")
    args = script.parse_args(["--runs", "mappo"])
    with pytest.raises(ValueError, match="expected a sequential-form algorithm, got form 'simultaneous'"):
        script.trial("penalty:0", "mappo", 0, args)
