"""The matrix suite: trials through the contract, evaluation through the algorithm's form, order labels, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from stmg_bench.cli import main as cli_main
from stmg_bench.registry import resolve
from stmg_bench.suites import matrix, matrix_study
from stmg_envs.equilibria import classify_outcome, stackelberg_equilibrium
from stmg_envs.matrix import MIXING, penalty_payoff

HERE = Path(__file__).resolve().parent
TINY = f"{HERE / 'tiny_algorithms.py'}"


def trial(spec, **kw):
    kw.setdefault("task_id", "stmg/Penalty-v0")
    kw.setdefault("task_kwargs", {"k": -25.0})
    return matrix.matrix_trial(
        resolve(spec).to_json(), steps=kw.pop("steps", 300), curve_points=kw.pop("curve_points", 3), **kw
    )


def test_sequential_evaluation_passes_the_leaders_greedy_action_to_the_follower():
    """In the sequential form the follower acts on the STMG observation holding the leader's greedy action: a
    follower that copies it ends on the leader's action, with the joint distribution enumerated through the form."""
    record = trial(f"{TINY}:CopyLeader", hyperparameters={"first": 1})
    assert record["greedy_joint_action"] == [1, 1] and record["algo"] == "copy-leader"
    joint = np.asarray(record["joint_probabilities"])
    assert joint[1, 1] == 1.0 and joint.sum() == 1.0
    assert [point[0] for point in record["curve"]] == [100, 200, 300]  # after every update, num_timesteps
    json.loads(json.dumps(record))


def test_an_algorithm_without_probabilities_gets_its_greedy_outcome_labelled():
    """Without action_probabilities the label still comes from the exact solver; P(SE) and marginals are None."""
    record = trial(f"{TINY}:Fixed", hyperparameters={"action": 2})
    payoffs = np.stack([penalty_payoff(-25.0)] * 2)
    assert (record["label"], record["tag"]) == (
        classify_outcome(payoffs, (2, 2)).label,
        classify_outcome(payoffs, (2, 2)).tag,
    )
    assert record["p_se"] is None and record["marginals"] is None and record["curve"] == []


def test_outcomes_are_labelled_by_the_se_of_the_order_used():
    """Mixing is general-sum: its SE depends on who leads. A reversed STMG puts agent_1 first and the label
    follows; a simultaneous algorithm is labelled under every order from one training."""
    payoffs = np.asarray(MIXING)
    se_forward = stackelberg_equilibrium(payoffs, order=(0, 1)).joint_action
    se_reversed = stackelberg_equilibrium(payoffs, order=(1, 0)).joint_action
    assert se_forward != se_reversed  # the premise of the test
    record = trial(
        f"{TINY}:Fixed",
        task_id="stmg/Mixing-v0",
        task_kwargs={},
        hyperparameters={"action": se_reversed[0]},
        label_orders=["possible_agents", "reversed"],
    )
    assert set(record["by_order"]) == {"possible_agents", "reversed"}
    assert record["by_order"]["reversed"]["se_joint_action"] == list(se_reversed)
    for order, idx in (("possible_agents", (0, 1)), ("reversed", (1, 0))):
        expected = classify_outcome(payoffs, tuple(record["greedy_joint_action"]), order=idx)
        assert record["by_order"][order]["label"] == expected.label


def test_the_reversed_stmg_really_lets_agent_1_lead():
    """Under --orders reversed the sequential form starts with agent_1 (rank 0): CopyLeader's leader is agent_1."""
    record = trial(f"{TINY}:CopyLeader", hyperparameters={"first": 0}, order="reversed", curve_points=0)
    assert record["greedy_joint_action"] == [0, 0] and record["order"] == "reversed"


def test_plan_trains_simultaneous_algorithms_once_and_sequential_ones_per_order():
    """Orders multiply the sequential algorithm's trials only; shared settings reach only algorithms that take them."""
    args = matrix_study.Args(
        games=("mixing",),
        algos=(f"{TINY}:CopyLeader", f"{TINY}:Fixed", "mappo"),
        seeds=2,
        orders=("possible_agents", "reversed"),
        n_envs=3,
        gamma=0.5,
    )
    algorithms, settings = matrix_study.resolve_algorithms(args)
    assert settings == {"copy-leader": {}, "fixed": {}, "mappo": {"n_envs": 3, "gamma": 0.5}}
    trials = matrix.plan_trials(args.games, algorithms, settings, 2, 100, 0, args.order_names())
    per_algo = {}
    for t in trials:
        per_algo.setdefault(t.kwargs["algorithm"]["name"], []).append(
            (t.kwargs["order"], tuple(t.kwargs["label_orders"]))
        )
    assert (
        sorted(per_algo["copy-leader"])
        == [("possible_agents", ("possible_agents",))] * 2 + [("reversed", ("reversed",))] * 2
    )
    assert per_algo["fixed"] == per_algo["mappo"] == [("possible_agents", ("possible_agents", "reversed"))] * 2
    assert len({t.key for t in trials}) == len(trials)
    assert all(t.fingerprint["hyperparameters"] == settings[t.kwargs["algorithm"]["name"]] for t in trials)


