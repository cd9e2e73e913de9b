"""FakeRuntime behaves as documented, on virtual time (no test here waits for real)."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator
from contextlib import aclosing

import pytest

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
from dockyard.testing.fake_runtime import Behaviour, FakeRuntime

T0 = 1_700_000_000.0


class AutojumpClock:
    """Virtual time that jumps to the next sleeper's deadline whenever every task is idle."""

    def __init__(self) -> None:
        self._now = T0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._driver: asyncio.Task[None] | None = None

    def now(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + max(0.0, seconds), next(self._order), future))
        if self._driver is None or self._driver.done():
            self._driver = asyncio.create_task(self._drive())
        await future

    async def _drive(self) -> None:
        while self._sleepers:
            for _ in range(20):  # let everything that can run, run
                await asyncio.sleep(0)
            while self._sleepers and self._sleepers[0][2].done():
                heapq.heappop(self._sleepers)
            if self._sleepers:
                when, _, future = heapq.heappop(self._sleepers)
                self._now = max(self._now, when)
                future.set_result(None)


@pytest.fixture
async def clock() -> AutojumpClock:
    return AutojumpClock()


@pytest.fixture
async def fake(clock: AutojumpClock) -> AsyncIterator[FakeRuntime]:
    runtime = FakeRuntime(clock=clock)
    runtime.add_image("app:1")
    yield runtime
    await runtime.close()


def spec(name: str = "c1", image: str = "app:1", **fields: object) -> ContainerSpec:
    fields.setdefault("labels", {"task": "t1"})
    return ContainerSpec(name=name, image=image, **fields)  # type: ignore[arg-type]


async def started(fake: FakeRuntime, container: ContainerSpec) -> str:
    container_id = await fake.create(container)
    await fake.start(container_id)
    return container_id


async def collect(events: AsyncIterator[RuntimeEvent], until: str) -> list[RuntimeEvent]:
    seen = []
    async for event in events:
        seen.append(event)
        if event.action.partition(":")[0] == until:
            return seen
    raise AssertionError("stream ended")


async def test_images_must_be_present_and_pull_adds_them(fake):
    with pytest.raises(ImageNotFound, match="No such image: other:latest"):
        await fake.create(spec(image="other"))
    assert await fake.image_id("other") is None
    image_id = await fake.pull("other")
    assert image_id.startswith("sha256:") and await fake.image_id("other:latest") == image_id
    assert fake.pulls == ["other"]
    await fake.create(spec(image="other"))
    fake.remove_image("other")
    assert await fake.image_digest("other") is None


async def test_scripted_pull_failure(fake):
    fake.script(Behaviour(pull_error=ImageNotFound("manifest unknown")), image="bad:1")
    fake.script(Behaviour(pull_error=RuntimeError_("unauthorized")), image="private:1")
    with pytest.raises(ImageNotFound, match="manifest unknown"):
        await fake.pull("bad:1")
    with pytest.raises(RuntimeError_, match="unauthorized") as err:
        await fake.pull("private:1")
    assert type(err.value) is RuntimeError_
    assert await fake.image_id("bad:1") is None


async def test_exit_after_with_code_and_events(fake, clock):
    fake.script(Behaviour(exit_after=5, exit_code=3), image="app:1")
    events = fake.events(labels={"task": "t1"})
    container_id = await started(fake, spec())
    status = await fake.wait(container_id)
    assert (status.exit_code, status.oom_killed) == (3, False)
    state = await fake.inspect(container_id)
    assert (state.status, state.running, state.exit_code) == ("exited", False, 3)
    assert (state.started_at, state.finished_at) == (T0, T0 + 5)
    async with aclosing(events):
        seen = await collect(events, "die")
    assert [e.action for e in seen] == ["create", "start", "die"]
    assert seen[-1].attributes["exitCode"] == "3" and seen[-1].labels == {"task": "t1"}
    assert seen[-1].time == T0 + 5


async def test_command_script_wins_over_image_script(fake):
    fake.script(Behaviour(exit_after=1, exit_code=1), image="app:1")
    fake.script(Behaviour(exit_after=1, exit_code=2), command=("crash",))
    by_command = await started(fake, spec("a", command=("crash",)))
    by_image = await started(fake, spec("b", command=("other",)))
    assert (await fake.wait(by_command)).exit_code == 2
    assert (await fake.wait(by_image)).exit_code == 1


async def test_stop_sends_sigterm_and_waits_for_the_exit(fake, clock):
    container_id = await started(fake, spec())
    await fake.stop(container_id, timeout=30)
    state = await fake.inspect(container_id)
    assert (state.exit_code, state.finished_at) == (143, T0)

    fake.script(Behaviour(term_delay=2, term_exit_code=0), image="app:2")
    fake.add_image("app:2")
    slow = await started(fake, spec("slow", image="app:2"))
    await fake.stop(slow, timeout=30)
    assert clock.now() == T0 + 2 and (await fake.wait(slow)).exit_code == 0
    await fake.stop(slow, timeout=30)  # already stopped: nothing happens


