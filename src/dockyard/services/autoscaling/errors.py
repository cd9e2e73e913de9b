"""Auto Scaling's modelled faults (codes from the botocore model: `AlreadyExistsFault` is sent as
`AlreadyExists`) and the `ValidationError` most of its checks answer with."""

from dockyard.aws.errors import modeled
from dockyard.core.errors import ValidationException

__all__ = [
    "AlreadyExistsFault",
    "InvalidNextToken",
    "LimitExceededFault",
    "ResourceContentionFault",
    "ResourceInUseFault",
    "ScalingActivityInProgressFault",
    "ValidationError",
]

AlreadyExistsFault = modeled("autoscaling", "AlreadyExistsFault")
InvalidNextToken = modeled("autoscaling", "InvalidNextToken")
LimitExceededFault = modeled("autoscaling", "LimitExceededFault")
ResourceContentionFault = modeled("autoscaling", "ResourceContentionFault")
ResourceInUseFault = modeled("autoscaling", "ResourceInUseFault")
ScalingActivityInProgressFault = modeled("autoscaling", "ScalingActivityInProgressFault")
# The query protocol sends the generic validation failure as `ValidationError`.
ValidationError = ValidationException