def test_entropy_and_epochs_are_shared_only_when_given_and_reach_every_algorithm_that_takes_them():
    """--ent-coef (a number, or START,END for a linear schedule) and --n-epochs go to STEP, seq-ppo, MAPPO and
    IPPO alike (not to biac, which takes neither), and each builds with them; left out, no algorithm gets them (its
    own default, so earlier plans are unchanged); the report's command line shows them."""
    from stmg_bench.args import parse_dataclass

    algos = ("step", "seq-ppo", "mappo", "ippo", "biac")
    args = parse_dataclass(
        matrix_study.Args, ["--algos", ",".join(algos), "--ent-coef", "0.6,0.05", "--n-epochs", "20"]
    )
    algorithms, settings = matrix_study.resolve_algorithms(args)
    for name in algos[:4]:
        assert settings[name] == {"n_envs": 8, "gamma": 0.0, "ent_coef": [0.6, 0.05], "n_epochs": 20}
    assert settings["biac"] == {"n_envs": 8, "gamma": 0.0}
    assert args.shared_flags() == " --ent-coef 0.6,0.05 --n-epochs 20"
    for algo in algorithms[:4]:  # each builds with them: the schedule and the epochs are what its update uses
        factory = algo.load()
        built = factory(matrix.make_env_factory(factory.form, "stmg/Mixing-v0", {}), seed=0, **settings[algo.name])
        config = getattr(built, "config", built)  # MAPPO/IPPO keep their settings in a config; STEP on itself
        assert (config.ent_coef, config.n_epochs) == ((0.6, 0.05), 20), algo.name
    one = parse_dataclass(matrix_study.Args, ["--algos", "mappo", "--ent-coef", "0.1"])
    assert matrix_study.resolve_algorithms(one)[1]["mappo"]["ent_coef"] == 0.1
    plain = matrix_study.Args(algos=algos)
    assert all("ent_coef" not in s and "n_epochs" not in s for s in matrix_study.resolve_algorithms(plain)[1].values())
    assert plain.shared_flags() == ""


def test_a_preset_gives_every_algorithm_what_its_flags_would():
    """--preset entropy stands for --ent-coef 0.6,0.05 --n-epochs 20: the same settings reach every algorithm, the
    trials have the same fingerprints (so records made with the flags are reused) and the report shows the flags;
    a preset next to either flag, or an unknown one, is refused with what was expected, when parsed and when the
    settings are read."""
    from stmg_bench.args import parse_dataclass

    common = ["--algos", "step-explore,seq-ppo,mappo", "--games", "mixing", "--seeds", "2"]
    preset = parse_dataclass(matrix_study.Args, [*common, "--preset", "entropy"])
    flags = parse_dataclass(matrix_study.Args, [*common, "--ent-coef", "0.6,0.05", "--n-epochs", "20"])
    assert matrix_study.resolve_algorithms(preset)[1] == matrix_study.resolve_algorithms(flags)[1]
    assert preset.shared_flags() == flags.shared_flags() == " --ent-coef 0.6,0.05 --n-epochs 20"

    def fingerprints(args):
        algorithms, settings = matrix_study.resolve_algorithms(args)
        trials = matrix.plan_trials(args.games, algorithms, settings, args.seeds, args.steps, 2, args.order_names())
        return [(t.key, t.fingerprint) for t in trials]

    assert fingerprints(preset) == fingerprints(flags)
    assert preset.with_preset() == flags
    problem = matrix_study.Args(preset="entropy", n_epochs=5).check()
    assert problem is not None and "expected either --preset or --ent-coef/--n-epochs" in problem
    assert "--n-epochs" in problem
    with pytest.raises(ValueError, match="expected either --preset or --ent-coef/--n-epochs"):
        matrix_study.Args(preset="entropy", n_epochs=5).shared_settings()  # the flag is never dropped silently
    with pytest.raises(ValueError, match="expected --preset from \\['entropy'\\], got 'loud'"):
        matrix_study.Args(preset="loud").shared_settings()


def test_a_random_order_policy_is_evaluated_and_labelled_under_every_order():
    """Trained on orders drawn each episode, a sequential policy is played in the STMG of each fixed order and
    labelled by that order's SE: CopyLeader's leader is whoever acts first, so the greedy action follows the order."""
    record = trial(
        f"{TINY}:CopyLeader",
        task_id="stmg/Mixing-v0",
        task_kwargs={},
        hyperparameters={"first": 1},
        order="random",
        curve_points=0,
    )
    assert set(record["by_order"]) == {"agent_0,agent_1", "agent_1,agent_0"}
    payoffs = np.asarray(MIXING)
    for order, idx in (("agent_0,agent_1", (0, 1)), ("agent_1,agent_0", (1, 0))):
        entry = record["by_order"][order]
        assert entry["greedy_joint_action"] == [1, 1]
        assert entry["se_joint_action"] == list(stackelberg_equilibrium(payoffs, order=idx).joint_action)
        assert entry["label"] == classify_outcome(payoffs, (1, 1), order=idx).label
    rows, stats = matrix_study.summarise(
        [{"kwargs": {"task_id": "stmg/Mixing-v0", "task_kwargs": {}}, "result": record}]
    )
    # listed apart from policies trained on a fixed order (which would share the order's name), and pooled
    orders = {"random:agent_0,agent_1", "random:agent_1,agent_0"}
    assert {key[2] for key in stats} == orders | {matrix_study.RANDOM_POOLED} and len(rows) == 2
    pooled = stats[("mixing", "copy-leader", matrix_study.RANDOM_POOLED)]
    assert pooled.n == 2 and set(pooled.per_order_se or {}) == {o.removeprefix("random:") for o in orders}
    # with two agents the report lists the two orders, not the pooled row
    assert matrix_study.listed_orders(stats, "mixing", "copy-leader", ("random",)) == sorted(orders)
    assert {row.order for row in rows} == {"random:agent_0,agent_1", "random:agent_1,agent_0"}


