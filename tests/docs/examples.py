"""The Python code blocks of the hand-written documentation pages, for the tests that run them."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"
#: Pages written at build time from other files (their code, if any, is tested where it comes from).
GENERATED = {"contributing.md", "changelog.md"}
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def pages() -> list[Path]:
    """The hand-written pages (``docs/*.md``, generated folders and files excluded) and the README."""
    return [DOCS.parent / "README.md", *sorted(p for p in DOCS.glob("*.md") if p.name not in GENERATED)]


def python_blocks(page: Path) -> list[str]:
    """The page's ```python blocks, in order."""
    return _BLOCK.findall(page.read_text())
