"""Torch at one thread while a folder's tests run, the previous count restored after: one fixture, two folders.

The algorithms never change torch's thread count (:mod:`stmg_agents.threads`); the benchmark harness runs each trial
with one thread, and so do the tests of ``tests/agents/`` and ``tests/bench/`` (their conftests register
:func:`one_torch_thread_per_package`): the networks are tiny, and on a shared 2-core machine two torch threads only
wait on each other (an update ran about 5x slower). A test of thread handling sets its own count.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="package", autouse=True)
def one_torch_thread_per_package() -> Iterator[None]:
    if importlib.util.find_spec("torch") is None:
        yield
        return
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
