"""ELBv2's modelled exceptions (codes from the botocore model: `TargetGroupNotFoundException` is
sent as `TargetGroupNotFound`) and the `ValidationError` most of its checks answer with."""

from dockyard.aws.errors import modeled
from dockyard.core.errors import ValidationException

__all__ = [
    "CertificateNotFound",
    "DuplicateListener",
    "DuplicateLoadBalancerName",
    "DuplicateTagKeys",
    "DuplicateTargetGroupName",
    "IncompatibleProtocols",
    "InvalidConfigurationRequest",
    "InvalidLoadBalancerAction",
    "InvalidSecurityGroup",
    "InvalidSubnet",
    "InvalidTarget",
    "ListenerNotFound",
    "LoadBalancerNotFound",
    "OperationNotPermitted",
    "PriorityInUse",
    "ResourceInUse",
    "RuleNotFound",
    "SubnetNotFound",
    "TargetGroupAssociationLimit",
    "TargetGroupNotFound",
    "TooManyActions",
    "TooManyListeners",
    "TooManyLoadBalancers",
    "TooManyRules",
    "TooManyTags",
    "TooManyTargetGroups",
    "TooManyTargets",
    "UnsupportedProtocol",
    "ValidationError",
]

CertificateNotFound = modeled("elbv2", "CertificateNotFoundException")
DuplicateListener = modeled("elbv2", "DuplicateListenerException")
DuplicateLoadBalancerName = modeled("elbv2", "DuplicateLoadBalancerNameException")
DuplicateTagKeys = modeled("elbv2", "DuplicateTagKeysException")
DuplicateTargetGroupName = modeled("elbv2", "DuplicateTargetGroupNameException")
IncompatibleProtocols = modeled("elbv2", "IncompatibleProtocolsException")
InvalidConfigurationRequest = modeled("elbv2", "InvalidConfigurationRequestException")
InvalidLoadBalancerAction = modeled("elbv2", "InvalidLoadBalancerActionException")
InvalidSecurityGroup = modeled("elbv2", "InvalidSecurityGroupException")
InvalidSubnet = modeled("elbv2", "InvalidSubnetException")
InvalidTarget = modeled("elbv2", "InvalidTargetException")
ListenerNotFound = modeled("elbv2", "ListenerNotFoundException")
LoadBalancerNotFound = modeled("elbv2", "LoadBalancerNotFoundException")
OperationNotPermitted = modeled("elbv2", "OperationNotPermittedException")
PriorityInUse = modeled("elbv2", "PriorityInUseException")
ResourceInUse = modeled("elbv2", "ResourceInUseException")
RuleNotFound = modeled("elbv2", "RuleNotFoundException")
SubnetNotFound = modeled("elbv2", "SubnetNotFoundException")
TargetGroupAssociationLimit = modeled("elbv2", "TargetGroupAssociationLimitException")
TargetGroupNotFound = modeled("elbv2", "TargetGroupNotFoundException")
TooManyActions = modeled("elbv2", "TooManyActionsException")
TooManyListeners = modeled("elbv2", "TooManyListenersException")
TooManyLoadBalancers = modeled("elbv2", "TooManyLoadBalancersException")
TooManyRules = modeled("elbv2", "TooManyRulesException")
TooManyTags = modeled("elbv2", "TooManyTagsException")
TooManyTargetGroups = modeled("elbv2", "TooManyTargetGroupsException")
TooManyTargets = modeled("elbv2", "TooManyTargetsException")
UnsupportedProtocol = modeled("elbv2", "UnsupportedProtocolException")
# The query protocol sends the generic validation failure as `ValidationError`.
ValidationError = ValidationException
