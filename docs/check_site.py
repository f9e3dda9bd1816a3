"""Check the built site: every internal link and image of every page resolves to a file of the site.

Run by ``make docs`` after ``mkdocs build --strict`` (which checks the Markdown links; this checks the
HTML, theme and generated API pages included). Usage: ``python docs/check_site.py site``.
"""

from __future__ import annotations

import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and (
                (tag == "a" and name == "href")
                or (tag in ("img", "script") and name == "src")
                or (tag == "link" and name == "href")
            ):
                self.refs.append(value)


def broken_refs(site: Path) -> list[str]:
    """``"page: reference"`` for each internal reference that names no file of the site."""
    broken = []
    for page in sorted(site.rglob("*.html")):
        parser = _Refs()
        parser.feed(page.read_text(errors="replace"))
        for ref in parser.refs:
            parts = urlsplit(ref)
            if parts.scheme or parts.netloc or ref.startswith(("#", "mailto:", "data:")):
                continue
            path = unquote(parts.path)
            target = (site / path.lstrip("/") if path.startswith("/") else page.parent / path).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page.relative_to(site)}: {ref}")
    return broken


if __name__ == "__main__":
    site = Path(sys.argv[1] if len(sys.argv) > 1 else "site")
    problems = broken_refs(site)
    for problem in problems:
        print(f"broken link or image: {problem}", file=sys.stderr)
    pages = len(list(site.rglob("*.html")))
    print(f"{pages} pages checked, {len(problems)} broken references")
    sys.exit(1 if problems or pages == 0 else 0)
