"""The tasks conform under whichever Gymnasium the environment runs (1.4 in .venv, 1.2.2 in .venv-interop).

RLlib pins ``gymnasium==1.2.2`` while the project develops on 1.4, and
``stmg-envs`` declares ``gymnasium>=1.0``; the interop environment therefore
re-runs the conformance checks (PettingZoo's api/seed tests on both forms,
multi-step determinism, Gymnasium's ``check_env``) on the interop tasks.
"""

from __future__ import annotations

import warnings

import gymnasium
import pytest
from packaging.version import Version

from stmg_envs.testing import check_task
from tests.interop.helpers import TASKS, Task

pytestmark = pytest.mark.interop


def test_gymnasium_is_a_declared_version():
    """The installed Gymnasium satisfies the package's own requirement (>= 1.0)."""
    assert Version(gymnasium.__version__) >= Version("1.0")


@pytest.mark.parametrize("flatten", [False, True], ids=["dict", "flat"])
@pytest.mark.parametrize("task", TASKS)
def test_conformance_under_the_installed_gymnasium(task: Task, flatten: bool):
    """check_task passes for the interop tasks, Dict and flat, under this environment's Gymnasium."""
    task_id, kwargs = task
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_task(task_id, num_cycles=20, quiet=True, flatten=flatten, **kwargs)