async def test_stop_kills_after_the_timeout_when_sigterm_is_ignored_or_too_slow(fake, clock):
    fake.script(Behaviour(ignore_sigterm=True), command=("stubborn",))
    fake.script(Behaviour(term_delay=60), command=("slow",))
    events = fake.events(labels={"task": "t1"})
    stubborn = await started(fake, spec("a", command=("stubborn",)))
    await fake.stop(stubborn, timeout=10)
    assert clock.now() == T0 + 10 and (await fake.wait(stubborn)).exit_code == 137
    async with aclosing(events):
        seen = await collect(events, "stop")
    kills = [e.attributes["signal"] for e in seen if e.action == "kill"]
    assert kills == ["15", "9"] and [e.action for e in seen][-2:] == ["die", "stop"]

    slow = await started(fake, spec("b", command=("slow",)))
    await fake.stop(slow, timeout=5)
    assert (await fake.wait(slow)).exit_code == 137 and clock.now() == T0 + 15


async def test_a_container_exiting_during_stop_keeps_its_own_code(fake, clock):
    fake.script(Behaviour(exit_after=3, exit_code=4, ignore_sigterm=True), image="app:1")
    container_id = await started(fake, spec())
    await fake.stop(container_id, timeout=10)
    assert clock.now() == T0 + 3 and (await fake.wait(container_id)).exit_code == 4


async def test_health_becomes_healthy_after_one_interval(fake, clock):
    check = HealthCheck(test=("CMD-SHELL", "true"), interval=5, retries=3)
    events = fake.events(labels={"task": "t1"})
    container_id = await started(fake, spec(healthcheck=check))
    assert (await fake.inspect(container_id)).health == "starting"
    async with aclosing(events):
        seen = await collect(events, "health_status")
    assert seen[-1].action == "health_status: healthy" and seen[-1].time == T0 + 5
    assert seen[-1].attributes == {"health_status": "healthy"}
    assert (await fake.inspect(container_id)).health == "healthy"
    assert (await fake.inspect(await started(fake, spec("plain")))).health is None


async def test_health_unhealthy_after_retries_and_later_changes(fake, clock):
    check = HealthCheck(test=("CMD", "check"), interval=10, retries=3)
    fake.script(Behaviour(health="unhealthy", health_changes=((40.0, "healthy"),)), image="app:1")
    events = fake.events(labels={"task": "t1"})
    await started(fake, spec(healthcheck=check))
    async with aclosing(events):
        first = (await collect(events, "health_status"))[-1]
        second = (await collect(events, "health_status"))[-1]
    assert (first.attributes["health_status"], first.time) == ("unhealthy", T0 + 30)
    assert (second.attributes["health_status"], second.time) == ("healthy", T0 + 40)


async def test_oom_kill(fake):
    fake.script(Behaviour(oom_after=2), image="app:1")
    events = fake.events(labels={})
    container_id = await started(fake, spec())
    status = await fake.wait(container_id)
    assert (status.exit_code, status.oom_killed) == (137, True)
    async with aclosing(events):
        actions = [e.action for e in await collect(events, "die")]
    assert actions[-2:] == ["oom", "die"]


async def test_start_failure_leaves_the_container_created(fake):
    fake.script(Behaviour(start_error='exec: "nope": executable file not found in $PATH'), image="app:1")
    container_id = await fake.create(spec())
    with pytest.raises(RuntimeError_, match="executable file not found"):
        await fake.start(container_id)
    state = await fake.inspect(container_id)
    assert (state.status, state.exit_code) == ("created", None) and "executable" in state.error
    assert (await fake.wait(container_id)).exit_code == 0  # never started: returns at once, as Docker's


async def test_ports_collide_by_address_and_dynamic_ports_are_allocated(fake):
    a = await started(fake, spec("a", ports=(PortBinding(80, 8080, "tcp", "127.0.0.2"),)))
    await started(fake, spec("b", ports=(PortBinding(80, 8080, "tcp", "127.0.0.3"),)))  # other address
    await started(fake, spec("udp", ports=(PortBinding(80, 8080, "udp", "127.0.0.2"),)))  # other protocol
    for clash in (PortBinding(80, 8080, "tcp", "127.0.0.2"), PortBinding(80, 8080, "tcp", "")):
        clashing = await fake.create(spec(f"clash-{clash.host_ip}", ports=(clash,)))
        with pytest.raises(PortInUse, match="port is already allocated"):
            await fake.start(clashing)
    dynamic = await started(
        fake, spec("d", ports=(PortBinding(80, 0), PortBinding(81, 0), PortBinding(82, None)))
    )
    published = (await fake.inspect(dynamic)).ports
    assert [(p.container_port, p.host_port, p.host_ip) for p in published] == [
        (80, 32768, "0.0.0.0"),
        (81, 32769, "0.0.0.0"),
    ]
    await fake.stop(a, timeout=1)
    assert (await fake.inspect(a)).ports == ()
    await fake.start(await fake.create(spec("again", ports=(PortBinding(80, 8080, "tcp", "127.0.0.2"),))))


