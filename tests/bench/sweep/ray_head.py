"""Stands in for an existing Ray cluster in the ``--address`` test: ``python -m tests.bench.sweep.ray_head``.

Starts a 2-CPU Ray instance without token authentication, prints its address, keeps it
running until its standard input is closed, then shuts it down.
"""

from __future__ import annotations

import logging
import os
import sys


def main() -> None:
    os.environ["RAY_AUTH_MODE"] = "disabled"  # let a separate driver connect without a token
    import ray

    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.ERROR)
    print(ray.get_runtime_context().gcs_address, flush=True)
    sys.stdin.read()
    ray.shutdown()


if __name__ == "__main__":
    main()
