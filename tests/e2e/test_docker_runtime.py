"""DockerRuntime against the real engine: lifecycle, stop semantics, health, ports, networks,
volumes, resources, logs, pulls, listing and events."""

from __future__ import annotations

import asyncio
import random
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Sequence
from contextlib import aclosing
from pathlib import Path
from typing import Any

import pytest

from dockyard.agent.runtime.docker import DockerRuntime
from dockyard.agent.runtime.protocol import (
    ContainerNotFound,
    ContainerSpec,
    HealthCheck,
    ImageNotFound,
    Mount,
    PortBinding,
    PortInUse,
    RuntimeError_,
    RuntimeEvent,
)
from dockyard.images import ensure_image

pytestmark = pytest.mark.docker

HTTPD = ("sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www")


@pytest.fixture
async def busybox(docker_runtime: DockerRuntime) -> str:
    return await ensure_image(docker_runtime, "busybox")


def make_spec(
    image: str,
    run_labels: dict[str, str],
    command: Sequence[str],
    *,
    labels: dict[str, str] | None = None,
    **fields: Any,
) -> ContainerSpec:
    name = f"dytest-{uuid.uuid4().hex[:12]}"
    return ContainerSpec(
        name=name, image=image, labels={**run_labels, **(labels or {})}, command=tuple(command), **fields
    )


async def run(runtime: DockerRuntime, spec: ContainerSpec) -> str:
    container_id = await runtime.create(spec)
    await runtime.start(container_id)
    return container_id


