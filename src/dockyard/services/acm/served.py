"""Certificates for the load balancer data plane: what a TLS listener serves, key included.

```
lb data plane --pem(account, region, arn)--> ServedCertificates
      GetCertificate (in process, as elasticloadbalancing.amazonaws.com) -> certificate + chain
      + the private key, unsealed here (no API returns an imported certificate's key)
      --> one PEM bundle, which the data plane writes to a 0600 file for HAProxy
```
This is the only way a private key leaves ACM's store unsealed; it is never logged.
"""

from __future__ import annotations

from dockyard.aws.local_client import LocalClient
from dockyard.core.errors import AwsError
from dockyard.core.sealing import SealError
from dockyard.services.acm.deps import Acm
from dockyard.services.acm.resources import CERTIFICATE, seal_context
from dockyard.store import Key

__all__ = ["ServedCertificates"]


class ServedCertificates:
    kind = CERTIFICATE  # store changes of this kind may change what a listener serves

    def __init__(self, acm: Acm, client: LocalClient) -> None:
        self._acm = acm
        self._client = client

    async def _private_key(self, account_id: str, region: str, arn: str) -> bytes | None:
        found = await self._acm.store.get(Key(account_id, region, CERTIFICATE, arn))
        if found is None:
            return None
        token = (found.value.get("dockyard") or {}).get("PrivateKey")
        try:
            return self._acm.sealer.open(str(token), context=seal_context(account_id, region, arn))
        except SealError:
            return None

    async def pem(self, account_id: str, region: str, arn: str) -> str | None:
        """Certificate, chain and private key as one PEM bundle; None when it does not exist."""
        try:
            got = await self._client.call(
                "GetCertificate", {"CertificateArn": arn}, account_id=account_id, region=region
            )
        except AwsError:
            return None
        key = await self._private_key(account_id, region, arn)
        if key is None:
            return None
        parts = [str(got["Certificate"]).strip(), str(got.get("CertificateChain") or "").strip()]
        return "\n".join(p for p in parts if p) + "\n" + key.decode("ascii")
