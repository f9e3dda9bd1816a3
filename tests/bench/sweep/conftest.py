"""Registers the ``ray`` marker of the sweep tests."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # Also belongs in pyproject.toml's [tool.pytest.ini_options] markers; registering it here
    # keeps --strict-markers happy either way (registering twice is harmless).
    config.addinivalue_line("markers", "ray: needs the [ray] extra (Ray)")
