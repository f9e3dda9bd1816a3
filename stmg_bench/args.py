"""A command line derived from a frozen ``Args`` dataclass, as in CleanRL: one place for each default and help text.

Each field becomes ``--field-name``; its ``metadata["help"]`` is the help text.
``bool`` fields are switches (``--name``; one that defaults to ``True`` is turned off with
``--no-name``), ``tuple[str, ...]`` fields take a comma-separated
list (``tuple[int, ...]``, ``tuple[float, ...]``: of numbers), ``dict`` fields named in ``mappings`` take ``NAME=JSON`` and may repeat.

Examples:
    >>> from dataclasses import dataclass, field
    >>> @dataclass(frozen=True)
    ... class Args:
    ...     seeds: int = field(default=3, metadata={"help": "trials per algorithm"})
    ...     games: tuple[str, ...] = field(default=("mixing",), metadata={"help": "games"})
    ...     fresh: bool = field(default=False, metadata={"help": "start over"})
    >>> parse_dataclass(Args, ["--seeds", "5", "--games", "a,b", "--fresh"])
    Args(seeds=5, games=('a', 'b'), fresh=True)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from stmg_bench.sweep.reporting import parse_csv_list

__all__ = [
    "algos_field",
    "hyperparams_field",
    "parse_dataclass",
    "build_parser",
    "add_fields",
    "parse_csv_list",
    "parse_mapping",
    "command_line",
]

#: How ``--algos`` is written, the same in every suite.
ALGOS_HELP = "algorithms: registered names (stmg-bench list) or package.module:Class / path/to/file.py:Class"
#: How ``--hyperparams`` is written, before a suite's own note.
HYPERPARAMS_HELP = (
    "an algorithm's own hyperparameters, as NAME=JSON, e.g. step='{\"beta\": 0.5}' (NAME: its spec or its name)"
)

T = TypeVar("T")


def algos_field(default: tuple[str, ...]) -> Any:
    """The ``--algos`` field of a suite's ``Args``: the algorithms to run, ``default`` without the flag.

    Examples:
        >>> from dataclasses import dataclass
        >>> @dataclass(frozen=True)
        ... class Args:
        ...     algos: tuple[str, ...] = algos_field(("step", "mappo"))
        ...     hyperparams: dict[str, dict[str, Any]] = hyperparams_field()
        >>> parse_dataclass(Args, ["--algos", "seq-ppo", "--hyperparams", 'seq-ppo={"n_epochs": 4}'])
        Args(algos=('seq-ppo',), hyperparams={'seq-ppo': {'n_epochs': 4}})
    """
    return dataclasses.field(default=default, metadata={"help": ALGOS_HELP})


def hyperparams_field(note: str = "") -> Any:
    """The ``--hyperparams`` field of a suite's ``Args`` (``NAME=JSON``, repeatable); ``note`` adds what the suite
    gives algorithms before them."""
    return dataclasses.field(default_factory=dict, metadata={"help": HYPERPARAMS_HELP + (f", {note}" if note else "")})


def parse_mapping(items: Sequence[str], default_name: str | None = None) -> dict[str, dict[str, Any]]:
    """``["step={\\"beta\\": 0.5}"]`` -> ``{"step": {"beta": 0.5}}``.

    With ``default_name``, an item that is a JSON object alone (``'{"beta": 0.5}'``) is that name's
    (``stmg-bench check SPEC --hyperparams ...``, where only one algorithm is named).

    Raises:
        argparse.ArgumentTypeError: an item without ``=``, or whose value is not a JSON object.

    Examples:
        >>> parse_mapping(['{"beta": 0.5}', 'step={"lr": 0.1}'], default_name="step")
        {'step': {'beta': 0.5, 'lr': 0.1}}
    """
    out: dict[str, dict[str, Any]] = {}
    for given in items:
        item = f"{default_name}={given}" if default_name is not None and given.lstrip().startswith("{") else given
        name, sep, text = item.partition("=")
        if not sep or not name:
            alone = " or a JSON object" if default_name is not None else ""
            raise argparse.ArgumentTypeError(f"expected NAME=JSON (e.g. step='{{\"beta\": 0.5}}'){alone}, got {item!r}")
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise argparse.ArgumentTypeError(
                f"{name}: expected a JSON object after '=', got {text!r} ({exc})"
            ) from None
        if not isinstance(value, dict):
            raise argparse.ArgumentTypeError(f'{name}: expected a JSON object like {{"lr": 0.1}}, got {text!r}')
        out.setdefault(name, {}).update(value)
    return out


def _scalar(kind: Any) -> Any:
    if kind is Path:
        return Path
    if kind in (int, float, str):
        return kind
    raise TypeError(f"unsupported Args field type {kind!r}")


def _csv_of(kind: Any) -> Any:
    """A parser of comma-separated items of ``kind`` (``str``, ``int`` or ``float``), naming a bad item."""
    if kind is str:
        return parse_csv_list
    convert = _scalar(kind)

    def parse(text: str) -> tuple[Any, ...]:
        items = parse_csv_list(text)
        try:
            return tuple(convert(item) for item in items)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated {kind.__name__} values, got {text!r}") from None

    return parse


def add_fields(parser: argparse.ArgumentParser | argparse._ArgumentGroup, cls: type) -> None:
    """Add one option per field of the dataclass ``cls`` to ``parser`` (a parser or an argument group).

    A field's ``metadata`` may give ``"help"``, ``"choices"`` and ``"type"`` (a parser of the
    flag's text that raises ``argparse.ArgumentTypeError`` with a message, used instead of the
    field type's own converter).
    """
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        kind = hints[f.name]
        flag = "--" + f.name.replace("_", "-")
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc,operator]
        help_text = f.metadata.get("help", "")
        origin, args = typing.get_origin(kind), typing.get_args(kind)
        if kind is bool and not default:
            parser.add_argument(flag, action="store_true", help=help_text)
        elif kind is bool:  # on by default: --name / --no-name (a plain switch could only turn it on)
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=True, help=help_text)
        elif origin is tuple:
            parser.add_argument(
                flag,
                type=f.metadata.get("type") or _csv_of(args[0] if args else str),
                default=default,
                help=f"{help_text} (comma-separated; default: {','.join(map(str, default))})",
            )
        elif origin is dict:
            parser.add_argument(
                flag, action="append", default=[], metavar="NAME=JSON", help=f"{help_text} (repeatable)"
            )
        else:  # a scalar, or an optional one (``int | None``: its non-None type)
            if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
                kind = next(a for a in args if a is not type(None))
            parser.add_argument(
                flag,
                type=f.metadata.get("type") or _scalar(kind),
                default=default,
                choices=f.metadata.get("choices"),
                help=f"{help_text} (default: {default})",
            )


def build_parser(cls: type, description: str | None = None, prog: str | None = None) -> argparse.ArgumentParser:
    """An ``argparse`` parser with one option per field of the dataclass ``cls`` (see :func:`add_fields`)."""
    parser = argparse.ArgumentParser(
        prog=prog, description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_fields(parser, cls)
    return parser


def parse_dataclass(
    cls: type[T], argv: Sequence[str] | None = None, description: str | None = None, prog: str | None = None
) -> T:
    """Parse ``argv`` into an instance of the dataclass ``cls``; ``cls.check(parser)``, if defined, validates it."""
    parser = build_parser(cls, description, prog)
    ns = vars(parser.parse_args(argv))
    hints = typing.get_type_hints(cls)
    for name, kind in hints.items():
        if typing.get_origin(kind) is dict and name in ns:
            if not ns[name]:  # not given: the dataclass's default
                del ns[name]
                continue
            try:
                ns[name] = parse_mapping(ns[name])
            except argparse.ArgumentTypeError as exc:
                parser.error(f"--{name.replace('_', '-')}: {exc}")
    args = cls(**ns)
    check = getattr(args, "check", None)
    if callable(check):
        problem = check()
        if problem:
            parser.error(problem)
    return args


def command_line(args: Any, skip: Sequence[str] = ()) -> str:
    """The flags that give ``args`` (a dataclass instance) from its defaults: the inverse of :func:`parse_dataclass`.

    Every field whose value differs from its default is written as its flag, in field order, so a report can name
    the full command that made it; ``skip`` names fields to leave out (e.g. where the output went).

    Examples:
        >>> from dataclasses import dataclass, field
        >>> @dataclass(frozen=True)
        ... class Args:
        ...     seeds: int = 3
        ...     games: tuple[str, ...] = ("mixing",)
        ...     fresh: bool = False
        ...     hyperparams: dict = field(default_factory=dict)
        >>> command_line(Args(seeds=5, games=("a", "b"), fresh=True, hyperparams={"step": {"beta": 0.5}}))
        '--seeds 5 --games a,b --fresh --hyperparams step=\\'{"beta": 0.5}\\''
        >>> command_line(Args())
        ''
    """
    parts: list[str] = []
    for f in dataclasses.fields(args):
        if f.name in skip:
            continue
        value = getattr(args, f.name)
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc,operator]
        if value == default:
            continue
        flag = "--" + f.name.replace("_", "-")
        if isinstance(value, bool):
            parts.append(flag if value else f"--no-{f.name.replace('_', '-')}")
        elif isinstance(value, tuple):
            parts.append(f"{flag} {','.join(map(str, value))}")
        elif isinstance(value, dict):
            parts.extend(f"{flag} {name}='{json.dumps(hp, sort_keys=True)}'" for name, hp in value.items())
        elif value is not None:
            parts.append(f"{flag} {value}")
    return " ".join(parts)
