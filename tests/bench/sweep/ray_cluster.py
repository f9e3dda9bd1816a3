"""A two-node Ray cluster on this machine's loopback addresses, for ``test_ray_cluster.py``.

Each node is a ``ray start --block`` process (run as ``python -m ray.scripts.scripts``, Ray's
``ray`` command, with this Python) in a session of its own, with its own
temporary folder, a few CPUs and a small object store; the cluster requires a token
(``RAY_AUTH_MODE=token``, a fresh random ``RAY_AUTH_TOKEN`` that :attr:`LocalRayCluster.env`
hands to drivers). The head listens on a free port of ``127.0.0.2``, the worker node
on ``127.0.0.3``: both loopback, and not ``127.0.0.1``, which Ray replaces by the
machine's network address. Every process a node starts (GCS, raylet, agents, workers)
stays in the node's session, so :meth:`RayNode.stop` ends exactly those: the node's
``ray start`` first (SIGTERM, a graceful stop), then, after a bounded wait, SIGKILL
to whatever of its session is left. ``ray stop`` is not used: it stops every Ray
process of the machine, other people's included. Linux only (``/proc``).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HEAD_IP, WORKER_IP = "127.0.0.2", "127.0.0.3"
#: Longest wait for a node to start or stop (a loaded 2-core machine takes 10-20 s to start one).
START_PATIENCE_S = 120.0
STOP_PATIENCE_S = 20.0
#: Object store per node: small, the trials return a few numbers.
OBJECT_STORE_BYTES = 100 * 1024 * 1024


def free_port(host: str) -> int:
    """A TCP port free on ``host`` now (bound and released: another process may take it meanwhile)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of ``/proc/<pid>/stat`` after the command name (state, ppid, pgrp, session, ...)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError, PermissionError):
        return None


def session_pids(session: int) -> set[int]:
    """Processes (not zombies) of the session ``session``."""
    pids = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None and fields[3] == str(session) and fields[0] != "Z":
                pids.add(int(entry.name))
    return pids


def is_alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] != "Z"


def process_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def wait_until(condition, what: str, patience_s: float) -> None:
    """Poll ``condition`` until it holds; fail the test, naming ``what``, after ``patience_s`` seconds."""
    deadline = time.monotonic() + patience_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {patience_s:.0f} s waiting for {what}")
        time.sleep(0.1)


@dataclass
class RayNode:
    """One node: its ``ray start --block`` process (a session leader) and the file its output goes to."""

    name: str
    process: subprocess.Popen
    output: Path

    def pids(self) -> set[int]:
        """Every live process the node started (its session)."""
        return session_pids(self.process.pid)

    def raylet_pid(self) -> int:
        raylets = [pid for pid in self.pids() if process_name(pid) == "raylet"]
        assert len(raylets) == 1, f"expected one raylet in node {self.name}, found {raylets}"
        return raylets[0]

    def started(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"Ray node {self.name} exited:\n{self.output.read_text()[-3000:]}")
        return "Ray runtime started" in self.output.read_text()

    def stop(self) -> None:
        """SIGTERM the node's ``ray start``, then SIGKILL what is left of its session; never raises."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=STOP_PATIENCE_S)
        deadline = time.monotonic() + STOP_PATIENCE_S
        while self.pids() and time.monotonic() < deadline:
            time.sleep(0.2)
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


@dataclass
class LocalRayCluster:
    """A head node and worker nodes started with ``ray start`` under ``root``; :meth:`stop` ends them all."""

    root: Path
    token: str = field(default_factory=lambda: secrets.token_hex(32))
    nodes: list[RayNode] = field(default_factory=list)
    port: int = 0

    @property
    def address(self) -> str:
        return f"{HEAD_IP}:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        """The environment of this cluster's nodes and drivers: the token, no usage statistics."""
        env = {key: value for key, value in os.environ.items() if not key.startswith(("RAY_AUTH", "RAY_ADDRESS"))}
        return {**env, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": self.token, "RAY_USAGE_STATS_ENABLED": "0"}

    def _start_node(self, name: str, num_cpus: int, *options: str) -> RayNode:
        temp_dir = self.root / name
        temp_dir.mkdir(parents=True)
        command = [
            sys.executable, "-m", "ray.scripts.scripts", "start", "--block", f"--num-cpus={num_cpus}", "--num-gpus=0",
            f"--temp-dir={temp_dir}", f"--object-store-memory={OBJECT_STORE_BYTES}", "--disable-usage-stats",
            *options,
        ]  # fmt: skip
        output = self.root / f"{name}.log"
        with output.open("w") as sink:
            process = subprocess.Popen(
                command, stdout=sink, stderr=subprocess.STDOUT, env=self.env, start_new_session=True
            )
        node = RayNode(name, process, output)
        self.nodes.append(node)
        wait_until(node.started, f"Ray node {name} to start", START_PATIENCE_S)
        return node

    def start_head(self, num_cpus: int) -> RayNode:
        self.port = free_port(HEAD_IP)
        return self._start_node(
            "head", num_cpus, "--head", f"--node-ip-address={HEAD_IP}", f"--port={self.port}",
            "--include-dashboard=false", f"--dashboard-port={free_port(HEAD_IP)}",
            f"--dashboard-agent-listen-port={free_port(HEAD_IP)}",
        )  # fmt: skip

    def add_worker(self, name: str, num_cpus: int) -> RayNode:
        return self._start_node(
            name, num_cpus, f"--address={self.address}", f"--node-ip-address={WORKER_IP}",
            f"--dashboard-agent-listen-port={free_port(WORKER_IP)}",
        )  # fmt: skip

    def stop(self) -> None:
        """Stop the worker nodes, then the head."""
        for node in reversed(self.nodes):
            node.stop()
