"""ECR Public's modelled exceptions, and how the registry catalog's errors become them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from dockyard.aws.errors import modeled
from dockyard.core.errors import AwsError
from dockyard.registry.model import (
    CatalogError,
    ImageNotFound,
    RepositoryAlreadyExists,
    RepositoryNotEmpty,
    RepositoryNotFound,
)
from dockyard.services.ecr import errors as ecr_errors

__all__ = [
    "InvalidParameterException",
    "InvalidTagParameterException",
    "ImageNotFoundException",
    "RepositoryAlreadyExistsException",
    "RepositoryNotEmptyException",
    "RepositoryNotFoundException",
    "translated",
]

ImageNotFoundException = modeled("ecr-public", "ImageNotFoundException")
InvalidParameterException = modeled("ecr-public", "InvalidParameterException")
InvalidTagParameterException = modeled("ecr-public", "InvalidTagParameterException")
RepositoryAlreadyExistsException = modeled("ecr-public", "RepositoryAlreadyExistsException")
RepositoryNotEmptyException = modeled("ecr-public", "RepositoryNotEmptyException")
RepositoryNotFoundException = modeled("ecr-public", "RepositoryNotFoundException")

_DIRECT: list[tuple[type[CatalogError], type[AwsError]]] = [
    (RepositoryNotFound, RepositoryNotFoundException),
    (RepositoryAlreadyExists, RepositoryAlreadyExistsException),
    (RepositoryNotEmpty, RepositoryNotEmptyException),
    (ImageNotFound, ImageNotFoundException),
]


@contextmanager
def translated(repository: str, registry_id: str) -> Iterator[None]:
    """Raise catalog errors inside the block as the ECR Public exceptions for them."""
    try:
        yield
    except CatalogError as exc:
        for source, target in _DIRECT:
            if isinstance(exc, source):
                raise target(exc.message) from None
        raise ecr_errors.to_aws(exc, repository=repository, registry_id=registry_id) from None
