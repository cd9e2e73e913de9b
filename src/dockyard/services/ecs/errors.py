"""ECS's modelled exceptions (names, statuses and faults from the botocore model)."""

from dockyard.aws.errors import modeled

__all__ = [
    "AttributeLimitExceededException",
    "ClientException",
    "ClusterContainsContainerInstancesException",
    "ClusterContainsServicesException",
    "ClusterContainsTasksException",
    "ClusterNotFoundException",
    "ConflictException",
    "InvalidParameterException",
    "LimitExceededException",
    "NamespaceNotFoundException",
    "PlatformUnknownException",
    "ResourceInUseException",
    "ResourceNotFoundException",
    "ServerException",
    "ServiceDeploymentNotFoundException",
    "ServiceNotActiveException",
    "ServiceNotFoundException",
    "TargetNotFoundException",
    "UnsupportedFeatureException",
]

AttributeLimitExceededException = modeled("ecs", "AttributeLimitExceededException")
ClientException = modeled("ecs", "ClientException")
ClusterContainsContainerInstancesException = modeled("ecs", "ClusterContainsContainerInstancesException")
ClusterContainsServicesException = modeled("ecs", "ClusterContainsServicesException")
ClusterContainsTasksException = modeled("ecs", "ClusterContainsTasksException")
ClusterNotFoundException = modeled("ecs", "ClusterNotFoundException")
ConflictException = modeled("ecs", "ConflictException")
InvalidParameterException = modeled("ecs", "InvalidParameterException")
LimitExceededException = modeled("ecs", "LimitExceededException")
NamespaceNotFoundException = modeled("ecs", "NamespaceNotFoundException")
PlatformUnknownException = modeled("ecs", "PlatformUnknownException")
ResourceInUseException = modeled("ecs", "ResourceInUseException")
ResourceNotFoundException = modeled("ecs", "ResourceNotFoundException")
ServerException = modeled("ecs", "ServerException")
ServiceDeploymentNotFoundException = modeled("ecs", "ServiceDeploymentNotFoundException")
ServiceNotActiveException = modeled("ecs", "ServiceNotActiveException")
ServiceNotFoundException = modeled("ecs", "ServiceNotFoundException")
TargetNotFoundException = modeled("ecs", "TargetNotFoundException")
UnsupportedFeatureException = modeled("ecs", "UnsupportedFeatureException")
