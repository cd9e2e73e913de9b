"""What ECR handlers are given: the store, the clock, ids and the registry (catalog, uploads,
tokens, download links) the /v2/ endpoints share."""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.core.clock import Clock
from dockyard.core.ids import IdGenerator
from dockyard.registry.catalog import Catalog
from dockyard.registry.service import Registry
from dockyard.store import Store

__all__ = ["Ecr"]


@dataclass(frozen=True, slots=True)
class Ecr:
    store: Store
    clock: Clock
    ids: IdGenerator
    registry: Registry

    @property
    def catalog(self) -> Catalog:
        return self.registry.catalog

    @property
    def host(self) -> str:
        """The registry host of repository URIs."""
        return self.registry.catalog.settings.host
