"""Smoke test of the installed wheel, run by ``make wheel-test`` (not by pytest).

``make wheel-test`` builds the sdist and wheel, installs the wheel (not editable, with the constraints
file) into a fresh virtual environment and runs this script there from a temporary folder, with
``python -P`` so that neither the repository nor this script's folder is on ``sys.path``. It checks
what a user of the wheel gets: the three packages from site-packages with their data files, every
registered task built in each form and played for an episode, a short STEP ``learn``, and the
``stmg-bench`` command on a tiny run. Any module or data file missing from the wheel fails it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path


def check_installed() -> None:
    import stmg_agents
    import stmg_bench
    import stmg_envs

    site = Path(sysconfig.get_paths()["purelib"]).resolve()
    for package in (stmg_envs, stmg_bench, stmg_agents):
        folder = Path(package.__file__).resolve().parent
        assert folder.parent == site, f"{package.__name__} imported from {folder}, not from the wheel in {site}"
        assert (folder / "py.typed").is_file(), f"{package.__name__}/py.typed is missing from the wheel"
    from importlib.metadata import version

    assert stmg_envs.__version__ == version("stmg-envs"), (stmg_envs.__version__, version("stmg-envs"))
    print(f"installed: stmg-envs {stmg_envs.__version__} from {site}")


def play_every_task() -> None:
    import gymnasium
    import pettingzoo

    from stmg_envs import registered_task_ids, stmg_v0
    from stmg_envs.registration import example_kwargs

    for task_id in registered_task_ids():
        # Three-step episodes: the matrix and MuJoCo tasks call the limit episode_length, the merge tasks max_steps.
        example = example_kwargs(task_id)  # stmg/Matrix-v0 needs a game
        probe = pettingzoo.make("parallel", task_id, **example)
        kwargs = {**example, **({"episode_length": 3} if hasattr(probe, "episode_length") else {"max_steps": 3})}
        probe.close()
        parallel = pettingzoo.make("parallel", task_id, **kwargs)
        parallel.reset(seed=0)
        steps = 0
        while parallel.agents and steps < 50:
            parallel.step({a: parallel.action_space(a).sample() for a in parallel.agents})
            steps += 1
        aec = pettingzoo.make("aec", task_id, **kwargs)
        aec.reset(seed=0)
        for decisions, agent in enumerate(aec.agent_iter()):
            done = any(aec.last()[2:4])
            aec.step(None if done or decisions > 200 else aec.action_space(agent).sample())
            if decisions > 200 and not done:
                break
        stmg_v0(pettingzoo.make("parallel", task_id, **kwargs)).reset(seed=0)
        single = gymnasium.make(task_id, **kwargs)
        single.reset(seed=0)
        single.step(single.action_space.sample())
        for env in (parallel, aec, single):
            env.close()
        print(f"played: {task_id}")


def learn_step() -> None:
    from stmg_agents import STEP

    model = STEP("stmg/Penalty-v0", seed=0, n_envs=2)
    model.learn(100)
    assert model.num_timesteps >= 100
    print(f"learned: STEP, {model.num_timesteps} steps")


def run_the_benchmark_command() -> None:
    with tempfile.TemporaryDirectory() as out:
        command = [
            "stmg-bench",
            "matrix",
            "--games",
            "penalty:0",
            "--algos",
            "step,ippo",
            "--seeds",
            "1",
            "--steps",
            "100",
            "--curve-points",
            "1",
            "--n-envs",
            "2",
            "--workers",
            "1",
            "--name",
            "smoke",
            "--out",
            out,
        ]
        bin_dir = Path(sys.executable).parent
        done = subprocess.run([str(bin_dir / command[0]), *command[1:]], capture_output=True, text=True, cwd=out)
        assert done.returncode == 0, done.stderr[-3000:]
        rows = (Path(out) / "smoke.csv").read_text().splitlines()
        assert len(rows) == 3, rows  # header + one trial per algorithm
        records = list((Path(out) / "trials" / "smoke").glob("*.json"))
        assert len(records) == 2 and all(json.loads(p.read_text())["result"]["algo"] for p in records)
    print("benchmark command: stmg-bench matrix wrote its results")


if __name__ == "__main__":
    check_installed()
    play_every_task()
    learn_step()
    run_the_benchmark_command()
    print("wheel smoke test: passed")
