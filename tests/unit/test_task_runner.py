"""TaskRunner with FakeRuntime on virtual time: what the control plane hears, and what the engine sees.

Every test runs one task through the runner and reads the snapshots it reported (a recording
reporter) and the fake engine's containers and events. Time is an `AutojumpClock`: a 3-hour
cleanup wait or a 10-second start timeout passes in microseconds, in order.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from dockyard.agent.plan import HostContext, docker_name
from dockyard.agent.ports import HostPortAllocator
from dockyard.agent.runner import OOM_REASON, RunnerConfig, TaskRunner
from dockyard.agent.runtime.protocol import ContainerSpec, ImageNotFound, RuntimeEvent
from dockyard.agent.signal import Signal
from dockyard.agent.specs import LABEL_CONTAINER_NAME, LABEL_TASK_ARN
from dockyard.agent.state import TaskRecord
from dockyard.agent.timers import wait_until
from dockyard.testing.autojump_clock import AutojumpClock
from dockyard.testing.fake_runtime import Behaviour, FakeRuntime

ARN = "arn:aws:ecs:us-east-1:123456789012:task/demo/0123456789abcdef0123456789abcdef"
TASK_ID = ARN.rsplit("/", 1)[1]
PAUSE = "~internal~ecs~pause"
REAL_TIMEOUT = 5.0  # seconds of real time any wait in these tests may take before it fails


# -- harness -------------------------------------------------------------------------------------


class RecordingReporter:
    """Keeps every snapshot (delivered at once) and what the engine held when it was sent."""

    def __init__(self, runtime: FakeRuntime) -> None:
        self.runtime = runtime
        self.reports: list[dict[str, Any]] = []
        self.engine: list[set[str]] = []  # container names present at each report
        self.changed = Signal()

    def submit(self, report: dict[str, Any]) -> asyncio.Future[None]:
        self.reports.append(copy.deepcopy(report))
        self.engine.append(
            {c.spec.labels.get(LABEL_CONTAINER_NAME, "") for c in self.runtime.containers.values()}
        )
        self.changed.notify()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future

    @property
    def last(self) -> dict[str, Any]:
        return self.reports[-1]

    def statuses(self) -> list[str]:
        """Task lastStatus values in order, repeats collapsed."""
        seen: list[str] = []
        for report in self.reports:
            if not seen or seen[-1] != report["lastStatus"]:
                seen.append(report["lastStatus"])
        return seen

    def first(self, status: str) -> dict[str, Any]:
        return next(r for r in self.reports if r["lastStatus"] == status)

    async def wait_for(self, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        ok = await asyncio.wait_for(
            wait_until(self.changed, lambda: bool(self.reports) and predicate(self.last)), REAL_TIMEOUT
        )
        assert ok
        return self.last

    async def wait_status(self, status: str) -> dict[str, Any]:
        return await self.wait_for(lambda r: r["lastStatus"] == status)


def container(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in report["containers"] if c["name"] == name)


@dataclass
class Harness:
    tmp: Path
    clock: AutojumpClock
    runtime: FakeRuntime
    reporter: RecordingReporter
    ports: HostPortAllocator
    events: list[RuntimeEvent] = field(default_factory=list)
    saves: int = 0
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    runners: list[TaskRunner] = field(default_factory=list)

    def host(self, launch_type: str = "EC2") -> HostContext:
        if launch_type == "FARGATE":
            return HostContext(launch_type="FARGATE", region="us-east-1", data_dir=str(self.tmp))
        return HostContext(
            launch_type="EC2",
            region="us-east-1",
            data_dir=str(self.tmp),
            cluster="demo",
            host_address="127.0.0.1",
        )

    def config(self, launch_type: str = "EC2", **extra: Any) -> RunnerConfig:
        def save() -> None:
            self.saves += 1

        return RunnerConfig(
            host=self.host(launch_type),
            runtime=self.runtime,
            reporter=self.reporter,
            clock=self.clock,
            save_state=save,
            pause_image="pause:1",
            ports=None if launch_type == "FARGATE" else self.ports,
            loop_storage=False,
            **extra,
        )

    def runner(self, item: dict[str, Any], record: TaskRecord | None = None, **config: Any) -> TaskRunner:
        record = record or TaskRecord(task_arn=ARN, endpoint_id=TASK_ID, item=item)
        return TaskRunner(item, record, self.config(str(item.get("launchType", "EC2")), **config))

    def start(self, runner: TaskRunner) -> asyncio.Task[None]:
        self.runners.append(runner)
        task = asyncio.create_task(runner.run())
        self.tasks.append(task)
        return task

    def named(self, action: str) -> list[str]:
        """Container names of the engine events with this action, in order."""
        return [e.labels.get(LABEL_CONTAINER_NAME, "") for e in self.events if e.action == action]

    def spec(self, name: str) -> ContainerSpec:
        found = [
            c.spec
            for c in self.runtime.containers.values()
            if c.spec.labels.get(LABEL_CONTAINER_NAME) == name
        ]
        assert len(found) == 1, found
        return found[0]

    def runtime_id(self, name: str) -> str:
        return next(
            c.id for c in self.runtime.containers.values() if c.spec.labels.get(LABEL_CONTAINER_NAME) == name
        )


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    clock = AutojumpClock()
    runtime = FakeRuntime(clock=clock)
    runtime.add_image("pause:1")  # the agent's own image: present, never pulled
    await runtime.ensure_network("dockyard-vpc", subnet="10.213.0.0/16", gateway="10.213.0.1", labels={})
    harness = Harness(tmp_path, clock, runtime, RecordingReporter(runtime), HostPortAllocator("127.0.0.1"))
    stream = runtime.events(labels={LABEL_TASK_ARN: ARN})

    async def collect() -> None:
        async for event in stream:
            harness.events.append(event)
            if event.action.startswith("health_status") and harness.runners:
                # as the agent does: health events go to the task's runner
                harness.runners[-1].on_health(event.container_id, event.attributes.get("health_status"))

    collector = asyncio.create_task(collect())
    yield harness
    for task in [*harness.tasks, collector]:
        task.cancel()
    await asyncio.gather(*harness.tasks, collector, return_exceptions=True)
    await runtime.close()
    await clock.close()


def work_item(
    containers: list[dict[str, Any]],
    *,
    launch_type: str = "EC2",
    desired: str = "RUNNING",
    volumes: list[dict[str, Any]] | None = None,
    overrides: dict[str, Any] | None = None,
    **taskdef: Any,
) -> dict[str, Any]:
    definitions = [{"image": "app:1", **c} for c in containers]
    network_mode = taskdef.pop("networkMode", "awsvpc" if launch_type == "FARGATE" else "bridge")
    item: dict[str, Any] = {
        "taskArn": ARN,
        "clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/demo",
        "region": "us-east-1",
        "desiredStatus": desired,
        "launchType": launch_type,
        "taskDefinition": {
            "family": "demo",
            "revision": 1,
            "networkMode": network_mode,
            "containerDefinitions": definitions,
            "volumes": volumes or [],
            **taskdef,
        },
        "overrides": overrides or {},
        "containers": [
            {"name": c["name"], "containerArn": f"arn:container/{c['name']}"} for c in definitions
        ],
    }
    if network_mode == "awsvpc":
        item["network"] = {
            "privateIpv4Address": "10.213.0.5",
            "subnetCidr": "10.213.0.0/16",
            "gateway": "10.213.0.1",
            "vpcId": "vpc-1",
        }
    return item


def stopped(item: dict[str, Any]) -> dict[str, Any]:
    return {**item, "desiredStatus": "STOPPED"}


async def finish(runner: TaskRunner) -> None:
    await asyncio.wait_for(runner.finished.wait(), REAL_TIMEOUT)


# -- the happy path ------------------------------------------------------------------------------


async def test_happy_path_pending_running_stopping_stopped_then_cleanup(h: Harness) -> None:
    item = work_item(
        [
            {"name": "db"},
            {"name": "web", "dependsOn": [{"containerName": "db", "condition": "START"}]},
            {"name": "proxy", "links": ["web"]},
        ]
    )
    runner = h.runner(item)
    h.start(runner)
    running = await h.reporter.wait_status("RUNNING")

    pending = h.reporter.first("PENDING")
    assert pending["pullStartedAt"] == h.clock.now() and "pullStoppedAt" not in pending
    assert {"pullStartedAt", "pullStoppedAt", "startedAt"} <= running.keys()
    assert h.runtime.pulls == ["app:1"]  # one image, pulled once
    for name in ("db", "web", "proxy"):
        reported = container(running, name)
        assert reported["lastStatus"] == "RUNNING"
        assert reported["runtimeId"] == h.runtime_id(name)
        assert reported["imageDigest"].startswith("sha256:")
        assert h.spec(name).name == docker_name("demo", 1, name, ARN)
    assert h.named("start") == ["db", "web", "proxy"]  # dependency order
    assert "stopCode" not in running

    runner.update(stopped(item))
    final = await h.reporter.wait_status("STOPPED")
    assert h.reporter.statuses() == ["PENDING", "RUNNING", "STOPPING", "STOPPED"]
    assert h.named("die") == ["proxy", "web", "db"]  # reverse dependency order
    assert all(c["lastStatus"] == "STOPPED" and c["exitCode"] == 143 for c in final["containers"])
    assert "stopCode" not in final  # a user stop: the control plane has the stop code
    assert final["executionStoppedAt"] == h.clock.now()
    assert len(h.runtime.containers) == 3  # kept for the cleanup wait
    stopped_at = h.clock.now()

    await finish(runner)
    assert h.clock.now() - stopped_at >= 3 * 3600  # ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION
    assert h.runtime.containers == {}
    assert h.reporter.last["lastStatus"] == "STOPPED"


async def test_cleanup_wait_is_configurable(h: Harness) -> None:
    item = work_item([{"name": "app"}], desired="RUNNING")
    runner = h.runner(item, cleanup_wait=60)
    h.start(runner)
    await h.reporter.wait_status("RUNNING")
    runner.update(stopped(item))
    await h.reporter.wait_status("STOPPED")
    stopped_at = h.clock.now()
    await finish(runner)
    assert 60 <= h.clock.now() - stopped_at < 61


# -- failures before RUNNING ---------------------------------------------------------------------


async def test_pull_failure_stops_the_task_before_creating_anything(h: Harness) -> None:
    h.runtime.script(Behaviour(pull_error=ImageNotFound("manifest for nope:1 not found")), image="nope:1")
    runner = h.runner(work_item([{"name": "app", "image": "nope:1"}, {"name": "side", "essential": False}]))
    h.start(runner)
    final = await h.reporter.wait_status("STOPPED")
    assert final["stopCode"] == "TaskFailedToStart"
    assert final["stoppedReason"] == "CannotPullContainerError: manifest for nope:1 not found"
    assert container(final, "app")["reason"] == final["stoppedReason"]
    assert "reason" not in container(final, "side")
    assert "startedAt" not in final and "exitCode" not in container(final, "app")
    assert h.named("create") == []
    assert h.reporter.statuses() == ["PENDING", "STOPPING", "STOPPED"]


async def test_create_failure_of_an_essential_container(h: Harness) -> None:
    item = work_item([{"name": "app"}])
    h.runtime.add_image("app:1")
    await h.runtime.create(ContainerSpec(name=docker_name("demo", 1, "app", ARN), image="app:1"))
    h.start(h.runner(item))
    final = await h.reporter.wait_status("STOPPED")
    assert final["stopCode"] == "TaskFailedToStart"
    assert final["stoppedReason"].startswith("CannotCreateContainerError: Conflict. The container name")
    assert container(final, "app")["reason"] == final["stoppedReason"]
    assert "exitCode" not in container(final, "app")


async def test_create_failure_of_a_non_essential_container_leaves_the_task_running(h: Harness) -> None:
    item = work_item([{"name": "app"}, {"name": "extra", "essential": False}])
    h.runtime.add_image("app:1")
    await h.runtime.create(ContainerSpec(name=docker_name("demo", 1, "extra", ARN), image="app:1"))
    h.start(h.runner(item))
    running = await h.reporter.wait_status("RUNNING")
    extra = container(running, "extra")
    assert extra["lastStatus"] == "STOPPED" and extra["reason"].startswith("CannotCreateContainerError:")
    assert container(running, "app")["lastStatus"] == "RUNNING"


async def test_start_failure_reports_cannot_start_container_error(h: Harness) -> None:
    error = 'OCI runtime create failed: exec: "nope": executable file not found in $PATH'
    h.runtime.script(Behaviour(start_error=error), image="broken:1")
    h.start(h.runner(work_item([{"name": "app", "image": "broken:1"}, {"name": "side"}])))
    final = await h.reporter.wait_status("STOPPED")
    assert final["stopCode"] == "TaskFailedToStart"
    assert final["stoppedReason"] == f"CannotStartContainerError: {error}"
    app = container(final, "app")
    assert app["reason"] == final["stoppedReason"] and "exitCode" not in app  # it never ran
    assert app["runtimeId"]  # it was created


async def test_host_port_exhaustion_fails_the_task(h: Harness) -> None:
    h.ports = HostPortAllocator("127.0.0.1", port_range=(45001, 45001), reserved=())
    h.ports.mark_used([45001])
    h.start(h.runner(work_item([{"name": "web", "portMappings": [{"containerPort": 80}]}])))
    final = await h.reporter.wait_status("STOPPED")
    assert final["stopCode"] == "TaskFailedToStart"
    assert final["stoppedReason"] == "ResourceInitializationError: a host port is unavailable"
    assert h.named("create") == []


# -- exits while running -------------------------------------------------------------------------


async def test_essential_container_exit_stops_the_others(h: Harness) -> None:
    h.runtime.script(Behaviour(exit_after=5, exit_code=3), image="crash:1")
    item = work_item([{"name": "main", "image": "crash:1"}, {"name": "helper", "essential": False}])
    h.start(h.runner(item))
    final = await h.reporter.wait_status("STOPPED")
    assert final["stopCode"] == "EssentialContainerExited"
    assert final["stoppedReason"] == "Essential container in task exited"
    assert container(final, "main")["exitCode"] == 3
    assert container(final, "helper")["exitCode"] == 143
    assert h.reporter.statuses() == ["PENDING", "RUNNING", "STOPPING", "STOPPED"]
    assert h.named("die") == ["main", "helper"]


async def test_non_essential_container_exit_keeps_the_task_running(h: Harness) -> None:
    h.runtime.script(Behaviour(exit_after=2, exit_code=0), image="job:1")
    item = work_item([{"name": "app"}, {"name": "job", "image": "job:1", "essential": False}])
    runner = h.runner(item)
    h.start(runner)
    report = await h.reporter.wait_for(lambda r: container(r, "job")["lastStatus"] == "STOPPED")
    assert report["lastStatus"] == "RUNNING" and "stopCode" not in report
    assert container(report, "job")["exitCode"] == 0
    for _ in range(50):
        await asyncio.sleep(0)
    assert not runner.finished.is_set() and h.reporter.last["lastStatus"] == "RUNNING"
    runner.update(stopped(item))
    final = await h.reporter.wait_status("STOPPED")
    assert container(final, "job")["exitCode"] == 0 and container(final, "app")["exitCode"] == 143


async def test_out_of_memory_reason(h: Harness) -> None:
    h.runtime.script(Behaviour(oom_after=3), image="hog:1")
    h.start(h.runner(work_item([{"name": "hog", "image": "hog:1", "memory": 64}])))
    final = await h.reporter.wait_status("STOPPED")
    hog = container(final, "hog")
    assert hog["reason"] == OOM_REASON == "OutOfMemoryError: Container killed due to memory usage"
    assert hog["exitCode"] == 137
    assert final["stopCode"] == "EssentialContainerExited"


async def test_stop_timeout_is_honoured_when_sigterm_is_ignored(h: Harness) -> None:
    h.runtime.script(Behaviour(ignore_sigterm=True), image="stubborn:1")
    item = work_item(
        [{"name": "stubborn", "image": "stubborn:1", "stopTimeout": 7}, {"name": "polite", "stopTimeout": 7}]
    )
    runner = h.runner(item)
    h.start(runner)
    await h.reporter.wait_status("RUNNING")
    asked = h.clock.now()
    runner.update(stopped(item))
    final = await h.reporter.wait_status("STOPPED")
    assert container(final, "stubborn")["exitCode"] == 137  # SIGKILL after the timeout
    assert container(final, "polite")["exitCode"] == 143
    assert h.clock.now() - asked == 7
    assert h.runtime.spec_of(container(final, "stubborn")["runtimeId"]).stop_timeout == 7


async def test_default_stop_timeout_comes_from_the_agent(h: Harness) -> None:
    h.runtime.script(Behaviour(ignore_sigterm=True), image="stubborn:1")
    item = work_item([{"name": "stubborn", "image": "stubborn:1"}])
    runner = h.runner(item)
    h.start(runner)
    await h.reporter.wait_status("RUNNING")
    asked = h.clock.now()
    runner.update(stopped(item))
    await h.reporter.wait_status("STOPPED")
    assert h.clock.now() - asked == 30  # ECS_CONTAINER_STOP_TIMEOUT default


# -- dependsOn -----------------------------------------------------------------------------------


async def test_depends_on_complete_waits_for_the_exit(h: Harness) -> None:
    h.runtime.script(Behaviour(exit_after=4, exit_code=1), image="init:1")
    item = work_item(
        [
            {"name": "init", "image": "init:1", "essential": False},
            {"name": "app", "dependsOn": [{"containerName": "init", "condition": "COMPLETE"}]},
        ]
    )
    h.start(h.runner(item))
    running = await h.reporter.wait_status("RUNNING")
    assert container(running, "init")["exitCode"] == 1
    assert h.named("die") == ["init"] and h.named("start") == ["init", "app"]
    app = h.runtime.containers[container(running, "app")["runtimeId"]]
    init = h.runtime.containers[container(running, "init")["runtimeId"]]
    assert app.started_at is not None and init.finished_at is not None
    assert app.started_at >= init.finished_at == init.created_at + 4


async def test_depends_on_success_starts_after_a_zero_exit(h: Harness) -> None:
    h.runtime.script(Behaviour(exit_after=2, exit_code=0), image="migrate:1")
    item = work_item(
        [
            {"name": "migrate", "image": "migrate:1", "essential": False},
            {"name": "app", "dependsOn": [{"containerName": "migrate", "condition": "SUCCESS"}]},
        ]
    )
    h.start(h.runner(item))
    running = await h.reporter.wait_status("RUNNING")
    assert container(running, "app")["lastStatus"] == "RUNNING"


async def test_depends_on_success_with_a_non_zero_exit_never_starts_the_dependent(h: Harness) -> None:
    h.runtime.script(Behaviour(exit_after=2, exit_code=2), image="migrate:1")
    item = work_item(
        [
            {"name": "migrate", "image": "migrate:1", "essential": False},
            {"name": "app", "dependsOn": [{"containerName": "migrate", "condition": "SUCCESS"}]},
        ]
    )
    h.start(h.runner(item))
    final = await h.reporter.wait_status("STOPPED")
    app = container(final, "app")
    assert app["lastStatus"] == "STOPPED" and "runtimeId" not in app
    assert app["exitCode"] == 143  # what the ECS agent reports for a container it gave up on
    assert app["reason"] == (
        "CannotStartContainerError: dependency graph: failed to resolve container ordering dependency "
        "migrate for target app as dependency did not exit successfully"
    )
    assert final["stopCode"] == "TaskFailedToStart" and final["stoppedReason"] == app["reason"]
    assert container(final, "migrate")["exitCode"] == 2
    assert h.named("create") == ["migrate"]
    assert "startedAt" not in final


async def test_depends_on_healthy_waits_for_the_health_check(h: Harness) -> None:
    h.runtime.script(Behaviour(health_after=12), image="db:1")
    item = work_item(
        [
            {"name": "db", "image": "db:1", "healthCheck": {"command": ["CMD", "true"], "interval": 5}},
            {"name": "app", "dependsOn": [{"containerName": "db", "condition": "HEALTHY"}]},
        ]
    )
    h.start(h.runner(item))
    running = await h.reporter.wait_status("RUNNING")
    assert container(running, "db")["healthStatus"] == "HEALTHY"
    db = h.runtime.containers[container(running, "db")["runtimeId"]]
    app = h.runtime.containers[container(running, "app")["runtimeId"]]
    assert db.started_at is not None and app.started_at == db.started_at + 12


async def test_start_timeout_expiring_stops_the_task_and_the_dependent_never_starts(h: Harness) -> None:
    h.runtime.script(Behaviour(health="unhealthy", health_after=1), image="db:1")
    item = work_item(
        [
            {
                "name": "db",
                "image": "db:1",
                "startTimeout": 10,
                "healthCheck": {"command": ["CMD", "false"], "interval": 5},
            },
            {"name": "app", "dependsOn": [{"containerName": "db", "condition": "HEALTHY"}]},
        ]
    )
    h.start(h.runner(item))
    final = await h.reporter.wait_status("STOPPED")
    db = h.runtime.containers[container(final, "db")["runtimeId"]]
    app = container(final, "app")
    assert "runtimeId" not in app and h.named("create") == ["db"]
    assert app["reason"].startswith(
        "CannotStartContainerError: dependency graph: "
        "container ordering dependency db for target app has timed out"
    )
    assert final["stopCode"] == "TaskFailedToStart"
    assert db.started_at is not None and db.finished_at == db.started_at + 10  # stopped at the timeout
    assert container(final, "db")["healthStatus"] == "UNHEALTHY"


async def test_start_timeout_counts_from_the_dependency_start(h: Harness) -> None:
    # b waits 8 s for a to finish, then c waits for b: b's 5 s timeout starts when b starts, not at launch.
    h.runtime.script(Behaviour(exit_after=8), image="a:1")
    h.runtime.script(Behaviour(health_after=4), image="b:1")
    item = work_item(
        [
            {"name": "a", "image": "a:1", "essential": False},
            {
                "name": "b",
                "image": "b:1",
                "startTimeout": 5,
                "healthCheck": {"command": ["CMD", "true"], "interval": 2},
                "dependsOn": [{"containerName": "a", "condition": "SUCCESS"}],
            },
            {"name": "c", "dependsOn": [{"containerName": "b", "condition": "HEALTHY"}]},
        ]
    )
    h.start(h.runner(item))
    running = await h.reporter.wait_status("RUNNING")
    assert container(running, "c")["lastStatus"] == "RUNNING"


async def test_an_essential_exit_interrupts_containers_waiting_on_dependencies(h: Harness) -> None:
    h.runtime.script(Behaviour(exit_after=3, exit_code=1), image="main:1")
    h.runtime.script(Behaviour(health="unhealthy", health_after=1), image="db:1")
    item = work_item(
        [
            {"name": "main", "image": "main:1"},
            {"name": "db", "image": "db:1", "healthCheck": {"command": ["CMD", "false"], "interval": 1}},
            {"name": "app", "dependsOn": [{"containerName": "db", "condition": "HEALTHY"}]},
        ]
    )
    h.start(h.runner(item))
    final = await h.reporter.wait_status("STOPPED")
    assert final["stopCode"] == "EssentialContainerExited"
    assert "runtimeId" not in container(final, "app") and "exitCode" not in container(final, "app")


# -- awsvpc, host ports, storage -----------------------------------------------------------------


async def test_awsvpc_task_reports_deprovisioning_while_its_network_is_released(h: Harness) -> None:
    item = work_item(
        [{"name": "app"}, {"name": "side", "essential": False}],
        launch_type="FARGATE",
        cpu="256",
        memory="512",
    )
    runner = h.runner(item)
    h.start(runner)
    running = await h.reporter.wait_status("RUNNING")
    assert PAUSE in h.reporter.engine[-1]
    assert "runtimeId" not in [c for c in running["containers"] if c["name"] == PAUSE]
    runner.update(stopped(item))
    await h.reporter.wait_status("STOPPED")
    assert h.reporter.statuses() == ["PENDING", "RUNNING", "STOPPING", "DEPROVISIONING", "STOPPED"]
    statuses = [r["lastStatus"] for r in h.reporter.reports]
    assert PAUSE in h.reporter.engine[statuses.index("DEPROVISIONING")]  # reported before the release
    assert PAUSE not in h.reporter.engine[statuses.index("STOPPED")]
    assert container(h.reporter.first("DEPROVISIONING"), "app")["lastStatus"] == "STOPPED"


async def test_a_single_container_awsvpc_task_needs_no_pause_container(h: Harness) -> None:
    item = work_item([{"name": "app"}], launch_type="FARGATE", cpu="256", memory="512")
    runner = h.runner(item)
    h.start(runner)
    await h.reporter.wait_status("RUNNING")
    assert PAUSE not in h.reporter.engine[-1]
    runner.update(stopped(item))
    await h.reporter.wait_status("STOPPED")
    assert h.reporter.statuses() == ["PENDING", "RUNNING", "STOPPING", "DEPROVISIONING", "STOPPED"]


async def test_bridge_task_has_no_deprovisioning(h: Harness) -> None:
    item = work_item([{"name": "app"}])
    runner = h.runner(item)
    h.start(runner)
    await h.reporter.wait_status("RUNNING")
    runner.update(stopped(item))
    await h.reporter.wait_status("STOPPED")
    assert "DEPROVISIONING" not in h.reporter.statuses()


async def test_dynamic_host_ports_are_released_when_the_task_stops(h: Harness) -> None:
    h.ports = HostPortAllocator("127.0.0.1", port_range=(45100, 45199), reserved=())
    item = work_item(
        [
            {
                "name": "web",
                "portMappings": [
                    {"containerPort": 80},
                    {"containerPortRange": "9000-9003", "protocol": "udp"},
                ],
            }
        ]
    )
    runner = h.runner(item)
    h.start(runner)
    running = await h.reporter.wait_status("RUNNING")
    web, block = container(running, "web")["networkBindings"]  # ports the host's own probes found free
    assert web["bindIP"] == "127.0.0.1" and web["containerPort"] == 80 and web["protocol"] == "tcp"
    first, last = (int(port) for port in block["hostPortRange"].split("-"))
    assert block["containerPortRange"] == "9000-9003" and last - first == 3 and block["protocol"] == "udp"
    assert h.ports.in_use("tcp") == {web["hostPort"]}
    assert h.ports.in_use("udp") == set(range(first, last + 1))  # the whole block is held
    assert sorted(runner.record.host_ports.values()) == sorted([web["hostPort"], first])
    runner.update(stopped(item))
    await h.reporter.wait_status("STOPPED")
    assert h.ports.in_use("tcp") == set() and h.ports.in_use("udp") == set()
    assert runner.record.host_ports == {}


async def test_fargate_task_directories_live_on_its_ephemeral_storage(h: Harness) -> None:
    item = work_item(
        [{"name": "app", "mountPoints": [{"sourceVolume": "scratch", "containerPath": "/scratch"}]}],
        launch_type="FARGATE",
        volumes=[{"name": "scratch", "host": {}}],
        overrides={"ephemeralStorage": {"sizeInGiB": 30}},
        ephemeralStorage={"sizeInGiB": 21},
    )
    runner = h.runner(item)
    h.start(runner)
    await h.reporter.wait_status("RUNNING")
    root = h.tmp / "tasks" / TASK_ID
    source = root / "volumes" / "scratch"
    assert source.is_dir()
    assert [m.source for m in h.spec("app").mounts] == [str(source)]
    (source / "data").write_bytes(b"x" * (3 << 20))
    utilized, reserved = runner.ephemeral_storage_metrics() or (0, 0)
    assert reserved == 30 * 1024 and utilized >= 3  # the override wins over the task definition
    assert runner.volumes is not None and runner.volumes.storage is not None
    assert runner.volumes.storage.enforced is False  # loop_storage off: a plain directory here
    runner.update(stopped(item))
    await finish(runner)
    assert not root.exists()


async def test_ec2_tasks_have_no_ephemeral_storage_metrics(h: Harness) -> None:
    item = work_item([{"name": "app"}], volumes=[{"name": "scratch", "host": {}}])
    runner = h.runner(item)
    h.start(runner)
    await h.reporter.wait_status("RUNNING")
    assert runner.ephemeral_storage_metrics() is None
    assert (h.tmp / "tasks" / TASK_ID / "volumes" / "scratch").is_dir()
    runner.forget()
    await finish(runner)
    assert not (h.tmp / "tasks" / TASK_ID).exists()


async def test_task_scoped_docker_volume_is_created_and_removed(h: Harness) -> None:
    item = work_item(
        [{"name": "app", "mountPoints": [{"sourceVolume": "cache", "containerPath": "/cache"}]}],
        volumes=[{"name": "cache", "dockerVolumeConfiguration": {"scope": "task", "labels": {"a": "b"}}}],
    )
    runner = h.runner(item, cleanup_wait=10)
    h.start(runner)
    await h.reporter.wait_status("RUNNING")
    name = docker_name("demo", 1, "cache", ARN)
    assert h.runtime.volumes == {name: {"a": "b"}}
    runner.update(stopped(item))
    await finish(runner)
    assert h.runtime.volumes == {}


async def test_missing_shared_volume_fails_the_task(h: Harness) -> None:
    item = work_item(
        [{"name": "app", "mountPoints": [{"sourceVolume": "data", "containerPath": "/data"}]}],
        volumes=[{"name": "data", "dockerVolumeConfiguration": {"scope": "shared"}}],
    )
    h.start(h.runner(item))
    final = await h.reporter.wait_status("STOPPED")
    assert final["stoppedReason"] == (
        "ResourceInitializationError: initialize volume: volume detection failed, volume 'data' does not "
        "exist and autoprovision is set to false"
    )
    assert container(final, "app")["reason"] == final["stoppedReason"]


# -- restarts and forgetting ---------------------------------------------------------------------


async def restart(h: Harness, runner: TaskRunner, task: asyncio.Task[None]) -> TaskRunner:
    """Cancel the runner as an agent shutdown does, and start a new one on the same record."""
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    again = TaskRunner(runner.item, runner.record, h.config(str(runner.item.get("launchType", "EC2"))))
    h.start(again)
    return again


async def test_restart_adopts_running_containers_instead_of_recreating_them(h: Harness) -> None:
    item = work_item(
        [{"name": "db"}, {"name": "web", "dependsOn": [{"containerName": "db", "condition": "START"}]}]
    )
    runner = h.runner(item)
    task = h.start(runner)
    before = await h.reporter.wait_status("RUNNING")
    ids = {c["name"]: c["runtimeId"] for c in before["containers"]}
    count = len(h.reporter.reports)

    again = await restart(h, runner, task)
    after = await h.reporter.wait_for(
        lambda r: len(h.reporter.reports) > count and r["lastStatus"] == "RUNNING"
    )
    assert {c["name"]: c["runtimeId"] for c in after["containers"]} == ids
    assert len(h.named("create")) == 2 and len(h.named("start")) == 2  # nothing recreated or restarted
    assert h.runtime.pulls == ["app:1"]  # nothing pulled again
    for name in ("pullStartedAt", "pullStoppedAt", "startedAt"):
        assert after[name] == before[name]

    again.update(stopped(item))  # the adopted containers are watched and stopped as usual
    final = await h.reporter.wait_status("STOPPED")
    assert h.named("die") == ["web", "db"]
    assert all(c["exitCode"] == 143 for c in final["containers"])


async def test_restart_reports_a_container_that_exited_while_the_agent_was_down(h: Harness) -> None:
    item = work_item([{"name": "web"}, {"name": "side", "essential": False}])
    runner = h.runner(item)
    task = h.start(runner)
    await h.reporter.wait_status("RUNNING")
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await h.runtime.kill(h.runtime_id("web"))

    again = TaskRunner(item, runner.record, h.config())
    h.start(again)
    final = await h.reporter.wait_status("STOPPED")
    assert final["stopCode"] == "EssentialContainerExited"
    assert container(final, "web")["exitCode"] == 137
    assert container(final, "side")["exitCode"] == 143
    assert len(h.named("create")) == 2


async def test_restart_starts_a_container_that_was_created_but_not_started(h: Harness) -> None:
    item = work_item([{"name": "app"}])
    h.runtime.add_image("app:1")
    created = await h.runtime.create(
        ContainerSpec(
            name=docker_name("demo", 1, "app", ARN), image="app:1", labels={LABEL_CONTAINER_NAME: "app"}
        )
    )
    record = TaskRecord(task_arn=ARN, endpoint_id=TASK_ID, containers={"app": created}, item=item)
    h.start(h.runner(item, record))
    running = await h.reporter.wait_status("RUNNING")
    assert container(running, "app")["runtimeId"] == created
    assert h.runtime.containers[created].status == "running" and len(h.runtime.containers) == 1


async def test_restart_during_the_cleanup_wait_reports_stopped_again_and_cleans_up(h: Harness) -> None:
    item = work_item([{"name": "app"}])
    runner = h.runner(item, cleanup_wait=100)
    task = h.start(runner)
    await h.reporter.wait_status("RUNNING")
    runner.update(stopped(item))
    final = await h.reporter.wait_status("STOPPED")
    assert runner.record.stopped_at is not None
    count = len(h.reporter.reports)
    again = await restart(h, runner, task)
    await finish(again)
    assert h.reporter.reports[count:] == [final]  # the same STOPPED snapshot again, nothing else
    assert h.runtime.containers == {}
    assert again.status.last_status == "STOPPED"  # restored for the metadata endpoint


async def test_forget_stops_and_cleans_up_without_reporting(h: Harness) -> None:
    h.runtime.script(Behaviour(ignore_sigterm=True), image="stubborn:1")
    item = work_item([{"name": "app", "image": "stubborn:1", "stopTimeout": 3}])
    runner = h.runner(item)
    h.start(runner)
    await h.reporter.wait_status("RUNNING")
    count = len(h.reporter.reports)
    asked = h.clock.now()
    runner.forget()
    await finish(runner)
    assert len(h.reporter.reports) == count  # the control plane does not know the task any more
    assert h.named("die") == ["app"] and h.clock.now() - asked == 3  # stopped with its stop timeout
    assert h.runtime.containers == {}  # no cleanup wait


async def test_stop_requested_before_launch_creates_nothing(h: Harness) -> None:
    h.start(h.runner(work_item([{"name": "app"}], desired="STOPPED")))
    final = await h.reporter.wait_status("STOPPED")
    assert h.named("create") == [] and h.runtime.pulls == []
    assert h.reporter.statuses() == ["STOPPED"]
    assert final["containers"][0]["lastStatus"] == "STOPPED"