def http_get(url: str, timeout: float = 5.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return str(resp.read().decode())
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


async def test_create_start_wait_reports_exit_code_and_times(docker_runtime, busybox, docker_labels):
    spec = make_spec(busybox, docker_labels, ["sh", "-c", "exit 3"], env={"A": "1"}, working_dir="/tmp")
    before = time.time()
    container_id = await run(docker_runtime, spec)
    status = await docker_runtime.wait(container_id)
    assert (status.exit_code, status.oom_killed) == (3, False)
    state = await docker_runtime.inspect(container_id)
    assert (state.status, state.running, state.exit_code, state.name) == ("exited", False, 3, spec.name)
    assert state.image_id == await docker_runtime.image_id(busybox)
    assert state.labels["dockyard.test.run"] == docker_labels["dockyard.test.run"]
    assert state.created_at is not None and state.started_at is not None and state.finished_at is not None
    assert before - 1 < state.created_at <= state.started_at <= state.finished_at < time.time() + 1


async def test_never_started_container_has_no_times_or_exit_code(docker_runtime, busybox, docker_labels):
    container_id = await docker_runtime.create(make_spec(busybox, docker_labels, ["true"]))
    state = await docker_runtime.inspect(container_id)
    assert (state.status, state.exit_code, state.started_at, state.finished_at) == (
        "created",
        None,
        None,
        None,
    )


async def test_stop_trapping_process_exits_on_sigterm(docker_runtime, busybox, docker_labels):
    script = "trap 'exit 0' TERM; echo ready; while true; do sleep 0.1; done"
    container_id = await run(docker_runtime, make_spec(busybox, docker_labels, ["sh", "-c", script]))
    started = time.monotonic()
    await docker_runtime.stop(container_id, timeout=10)
    assert time.monotonic() - started < 5
    assert (await docker_runtime.wait(container_id)).exit_code == 0


async def test_stop_ignoring_process_is_killed_after_timeout(docker_runtime, busybox, docker_labels):
    script = "trap '' TERM; while true; do sleep 0.1; done"
    container_id = await run(docker_runtime, make_spec(busybox, docker_labels, ["sh", "-c", script]))
    started = time.monotonic()
    await docker_runtime.stop(container_id, timeout=1)
    assert time.monotonic() - started >= 0.9
    assert (await docker_runtime.wait(container_id)).exit_code == 137
    await docker_runtime.stop(container_id, timeout=1)  # stopping a stopped container is fine


async def test_health_states_arrive_as_events(docker_runtime, busybox, docker_labels):
    check = HealthCheck(test=("CMD-SHELL", "test -f /tmp/ok"), interval=0.2, timeout=1, retries=1)
    script = "sleep 1; touch /tmp/ok; sleep 1.5; rm /tmp/ok; sleep 60"
    spec = make_spec(
        busybox, docker_labels, ["sh", "-c", script], healthcheck=check, labels={"case": "health"}
    )
    seen: list[str] = []
    async with aclosing(docker_runtime.events(labels=spec.labels)) as events:
        container_id = await run(docker_runtime, spec)
        assert (await docker_runtime.inspect(container_id)).health == "starting"
        async with asyncio.timeout(20):
            async for event in events:
                if event.action.startswith("health_status: "):
                    assert event.container_id == container_id
                    seen.append(event.attributes["health_status"])
                    assert event.action == f"health_status: {seen[-1]}"
                    if seen[-2:] == ["healthy", "unhealthy"]:
                        break
    assert seen[0] == "unhealthy"
    state = await docker_runtime.inspect(container_id)
    assert state.health == "unhealthy"


async def test_ports_publish_on_a_loopback_address_with_a_dynamic_port(
    docker_runtime, busybox, docker_labels
):
    address = f"127.0.0.{random.randint(10, 250)}"
    spec = make_spec(busybox, docker_labels, HTTPD, ports=(PortBinding(8080, 0, "tcp", address),))
    container_id = await run(docker_runtime, spec)
    (published,) = (await docker_runtime.inspect(container_id)).ports
    assert (published.container_port, published.protocol, published.host_ip) == (8080, "tcp", address)
    assert published.host_port is not None and published.host_port > 1024
    body = await asyncio.to_thread(http_get, f"http://{address}:{published.host_port}/")
    assert body.strip() == container_id[:12]
    with pytest.raises(OSError):
        await asyncio.to_thread(urllib.request.urlopen, f"http://127.0.0.1:{published.host_port}/", None, 2)

    clash = make_spec(
        busybox, docker_labels, HTTPD, ports=(PortBinding(8080, published.host_port, "tcp", address),)
    )
    clash_id = await docker_runtime.create(clash)
    with pytest.raises(PortInUse, match="already"):
        await docker_runtime.start(clash_id)


async def test_user_network_fixed_ip_is_reachable_from_the_host(docker_runtime, busybox, docker_labels):
    octet = random.randint(1, 254)
    name = f"dytest-net-{uuid.uuid4().hex[:8]}"
    subnet, gateway, ip = f"10.213.{octet}.0/24", f"10.213.{octet}.1", f"10.213.{octet}.10"
    other = DockerRuntime()
    try:  # two runtimes (as two agent processes would) racing to create the same network
        ids = await asyncio.gather(
            docker_runtime.ensure_network(name, subnet=subnet, gateway=gateway, labels=docker_labels),
            docker_runtime.ensure_network(name, subnet=subnet, gateway=gateway, labels=docker_labels),
            other.ensure_network(name, subnet=subnet, gateway=gateway, labels=docker_labels),
        )
    finally:
        await other.close()
    assert len(set(ids)) == 1 and await docker_runtime.networks(labels=docker_labels) == [name]

    mac = f"02:42:0a:d5:{octet:02x}:0a"
    spec = make_spec(
        busybox, docker_labels, HTTPD, network_mode=name, ip_address=ip, mac_address=mac, hostname="fixed"
    )
    container_id = await run(docker_runtime, spec)
    state = await docker_runtime.inspect(container_id)
    assert state.ip_addresses == {name: ip}
    assert state.mac_addresses == {name: mac}
    assert (await asyncio.to_thread(http_get, f"http://{ip}:8080/")).strip() == "fixed"

    with pytest.raises(RuntimeError_, match="active endpoints"):
        await docker_runtime.remove_network(name)
    await docker_runtime.remove(container_id, force=True)
    await docker_runtime.remove_network(name)
    await docker_runtime.remove_network(name)  # already gone: not an error
    assert await docker_runtime.network_id(name) is None


async def test_volumes_from_shares_a_named_volume(docker_runtime, busybox, docker_labels):
    volume = f"dytest-vol-{uuid.uuid4().hex[:8]}"
    assert await docker_runtime.create_volume(volume, labels=docker_labels) == volume
    assert await docker_runtime.volume_exists(volume)
    writer = make_spec(
        busybox,
        docker_labels,
        ["sh", "-c", "echo shared > /data/f"],
        mounts=(Mount("volume", "/data", volume),),
    )
    writer_id = await run(docker_runtime, writer)
    assert (await docker_runtime.wait(writer_id)).exit_code == 0
    reader = make_spec(busybox, docker_labels, ["cat", "/data/f"], volumes_from=(f"{writer_id}:ro",))
    reader_id = await run(docker_runtime, reader)
    assert (await docker_runtime.wait(reader_id)).exit_code == 0
    assert [line async for line in docker_runtime.logs(reader_id)] == [b"shared"]

    with pytest.raises(RuntimeError_, match="in use"):
        await docker_runtime.remove_volume(volume)
    for container_id in (reader_id, writer_id):
        await docker_runtime.remove(container_id)
    await docker_runtime.remove_volume(volume)
    assert not await docker_runtime.volume_exists(volume)


async def test_tmpfs_and_bind_mounts(docker_runtime, busybox, docker_labels, tmp_path: Path):
    (tmp_path / "in.txt").write_text("from host\n")
    mounts = (
        Mount("bind", "/host", str(tmp_path), read_only=True),
        Mount("tmpfs", "/scratch", tmpfs_size=1 << 20, tmpfs_options=("noexec",)),
    )
    script = "cat /host/in.txt; grep /scratch /proc/mounts; touch /host/x 2>/dev/null || echo read-only"
    container_id = await run(
        docker_runtime, make_spec(busybox, docker_labels, ["sh", "-c", script], mounts=mounts)
    )
    await docker_runtime.wait(container_id)
    lines = [line.decode() async for line in docker_runtime.logs(container_id)]
    assert lines[0] == "from host" and lines[-1] == "read-only"
    assert "noexec" in lines[1] and "size=1024k" in lines[1]


async def test_memory_limit_under_a_cgroup_parent_and_oom(docker_runtime, busybox, docker_labels):
    parent = f"/dytest-{uuid.uuid4().hex[:8]}"
    limit = 32 << 20
    spec = make_spec(
        busybox,
        docker_labels,
        ["sh", "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes; tail /dev/zero"],
        memory=limit,
        memory_reservation=16 << 20,
        cpu_shares=256,
        cgroup_parent=parent,
    )
    try:
        container_id = await run(docker_runtime, spec)
        assert Path(f"/sys/fs/cgroup/memory{parent}/{container_id}").is_dir()
        assert Path(f"/sys/fs/cgroup/cpu{parent}/{container_id}/cpu.shares").read_text().strip() == "256"
        status = await docker_runtime.wait(container_id)
        assert (status.exit_code, status.oom_killed) == (137, True)
        assert [line async for line in docker_runtime.logs(container_id)] == [str(limit).encode()]
        assert (await docker_runtime.inspect(container_id)).oom_killed
        await docker_runtime.remove(container_id)
    finally:
        for controller in Path("/sys/fs/cgroup").iterdir():
            if (controller / parent.lstrip("/")).is_dir():
                (controller / parent.lstrip("/")).rmdir()


async def test_logs_demultiplex_stdout_and_stderr(docker_runtime, busybox, docker_labels):
    script = (
        "echo out1; echo err1 >&2; sleep 0.3; "
        "i=0; while [ $i -lt 300 ]; do echo line$i; i=$((i+1)); done; printf tail"
    )
    container_id = await run(docker_runtime, make_spec(busybox, docker_labels, ["sh", "-c", script]))
    followed = [line async for line in docker_runtime.logs(container_id, follow=True)]
    assert sorted(followed[:2]) == [b"err1", b"out1"]
    assert followed[2:] == [f"line{i}".encode() for i in range(300)] + [b"tail"]
    assert [line async for line in docker_runtime.logs(container_id)] == followed

    tty_id = await run(
        docker_runtime, make_spec(busybox, docker_labels, ["sh", "-c", "echo a; echo b >&2"], tty=True)
    )
    await docker_runtime.wait(tty_id)
    assert [line async for line in docker_runtime.logs(tty_id)] == [b"a", b"b"]


async def test_stats_sample(docker_runtime, busybox, docker_labels):
    container_id = await run(
        docker_runtime, make_spec(busybox, docker_labels, ["sleep", "30"], memory=64 << 20)
    )
    stats = await docker_runtime.stats(container_id)
    assert stats["id"] == container_id and stats["memory_stats"]["limit"] == 64 << 20
    assert stats["cpu_stats"]["cpu_usage"]["total_usage"] > 0


async def test_pull_of_a_nonexistent_image_fails_fast_with_image_not_found(docker_runtime):
    started = time.monotonic()
    with pytest.raises(ImageNotFound):
        await docker_runtime.pull("dockyard-test/does-not-exist:1")
    assert time.monotonic() - started < 10
    assert await docker_runtime.image_id("dockyard-test/does-not-exist:1") is None


async def test_missing_things_map_to_their_errors(docker_runtime, busybox, docker_labels):
    with pytest.raises(ImageNotFound, match="No such image"):
        await docker_runtime.create(make_spec("dockyard-test/absent:1", docker_labels, ["true"]))
    for call in (docker_runtime.inspect, docker_runtime.start, docker_runtime.wait, docker_runtime.remove):
        with pytest.raises(ContainerNotFound, match="No such container"):
            await call("dytest-does-not-exist")
    spec = make_spec(busybox, docker_labels, ["true"])
    await docker_runtime.create(spec)
    with pytest.raises(RuntimeError_, match="already in use"):
        await docker_runtime.create(spec)
    assert await docker_runtime.image_digest(busybox) is None  # built here, never pulled


async def test_list_by_labels(docker_runtime, busybox, docker_labels):
    a = await docker_runtime.create(make_spec(busybox, docker_labels, ["true"], labels={"group": "a"}))
    b = await run(docker_runtime, make_spec(busybox, docker_labels, ["sleep", "30"], labels={"group": "b"}))
    assert [s.id for s in await docker_runtime.list(labels={**docker_labels, "group": "a"})] == [a]
    both = await docker_runtime.list(labels=docker_labels)
    assert {s.id: s.status for s in both} == {a: "created", b: "running"}


async def test_events_stream_yields_start_and_die_and_ends_cleanly(docker_runtime, busybox, docker_labels):
    spec = make_spec(busybox, docker_labels, ["sh", "-c", "sleep 0.2; exit 7"], labels={"case": "events"})
    events = docker_runtime.events(labels=spec.labels)
    container_id = await run(docker_runtime, spec)  # before iterating: nothing may be lost
    seen: list[RuntimeEvent] = []
    async with aclosing(events):
        async with asyncio.timeout(10):
            async for event in events:
                seen.append(event)
                if event.action == "die":
                    break
    actions = [e.action for e in seen]
    assert actions[0] == "create" and "start" in actions and actions[-1] == "die"
    die = seen[-1]
    assert die.container_id == container_id and die.attributes["exitCode"] == "7"
    assert die.labels["case"] == "events" and "exitCode" not in die.labels
    assert die.attributes["name"] == spec.name

    # A consumer that is cancelled mid-wait releases the stream too.
    async def consume() -> None:
        async for _ in docker_runtime.events(labels=docker_labels):
            pass

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    # Closing the runtime ends the streams still open on it.
    other = DockerRuntime()
    pending = asyncio.create_task(anext(other.events(labels=docker_labels)))
    await asyncio.sleep(0.2)
    await other.close()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(pending, 5)
