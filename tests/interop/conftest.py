"""Shared set-up of the interop tests (other libraries consuming the stmg tasks).

* The tests of RLlib, TorchRL and Tianshou carry ``@pytest.mark.interop``: they run only in
  ``.venv-interop``. The info contract, SB3 and SuperSuit tests carry ``@pytest.mark.both_envs``
  instead: they run in the main ``.venv`` (``make test-main``, Gymnasium 1.4) and again in
  ``.venv-interop`` (``make test-interop`` runs all of ``tests/interop``, Gymnasium 1.2.2). Both
  markers are registered below too, so ``--strict-markers`` accepts them where ``pyproject.toml``
  does not list them.
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
    config.addinivalue_line("markers", "both_envs: runs in the main environment and in the interop one")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("mujoco") is not None and MUJOCO_SKIP_REASON is not None:
        pytest.skip(MUJOCO_SKIP_REASON)
    if item.get_closest_marker("highway") is not None and HIGHWAY_SKIP_REASON is not None:
        pytest.skip(HIGHWAY_SKIP_REASON)
