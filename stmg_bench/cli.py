"""``stmg-bench``: the benchmark suites from the command line, for any algorithm.

Commands:

* ``stmg-bench list``: the registered algorithms with their forms;
* ``stmg-bench check SPEC [--hyperparams JSON]``: check an algorithm (and the hyperparameters it would be
  built with) against the contract (no training);
* ``stmg-bench matrix [--algos ... --games ... --seeds N ...]``: the matrix suite
  (``stmg-bench matrix --help`` lists every option; the same as ``benchmarks/matrix_games.py``);
* ``stmg-bench mujoco [...]``: the Multi-Agent MuJoCo study (``benchmarks/mamujoco.py``);
* ``stmg-bench merge [...]``: the highway merge study (``benchmarks/onramp.py``).

A spec ``package.module:Class`` is imported from the current folder first, as
``python -m`` would, and reaches every worker of the sweep.

Examples:
    >>> main(["check", "mappo"])
    mappo: ok (simultaneous form, stmg_bench.builtins:MAPPOAlgorithm)
    0
    >>> main(["check", "mappo", "--hyperparams", '{"gamma": 0.9}'])
    mappo: ok (simultaneous form, stmg_bench.builtins:MAPPOAlgorithm) with {"gamma": 0.9}
    0

Every command takes ``--help``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator, Sequence

__all__ = ["main", "reported_errors"]

USAGE = (
    "usage: stmg-bench {list,check SPEC,matrix,mujoco,merge} [options]; stmg-bench COMMAND --help for a command's "
    "options"
)


@contextlib.contextmanager
def reported_errors(prog: str) -> Iterator[None]:
    """Turn what bad input raises into one line on stderr and an exit status, as ``stmg-bench`` does.

    An unknown algorithm, a class that breaks the contract or a bad value (``ValueError``, whose
    messages say what was expected) exits with status 2; a sweep with failed trials
    (``TrialsFailedError``: every other trial's record is saved) with status 1. Anything else
    propagates with its traceback. The benchmark scripts run their ``main`` inside it.

    Examples:
        >>> with reported_errors("my-script"):
        ...     raise ValueError("expected --seeds >= 1, got 0")
        Traceback (most recent call last):
        SystemExit: 2
    """
    from stmg_bench.contract import ContractError
    from stmg_bench.registry import UnknownAlgorithmError
    from stmg_bench.sweep import TrialsFailedError

    try:
        yield
    except (UnknownAlgorithmError, ContractError, ValueError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except TrialsFailedError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status (also used as the console script's)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(__doc__.split("\n\n")[0] + "\n\n" + USAGE)
        return 0 if args else 2
    command, rest = args[0], args[1:]
    try:
        with reported_errors(f"stmg-bench {command}"):
            return _run(command, rest)
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        raise


def _command_parser(command: str, description: str) -> argparse.ArgumentParser:
    """The parser of a subcommand (``stmg-bench COMMAND --help`` prints its usage)."""
    return argparse.ArgumentParser(prog=f"stmg-bench {command}", description=description)


def _check(rest: list[str]) -> int:
    """``stmg-bench check SPEC [--hyperparams ...]``: resolve SPEC and check it, with its hyperparameters, against the
    contract (no env is built, nothing is trained)."""
    from stmg_bench.args import parse_mapping
    from stmg_bench.selection import resolve_algorithms

    parser = _command_parser(
        "check", "Check an algorithm against the contract of stmg_bench.contract (nothing is trained)."
    )
    parser.add_argument(
        "spec",
        metavar="SPEC",
        help="a registered name (stmg-bench list), package.module:Class or path/to/file.py:Class",
    )
    parser.add_argument(
        "--hyperparams",
        action="append",
        default=[],
        metavar="JSON",
        help="the hyperparameters it would be built with, checked against its constructor: a JSON object "
        "('{\"beta\": 0.5}') or NAME=JSON as the suites take them (NAME: its spec or its name; repeatable)",
    )
    args = parser.parse_args(rest)
    try:
        hyperparams = parse_mapping(args.hyperparams, default_name=args.spec)
    except argparse.ArgumentTypeError as exc:
        parser.error(f"--hyperparams: {exc}")
    [algo], settings = resolve_algorithms([args.spec], hyperparams, {})
    given = f" with {json.dumps(settings[algo.name], sort_keys=True)}" if settings[algo.name] else ""
    print(f"{algo.name}: ok ({algo.form} form, {algo.target}){given}")
    return 0


def _run(command: str, rest: list[str]) -> int:
    """One command of :func:`main` (errors go through :func:`reported_errors` there)."""
    from stmg_bench.registry import registered, resolve

    if command == "list":
        _command_parser("list", "The registered algorithms: name, form and class.").parse_args(rest)
        rows = [(name, resolve(name)) for name in sorted(registered())]
        name_width = max((len(name) for name, _ in rows), default=0)
        form_width = max((len(algo.form) for _, algo in rows), default=0)
        for name, algo in rows:
            print(f"{name:{name_width}s}  {algo.form:{form_width}s}  {algo.target}")
        return 0
    if command == "check":
        return _check(rest)
    if command == "matrix":
        from stmg_bench.args import parse_dataclass
        from stmg_bench.suites import matrix_study

        options = parse_dataclass(
            matrix_study.Args,
            rest,
            description="The matrix suite: any algorithm on the matrix games.",
            prog="stmg-bench matrix",
        )
        print(matrix_study.run(options))
        return 0
    if command in ("mujoco", "merge"):
        import importlib

        importlib.import_module(f"stmg_bench.suites.{command}_study").main(rest, prog=f"stmg-bench {command}")
        return 0
    print(f"stmg-bench: unknown command {command!r}; {USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
