"""No code in stmg_bench/, agents/ or benchmarks/ branches on a registered algorithm's name (CONTRIBUTING's rule).

What an algorithm is built with is data (the registry's entries: a class, a variant's overrides, a suite's
settings for it); what a suite does with it follows its declared ``form`` and declarations, never its name. The
check reads the source (``ast``) for the ways a name branch is written, with the names taken from ``registered()``
so that a newly registered name is covered too:

* a comparison with a name or a collection of names: ``algo == "step"``, ``name in ("mappo", "ippo")``;
* a dict display keyed only by names (a lookup table by name): ``{"step": {...}}``;
* ``.startswith("step")`` / ``.endswith(...)`` with a name;
* a tuple key holding a name, as a subscript or in a membership test: ``stats[(game, "step", order)]``;
* a ``match`` case on a name.

Names used as labels (a row labelled ``"step"``, a record's ``"step"`` field beside others, ``resolve("step")``)
are not branches and pass. The registry itself (``stmg_bench/registry.py``) is the one table of names.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from stmg_bench.registry import registered

ROOT = Path(__file__).resolve().parents[2]
SEARCHED = ("stmg_bench", "agents", "benchmarks")
#: The one place that may spell the names as keys: the registry's table.
EXEMPT = {Path("stmg_bench/registry.py")}


def _names_in(node: ast.AST, names: frozenset[str]) -> set[str]:
    """The registered names that ``node`` is, or holds as an element (a tuple, list or set display)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value} & names
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return set().union(*(_names_in(e, names) for e in node.elts))
    return set()


def name_branches(source: str, names: frozenset[str]) -> Iterator[tuple[int, str]]:
    """``(line, what)`` for every branch on one of ``names`` in ``source`` (see the module docstring)."""
    for node in ast.walk(ast.parse(source)):
        found: set[str] = set()
        what, line = "", getattr(node, "lineno", 0)
        if isinstance(node, ast.Compare):
            found = set().union(*(_names_in(o, names) for o in (node.left, *node.comparators)))
            what = "compares with"
        elif isinstance(node, ast.Dict):
            keys = [k for k in node.keys if k is not None]
            key_names = [_names_in(k, names) if isinstance(k, ast.Constant) else set() for k in keys]
            if keys and all(key_names) and None not in node.keys:
                found, what = set().union(*key_names), "is a table keyed by"
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in ("startswith", "endswith") and node.args:
                found, what = _names_in(node.args[0], names), f"calls .{node.func.attr}() with"
        elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Tuple):
            found, what = _names_in(node.slice, names), "looks up a key holding"
        elif isinstance(node, ast.match_case):
            found = {
                n.value.value
                for n in ast.walk(node.pattern)
                if isinstance(n, ast.MatchValue) and isinstance(n.value, ast.Constant) and n.value.value in names
            }
            what, line = "matches on", node.pattern.lineno
        if found:
            yield line, f"{what} {sorted(found)}"


def test_no_file_branches_on_a_registered_algorithm_name():
    """Every .py file of stmg_bench/, agents/ and benchmarks/ (the registry's table aside) is free of name branches;
    a failure names the file, the line and the names."""
    names = frozenset(registered())
    offenders = []
    for folder in SEARCHED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if relative in EXEMPT:
                continue
            for line, what in name_branches(path.read_text(), names):
                offenders.append(f"{relative}:{line}: {what}")
    assert offenders == [], "branches on an algorithm's name (make it data: see CONTRIBUTING):\n" + "\n".join(offenders)


def test_the_check_finds_each_form_of_a_name_branch_and_passes_labels():
    """Each form of a branch on a name is found on its line; labels, records and lookups through the registry pass."""
    names = frozenset({"step", "mappo", "step-explore"})
    branches = """
if algo == "step":
    pass
fast = name in ("mappo", "ippo")
LEVERS = {"step": {"hyper_scale_by_width": True}}
scaled = spec.startswith("step-explore")
rate = stats[(game, "mappo", "possible_agents")]
match algo:
    case "step":
        pass
"""
    found = dict(name_branches(branches, names))
    assert sorted(found) == [2, 4, 5, 6, 7, 9]
    assert found[2] == "compares with ['step']" and found[5] == "is a table keyed by ['step']"
    labels = """
algo = resolve("step")
row = {"step": 3, "rss_mb": 1.0}
curve = {"step": int(step), **summary}
step = record["step"]
VARIANTS = (("step (plain hypernetwork)", 1), ("mappo", 2))
if kind == "sequential":
    pass
"""
    assert list(name_branches(labels, names)) == []
