"""EC2's error codes and messages.

EC2's botocore model declares no error shapes: its errors are dotted codes sent in the ec2
protocol's `<Response><Errors><Error><Code>` (botocore reports the code in `Error.Code`), such as
`InvalidInstanceID.NotFound`. Each is a class here; the helpers word the common messages as EC2
does.
"""

from __future__ import annotations

from collections.abc import Sequence

from dockyard.core.errors import AwsError

__all__ = [
    "Ec2Error",
    "CannotDelete",
    "DependencyViolation",
    "DryRunOperation",
    "IncorrectInstanceState",
    "InsufficientInstanceCapacity",
    "InvalidAMIIDMalformed",
    "InvalidGroupDuplicate",
    "InvalidGroupIdMalformed",
    "InvalidGroupReserved",
    "InvalidGroupNotFound",
    "InvalidID",
    "InvalidIPAddressInUse",
    "InvalidInstanceIDMalformed",
    "InvalidInstanceIDNotFound",
    "InvalidInstanceType",
    "InvalidLaunchTemplateIdMalformed",
    "InvalidLaunchTemplateIdNotFound",
    "InvalidLaunchTemplateIdVersionNotFound",
    "InvalidLaunchTemplateNameAlreadyExists",
    "InvalidLaunchTemplateNameNotFound",
    "InvalidPaginationToken",
    "InvalidParameterCombination",
    "InvalidParameterValue",
    "InvalidPermissionDuplicate",
    "InvalidPermissionNotFound",
    "InvalidSubnetIDMalformed",
    "InvalidSubnetIDNotFound",
    "InvalidUserDataMalformed",
    "InvalidVpcIDMalformed",
    "InvalidVpcIDNotFound",
    "MissingParameter",
    "OperationNotPermitted",
    "TagLimitExceeded",
    "malformed_id",
    "not_found_ids",
]


class Ec2Error(AwsError):
    code = "InvalidParameterValue"


def _error(code: str, *, status: int = 400, server: bool = False) -> type[Ec2Error]:
    name = code.replace(".", "")
    return type(name, (Ec2Error,), {"code": code, "status": status, "sender_fault": not server})


CannotDelete = _error("CannotDelete")
DependencyViolation = _error("DependencyViolation")
DryRunOperation = _error("DryRunOperation", status=412)
IncorrectInstanceState = _error("IncorrectInstanceState")
InsufficientInstanceCapacity = _error("InsufficientInstanceCapacity", status=500, server=True)
InvalidAMIIDMalformed = _error("InvalidAMIID.Malformed")
InvalidGroupDuplicate = _error("InvalidGroup.Duplicate")
InvalidGroupIdMalformed = _error("InvalidGroupId.Malformed")
InvalidGroupNotFound = _error("InvalidGroup.NotFound")
InvalidGroupReserved = _error("InvalidGroup.Reserved")
InvalidID = _error("InvalidID")
InvalidIPAddressInUse = _error("InvalidIPAddress.InUse")
InvalidInstanceIDMalformed = _error("InvalidInstanceID.Malformed")
InvalidInstanceIDNotFound = _error("InvalidInstanceID.NotFound")
InvalidInstanceType = _error("InvalidInstanceType")
InvalidLaunchTemplateIdMalformed = _error("InvalidLaunchTemplateId.Malformed")
InvalidLaunchTemplateIdNotFound = _error("InvalidLaunchTemplateId.NotFound")
InvalidLaunchTemplateIdVersionNotFound = _error("InvalidLaunchTemplateId.VersionNotFound")
InvalidLaunchTemplateNameAlreadyExists = _error("InvalidLaunchTemplateName.AlreadyExistsException")
InvalidLaunchTemplateNameNotFound = _error("InvalidLaunchTemplateName.NotFoundException")
InvalidPaginationToken = _error("InvalidPaginationToken")
InvalidParameterCombination = _error("InvalidParameterCombination")
InvalidParameterValue = _error("InvalidParameterValue")
InvalidPermissionDuplicate = _error("InvalidPermission.Duplicate")
InvalidPermissionNotFound = _error("InvalidPermission.NotFound")
InvalidSubnetIDMalformed = _error("InvalidSubnetID.Malformed")
InvalidSubnetIDNotFound = _error("InvalidSubnetID.NotFound")
InvalidUserDataMalformed = _error("InvalidUserData.Malformed")
InvalidVpcIDMalformed = _error("InvalidVpcID.Malformed")
InvalidVpcIDNotFound = _error("InvalidVpcID.NotFound")
MissingParameter = _error("MissingParameter")
OperationNotPermitted = _error("OperationNotPermitted")
TagLimitExceeded = _error("TagLimitExceeded")


def malformed_id(error: type[Ec2Error], value: str, prefix: str) -> Ec2Error:
    """`Invalid id: "foo" (expecting "i-...")`"""
    return error(f'Invalid id: "{value}" (expecting "{prefix}-...")')


def not_found_ids(error: type[Ec2Error], noun: str, missing: Sequence[str]) -> Ec2Error:
    """`The instance ID 'i-1' does not exist` / `The instance IDs 'i-1, i-2' do not exist`."""
    if len(missing) == 1:
        return error(f"The {noun} ID '{missing[0]}' does not exist")
    return error(f"The {noun} IDs '{', '.join(missing)}' do not exist")
