"""The container registry: OCI distribution endpoints (/v2/), blob storage and ECR's rules.

```
storage.py    the BlobStorage protocol; filesystem.py its filesystem backend
catalog.py    repositories, images, tags and blob links in the store: the registry's rules
uploads.py    upload sessions shared by the v2 endpoints and ECR's layer API
auth.py       ECR authorization tokens (GetAuthorizationToken) and the Basic challenge
http_*.py     the /v2/ endpoints
gc.py         garbage collection of unreferenced blobs and abandoned uploads
```
Submodules are imported directly (`from dockyard.registry.catalog import Catalog`).
"""

__all__: list[str] = []
