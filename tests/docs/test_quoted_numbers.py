"""Every number the README and the docs quote beside a link to a results file is in that file, so none can drift.

A unit of text is a table row, a list item or a paragraph. For each unit that links a results report
(``results/X.md`` or ``benchmarks/results/X.md``), every quoted result in it (outside code spans) must occur in the
files of the runs it links: ``X.md``, ``X.csv`` and ``X_*.csv``. Quoted results are percentages (``93%``, and both
ends of ``[84-100%]``), decimals (``0.13``, ``19.3``) and counts ``18 of 20`` (found as ``18/20``, as their share
``90%``, or as both numbers); plain integers (budgets, seeds,
trials) are settings and are not checked. A number matches if the file has it as written or, for a decimal or a
percentage, a number that rounds to it (``0.9312`` -> ``0.93`` or ``93%``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"
TEXTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

_LINKED = re.compile(r"(?:benchmarks/)?results/([\w.-]+)\.md")
_CODE = re.compile(r"`[^`]*`|\[[^\]]*\]\([^)]*\)")  # code spans; links (their labels name files, not results)
_RANGE = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)%?\s*-\s*(\d+(?:\.\d+)?)%")
_PERCENT = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)%")
_DECIMAL = re.compile(r"(?<![\w.,])-?(\d+\.\d+)(?![\w.]*\d)")
_COUNT = re.compile(r"(?<![\w.])(\d+) of (\d+)(?![\w.])")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e-?\d+)?")


def units(text: str) -> list[str]:
    """Table rows, list items and paragraphs of a Markdown text (code blocks dropped)."""
    text = re.sub(r"(?ms)^```.*?^```", "", text)
    out: list[str] = []
    for block in re.split(r"\n\s*\n", text):
        current: list[str] = []
        for line in block.splitlines():
            if line.startswith(("|", "- ", "* ")) or re.match(r"\d+\. ", line):
                if current:
                    out.append("\n".join(current))
                current = [line]
            else:
                current.append(line)
        if current:
            out.append("\n".join(current))
    return out


def quoted(unit: str) -> list[str]:
    """The quoted results of a unit: ``"93%"``, ``"0.13"``, ``"18 of 20"`` (a range gives both ends)."""
    prose = _CODE.sub(" ", unit)
    found = [f"{a}%" for pair in _RANGE.findall(prose) for a in pair]
    prose = _RANGE.sub(" ", prose)
    found += [f"{p}%" for p in _PERCENT.findall(prose)]
    prose = _PERCENT.sub(" ", prose)
    found += [f"{n} of {m}" for n, m in _COUNT.findall(prose)]
    found += _DECIMAL.findall(_COUNT.sub(" ", prose))
    return found


def _files(run: str) -> str:
    paths = [RESULTS / f"{run}.md", RESULTS / f"{run}.csv", *sorted(RESULTS.glob(f"{run}_*.csv"))]
    return "\n".join(p.read_text() for p in paths if p.exists())


def occurs(token: str, text: str, numbers: set[str]) -> bool:
    """Whether ``token`` is in ``text`` as written, or (a decimal or percentage) rounded from one of its numbers."""
    if re.search(rf"(?<![\w.]){re.escape(token)}(?![\w]|\.\d)", text):
        return True
    if " of " in token:  # a count: as N/M, as its share (19 of 20 -> 95%), or N among the numbers and M too
        n, m = token.split(" of ")
        share = round(100 * int(n) / int(m)) if int(m) else -1
        return (
            f"{n}/{m}" in text
            or occurs(f"{share}%", text, numbers)
            or ({str(float(n)), n} & numbers != set() and {str(float(m)), m} & numbers != set())
        )
    value, scale = (token[:-1], 100) if token.endswith("%") else (token, 1)
    places = len(value.split(".")[1]) if "." in value else 0
    target = float(value)
    return any(round(abs(float(x)) * scale, places) == target for x in numbers)


def unchecked(path: Path) -> list[str]:
    """Each quoted result of ``path`` that no results file it is quoted beside holds: ``"run(s): token: text"``."""
    problems = []
    for unit in units(path.read_text()):
        runs = sorted(set(_LINKED.findall(unit)) & {p.stem for p in RESULTS.glob("*.md")})
        if not runs:
            continue
        text = "\n".join(_files(run) for run in runs)
        numbers = set(_NUMBER.findall(text))
        for token in quoted(unit):
            if not occurs(token, text, numbers):
                problems.append(f"{','.join(runs)}: {token!r} in: {unit[:160]!r}")
    return problems


def test_the_checker_finds_a_drifted_number_and_accepts_a_true_one() -> None:
    """Guards the checker itself: a number its file holds (as written or rounded) passes, any other is named."""
    text = "| mixing | 95% [76%-99%] | 0.1325 | 19 of 20 |"
    numbers = set(_NUMBER.findall(text))
    assert quoted("STEP: 95% [76-99%], P(SE) 0.13, 19 of 20, at 10,000 steps, `--ent-coef 0.6`") == [
        "76%",
        "99%",
        "95%",
        "19 of 20",
        "0.13",
    ]
    assert all(occurs(t, text, numbers) for t in ("95%", "76%", "0.13", "19 of 20"))
    assert not any(occurs(t, text, numbers) for t in ("96%", "0.14", "18 of 20"))


@pytest.mark.parametrize("path", TEXTS, ids=lambda p: p.name)
def test_quoted_numbers_are_in_the_results_they_cite(path: Path) -> None:
    """Guards the README and every docs page against numbers that drift from the results file they link."""
    problems = unchecked(path)
    assert not problems, f"{len(problems)} quoted number(s) not in the cited results:\n" + "\n".join(problems)