def test_fixed_order_and_random_order_policies_are_reported_apart():
    """A run with orders 'agent_0+agent_1' and 'random' lists the fixed-order policy and the random-order one
    labelled under the same order as two rows; a simultaneous policy labelled for 'random' is listed as random too."""
    fixed = {"order": "agent_0,agent_1", "form": "sequential"}
    random_trained = {"order": "random", "form": "sequential"}
    simultaneous = {"order": "possible_agents", "form": "simultaneous"}
    orders = ("agent_0,agent_1", "random")
    assert matrix_study.order_label(fixed, "agent_0,agent_1", orders) == "agent_0,agent_1"
    assert matrix_study.order_label(random_trained, "agent_0,agent_1", orders) == "random:agent_0,agent_1"
    assert matrix_study.order_label(simultaneous, "agent_0,agent_1", orders) == "agent_0,agent_1"
    assert matrix_study.order_label(simultaneous, "agent_1,agent_0", orders) == "random:agent_1,agent_0"


def test_plan_is_seed_major_and_random_expands_to_every_order_for_labels():
    """Trials come seed by seed (a sweep stopped early is balanced); under 'random' a simultaneous algorithm is
    labelled under every order and a sequential one trains on random orders."""
    args = matrix_study.Args(
        games=("mixing", "penalty:0"), algos=(f"{TINY}:CopyLeader", f"{TINY}:Fixed"), seeds=3, orders=("random",)
    )
    algorithms, settings = matrix_study.resolve_algorithms(args)
    trials = matrix.plan_trials(args.games, algorithms, settings, 3, 100, 0, args.order_names())
    assert [t.kwargs["seed"] for t in trials] == [0] * 4 + [1] * 4 + [2] * 4
    by_name = {t.kwargs["algorithm"]["name"]: t for t in trials}
    assert by_name["copy-leader"].kwargs["order"] == "random"
    assert by_name["fixed"].kwargs["label_orders"] == ["agent_0,agent_1", "agent_1,agent_0"]


def test_unknown_order_is_a_clear_error():
    """An order that is not a permutation of the agents names what is accepted, in the command line's spelling
    (the STMG's parser: names, or agents joined by '+')."""
    with pytest.raises(ValueError, match=r"agents \['agent_0', 'agent_1'\] joined by '\+'.*got 'agent_0\+agent_9'"):
        matrix.order_indices("agent_0,agent_9", ["agent_0", "agent_1"])


def test_cli_benchmarks_an_algorithm_from_a_local_file_on_the_process_pool(tmp_path):
    """`stmg-bench matrix` runs a user's class (a file outside the package) next to a built-in on two worker
    processes, with its own hyperparameters, and the results name it; a rerun (with --overwrite: the report exists)
    reuses every trial."""
    argv = [
        "matrix",
        "--algos",
        f"{TINY}:CopyLeader,mappo",
        "--games",
        "penalty:0,mixing",
        "--seeds",
        "2",
        "--steps",
        "200",
        "--curve-points",
        "2",
        "--hyperparams",
        'copy-leader={"first": 0}',
        "--workers",
        "2",
        "--out",
        str(tmp_path),
        "--name",
        "mine",
    ]
    done = subprocess.run([sys.executable, "-m", "stmg_bench.cli", *argv], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "mine.md").read_text()
    assert "| penalty:0 | copy-leader | possible_agents | 2 |" in text and "| mixing | mappo |" in text
    assert "`copy-leader` (sequential form" in text and '{"first": 0}' in text
    rows = (tmp_path / "mine.csv").read_text().splitlines()
    assert len(rows) == 1 + 2 * 2 * 2
    records = [json.loads(p.read_text()) for p in (tmp_path / "trials" / "mine").glob("*.json")]
    assert len(records) == 8 and all(r["fingerprint"]["code"] for r in records)
    again = subprocess.run(
        [sys.executable, "-m", "stmg_bench.cli", *argv, "--overwrite"], capture_output=True, text=True, timeout=300
    )
    assert again.returncode == 0 and "8 trials: 0 run, 8 reused" in again.stderr


