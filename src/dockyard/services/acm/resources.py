"""Store keys, ARNs and lookups shared by the ACM handlers.

| kind            | name             | document                                                     |
|-----------------|------------------|--------------------------------------------------------------|
| acm:certificate | certificate ARN  | CertificateDetail members + Certificate/CertificateChain PEM |
|                 |                  | + `dockyard.PrivateKey` (sealed) and `dockyard.Tags`         |

Status is not stored: a certificate is ISSUED until its NotAfter passes, then EXPIRED.
"""

from __future__ import annotations

import re
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.services.acm.deps import Acm
from dockyard.services.acm.errors import InvalidArnException, ResourceNotFoundException
from dockyard.store import Key, Versioned

__all__ = ["CERTIFICATE", "Document", "certificate_arn", "check_arn", "get", "key", "seal_context", "status"]

CERTIFICATE = "acm:certificate"
Document = dict[str, Any]
_ARN = re.compile(r"^arn:aws[\w-]*:acm:([a-z0-9-]+):(\d{12}):certificate/[0-9a-zA-Z-]+$")


def key(ctx: RequestContext, arn: str) -> Key:
    return Key(ctx.account_id, ctx.region, CERTIFICATE, arn)


def certificate_arn(ctx: RequestContext, certificate_id: str) -> str:
    return f"arn:aws:acm:{ctx.region}:{ctx.account_id}:certificate/{certificate_id}"


def check_arn(arn: str) -> None:
    if _ARN.match(arn) is None:
        raise InvalidArnException(f"String '{arn}' is not a valid ARN.")


async def get(acm: Acm, ctx: RequestContext, arn: str) -> Versioned:
    """The certificate `arn` names in the caller's account and region, or ResourceNotFound."""
    check_arn(arn)
    found = await acm.store.get(key(ctx, arn))
    if found is None:
        raise ResourceNotFoundException(f"Could not find certificate {arn}.")
    return found


def seal_context(account_id: str, region: str, arn: str) -> str:
    """What a certificate's sealed private key is bound to (it opens on no other record)."""
    return f"acm:{account_id}:{region}:{arn}"


def status(doc: Document, now: float) -> str:
    return "EXPIRED" if now > float(doc["NotAfter"]) else "ISSUED"
