"""The error taxonomy.

Clients see `AwsError` subclasses, each carrying the AWS error code, HTTP status and message that
the wire layer serializes. Background loops see `TemporaryError` (retry with backoff) and
`PermanentError` (give up on this key); anything else is a bug and is logged with its request id.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "AwsError",
    "PermanentError",
    "TemporaryError",
    "ValidationException",
    "SerializationException",
    "UnknownOperationException",
    "InternalFailure",
    "AccessDeniedException",
    "UnrecognizedClientException",
    "ThrottlingException",
]


class AwsError(Exception):
    """An error a client is meant to see, exactly as AWS would send it."""

    code: ClassVar[str] = "InternalFailure"
    status: ClassVar[int] = 400
    sender_fault: ClassVar[bool] = True

    def __init__(self, message: str = "", **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields

    def __repr__(self) -> str:
        return f"{self.code}({self.message!r})"


class ValidationException(AwsError):
    code = "ValidationException"


class SerializationException(AwsError):
    code = "SerializationException"


class UnknownOperationException(AwsError):
    code = "UnknownOperationException"


class AccessDeniedException(AwsError):
    code = "AccessDeniedException"


class UnrecognizedClientException(AwsError):
    code = "UnrecognizedClientException"


class ThrottlingException(AwsError):
    code = "ThrottlingException"


class InternalFailure(AwsError):
    code = "InternalFailure"
    status = 500
    sender_fault = False


class TemporaryError(Exception):
    """A background step failed in a way that may pass: retry after `delay` seconds."""

    def __init__(self, message: str, *, delay: float = 1.0) -> None:
        super().__init__(message)
        self.delay = delay


class PermanentError(Exception):
    """A background step cannot succeed by retrying."""