def test_cli_refuses_bad_algorithms_and_hyperparameters_before_training(tmp_path, capsys):
    """An unknown name, a class without the contract, a hyperparameter the class does not take: exit 2, a message
    naming what was expected, nothing written."""
    base = ["matrix", "--games", "mixing", "--seeds", "1", "--out", str(tmp_path)]
    assert cli_main([*base, "--algos", "no-such"]) == 2
    assert "unknown algorithm 'no-such'" in capsys.readouterr().err
    assert cli_main([*base, "--algos", "collections:Counter"]) == 2
    assert "has no `form` attribute" in capsys.readouterr().err
    assert cli_main([*base, "--algos", f"{TINY}:Fixed", "--hyperparams", 'fixed={"lr": 1}']) == 2
    assert "does not take the hyperparameter(s) ['lr']; it takes ['action', 'fail_seed']" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_agent_indicator_puts_the_identity_in_every_observation_and_is_planned_apart():
    """--agent-indicator: SuperSuit's agent indicator reaches both forms under any order (the STMG keeps its
    order), a policy that reads it is at the SE under every order of a random-order run, and the trials carry
    the flag and keys of their own while plans without it stay as they were."""
    task_id, kwargs = matrix.game_spec("team-trap:3:0")
    for order in ("possible_agents", "reversed"):
        env = matrix.make_env_factory("sequential", task_id, kwargs, order, agent_indicator=True)()
        env.reset(seed=0)
        seen = {}
        for agent in env.agent_iter(3):
            observation = env.observe(agent)
            seen[agent] = (observation["observation"][1:].tolist(), int(observation["rank"]))
            env.step(0)
        identity = {a: [float(i == j) for j in range(3)] for i, a in enumerate(env.possible_agents)}
        assert {a: v[0] for a, v in seen.items()} == identity
        ranks = {a: v[1] for a, v in seen.items()}
        assert ranks == (
            {"agent_0": 0, "agent_1": 1, "agent_2": 2}
            if order == "possible_agents"
            else {"agent_0": 2, "agent_1": 1, "agent_2": 0}
        )
    simultaneous = matrix.make_env_factory("simultaneous", task_id, kwargs, agent_indicator=True)()
    observations, _ = simultaneous.reset(seed=0)
    assert observations["agent_2"].tolist() == [1.0, 0.0, 0.0, 1.0]

    se = stackelberg_equilibrium(np.asarray(kwargs["payoffs"])).joint_action
    record = trial(
        f"{TINY}:ByIdentity",
        task_id=task_id,
        task_kwargs=kwargs,
        order="random",
        hyperparameters={"plays": list(se)},
        agent_indicator=True,
    )
    assert len(record["by_order"]) == 6 and {v["label"] for v in record["by_order"].values()} == {"SE"}

    algo = resolve(f"{TINY}:ByIdentity")
    plain = matrix.plan_trials(["team-trap:3:0"], [algo], {}, 1, 100, 0, ("random",))
    marked = matrix.plan_trials(["team-trap:3:0"], [algo], {}, 1, 100, 0, ("random",), agent_indicator=True)
    assert "agent_indicator" not in plain[0].kwargs and marked[0].kwargs["agent_indicator"] is True
    assert marked[0].key == plain[0].key.replace("_s0", "_id_s0")


