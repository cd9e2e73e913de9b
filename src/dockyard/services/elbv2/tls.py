"""What HTTPS and TLS listeners carry: a certificate from ACM and an SSL policy.

```
Certificates=[{CertificateArn}] --ACM GetCertificate (in process)--> exists? else CertificateNotFound
SslPolicy (default ELBSecurityPolicy-2016-08)   --one of AWS's policy names? else SSLPolicyNotFound
```
ELBv2 never reads ACM's tables: it asks ACM (`elb.acm`, a LocalClient signed as
`elasticloadbalancing.amazonaws.com`) whether the certificate exists in the caller's account
and region. IAM server certificates do not exist in Dockyard.
"""

from __future__ import annotations

import re
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.aws.errors import modeled
from dockyard.core.errors import AwsError
from dockyard.services.elbv2.deps import Elbv2
from dockyard.services.elbv2.errors import CertificateNotFound, ValidationError

__all__ = ["DEFAULT_SSL_POLICY", "SECURE", "SSL_POLICIES", "SSLPolicyNotFound", "tls_settings"]

SSLPolicyNotFound = modeled("elbv2", "SSLPolicyNotFoundException")

SECURE = ("HTTPS", "TLS")
DEFAULT_SSL_POLICY = "ELBSecurityPolicy-2016-08"
SSL_POLICIES = frozenset(
    {
        "ELBSecurityPolicy-2016-08",
        "ELBSecurityPolicy-2015-05",
        "ELBSecurityPolicy-TLS-1-0-2015-04",
        "ELBSecurityPolicy-TLS-1-1-2017-01",
        "ELBSecurityPolicy-TLS-1-2-2017-01",
        "ELBSecurityPolicy-TLS-1-2-Ext-2018-06",
        "ELBSecurityPolicy-FS-2018-06",
        "ELBSecurityPolicy-FS-1-1-2019-08",
        "ELBSecurityPolicy-FS-1-2-2019-08",
        "ELBSecurityPolicy-FS-1-2-Res-2019-08",
        "ELBSecurityPolicy-FS-1-2-Res-2020-10",
        "ELBSecurityPolicy-TLS13-1-0-2021-06",
        "ELBSecurityPolicy-TLS13-1-1-2021-06",
        "ELBSecurityPolicy-TLS13-1-2-2021-06",
        "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
        "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06",
        "ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06",
        "ELBSecurityPolicy-TLS13-1-3-2021-06",
        "ELBSecurityPolicy-TLS13-1-0-FIPS-2023-04",
        "ELBSecurityPolicy-TLS13-1-1-FIPS-2023-04",
        "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
        "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04",
        "ELBSecurityPolicy-TLS13-1-2-Ext0-FIPS-2023-04",
        "ELBSecurityPolicy-TLS13-1-2-Ext1-FIPS-2023-04",
        "ELBSecurityPolicy-TLS13-1-2-Ext2-FIPS-2023-04",
        "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
    }
)
_CERTIFICATE_ARN = re.compile(
    r"^arn:aws[\w-]*:(acm:[a-z0-9-]+:\d{12}:certificate|iam::\d{12}:server-certificate)/.+$"
)


async def _check_certificate(elb: Elbv2, ctx: RequestContext, arn: str) -> None:
    if _CERTIFICATE_ARN.match(arn) is None:
        raise ValidationError(f"Certificate ARN '{arn}' is not valid")
    found = False
    if elb.acm is not None and ":acm:" in arn:
        try:
            await elb.acm.call(
                "GetCertificate", {"CertificateArn": arn}, account_id=ctx.account_id, region=ctx.region
            )
            found = True
        except AwsError:
            found = False
    if not found:
        raise CertificateNotFound(f"Certificate '{arn}' not found")


async def tls_settings(
    elb: Elbv2, ctx: RequestContext, protocol: str, request: dict[str, Any], current: dict[str, Any] | None
) -> dict[str, Any]:
    """The Certificates and SslPolicy members of a listener with `protocol` ({} for HTTP, TCP...).

    `current`: the listener being modified, whose certificate and policy carry over when the
    request does not restate them."""
    if protocol not in SECURE:
        for member, noun in (("Certificates", "certificates"), ("SslPolicy", "an SSL policy")):
            if request.get(member):
                raise ValidationError(
                    f"You cannot specify {noun} for a listener with the '{protocol}' protocol"
                )
        return {}
    keep = current if current is not None and current.get("Protocol") in SECURE else {}
    certificates = request.get("Certificates") or keep.get("Certificates") or []
    if not certificates or not certificates[0].get("CertificateArn"):
        raise ValidationError(f"A certificate must be specified for {protocol} listeners")
    if len(certificates) > 1:
        raise ValidationError("Only one default certificate can be specified for a listener")
    arn = str(certificates[0]["CertificateArn"])
    await _check_certificate(elb, ctx, arn)
    policy = str(request.get("SslPolicy") or keep.get("SslPolicy") or DEFAULT_SSL_POLICY)
    if policy not in SSL_POLICIES:
        raise SSLPolicyNotFound(f"SSL policy '{policy}' not found")
    return {"Certificates": [{"CertificateArn": arn}], "SslPolicy": policy}
