"""``stmg-bench``: the benchmark suites from the command line, for any algorithm.

Commands:

* ``stmg-bench list``: the registered algorithms with their forms;
* ``stmg-bench check SPEC [--hyperparams JSON]``: check an algorithm (and the hyperparameters it would be
  built with) against the contract (no training);
* ``stmg-bench describe SPEC``: an algorithm's class, summary, form, and its hyperparameters with their defaults
  and docs;
* ``stmg-bench matrix [--algos ... --games ... --seeds N ...]``: the matrix suite
  (``stmg-bench matrix --help`` lists every option; the same as ``benchmarks/matrix_games.py``);
* ``stmg-bench mujoco [...]``: the Multi-Agent MuJoCo study (``benchmarks/mamujoco.py``);
* ``stmg-bench merge [...]``: the highway merge study (``benchmarks/onramp.py``);
* ``stmg-bench iterated [...]``: Oracles & Followers' iterated games, the leader's committed policy scored by the
  exact solver (``benchmarks/iterated_games.py``).

A spec ``package.module:Class`` is imported from the current folder first, as
``python -m`` would, and reaches every worker of the sweep.

Examples:
    >>> main(["check", "mappo"])
    mappo: ok (simultaneous form, stmg_agents.baselines.mappo:MAPPO)
    0
    >>> main(["check", "mappo", "--hyperparams", '{"gamma": 0.9}'])
    mappo: ok (simultaneous form, stmg_agents.baselines.mappo:MAPPO) with {"gamma": 0.9}
    0

Every command takes ``--help``.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import dataclasses
import inspect
import itertools
import json
import re
import sys
import textwrap
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

__all__ = ["main", "reported_errors"]

USAGE = (
    "usage: stmg-bench {list,check SPEC,describe SPEC,matrix,mujoco,merge,iterated} [options]; stmg-bench COMMAND --help "
    "for a command's options"
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
    variant = f" with {_overrides_text(algo.overrides)}" if algo.overrides else ""
    print(f"{algo.name}: ok ({algo.form} form, {algo.target}{variant}){given}")
    return 0


class _Row(NamedTuple):
    """One hyperparameter of :func:`_describe`'s table."""

    name: str
    default: str
    doc: str


#: Google-style sections that document a constructor's parameters (``Args:``...) and a config's fields (those and
#: ``Attributes:``, ``Attributes (besides those of ...):``); an algorithm's own ``Attributes:`` are not parameters.
_ARGS_SECTION = re.compile(r"(Args|Arguments|Parameters|Keyword Args|Keyword Arguments)\s*(\(.*\))?\s*:")
_FIELDS_SECTION = re.compile(r"(Args|Arguments|Parameters|Attributes)\s*(\(.*\))?\s*:")
#: An entry of such a section: ``name: text``, ``name (type): text``, ``a, b: text``, ``**kwargs: text``.
_ENTRY = re.compile(r"(?P<names>\*{0,2}\w+(?:\s*,\s*\*{0,2}\w+)*)\s*(?:\([^)]*\))?\s*:(?:\s+(?P<text>.*)|$)")


def _plain(text: str) -> str:
    """``text`` on one line, with reST roles (:class:`~a.B` -> `B`) and double backquotes made plain."""
    text = re.sub(
        r":[\w:]+:`~?([^`]+)`", lambda m: "`" + m[1].rsplit(".", 1)[-1] + "`" if "~" in m[0] else f"`{m[1]}`", text
    )
    return " ".join(text.replace("``", "`").split())


def _first_sentence(text: str) -> str:
    """The first sentence of a doc entry (up to a '.' followed by a capital), on one line."""
    text = _plain(text)
    return re.split(r"(?<=[.!?])\s+(?=[A-Z])", text, maxsplit=1)[0]