def test_seed_start_names_the_seeds_of_a_run_that_does_not_start_at_zero():
    """--seed-start 100 --seeds 2 plans seeds 100 and 101 (keys and kwargs), the same trials as those seeds of a run
    from 0, and the report's command line names it; a negative start is refused before any work."""
    algo = resolve(f"{TINY}:Fixed")
    held_out = matrix.plan_trials(["mixing"], [algo], {}, 2, 100, 0, seed_start=100)
    assert [t.kwargs["seed"] for t in held_out] == [100, 101]
    assert [t.key for t in held_out] == ["fixed_mixing_s100", "fixed_mixing_s101"]
    from_zero = matrix.plan_trials(["mixing"], [algo], {}, 102, 100, 0)
    assert [(t.key, t.kwargs, t.fingerprint) for t in from_zero[100:]] == [
        (t.key, t.kwargs, t.fingerprint) for t in held_out
    ]
    assert "--seed-start -1" in (matrix_study.Args(seed_start=-1).check() or "")
    assert matrix_study.Args(seed_start=100).check() is None


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--algos", "no-such"], "matrix_games.py: unknown algorithm 'no-such'"),
        (["--saved-from", "run_a"], "matrix_games.py: saved_from reads other runs' records"),
    ],
)
def test_the_script_reports_bad_input_in_one_line_with_exit_status_2(tmp_path, flags, message):
    """benchmarks/matrix_games.py, like stmg-bench, turns a bad algorithm or sweep setting into its message
    (what was expected) and exit status 2, not a traceback, and writes nothing."""
    script = Path(__file__).resolve().parents[3] / "benchmarks" / "matrix_games.py"
    argv = ["--games", "mixing", "--seeds", "1", "--workers", "1", "--out", str(tmp_path), *flags]
    done = subprocess.run([sys.executable, str(script), *argv], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr
    assert not list(tmp_path.rglob("*.json"))


def test_a_failing_trial_is_reported_and_the_rest_of_the_sweep_is_kept(tmp_path, capsys):
    """One trial raising (seed 1) does not lose the others: they are recorded and reported, the failure is named
    in the results, the exit status is 1, and a rerun retries only the failed trial."""
    argv = [
        "matrix",
        "--algos",
        f"{TINY}:Fixed",
        "--hyperparams",
        'fixed={"fail_seed": 1}',
        "--games",
        "mixing",
        "--seeds",
        "3",
        "--workers",
        "1",
        "--out",
        str(tmp_path),
        "--name",
        "broken",
    ]
    assert cli_main(argv) == 1
    err = capsys.readouterr().err
    assert "1 trial(s) failed: ['fixed_mixing_s1']" in err and "planted failure for seed 1" in err
    text = (tmp_path / "broken.md").read_text()
    assert "## Failed trials (1" in text and "`fixed_mixing_s1`: RuntimeError: planted failure for seed 1" in text
    assert sorted(p.name for p in (tmp_path / "trials" / "broken").glob("*.json")) == [
        "fixed_mixing_s0.json",
        "fixed_mixing_s2.json",
    ]


@pytest.mark.parametrize("order", ["possible_agents", "reversed", "random"])
def test_walk_contexts_shows_each_mover_what_stepping_a_copy_of_the_stmg_shows_it(order):
    """The replayed walk (no copies) visits every context of the step once, depth first, and gives the same mover
    and the same observation as stepping deep copies of the reset STMG with the context's actions."""
    import copy

    task_id, kwargs = matrix.game_spec("general-sum:3:1")
    make_env = matrix.make_env_factory("sequential", task_id, kwargs, order)
    walked = list(matrix.walk_contexts(make_env, seed=3))
    histories = [c.history for c in walked]
    assert histories[:3] == [(), (0,), (0, 0)] and len(histories) == len(set(histories)) == 1 + 3 + 9
    root = make_env()
    root.reset(seed=3)
    for context in walked:
        node = copy.deepcopy(root)
        for action in context.history:
            node.step(action)
        assert context.agent == node.agent_selection == root.order[len(context.history)]
        expected = node.observe(node.agent_selection)
        assert set(context.observation) == set(expected)
        for key, value in expected.items():
            np.testing.assert_array_equal(context.observation[key], value)


def test_a_three_agent_random_order_run_is_pooled_over_its_six_orders_and_plotted_per_order(tmp_path):
    """With three agents a random-order policy is labelled under 6 orders: the report lists one pooled row (trials x
    orders) instead of six, the section "order by order" gives each order's SE share (as the solver labels
    CopyLeader's joint action under that order), the CSV keeps every order, and the order plot is written."""
    import itertools

    from stmg_envs.matrix.generators import generate

    game = "general-sum:3:0"
    argv = ["matrix", "--algos", f"{TINY}:CopyLeader", "--hyperparams", 'copy-leader={"first": 1}', "--games", game]
    argv += ["--orders", "possible_agents,random", "--seeds", "1", "--steps", "100", "--curve-points", "0"]
    assert cli_main([*argv, "--workers", "1", "--out", str(tmp_path), "--name", "rand3"]) == 0
    payoffs = generate(game).payoffs
    agents = ["agent_0", "agent_1", "agent_2"]
    expected = {
        ",".join(agents[i] for i in perm): classify_outcome(payoffs, (1, 1, 1), order=perm).label == "SE"
        for perm in itertools.permutations(range(3))
    }
    text = (tmp_path / "rand3.md").read_text()
    pooled = f"| {game} | copy-leader | {matrix_study.RANDOM_POOLED} | 6 | {sum(expected.values()) / 6:.0%} ["
    assert pooled in text and f"| {game} | copy-leader | possible_agents | 1 |" in text
    assert "| copy-leader | random:agent_" not in text  # no per-order rows in the table
    section = text.split("## Random orders, order by order")[1].split("##")[0]
    row = next(line for line in section.splitlines() if line.startswith(f"| {game} | copy-leader | 6 |"))
    shares = sorted(expected.values())
    assert f"{shares[0]:.0%} / {float(np.median(shares)):.0%} / {shares[-1]:.0%}" in row
    assert f"| {sum(expected.values())} |" in row  # orders at >= 90%
    rows = (tmp_path / "rand3.csv").read_text().splitlines()
    assert len(rows) == 1 + 1 + 6  # header, the fixed-order policy, the random-order one under each order
    assert (tmp_path / "rand3_orders.png").stat().st_size > 0


@pytest.mark.agents
@pytest.mark.parametrize("name", ["step", "mappo", "ippo"])
def test_builtin_record_is_consistent(name):
    """Probabilities sum to 1, marginals match the joint, the label is the solver's, P(SE) and the expected payoffs
    are read off the joint distribution, and the record survives JSON."""
    pytest.importorskip("stable_baselines3", reason="needs the [agents] extra")
    record = trial(name, seed=1, steps=200, curve_points=2)
    json.loads(json.dumps(record))
    joint = np.asarray(record["joint_probabilities"])
    assert joint.shape == (3, 3) and joint.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(record["marginals"][0], joint.sum(axis=1))
    np.testing.assert_allclose(record["marginals"][1], joint.sum(axis=0))
    payoffs = np.stack([penalty_payoff(-25.0)] * 2)
    outcome = classify_outcome(payoffs, tuple(record["greedy_joint_action"]))
    assert (record["label"], record["tag"]) == (outcome.label, outcome.tag)
    se = stackelberg_equilibrium(payoffs).joint_action
    assert record["p_se"] == pytest.approx(joint[se])
    np.testing.assert_allclose(record["expected_payoffs"], [(payoffs[i] * joint).sum() for i in range(2)])
    assert record["steps"] >= 200 and record["decisions_per_s"] > 0 and len(record["curve"]) >= 1


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--n-envs", "0"], "expected --n-envs >= 1 and 0 <= --gamma <= 1"),
        (["--gamma", "1.5"], "expected --n-envs >= 1 and 0 <= --gamma <= 1"),
        (["--games", "penalty:-7"], "unknown game 'penalty:-7': expected one of ['penalty:0'"),
        (["--hyperparams", "step=0.5"], "expected a JSON object"),
        (["--backend", "spark"], "invalid choice: 'spark'"),
        (["--ent-coef", "0.6,-1"], "expected a number >= 0 or START,END (e.g. 0.6,0.05"),
        (["--ent-coef", "0.6,0.3,0.1"], "expected a number >= 0 or START,END"),
        (["--ent-coef", "high"], "expected a number >= 0 or START,END"),
        (["--n-epochs", "0"], "expected --n-epochs >= 1, got 0"),
        (["--preset", "loud"], "invalid choice: 'loud'"),
        (["--preset", "entropy", "--ent-coef", "0.1"], "expected either --preset or --ent-coef/--n-epochs"),
    ],
)
def test_the_script_rejects_bad_settings_with_the_expected_values(flags, message, capsys):
    """benchmarks/matrix_games.py's command line (derived from Args) stops on bad values with what was expected."""
    from stmg_bench.args import parse_dataclass

    with pytest.raises(SystemExit):
        parse_dataclass(matrix_study.Args, flags)
    assert message in capsys.readouterr().err


