"""Shared set-up of the interop tests (other libraries consuming the stmg tasks).

* Every test here carries ``@pytest.mark.interop``; the marker is registered
  below too, so ``--strict-markers`` accepts it where ``pyproject.toml`` does
  not list it.
* Tests marked ``@pytest.mark.mujoco`` (``highway``) skip, with the reason, when
  ``mujoco`` (``highway_env``) cannot be imported; tests of a library skip when that library cannot be
  imported (:func:`tests.interop.helpers.require`). Nothing else skips.
* The libraries run in two environments: SuperSuit and SB3 in the main
  ``.venv`` (gymnasium 1.4) and in ``.venv-interop``; RLlib, TorchRL and
  Tianshou in ``.venv-interop`` (gymnasium 1.2.2, pinned by ``ray[rllib]``),
  built from ``requirements/interop.txt``.
"""

from __future__ import annotations

import pytest

from tests.interop.helpers import HIGHWAY_SKIP_REASON, MUJOCO_SKIP_REASON


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "interop: another MARL library consumes the tasks (tests/interop)")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("mujoco") is not None and MUJOCO_SKIP_REASON is not None:
        pytest.skip(MUJOCO_SKIP_REASON)
    if item.get_closest_marker("highway") is not None and HIGHWAY_SKIP_REASON is not None:
        pytest.skip(HIGHWAY_SKIP_REASON)