def _docstring_entries(doc: str | None, sections: re.Pattern[str]) -> dict[str, str]:
    """``name -> text`` of every entry of the ``sections`` (such as ``Args:``) of a Google-style docstring."""
    entries: dict[str, str] = {}
    lines = inspect.cleandoc(doc).splitlines() if doc else []
    index = 0
    while index < len(lines):
        header = lines[index]
        indent = len(header) - len(header.lstrip())
        index += 1
        if not sections.fullmatch(header.strip()):
            continue
        names: list[str] = []
        entry_indent: int | None = None
        while index < len(lines):
            line = lines[index]
            depth = len(line) - len(line.lstrip())
            if line.strip() and depth <= indent:
                break  # the next section (or the end of this one)
            index += 1
            if not line.strip():
                continue
            if entry_indent is None:
                entry_indent = depth
            match = _ENTRY.fullmatch(line.strip()) if depth == entry_indent else None
            if match:
                names = [n.strip() for n in match["names"].split(",")]
                for name in names:
                    entries.setdefault(name, match["text"] or "")
            elif depth > entry_indent:
                for name in names:
                    entries[name] = f"{entries[name]} {line.strip()}".strip()
    return entries


def _attribute_docstrings(cls: type) -> dict[str, str]:
    """``name -> docstring`` of the attributes of ``cls`` followed by a string literal in its source."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError, SyntaxError):
        return {}
    body = next((node.body for node in tree.body if isinstance(node, ast.ClassDef)), [])
    docs: dict[str, str] = {}
    for node, after in itertools.pairwise(body):
        targets = (
            [node.target] if isinstance(node, ast.AnnAssign) else node.targets if isinstance(node, ast.Assign) else []
        )
        if isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant) and isinstance(after.value.value, str):
            for target in targets:
                if isinstance(target, ast.Name):
                    docs.setdefault(target.id, after.value.value)
    return docs


def _docs_of(config: type | None, *builders: Any) -> dict[str, str]:
    """``name -> one-line doc``: a config's fields (attribute docstrings, then ``Attributes:`` / ``Args:`` entries,
    along its MRO), then the builders' parameters (``Args:`` of each class along its MRO and of its ``__init__``, or
    of a factory function); the first found wins."""
    docs: dict[str, str] = {}

    def add(found: Mapping[str, str]) -> None:
        for name, text in found.items():
            if text.strip():
                docs.setdefault(name, _first_sentence(text))

    for cls in config.__mro__ if config is not None else ():
        add(_attribute_docstrings(cls))
        add(_docstring_entries(cls.__doc__, _FIELDS_SECTION))
    for builder in builders:
        for owner in builder.__mro__ if inspect.isclass(builder) else (builder,):
            add(_docstring_entries(owner.__doc__, _ARGS_SECTION))
            init = owner.__dict__.get("__init__") if inspect.isclass(owner) else None
            add(_docstring_entries(getattr(init, "__doc__", None), _ARGS_SECTION))
    return docs


def _qualified(obj: Any) -> str:
    return f"{obj.__module__}:{obj.__qualname__}"


def _constructor_parameters(builder: Callable[..., Any]) -> list[inspect.Parameter]:
    """The parameters ``builder`` (a class or factory) takes besides the env (its first), ``seed``, ``*args`` and
    private ones (``_name``)."""
    try:
        signature = inspect.signature(builder.__init__ if inspect.isclass(builder) else builder)  # type: ignore[misc]
    except (TypeError, ValueError):
        return []
    params = list(signature.parameters.values())
    if inspect.isclass(builder) and params and params[0].name in ("self", "cls"):
        params = params[1:]
    return [p for p in params[1:] if p.name != "seed" and not p.name.startswith("_") and p.kind is not p.VAR_POSITIONAL]


def _hyperparameter_rows(factory: Any, overrides: Mapping[str, Any] | None = None) -> tuple[str, list[_Row]]:
    """Where an algorithm's hyperparameters come from (one phrase) and one row per hyperparameter.

    Generic: a class with a ``config_class`` dataclass is described by that config's fields (its parameters of its
    own first); anything else by its constructor's parameters. A registered variant's ``overrides`` are marked as the
    variant's. Docs come from the Google ``Args:`` / ``Attributes:`` sections and attribute docstrings of the classes
    involved.
    """
    variant_defaults, label = dict(overrides or {}), getattr(factory, "__qualname__", repr(factory))
    config = getattr(factory, "config_class", None)
    if not (inspect.isclass(config) and dataclasses.is_dataclass(config)):
        config = None
    fields = [f for f in dataclasses.fields(config) if f.init] if config is not None else []
    field_names = {f.name for f in fields}
    docs = _docs_of(config, factory)

    rows: list[_Row] = []
    for p in _constructor_parameters(factory):
        if p.name in field_names or (p.kind is p.VAR_KEYWORD and config is not None):
            continue
        if p.kind is p.VAR_KEYWORD:
            rows.append(_Row(f"**{p.name}", "", docs.get(f"**{p.name}", docs.get(p.name, "no docs"))))
        else:
            default = "required" if p.default is p.empty else repr(p.default)
            rows.append(_Row(p.name, default, docs.get(p.name, "no docs")))
    for f in fields:
        if f.default is not dataclasses.MISSING:
            default = repr(f.default)
        elif f.default_factory is not dataclasses.MISSING:
            default = repr(f.default_factory())
        else:
            default = "required"
        rows.append(_Row(f.name, default, docs.get(f.name, "no docs")))

    for name, value in variant_defaults.items():
        index = next((i for i, row in enumerate(rows) if row.name == name), None)
        if index is None:
            rows.append(_Row(name, f"{value!r} (variant's)", docs.get(name, "no docs")))
        else:
            rows[index] = rows[index]._replace(default=f"{value!r} (variant's; {label}: {rows[index].default})")

    source = f"{label}'s constructor" if inspect.isclass(factory) else f"the parameters of {label}"
    if config is not None:
        source += f" and the fields of {config.__qualname__} ({_qualified(config)})"
    if variant_defaults:
        source += f"; \"variant's\": the variant's own default, over {label}'s"
    return source, rows


def _describe(rest: list[str]) -> int:
    """``stmg-bench describe SPEC``: what an algorithm is and every hyperparameter it takes, with defaults and docs."""
    from stmg_bench.contract import form_label
    from stmg_bench.registry import registered, resolve

    parser = _command_parser(
        "describe",
        "An algorithm's class, summary and form, and its hyperparameters: name, default and the one-line doc of each.",
    )
    parser.add_argument(
        "spec",
        metavar="SPEC",
        help="a registered name (stmg-bench list), package.module:Class or path/to/file.py:Class",
    )
    args = parser.parse_args(rest)
    algo = resolve(args.spec)
    factory = algo.load()
    entry = registered().get(algo.spec)
    summary = (entry.doc if entry is not None and entry.doc else inspect.getdoc(factory) or "").strip()
    summary = summary.split("\n\n")[0]
    cls = algo.target
    source, rows = _hyperparameter_rows(factory, algo.overrides)
    print(f"name:     {algo.name}")
    print(f"class:    {cls}")
    if algo.overrides:
        print(f"variant:  {_overrides_text(algo.overrides)} over the class's defaults (the user's settings win)")
    print(f"summary:  {_plain(summary) or 'no docs'}")
    print(f"form:     {form_label(factory)}")
    print(f"hyperparameters ({source}):")
    if not rows:
        print("  none")
        return 0
    table = [_Row("name", "default", "doc"), *rows]
    name_width = max(len(row.name) for row in table)
    default_width = max(len(row.default) for row in table)
    for row in table:
        print(f"  {row.name:{name_width}s}  {row.default:{default_width}s}  {row.doc}".rstrip())
    return 0


def _overrides_text(overrides: Mapping[str, Any]) -> str:
    """A variant's overrides as one JSON object (``{"leader_explore": 0.25, "leader_start": 0.5}``)."""
    return json.dumps(dict(overrides), sort_keys=True, default=repr)


def _run(command: str, rest: list[str]) -> int:
    """One command of :func:`main` (errors go through :func:`reported_errors` there)."""
    from stmg_bench.registry import registered, resolve

    if command == "list":
        _command_parser(
            "list", "The registered algorithms: name, form and class (and a variant's settings)."
        ).parse_args(rest)
        rows = [(name, resolve(name)) for name in sorted(registered())]
        name_width = max((len(name) for name, _ in rows), default=0)
        form_width = max((len(algo.form) for _, algo in rows), default=0)
        for name, algo in rows:
            overrides = f" with {_overrides_text(algo.overrides)}" if algo.overrides else ""
            print(f"{name:{name_width}s}  {algo.form:{form_width}s}  {algo.target}{overrides}")
        return 0
    if command == "check":
        return _check(rest)
    if command == "describe":
        return _describe(rest)
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
    if command in ("mujoco", "merge", "iterated"):
        import importlib

        importlib.import_module(f"stmg_bench.suites.{command}_study").main(rest, prog=f"stmg-bench {command}")
        return 0
    print(f"stmg-bench: unknown command {command!r}; {USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