def test_the_scripts_command_line_is_the_args_dataclass():
    """Every field of Args is a flag of the script, with the dataclass's default (one source of defaults)."""
    import dataclasses

    from stmg_bench.args import parse_dataclass

    assert parse_dataclass(matrix_study.Args, []) == matrix_study.Args()
    from stmg_bench.args import build_parser

    flags = {a.dest for a in build_parser(matrix_study.Args)._actions}
    assert {f.name for f in dataclasses.fields(matrix_study.Args)} <= flags


def test_the_nagent_suite_expands_to_generated_games_that_trials_label_under_every_order():
    """`--games nagent` names 12 generated games; a trial on a 3-agent one is labelled by the exact solver under each
    of the 6 orders (random order), with P(SE) from the exact joint distribution over 27 joint actions."""
    from stmg_bench.registry import resolve
    from stmg_bench.suites.matrix import expand_games, game_spec, matrix_trial
    from stmg_envs.equilibria import stackelberg_equilibrium
    from stmg_envs.matrix.generators import generate

    games = expand_games(["nagent", "mixing", "team-trap:3:0"])
    assert len(games) == 13 and games[-1] == "mixing" and games.count("team-trap:3:0") == 1
    robust = expand_games(["nagent-robust"])  # the same games but the 5-agent general-sum ones
    assert [g.replace("robust-sum", "general-sum") for g in robust] == list(games[:12])
    differs = [g for g in robust if game_spec(g) != game_spec(g.replace("robust-sum", "general-sum"))]
    assert differs == ["robust-sum:5:0", "robust-sum:5:1"]
    task_id, kwargs = game_spec("general-sum:3:0")
    record = matrix_trial(
        resolve("step").to_json(),
        task_id,
        kwargs,
        seed=0,
        steps=64,
        curve_points=0,
        hyperparameters={"n_envs": 2},
        order="random",
    )
    assert len(record["by_order"]) == 6
    payoffs = generate("general-sum:3:0").payoffs
    for order, labelled in record["by_order"].items():
        indices = [record["agents"].index(a) for a in order.split(",")]
        assert labelled["se_joint_action"] == list(stackelberg_equilibrium(payoffs, indices).joint_action)
        assert 0.0 <= labelled["p_se"] <= 1.0
    assert abs(sum(map(sum, record["marginals"])) - 3.0) < 1e-6
    stats = matrix_study.summarise([{"kwargs": {"task_id": task_id, "task_kwargs": kwargs}, "result": record}], games)[
        1
    ]
    assert {key[0] for key in stats} == {"general-sum:3:0"}