async def test_networks_and_addresses(fake):
    network_id = await fake.ensure_network("vpc", subnet="10.1.0.0/24", gateway="10.1.0.1", labels={})
    assert await fake.ensure_network("vpc", subnet="10.1.0.0/24", gateway="10.1.0.1", labels={}) == network_id
    fixed = await started(fake, spec("fixed", network_mode="vpc", ip_address="10.1.0.9"))
    auto = await started(fake, spec("auto", network_mode="vpc"))
    bridged = await started(fake, spec("bridged"))
    assert (await fake.inspect(fixed)).ip_addresses == {"vpc": "10.1.0.9"}
    assert (await fake.inspect(fixed)).mac_addresses == {"vpc": "02:42:0a:01:00:09"}
    assert (await fake.inspect(auto)).ip_addresses == {"vpc": "10.1.0.2"}
    assert (await fake.inspect(bridged)).ip_addresses["bridge"].startswith("172.17.0.")
    taken = await fake.create(spec("taken", network_mode="vpc", ip_address="10.1.0.9"))
    with pytest.raises(RuntimeError_, match="Address already in use"):
        await fake.start(taken)
    with pytest.raises(RuntimeError_, match="active endpoints"):
        await fake.remove_network("vpc")
    for container_id in (fixed, auto):
        await fake.remove(container_id, force=True)
    await fake.remove_network("vpc")
    await fake.remove_network("vpc")
    missing = await fake.create(spec("lost", network_mode="vpc"))
    with pytest.raises(RuntimeError_, match="network vpc not found"):
        await fake.start(missing)


async def test_list_remove_and_lookup(fake):
    one = await started(fake, spec("one", labels={"task": "t1", "c": "web"}))
    two = await fake.create(spec("two", labels={"task": "t1", "c": "db"}))
    await fake.create(spec("three", labels={"task": "t2"}))
    assert {s.id for s in await fake.list(labels={"task": "t1"})} == {one, two}
    assert [s.name for s in await fake.list(labels={"task": "t1", "c": "db"})] == ["two"]
    assert (await fake.inspect("one")).id == one and (await fake.inspect(one[:12])).id == one
    with pytest.raises(RuntimeError_, match="already in use"):
        await fake.create(spec("one"))
    with pytest.raises(RuntimeError_, match="cannot remove a running container"):
        await fake.remove(one)
    events = fake.events(labels={"task": "t1"})
    await fake.remove(one, force=True)
    async with aclosing(events):
        assert [e.action for e in await collect(events, "destroy")] == ["kill", "die", "destroy"]
    with pytest.raises(ContainerNotFound, match="No such container"):
        await fake.inspect(one)
    with pytest.raises(ContainerNotFound):
        await fake.remove("nope")


async def test_kill(fake):
    container_id = await started(fake, spec())
    await fake.kill(container_id)
    assert (await fake.wait(container_id)).exit_code == 137
    with pytest.raises(RuntimeError_, match="is not running"):
        await fake.kill(container_id)
    term = await started(fake, spec("term"))
    await fake.kill(term, signal="SIGTERM")
    assert (await fake.wait(term)).exit_code == 143


async def test_logs_and_follow(fake, clock):
    fake.script(Behaviour(output=(b"booting", b"ready"), exit_after=10), image="app:1")
    container_id = await started(fake, spec())
    assert [line async for line in fake.logs(container_id)] == [b"booting", b"ready"]

    async def later() -> None:
        await clock.sleep(5)
        fake.write_log(container_id, b"working")

    writer = asyncio.create_task(later())
    followed = [line async for line in fake.logs(container_id, follow=True)]
    await writer
    assert followed == [b"booting", b"ready", b"working"]
    assert [line async for line in fake.logs(container_id, since=T0 + 1)] == [b"working"]


async def test_event_subscriptions_start_at_the_call_and_end_with_the_consumer(fake):
    events = fake.events(labels={"task": "t1"})
    await fake.create(spec())  # before the first __anext__
    async with aclosing(events):
        assert (await anext(events)).action == "create"
    await fake.create(spec("other"))
    assert fake._subscribers == []


async def test_volumes_and_stats(fake):
    assert await fake.create_volume("data", labels={"a": "b"}) == "data"
    assert await fake.volume_exists("data")
    container_id = await started(fake, spec(mounts=(Mount("volume", "/data", "data"),), memory=1 << 30))
    with pytest.raises(RuntimeError_, match="volume is in use"):
        await fake.remove_volume("data")
    stats = await fake.stats(container_id)
    assert stats["memory_stats"] == {"usage": 4 << 20, "limit": 1 << 30}
    await fake.remove(container_id, force=True)
    await fake.remove_volume("data")
    assert not await fake.volume_exists("data")
