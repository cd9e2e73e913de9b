"""What CreateService and UpdateService may ask for, with ECS's errors (reference §4.1, §4.8).

Everything launch-related (task definition, launch type versus capacity provider strategy,
compatibility, Fargate sizes, platform version, network configuration, placement constraints and
strategies) is checked by the same code RunTask uses (`launch_from_request`), so a service can
never be created with a configuration its tasks could not be launched with. Added here: the
service's own rules (name, desired count, deployment configuration, DAEMON, deployment
controller, load balancers, service registries).

Load balancers: Dockyard has no Elastic Load Balancing yet, so no target group exists; after the
shape checks a load balancer is refused as ECS refuses a target group it cannot find. Service
registries (Cloud Map) are validated for shape and stored; nothing registers them yet.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.tags import TagError, check_tags
from dockyard.services.ecs import errors
from dockyard.services.ecs.deps import Ecs
from dockyard.services.ecs.task_request import Launch, launch_from_request

__all__ = [
    "DAEMON_DESIRED_COUNT",
    "check_service_name",
    "check_client_token",
    "check_desired_count",
    "check_tags_of",
    "check_controller",
    "check_unsupported",
    "check_daemon",
    "deployment_configuration",
    "check_grace_period",
    "check_load_balancers",
    "check_service_registries",
    "resolve_launch",
    "launch_request",
    "validated_launch",
    "capacity_choice",
    "finish_spec",
]

_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")
DAEMON_DESIRED_COUNT = (
    "The daemon scheduling strategy does not support a desired count for services. "
    "Remove the desired count value and try again"
)


def check_service_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise errors.InvalidParameterException(
            "Service name can have up to 255 letters (uppercase and lowercase), numbers, underscores, "
            "and hyphens."
        )


def check_client_token(token: str | None) -> None:
    if token is not None and not (1 <= len(token) <= 36 and all(33 <= ord(c) <= 126 for c in token)):
        raise errors.InvalidParameterException(
            "clientToken can have up to 36 ASCII characters in the range of 33-126 (inclusive)."
        )


def check_desired_count(value: int | None, scheduling: str, *, required: bool) -> None:
    if scheduling == "DAEMON":
        if value is not None:
            raise errors.InvalidParameterException(DAEMON_DESIRED_COUNT)
        return
    if value is None:
        if required:
            raise errors.InvalidParameterException(
                "The desired count must be specified for a service using the REPLICA scheduling strategy."
            )
        return
    if value < 0:
        raise errors.InvalidParameterException("Desired count must be greater than or equal to 0.")


def check_tags_of(tags: list[dict[str, str]]) -> None:
    try:
        check_tags(tags)
    except TagError as exc:
        raise errors.InvalidParameterException(str(exc)) from exc


def check_controller(controller: Mapping[str, Any] | None) -> None:
    kind = (controller or {}).get("type", "ECS")
    if kind != "ECS":
        raise errors.UnsupportedFeatureException(
            f"The {kind} deployment controller is not supported by Dockyard; use the ECS deployment "
            "controller."
        )


def check_unsupported(request: Mapping[str, Any]) -> None:
    """Features whose platform pieces Dockyard does not have."""
    if request.get("serviceConnectConfiguration", {}).get("enabled"):
        raise errors.NamespaceNotFoundException("Namespace not found.")
    for name, what in (
        ("volumeConfigurations", "Amazon EBS volumes configured at deployment"),
        ("vpcLatticeConfigurations", "VPC Lattice"),
    ):
        if request.get(name):
            raise errors.UnsupportedFeatureException(f"{what} is not supported by Dockyard.")
    strategy = (request.get("deploymentConfiguration") or {}).get("strategy")
    if strategy not in (None, "ROLLING"):
        raise errors.UnsupportedFeatureException(
            f"The {strategy} deployment strategy is not supported by Dockyard; use ROLLING."
        )


def check_daemon(request: Mapping[str, Any], cluster: Mapping[str, Any]) -> None:
    """The DAEMON strategy's rules, before anything launch-related is looked at."""
    if request.get("placementStrategy"):
        raise errors.InvalidParameterException(
            "The daemon scheduling strategy does not support placement strategies. "
            "Remove the placement strategy and try again"
        )
    if request.get("launchType") == "FARGATE":
        raise errors.InvalidParameterException(
            "The daemon scheduling strategy is not supported with the FARGATE launch type."
        )
    strategy = request.get("capacityProviderStrategy")
    if strategy or (not request.get("launchType") and cluster.get("defaultCapacityProviderStrategy")):
        raise errors.InvalidParameterException(
            "Specifying a capacity provider strategy is not supported when you create a service using "
            "the DAEMON scheduling strategy."
        )


