"""The prose describes the code as it is: every code reference in the README, CONTRIBUTING and the docs resolves.

A code span (`` `...` ``) is checked when it names

* a repository file (``stmg_envs/wrappers/stmg.py``, ``suites/matrix.py``, ``benchmarks/summary.py:12``): the
  file exists, from the repository root or one of the package folders (prose names a suite module as
  ``suites/matrix.py`` under a heading that says which package);
* a dotted name in one of the project's packages (``stmg_envs.equilibria.iterated_stackelberg``): it imports;
* ``Class.attribute`` of a class defined in the project's packages (``STMGEnv._phase``): the class, one of its
  bases in the project, or an instance attribute set in its methods (``self.x = ...``) defines it.

This is the check that would have caught CONTRIBUTING explaining the STMG's fast paths through an attribute
(``STMGEnv._lean``) that no longer existed. Generated pages (task pages, results) are not read: they are
written from the code. Placeholders in "how to add X" recipes are listed in :data:`PLACEHOLDERS`.
"""

from __future__ import annotations

import ast
import functools
import importlib
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEXTS = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
TEXTS = [t for t in TEXTS if t.name not in ("contributing.md", "changelog.md")]  # copies made by docs/hooks.py
PACKAGES = {
    "stmg_envs": ROOT / "stmg_envs",
    "stmg_bench": ROOT / "stmg_bench",
    "stmg_agents": ROOT / "agents" / "stmg_agents",
}
#: Folders a relative file name in the prose may start from.
FILE_ROOTS = (ROOT, ROOT / "benchmarks" / "results", ROOT / "docs", ROOT / "agents", *PACKAGES.values())
#: Names in recipes that stand for the file the reader will write.
PLACEHOLDERS = {"stmg_envs/wrappers/x.py", "tests/wrappers/test_x.py"}

_SPAN = re.compile(r"`([^`\n]+)`")
_FILE = re.compile(r"((?:[\w.-]+/)+[\w.-]+\.(?:py|md|toml|txt|yml|yaml|cfg|json|csv|sh))(?::[\d-]+)?")
_DOTTED = re.compile(r"((?:stmg_envs|stmg_bench|stmg_agents)(?:\.\w+)+)(?:\(\))?")
_ATTRIBUTE = re.compile(r"([A-Z]\w*)\.(\w+)(?:\(\))?")


def references(text: str) -> list[tuple[int, str]]:
    """(line, code span) of every code span outside fenced code blocks (examples there run in other tests)."""
    out = []
    fenced = False
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if not fenced:
            out.extend((number, m.group(1).strip()) for m in _SPAN.finditer(line))
    return out


@functools.cache
def class_members() -> dict[str, set[str]]:
    """Class name -> every name its body or its methods' ``self.x = ...`` define, across the project's packages.

    A name defined by two classes of the same name counts for both (the prose does not say which).
    """
    members: dict[str, set[str]] = {}
    bases: dict[str, set[str]] = {}
    for folder in PACKAGES.values():
        for file in folder.rglob("*.py"):
            for node in ast.walk(ast.parse(file.read_text())):
                if not isinstance(node, ast.ClassDef):
                    continue
                names = members.setdefault(node.name, set())
                bases.setdefault(node.name, set()).update(b.id for b in node.bases if isinstance(b, ast.Name))
                for item in ast.walk(node):
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and item is not node:
                        names.add(item.name)
                    elif isinstance(item, (ast.Assign, ast.AnnAssign)):
                        targets = item.targets if isinstance(item, ast.Assign) else [item.target]
                        for target in targets:
                            if isinstance(target, ast.Name):
                                names.add(target.id)
                            elif (
                                isinstance(target, ast.Attribute)
                                and isinstance(target.value, ast.Name)
                                and target.value.id in ("self", "cls")
                            ):
                                names.add(target.attr)
    # inherit from project bases (one pass per level is enough for the project's shallow hierarchies)
    for _ in range(4):
        for name, parents in bases.items():
            for parent in parents:
                members[name] |= members.get(parent, set())
    return members


def problem(reference: str) -> str | None:
    """Why ``reference`` does not resolve, or None (also for spans that are not code references)."""
    if match := _FILE.fullmatch(reference):
        path = match.group(1)
        if path in PLACEHOLDERS or any((root / path).exists() for root in FILE_ROOTS):
            return None
        return f"no file {path!r}"
    if match := _DOTTED.fullmatch(reference):
        parts = match.group(1).split(".")
        for cut in range(len(parts), 0, -1):
            try:
                target = importlib.import_module(".".join(parts[:cut]))
                break
            except ImportError:
                continue
        for part in parts[cut:]:
            if not hasattr(target, part):
                return f"{'.'.join(parts[:cut])} has no {'.'.join(parts[cut:])!r}"
            target = getattr(target, part)
        return None
    if match := _ATTRIBUTE.fullmatch(reference):
        cls, attribute = match.groups()
        known = class_members()
        if cls in known and attribute not in known[cls] and not hasattr(object, attribute):
            return f"class {cls} defines no {attribute!r}"
    return None


CASES = [(text, line, ref) for text in TEXTS for line, ref in references(text.read_text())]


@pytest.fixture(autouse=True, scope="module")
def _agents_importable():
    """``stmg_agents`` lives in ``agents/``; the editable install puts it on the path, this keeps a bare checkout working."""
    added = str(ROOT / "agents") not in sys.path
    if added:
        sys.path.append(str(ROOT / "agents"))
    yield
    if added:
        sys.path.remove(str(ROOT / "agents"))


def test_every_code_reference_in_the_prose_resolves():
    """Each file, dotted name and Class.attribute quoted in the README, CONTRIBUTING and docs/ exists in the code."""
    found = [
        f"{text.relative_to(ROOT)}:{line}: `{ref}`: {why}"
        for text, line, ref in CASES
        if (why := problem(ref)) is not None
    ]
    assert not found, "code references that do not resolve:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "reference",
    [
        "STMGEnv._lean",
        "stmg_envs.wrappers.no_such_module",
        "stmg_envs.equilibria.no_such_function",
        "benchmarks/mujoco.py",
    ],
)
def test_a_stale_reference_is_caught(reference):
    """The check can fail: an attribute, module, function or script that does not exist is reported."""
    assert problem(reference) is not None


@pytest.mark.parametrize(
    "reference",
    ["STMGEnv._phase", "STMGEnv.step", "stmg_envs.equilibria.iterated_stackelberg", "suites/matrix.py", "make run"],
)
def test_a_live_reference_passes(reference):
    """Names that exist (a method, an instance attribute, a function, a suite module) and plain code spans pass."""
    assert problem(reference) is None
