"""How far one PPO update moves each algorithm's policy: STEP (plain and width-scaled hypernetwork), MAPPO, IPPO.

Why this exists: with the paper's plain hypernetwork, one Adam step moves the
weights that STEP's hypernetwork generates by up to ``1 + sum_k |h_k|``
learning rates (``h`` its 64 hidden units), where an ordinary layer's weights
move by one. On the control tasks, at the learning rates the baselines use,
STEP's updates were then far larger than PPO's trust region means them to be
and on the Ant robots STEP learned to fall. ``NLevelPolicy(hyper_scale_by_width=True)``
(in both control presets) divides the hidden layer by its width before the
output layer. This script measures what either choice does to the size of an
update, the same way for every algorithm.

Measure, for every update of a short training run: the update's own rollout
gives each sample's log-probability under the policy that collected it
(``log pi_old``, what PPO's ratio divides by) and, after the update, under the
new policy (``log pi_new``). With ``r = pi_new / pi_old``:

* ``KL`` = ``mean((r - 1) - log r)``, the usual estimate of KL(old || new);
* ``beyond clip`` = fraction of samples with ``|r - 1| > clip_range``.

It instruments each built-in's own update (the log-probabilities it trains on), so
it measures the built-in algorithms by design, not any algorithm of the contract.

Each algorithm trains with the task's preset (:data:`stmg_bench.suites.control.PRESETS`:
the same PPO settings for all), the same observation normalisation and reward
scaling as the control benchmarks (``normalize_observations`` only on MuJoCo),
and ``possible_agents`` as STEP's priority order.

Outputs: ``benchmarks/results/<name>.md`` and ``<name>.csv`` (one row per task
and algorithm: mean over updates and seeds, and the largest single update).

Usage::

    python benchmarks/update_size.py                     # Ant 2x4, HalfCheetah 2x3, on-ramp easy; 2 seeds
    python benchmarks/update_size.py --seeds 3 --updates 20
"""

from __future__ import annotations

import functools
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch as th

from stmg_bench.args import parse_dataclass
from stmg_bench.cli import reported_errors
from stmg_bench.provenance import git_commit
from stmg_bench.sweep.reporting import write_csv

RESULTS = Path(__file__).resolve().parent / "results"

#: Task label -> (registered ID, arguments, whether observations are normalised as in its benchmark, preset).
TASKS: dict[str, tuple[str, dict, bool, str]] = {
    "Ant-2x4": ("stmg/Ant-v0", {"agent_conf": "2x4", "episode_length": 1000}, True, "mujoco"),
    "HalfCheetah-2x3": ("stmg/HalfCheetah-v0", {"agent_conf": "2x3", "episode_length": 1000}, True, "mujoco"),
    "OnRamp-easy": ("stmg/OnRampMerge-v0", {"difficulty": "easy"}, False, "onramp"),
}


@dataclass(frozen=True)
class Args:
    """Command-line arguments (see ``--help``)."""

    tasks: tuple[str, ...] = field(default=tuple(TASKS), metadata={"help": f"tasks to measure on, from {list(TASKS)}"})
    seeds: int = field(default=2, metadata={"help": "training runs per task and variant"})
    updates: int = field(
        default=12, metadata={"help": "PPO updates per run (each on one rollout of the preset's size)"}
    )
    name: str = field(default="update_size", metadata={"help": "base name of the results files"})
    out: Path = field(default=RESULTS, metadata={"help": "results folder"})

    def check(self) -> str | None:
        if unknown := [t for t in self.tasks if t not in TASKS]:
            return f"unknown tasks {unknown}; expected some of {list(TASKS)}"
        if self.seeds < 1 or self.updates < 1:
            return f"expected --seeds >= 1 and --updates >= 1, got {self.seeds} and {self.updates}"
        return None


def parse_args(argv: list[str] | None = None) -> Args:
    return parse_dataclass(Args, argv, description=__doc__.split("\n\n")[0])


def update_size(old_log_prob: th.Tensor, new_log_prob: th.Tensor, clip_range: float) -> tuple[float, float]:
    """``(KL estimate, fraction beyond the clip)`` of one update from the samples' old and new log-probabilities."""
    log_ratio = (new_log_prob - old_log_prob).double()
    ratio = log_ratio.exp()
    return float(((ratio - 1) - log_ratio).mean()), float(((ratio - 1).abs() > clip_range).double().mean())


def train_step(factory: Callable, hp, seed: int, steps: int, record: Callable, *, scale: bool) -> None:
    """STEP (``scale``: its hypernetwork scaled by its width); after each update, every rank's decisions of the
    rollout are scored by the new policy."""
    from stmg_agents.step.algorithm import STEP
    from stmg_envs import stmg_v0

    class MeasuredSTEP(STEP):
        def train(self) -> None:
            super().train()
            buffer, policy = self.rollout_buffer, self.policy
            old, new = [], []
            with th.no_grad():
                for rank in buffer.ranks_present():
                    data = buffer.rank_samples(rank)
                    log_prob, _ = policy.evaluate_policy_parts(
                        policy.observation_parts(data.observations),
                        data.actions,
                        rank=rank,
                        head_params=policy.target_parameters(rank + 1),
                        action_mask=data.observations.get("action_mask"),
                    )
                    old.append(data.old_log_prob)
                    new.append(log_prob)
            record(th.cat(old), th.cat(new))

    MeasuredSTEP(lambda: stmg_v0(factory()), seed=seed, **hp.as_kwargs(), hyper_scale_by_width=scale).learn(steps)


