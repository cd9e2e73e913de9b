"""Exception classes for a service's modelled errors, made from its botocore model.

    ClusterNotFoundException = modeled("ecs", "ClusterNotFoundException")
    raise ClusterNotFoundException("Cluster not found.")

The name is checked against the model when the module loads, and the HTTP status and fault come
from the model's `error` trait, so they cannot drift from what clients expect.
"""

from __future__ import annotations

from dockyard.aws.models import service_model
from dockyard.core.errors import AwsError

__all__ = ["modeled"]


def modeled(service: str, name: str) -> type[AwsError]:
    model = service_model(service)
    if name not in model.shape_names:
        raise ValueError(f"{service} does not model an error named {name!r}")
    shape = model.shape_for(name)
    trait = shape.metadata.get("error", {})
    fault = shape.metadata.get("fault", False)
    status = int(trait.get("httpStatusCode", 500 if fault else 400))
    return type(name, (AwsError,), {"code": name, "status": status, "sender_fault": not fault})
