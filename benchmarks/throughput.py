"""Agent-decisions per second through the full AEC API, side by side.

Measures, in one process and one run, the cost of the AEC loop
(``agent_iter`` / ``last`` / ``step``) on Penalty for:

* ``raw parallel``: the ``ParallelEnv`` stepped directly with a joint action
  (one decision per agent per step; the floor any AEC form pays on top of);
* ``parallel_to_aec``: PettingZoo's own conversion (no subgame observations);
* ``stmg_v0``: our sequential game (richer observations, order enforcement);
* ``stmg_v0(flatten=True)``: the same with flat ``Box`` observations.

Each variant is timed in several interleaved rounds and the median taken, so a
busy second core affects all variants alike. Peak memory is checked over a
long run with ``tracemalloc`` (the growth between the first and the last
quarter of the run should be ~0).

More sections (each skipped, with the reason, when its extra is missing):

* ``mujoco``: joint steps/s on the MuJoCo sub-scenarios (``--scenarios``, default all nine) of Gymnasium-Robotics'
  own ``mamujoco_v1`` parallel env, of ours (target: >= 1.3x the library's) and
  of ``stmg_v0`` of ours (target: >= 1.0x the library's), with the same actions,
  next to the floor of the AEC protocol itself: :class:`MinimalAEC`, an AEC env
  over the same parallel env that does nothing but hand out the parallel
  observations and collect the joint action, driven by the same loop;
* ``physics``: the batched forms (:mod:`stmg_envs.vector` on ``mujoco.batch``) against the physical
  limit: raw ``mujoco.batch.Batch`` stepping of the task's own model with random controls and the task's
  frame skip, at the best of a grid of copies and thread counts; the batched STMG (random actions, one
  array per rank) and the batched parallel form as joint steps/s and as a share of that limit (target:
  the batched STMG >= 80%), next to today's path (our parallel env and ``stmg_v0``, one copy, from the
  ``mujoco`` section of the same run: add ``mujoco`` to ``--sections``);
* ``training``: the training speed of STEP, MAPPO and IPPO with the control
  preset on HalfCheetah 2x3 and Ant 2x4 against our parallel env's stepping
  speed (target: >= 50%), with a profile of each run (needs ``mujoco``);
* ``onramp``: env steps/s of ``stmg/OnRampMerge-v0`` (parallel form and
  ``stmg_v0``) per difficulty, and per *simulated second* next to highway-env's
  own single-agent ``merge-v0`` with the same number of vehicles (target: no slower).

The tables are written to ``benchmarks/results/<name>.md`` and ``.csv`` (``--name``, default ``throughput``).

Usage::

    python benchmarks/throughput.py                          # every section (~20 minutes on 2 cores)
    python benchmarks/throughput.py --sections matrix --steps 20000 --rounds 3
    python benchmarks/throughput.py --sections mujoco,training --rounds 3 --name throughput_mujoco
    python benchmarks/throughput.py --sections mujoco,physics --scenarios HalfCheetah:2x3,Ant:2x4 --name throughput_physics
"""

from __future__ import annotations

import csv
import functools
import gc
import os
import platform
import statistics
import time
import tracemalloc
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pettingzoo import AECEnv
from pettingzoo.utils.conversions import parallel_to_aec

import stmg_envs
from stmg_bench.args import command_line, parse_dataclass
from stmg_bench.cli import reported_errors
from stmg_bench.provenance import git_commit
from stmg_envs import stmg_v0
from stmg_envs.matrix import penalty

RESULTS = Path(__file__).resolve().parent / "results"


SECTIONS = ("matrix", "mujoco", "physics", "training", "onramp")

#: The STEP paper's nine Multi-Agent MuJoCo sub-scenarios: (registry ID, agent_conf).
NINE_SUB_SCENARIOS = tuple(
    (f"stmg/{scenario}-v0", conf)
    for scenario, confs in (
        ("Ant", ("2x4", "4x2", "8x1")),
        ("HalfCheetah", ("2x3", "3x2", "6x1")),
        ("ManySegmentAnt", ("2x3", "3x2", "6x1")),
    )
    for conf in confs
)


def scenario_name(task_id: str, conf: str) -> str:
    """``("stmg/Ant-v0", "2x4")`` -> ``"Ant:2x4"`` (how ``--scenarios`` names a sub-scenario)."""
    return f"{task_id.split('/')[1].removesuffix('-v0')}:{conf}"


SCENARIO_NAMES = tuple(scenario_name(task_id, conf) for task_id, conf in NINE_SUB_SCENARIOS)


