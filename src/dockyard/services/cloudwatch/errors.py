"""CloudWatch's modelled exceptions (names, statuses and faults from the botocore model).

Their wire codes are the model's `error.code`: `InvalidParameterValueException` is sent as
`InvalidParameterValue`, `MissingRequiredParameterException` as `MissingParameter`,
`InvalidParameterCombinationException` as `InvalidParameterCombination`. Generic input errors
(`ValidationError` on the query protocol) are `dockyard.core.errors.ValidationException`.
"""

from dockyard.aws.errors import modeled

__all__ = [
    "InvalidFormatFault",
    "InvalidNextToken",
    "InvalidParameterCombinationException",
    "InvalidParameterValueException",
    "LimitExceededFault",
    "MissingRequiredParameterException",
    "ResourceNotFound",
    "ResourceNotFoundException",
]

InvalidFormatFault = modeled("cloudwatch", "InvalidFormatFault")
InvalidNextToken = modeled("cloudwatch", "InvalidNextToken")
InvalidParameterCombinationException = modeled("cloudwatch", "InvalidParameterCombinationException")
InvalidParameterValueException = modeled("cloudwatch", "InvalidParameterValueException")
LimitExceededFault = modeled("cloudwatch", "LimitExceededFault")
MissingRequiredParameterException = modeled("cloudwatch", "MissingRequiredParameterException")
ResourceNotFound = modeled("cloudwatch", "ResourceNotFound")
ResourceNotFoundException = modeled("cloudwatch", "ResourceNotFoundException")
