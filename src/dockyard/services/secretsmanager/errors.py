"""Secrets Manager's modelled exceptions (names, statuses and faults from the botocore model).

Secrets Manager also answers `ValidationException`, which its model does not list (bad secret
names): that one is `dockyard.core.errors.ValidationException`.
"""

from dockyard.aws.errors import modeled

__all__ = [
    "DecryptionFailure",
    "InvalidNextTokenException",
    "InvalidParameterException",
    "InvalidRequestException",
    "LimitExceededException",
    "ResourceExistsException",
    "ResourceNotFoundException",
]

DecryptionFailure = modeled("secretsmanager", "DecryptionFailure")
InvalidNextTokenException = modeled("secretsmanager", "InvalidNextTokenException")
InvalidParameterException = modeled("secretsmanager", "InvalidParameterException")
InvalidRequestException = modeled("secretsmanager", "InvalidRequestException")
LimitExceededException = modeled("secretsmanager", "LimitExceededException")
ResourceExistsException = modeled("secretsmanager", "ResourceExistsException")
ResourceNotFoundException = modeled("secretsmanager", "ResourceNotFoundException")
