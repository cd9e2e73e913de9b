"""ACM's modelled exceptions (names, statuses and faults from the botocore model).

ACM also answers `ValidationException` (bad PEM, keys, tags on re-import), which is
`dockyard.core.errors.ValidationException`.
"""

from dockyard.aws.errors import modeled

__all__ = [
    "InvalidArgsException",
    "InvalidArnException",
    "InvalidParameterException",
    "InvalidTagException",
    "ResourceInUseException",
    "ResourceNotFoundException",
    "TooManyTagsException",
]

InvalidArgsException = modeled("acm", "InvalidArgsException")
InvalidArnException = modeled("acm", "InvalidArnException")
InvalidParameterException = modeled("acm", "InvalidParameterException")
InvalidTagException = modeled("acm", "InvalidTagException")
ResourceInUseException = modeled("acm", "ResourceInUseException")
ResourceNotFoundException = modeled("acm", "ResourceNotFoundException")
TooManyTagsException = modeled("acm", "TooManyTagsException")