def deployment_configuration(
    given: Mapping[str, Any] | None, current: Mapping[str, Any] | None, scheduling: str
) -> dict[str, Any]:
    """The deployment configuration after a request: ECS's defaults (REPLICA 100/200, DAEMON 0/100),
    then the current values (UpdateService), then the given ones; validated."""
    out: dict[str, Any] = {
        "deploymentCircuitBreaker": {"enable": False, "rollback": False},
        "maximumPercent": 100 if scheduling == "DAEMON" else 200,
        "minimumHealthyPercent": 0 if scheduling == "DAEMON" else 100,
    }
    for source in (current or {}, given or {}):
        for name, value in source.items():
            if value is None:
                continue
            if name == "deploymentCircuitBreaker":
                out[name] = {"enable": bool(value.get("enable")), "rollback": bool(value.get("rollback"))}
            elif name == "alarms":
                out[name] = _alarms(value)
            elif name in ("maximumPercent", "minimumHealthyPercent", "strategy", "bakeTimeInMinutes"):
                out[name] = value
    bake = out.get("bakeTimeInMinutes")
    if bake is not None and not 0 <= int(bake) <= 1440:
        raise errors.InvalidParameterException("bakeTimeInMinutes must be between 0 and 1440 (inclusive).")
    minimum = int(out["minimumHealthyPercent"])
    maximum = int(out["maximumPercent"])
    if not 0 <= minimum <= 100:
        raise errors.InvalidParameterException("minimumHealthyPercent must be between 0 and 100 (inclusive).")
    if scheduling == "DAEMON" and maximum != 100:
        raise errors.InvalidParameterException(
            "The maximumPercent parameter must be 100 for a service using the DAEMON scheduling strategy."
        )
    if maximum < 0:
        raise errors.InvalidParameterException("maximumPercent must be greater than or equal to 0.")
    return out


def _alarms(value: Mapping[str, Any]) -> dict[str, Any]:
    """`deploymentConfiguration.alarms`: CloudWatch alarm names (they need not exist yet)."""
    names = value.get("alarmNames") or []
    if not isinstance(names, list) or not all(isinstance(n, str) and 0 < len(n) <= 255 for n in names):
        raise errors.InvalidParameterException("alarmNames must be a list of CloudWatch alarm names.")
    if value.get("enable") and not names:
        raise errors.InvalidParameterException(
            "alarmNames must contain at least one alarm name when deployment alarms are enabled."
        )
    return {
        "alarmNames": list(names),
        "enable": bool(value.get("enable")),
        "rollback": bool(value.get("rollback")),
    }


def check_grace_period(value: int | None) -> None:
    if value is not None and not 0 <= value <= 2147483647:
        raise errors.InvalidParameterException(
            "healthCheckGracePeriodSeconds must be between 0 and 2147483647."
        )


def check_load_balancers(load_balancers: list[Mapping[str, Any]], td: Mapping[str, Any]) -> None:
    """The shape, as ECS checks it against the task definition (the target groups themselves are
    checked with Elastic Load Balancing: `service_targets.check_target_groups`)."""
    if not load_balancers:
        return
    if len(load_balancers) > 5:
        raise errors.InvalidParameterException("loadBalancers can have at most 5 items.")
    containers = {c["name"]: c for c in td.get("containerDefinitions", [])}
    for item in load_balancers:
        name = item.get("containerName")
        port = item.get("containerPort")
        if name is None or port is None:
            raise errors.InvalidParameterException(
                "containerName and containerPort must be specified for a load balancer."
            )
        container = containers.get(name)
        if container is None:
            raise errors.InvalidParameterException(
                f"The container {name} does not exist in the task definition."
            )
        ports = {m.get("containerPort") for m in container.get("portMappings", [])}
        if port not in ports:
            raise errors.InvalidParameterException(
                f"The container {name} did not have a container port {port} defined."
            )
    for item in load_balancers:
        if item.get("loadBalancerName") and not item.get("targetGroupArn"):
            raise errors.InvalidParameterException(
                "Classic Load Balancers are not supported: use targetGroupArn with an Application or "
                "Network Load Balancer."
            )


