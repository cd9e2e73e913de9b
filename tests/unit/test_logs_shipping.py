"""awslogs in the task runner: FakeRuntime containers, an in-memory CloudWatch Logs, virtual time.

What a user of ECS would see: lines in the stream ECS names, the task failing the way ECS fails
it when the group is missing, retries that neither lose nor repeat a line, and an agent restart
that resumes where it left off.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from dockyard.agent.client import ApiError
from dockyard.agent.plan import HostContext
from dockyard.agent.ports import HostPortAllocator
from dockyard.agent.runner import RunnerConfig, TaskRunner
from dockyard.agent.signal import Signal
from dockyard.agent.specs import LABEL_CONTAINER_NAME
from dockyard.agent.state import TaskRecord
from dockyard.agent.task_logs import LOCAL_CACHE
from dockyard.agent.timers import wait_until
from dockyard.testing.autojump_clock import AutojumpClock
from dockyard.testing.fake_runtime import Behaviour, FakeRuntime

ARN = "arn:aws:ecs:us-east-1:123456789012:task/demo/0123456789abcdef0123456789abcdef"
TASK_ID = ARN.rsplit("/", 1)[1]
STREAM = f"ecs/web/{TASK_ID}"
REAL_TIMEOUT = 5.0
EXISTS = "ResourceAlreadyExistsException"
NO_GROUP = "ResourceNotFoundException: The specified log group does not exist."


class FakeLogs:
    """CloudWatch Logs as the agent sees it: the calls it makes and the events it stored."""

    def __init__(self) -> None:
        self.groups: dict[str, dict[str, list[tuple[int, str]]]] = {}
        self.calls: list[str] = []
        self.failures: list[Exception] = []  # raised by the next PutLogEvents calls, in order
        self.changed = Signal()

    async def call(
        self, service: str, target: str, operation: str, params: dict[str, Any], region: str | None = None
    ) -> dict[str, Any]:
        assert (service, target) == ("logs", "Logs_20140328")
        self.calls.append(operation)
        group = params["logGroupName"]
        if operation == "CreateLogGroup":
            if group in self.groups:
                raise ApiError(EXISTS, "The specified log group already exists", 400)
            self.groups[group] = {}
            return {}
        if group not in self.groups:
            raise ApiError("ResourceNotFoundException", "The specified log group does not exist.", 400)
        streams = self.groups[group]
        if operation == "CreateLogStream":
            if params["logStreamName"] in streams:
                raise ApiError(EXISTS, "The specified log stream already exists", 400)
            streams[params["logStreamName"]] = []
            return {}
        assert operation == "PutLogEvents"
        if self.failures:
            raise self.failures.pop(0)
        events = params["logEvents"]
        assert [e["timestamp"] for e in events] == sorted(e["timestamp"] for e in events)
        streams[params["logStreamName"]] += [(e["timestamp"], e["message"]) for e in events]
        self.changed.notify()
        return {"nextSequenceToken": "1"}

    def messages(self, group: str = "/ecs/demo", stream: str = STREAM) -> list[str]:
        return [m for _, m in self.groups.get(group, {}).get(stream, [])]


@dataclass
class Harness:
    tmp: Path
    clock: AutojumpClock
    runtime: FakeRuntime
    logs: FakeLogs
    reports: list[dict[str, Any]] = field(default_factory=list)
    changed: Signal = field(default_factory=Signal)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def submit(self, report: dict[str, Any]) -> asyncio.Future[None]:
        self.reports.append({**copy.deepcopy(report), "_shipped": list(self.logs.messages())})
        self.changed.notify()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future

    def runner(self, item: dict[str, Any], record: TaskRecord | None = None) -> TaskRunner:
        launch_type = str(item["launchType"])
        host = (
            HostContext(launch_type="FARGATE", region="us-east-1", data_dir=str(self.tmp))
            if launch_type == "FARGATE"
            else HostContext(
                launch_type="EC2",
                region="us-east-1",
                data_dir=str(self.tmp),
                cluster="demo",
                host_address="127.0.0.1",
                available_log_drivers=("json-file", "awslogs"),
            )
        )
        config = RunnerConfig(
            host=host,
            runtime=self.runtime,
            reporter=self,
            clock=self.clock,
            save_state=lambda: None,
            pause_image="pause:1",
            ports=None if launch_type == "FARGATE" else HostPortAllocator("127.0.0.1"),
            loop_storage=False,
            cleanup_wait=60.0,
            aws=self.logs,
        )
        record = record or TaskRecord(task_arn=ARN, endpoint_id=TASK_ID, item=item)
        runner = TaskRunner(item, record, config)
        self.tasks.append(asyncio.create_task(runner.run()))
        return runner

    async def until(self, condition: Callable[[], bool], signal: Signal | None = None) -> None:
        ok = await asyncio.wait_for(wait_until(signal or self.changed, condition), REAL_TIMEOUT)
        assert ok

    async def status(self, status: str) -> dict[str, Any]:
        await self.until(lambda: any(r["lastStatus"] == status for r in self.reports))
        return next(r for r in self.reports if r["lastStatus"] == status)

    def container_id(self, name: str = "web") -> str:
        return next(
            c.id for c in self.runtime.containers.values() if c.spec.labels.get(LABEL_CONTAINER_NAME) == name
        )


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    clock = AutojumpClock()
    runtime = FakeRuntime(clock=clock)
    runtime.add_image("pause:1", "app:1")
    await runtime.ensure_network("dockyard-vpc", subnet="10.213.0.0/16", gateway="10.213.0.1", labels={})
    harness = Harness(tmp_path, clock, runtime, FakeLogs())
    yield harness
    for task in harness.tasks:
        task.cancel()
    await asyncio.gather(*harness.tasks, return_exceptions=True)
    await runtime.close()
    await clock.close()


def work_item(options: dict[str, str], *, launch_type: str = "EC2") -> dict[str, Any]:
    log = {"logDriver": "awslogs", "options": {"awslogs-region": "us-east-1", **options}}
    item: dict[str, Any] = {
        "taskArn": ARN,
        "clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/demo",
        "region": "us-east-1",
        "desiredStatus": "RUNNING",
        "launchType": launch_type,
        "taskDefinition": {
            "family": "demo",
            "revision": 1,
            "networkMode": "awsvpc" if launch_type == "FARGATE" else "bridge",
            "containerDefinitions": [{"name": "web", "image": "app:1", "logConfiguration": log}],
            "volumes": [],
        },
        "overrides": {},
        "containers": [{"name": "web", "containerArn": "arn:container/web"}],
    }
    if launch_type == "FARGATE":
        item["network"] = {
            "privateIpv4Address": "10.213.0.5",
            "subnetCidr": "10.213.0.0/16",
            "gateway": "10.213.0.1",
        }
    return item


OPTIONS = {"awslogs-group": "/ecs/demo", "awslogs-stream-prefix": "ecs"}


async def test_lines_reach_the_stream_ecs_names_before_the_task_reports_stopped(h: Harness) -> None:
    h.logs.groups["/ecs/demo"] = {}
    h.runtime.script(Behaviour(output=(b"hello", b"", b"world"), exit_after=1.0), image="app:1")
    runner = h.runner(work_item(OPTIONS))
    stopped = await h.status("STOPPED")
    cursor = h.tmp / "awslogs" / f"{h.container_id()}.json"
    assert cursor.exists()
    assert h.logs.messages() == ["hello", "world"]  # the empty line is not an event
    assert stopped["_shipped"] == ["hello", "world"]  # sent before STOPPED was reported
    assert stopped["stopCode"] == "EssentialContainerExited"
    spec = next(iter(h.runtime.containers.values())).spec
    assert (spec.log_driver, dict(spec.log_options)) == ("json-file", LOCAL_CACHE)
    assert h.logs.calls[0] == "CreateLogStream"
    await asyncio.wait_for(runner.finished.wait(), REAL_TIMEOUT)  # after the cleanup wait
    assert not h.runtime.containers and not cursor.exists()


async def test_without_a_prefix_the_stream_is_the_container_id(h: Harness) -> None:
    h.logs.groups["/ecs/demo"] = {}
    h.runtime.script(Behaviour(output=(b"x",), exit_after=1.0), image="app:1")
    h.runner(work_item({"awslogs-group": "/ecs/demo"}))
    await h.status("STOPPED")
    assert h.logs.messages(stream=h.container_id()) == ["x"]


@pytest.mark.parametrize(
    ("launch_type", "reason"),
    [
        (
            "EC2",
            "CannotStartContainerError: Error response from daemon: failed to initialize logging driver: "
            f"failed to create Cloudwatch log stream: {NO_GROUP}",
        ),
        (
            "FARGATE",
            "ResourceInitializationError: failed to validate logger args: create stream has been retried "
            f"1 times: failed to create Cloudwatch log stream: {NO_GROUP} : exit status 1",
        ),
    ],
)
async def test_a_missing_group_fails_the_task_as_ecs_does(h: Harness, launch_type: str, reason: str) -> None:
    h.runner(work_item(OPTIONS, launch_type=launch_type))
    stopped = await h.status("STOPPED")
    assert (stopped["stopCode"], stopped["stoppedReason"]) == ("TaskFailedToStart", reason)
    web = stopped["containers"][0]
    assert web["reason"] == reason and "exitCode" not in web
    assert h.runtime.containers and not any(c.started_at for c in h.runtime.containers.values())


async def test_create_group_makes_the_group(h: Harness) -> None:
    h.runtime.script(Behaviour(output=(b"made it",), exit_after=1.0), image="app:1")
    h.runner(work_item({**OPTIONS, "awslogs-create-group": "true"}))
    await h.status("STOPPED")
    assert h.logs.calls[:3] == ["CreateLogStream", "CreateLogGroup", "CreateLogStream"]
    assert h.logs.messages() == ["made it"]


async def test_bad_options_fail_the_container_at_creation(h: Harness) -> None:
    h.runner(work_item({**OPTIONS, "mode": "sometimes"}))
    stopped = await h.status("STOPPED")
    expected = "CannotCreateContainerError: logger: logging mode not supported: sometimes"
    assert stopped["stoppedReason"] == expected


async def test_failed_puts_are_retried_without_losing_or_repeating_lines(h: Harness) -> None:
    import aiohttp

    h.logs.groups["/ecs/demo"] = {}
    h.logs.failures = [
        ApiError("ServiceUnavailableException", "busy", 503),
        aiohttp.ClientConnectionError("connection refused"),
        ApiError("ThrottlingException", "slow down", 400),
    ]
    lines = tuple(f"line {i}".encode() for i in range(50))
    h.runtime.script(Behaviour(output=lines, exit_after=1.0), image="app:1")
    h.runner(work_item(OPTIONS))
    await h.status("STOPPED")
    assert h.logs.messages() == [f"line {i}" for i in range(50)]
    assert h.logs.calls.count("PutLogEvents") == 4


async def test_an_agent_restart_resumes_where_shipping_stopped(h: Harness) -> None:
    h.logs.groups["/ecs/demo"] = {}
    h.runtime.script(Behaviour(output=(b"first", b"second")), image="app:1")
    runner = h.runner(work_item(OPTIONS))
    await h.status("RUNNING")
    await h.until(lambda: h.logs.messages() == ["first", "second"], h.logs.changed)
    record = runner.record
    h.tasks[-1].cancel()  # the agent stops; the container runs on
    await asyncio.gather(h.tasks[-1], return_exceptions=True)
    h.runtime.write_log(h.container_id(), b"while away")
    h.runner(copy.deepcopy(record.item), record)  # the agent starts again and adopts the task
    await h.until(lambda: len(h.logs.messages()) >= 3, h.logs.changed)
    h.runtime.write_log(h.container_id(), b"after")
    await h.until(lambda: len(h.logs.messages()) >= 4, h.logs.changed)
    assert h.logs.messages() == ["first", "second", "while away", "after"]
    assert (h.tmp / "awslogs" / f"{h.container_id()}.json").exists()


async def test_non_blocking_mode_drops_lines_when_its_buffer_is_full(h: Harness) -> None:
    h.logs.groups["/ecs/demo"] = {}
    h.logs.failures = [ApiError("ServiceUnavailableException", "down", 503)] * 3
    lines = tuple(f"{i:03d}".encode() for i in range(100))  # 29 bytes each as events
    h.runtime.script(Behaviour(output=lines, exit_after=1.0), image="app:1")
    h.runner(work_item({**OPTIONS, "mode": "non-blocking", "max-buffer-size": "300"}))
    await h.status("STOPPED")
    shipped = h.logs.messages()
    assert 0 < len(shipped) < 100 and shipped == sorted(shipped)


async def test_blocking_mode_keeps_every_line(h: Harness) -> None:
    h.logs.groups["/ecs/demo"] = {}
    h.logs.failures = [ApiError("ServiceUnavailableException", "down", 503)] * 3
    lines = tuple(f"{i:03d}".encode() for i in range(100))
    h.runtime.script(Behaviour(output=lines, exit_after=1.0), image="app:1")
    h.runner(work_item({**OPTIONS, "mode": "blocking", "awslogs-max-buffered-events": "10"}))
    await h.status("STOPPED")
    assert h.logs.messages() == [line.decode() for line in lines]
