"""The registry as the server runs it: storage, catalog, uploads, tokens, /v2/ routes and GC.

    registry = Registry.open(store, clock, ids, secret_key=key, settings=RegistrySettings(...))
    registry.install(app)          # /v2/ and the layer download URLs
    registry.start()               # garbage collection   ...   await registry.stop()

Blobs live under `<data dir>/registry`, or in a temporary directory removed at `stop()` when the
server keeps no data directory (tests).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

from dockyard.core.clock import Clock
from dockyard.core.ids import IdGenerator
from dockyard.registry.auth import TokenSigner
from dockyard.registry.catalog import Catalog, CatalogSettings
from dockyard.registry.downloads import DownloadLinks
from dockyard.registry.filesystem import FilesystemStorage
from dockyard.registry.gc import GarbageCollector, GcSettings
from dockyard.registry.http_routes import RegistryHttp
from dockyard.registry.public import public_host, token_endpoint
from dockyard.registry.storage import BlobStorage
from dockyard.registry.uploads import Uploads
from dockyard.store import Store

__all__ = ["Registry", "RegistrySettings"]


@dataclass(frozen=True, slots=True)
class RegistrySettings:
    endpoint: str  # the server's URL ("http://127.0.0.1:4566")
    data_dir: Path | None = None  # None: a temporary directory
    host: str | None = None  # the registry host in repository URIs; None: the endpoint's host:port
    public_host: str | None = None  # the host of public repositories; None: derived (registry.public)
    gc: GcSettings = field(default_factory=GcSettings)

    @property
    def registry_host(self) -> str:
        return self.host or urlsplit(self.endpoint).netloc

    @property
    def public_registry_host(self) -> str:
        """The host of public (ECR Public) repository URIs, e.g. "localhost:4566"."""
        return self.public_host or public_host(self.registry_host)

    @property
    def proxy_endpoint(self) -> str:
        """GetAuthorizationToken's proxyEndpoint: the scheme the server speaks and the host."""
        return f"{urlsplit(self.endpoint).scheme}://{self.registry_host}"


class Registry:
    def __init__(
        self,
        catalog: Catalog,
        uploads: Uploads,
        signer: TokenSigner,
        downloads: DownloadLinks,
        gc: GarbageCollector,
        settings: RegistrySettings,
        *,
        temporary: Path | None = None,
    ) -> None:
        self.catalog = catalog
        self.uploads = uploads
        self.signer = signer
        self.downloads = downloads
        self.gc = gc
        self.settings = settings
        self._temporary = temporary

    @classmethod
    def open(
        cls,
        store: Store,
        clock: Clock,
        ids: IdGenerator,
        *,
        secret_key: bytes,
        settings: RegistrySettings,
        storage: BlobStorage | None = None,
    ) -> Registry:
        temporary: Path | None = None
        if storage is None:
            if settings.data_dir is not None:
                root = settings.data_dir / "registry"
            else:
                root = temporary = Path(tempfile.mkdtemp(prefix="dockyard-registry-"))
            storage = FilesystemStorage(root)
        catalog = Catalog(store, storage, clock, CatalogSettings(host=settings.registry_host))
        signer = TokenSigner(secret_key, clock)
        return cls(
            catalog,
            Uploads(catalog, ids),
            signer,
            DownloadLinks(catalog, secret_key, clock, endpoint=settings.endpoint),
            GarbageCollector(catalog, clock, settings.gc),
            settings,
            temporary=temporary,
        )

    def install(self, app: web.Application) -> None:
        RegistryHttp(
            self.catalog,
            self.uploads,
            self.signer,
            self.catalog.clock,
            public_host=self.settings.public_registry_host,
        ).install(app)
        token = token_endpoint(self.signer, self.catalog.clock)  # the public host's Bearer realm
        app.router.add_route("GET", "/token/", token)
        app.router.add_route("POST", "/token/", token)
        self.downloads.install(app)

    def start(self) -> None:
        self.gc.start()

    async def stop(self) -> None:
        await self.gc.stop()

    def close(self) -> None:
        """Remove the temporary blob directory, if the registry made one."""
        if self._temporary is not None:
            shutil.rmtree(self._temporary, ignore_errors=True)
            self._temporary = None
