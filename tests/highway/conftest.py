"""Shared set-up of the highway tests.

Tests marked ``@pytest.mark.highway`` are skipped, with the reason, when
``highway_env`` cannot be imported; nothing else is ever skipped for it.
"""

from __future__ import annotations

import pytest

try:
    import highway_env  # noqa: F401

    HIGHWAY_IMPORT_ERROR: str | None = None
except ImportError as exc:  # the [highway] extra is not installed
    HIGHWAY_IMPORT_ERROR = str(exc)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("highway") is not None and HIGHWAY_IMPORT_ERROR is not None:
        pytest.skip(
            f"highway_env is not importable ({HIGHWAY_IMPORT_ERROR}); "
            "install the extra with: pip install 'stmg-envs[highway]'"
        )
