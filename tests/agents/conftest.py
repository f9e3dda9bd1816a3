"""Torch at one thread while this folder's tests run (the fixture and why: :mod:`tests.torch_threads`)."""

from tests.torch_threads import one_torch_thread_per_package  # noqa: F401  (registers the autouse fixture)