@dataclass(frozen=True)
class Args:
    """Command-line arguments (see ``--help``)."""

    steps: int = field(default=200_000, metadata={"help": "agent-decisions per timed round and variant (matrix)"})
    rounds: int = field(default=5, metadata={"help": "interleaved timing rounds; the median is reported"})
    memory_steps: int = field(
        default=400_000, metadata={"help": "agent-decisions of the long run whose memory is tracked"}
    )
    seed: int = field(default=0, metadata={"help": "seed of the env and of the action sequence"})
    control_steps: int = field(default=3000, metadata={"help": "joint steps per timed round in the mujoco section"})
    training_algos: tuple[str, ...] = field(
        default=("step", "mappo", "ippo"),
        metadata={"help": "algorithms of the training section: registered names or module:Class specs"},
    )
    training_rollouts: int = field(
        default=8, metadata={"help": "rollouts each algorithm trains in the training section"}
    )
    profile: bool = field(
        default=True,
        metadata={
            "help": "where a training run (or the physics section's batched STMG) misses its target, profile a second "
            "run (cProfile) and table where the time goes"
        },
    )
    scenarios: tuple[str, ...] = field(
        default=SCENARIO_NAMES,
        metadata={"help": "MuJoCo sub-scenarios of the mujoco and physics sections, as Robot:conf (default: all nine)"},
    )
    physics_steps: int = field(
        default=20_000,
        metadata={"help": "joint steps (copies x time steps) per timed round, form and grid point (physics)"},
    )
    physics_copies: tuple[int, ...] = field(
        default=(16, 64, 256), metadata={"help": "numbers of copies K of the physics section's grid"}
    )
    physics_threads: tuple[int, ...] = field(
        default=tuple(sorted({1, os.cpu_count() or 1})),
        metadata={"help": "simulation thread counts of the physics section's grid (mujoco.batch's nthread)"},
    )
    onramp_steps: int = field(default=300, metadata={"help": "joint steps per timed round in the onramp section"})
    sections: tuple[str, ...] = field(
        default=SECTIONS, metadata={"help": f"which sections to run, from {list(SECTIONS)}"}
    )
    out: Path = field(default=RESULTS, metadata={"help": "results folder"})
    name: str = field(default="throughput", metadata={"help": "base name of the results files (<name>.md, <name>.csv)"})

    def check(self) -> str | None:
        if (
            self.steps < 1000
            or self.rounds < 1
            or self.memory_steps < 1000
            or self.control_steps < 100
            or self.onramp_steps < 10
        ):
            return (
                "expected --steps >= 1000, --rounds >= 1, --memory-steps >= 1000, --control-steps >= 100, "
                "--onramp-steps >= 10"
            )
        if unknown := [x for x in self.sections if x not in SECTIONS]:
            return f"unknown sections {unknown}; expected some of {list(SECTIONS)}"
        if unknown := [x for x in self.scenarios if x not in SCENARIO_NAMES]:
            return f"unknown scenarios {unknown}; expected some of {list(SCENARIO_NAMES)}"
        if (
            self.physics_steps < 1
            or not self.physics_copies
            or not self.physics_threads
            or min(self.physics_copies) < 1
            or min(self.physics_threads) < 1
        ):
            return "expected --physics-steps >= 1 and non-empty --physics-copies >= 1, --physics-threads >= 1"
        return None


def parse_args(argv: list[str] | None = None) -> Args:
    return parse_dataclass(Args, argv, description=__doc__.split("\n\n")[0])


def actions_for(n: int, seed: int) -> list[int]:
    """A fixed sequence of valid Penalty actions (plain ints, as a policy's argmax would give)."""
    return np.random.default_rng(seed).integers(0, 3, size=n).tolist()


def run_parallel(n_decisions: int, actions: list[int], seed: int) -> int:
    """Step the ParallelEnv directly; counts one decision per agent per step."""
    env = penalty()
    agents = env.possible_agents
    env.reset(seed=seed)
    done = 0
    i = 0
    while done < n_decisions:
        joint = {a: actions[(i + j) % len(actions)] for j, a in enumerate(agents)}
        i += len(agents)
        _, _, _, _truncs, _ = env.step(joint)
        done += len(agents)
        if not env.agents:
            env.reset()
    return done


def run_aec(make: Callable[[], Any], n_decisions: int, actions: list[int], seed: int) -> int:
    """The standard AEC loop: ``agent_iter`` / ``last`` / ``step``, resetting when the episode ends."""
    env = make()
    done = 0
    i = 0
    n_actions = len(actions)
    while done < n_decisions:
        env.reset(seed=seed)
        for _agent in env.agent_iter():
            _obs, _reward, termination, truncation, _info = env.last()
            if termination or truncation:
                action = None
            else:
                action = actions[i % n_actions]
                i += 1
            env.step(action)
            done += 1
    return done


VARIANTS: dict[str, Callable[[int, list[int], int], int]] = {
    "raw parallel (no AEC)": run_parallel,
    "pettingzoo parallel_to_aec": lambda n, a, s: run_aec(lambda: parallel_to_aec(penalty()), n, a, s),
    "stmg_v0": lambda n, a, s: run_aec(lambda: stmg_v0(penalty()), n, a, s),
    "stmg_v0(flatten=True)": lambda n, a, s: run_aec(lambda: stmg_v0(penalty(), flatten=True), n, a, s),
}


def time_variants(args: Args, actions: list[int]) -> dict[str, list[float]]:
    """Decisions per second of every variant in every round (the decisions each run really made)."""

    def rate(run: Callable[[int, list[int], int], int]) -> float:
        start = time.perf_counter()
        done = run(args.steps, actions, args.seed)
        return done / (time.perf_counter() - start)

    return interleaved(args.rounds, {name: functools.partial(rate, run) for name, run in VARIANTS.items()})


def memory_growth(args: Args, actions: list[int]) -> tuple[float, float]:
    """Peak traced memory (MiB) over a long stmg_v0 run, and growth between its first and last quarter."""
    env = stmg_v0(penalty())
    quarter = args.memory_steps // 4
    tracemalloc.start()
    run_env_decisions(env, quarter, actions, args.seed)
    first, _ = tracemalloc.get_traced_memory()
    run_env_decisions(env, 2 * quarter, actions, args.seed)
    run_env_decisions(env, quarter, actions, args.seed)
    last, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20, (last - first) / 2**20