def train_mappo(factory: Callable, hp, seed: int, steps: int, record: Callable) -> None:
    """MAPPO; after each update, the rollout's active samples are scored by the new actor."""
    from stmg_agents.baselines import MAPPO

    class MeasuredMAPPO(MAPPO):
        def _update(self, batch, **kwargs) -> None:
            super()._update(batch, **kwargs)
            active = th.from_numpy(batch.active.reshape(-1))
            obs = th.from_numpy(batch.obs.reshape(active.shape[0], -1))[active]
            actions = batch.actions.reshape(active.shape[0], *batch.actions.shape[3:])[active]
            with th.no_grad():
                new, _ = self.actor.evaluate(obs, actions)
            record(th.from_numpy(batch.log_probs.reshape(-1))[active], new)

    MeasuredMAPPO(factory, seed=seed, **hp.as_kwargs()).learn(steps)


def train_ippo(factory: Callable, hp, seed: int, steps: int, record: Callable) -> None:
    """IPPO (SB3's PPO on the agents' stacked streams); after each update, the rollout is scored by the new policy."""
    from gymnasium import spaces

    from stmg_agents.baselines import IPPO

    agent = IPPO(factory, seed=seed, **hp.as_kwargs())
    ppo = agent.model
    parent_train = ppo.train

    def train() -> None:
        parent_train()
        data = next(ppo.rollout_buffer.get(batch_size=None))
        actions = data.actions.long().flatten() if isinstance(ppo.action_space, spaces.Discrete) else data.actions
        with th.no_grad():
            _, new, _ = ppo.policy.evaluate_actions(data.observations, actions)
        record(data.old_log_prob, new.flatten())

    ppo.train = train
    agent.learn(steps)


@dataclass(frozen=True)
class Variant:
    """One algorithm measured: its label in the results, and how it is trained and instrumented."""

    label: str
    train: Callable[..., None]  # train(factory, preset, seed, steps, record)


#: The algorithms measured, in the results' order.
VARIANTS: tuple[Variant, ...] = (
    Variant("step (plain hypernetwork)", functools.partial(train_step, scale=False)),
    Variant("step (width-scaled hypernetwork)", functools.partial(train_step, scale=True)),
    Variant("mappo", train_mappo),
    Variant("ippo", train_ippo),
)


def measure(task: str, variant: Variant, seed: int, updates: int) -> list[tuple[float, float]]:
    from stmg_bench.normalization import ObservationStatistics
    from stmg_bench.suites.control import PRESETS, make_parallel_factory

    task_id, task_kwargs, normalize_observations, preset = TASKS[task]
    hp = PRESETS[preset]
    factory = make_parallel_factory(
        task_id,
        task_kwargs,
        ObservationStatistics(),
        update=True,
        normalize_observations=normalize_observations,
        reward_gamma=hp.gamma,
    )
    sizes: list[tuple[float, float]] = []

    def record(old: th.Tensor, new: th.Tensor) -> None:
        sizes.append(update_size(old.reshape(-1), new.reshape(-1), hp.clip_range))

    steps = updates * hp.rollout_joint_steps
    variant.train(factory, hp, seed, steps, record)
    return sizes


def write_markdown(path: Path, rows: list[dict], args: Args, wall_s: float) -> str:
    lines = [
        f"# Size of one PPO update: STEP (plain vs width-scaled hypernetwork), MAPPO, IPPO ({args.name})",
        "",
        f"Written by `benchmarks/update_size.py` at commit `{git_commit() or 'not recorded'}` with --tasks {','.join(args.tasks)} --seeds {args.seeds} "
        f"--updates {args.updates} ({platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}); "
        f"{wall_s / 60:.1f} min.",
        "",
        "Per update, on the samples of the rollout it learned from: KL = mean((r - 1) - log r), r = pi_new / pi_old; "
        "beyond clip = fraction of samples with |r - 1| > clip_range (0.2). STEP's samples are every rank's "
        "decisions; the baselines' every active agent's. Mean over all updates of all seeds, and the largest "
        "single update. Each task's PPO preset (`stmg_bench.suites.control.PRESETS`), "
        "the same for every algorithm; STEP's hypernetwork as named.",
        "",
        "| task | algorithm | updates | mean KL | max KL | mean beyond clip | max beyond clip |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['task']} | {r['variant']} | {r['updates']} | {r['kl_mean']:.4f} | {r['kl_max']:.4f} | "
            f"{r['beyond_clip_mean']:.3f} | {r['beyond_clip_max']:.3f} |"
        )
    text = "\n".join(lines) + "\n"
    path.write_text(text)
    return text


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    th.set_num_threads(1)
    start = time.perf_counter()
    rows = []
    for task in args.tasks:
        for variant in VARIANTS:
            sizes = [s for seed in range(args.seeds) for s in measure(task, variant, seed, args.updates)]
            kl, clipped = np.array([s[0] for s in sizes]), np.array([s[1] for s in sizes])
            rows.append(
                {
                    "task": task,
                    "variant": variant.label,
                    "updates": len(sizes),
                    "kl_mean": float(kl.mean()),
                    "kl_max": float(kl.max()),
                    "beyond_clip_mean": float(clipped.mean()),
                    "beyond_clip_max": float(clipped.max()),
                }
            )
            print(
                f"{task} {variant.label}: KL {kl.mean():.4f}, beyond clip {clipped.mean():.3f}",
                file=sys.stderr,
                flush=True,
            )
    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(args.out / f"{args.name}.csv", rows)
    print(write_markdown(args.out / f"{args.name}.md", rows, args, time.perf_counter() - start))
    return 0


if __name__ == "__main__":
    with reported_errors(Path(__file__).name):
        sys.exit(main())
