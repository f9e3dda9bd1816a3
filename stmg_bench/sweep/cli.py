"""The command-line flags every benchmark script shares for running its sweep.

Examples:
    >>> import argparse
    >>> parser = add_sweep_arguments(argparse.ArgumentParser())
    >>> args = parser.parse_args(["--backend", "ray", "--workers", "4"])
    >>> sweep_kwargs(args)
    {'backend': 'ray', 'workers': 4, 'address': None, 'fresh': False, 'saved_only': False, 'saved_from': ()}

    A script then calls ``run_sweep(trials, results_dir, **sweep_kwargs(args))``; one that writes a report calls
    :func:`stmg_bench.sweep.reporting.refuse_overwrite` with ``args.overwrite`` (``--overwrite``) first, before
    any trial runs, so that an existing report is replaced only when asked.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any

from stmg_bench.sweep.runner import BACKENDS

__all__ = ["SweepOptions", "add_sweep_arguments", "sweep_kwargs"]


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def add_sweep_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the flags of :class:`SweepOptions` (``--backend``, ``--workers``, ``--fresh``, ...) to ``parser``; return it.

    The flags, their defaults and help texts are :class:`SweepOptions`'s fields: a script with a
    hand-written ``argparse`` parser and one whose ``Args`` derives from ``SweepOptions`` get the same.
    """
    from stmg_bench.args import add_fields  # stmg_bench.args imports this package: not at module level

    group = parser.add_argument_group("sweep execution", "where the trials run; finished trials are never rerun")
    add_fields(group, SweepOptions)
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
    """Where a benchmark's trials run, as a base for a script's ``Args``: the one source of the sweep flags.

    Each field is a flag of :func:`add_sweep_arguments` and of a parser derived from an ``Args``
    that inherits from this class (:func:`stmg_bench.args.build_parser`), with the help text and
    check given here.

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
            "help": "with --backend ray: the Ray cluster to run on, e.g. 'auto' or 'ray://host:10001' "
            "(none: start a local Ray instance)"
        },
    )
    workers: int | None = field(
        default=None,
        metadata={
            "help": "trials run at the same time (none: all cores; 1 with --backend local runs them in this process)",
            "type": _positive_int,
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
    overwrite: bool = field(
        default=False,
        metadata={
            "help": "replace the report if --out already holds one of this --name (without it the run stops before "
            "any trial runs, so that a saved report is never rewritten by accident; its trial records are resumed "
            "either way)"
        },
    )
