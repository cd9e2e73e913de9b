"""Application Auto Scaling's modelled exceptions (names, statuses and faults from the botocore model)."""

from dockyard.aws.errors import modeled

__all__ = [
    "ConcurrentUpdateException",
    "FailedResourceAccessException",
    "InvalidNextTokenException",
    "LimitExceededException",
    "ObjectNotFoundException",
    "ResourceNotFoundException",
    "TooManyTagsException",
    "ValidationException",
]

ConcurrentUpdateException = modeled("application-autoscaling", "ConcurrentUpdateException")
FailedResourceAccessException = modeled("application-autoscaling", "FailedResourceAccessException")
InvalidNextTokenException = modeled("application-autoscaling", "InvalidNextTokenException")
LimitExceededException = modeled("application-autoscaling", "LimitExceededException")
ObjectNotFoundException = modeled("application-autoscaling", "ObjectNotFoundException")
ResourceNotFoundException = modeled("application-autoscaling", "ResourceNotFoundException")
TooManyTagsException = modeled("application-autoscaling", "TooManyTagsException")
ValidationException = modeled("application-autoscaling", "ValidationException")
