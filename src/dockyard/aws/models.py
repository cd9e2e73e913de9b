"""botocore's service models, the single source of truth for names, shapes and errors.

Where botocore and AWS disagree, the correction lives in `PATCHES` below, as data.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from botocore.loaders import Loader
from botocore.model import ServiceModel

__all__ = ["service_model", "PATCHES"]

# (service, shape name) -> {member: override}; applied to the raw model before it is built.
PATCHES: dict[tuple[str, str], dict[str, Any]] = {}


@cache
def _loader() -> Loader:
    return Loader()


@cache
def service_model(service_name: str) -> ServiceModel:
    raw = _loader().load_service_model(service_name, "service-2")
    for (svc, shape), override in PATCHES.items():
        if svc == service_name and shape in raw["shapes"]:
            raw["shapes"][shape].update(override)
    return ServiceModel(raw, service_name=service_name)
