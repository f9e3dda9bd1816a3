"""docs/check_site.py finds a broken internal link or image of a built site, and accepts a sound one."""

from __future__ import annotations

import importlib.util
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _checker():
    spec = importlib.util.spec_from_file_location("check_site", DOCS / "check_site.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_broken_links_and_images_are_reported_and_good_ones_are_not(tmp_path):
    """A missing page, image or root-relative asset is named; an existing one, an anchor or a URL is not."""
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "index.html").write_text("ok")
    (tmp_path / "frame.png").write_bytes(b"png")
    (tmp_path / "index.html").write_text(
        '<a href="tasks/">t</a><a href="#top">a</a><a href="https://example.org/x">x</a><img src="frame.png">'
        '<a href="missing/">m</a><img src="gone.png"><link href="/assets/style.css">'
    )
    broken = _checker().broken_refs(tmp_path)
    assert broken == ["index.html: missing/", "index.html: gone.png", "index.html: /assets/style.css"]
