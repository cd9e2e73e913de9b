"""plan_task / container_spec / pause_spec / network_bindings: the ECS agent's translation, table-driven."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from dockyard.agent.runtime.protocol import ContainerState, HealthCheck, Mount, PortBinding, Ulimit
from dockyard.agent.specs import (
    MIB,
    PAUSE_CONTAINER_NAME,
    ContainerPlan,
    HostContext,
    TaskPlan,
    TaskSpecError,
    UnsupportedFeature,
    container_spec,
    docker_name,
    network_bindings,
    pause_spec,
    plan_task,
)

TASK_ARN = "arn:aws:ecs:us-east-1:123456789012:task/prod/0f3c5a1b2c3d4e5f60718293a4b5c6d7"
CLUSTER_ARN = "arn:aws:ecs:us-east-1:123456789012:cluster/prod"
EC2 = HostContext(
    launch_type="EC2",
    region="us-east-1",
    data_dir="/var/lib/dockyard",
    cluster="prod",
    host_address="127.0.0.5",
    cgroup_parent="/dockyard/i-0abc",
    container_instance_arn="arn:aws:ecs:us-east-1:123456789012:container-instance/prod/abc",
    available_log_drivers=("json-file", "none", "syslog"),
)
FARGATE = HostContext(launch_type="FARGATE", region="us-east-1", data_dir="/var/lib/dockyard")
PAIR = ({"name": "app", "image": "nginx"}, {"name": "side", "image": "nginx", "essential": False})

NETWORK = {
    "attachmentId": "att-1",
    "privateIpv4Address": "172.31.3.17",
    "macAddress": "0a:58:ac:1f:03:11",
    "subnetId": "subnet-1",
    "subnetCidr": "172.31.0.0/20",
    "vpcId": "vpc-1",
    "vpcCidr": "172.31.0.0/16",
    "gateway": "172.31.0.1",
    "privateDnsName": "ip-172-31-3-17.ec2.internal",
}


def item(
    *containers: dict[str, Any],
    launch_type: str = "EC2",
    network_mode: str | None = "bridge",
    overrides: dict[str, Any] | None = None,
    volumes: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    taskdef: dict[str, Any] = {
        "family": "web",
        "revision": 3,
        "containerDefinitions": list(containers) or [{"name": "app", "image": "nginx"}],
        "volumes": volumes or [],
    }
    if network_mode:
        taskdef["networkMode"] = network_mode
    taskdef.update(extra.pop("taskdef", {}))
    work: dict[str, Any] = {
        "taskArn": TASK_ARN,
        "clusterArn": CLUSTER_ARN,
        "region": "us-east-1",
        "launchType": launch_type,
        "desiredStatus": "RUNNING",
        "taskDefinition": taskdef,
        "overrides": overrides or {},
        "containers": [
            {"name": c["name"], "containerArn": f"arn:container/{c['name']}"}
            for c in taskdef["containerDefinitions"]
        ],
    }
    if network_mode == "awsvpc":
        work["network"] = NETWORK
    work.update(extra)
    return work


def one(container: dict[str, Any], *, host: HostContext = EC2, **kw: Any) -> tuple[TaskPlan, ContainerPlan]:
    plan = plan_task(item({"name": "app", "image": "nginx", **container}, **kw), host)
    return plan, plan.container("app")


def spec_of(container: dict[str, Any], *, host: HostContext = EC2, host_ports: Any = None, **kw: Any) -> Any:
    plan, c = one(container, host=host, **kw)
    return container_spec(plan, c, host=host, endpoint_id="eid-1", host_ports=host_ports or {})


# -- planning: order, dependencies, timeouts --------------------------------------------------------------


def test_start_order_follows_depends_on_and_stop_order_is_reverse() -> None:
    plan = plan_task(
        item(
            {"name": "web", "image": "nginx", "dependsOn": [{"containerName": "db", "condition": "HEALTHY"}]},
            {
                "name": "db",
                "image": "postgres",
                "dependsOn": [{"containerName": "init", "condition": "SUCCESS"}],
            },
            {"name": "init", "image": "busybox", "essential": False},
            {"name": "sidecar", "image": "busybox"},
        ),
        EC2,
    )
    assert [c.name for c in plan.containers] == ["init", "db", "web", "sidecar"]
    assert plan.stop_order == ("sidecar", "web", "db", "init")
    assert plan.container("web").depends_on[0].condition == "HEALTHY"
    assert plan.essential == ("db", "web", "sidecar")


def test_links_and_volumes_from_add_implicit_dependencies() -> None:
    plan = plan_task(
        item(
            {
                "name": "app",
                "image": "a",
                "links": ["db:database"],
                "volumesFrom": [{"sourceContainer": "data", "readOnly": True}],
                "dependsOn": [{"containerName": "db", "condition": "HEALTHY"}],
            },
            {"name": "db", "image": "d"},
            {"name": "data", "image": "x"},
        ),
        EC2,
    )
    deps = {(d.container, d.condition, d.implicit) for d in plan.container("app").depends_on}
    assert deps == {("db", "HEALTHY", False), ("data", "CREATE", True)}
    assert [c.name for c in plan.containers] == ["db", "data", "app"]


@pytest.mark.parametrize(
    ("containers", "message"),
    [
        (
            [
                {"name": "a", "image": "x", "dependsOn": [{"containerName": "b", "condition": "START"}]},
                {"name": "b", "image": "x", "dependsOn": [{"containerName": "a", "condition": "START"}]},
            ],
            "circular container dependency between a, b",
        ),
        ([{"name": "a", "image": "x", "dependsOn": [{"containerName": "zz", "condition": "START"}]}], "'zz'"),
        ([{"name": "a", "image": "x", "dependsOn": [{"containerName": "a", "condition": "START"}]}], "'a'"),
        (
            [
                {"name": "a", "image": "x", "dependsOn": [{"containerName": "b", "condition": "RUNNING"}]},
                {"name": "b", "image": "x"},
            ],
            "invalid dependsOn condition 'RUNNING'",
        ),
        ([{"name": "a", "image": "x", "links": ["nope"]}], "could not find container for link nope"),
        (
            [{"name": "a", "image": "x", "volumesFrom": [{"sourceContainer": "nope"}]}],
            "could not find volume source container with name nope",
        ),
        (
            [{"name": "a", "image": "x", "mountPoints": [{"sourceVolume": "v", "containerPath": "/v"}]}],
            "CannotCreateContainerError: Invalid volume referenced: v",
        ),
    ],
)
def test_bad_graphs_raise_task_spec_error(containers: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(TaskSpecError) as err:
        plan_task(item(*containers), EC2)
    assert message in err.value.reason
    assert err.value.stop_code == "TaskFailedToStart"


@pytest.mark.parametrize(
    ("definition", "host", "stop", "start"),
    [
        ({}, EC2, 30, None),
        ({"stopTimeout": 90, "startTimeout": 40}, EC2, 90, 40),
        ({"stopTimeout": 300}, EC2, 300, None),
        ({"stopTimeout": 300}, FARGATE, 120, None),  # Fargate max
        ({}, FARGATE, 30, None),
        ({}, HostContext(launch_type="EC2", region="r", data_dir="/d", stop_timeout=45), 45, None),
    ],
)
def test_stop_and_start_timeouts(
    definition: dict[str, Any], host: HostContext, stop: int, start: int | None
) -> None:
    mode = "awsvpc" if host.launch_type == "FARGATE" else "bridge"
    _, c = one(definition, host=host, network_mode=mode, launch_type=host.launch_type)
    assert (c.stop_timeout, c.start_timeout) == (stop, start)


# -- planning: overrides, resources, identity ---------------------------------------------------------------


def test_overrides_replace_command_resources_and_merge_environment() -> None:
    plan, c = one(
        {
            "command": ["serve"],
            "cpu": 256,
            "memory": 512,
            "environment": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
        },
        overrides={
            "containerOverrides": [
                {
                    "name": "app",
                    "command": ["migrate", "--now"],
                    "environment": [{"name": "B", "value": "override"}, {"name": "C", "value": "3"}],
                    "cpu": 128,
                    "memory": 1024,
                    "memoryReservation": 256,
                },
                {"name": "other-container-not-in-task", "command": ["x"]},
            ],
            "cpu": "2048",
        },
        cpu="2048",
        memory="4096",
    )
    assert c.definition["command"] == ["migrate", "--now"]
    assert (c.cpu, c.memory, c.memory_reservation) == (128, 1024, 256)
    spec = container_spec(plan, c, host=EC2, endpoint_id="e")
    assert spec.command == ("migrate", "--now")
    assert {k: spec.env[k] for k in "ABC"} == {"A": "1", "B": "override", "C": "3"}
    assert (plan.cpu, plan.memory) == (2048, 4096)


@pytest.mark.parametrize(
    ("task_cpu", "task_memory", "containers", "cpu", "memory"),
    [
        (
            None,
            None,
            [{"cpu": 256, "memory": 512}, {"cpu": 128, "memoryReservation": 128, "memory": 1024}],
            384,
            640,
        ),
        ("1024", "2048", [{"cpu": 256, "memory": 512}], 1024, 2048),
        (None, None, [{}], 0, 0),
    ],
)
def test_task_resource_accounting(
    task_cpu: str | None, task_memory: str | None, containers: list[dict[str, Any]], cpu: int, memory: int
) -> None:
    defs = [{"name": f"c{i}", "image": "x", **c} for i, c in enumerate(containers)]
    taskdef = {k: v for k, v in (("cpu", task_cpu), ("memory", task_memory)) if v}
    plan = plan_task(item(*defs, taskdef=taskdef), EC2)
    assert (plan.reserved_cpu, plan.reserved_memory) == (cpu, memory)


def test_identity_ec2_versus_fargate() -> None:
    ec2 = plan_task(item(), EC2)
    assert (ec2.cluster, ec2.family, ec2.revision, ec2.task_id) == (
        "prod",
        "web",
        3,
        TASK_ARN.rsplit("/", 1)[1],
    )
    assert ec2.container("app").container_arn == "arn:container/app"
    assert ec2.network_mode == "bridge" and ec2.pause_name is None
    unnamed = plan_task(item(), HostContext(launch_type="EXTERNAL", region="us-east-1", data_dir="/d"))
    assert unnamed.cluster == "prod"  # from the cluster ARN
    fargate = plan_task(item(network_mode=None, launch_type="FARGATE", network=NETWORK), FARGATE)
    assert fargate.cluster == CLUSTER_ARN and fargate.network_mode == "awsvpc"
    assert fargate.network is not None and fargate.network.private_ipv4_address == "172.31.3.17"
    assert fargate.pause_name is None  # one container holds its own network namespace
    fargate = plan_task(item(*PAIR, network_mode=None, launch_type="FARGATE", network=NETWORK), FARGATE)
    assert fargate.pause_name == docker_name("web", 3, PAUSE_CONTAINER_NAME, TASK_ARN)


def test_docker_names_are_ecs_style_and_stable() -> None:
    name = docker_name("web", 3, "my_app.1", TASK_ARN)
    assert name.startswith("ecs-web-3-myapp1-") and len(name.rsplit("-", 1)[1]) == 20
    assert name == docker_name("web", 3, "my_app.1", TASK_ARN)
    assert name != docker_name("web", 3, "my_app.1", TASK_ARN + "0")
    assert docker_name("web", 3, PAUSE_CONTAINER_NAME, TASK_ARN).startswith("ecs-web-3-internalecspause-")


def test_awsvpc_without_network_attachment_fails() -> None:
    work = item(network_mode="awsvpc")
    del work["network"]
    with pytest.raises(TaskSpecError, match="network interface"):
        plan_task(work, EC2)


# -- planning: unsupported features -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("definition", "overrides", "feature", "prefix"),
    [
        (
            {"environmentFiles": [{"type": "s3", "value": "arn:aws:s3:::b/x.env"}]},
            None,
            "environmentFiles",
            "ResourceInitializationError: failed to download env files: ",
        ),
        (
            {},
            {"containerOverrides": [{"name": "app", "environmentFiles": [{"type": "s3", "value": "a"}]}]},
            "environmentFiles",
            "ResourceInitializationError: failed to download env files: ",
        ),
        (
            {"logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "g"}}},
            None,
            "logDriver:awslogs",
            "CannotCreateContainerError: logging driver 'awslogs' is not available",
        ),
    ],
)
def test_unsupported_features_fail_with_aws_wording(
    definition: dict[str, Any], overrides: dict[str, Any] | None, feature: str, prefix: str
) -> None:
    with pytest.raises(UnsupportedFeature) as err:
        one(definition, overrides=overrides)
    assert err.value.feature == feature
    assert err.value.reason.startswith(prefix)
    assert "(container app)" in err.value.reason


@pytest.mark.parametrize("driver", ["json-file", "none", "syslog"])
def test_available_log_drivers_pass_through(driver: str) -> None:
    spec = spec_of({"logConfiguration": {"logDriver": driver, "options": {"max-size": "10m"}}})
    assert (spec.log_driver, dict(spec.log_options)) == (driver, {"max-size": "10m"})


# -- planning: volumes --------------------------------------------------------------------------------------


def test_volume_kinds() -> None:
    plan = plan_task(
        item(
            {
                "name": "app",
                "image": "x",
                "mountPoints": [
                    {"sourceVolume": "logs", "containerPath": "/logs"},
                    {"sourceVolume": "scratch", "containerPath": "/scratch", "readOnly": True},
                    {"sourceVolume": "cache", "containerPath": "/cache"},
                    {"sourceVolume": "shared", "containerPath": "/shared"},
                ],
            },
            volumes=[
                {"name": "logs", "host": {"sourcePath": "/var/log/app"}},
                {"name": "scratch", "host": {}},
                {"name": "bare"},
                {
                    "name": "cache",
                    "dockerVolumeConfiguration": {
                        "driver": "local",
                        "driverOpts": {"type": "tmpfs"},
                        "labels": {"a": "b"},
                    },
                },
                {"name": "shared", "dockerVolumeConfiguration": {"scope": "shared", "autoprovision": True}},
                {"name": "shared2", "dockerVolumeConfiguration": {"scope": "shared"}},
            ],
        ),
        EC2,
    )
    kinds = {v.name: (v.kind, v.task_scoped, v.mount_type) for v in plan.volumes}
    assert kinds == {
        "logs": ("host-path", False, "bind"),
        "scratch": ("task-directory", True, "bind"),
        "bare": ("task-directory", True, "bind"),
        "cache": ("docker-volume", True, "volume"),
        "shared": ("docker-volume", False, "volume"),
        "shared2": ("docker-volume", False, "volume"),
    }
    assert plan.volume("logs").source == "/var/log/app"
    assert plan.volume("scratch").source == f"/var/lib/dockyard/tasks/{plan.task_id}/volumes/scratch"
    cache = plan.volume("cache")
    assert cache.source == docker_name("web", 3, "cache", TASK_ARN) and cache.scope == "task"
    assert (cache.driver, dict(cache.driver_opts), dict(cache.labels)) == (
        "local",
        {"type": "tmpfs"},
        {"a": "b"},
    )
    assert (plan.volume("shared").source, plan.volume("shared").autoprovision) == ("shared", True)
    assert plan.volume("shared2").autoprovision is False
    assert plan.volume("shared2").missing_error().reason == (
        "ResourceInitializationError: initialize volume: volume detection failed, volume 'shared2' does not "
        "exist and autoprovision is set to false"
    )
    spec = container_spec(
        plan, plan.container("app"), host=EC2, endpoint_id="e", volume_sources={"logs": "/alt"}
    )
    assert spec.mounts == (
        Mount("bind", "/logs", "/alt"),
        Mount("bind", "/scratch", plan.volume("scratch").source, read_only=True),
        Mount("volume", "/cache", cache.source),
        Mount("volume", "/shared", "shared"),
    )


@pytest.mark.parametrize(
    ("volume", "feature"),
    [
        ({"name": "v", "efsVolumeConfiguration": {"fileSystemId": "fs-1"}}, "efs"),
        ({"name": "v", "fsxWindowsFileServerVolumeConfiguration": {"fileSystemId": "fs-1"}}, "fsx"),
        ({"name": "v", "configuredAtLaunch": True}, "ebs"),
    ],
)
def test_unsupported_volumes(volume: dict[str, Any], feature: str) -> None:
    with pytest.raises(UnsupportedFeature) as err:
        plan_task(item(volumes=[volume]), EC2)
    assert err.value.feature == feature and err.value.error_name == "ResourceInitializationError"


# -- container_spec: labels, environment, resources ---------------------------------------------------------


def test_labels_ecs_labels_win_over_docker_labels() -> None:
    plan, c = one({"dockerLabels": {"team": "a", "com.amazonaws.ecs.cluster": "spoofed"}})
    spec = container_spec(plan, c, host=EC2, endpoint_id="e", extra_labels={"dockyard.agent": "i-1"})
    assert dict(spec.labels) == {
        "team": "a",
        "dockyard.agent": "i-1",
        "com.amazonaws.ecs.cluster": "prod",
        "com.amazonaws.ecs.container-name": "app",
        "com.amazonaws.ecs.task-arn": TASK_ARN,
        "com.amazonaws.ecs.task-definition-family": "web",
        "com.amazonaws.ecs.task-definition-version": "3",
    }
    assert spec.name == c.docker_name and spec.image == "nginx"


def test_fargate_cluster_label_is_the_arn() -> None:
    spec = spec_of({}, host=FARGATE, network_mode="awsvpc", launch_type="FARGATE")
    assert spec.labels["com.amazonaws.ecs.cluster"] == CLUSTER_ARN


@pytest.mark.parametrize(
    ("host", "environment", "expected"),
    [
        (
            EC2,
            [],
            {
                "AWS_EXECUTION_ENV": "AWS_ECS_EC2",
                "AWS_REGION": "us-east-1",
                "AWS_DEFAULT_REGION": "us-east-1",
            },
        ),
        (FARGATE, [], {"AWS_EXECUTION_ENV": "AWS_ECS_FARGATE"}),
        (
            HostContext(launch_type="EXTERNAL", region="us-east-1", data_dir="/d"),
            [],
            {"AWS_EXECUTION_ENV": "AWS_ECS_EXTERNAL"},
        ),
        (
            EC2,
            [{"name": "AWS_REGION", "value": "eu-west-1"}],
            {"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "us-east-1"},
        ),
        (EC2, [{"name": "AWS_DEFAULT_REGION", "value": "eu-west-2"}], {"AWS_DEFAULT_REGION": "eu-west-2"}),
        (
            EC2,
            [{"name": "ECS_CONTAINER_METADATA_URI_V4", "value": "mine"}],
            {"ECS_CONTAINER_METADATA_URI_V4": "http://169.254.170.2/v4/eid-1"},
        ),
        (EC2, [{"name": "EMPTY"}], {"EMPTY": ""}),
    ],
)
def test_environment(host: HostContext, environment: list[dict[str, str]], expected: dict[str, str]) -> None:
    fargate = host.launch_type == "FARGATE"
    spec = spec_of(
        {"environment": environment},
        host=host,
        launch_type=host.launch_type,
        network_mode="awsvpc" if fargate else "bridge",
    )
    for key, value in expected.items():
        assert spec.env[key] == value


def test_metadata_variables() -> None:
    host = HostContext(
        launch_type="EC2", region="us-east-1", data_dir="/d", metadata_endpoint="http://169.254.170.2:51680/"
    )
    spec = spec_of({}, host=host)
    assert spec.env["ECS_CONTAINER_METADATA_URI_V4"] == "http://169.254.170.2:51680/v4/eid-1"
    assert spec.env["ECS_CONTAINER_METADATA_URI"] == "http://169.254.170.2:51680/v3/eid-1"
    assert spec.env["ECS_AGENT_URI"] == "http://169.254.170.2:51680/api/eid-1"


@pytest.mark.parametrize(("cpu", "shares"), [(None, 2), (0, 2), (1, 2), (2, 2), (10, 10), (512, 512)])
def test_cpu_shares_minimum_two(cpu: int | None, shares: int) -> None:
    assert spec_of({} if cpu is None else {"cpu": cpu}).cpu_shares == shares


@pytest.mark.parametrize(
    ("definition", "memory", "reservation"),
    [
        ({}, None, None),
        ({"memory": 512}, 512 * MIB, None),
        ({"memory": 4}, 6 * MIB, None),  # Docker's (and so Dockyard's) minimum hard limit
        ({"memoryReservation": 128}, None, 128 * MIB),
        ({"memory": 1024, "memoryReservation": 256}, 1024 * MIB, 256 * MIB),
    ],
)
def test_memory_limits(definition: dict[str, Any], memory: int | None, reservation: int | None) -> None:
    spec = spec_of(definition)
    assert (spec.memory, spec.memory_reservation) == (memory, reservation)
    assert spec.cgroup_parent == "/dockyard/i-0abc"


def test_fargate_task_level_memory_only_sets_no_container_limit() -> None:
    spec = spec_of({}, host=FARGATE, launch_type="FARGATE", network_mode="awsvpc", cpu="256", memory="512")
    assert spec.memory is None and spec.cgroup_parent is None


@pytest.mark.parametrize(
    ("linux", "swap", "swappiness"),
    [
        ({}, None, None),
        ({"maxSwap": 0}, 512 * MIB, None),
        ({"maxSwap": 256, "swappiness": 10}, 768 * MIB, 10),
        ({"swappiness": 10}, None, None),  # ignored without maxSwap
    ],
)
def test_swap(linux: dict[str, Any], swap: int | None, swappiness: int | None) -> None:
    spec = spec_of({"memory": 512, "linuxParameters": linux})
    assert (spec.memory_swap, spec.memory_swappiness) == (swap, swappiness)


# -- container_spec: process and security settings -------------------------------------------------------


def test_process_and_security_settings() -> None:
    spec = spec_of(
        {
            "entryPoint": ["/bin/sh", "-c"],
            "command": ["exec nginx"],
            "user": "1000:1000",
            "workingDirectory": "/srv",
            "readonlyRootFilesystem": True,
            "privileged": True,
            "interactive": True,
            "pseudoTerminal": True,
            "disableNetworking": True,
            "dockerSecurityOptions": ["no-new-privileges"],
            "systemControls": [{"namespace": "net.core.somaxconn", "value": "1024"}],
            "ulimits": [{"name": "nofile", "softLimit": 1024, "hardLimit": 4096}],
            "linuxParameters": {
                "capabilities": {"add": ["NET_ADMIN"], "drop": ["MKNOD"]},
                "devices": [
                    {"hostPath": "/dev/fuse"},
                    {"hostPath": "/dev/xvdc", "containerPath": "/dev/disk", "permissions": ["read", "write"]},
                ],
                "initProcessEnabled": True,
                "sharedMemorySize": 64,
                "tmpfs": [{"containerPath": "/run", "size": 32, "mountOptions": ["noexec"]}],
            },
        }
    )
    assert (spec.entrypoint, spec.command) == (("/bin/sh", "-c"), ("exec nginx",))
    assert (spec.user, spec.working_dir) == ("1000:1000", "/srv")
    assert (
        spec.readonly_rootfs and spec.privileged and spec.interactive and spec.tty and spec.network_disabled
    )
    assert spec.security_opt == ("no-new-privileges",)
    assert dict(spec.sysctls) == {"net.core.somaxconn": "1024"}
    assert spec.ulimits == (Ulimit("nofile", 1024, 4096),)
    assert (spec.cap_add, spec.cap_drop) == (("NET_ADMIN",), ("MKNOD",))
    assert spec.devices == (("/dev/fuse", "/dev/fuse", "rwm"), ("/dev/xvdc", "/dev/disk", "rw"))
    assert spec.init and spec.shm_size == 64 * MIB
    assert spec.mounts == (Mount("tmpfs", "/run", tmpfs_size=32 * MIB, tmpfs_options=("noexec",)),)


def test_defaults_are_docker_defaults() -> None:
    spec = spec_of({"command": [], "entryPoint": []})
    assert spec.command is None and spec.entrypoint is None
    assert not (spec.privileged or spec.readonly_rootfs or spec.tty or spec.interactive or spec.init)
    assert spec.user is None and spec.working_dir is None and spec.healthcheck is None
    assert spec.ulimits == () and spec.pid_mode is None and spec.ipc_mode is None
    assert spec.stop_timeout == 30 and spec.log_driver is None


def test_fargate_default_nofile_unless_set() -> None:
    fargate: dict[str, Any] = {"host": FARGATE, "launch_type": "FARGATE", "network_mode": "awsvpc"}
    assert spec_of({}, **fargate).ulimits == (Ulimit("nofile", 65535, 65535),)
    set_ = spec_of({"ulimits": [{"name": "nofile", "softLimit": 10, "hardLimit": 20}]}, **fargate)
    assert set_.ulimits == (Ulimit("nofile", 10, 20),)


@pytest.mark.parametrize(
    ("check", "expected"),
    [
        (None, None),
        (
            {"command": ["CMD-SHELL", "curl -f http://localhost/ || exit 1"]},
            HealthCheck(("CMD-SHELL", "curl -f http://localhost/ || exit 1"), 30.0, 5.0, 3, 0.0),
        ),
        (
            {"command": ["CMD", "/bin/check"], "interval": 10, "timeout": 2, "retries": 5, "startPeriod": 60},
            HealthCheck(("CMD", "/bin/check"), 10.0, 2.0, 5, 60.0),
        ),
        ({"command": ["/bin/check", "--quick"]}, HealthCheck(("CMD", "/bin/check", "--quick"))),  # older form
    ],
)
def test_health_check(check: dict[str, Any] | None, expected: HealthCheck | None) -> None:
    plan, c = one({"healthCheck": check} if check else {})
    assert c.health_check == expected
    assert container_spec(plan, c, host=EC2, endpoint_id="e").healthcheck == expected


def test_stop_timeout_passed_to_spec() -> None:
    assert spec_of({"stopTimeout": 75}).stop_timeout == 75


# -- container_spec: networking ------------------------------------------------------------------------------


def test_bridge_ports_links_dns_and_hostname() -> None:
    plan = plan_task(
        item(
            {
                "name": "app",
                "image": "x",
                "hostname": "app-host",
                "links": ["db:database", "cache"],
                "dnsServers": ["10.0.0.2"],
                "dnsSearchDomains": ["corp"],
                "extraHosts": [{"hostname": "api", "ipAddress": "10.0.0.9"}],
                "portMappings": [
                    {"containerPort": 80},
                    {"containerPort": 443, "hostPort": 8443},
                    {"containerPort": 53, "hostPort": 0, "protocol": "udp"},
                ],
            },
            {"name": "db", "image": "d"},
            {"name": "cache", "image": "c"},
        ),
        EC2,
    )
    app = plan.container("app")
    assert [(p.container_port, p.protocol, p.host_port) for p in app.ports] == [
        (80, "tcp", None),
        (443, "tcp", 8443),
        (53, "udp", None),
    ]
    assert [p.key for p in app.dynamic_ports] == [(80, "tcp"), (53, "udp")]
    spec = container_spec(
        plan, app, host=EC2, endpoint_id="e", host_ports={(80, "tcp"): 32768, (53, "udp"): 32769}
    )
    assert spec.network_mode == "bridge"
    assert spec.ports == (
        PortBinding(80, 32768, "tcp", "127.0.0.5"),
        PortBinding(443, 8443, "tcp", "127.0.0.5"),
        PortBinding(53, 32769, "udp", "127.0.0.5"),
    )
    assert spec.links == (
        f"{plan.container('db').docker_name}:database",
        f"{plan.container('cache').docker_name}:cache",
    )
    assert (spec.hostname, spec.dns, spec.dns_search, spec.extra_hosts) == (
        "app-host",
        ("10.0.0.2",),
        ("corp",),
        ("api:10.0.0.9",),
    )
    with pytest.raises(ValueError, match="no host port allocated for 80/tcp"):
        container_spec(plan, app, host=EC2, endpoint_id="e")


def test_bridge_port_range_is_published_as_a_block() -> None:
    plan, c = one({"portMappings": [{"containerPortRange": "8000-8002", "protocol": "tcp"}]})
    assert c.ports[0].count == 3 and c.ports[0].dynamic
    spec = container_spec(plan, c, host=EC2, endpoint_id="e", host_ports={(8000, "tcp"): 40000})
    assert [(b.container_port, b.host_port) for b in spec.ports] == [
        (8000, 40000),
        (8001, 40001),
        (8002, 40002),
    ]


@pytest.mark.parametrize(
    ("mode", "network_mode", "ports"),
    [
        ("host", "host", (PortBinding(8080, None, "tcp"),)),
        ("none", "none", ()),
        ("awsvpc", "dockyard-vpc-1", ()),
    ],
)
def test_non_bridge_network_modes(mode: str, network_mode: str, ports: tuple[PortBinding, ...]) -> None:
    plan, c = one(
        {
            "hostname": "h",
            "dnsServers": ["1.1.1.1"],
            "extraHosts": [{"hostname": "a", "ipAddress": "1.2.3.4"}],
            "portMappings": [{"containerPort": 8080}],
        },
        network_mode=mode,
    )
    spec = container_spec(plan, c, host=EC2, endpoint_id="e")
    assert spec.network_mode == network_mode.format(pause=plan.pause_name)
    assert spec.ports == ports and spec.links == ()
    if mode == "awsvpc":
        # one container: on the VPC network itself, named for its ENI (the definition's hostname,
        # dns and extraHosts do not apply to awsvpc)
        assert spec.hostname == "ip-172-31-3-17.ec2.internal" and spec.dns == ()
        assert spec.extra_hosts == ("ip-172-31-3-17.ec2.internal:172.31.3.17",)
        assert [(p.container_port, p.host_port) for p in c.ports] == [(8080, 8080)]
        pair = plan_task(item({"name": "app", "image": "nginx"}, PAIR[1], network_mode=mode), EC2)
        by_id = container_spec(pair, pair.container("app"), host=EC2, endpoint_id="e", pause_id="abc123")
        assert by_id.network_mode == "container:abc123" and by_id.hostname is None
    else:
        assert spec.hostname == "h"


def test_volumes_from_by_name_or_runtime_id() -> None:
    plan = plan_task(
        item(
            {
                "name": "app",
                "image": "x",
                "volumesFrom": [{"sourceContainer": "data", "readOnly": True}, {"sourceContainer": "logs"}],
            },
            {"name": "data", "image": "x"},
            {"name": "logs", "image": "x"},
        ),
        EC2,
    )
    app = plan.container("app")
    spec = container_spec(plan, app, host=EC2, endpoint_id="e")
    assert spec.volumes_from == (
        f"{plan.container('data').docker_name}:ro",
        plan.container("logs").docker_name,
    )
    spec = container_spec(plan, app, host=EC2, endpoint_id="e", container_ids={"data": "d1d1"})
    assert spec.volumes_from == ("d1d1:ro", plan.container("logs").docker_name)


@pytest.mark.parametrize(
    ("pid", "ipc", "pause", "pid_mode", "ipc_mode"),
    [
        ("host", "host", False, "host", "host"),
        (None, "none", False, None, "none"),
        ("task", "task", True, "container:{pause}", "container:{pause}"),
    ],
)
def test_pid_and_ipc_modes(
    pid: str | None, ipc: str, pause: bool, pid_mode: str | None, ipc_mode: str
) -> None:
    taskdef = {k: v for k, v in (("pidMode", pid), ("ipcMode", ipc)) if v}
    plan, c = one({}, taskdef=taskdef)
    assert (plan.pause_name is not None) == pause
    spec = container_spec(plan, c, host=EC2, endpoint_id="e")
    fmt = {"pause": plan.pause_name}
    assert spec.pid_mode == (pid_mode.format(**fmt) if pid_mode else None)
    assert spec.ipc_mode == ipc_mode.format(**fmt)
    assert spec.network_mode == "bridge"


# -- pause_spec --------------------------------------------------------------------------------------------


def test_pause_spec_awsvpc() -> None:
    plan = plan_task(item(*PAIR, network_mode="awsvpc"), EC2)
    spec = pause_spec(plan, EC2, image="dockyard/pause:1", extra_labels={"dockyard.agent": "i-1"})
    assert spec.name == plan.pause_name and spec.image == "dockyard/pause:1"
    assert spec.network_mode == "dockyard-vpc-1"
    assert (spec.ip_address, spec.mac_address) == ("172.31.3.17", "0a:58:ac:1f:03:11")
    assert spec.hostname == "ip-172-31-3-17.ec2.internal"
    assert spec.extra_hosts == ("ip-172-31-3-17.ec2.internal:172.31.3.17",)
    assert spec.labels["com.amazonaws.ecs.container-name"] == PAUSE_CONTAINER_NAME
    assert spec.labels["com.amazonaws.ecs.task-arn"] == TASK_ARN
    assert spec.labels["dockyard.agent"] == "i-1"
    assert spec.memory == 16 * MIB and spec.cgroup_parent == EC2.cgroup_parent and spec.ports == ()
    assert pause_spec(plan, EC2, image="p", docker_network="vpcnet").network_mode == "vpcnet"


def test_pause_spec_hostname_falls_back_to_ip_name() -> None:
    network = {k: v for k, v in NETWORK.items() if k != "privateDnsName"}
    plan = plan_task(item(*PAIR, network_mode="awsvpc", network=network), EC2)
    assert pause_spec(plan, EC2, image="p").hostname == "ip-172-31-3-17"


def test_a_single_awsvpc_container_holds_its_own_network_namespace() -> None:
    plan = plan_task(item(network_mode="awsvpc"), EC2)
    assert plan.pause_name is None
    spec = container_spec(plan, plan.container("app"), host=EC2, endpoint_id="e", docker_network="vpcnet")
    assert spec.network_mode == "vpcnet"
    assert (spec.ip_address, spec.mac_address) == ("172.31.3.17", "0a:58:ac:1f:03:11")
    assert spec.hostname == "ip-172-31-3-17.ec2.internal"


def test_pause_spec_for_namespaces_only() -> None:
    plan, _ = one({}, taskdef={"ipcMode": "task"})
    spec = pause_spec(plan, EC2, image="p")
    assert spec.network_mode == "none" and spec.ipc_mode == "shareable" and spec.ip_address is None


def test_pause_spec_without_pause_is_an_error() -> None:
    with pytest.raises(ValueError):
        pause_spec(plan_task(item(), EC2), EC2, image="p")


# -- network_bindings ---------------------------------------------------------------------------------------


def _state(ports: tuple[PortBinding, ...]) -> ContainerState:
    return ContainerState(
        id="c1",
        name="n",
        image="i",
        image_id="sha256:x",
        labels={},
        status="running",
        running=True,
        exit_code=None,
        oom_killed=False,
        error="",
        created_at=1.0,
        started_at=2.0,
        finished_at=None,
        health=None,
        ports=ports,
    )


def test_network_bindings_bridge() -> None:
    _, c = one(
        {
            "portMappings": [
                {"containerPort": 80},
                {"containerPort": 53, "protocol": "udp", "hostPort": 53},
                {"containerPortRange": "9000-9001"},
            ]
        }
    )
    published = (
        PortBinding(80, 32768, "tcp", "127.0.0.5"),
        PortBinding(80, 32768, "tcp", "::"),
        PortBinding(53, 53, "udp", ""),
        PortBinding(9000, 40000, "tcp", "127.0.0.5"),
        PortBinding(9001, 40001, "tcp", "127.0.0.5"),
        PortBinding(22, 2222, "tcp", "127.0.0.5"),  # not in the task definition
    )
    expected = [
        {"bindIP": "127.0.0.5", "containerPort": 80, "hostPort": 32768, "protocol": "tcp"},
        {"bindIP": "127.0.0.5", "containerPort": 53, "hostPort": 53, "protocol": "udp"},
        {
            "bindIP": "127.0.0.5",
            "containerPortRange": "9000-9001",
            "hostPortRange": "40000-40001",
            "protocol": "tcp",
        },
    ]
    assert network_bindings(_state(published), c, EC2) == expected
    assert network_bindings(published, c, EC2) == expected
    assert network_bindings((PortBinding(80, 1, "tcp", ""),), c, FARGATE)[0]["bindIP"] == "0.0.0.0"


@pytest.mark.parametrize("mode", ["host", "awsvpc", "none"])
def test_network_bindings_empty_outside_bridge(mode: str) -> None:
    _, c = one({"portMappings": [{"containerPort": 80}]}, network_mode=mode)
    assert network_bindings((PortBinding(80, 80, "tcp", "0.0.0.0"),), c, EC2) == []


def test_plan_does_not_mutate_the_work_item() -> None:
    work = item(
        {"name": "app", "image": "x", "environment": [{"name": "A", "value": "1"}]},
        overrides={"containerOverrides": [{"name": "app", "environment": [{"name": "A", "value": "2"}]}]},
    )
    before = copy.deepcopy(work)
    plan_task(work, EC2)
    assert work == before
