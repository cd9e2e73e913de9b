"""The work queue and the ECS controllers, driven with a fake clock."""

from __future__ import annotations

import asyncio

from dockyard.controllers.workqueue import WorkQueue
from dockyard.core.errors import TemporaryError
from dockyard.core.ids import RandomIds
from dockyard.services.ecs.controllers import AgentMonitor, StoppedTaskReaper
from dockyard.services.ecs.deps import Ecs, EcsSettings
from dockyard.store import Key, SqliteStore
from dockyard.testing.clock import FakeClock


def key(name: str) -> Key:
    return Key("1", "r", "k", name)


async def test_queue_deduplicates_and_never_hands_out_a_key_twice() -> None:
    queue = WorkQueue(FakeClock())
    queue.add(key("a"))
    queue.add(key("a"))
    queue.add(key("b"))
    assert len(queue) == 2
    first = await queue.get()
    queue.add(first)  # added while in flight: processed again after done()
    second = await queue.get()
    assert {first, second} == {key("a"), key("b")}
    assert len(queue) == 0
    queue.done(first)
    assert await asyncio.wait_for(queue.get(), 1) == first


async def test_queue_backs_off_on_errors_and_honours_requeue_after() -> None:
    clock = FakeClock()
    queue = WorkQueue(clock, base_delay=1.0)
    queue.add(key("a"))
    item = await queue.get()
    queue.done(item, error=TemporaryError("later", delay=5.0))
    getter = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0.01)
    assert not getter.done()
    clock.advance(5.0)
    queue.add(key("poke"))  # wake the getter so it re-checks the delayed keys
    got = await asyncio.wait_for(getter, 1)
    assert got in (key("a"), key("poke"))


def ecs_with(clock: FakeClock) -> Ecs:
    return Ecs(
        SqliteStore(":memory:"),
        clock,
        RandomIds(),
        EcsSettings(stopped_task_retention=3600.0, agent_timeout=60.0),
    )


async def test_reaper_deletes_stopped_tasks_after_the_retention() -> None:
    clock = FakeClock()
    ecs = ecs_with(clock)
    reaper = StoppedTaskReaper(ecs)
    running = Key("1", "r", "ecs:task", "c/run")
    stopped = Key("1", "r", "ecs:task", "c/stop")
    await ecs.store.put(running, {"lastStatus": "RUNNING"})
    await ecs.store.put(stopped, {"lastStatus": "STOPPED", "stoppedAt": clock.now()})
    assert (await reaper.reconcile(running)).after is None
    first = await reaper.reconcile(stopped)
    assert first.after == 3600.0
    clock.advance(3599)
    assert await ecs.store.get(stopped) is not None
    clock.advance(2)
    assert (await reaper.reconcile(stopped)).after is None
    assert await ecs.store.get(stopped) is None
    assert await ecs.store.get(running) is not None


async def test_agent_monitor_marks_silent_agents_disconnected() -> None:
    clock = FakeClock()
    ecs = ecs_with(clock)
    monitor = AgentMonitor(ecs)
    instance = Key("1", "r", "ecs:container-instance", "c/i")
    await ecs.store.put(instance, {"agentConnected": True, "dockyard": {"lastSeen": clock.now()}})
    assert (await monitor.reconcile(instance)).after == 60.0
    clock.advance(61)
    await monitor.reconcile(instance)
    doc = await ecs.store.get(instance)
    assert doc is not None and doc.value["agentConnected"] is False


async def test_tasks_of_a_deregistered_instance_are_recorded_stopped() -> None:
    from dockyard.services.ecs.controllers import DeregisteredInstanceTasks

    clock = FakeClock()
    ecs = ecs_with(clock)
    arn = "arn:aws:ecs:r:1:container-instance/c/i1"
    instance = Key("1", "r", "ecs:container-instance", "c/i1")
    task_key = Key("1", "r", "ecs:task", "c/t1")
    await ecs.store.put(instance, {"containerInstanceArn": arn, "status": "ACTIVE"})
    task = {
        "taskArn": "arn:aws:ecs:r:1:task/c/t1",
        "lastStatus": "RUNNING",
        "desiredStatus": "RUNNING",
        "containerInstanceArn": arn,
        "containers": [],
        "dockyard": {"node": arn},
    }
    await ecs.store.put(task_key, task, labels={"node": arn})
    controller = DeregisteredInstanceTasks(ecs)
    await controller.reconcile(instance)
    assert (await ecs.store.get(task_key)).value["lastStatus"] == "RUNNING"  # type: ignore[union-attr]
    await ecs.store.put(instance, {"containerInstanceArn": arn, "status": "INACTIVE"})
    await controller.reconcile(instance)
    stopped = (await ecs.store.get(task_key)).value  # type: ignore[union-attr]
    assert stopped["lastStatus"] == "STOPPED" and stopped["desiredStatus"] == "STOPPED"
    assert stopped["stopCode"] == "TerminationNotice"
    assert stopped["stoppedReason"] == f"Container instance {arn} was deregistered."
    assert await ecs.store.find("ecs:task", "node", arn) == []


def test_cancel_all_ends_a_task_that_swallowed_its_cancellation() -> None:
    from dockyard.controllers.runner import cancel_all

    async def stubborn(ready: asyncio.Event) -> None:
        try:
            ready.set()
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            pass  # as Python 3.11's wait_for may do: the cancellation is lost...
        await asyncio.sleep(3600)  # ...and the loop waits again

    async def scenario() -> bool:
        ready = asyncio.Event()
        task = asyncio.create_task(stubborn(ready))
        await ready.wait()
        await asyncio.wait_for(cancel_all([task]), timeout=10)
        return task.cancelled()

    assert asyncio.run(scenario())
