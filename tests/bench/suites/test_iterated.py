"""The iterated-games suite: a committed policy is read through the algorithm's form and scored by the exact solver."""

from __future__ import annotations

import csv
import subprocess
import sys

import numpy as np
import pytest

from stmg_bench.registry import resolve
from stmg_bench.suites import iterated_study
from stmg_bench.suites.iterated import iterated_trial, make_env_factory, read_policies
from stmg_envs.equilibria.iterated import follower_best_response, iterated_game, iterated_stackelberg, memory_view

SPEC = "tests.bench.suites.test_iterated:"


class TablePlayers:
    """Both agents play a table of their own memory state (the argmax of the one-hot observation): no learning.

    ``leader``: an action per leader memory state; ``follower``: an action per follower memory state.
    """

    form = "sequential"
    name = "tables"

    def __init__(self, make_env, seed, leader=(0, 0, 0, 0, 0), follower=(0, 0, 0, 0, 0)):
        self.tables = {"agent_0": tuple(leader), "agent_1": tuple(follower)}
        self.num_timesteps = 0

    def learn(self, total_timesteps, callback=None):
        self.num_timesteps = total_timesteps
        return self

    def act(self, agent, observation):
        own = observation["observation"] if isinstance(observation, dict) else observation
        return self.tables[agent][int(np.argmax(own))]


class SimultaneousTablePlayers(TablePlayers):
    """The same tables on the simultaneous game."""

    form = "simultaneous"
    name = "tables-simultaneous"


def trial(cls: type, game: str, **tables) -> dict:
    return iterated_trial(resolve(SPEC + cls.__name__).to_json(), game, seed=0, steps=10, hyperparameters=tables)


@pytest.mark.parametrize("cls", [TablePlayers, SimultaneousTablePlayers])
def test_the_solvers_policy_with_a_best_responding_follower_scores_optimal_with_no_regret(cls):
    """A leader that plays the solver's memory-1 policy, against the follower's exact memory-1 reply, in either form:
    optimal, the same policy, the solver's value, the solver's returns in the greedy episode, zero regret."""
    best = iterated_stackelberg("ipd", follower="memory-1")
    record = trial(cls, "ipd", leader=best.leader_policy, follower=tuple(best.follower_policy))
    assert record["leader_policy"] == list(best.leader_policy)
    assert record["optimal"]["memory-1"] and record["same_policy"]["memory-1"]
    assert record["committed_value"]["memory-1"] == pytest.approx(best.leader_value)
    assert record["episode_returns"] == pytest.approx([best.leader_value, best.follower_value])
    assert record["joint_actions"] == [list(a) for a in best.joint_actions]
    assert record["follower_regret"]["memory-1"] == pytest.approx(0.0)
    # against a time-aware follower the same commitment is worth less (it defects at the end): not optimal there
    markov = follower_best_response("ipd", best.leader_policy, follower="markov")
    assert record["committed_value"]["markov"] == pytest.approx(markov.leader_value)
    assert record["follower_regret"]["markov"] == pytest.approx(markov.follower_value - best.follower_value)


def test_always_defect_is_scored_by_its_value_against_the_best_reply_not_by_the_episode():
    """An always-defecting leader is worth mutual defection (the follower's best reply), whatever the learned
    follower played; a follower that cooperates against it is charged its regret."""
    record = trial(TablePlayers, "ipd", leader=(1,) * 5, follower=(0,) * 5)
    game = iterated_game("ipd")
    defect = float(game.rewards[0, 1, 1]) * game.episode_length
    assert record["committed_value"]["memory-1"] == pytest.approx(defect)
    assert not record["optimal"]["memory-1"]
    suckered = float(game.rewards[1, 1, 0]) * game.episode_length
    assert record["episode_returns"][1] == pytest.approx(suckered)
    assert record["follower_regret"]["memory-1"] == pytest.approx(float(game.rewards[1, 1, 1]) * 10 - suckered)


def test_a_one_step_game_reads_only_the_start_state():
    """Battle of the Sexes lasts one step: the later joint states are not reachable and read as None, not an error."""
    algorithm = TablePlayers(None, 0, leader=(1,), follower=(1,))
    readout = read_policies(algorithm, make_env_factory("sequential", "bots"), seed=0)
    assert readout.leader == (1, None, None, None, None)
    record = trial(TablePlayers, "bots", leader=(0,), follower=(0,))
    assert record["optimal"]["memory-1"] and record["episode_returns"] == pytest.approx([1.0, 0.5])


def test_the_leaders_policy_is_read_per_memory_state_of_a_small_memory_game():
    """With memory of the opponent's action only (smipd), the leader's policy has three entries, read from the
    first joint state that shows each."""
    record = trial(TablePlayers, "smipd", leader=(1, 0, 1), follower=(0, 0, 0))
    assert record["leader_policy"] == [1, 0, 1]
    view = memory_view("opponent")
    assert [record["leader_by_joint_state"][s] for s in range(5)] == [(1, 0, 1)[view[0, s]] for s in range(5)]


def test_the_study_writes_a_report_and_csv_from_the_records(tmp_path):
    """End to end on the local backend in this process: the CSV has one row per game and algorithm with the shares,
    and the report names the command, the solver's optimum and each algorithm's settings."""
    args = iterated_study.Args(
        games=("ipd", "bots"), algos=(SPEC + "TablePlayers",), seeds=2, steps=10, workers=1, out=tmp_path, name="t"
    )
    text = iterated_study.run(args, progress=False)
    rows = list(csv.DictReader((tmp_path / "t.csv").open()))
    assert [(r["game"], r["algo"], r["trials"]) for r in rows] == [("ipd", "tables", "2"), ("bots", "tables", "2")]
    assert rows[1]["optimal_memory1"] == "2"  # (0) is the solver's policy of bots
    assert (
        "--workers 1 --games ipd,bots --algos tests.bench" in text
        and "| ipd | joint | 10 | -2.5 | 6 (10011) | 4 (10011) |" in text
    )
    assert "`tables`: `{'n_envs': 8, 'gamma': 1.0}`" not in text  # the tiny class takes neither shared setting
    with pytest.raises(ValueError, match="pass --overwrite"):
        iterated_study.run(args, progress=False)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--games", "ipd2"], "expected --games from"),
        (["--gamma", "2"], "expected --gamma in [0, 1], got 2.0"),
        (["--algos", "no-such-algo"], "unknown algorithm 'no-such-algo'"),
    ],
)
def test_the_script_reports_bad_input_in_one_line_with_exit_status_2(tmp_path, flags, message):
    """Bad arguments end in one line naming what was expected, before any trial runs."""
    done = subprocess.run(
        [sys.executable, "benchmarks/iterated_games.py", *flags, "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr
