"""Trajectory pins: a SHA-256 of what each built-in algorithm learns in a short fixed run, to prove a refactor changes nothing.

What is run: for each algorithm (every registered name, or ``--algos``), built through the
registry (``resolve(name).build(make_env, seed, n_envs=2)``, ``n_envs`` where it takes one) on the
first task of ``--tasks`` it accepts (an algorithm that refuses a game at construction, as
Oracles & Followers refuses Penalty's three actions, goes on to the next), trained for ``--steps``
joint steps with a progress callback, from one seed, inside the harness's one-thread scope
(:func:`stmg_bench.sweep.execution.single_threaded`), after seeding Python's, NumPy's and torch's
global generators, so a pin does not depend on the algorithms run before it.

What is pinned: a SHA-256 of the exact bytes (dtype, shape and float64 values, never rounded) of

* the steps the progress callback saw;
* the greedy actions and action probabilities on the evaluation observations, read through the
  algorithm's form: each agent's observation after ``reset(seed)`` (simultaneous form; ``act_joint`` and
  ``joint_probabilities`` for a centrally executed algorithm), every context of the STMG's first time step
  (sequential form, :func:`stmg_bench.suites.matrix.walk_contexts`);
* the parameters in the file ``save`` writes: every tensor of each torch file in it, every array of each
  NumPy file, and a file that is no zip as it is (metadata inside a zip, which may hold a time, is left out).

Pins are **machine-specific**: floating-point rounding differs across CPUs (and torch and NumPy versions), so
compare pins made on one machine only; each pin records the machine and versions it was made with. A refactor
that should not change behaviour is checked with ``--check`` before and after: it exits with status 1 and lists
the algorithms whose pin changed (without ``--algos`` it checks every pinned algorithm and names, without failing,
the registered ones that have no pin yet).

What is written: ``benchmarks/results/trajectory_pins.json`` (algorithm -> task, steps, seed, hash, its parts,
the commit and the machine). Without ``--check`` a new pin is added and an equal one kept as it is (with the commit
it was made at); a pin that differs is replaced only with ``--overwrite`` (a behaviour change on purpose).

Usage::

    python benchmarks/trajectory_pins.py                          # pin every registered algorithm
    python benchmarks/trajectory_pins.py --check                  # compare with the committed pins; status 1 if any changed
    python benchmarks/trajectory_pins.py --check --algos mappo,ippo
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import random
import sys
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from stmg_bench.args import parse_dataclass
from stmg_bench.cli import reported_errors
from stmg_bench.contract import (
    accepted_hyperparameters,
    algorithm_execution,
    has_joint_probabilities,
    has_probabilities,
)
from stmg_bench.provenance import git_commit
from stmg_bench.registry import registered, resolve
from stmg_bench.suites import iterated, matrix
from stmg_bench.sweep.execution import single_threaded

RESULTS = Path(__file__).resolve().parent / "results"
NOTE = (
    "Pins are machine-specific: floating-point rounding differs across CPUs and torch/NumPy versions, so compare "
    "pins made on one machine only (see each pin's `machine`). Written by benchmarks/trajectory_pins.py; check "
    "with `python benchmarks/trajectory_pins.py --check`."
)
#: The parts of a pin that must be equal for it to match.
COMPARED = ("task", "steps", "seed", "hash")


@dataclass(frozen=True)
class Args:
    """Command-line arguments (see ``--help``)."""

    algos: tuple[str, ...] = field(
        default=(),
        metadata={
            "help": "algorithms to pin or check (default: every registered name; with --check, every pinned one)"
        },
    )
    tasks: tuple[str, ...] = field(
        default=("penalty:-25", "iterated:bots"),
        metadata={
            "help": "tasks in order of preference: a matrix game of stmg_bench.suites.matrix.GAMES or "
            "iterated:<game> (stmg_bench.suites.iterated.GAMES); each algorithm trains on the first it accepts"
        },
    )
    steps: int = field(
        default=100,
        metadata={"help": "joint steps of training (two rollouts of 2 x 25: two updates of the PPO family)"},
    )
    seed: int = field(default=0, metadata={"help": "seed of the run and of the evaluation's reset"})
    check: bool = field(default=False, metadata={"help": "compare with the pins file; exit 1 listing what changed"})
    overwrite: bool = field(
        default=False, metadata={"help": "replace pins that differ (a behaviour change on purpose)"}
    )
    out: Path = field(default=RESULTS / "trajectory_pins.json", metadata={"help": "the pins file"})


def task_factory(task: str, form: str) -> Callable[[], Any]:
    """``make_env`` of a task label (``penalty:-25``, ``iterated:bots``) in an algorithm's form."""
    kind, _, game = task.partition(":")
    if kind == "iterated":
        if game not in iterated.GAMES:
            raise ValueError(f"unknown iterated game {game!r} in --tasks; expected one of {list(iterated.GAMES)}")
        return iterated.make_env_factory(form, game)
    task_id, kwargs = matrix.game_spec(task)
    return matrix.make_env_factory(form, task_id, kwargs)


def _hash_value(digest: Any, value: Any) -> None:
    """Feed ``value``'s exact bytes (with dtype and shape) into ``digest``."""
    array = np.asarray(value)
    digest.update(f"{array.dtype.str}{array.shape}".encode())
    digest.update(np.ascontiguousarray(array).tobytes())


def readout(model: Any, make_env: Callable[[], Any], seed: int) -> tuple[str, list[float]]:
    """SHA-256 of the greedy actions and action probabilities on the evaluation observations, through the form, and
    the action probabilities it hashed, in order (empty where the model gives none)."""
    digest = hashlib.sha256()
    probabilities = has_probabilities(model)
    read: list[float] = []

    def _update(digest: Any, value: Any, kept: bool = False) -> None:
        _hash_value(digest, value)
        if kept:  # probabilities, kept in order beside the hash
            read.extend(float(v) for v in np.asarray(value, dtype=np.float64).ravel())

    env = make_env()
    if model.form == "simultaneous":
        observations, _ = env.reset(seed=seed)
        agents = list(env.possible_agents)
        if algorithm_execution(model) == "centralized":
            chosen = model.act_joint({a: observations[a] for a in agents})
            for agent in agents:
                _update(digest, chosen[agent])
            if has_joint_probabilities(model):
                _update(digest, model.joint_probabilities({a: observations[a] for a in agents}), kept=True)
            return digest.hexdigest(), read
        for agent in agents:
            _update(digest, model.act(agent, observations[agent]))
            if probabilities:
                _update(digest, model.action_probabilities(agent, observations[agent]), kept=True)
        return digest.hexdigest(), read
    for context in matrix.walk_contexts(make_env, seed):
        _update(digest, model.act(context.agent, context.observation))
        if probabilities:
            _update(digest, model.action_probabilities(context.agent, context.observation), kept=True)
    return digest.hexdigest(), read


def _hash_torch_object(digest: Any, obj: Any) -> None:
    """Every tensor and number of a loaded torch file, in a fixed order (dict keys sorted)."""
    import torch

    if isinstance(obj, Mapping):
        for key in sorted(obj, key=str):
            digest.update(str(key).encode())
            _hash_torch_object(digest, obj[key])
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            _hash_torch_object(digest, item)
    elif isinstance(obj, torch.Tensor):
        _hash_value(digest, obj.detach().cpu().numpy())
    else:
        digest.update(repr(obj).encode())


def _hash_file(digest: Any, data: bytes) -> None:
    """The parameters in a saved file's bytes (see the module docstring)."""
    if not zipfile.is_zipfile(io.BytesIO(data)):
        digest.update(data)
        return
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = sorted(archive.namelist())
        if any(n.endswith("/data.pkl") for n in names):  # a torch file
            import torch

            _hash_torch_object(digest, torch.load(io.BytesIO(data), map_location="cpu", weights_only=True))
            return
        if all(n.endswith(".npy") for n in names):  # a NumPy .npz
            with np.load(io.BytesIO(data)) as arrays:
                for name in sorted(arrays.files):
                    digest.update(name.encode())
                    _hash_value(digest, arrays[name])
            return
        for name in names:
            member = archive.read(name)
            if zipfile.is_zipfile(io.BytesIO(member)):
                digest.update(name.encode())
                _hash_file(digest, member)


def parameters_hash(model: Any) -> str | None:
    """SHA-256 of the parameters in the file ``model.save`` writes; None for an algorithm without ``save``."""
    if not callable(getattr(model, "save", None)):
        return None
    digest = hashlib.sha256()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.zip"
        model.save(path)
        _hash_file(digest, path.read_bytes())
    return digest.hexdigest()


def machine() -> str:
    """The CPU and the versions that decide floating-point rounding."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.partition(":")[2].strip()
                break
    except OSError:
        pass
    return f"{cpu}; Python {platform.python_version()}, torch {torch.__version__}, NumPy {np.__version__}"


def build_on_first_task(algo: str, tasks: tuple[str, ...], seed: int) -> tuple[str, Callable[[], Any], Any]:
    """``(task, make_env, model)``: ``algo`` built from ``seed`` on the first of ``tasks`` it accepts.

    Python's, NumPy's and torch's global generators are seeded with ``seed`` first, so that what an algorithm
    draws from them does not depend on what ran before it in the process.

    Raises:
        ValueError: the algorithm refuses every task (each refusal's message is given).
    """
    import torch

    resolved = resolve(algo)
    names, var_kw = accepted_hyperparameters(resolved.load())
    settings = {"n_envs": 2} if var_kw or "n_envs" in names else {}
    refusals = []
    for task in tasks:
        make_env = task_factory(task, resolved.form)
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)
        try:
            return task, make_env, resolved.build(make_env, seed=seed, **settings)
        except ValueError as exc:  # the algorithm does not play this game (its message says why)
            refusals.append(f"{task}: {exc}")
    raise ValueError(f"{algo} refuses every task of --tasks: " + "; ".join(refusals))


def pin(algo: str, tasks: tuple[str, ...], steps: int, seed: int) -> dict[str, Any]:
    """Train ``algo`` for ``steps`` joint steps from ``seed`` on the first of ``tasks`` it accepts, and hash the run.

    Returns:
        ``task``, ``steps``, ``seed``, ``num_timesteps`` (what it trained), ``hash`` (of the parts), ``progress``,
        ``readout`` and ``parameters`` (the parts' hashes), ``probabilities`` (the action probabilities the readout
        hashed, as numbers, for :func:`drift`), ``commit`` and ``machine``.

    Raises:
        ValueError: the algorithm refuses every task.
    """
    import torch  # noqa: F401  (imported before single_threaded(), which then sets its thread count)

    with single_threaded():
        task, make_env, model = build_on_first_task(algo, tasks, seed)
        seen: list[int] = []
        model.learn(steps, callback=lambda n: seen.append(int(n)))
        progress = hashlib.sha256(np.asarray(seen, dtype=np.int64).tobytes()).hexdigest()
        readout_digest, probabilities = readout(model, make_env, seed)
        parameters = parameters_hash(model)
    return {
        "task": task,
        "steps": steps,
        "seed": seed,
        "num_timesteps": int(getattr(model, "num_timesteps", steps)),
        "hash": hashlib.sha256(f"{progress}{readout_digest}{parameters}".encode()).hexdigest(),
        "progress": progress,
        "readout": readout_digest,
        "parameters": parameters,
        "probabilities": probabilities,
        "commit": git_commit(),
        "machine": machine(),
    }


def drift(pinned: Mapping[str, Any], fresh: Mapping[str, Any]) -> float:
    """The largest difference between a pin's action probabilities and a fresh run's (``inf`` if their number
    differs): where the bits differ across CPUs, a tolerance on this says the behaviour is the same.

    Examples:
        >>> drift({"probabilities": [0.25, 0.75]}, {"probabilities": [0.25, 0.7500001]}) < 1e-6
        True
    """
    a, b = np.asarray(pinned.get("probabilities", []), float), np.asarray(fresh["probabilities"], float)
    return float(np.max(np.abs(a - b), initial=0.0)) if a.shape == b.shape else float("inf")


def differences(pinned: Mapping[str, Any], fresh: Mapping[str, Any]) -> list[str]:
    """What differs between a committed pin and a fresh one: empty if they match (:data:`COMPARED`), else the
    differing parts (a hash part by name only)."""
    if all(pinned.get(k) == fresh[k] for k in COMPARED):
        return []
    parts = [k for k in ("task", "steps", "seed", "num_timesteps") if pinned.get(k) != fresh[k]]
    hashes = [k for k in ("progress", "readout", "parameters") if pinned.get(k) != fresh[k]]
    return [f"{k} {pinned.get(k)!r} -> {fresh[k]!r}" for k in parts] + [f"{k} hash" for k in hashes] or ["hash"]


def main(argv: list[str] | None = None) -> None:
    args = parse_dataclass(Args, argv, description=__doc__.split("\n\n")[0])
    if args.steps < 1:
        raise ValueError(f"expected --steps >= 1, got {args.steps}")
    algos = args.algos or tuple(sorted(registered()))
    saved = json.loads(args.out.read_text()) if args.out.exists() else {"note": NOTE, "pins": {}}
    pins: dict[str, Any] = saved["pins"]
    if args.check and not args.out.exists():
        raise ValueError(f"no pins file at {args.out}; run without --check first")
    if args.check and not args.algos:  # every pinned name; a name registered since has nothing to compare with
        unpinned = [a for a in algos if a not in pins]
        if unpinned:
            print(f"not checked, no pin yet (pin with --algos): {', '.join(unpinned)}", file=sys.stderr)
        algos = tuple(a for a in algos if a in pins)
    changed, here = [], machine()
    for algo in algos:
        fresh = pin(algo, args.tasks, args.steps, args.seed)
        problems = differences(pins[algo], fresh) if algo in pins else [f"no pin in {args.out.name}"]
        if not problems:
            status = "unchanged"
            if not args.check and "probabilities" not in pins[algo]:  # a pin from before the key existed
                pins[algo] = {**pins[algo], "probabilities": fresh["probabilities"]}
        elif not args.check and (algo not in pins or args.overwrite):
            pins[algo], status = fresh, "pinned"
        else:
            changed.append(f"{algo}: " + "; ".join(problems))
            status = "CHANGED: " + "; ".join(problems)
        print(f"{algo} ({fresh['task']}, {fresh['num_timesteps']} steps): {status}", file=sys.stderr, flush=True)
    machines = {pins[a]["machine"] for a in algos if a in pins} - {here}
    if machines:
        print(f"note: pins made on another machine ({sorted(machines)}); here: {here}", file=sys.stderr)
    if args.check:
        if changed:
            print("trajectory pins changed:\n" + "\n".join(f"  {line}" for line in changed), file=sys.stderr)
            raise SystemExit(1)
        print(f"trajectory pins: all {len(algos)} unchanged", file=sys.stderr)
        return
    if changed:
        raise ValueError(
            "pins differ from the pins file (pass --overwrite to replace them, for a behaviour change on purpose):\n"
            + "\n".join(changed)
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    document = {"note": NOTE, "pins": dict(sorted(pins.items()))}
    args.out.write_text(json.dumps(document, indent=2) + "\n")
    print(f"wrote {os.path.relpath(args.out)}", file=sys.stderr)


if __name__ == "__main__":
    with reported_errors(Path(__file__).name):
        main()