def test_every_named_step_variant_is_held_to_steps_targets_and_other_algorithms_to_none():
    """The targets are the reference agent's: STEP and its registered variants get them (their levers are part of
    STEP), a baseline gets none; a target is met exactly when the SE share reaches it."""

    def row(se: float) -> matrix_study.RowStats:
        low, high = matrix_study.wilson_interval(round(se * 20), 20)
        n = dict.fromkeys(("marginals", "rewards", "p_se", "replies", "margin"))
        return matrix_study.RowStats(
            20, se, low, high, 0.0, 1 - se, {}, ("a", "b"), **n, failing_seeds=[], dps=1.0, train_s=1.0
        )

    stats = {
        ("team-trap:4:0", "step-backward", "possible_agents"): row(0.90),
        ("general-sum:3:0", "step-backward", "possible_agents"): row(0.90),
        ("team-trap:4:0", "mappo", "possible_agents"): row(0.0),
        ("robust-sum:5:0", "step-backward", "possible_agents"): row(0.90),
    }
    found = matrix_study.targets(stats, ["team-trap:4:0", "general-sum:3:0", "robust-sum:5:0"])
    assert [(text.split(" on ")[1], met) for text, met, _ in found] == [
        ("team-trap:4:0", True),
        ("general-sum:3:0", False),
        ("robust-sum:5:0", True),
    ]
    assert all(text.startswith("step-backward reaches the SE in >= ") for text, _, _ in found)
    for name in ("step", "step-scaled", "step-beta0", "step-timescales", "step-backward", "step-explore"):
        assert matrix_study.TARGETS[name] == matrix_study.STEP_TARGETS
    assert "mappo" not in matrix_study.TARGETS and "seq-ppo" not in matrix_study.TARGETS


def test_throughput_targets_are_keyed_by_class_and_hold_every_step_variant_to_ippos_speed():
    """The throughput target is data keyed by the algorithm's class (no name table): every name built on STEP is
    held to 0.7x the plain IPPO entry's decisions/s, and a run with step-explore and ippo reports it."""
    from stmg_bench.registry import registered
    from stmg_bench.suites.matrix_stats import THROUGHPUT_TARGETS

    def row(dps: float) -> matrix_study.RowStats:
        n = dict.fromkeys(("marginals", "rewards", "p_se", "replies", "margin"))
        return matrix_study.RowStats(
            20, 1.0, 0.8, 1.0, 0.0, 0.0, {}, ("a", "b"), **n, failing_seeds=[], dps=dps, train_s=1.0
        )

    step_names = {name for name, entry in registered().items() if entry.target == registered()["step"].target}
    assert {name for name, _, _ in THROUGHPUT_TARGETS} == step_names
    assert {(baseline, minimum) for _, baseline, minimum in THROUGHPUT_TARGETS} == {("ippo", 0.7)}
    stats = {
        ("mixing", "step-explore", "possible_agents"): row(800.0),
        ("mixing", "ippo", "possible_agents"): row(1000.0),
    }
    found = [(text, met, value) for text, met, value in matrix_study.targets(stats, ["mixing"]) if "throughput" in text]
    assert found == [
        ("step-explore training throughput >= 0.7x ippo's (agent-decisions/s during learn)", True, "0.80x")
    ]


def test_the_report_reads_every_ranks_replies_from_the_saved_joint_distribution(tmp_path):
    """The section "Replies, rank by rank" gives, per fixed-order row, each rank's wrong replies out of its
    contexts (as `joint_reply_errors` reads the trial's joint distribution), says how many contexts could not be
    read (a deterministic policy reaches one per rank) and the game's decisive margin, and the CSV has each
    trial's counts."""
    from stmg_bench.suites.replies import joint_reply_errors
    from stmg_envs.matrix.generators import generate

    game = "general-sum:3:0"
    argv = ["matrix", "--algos", f"{TINY}:CopyLeader", "--hyperparams", 'copy-leader={"first": 1}', "--games", game]
    argv += ["--seeds", "1", "--steps", "100", "--curve-points", "0", "--workers", "1"]
    assert cli_main([*argv, "--out", str(tmp_path), "--name", "replies3"]) == 0
    joint = np.zeros((3, 3, 3))
    joint[1, 1, 1] = 1.0  # CopyLeader: the leader plays a2, everyone copies it
    expected = joint_reply_errors(generate(game).payoffs, joint)
    assert expected.contexts == (1, 1, 1) and expected.unread == (0, 2, 8)
    section = (tmp_path / "replies3.md").read_text().split("## Replies, rank by rank")[1].split("\n## ")[0]
    cells = ", ".join(f"{w:.1f}/{c}" for w, c in zip(expected.wrong, (1, 3, 9)))
    perfect = int(not any(expected.wrong))
    assert (
        f"| {game} | copy-leader | possible_agents | 1 | {int(expected.right_on_path)} of 1 | {perfect} of 1 | {cells} "
        "(10 contexts unread: zero probability) | 0.63 (1: a1) |" in section
    )  # general-sum:3:0's SE hinges on agent_1's reply to a1 (a gap of 0.63)
    header, row = (tmp_path / "replies3.csv").read_text().splitlines()[:2]
    assert row.split(",")[header.split(",").index("wrong_replies")] == " ".join(map(str, expected.wrong))


