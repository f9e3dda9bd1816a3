"""Every Python example of the documentation pages and the README runs (an example that breaks fails CI).

Each page's blocks run in order in one namespace, as a reader would paste them. The interop page
runs in tests/interop/test_interop_recipes.py, in both environments (it needs RLlib, TorchRL and
Tianshou).
"""

from __future__ import annotations

import pytest

from tests.docs.examples import pages, python_blocks

PAGES = [p for p in pages() if p.name != "interop.md" and python_blocks(p)]


def test_the_pages_have_examples_to_run():
    """The collection finds the hand-written pages' examples (an empty collection would test nothing)."""
    assert {p.name for p in PAGES} >= {"README.md", "index.md", "stmg.md", "agents.md", "benchmark-your-algorithm.md"}


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_page_examples_run(page, tmp_path, monkeypatch):
    """The page's Python blocks run without error, in a temporary working folder."""
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__docs__"}
    for i, block in enumerate(python_blocks(page)):
        exec(compile(block, f"{page.name}[block {i}]", "exec"), namespace)
