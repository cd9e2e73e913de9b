"""A whole local Dockyard for end-to-end tests and benchmarks: server, Fargate pool, EC2 agents.

    with Platform(tmp_path) as platform:
        instance = platform.add_instance("demo", instance_type="t3.medium")
        platform.aws("ecs", "run-task", "--cluster", "demo", ...)

The server runs in-process (a `ThreadedServer` on a data directory, so it can be restarted with
its state); agents are real `dockyard agent` processes talking HTTP to it, exactly as on a host.
Every container the agents create carries a label unique to this platform, and `stop()` removes
them all.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import boto3

from dockyard.agent.envelope import Envelope
from dockyard.agent.storage import unmount_all
from dockyard.testing.server import ThreadedServer

__all__ = ["AgentProcess", "Platform", "remove_containers"]

REGION = "us-east-1"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "secret",
    "AWS_DEFAULT_REGION": REGION,
}


class AgentProcess:
    def __init__(self, args: list[str], log: Path, env: dict[str, str]) -> None:
        self.args = args
        self.log = log
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "dockyard", *self.args],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
            )

    def stop(self, *, timeout: float = 15.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def remove_containers(label: str) -> None:
    """Remove every container carrying `label` (`key=value`), running or not."""
    ids = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label={label}"], capture_output=True, text=True, check=False
    ).stdout.split()
    if ids:
        subprocess.run(["docker", "rm", "-f", *ids], capture_output=True, check=False)


class Platform:
    def __init__(
        self,
        workdir: Path,
        *,
        fargate: bool = True,
        cleanup_wait: str = "10s",
        server_settings: dict[str, Any] | None = None,
    ) -> None:
        """`server_settings`: other `Settings` fields for the server (e.g. shorter intervals)."""
        self.workdir = workdir
        self.server_settings = dict(server_settings or {})
        self.run_id = uuid.uuid4().hex[:12]
        self.label = f"dockyard.test={self.run_id}"
        self.fargate = fargate
        self.agents: list[AgentProcess] = []
        self.env = {
            **os.environ,
            **CREDENTIALS,
            "ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION": cleanup_wait,
            "PYTHONUNBUFFERED": "1",
        }
        self.server: ThreadedServer | None = None
        self._port = 0

    # -- lifecycle ----------------------------------------------------------------------------------

    def __enter__(self) -> Platform:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self.start_server()
        if self.fargate:
            self.agents.append(self._agent(["--fargate-pool"], "fargate"))

    def start_server(self) -> None:
        self.server = ThreadedServer(
            data_dir=self.workdir / "server", port=self._port, **self.server_settings
        ).start()
        self._port = self.server.server.port

    def stop_server(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def restart_server(self) -> None:
        self.stop_server()
        self.start_server()

    def stop(self) -> None:
        for agent in self.agents:
            agent.stop()
        self.stop_server()
        # The load balancers' HAProxy outlives a server by design (it keeps serving across a
        # restart); a test platform's goes with it.
        pidfile = self.workdir / "server" / "lb" / "haproxy.pid"
        if pidfile.exists():
            with contextlib.suppress(ValueError, OSError):
                os.kill(int(pidfile.read_text().split()[0]), signal.SIGTERM)
        remove_containers(self.label)
        # Fargate tasks' ephemeral storage stays mounted when its agent stops (as on a host); detach it.
        unmount_all(self.workdir)
        # Instance envelopes outlive an agent whose containers still ran; these are gone now.
        for state in self.workdir.glob("agents/*/state.json"):
            instance_id = json.loads(state.read_text()).get("ec2_instance_id")
            if instance_id:
                Envelope(instance_id, cpu_units=0, memory_mib=0).remove()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    # -- agents -------------------------------------------------------------------------------------

    def _agent(self, extra: list[str], name: str) -> AgentProcess:
        data_dir = self.workdir / "agents" / name
        data_dir.mkdir(parents=True, exist_ok=True)
        args = [
            "agent",
            "--endpoint",
            self.endpoint,
            "--region",
            REGION,
            "--data-dir",
            str(data_dir),
            "--label",
            self.label,
            *extra,
        ]
        return AgentProcess(args, self.workdir / f"agent-{name}.log", self.env)

    def add_instance(
        self,
        cluster: str,
        *,
        instance_type: str = "t3.medium",
        zone: str | None = None,
        attributes: dict[str, str] | None = None,
        name: str | None = None,
        timeout: float = 30.0,
    ) -> tuple[AgentProcess, str]:
        """Start an EC2 agent and wait until it is registered; returns it and its instance ARN."""
        name = name or f"{cluster}-{len(self.agents)}"
        extra = ["--cluster", cluster, "--instance-type", instance_type]
        if zone:
            extra += ["--availability-zone", zone]
        for key, value in (attributes or {}).items():
            extra += ["--attribute", f"{key}={value}"]
        before = set(self._instances(cluster))
        agent = self._agent(extra, name)
        self.agents.append(agent)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            new = set(self._instances(cluster)) - before
            if new:
                return agent, new.pop()
            if agent.process is not None and agent.process.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"agent {name} did not register:\n{agent.output()}")

    def _instances(self, cluster: str) -> list[str]:
        try:
            return list(self.ecs().list_container_instances(cluster=cluster)["containerInstanceArns"])
        except self.ecs().exceptions.ClusterNotFoundException:
            return []

    # -- clients ------------------------------------------------------------------------------------

    def ecs(self) -> Any:
        return boto3.client(
            "ecs",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def aws(self, *args: str, check: bool = True) -> Any:
        """Run the real AWS CLI against this platform; returns its parsed JSON output."""
        aws = shutil.which("aws", path=str(Path(sys.executable).parent)) or "aws"
        result = subprocess.run(
            [aws, "--endpoint-url", self.endpoint, "--output", "json", *args],
            capture_output=True,
            text=True,
            env=self.env,
            check=False,
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"aws {' '.join(args)} failed ({result.returncode}): {result.stderr}")
        if result.returncode != 0:
            return {"error": result.stderr, "returncode": result.returncode}
        return json.loads(result.stdout) if result.stdout.strip() else {}

    def wait_for_task(
        self, cluster: str, task_arn: str, status: str, *, timeout: float = 60.0
    ) -> dict[str, Any]:
        """Describe the task until its lastStatus is `status` (or STOPPED); returns the task."""
        ecs = self.ecs()
        deadline = time.monotonic() + timeout
        task: dict[str, Any] = {}
        while time.monotonic() < deadline:
            task = ecs.describe_tasks(cluster=cluster, tasks=[task_arn])["tasks"][0]
            if task["lastStatus"] == status or task["lastStatus"] == "STOPPED":
                return task
            time.sleep(0.05)
        raise TimeoutError(f"task {task_arn} is {task.get('lastStatus')}, not {status}, after {timeout}s")

    def subnet(self, index: int = 0) -> str:
        from dockyard.services.ecs.networking import default_subnets

        return default_subnets("123456789012", REGION)[index].subnet_id