def check_service_registries(registries: list[Mapping[str, Any]]) -> None:
    if len(registries) > 1:
        raise errors.InvalidParameterException("Only one service registry is supported per service.")
    for item in registries:
        arn = str(item.get("registryArn") or "")
        if not arn.startswith("arn:") or ":servicediscovery:" not in arn:
            raise errors.InvalidParameterException(
                "The registryArn must be a valid AWS Cloud Map service ARN."
            )


def launch_request(cluster: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """The RunTask-shaped request a deployment's tasks are launched with."""
    request: dict[str, Any] = {"cluster": cluster, "taskDefinition": spec["taskDefinition"]}
    for name in (
        "launchType",
        "capacityProviderStrategy",
        "platformVersion",
        "networkConfiguration",
        "placementConstraints",
        "placementStrategy",
        "enableExecuteCommand",
    ):
        if spec.get(name) is not None:
            request[name] = spec[name]
    return request


async def resolve_launch(
    ecs: Ecs, ctx: RequestContext, cluster: str, spec: Mapping[str, Any], *, allow_inactive: bool = False
) -> Launch:
    """Validate a deployment's spec exactly as RunTask would launch it."""
    request = launch_request(cluster, spec)
    if request.get("launchType") is None and not request.get("capacityProviderStrategy"):
        request["launchType"] = "EC2"
    return await launch_from_request(ecs, ctx, request, allow_inactive=allow_inactive)


async def validated_launch(ecs: Ecs, ctx: RequestContext, cluster: str, spec: dict[str, Any]) -> Launch:
    """`resolve_launch` for CreateService / UpdateService: an INACTIVE revision is a ClientException."""
    try:
        return await resolve_launch(ecs, ctx, cluster, spec)
    except errors.InvalidParameterException as exc:
        if exc.message == "TaskDefinition is inactive":
            raise errors.ClientException("TaskDefinition is inactive") from exc
        raise


def capacity_choice(request: Mapping[str, Any], cluster: Mapping[str, Any]) -> dict[str, Any]:
    """launchType or capacityProviderStrategy as the service keeps it: the cluster's default
    strategy when neither is given, else EC2."""
    if request.get("launchType"):
        if request.get("capacityProviderStrategy"):
            raise errors.InvalidParameterException(
                "Specifying both a launch type and capacity provider strategy is not supported. "
                "Remove one and try again."
            )
        return {"launchType": request["launchType"]}
    strategy = request.get("capacityProviderStrategy") or cluster.get("defaultCapacityProviderStrategy") or []
    if strategy:
        return {
            "capacityProviderStrategy": [
                {
                    "capacityProvider": i["capacityProvider"],
                    "weight": i.get("weight", 0),
                    "base": i.get("base", 0),
                }
                for i in strategy
            ]
        }
    return {"launchType": "EC2"}


def finish_spec(spec: dict[str, Any], launch: Launch, requested_platform: str | None) -> None:
    """Complete a deployment spec from its validated launch: the revision's ARN, the platform
    version Fargate runs (LATEST unless given), then the load balancers and registries."""
    spec["taskDefinition"] = launch.task_definition["taskDefinitionArn"]
    if launch.launch_type == "FARGATE":
        spec["platformVersion"] = requested_platform or spec.get("platformVersion") or "LATEST"
    else:
        spec.pop("platformVersion", None)
    check_load_balancers(spec.get("loadBalancers") or [], launch.task_definition)
    check_service_registries(spec.get("serviceRegistries") or [])