def test_a_centrally_executed_algorithm_is_read_through_act_joint_and_its_joint_distribution():
    """A centralized algorithm's greedy joint action comes from act_joint and P(SE) from joint_probabilities, not from
    a product of marginals (which would put 0.25 on each corner); the order of the run reaches its constructor."""
    record = matrix.matrix_trial(
        resolve(f"{TINY}:JointLeaderFirst").to_json(),
        task_id="stmg/Penalty-v0",
        task_kwargs={"k": -100.0},
        steps=100,
        curve_points=0,
        order="reversed",
    )
    assert record["greedy_joint_action"] == [2, 0]  # reversed: agent_1 first plays 0, agent_0 plays 2
    assert record["p_se"] == pytest.approx(0.5)  # the SE (a1, a3) has half the mass, the swap the other half
    joint = np.asarray(record["joint_probabilities"])
    assert joint[0, 0] == 0 and joint[0, 2] == pytest.approx(0.5)


def test_an_order_aware_simultaneous_algorithm_is_trained_once_per_order():
    """uses_order = True: a simultaneous algorithm gets a trial per order of the run, labelled under that order, and the
    report says it is executed centrally and uses the order."""
    algo = resolve(f"{TINY}:JointLeaderFirst")
    trials = matrix.plan_trials(["mixing"], [algo], {}, 1, 100, 0, ("possible_agents", "reversed"))
    assert [(t.kwargs["order"], t.kwargs["label_orders"]) for t in trials] == [
        ("possible_agents", ["possible_agents"]),
        ("reversed", ["reversed"]),
    ]
    from stmg_bench.contract import form_label

    assert form_label(algo.load()) == "simultaneous form, centralized execution, uses the priority order"


@pytest.mark.parametrize(
    ("hyperparameters", "message"),
    [
        ({"length": 2}, r"BadProbabilities.action_probabilities returned an array of shape \(2,\) for 'agent_0'"),
        ({"action": 3}, r"BadProbabilities.act returned 3 for 'agent_0'; expected an action of Discrete\(3\)"),
    ],
)
def test_what_an_algorithm_returns_is_checked_and_the_error_names_the_method(hyperparameters, message):
    """Probabilities of the wrong length or an action out of range raise ContractError naming the method that gave
    them, not a raw IndexError deep in the suite."""
    from stmg_bench.contract import ContractError

    algo = resolve(f"{TINY}:BadProbabilities")
    make_env = matrix.make_env_factory(algo.form, "stmg/Penalty-v0", {"k": 0.0})
    with pytest.raises(ContractError, match=message):
        matrix.joint_policy(algo.load()(make_env, seed=0, **hyperparameters), make_env, seed=0)


@pytest.mark.parametrize(
    "extra,fragment",
    [
        (["--orders", "reverse"], "got 'reverse' for game mixing: neither an order's name nor agents"),
        (["--games", "mixing,team-trap:3:0", "--orders", "agent_1+agent_0"], "for game team-trap:3:0: missing agents"),
        (["--orders", "reversed,reversed"], "expected distinct --orders, got reversed,reversed"),
        (["--games", ""], "expected --games to name at least one, got none"),
        (["--algos", ""], "expected --algos to name at least one, got none"),
        (
            ["--algos", "mappo", "--hyperparams", 'mappo={"gamma": 2.0}'],
            'mappo cannot be built with {"gamma": 2.0, "n_envs": 8}: expected `gamma` in [0.0, 1.0], got 2.0',
        ),
    ],
)
def test_cli_refuses_bad_orders_and_empty_lists_before_any_trial(tmp_path, capsys, extra, fragment):
    """Every order of --orders is checked against every game's agents in the parent: a typo ends the command with
    exit 2 and one message in the command line's syntax (names, agents joined by '+'), before any trial ran or any
    file was written (it used to fail inside every worker, saying "comma-separated"); so does a --hyperparams value
    the class refuses (each algorithm is built once in the parent)."""
    argv = ["matrix", "--games", "mixing", "--algos", f"{TINY}:CopyLeader", "--seeds", "1", "--steps", "100"]
    assert cli_main([*argv, "--workers", "1", "--out", str(tmp_path), *extra]) == 2
    err = capsys.readouterr().err
    assert fragment in err and "comma-separated" not in err and "Traceback" not in err
    if "--orders" in extra and "distinct" not in fragment:
        assert "expected an order: one of possible_agents, reversed, random, or the agents" in err
        assert "joined by '+'" in err
    assert not any(tmp_path.iterdir())


def test_a_trial_runs_with_one_torch_thread_and_gives_the_callers_count_back():
    """The harness sets torch's thread count per trial: one thread inside the trial (also when the trial function is
    called directly, outside a sweep), the caller's count restored after it (it used to stay at one)."""
    torch = pytest.importorskip("torch", reason="needs the [agents] extra")
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        record = trial("mappo", hyperparameters={"n_envs": 1, "n_steps": 10}, steps=20, curve_points=0)
        assert record["steps"] >= 20 and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(previous)
