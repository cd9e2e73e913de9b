"""A Dockyard run as users run it, for the benchmarks: `dockyard server` and `dockyard agent` processes.

    with LocalDockyard(workdir) as dockyard:       # a server on a free loopback port
        dockyard.start_pool()                      # the Fargate pool (what `dockyard up` adds)
        dockyard.add_instance("cluster")           # an EC2 agent, registered with the cluster
        dockyard.ecs.run_task(...)

Every container the agents create carries a label unique to this instance; `stop()` stops the
tasks still running, the processes (by pid), and removes those containers.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

from _common import REGION, Process, client, dockyard_command, environment, free_port, http_ok, wait_until

__all__ = ["LocalDockyard"]


class LocalDockyard:
    def __init__(self, workdir: Path, *, cleanup_wait: str = "5s") -> None:
        self.workdir = workdir
        self.run_id = uuid.uuid4().hex[:10]
        self.label = f"dockyard.bench={self.run_id}"
        self.endpoint = f"http://127.0.0.1:{free_port()}"
        self.env = environment(ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION=cleanup_wait)
        self.processes: list[Process] = []
        self.clusters: list[str] = []
        self.server: Process | None = None
        self.ecs: Any = None

    def __enter__(self) -> LocalDockyard:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def spawn(self, name: str, *args: str) -> Process:
        process = Process(dockyard_command(*args), self.workdir / f"{name}.log", self.env)
        self.processes.append(process)
        return process

    def start(self, *, timeout: float = 30.0) -> None:
        """Start `dockyard server` and wait until it answers /health."""
        port = self.endpoint.rsplit(":", 1)[1]
        server = self.spawn("server", "server", "--port", port, "--data-dir", str(self.workdir / "db"))
        self.server = server
        up = wait_until(lambda: http_ok(f"{self.endpoint}/health") or not server.alive(), timeout=timeout)
        if not up or not server.alive():
            raise RuntimeError(f"dockyard server did not start:\n{server.output()}")
        self.ecs = client("ecs", self.endpoint)

    def _agent_args(self, data_dir: str) -> list[str]:
        return [
            "agent",
            "--endpoint",
            self.endpoint,
            "--region",
            REGION,
            "--label",
            self.label,
            "--data-dir",
            str(self.workdir / data_dir),
        ]

    def start_pool(self) -> Process:
        return self.spawn("pool", *self._agent_args("pool"), "--fargate-pool")

    def add_instance(self, cluster: str, *, instance_type: str = "t3.medium", timeout: float = 60.0) -> str:
        """Start an EC2 agent for `cluster` and wait until it registers; its container instance ARN."""
        self.clusters.append(cluster)
        before = set(self._instances(cluster))
        name = f"ec2-{len(self.processes)}"
        agent = self.spawn(
            name, *self._agent_args(name), "--cluster", cluster, "--instance-type", instance_type
        )
        found: list[str] = []

        def registered() -> bool:
            found[:] = sorted(set(self._instances(cluster)) - before)
            return bool(found) or not agent.alive()

        if not wait_until(registered, timeout=timeout, interval=0.2) or not found:
            raise RuntimeError(f"the EC2 agent did not register:\n{agent.output()}")
        return found[0]

    def _instances(self, cluster: str) -> list[str]:
        return list(self.ecs.list_container_instances(cluster=cluster)["containerInstanceArns"])

    def stop(self) -> None:
        if self.ecs is not None:
            try:
                for cluster in self.clusters:
                    for arn in self.ecs.list_tasks(cluster=cluster, desiredStatus="RUNNING")["taskArns"]:
                        self.ecs.stop_task(cluster=cluster, task=arn)
            except Exception as exc:  # the server may be gone already; the containers go below
                print(f"  (could not stop the remaining tasks: {exc})")
        for process in reversed(self.processes):
            process.stop()
        remove_labelled(self.label)
        for state in self.workdir.glob("ec2-*/state.json"):
            instance_id = json.loads(state.read_text()).get("ec2_instance_id")
            if instance_id:
                remove_envelope(instance_id)

    def tails(self, lines: int = 15) -> str:
        """The last lines of every process's log (for a failure message)."""
        parts = []
        for process in self.processes:
            tail = "\n".join(process.output().splitlines()[-lines:])
            parts.append(f"--- {process.log.name} (last lines)\n{tail}")
        return "\n".join(parts)


def remove_envelope(instance_id: str) -> None:
    """Remove the (empty) cgroup parents an EC2 agent made for its instance envelope: the agent
    leaves `/dockyard/<instance id>` behind in every controller Docker used."""
    root = Path("/sys/fs/cgroup")
    groups = [root / "dockyard" / instance_id]  # cgroup v2
    groups += [controller / "dockyard" / instance_id for controller in root.iterdir()]  # v1
    for group in groups:
        if group.is_dir():
            try:
                group.rmdir()
            except OSError as exc:
                print(f"  (could not remove the cgroup {group}: {exc.strerror})")


def remove_labelled(label: str) -> None:
    """Force-remove every container carrying `label` (``name=value``)."""
    ids = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label={label}"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    ).stdout.split()
    if ids:
        subprocess.run(["docker", "rm", "-f", *ids], capture_output=True, check=False, timeout=120)