def run_env_decisions(env, n: int, actions: list[int], seed: int) -> None:
    done = 0
    i = 0
    while done < n:
        env.reset(seed=seed)
        for _agent in env.agent_iter():
            _, _, term, trunc, _ = env.last()
            env.step(None if term or trunc else actions[i % len(actions)])
            i += 1
            done += 1


def joint_steps_parallel(env, joint_actions: list[dict], n: int, seed: int) -> None:
    """Step a ParallelEnv ``n`` times with the given joint actions, resetting when the episode ends."""
    env.reset(seed=seed)
    for t in range(n):
        if not env.agents:
            env.reset()
        joint = joint_actions[t % len(joint_actions)]
        env.step({a: joint[a] for a in env.agents})


def joint_steps_aec(env, joint_actions: list[dict], n: int, seed: int, options: dict | None = None) -> None:
    """The same joint actions through the AEC loop of an STMG (``agent_iter``/``last``/``step``)."""
    env.reset(seed=seed, options=options)
    t = 0
    while t < n:
        joint = joint_actions[t % len(joint_actions)]
        for agent in env.agent_iter():
            _, _, term, trunc, _ = env.last()
            if term or trunc:
                env.step(None)
                continue
            before = env.num_time_steps
            env.step(joint[agent])
            if env.num_time_steps != before:
                t += 1
                if t >= n:
                    return
                joint = joint_actions[t % len(joint_actions)]
        env.reset(options=options)


class MinimalAEC(AECEnv):
    """The least any AEC form of a parallel env can do: the floor of the ``agent_iter``/``last``/``step`` protocol.

    Hands each agent the parallel env's own observation, stores the action, and
    steps the parallel env once every agent has acted. No subgame observation, no
    action check, no order, no dead-agent steps (when the parallel episode ends,
    ``agents`` empties and the loop resets). Not an STMG and not for use: it
    exists so that the benchmark can show how much of ``stmg_v0``'s cost over
    the raw parallel env any AEC wrapper would pay anyway.
    """

    metadata = {"name": "minimal_aec"}

    def __init__(self, parallel_env) -> None:
        super().__init__()
        self.parallel_env = parallel_env
        self.possible_agents = list(parallel_env.possible_agents)
        self.num_time_steps = 0

    def reset(self, seed=None, options=None) -> None:
        self._observations, self.infos = self.parallel_env.reset(seed=seed, options=options)
        self.agents = list(self.parallel_env.agents)
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self._cumulative_rewards = dict.fromkeys(self.agents, 0.0)
        self.terminations = dict.fromkeys(self.agents, False)
        self.truncations = dict.fromkeys(self.agents, False)
        self._actions: dict = {}
        self._pos = 0
        self.agent_selection = self.agents[0]

    def observe(self, agent):
        return self._observations[agent]

    def step(self, action) -> None:
        self._actions[self.agent_selection] = action
        self._pos += 1
        if self._pos == len(self.agents):
            self._observations, self.rewards, _, _, self.infos = self.parallel_env.step(self._actions)
            self.num_time_steps += 1
            self._pos = 0
            if not self.parallel_env.agents:
                self.agents = []
                return
        self.agent_selection = self.agents[self._pos]


def interleaved(rounds: int, runs: dict[str, Callable[[], float]]) -> dict[str, list[float]]:
    """Each ``run()``'s rate in every round; the runs alternate within a round, so that drift hits all alike."""
    rates: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            gc.collect()
            rates[name].append(run())
    return rates


def medians(per_round: dict[str, list[float]]) -> dict[str, float]:
    return {name: statistics.median(r) for name, r in per_round.items()}


def timed(fn: Callable[[], None], n: int) -> float:
    start = time.perf_counter()
    fn()
    return n / (time.perf_counter() - start)


#: Where the training targets are measured.
TRAINING_SCENARIOS = (("stmg/HalfCheetah-v0", "2x3"), ("stmg/Ant-v0", "2x4"))


def selected_scenarios(args: Args) -> list[tuple[str, str]]:
    """The sub-scenarios of ``--scenarios``, as ``(task_id, conf)``, in the order of :data:`NINE_SUB_SCENARIOS`."""
    return [(task_id, conf) for task_id, conf in NINE_SUB_SCENARIOS if scenario_name(task_id, conf) in args.scenarios]


