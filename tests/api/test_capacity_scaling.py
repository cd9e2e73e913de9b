"""Auto Scaling group capacity providers at work (boto3, simulated instances, short intervals):
tasks waiting in PROVISIONING, managed scaling out and in (step sizes, warm-up, MaxSize), managed
termination protection, managed draining, the strategy split of a service, the PROVISIONING quota
and the CapacityProviderReservation datapoints."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from dockyard.testing.server import ThreadedServer
from tests.api.capacity_helpers import AMI, error, user_data_b64, wait_for
from tests.api.task_helpers import bridge_td, subnets
from tests.conftest import make_client, reset

ACCOUNT = "123456789012"
REGION = "us-east-1"
CLUSTER = "cp"
INTERVAL = 0.1  # seconds between datapoints: 15 datapoints below target = 1.5 s


@pytest.fixture(scope="module", name="scaling_server")
def scaling_server_fixture() -> Iterator[ThreadedServer]:
    with ThreadedServer(
        simulate_instances=True,
        capacity_metric_interval=INTERVAL,
        provisioning_retry=0.3,
        provisioning_limit=6,
        service_healthy_delay=0.2,
    ) as running:
        yield running


@pytest.fixture(name="clients")
def clients_fixture(scaling_server: ThreadedServer) -> Iterator[tuple[Any, Any, Any]]:
    reset(scaling_server.endpoint)
    ec2 = make_client(scaling_server.endpoint, "ec2")
    ec2.create_launch_template(
        LaunchTemplateName="nodes",
        LaunchTemplateData={"ImageId": AMI, "InstanceType": "t2.micro", "UserData": user_data_b64(CLUSTER)},
    )
    yield (
        make_client(scaling_server.endpoint, "ecs"),
        make_client(scaling_server.endpoint, "autoscaling"),
        ec2,
    )
    reset(scaling_server.endpoint)


def make_provider(
    clients: tuple[Any, Any, Any],
    name: str = "cp",
    *,
    group: str = "g",
    max_size: int = 4,
    protected: bool = False,
    scaling: dict[str, Any] | None = None,
    **settings: Any,
) -> None:
    ecs, autoscaling, _ = clients
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=group,
        LaunchTemplate={"LaunchTemplateName": "nodes", "Version": "$Latest"},
        MinSize=0,
        MaxSize=max_size,
        DesiredCapacity=0,
        VPCZoneIdentifier=",".join(subnets()),
        NewInstancesProtectedFromScaleIn=protected,
    )
    managed = {"status": "ENABLED", "targetCapacity": 100, "instanceWarmupPeriod": 0, **(scaling or {})}
    ecs.create_capacity_provider(
        name=name,
        autoScalingGroupProvider={"autoScalingGroupArn": group, "managedScaling": managed, **settings},
    )


def make_cluster(ecs: Any, *providers: str) -> None:
    ecs.create_cluster(
        clusterName=CLUSTER,
        capacityProviders=list(providers),
        defaultCapacityProviderStrategy=[{"capacityProvider": providers[0], "weight": 1}],
    )


def group_of(autoscaling: Any, name: str = "g") -> dict[str, Any]:
    found: dict[str, Any] = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])[
        "AutoScalingGroups"
    ][0]
    return found


def tasks(ecs: Any, arns: list[str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = ecs.describe_tasks(cluster=CLUSTER, tasks=arns)["tasks"]
    return found


def all_running(ecs: Any, arns: list[str]) -> list[dict[str, Any]] | None:
    found = tasks(ecs, arns)
    return found if all(t["lastStatus"] == "RUNNING" for t in found) else None


def instances(ecs: Any) -> list[dict[str, Any]]:
    arns = ecs.list_container_instances(cluster=CLUSTER)["containerInstanceArns"]
    if not arns:
        return []
    found: list[dict[str, Any]] = ecs.describe_container_instances(cluster=CLUSTER, containerInstances=arns)[
        "containerInstances"
    ]
    return found


def reservation(server: ThreadedServer, provider: str = "cp") -> dict[str, float]:
    """The CapacityProviderReservation datapoints of the last ten minutes, as CloudWatch has them:
    Maximum, Minimum and SampleCount over every one-minute period."""
    cloudwatch = make_client(server.endpoint, "cloudwatch")
    now = dt.datetime.now(dt.UTC)
    points = cloudwatch.get_metric_statistics(
        Namespace="AWS/ECS/ManagedScaling",
        MetricName="CapacityProviderReservation",
        Dimensions=[
            {"Name": "ClusterName", "Value": CLUSTER},
            {"Name": "CapacityProviderName", "Value": provider},
        ],
        StartTime=now - dt.timedelta(minutes=10),
        EndTime=now + dt.timedelta(minutes=1),
        Period=60,
        Statistics=["Maximum", "Minimum", "SampleCount"],
    )["Datapoints"]
    if not points:
        return {}
    assert {p["Unit"] for p in points} == {"Percent"}
    return {
        "Maximum": max(p["Maximum"] for p in points),
        "Minimum": min(p["Minimum"] for p in points),
        "SampleCount": sum(p["SampleCount"] for p in points),
    }


def test_tasks_wait_in_provisioning_scale_out_run_and_scale_in(
    clients: tuple[Any, Any, Any], scaling_server: ThreadedServer
) -> None:
    ecs, autoscaling, _ = clients
    make_provider(clients)
    make_cluster(ecs, "cp")
    bridge_td(ecs, memory=600)  # one per t2.micro (983 MiB)
    started = ecs.run_task(cluster=CLUSTER, taskDefinition="api", count=3)
    assert started["failures"] == []
    arns = [t["taskArn"] for t in started["tasks"]]
    assert {(t["lastStatus"], t["capacityProviderName"], t["launchType"]) for t in started["tasks"]} == {
        ("PROVISIONING", "cp", "EC2")
    }
    running = wait_for(lambda: all_running(ecs, arns), what="the tasks to run on new instances")
    assert group_of(autoscaling)["DesiredCapacity"] == 3  # M = 3 from N = 0: CPR 200 -> 3 instances
    registered = instances(ecs)
    assert len(registered) == 3 and {i["capacityProviderName"] for i in registered} == {"cp"}
    assert {t["containerInstanceArn"] for t in running} == {i["containerInstanceArn"] for i in registered}
    points = wait_for(
        lambda: (lambda p: p if p and p["Minimum"] == 100.0 else None)(reservation(scaling_server)),
        what="a datapoint at the target",
    )
    assert points["Maximum"] == 200.0  # M = 3, N = 0: the datapoint that scaled out
    for arn in arns[:2]:
        ecs.stop_task(cluster=CLUSTER, task=arn)
    wait_for(lambda: group_of(autoscaling)["DesiredCapacity"] == 1, what="a scale-in to 1", timeout=30)
    wait_for(lambda: len(group_of(autoscaling)["Instances"]) == 1, what="two instances to go", timeout=30)
    assert tasks(ecs, arns[2:])[0]["lastStatus"] == "RUNNING"  # the busy instance stayed (no MTP needed:
    assert reservation(scaling_server)["Minimum"] < 100  # empty instances read below 100)


def test_step_sizes_warm_up_and_max_size(clients: tuple[Any, Any, Any]) -> None:
    ecs, autoscaling, _ = clients
    make_provider(clients, max_size=3, scaling={"maximumScalingStepSize": 1, "instanceWarmupPeriod": 600})
    make_cluster(ecs, "cp")
    bridge_td(ecs, memory=600)
    arns = [t["taskArn"] for t in ecs.run_task(cluster=CLUSTER, taskDefinition="api", count=4)["tasks"]]
    wait_for(lambda: group_of(autoscaling)["DesiredCapacity"] == 1, what="a first step of one instance")
    wait_for(lambda: len([t for t in tasks(ecs, arns) if t["lastStatus"] == "RUNNING"]) == 1, what="one task")
    assert group_of(autoscaling)["DesiredCapacity"] == 1  # the warm-up holds the next step
    ecs.update_capacity_provider(
        name="cp", autoScalingGroupProvider={"managedScaling": {"instanceWarmupPeriod": 0}}
    )
    seen: list[int] = []

    def at_max() -> bool:
        desired = int(group_of(autoscaling)["DesiredCapacity"])
        if not seen or seen[-1] != desired:
            seen.append(desired)
        return desired == 3

    wait_for(at_max, what="steps of one up to MaxSize")
    assert all(b - a == 1 for a, b in zip([1, *seen], seen, strict=False) if b != a)
    wait_for(
        lambda: len([t for t in tasks(ecs, arns) if t["lastStatus"] == "RUNNING"]) == 3, what="3 running"
    )
    assert [t["lastStatus"] for t in tasks(ecs, arns)].count("PROVISIONING") == 1  # MaxSize: one still waits
    assert group_of(autoscaling)["DesiredCapacity"] == 3


def test_minimum_step(clients: tuple[Any, Any, Any]) -> None:
    ecs, autoscaling, _ = clients
    make_provider(clients, scaling={"minimumScalingStepSize": 2})
    make_cluster(ecs, "cp")
    bridge_td(ecs, memory=256)
    ecs.run_task(cluster=CLUSTER, taskDefinition="api")
    wait_for(lambda: group_of(autoscaling)["DesiredCapacity"] == 2, what="a step of at least 2")


def test_managed_termination_protection(clients: tuple[Any, Any, Any]) -> None:
    ecs, autoscaling, _ = clients
    make_provider(clients, protected=True, managedTerminationProtection="ENABLED")
    make_cluster(ecs, "cp")
    bridge_td(ecs, memory=600)
    arns = [t["taskArn"] for t in ecs.run_task(cluster=CLUSTER, taskDefinition="api", count=2)["tasks"]]
    running = wait_for(lambda: all_running(ecs, arns), what="two tasks running")
    busy = {i["containerInstanceArn"]: i["ec2InstanceId"] for i in instances(ecs)}
    keep = busy[running[1]["containerInstanceArn"]]
    ecs.stop_task(cluster=CLUSTER, task=arns[0])

    def protection() -> dict[str, bool]:
        return {m["InstanceId"]: m["ProtectedFromScaleIn"] for m in group_of(autoscaling)["Instances"]}

    wait_for(lambda: protection() == {keep: True} or None, what="a scale-in to the busy instance", timeout=30)
    assert group_of(autoscaling)["DesiredCapacity"] == 1


def test_managed_draining_moves_service_tasks_before_termination(clients: tuple[Any, Any, Any]) -> None:
    ecs, autoscaling, _ = clients
    make_provider(clients, scaling={"status": "DISABLED"})
    make_cluster(ecs, "cp")
    hooks = wait_for(
        lambda: autoscaling.describe_lifecycle_hooks(AutoScalingGroupName="g")["LifecycleHooks"],
        what="ECS's lifecycle hook on the group",
    )
    assert hooks[0]["LifecycleHookName"] == "ecs-managed-draining-termination-hook"
    assert hooks[0]["LifecycleTransition"] == "autoscaling:EC2_INSTANCE_TERMINATING"
    autoscaling.set_desired_capacity(AutoScalingGroupName="g", DesiredCapacity=2)
    wait_for(
        lambda: len(instances(ecs)) == 2 and all(i.get("capacityProviderName") for i in instances(ecs)),
        what="2",
    )
    bridge_td(ecs, memory=300)
    ecs.create_service(
        cluster=CLUSTER,
        serviceName="web",
        taskDefinition="api",
        desiredCount=2,
        placementStrategy=[{"type": "spread", "field": "instanceId"}],
    )
    wait_for(
        lambda: (
            len({t["containerInstanceArn"] for t in _service_tasks(ecs) if t["lastStatus"] == "RUNNING"}) == 2
        ),
        what="one service task on each instance",
    )
    autoscaling.set_desired_capacity(AutoScalingGroupName="g", DesiredCapacity=1)
    waiting = wait_for(
        lambda: [m for m in group_of(autoscaling)["Instances"] if m["LifecycleState"] == "Terminating:Wait"],
        what="an instance held for draining",
    )
    victim = waiting[0]["InstanceId"]
    wait_for(
        lambda: len(group_of(autoscaling)["Instances"]) == 1, what="the drained instance to go", timeout=30
    )
    stopped = [
        t
        for t in _service_tasks(ecs, desired="STOPPED")
        if t.get("stoppedReason", "").startswith("Scaling activity initiated by")
    ]
    assert stopped, "the task on the draining instance was stopped by the service"
    live = [t for t in _service_tasks(ecs) if t["lastStatus"] == "RUNNING"]
    assert len(live) == 2  # replaced on the remaining instance
    remaining = {i["ec2InstanceId"] for i in instances(ecs) if i["status"] == "ACTIVE"}
    assert victim not in remaining


def _service_tasks(ecs: Any, desired: str = "RUNNING") -> list[dict[str, Any]]:
    arns = ecs.list_tasks(cluster=CLUSTER, serviceName="web", desiredStatus=desired)["taskArns"]
    return tasks(ecs, arns) if arns else []


def test_a_service_splits_across_providers_and_keeps_the_ratio(clients: tuple[Any, Any, Any]) -> None:
    ecs, autoscaling, _ = clients
    make_provider(clients, "cp-a", group="ga")
    make_provider(clients, "cp-b", group="gb")
    ecs.create_cluster(clusterName=CLUSTER, capacityProviders=["cp-a", "cp-b"])
    bridge_td(ecs, memory=200)
    ecs.create_service(
        cluster=CLUSTER,
        serviceName="web",
        taskDefinition="api",
        desiredCount=6,
        capacityProviderStrategy=[
            {"capacityProvider": "cp-a", "weight": 1, "base": 2},
            {"capacityProvider": "cp-b", "weight": 1},
        ],
    )

    def split() -> Counter[str] | None:
        live = [t for t in _service_tasks(ecs) if t["lastStatus"] == "RUNNING"]
        return Counter(t["capacityProviderName"] for t in live) if len(live) == 6 else None

    assert wait_for(split, what="six running tasks", timeout=30) == {
        "cp-a": 4,
        "cp-b": 2,
    }  # 2 base + 4 by 1:1
    providers = {i["containerInstanceArn"]: i["capacityProviderName"] for i in instances(ecs)}
    for task in _service_tasks(ecs):
        assert providers[task["containerInstanceArn"]] == task["capacityProviderName"]
    ecs.update_service(cluster=CLUSTER, service="web", desiredCount=4)
    wait_for(lambda: len(_service_tasks(ecs)) == 4, what="a scale-in to 4")
    # 2 base + 2 by 1:1: one task leaves each provider
    assert Counter(t["capacityProviderName"] for t in _service_tasks(ecs)) == {"cp-a": 3, "cp-b": 1}
    ecs.update_service(cluster=CLUSTER, service="web", desiredCount=6)
    assert wait_for(split, what="back to six", timeout=30) == {"cp-a": 4, "cp-b": 2}
    assert (
        group_of(autoscaling, "ga")["DesiredCapacity"] >= 1
        and group_of(autoscaling, "gb")["DesiredCapacity"] >= 1
    )


def test_provisioning_quota_and_stopping_a_waiting_task(clients: tuple[Any, Any, Any]) -> None:
    ecs, _, _ = clients
    make_provider(clients, max_size=0)  # nothing will ever come: tasks keep waiting
    make_cluster(ecs, "cp")
    bridge_td(ecs, memory=256)
    first = ecs.run_task(cluster=CLUSTER, taskDefinition="api", count=5)["tasks"]
    assert error(lambda: ecs.run_task(cluster=CLUSTER, taskDefinition="api", count=2)) == (
        "ClientException",
        "The maximum number of tasks in the PROVISIONING state for this cluster has been reached.",
    )
    assert len(ecs.list_tasks(cluster=CLUSTER)["taskArns"]) == 5  # the refused request stored nothing
    stopped = ecs.stop_task(cluster=CLUSTER, task=first[0]["taskArn"], reason="no longer needed")["task"]
    assert stopped["desiredStatus"] == "STOPPED"
    done = wait_for(
        lambda: (lambda t: t if t["lastStatus"] == "STOPPED" else None)(tasks(ecs, [first[0]["taskArn"]])[0]),
        what="the waiting task to stop",
    )
    assert (done["stopCode"], done["stoppedReason"]) == ("UserInitiated", "no longer needed")
    assert {c["lastStatus"] for c in done["containers"]} == {"STOPPED"}


def test_without_managed_scaling_tasks_fail_at_once(clients: tuple[Any, Any, Any]) -> None:
    ecs, _, _ = clients
    make_provider(clients, scaling={"status": "DISABLED"})
    make_cluster(ecs, "cp")
    bridge_td(ecs, memory=256)
    response = ecs.run_task(cluster=CLUSTER, taskDefinition="api")
    assert response["tasks"] == []
    assert response["failures"] == [{"reason": "No Container Instances were found in your cluster."}]


def test_waiting_tasks_time_out(clients: tuple[Any, Any, Any], scaling_server: ThreadedServer) -> None:
    ecs, _, _ = clients
    make_provider(clients, max_size=0)
    make_cluster(ecs, "cp")
    bridge_td(ecs, memory=256)
    arn = ecs.run_task(cluster=CLUSTER, taskDefinition="api")["tasks"][0]["taskArn"]
    settings = scaling_server.server.ecs.settings.capacity
    object.__setattr__(settings, "provisioning_timeout", 0.5)  # a frozen dataclass: only for this test
    try:
        done = wait_for(
            lambda: (lambda t: t if t["lastStatus"] == "STOPPED" else None)(tasks(ecs, [arn])[0]),
            what="the task to give up",
        )
    finally:
        object.__setattr__(settings, "provisioning_timeout", 1800.0)
    assert done["stopCode"] == "TaskFailedToStart"
    assert done["stoppedReason"] == "TaskFailedToStart: NO ACTIVE INSTANCES"
