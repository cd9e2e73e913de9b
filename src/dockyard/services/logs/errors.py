"""CloudWatch Logs' modelled exceptions (names, statuses and faults from the botocore model).

Logs words every input validation failure as `InvalidParameterException` ("1 validation error
detected: ..."), which the gateway takes care of for the checks made from the model.
"""

from dockyard.aws.errors import modeled

__all__ = [
    "InvalidParameterException",
    "ResourceAlreadyExistsException",
    "ResourceNotFoundException",
    "TooManyTagsException",
    "ValidationException",
    "GROUP_NOT_FOUND",
    "STREAM_NOT_FOUND",
    "BAD_TOKEN",
]

InvalidParameterException = modeled("logs", "InvalidParameterException")
ResourceAlreadyExistsException = modeled("logs", "ResourceAlreadyExistsException")
ResourceNotFoundException = modeled("logs", "ResourceNotFoundException")
TooManyTagsException = modeled("logs", "TooManyTagsException")
ValidationException = modeled("logs", "ValidationException")

GROUP_NOT_FOUND = "The specified log group does not exist."
STREAM_NOT_FOUND = "The specified log stream does not exist."
BAD_TOKEN = "The specified nextToken is invalid."
