"""The command-line flags every benchmark script shares for running its sweep.

Examples:
    >>> import argparse
    >>> parser = add_sweep_arguments(argparse.ArgumentParser())
    >>> args = parser.parse_args(["--backend", "ray", "--workers", "4"])
    >>> sweep_kwargs(args)
    {'backend': 'ray', 'workers': 4, 'address': None, 'fresh': False, 'saved_only': False, 'saved_from': ()}

    A script then calls ``run_sweep(trials, results_dir, **sweep_kwargs(args))``.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any

from stmg_bench.sweep.runner import BACKENDS

__all__ = ["add_sweep_arguments", "sweep_kwargs"]


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def add_sweep_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add ``--backend``, ``--address``, ``--workers`` and ``--fresh`` to ``parser`` and return it."""
    group = parser.add_argument_group("sweep execution", "where the trials run; finished trials are never rerun")
    group.add_argument(
        "--backend",
        choices=BACKENDS,
        default="local",
        help="local: a pool of processes on this machine; ray: Ray tasks (pip install 'stmg-envs[ray]') "
        "(default: %(default)s)",
    )
    group.add_argument(
        "--address",
        default=None,
        help="with --backend ray: the Ray cluster to run on, e.g. 'auto' or 'ray://host:10001' "
        "(default: start a local Ray instance)",
    )
    group.add_argument(
        "--workers",
        type=_positive_int,
        default=None,
        help="trials run at the same time (default: all cores; 1 with --backend local runs them in this process)",
    )
    group.add_argument(
        "--fresh",
        action="store_true",
        help="delete the records of this sweep's trials and run them all again (default: resume)",
    )
    group.add_argument(
        "--saved-only",
        action="store_true",
        help="run nothing: write the report from the saved records alone, whatever code made them "
        "(the report says which trials have no record and which records other code made)",
    )
    group.add_argument(
        "--saved-from",
        type=lambda text: tuple(t.strip() for t in text.split(",") if t.strip()),
        default=(),
        help="with --saved-only: also read the records of these earlier runs (names of trial folders next to this "
        "run's, or paths) for the trials this run has none of: one report over several runs (comma-separated)",
    )
    return parser


def sweep_kwargs(args: Any) -> dict[str, Any]:
    """The keyword arguments of :func:`stmg_bench.sweep.run_sweep` chosen by the flags in ``args``."""
    return {
        "backend": args.backend,
        "workers": args.workers,
        "address": args.address,
        "fresh": args.fresh,
        "saved_only": getattr(args, "saved_only", False),
        "saved_from": tuple(getattr(args, "saved_from", ()) or ()),
    }


@dataclass(frozen=True)
class SweepOptions:
    """Where a benchmark's trials run: the flags of :func:`add_sweep_arguments`, as a base for a script's ``Args``.

    Examples:
        >>> from dataclasses import dataclass, field
        >>> @dataclass(frozen=True)
        ... class Args(SweepOptions):
        ...     seeds: int = 3
        >>> sweep_kwargs(Args(workers=1))
        {'backend': 'local', 'workers': 1, 'address': None, 'fresh': False, 'saved_only': False, 'saved_from': ()}
    """

    backend: str = field(
        default="local",
        metadata={
            "help": "local: a pool of processes on this machine; ray: Ray tasks (pip install 'stmg-envs[ray]')",
            "choices": BACKENDS,
        },
    )
    address: str | None = field(
        default=None,
        metadata={
            "help": "with --backend ray: the Ray cluster to run on, e.g. 'auto' (none: start a local Ray instance)"
        },
    )
    workers: int | None = field(
        default=None,
        metadata={
            "help": "trials run at the same time (none: all cores; 1 with --backend local runs them in this process)"
        },
    )
    fresh: bool = field(
        default=False,
        metadata={"help": "delete the records of this sweep's trials and run them all again (default: resume)"},
    )
    saved_only: bool = field(
        default=False,
        metadata={
            "help": "run nothing: write the report from the saved records alone, whatever code made them "
            "(the report says which trials have no record and which records other code made)"
        },
    )
    saved_from: tuple[str, ...] = field(
        default=(),
        metadata={
            "help": "with --saved-only: also read the records of these earlier runs (names of trial folders next to "
            "this run's, or paths) for the trials this run has none of: one report over several runs"
        },
    )