def mujoco_section(args: Args) -> tuple[list[str], list[dict], dict[tuple[str, str], dict[str, float]]]:
    """Joint steps/s of Gymnasium-Robotics' own parallel env, ours, and stmg_v0 of ours, same actions.

    Returns the table's lines, its rows, and every sub-scenario's median rates by driver (``library``, ``ours``,
    ``stmg``, ``floor``): today's path, which the ``physics`` and ``training`` sections compare with.
    """
    try:
        import pettingzoo

        pettingzoo.make("parallel", "stmg/HalfCheetah-v0").close()
    except ImportError as exc:
        return [f"## MuJoCo: skipped ({exc})", ""], [], {}
    lines = [
        "## Multi-Agent MuJoCo: the library's parallel env, ours, and stmg_v0 of ours, same actions",
        "",
        f"{args.control_steps} joint steps per round, median of {args.rounds} interleaved rounds (min-max of the "
        "per-round ratios in brackets). `library` steps Gymnasium-Robotics' own `MultiAgentMujocoEnv` "
        "(`mamujoco_v1.parallel_env`, built as our task builds it: same robot, partition and time limit) through "
        "its `reset`/`step`; `ours` is `pettingzoo.make('parallel', id)`; `stmg_v0` plays the same actions one "
        "agent at a time through `agent_iter`/`last`/`step`. `AEC floor` drives `MinimalAEC` (in this script: hands "
        "out the parallel observations, collects the joint action, nothing else) over ours with the same loop. "
        "Targets: ours >= 1.3x the library, stmg_v0 >= 1.0x the library.",
        "",
        "| sub-scenario | library steps/s | ours steps/s | ours / library | stmg_v0 steps/s | stmg_v0 / library "
        "| AEC floor steps/s | targets |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    rows: list[dict] = []
    today: dict[tuple[str, str], dict[str, float]] = {}
    n = args.control_steps
    for task_id, conf in selected_scenarios(args):
        probe = pettingzoo.make("parallel", task_id, agent_conf=conf)
        rng = np.random.default_rng(args.seed)
        joints = [
            {a: rng.uniform(-1, 1, size=probe.action_space(a).shape).astype(np.float32) for a in probe.possible_agents}
            for _ in range(512)
        ]
        probe.close()
        library_env = pettingzoo.make("parallel", task_id, agent_conf=conf).unwrapped.mamujoco
        ours_env = pettingzoo.make("parallel", task_id, agent_conf=conf)
        seq_env = stmg_v0(pettingzoo.make("parallel", task_id, agent_conf=conf))
        floor_env = MinimalAEC(pettingzoo.make("parallel", task_id, agent_conf=conf))
        drivers = {
            "library": (joint_steps_parallel, library_env),
            "ours": (joint_steps_parallel, ours_env),
            "stmg": (joint_steps_aec, seq_env),
            "floor": (joint_steps_aec, floor_env),
        }
        per_round = interleaved(
            args.rounds,
            {
                name: functools.partial(timed, functools.partial(drive, env, joints, n, args.seed), n)
                for name, (drive, env) in drivers.items()
            },
        )
        rates = medians(per_round)
        ours_ratios = [o / lib for o, lib in zip(per_round["ours"], per_round["library"])]
        stmg_ratios = [s / lib for s, lib in zip(per_round["stmg"], per_round["library"])]
        ours_ratio, stmg_ratio = statistics.median(ours_ratios), statistics.median(stmg_ratios)
        met = ours_ratio >= 1.3 and stmg_ratio >= 1.0
        name = f"{task_id.split('/')[1].removesuffix('-v0')} {conf}"
        today[(task_id, conf)] = rates
        lines.append(
            f"| {name} | {rates['library']:,.0f} | {rates['ours']:,.0f} | {ours_ratio:.2f}x "
            f"[{min(ours_ratios):.2f}-{max(ours_ratios):.2f}] | {rates['stmg']:,.0f} | {stmg_ratio:.2f}x "
            f"[{min(stmg_ratios):.2f}-{max(stmg_ratios):.2f}] | {rates['floor']:,.0f} | {'met' if met else 'NOT met'} |"
        )
        rows.append(
            {
                "section": "mujoco",
                "variant": name,
                "library_steps_per_s": round(rates["library"]),
                "ours_steps_per_s": round(rates["ours"]),
                "stmg_steps_per_s": round(rates["stmg"]),
                "floor_steps_per_s": round(rates["floor"]),
                "ours_vs_library": round(ours_ratio, 3),
                "stmg_vs_library": round(stmg_ratio, 3),
                "met": met,
            }
        )
        for env in (library_env, ours_env, seq_env, floor_env.parallel_env):
            env.close()
    lines.append("")
    return lines, rows, today


#: Random controls/actions cycle through this many pre-drawn time steps (drawing them is not what is timed).
ACTION_POOL = 16
#: The physics section's target: the batched STMG's share of the physics limit.
PHYSICS_TARGET = 0.8


def physics_limit_run(model: Any, frame_skip: int, copies: int, threads: int, steps: int, seed: int):
    """Raw ``mujoco.batch`` stepping of ``model``: random controls, ``frame_skip`` substeps per time step.

    Returns the timed run (joint steps/s of ``ceil(steps / copies)`` time steps of every copy). No resets: the
    simulations run on from the model's defaults.
    """
    import mujoco.batch

    batch = mujoco.batch.Batch(model, nsim=copies, nthread=threads)
    ctrl = batch.bind("ctrl")
    limited = model.actuator_ctrllimited.astype(bool)
    low = np.where(limited, model.actuator_ctrlrange[:, 0], -1.0)
    high = np.where(limited, model.actuator_ctrlrange[:, 1], 1.0)
    pool = np.random.default_rng(seed).uniform(low, high, size=(ACTION_POOL, copies, model.nu))
    time_steps = -(-steps // copies)

    def run() -> float:
        start = time.perf_counter()
        for t in range(time_steps):
            ctrl[:] = pool[t % ACTION_POOL]
            batch.step(nstep=frame_skip)
        return time_steps * copies / (time.perf_counter() - start)

    return run


def batched_runs(backend_fn: Callable[[], Any], copies: int, steps: int, seed: int) -> tuple[dict[str, Any], list]:
    """The timed runs of the batched STMG (``"stmg"``) and the batched parallel form (``"parallel"``).

    Each on its own backend from ``backend_fn()``, reset with ``seed``, stepped with random actions (one array of
    ``copies`` actions per rank, or one ``(copies, agents, ...)`` array per joint step) through episode ends
    (autoreset). A run returns joint steps/s of ``ceil(steps / copies)`` time steps of every copy. Also returns the
    batches, to be closed.
    """
    from stmg_envs.vector import BatchedParallel, BatchedSTMG

    stmg, parallel = BatchedSTMG(backend_fn()), BatchedParallel(backend_fn())
    stmg.reset(seed=seed)
    parallel.reset(seed=seed)
    space: Any = stmg.single_action_space  # a Box: the MuJoCo tasks' actions
    rng = np.random.default_rng(seed)
    n_agents = stmg.num_agents
    per_rank = rng.uniform(space.low, space.high, size=(ACTION_POOL, n_agents, copies, *space.shape))
    per_rank = per_rank.astype(space.dtype)
    joint = rng.uniform(space.low, space.high, size=(ACTION_POOL, copies, n_agents, *space.shape)).astype(space.dtype)
    time_steps = -(-steps // copies)

    def run_stmg() -> float:
        start = time.perf_counter()
        for t in range(time_steps):
            ranks = per_rank[t % ACTION_POOL]
            r = 0
            while stmg.step(ranks[r]).time_step is None:  # the last rank's step ends the time step
                r += 1
        return time_steps * copies / (time.perf_counter() - start)

    def run_parallel() -> float:
        start = time.perf_counter()
        for t in range(time_steps):
            parallel.step(joint[t % ACTION_POOL])
        return time_steps * copies / (time.perf_counter() - start)

    return {"stmg": run_stmg, "parallel": run_parallel}, [stmg, parallel]


def physics_section(args: Args, today: dict[tuple[str, str], dict[str, float]]) -> tuple[list[str], list[dict]]:
    """The batched forms on ``mujoco.batch`` against the physics limit, beside today's path (the mujoco section's)."""
    try:
        from stmg_envs.registration import make_parallel
        from stmg_envs.vector import MuJoCoBackend
        from stmg_envs.vector.mujoco import batch_available

        make_parallel("stmg/HalfCheetah-v0").close()
    except ImportError as exc:
        return [f"## Physics limit: skipped ({exc})", ""], []
    if not batch_available():
        import mujoco

        return [f"## Physics limit: skipped (mujoco.batch needs MuJoCo >= 4.0, found {mujoco.__version__})", ""], []
    grid = [(k, t) for k in args.physics_copies for t in args.physics_threads]
    grid_text = ", ".join(f"{k}x{t}" for k, t in grid)
    today_note = (
        "Today's path is the `mujoco` section's above (one copy: `ours` is our parallel env, `stmg_v0` the "
        "sequential game; measured in that section's own rounds of this run)."
        if today
        else "Today's path: not run (it comes from the `mujoco` section: add `mujoco` to `--sections`)."
    )
    lines = [
        "## The batched forms against the physics limit (`mujoco.batch`)",
        "",
        f"Joint steps/s (copies x time steps), {args.physics_steps:,} joint steps per round, form and grid point, "
        f"median of {args.rounds} interleaved rounds (every form at every grid point in each round; min-max of the "
        "per-round ratios in brackets). Grid (copies x simulation threads): "
        f"{grid_text}; each form is reported at its best grid point (in brackets). `physics limit`: "
        "`mujoco.batch.Batch(model, nsim=K, nthread=T)` of the task's own model (the backend's), random controls "
        "within the actuators' ranges, the task's frame skip per time step, no resets, no observations. `batched "
        "STMG`: `BatchedSTMG` on `MuJoCoBackend(env, K, nthread=T)` (what `stmg_envs.vector.batched_stmg(id, K, "
        "backend='mujoco')` builds, there with nthread=1), random actions, one array of K actions per "
        "rank, through episode ends; `batched parallel`: `BatchedParallel` on the same backend, one (K, agents, "
        f"...) array per joint step. {today_note} Target: the batched STMG >= {PHYSICS_TARGET:.0%} of the physics "
        "limit.",
        "",
        "| sub-scenario | physics limit steps/s | batched STMG steps/s | STMG / limit | target >= "
        f"{PHYSICS_TARGET:.0%} | batched parallel steps/s | parallel / limit | stmg_v0 steps/s (today) "
        "| batched STMG / stmg_v0 | ours steps/s (today) | batched parallel / ours |",
        "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    grid_lines = [
        "Every grid point (median joint steps/s):",
        "",
        "| sub-scenario | copies | threads | physics limit | batched STMG | batched parallel |",
        "|---|---:|---:|---:|---:|---:|",
    ]

    def native_backend(env_fn: Callable[[], Any], copies: int, threads: int) -> Any:
        return MuJoCoBackend(env_fn(), copies, nthread=threads)

    rows: list[dict] = []
    profiles: list[tuple[str, Any]] = []
    forms = ("physics", "stmg", "parallel")
    for task_id, conf in selected_scenarios(args):
        name = f"{task_id.split('/')[1].removesuffix('-v0')} {conf}"
        env_fn = functools.partial(make_parallel, task_id, agent_conf=conf)
        probe = MuJoCoBackend(env_fn(), 1, nthread=1)
        model, frame_skip = probe.batch.get_model(0), probe.frame_skip
        probe.close()
        runs: dict[str, Callable[[], float]] = {}
        to_close: list = []
        for k, threads in grid:
            runs[f"physics {k} {threads}"] = physics_limit_run(
                model, frame_skip, k, threads, args.physics_steps, args.seed
            )
            batched, batches = batched_runs(
                functools.partial(native_backend, env_fn, k, threads), k, args.physics_steps, args.seed
            )
            to_close += batches
            for form, run in batched.items():
                runs[f"{form} {k} {threads}"] = run
        per_round = interleaved(args.rounds, runs)
        rates = medians(per_round)
        best: dict[str, tuple[int, int]] = {}
        for form in forms:
            at_point = {point: rates[f"{form} {point[0]} {point[1]}"] for point in grid}
            best[form] = max(at_point, key=at_point.__getitem__)
        best_key = {form: f"{form} {best[form][0]} {best[form][1]}" for form in forms}
        limit = rates[best_key["physics"]]
        shares, share_ranges = {}, {}
        for form in ("stmg", "parallel"):
            ratios = [b / p for b, p in zip(per_round[best_key[form]], per_round[best_key["physics"]])]
            shares[form] = rates[best_key[form]] / limit
            share_ranges[form] = f"[{min(ratios):.0%}-{max(ratios):.0%}]"
        share = shares["stmg"]
        met = share >= PHYSICS_TARGET
        verdict = (
            f"met (+{(share - PHYSICS_TARGET) * 100:.0f} points)"
            if met
            else f"NOT met ({(PHYSICS_TARGET - share) * 100:.0f} points short: needs {PHYSICS_TARGET / share:.2f}x)"
        )
        at = {form: f"{rates[best_key[form]]:,.0f} ({best[form][0]}x{best[form][1]})" for form in forms}
        old = today.get((task_id, conf))
        # Today's path: stmg_v0 against the batched STMG, our parallel env against the batched parallel form.
        stmg_speedup = rates[best_key["stmg"]] / old["stmg"] if old else None
        parallel_speedup = rates[best_key["parallel"]] / old["ours"] if old else None
        stmg_text, parallel_text = (f"{x:.1f}x" if x else "not run" for x in (stmg_speedup, parallel_speedup))
        old_stmg, old_ours = (f"{old['stmg']:,.0f}", f"{old['ours']:,.0f}") if old else ("not run", "not run")
        lines.append(
            f"| {name} | {at['physics']} | {at['stmg']} | {share:.0%} {share_ranges['stmg']} | {verdict} | "
            f"{at['parallel']} | {shares['parallel']:.0%} {share_ranges['parallel']} | {old_stmg} | {stmg_text} | "
            f"{old_ours} | {parallel_text} |"
        )
        rows.append(
            {
                "section": "physics",
                "variant": name,
                "physics_steps_per_s": round(limit),
                "physics_copies": best["physics"][0],
                "physics_threads": best["physics"][1],
                "batched_stmg_steps_per_s": round(rates[best_key["stmg"]]),
                "batched_stmg_copies": best["stmg"][0],
                "batched_stmg_threads": best["stmg"][1],
                "batched_parallel_steps_per_s": round(rates[best_key["parallel"]]),
                "batched_parallel_copies": best["parallel"][0],
                "batched_parallel_threads": best["parallel"][1],
                "stmg_vs_physics": round(share, 3),
                "parallel_vs_physics": round(shares["parallel"], 3),
                "met": met,
                "stmg_steps_per_s": round(old["stmg"]) if old else None,
                "ours_steps_per_s": round(old["ours"]) if old else None,
                "batched_stmg_vs_stmg": round(stmg_speedup, 2) if stmg_speedup is not None else None,
                "batched_parallel_vs_ours": round(parallel_speedup, 2) if parallel_speedup is not None else None,
            }
        )
        for k, threads in grid:
            point = [rates[f"{form} {k} {threads}"] for form in forms]
            grid_lines.append(f"| {name} | {k} | {threads} | " + " | ".join(f"{r:,.0f}" for r in point) + " |")
            rows.append(
                {
                    "section": "physics grid",
                    "variant": f"{name} {k}x{threads}",
                    "copies": k,
                    "threads": threads,
                    **{f"{form}_grid_steps_per_s": round(r) for form, r in zip(forms, point)},
                }
            )
        if args.profile and not met:  # a second, profiled run (the profiler slows what it measures)
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.runcall(runs[best_key["stmg"]])
            k, threads = best["stmg"]
            profiles.append((f"the batched STMG on {name} ({k}x{threads}, one round)", pstats.Stats(profiler)))
        for batch in to_close:
            batch.close()
    lines += ["", *grid_lines, ""]
    for title, stats in profiles:
        lines += profile_lines(title, stats)
    return lines, rows


def training_section(args: Args, ours_rates: dict[tuple[str, str], float]) -> tuple[list[str], list[dict]]:
    """Training joint steps/s of every registered built-in with the control preset, against the env's own speed."""
    import cProfile
    import pstats

    from stmg_bench import selection
    from stmg_bench.registry import suite_settings
    from stmg_bench.suites.control import PRESETS, control_trial

    preset = PRESETS["mujoco"]
    algorithms, settings = selection.resolve_algorithms(
        args.training_algos, {}, preset.as_kwargs(), base=suite_settings("control")
    )
    steps = args.training_rollouts * preset.rollout_joint_steps
    lines = [
        "## Training near the simulator: the built-ins with the control preset",
        "",
        f"Each algorithm trains {steps:,} joint steps ({args.training_rollouts} rollouts of "
        f"{preset.n_envs} copies x {preset.n_steps} steps, the `mujoco` preset of `stmg_bench.suites.control`, "
        "as the MuJoCo study trains) through `control_trial` (no evaluations during training); `train steps/s` is "
        "its `steps_per_s` (training time only: rollouts and updates). The reference is our parallel env's "
        "stepping speed with random actions from the section above (one copy, no policy). Target: >= 50%. "
        "Memory: the resident memory of this process after the trial and what the trial added to it (the trials "
        "run one after another in one process, so the process's peak would mix them; a replay buffer shows as "
        "memory added).",
        "",
        "| sub-scenario | algorithm | train steps/s | env steps/s | train / env | target >= 50% | RSS after (MB) "
        "| added (MB) |",
        "|---|---|---:|---:|---:|---|---:|---:|",
    ]
    rows, profiles = [], []
    for task_id, conf in TRAINING_SCENARIOS:
        env_rate = ours_rates.get((task_id, conf))
        if env_rate is None:
            continue
        name = f"{task_id.split('/')[1].removesuffix('-v0')} {conf}"
        for algo in algorithms:

            def train(n_steps: int, algo=algo, task_id=task_id, conf=conf) -> dict:
                return control_trial(
                    algo.to_json(),
                    task_id,
                    {"agent_conf": conf},
                    seed=args.seed,
                    steps=n_steps,
                    eval_points=0,
                    eval_episodes=1,
                    hyperparameters=settings[algo.name],
                    reward_gamma=preset.gamma,
                )

            record = train(steps)
            rate = record["steps_per_s"]
            ratio = rate / env_rate
            rss = [point["rss_mb"] for point in record["curve"] if point.get("rss_mb") is not None]
            rss_after, rss_added = (rss[-1], rss[-1] - rss[0]) if rss else (float("nan"), float("nan"))
            lines.append(
                f"| {name} | {algo.name} | {rate:,.0f} | {env_rate:,.0f} | {ratio:.0%} | "
                f"{'met' if ratio >= 0.5 else 'NOT met'} | {rss_after:,.0f} | {rss_added:,.0f} |"
            )
            rows.append(
                {
                    "section": "training",
                    "variant": f"{name} {algo.name}",
                    "train_steps_per_s": round(rate),
                    "ours_steps_per_s": round(env_rate),
                    "train_vs_env": round(ratio, 3),
                    "met": ratio >= 0.5,
                    "rss_after_mb": round(rss_after, 1),
                    "rss_added_mb": round(rss_added, 1),
                }
            )
            if args.profile and ratio < 0.5:  # a second, profiled run (the profiler slows what it measures)
                profiler = cProfile.Profile()
                profiler.enable()
                train(preset.rollout_joint_steps * 2)
                profiler.disable()
                profiles.append((f"{algo.name} on {name} (2 rollouts)", pstats.Stats(profiler)))
    lines.append("")
    for title, stats in profiles:
        lines += profile_lines(title, stats)
    return lines, rows


def profile_lines(title: str, stats: Any, top: int = 10) -> list[str]:
    """Where a profiled training run spends its time: the functions with the most own time."""
    total = stats.total_tt
    entries = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)[:top]
    lines = [
        f"Profile of {title} (cProfile, {total:.1f} s in all; the {top} functions with the most own time):",
        "",
        "| function | own s | share |",
        "|---|---:|---:|",
    ]
    for (filename, line, function), (_, _, own, _, _) in entries:
        where = Path(filename).name if filename != "~" else "builtin"
        lines.append(f"| `{function}` ({where}:{line}) | {own:.2f} | {own / total:.0%} |")
    return [*lines, ""]


#: A hand-placed on-ramp scene with merge-v0's five vehicles: the controlled one at 30 m on the main road,
#: three human drivers around it and one on the ramp.
FIVE_VEHICLES = {
    "controlled": [("main", 30.0, 30.0)],
    "human": [("main", 90.0, 29.0), ("main", 70.0, 31.0), ("main", 5.0, 31.5), ("ramp", 110.0, 20.0)],
}


def onramp_section(args: Args) -> tuple[list[str], list[dict]]:
    try:
        import gymnasium
        import highway_env  # noqa: F401

        from stmg_envs.highway import OnRampMergeEnv
    except ImportError as exc:
        return [f"## On-ramp: skipped ({exc})", ""], []
    n = args.onramp_steps
    lines = [
        "## Highway on-ramp merging: env steps/s",
        "",
        f"{n} joint steps of random actions per round, median of {args.rounds} interleaved rounds. Our env decides at "
        "5 Hz (0.2 simulated s per step, 15 Hz simulation, as Chen et al.); highway-env's `merge-v0` decides at 1 Hz "
        "by default (1 simulated s per step). `sim s / wall s` compares them per simulated second.",
        "",
        "| env | vehicles | steps/s | sim s / wall s |",
        "|---|---|---:|---:|",
    ]
    rows = []

    def random_parallel(env, options=None):
        rng = np.random.default_rng(args.seed)
        env.reset(seed=args.seed, options=options)
        for _ in range(n):
            if not env.agents:
                env.reset(options=options)
            env.step({a: int(rng.integers(5)) for a in env.agents})

    def random_merge(env):
        env.reset(seed=args.seed)
        env.action_space.seed(args.seed)
        for _ in range(n):
            _, _, term, trunc, _ = env.step(env.action_space.sample())
            if term or trunc:
                env.reset()

    cases: dict[str, tuple[Callable[[], None], str, float]] = {}
    for difficulty in ("easy", "medium", "hard"):
        env = OnRampMergeEnv(difficulty)
        cases[f"OnRampMerge {difficulty} (parallel)"] = (functools.partial(random_parallel, env), "per difficulty", 0.2)
    five = OnRampMergeEnv("medium", num_controlled=1)  # medium allows four human drivers
    cases["OnRampMerge, 1 controlled + 4 human (parallel)"] = (lambda: random_parallel(five, FIVE_VEHICLES), "5", 0.2)
    five_seq = stmg_v0(OnRampMergeEnv("medium", num_controlled=1))

    def random_seq():
        rng = np.random.default_rng(args.seed)
        joints = [{"vehicle_0": int(a)} for a in rng.integers(5, size=256)]
        joint_steps_aec(five_seq, joints, n, args.seed, FIVE_VEHICLES)

    cases["OnRampMerge, 1 controlled + 4 human (stmg_v0)"] = (random_seq, "5", 0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "merge-v0 is out of date": v0 is the env the task description names
        merge_5hz = gymnasium.make("merge-v0", config={"policy_frequency": 5})
        merge_1hz = gymnasium.make("merge-v0")
    cases["highway-env merge-v0 at 5 Hz"] = (lambda: random_merge(merge_5hz), "5", 0.2)
    cases["highway-env merge-v0 (default, 1 Hz)"] = (lambda: random_merge(merge_1hz), "5", 1.0)
    rates = medians(
        interleaved(args.rounds, {name: functools.partial(timed, fn, n) for name, (fn, _, _) in cases.items()})
    )
    for name, (_, vehicles, sim_dt) in cases.items():
        lines.append(f"| {name} | {vehicles} | {rates[name]:,.0f} | {rates[name] * sim_dt:,.0f} |")
        rows.append(
            {
                "section": "onramp",
                "variant": name,
                "steps_per_s": round(rates[name]),
                "sim_s_per_wall_s": round(rates[name] * sim_dt, 1),
            }
        )
    ours = rates["OnRampMerge, 1 controlled + 4 human (stmg_v0)"] * 0.2
    theirs = rates["highway-env merge-v0 (default, 1 Hz)"] * 1.0
    lines += [
        "",
        f"Target: no slower per simulated second than `merge-v0` with the same vehicles: stmg_v0 on-ramp "
        f"{ours:,.0f} vs merge-v0 {theirs:,.0f} sim s / wall s ({'met' if ours >= theirs else 'NOT met'}).",
        "",
    ]
    return lines, rows


def matrix_section(args: Args, actions: list[int]) -> tuple[list[str], list[dict], bool]:
    rates = time_variants(args, actions)
    peak_mib, growth_mib = memory_growth(args, actions)
    median_rates = medians(rates)
    base = median_rates["pettingzoo parallel_to_aec"]
    rows = [
        {
            "section": "matrix",
            "variant": name,
            "decisions_per_s": round(med),
            "min": round(min(rates[name])),
            "max": round(max(rates[name])),
            "vs_parallel_to_aec": round(med / base, 2),
        }
        for name, med in median_rates.items()
    ]
    ratio = median_rates["stmg_v0"] / base
    lines = [
        "## Matrix game: agent-decisions per second through the AEC API (Penalty, 2 agents)",
        "",
        f"{args.steps:,} decisions per round and variant, median of {args.rounds} interleaved rounds (min-max in brackets).",
        "",
        "| variant | decisions/s | vs parallel_to_aec |",
        "|---|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['variant']} | {row['decisions_per_s']:,} [{row['min']:,}-{row['max']:,}] | {row['vs_parallel_to_aec']:.2f}x |"
        )
    lines += [
        "",
        f"Target: stmg_v0 >= 1.5x parallel_to_aec. Measured: **{ratio:.2f}x** ({'met' if ratio >= 1.5 else 'NOT met'}).",
        "",
        f"Memory over a long stmg_v0 run ({args.memory_steps:,} decisions): peak {peak_mib:.2f} MiB traced, "
        f"growth from the first to the last quarter {growth_mib:+.3f} MiB.",
        "",
    ]
    return lines, rows, ratio >= 1.5


def main() -> None:
    args = parse_args()
    actions = actions_for(4096, args.seed)
    started = time.perf_counter()
    command = f"python benchmarks/throughput.py {command_line(args, skip=('out',))}".strip()
    lines = [
        f"# Throughput ({args.name})",
        "",
        f"Written by `{command}` at commit `{git_commit() or 'not recorded'}` (sections {','.join(args.sections)}, rounds={args.rounds}, "
        f"seed={args.seed}) on {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"stmg-envs {stmg_envs.__version__}.",
        "",
    ]
    rows: list[dict] = []
    if "matrix" in args.sections:
        section, section_rows, _ = matrix_section(args, actions)
        lines += section
        rows += section_rows
    today: dict[tuple[str, str], dict[str, float]] = {}
    if "mujoco" in args.sections:
        section, section_rows, today = mujoco_section(args)
        lines += section
        rows += section_rows
    if "physics" in args.sections:
        section, section_rows = physics_section(args, today)
        lines += section
        rows += section_rows
    ours_rates = {key: rates["ours"] for key, rates in today.items()}
    if "training" in args.sections:
        if not ours_rates:
            lines += ["## Training: skipped (it compares with the mujoco section's env speeds; add `mujoco`)", ""]
        else:
            section, section_rows = training_section(args, ours_rates)
            lines += section
            rows += section_rows
    if "onramp" in args.sections:
        section, section_rows = onramp_section(args)
        lines += section
        rows += section_rows
    lines.append(f"Wall time: {time.perf_counter() - started:.1f} s.")
    text = "\n".join(lines) + "\n"
    args.out.mkdir(parents=True, exist_ok=True)
    fields = sorted({key for row in rows for key in row}, key=lambda k: (k != "section", k != "variant", k))
    with open(args.out / f"{args.name}.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    (args.out / f"{args.name}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    with reported_errors(Path(__file__).name):
        main()
