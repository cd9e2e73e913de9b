"""The certificates TLS listeners serve, as the PEM files HAProxy reads.

```
model (listeners with a certificate ARN) --CertificateSource.pem(account, region, arn)-->
    <data dir>/lb/certs/<digest(arn)>-<digest(bundle)>.pem   (0600: certificate, chain, key)
    --> {listener ARN: path}  -->  `bind <addr>:<port> ssl crt <path>` (config.py)
```
The file name carries a digest of its content, so a re-imported certificate is a new path, a
structural change of the configuration, and a hitless reload. Files no listener names any more
are removed. The source (ACM's `ServedCertificates` in the server) is the only place a private
key is unsealed; this module never logs one.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Protocol

from dockyard.lb.model import Model, digest

__all__ = ["CertificateSource", "write_certificates"]


class CertificateSource(Protocol):
    kind: str  # store changes of this kind may change a certificate

    async def pem(self, account_id: str, region: str, arn: str) -> str | None:
        """Certificate, chain and private key as one PEM bundle; None when it does not exist."""
        ...


def _write_private(path: Path, content: str) -> None:
    if path.exists() and path.read_text() == content:
        os.chmod(path, 0o600)
        return
    temporary = path.with_suffix(".tmp")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(content)
    os.replace(temporary, path)


async def write_certificates(
    model: Model, source: CertificateSource | None, directory: Path
) -> dict[str, Path]:
    """Write each TLS listener's bundle under `directory`; listener ARN -> its file (listeners
    whose certificate cannot be read are left out)."""
    found: dict[str, Path] = {}
    bundles: dict[tuple[str, str, str], str | None] = {}
    for lb in model.load_balancers:
        for listener in lb.listeners:
            if not listener.tls or listener.certificate is None or source is None:
                continue
            wanted = (lb.account, lb.region, listener.certificate)
            if wanted not in bundles:
                bundles[wanted] = await source.pem(*wanted)
            bundle = bundles[wanted]
            if bundle is None:
                continue
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            path = directory / f"{digest(listener.certificate, 16)}-{digest(bundle, 16)}.pem"
            _write_private(path, bundle)
            found[listener.arn] = path
    if directory.exists():
        keep = set(found.values())
        for stale in directory.glob("*.pem"):
            if stale not in keep:
                stale.unlink(missing_ok=True)
    return found
