"""Parameter Store's modelled exceptions (names, statuses and faults from the botocore model).

SSM also answers `ValidationException` and `AccessDeniedException`, which its model does not
list: those are `dockyard.core.errors.ValidationException` and `AccessDeniedException`.
"""

from dockyard.aws.errors import modeled

__all__ = [
    "HierarchyLevelLimitExceededException",
    "InvalidAllowedPatternException",
    "InvalidFilterKey",
    "InvalidFilterOption",
    "InvalidFilterValue",
    "InvalidKeyId",
    "InvalidNextToken",
    "InvalidPolicyTypeException",
    "InvalidResourceId",
    "InvalidResourceType",
    "ParameterAlreadyExists",
    "ParameterMaxVersionLimitExceeded",
    "ParameterNotFound",
    "ParameterPatternMismatchException",
    "ParameterVersionLabelLimitExceeded",
    "ParameterVersionNotFound",
    "TooManyTagsError",
]

HierarchyLevelLimitExceededException = modeled("ssm", "HierarchyLevelLimitExceededException")
InvalidAllowedPatternException = modeled("ssm", "InvalidAllowedPatternException")
InvalidFilterKey = modeled("ssm", "InvalidFilterKey")
InvalidFilterOption = modeled("ssm", "InvalidFilterOption")
InvalidFilterValue = modeled("ssm", "InvalidFilterValue")
InvalidKeyId = modeled("ssm", "InvalidKeyId")
InvalidNextToken = modeled("ssm", "InvalidNextToken")
InvalidPolicyTypeException = modeled("ssm", "InvalidPolicyTypeException")
InvalidResourceId = modeled("ssm", "InvalidResourceId")
InvalidResourceType = modeled("ssm", "InvalidResourceType")
ParameterAlreadyExists = modeled("ssm", "ParameterAlreadyExists")
ParameterMaxVersionLimitExceeded = modeled("ssm", "ParameterMaxVersionLimitExceeded")
ParameterNotFound = modeled("ssm", "ParameterNotFound")
ParameterPatternMismatchException = modeled("ssm", "ParameterPatternMismatchException")
ParameterVersionLabelLimitExceeded = modeled("ssm", "ParameterVersionLabelLimitExceeded")
ParameterVersionNotFound = modeled("ssm", "ParameterVersionNotFound")
TooManyTagsError = modeled("ssm", "TooManyTagsError")
