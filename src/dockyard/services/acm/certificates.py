"""Certificates: ImportCertificate, DescribeCertificate, GetCertificate, ListCertificates,
DeleteCertificate.

Only imported certificates exist in Dockyard (RequestCertificate needs a public CA). An import
checks the PEM blobs (`pem.parse_import`), seals the private key at rest and keeps the
certificate and its chain as given; a re-import (CertificateArn given) replaces all three and
keeps the ARN, the tags and CreatedAt. InUseBy and the in-use refusal of DeleteCertificate come
from Elastic Load Balancing's listeners (`usage`).
"""

from __future__ import annotations

from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.errors import ValidationException
from dockyard.core.pagination import InvalidToken, paginate
from dockyard.services.acm.api import api
from dockyard.services.acm.deps import Acm
from dockyard.services.acm.errors import InvalidArgsException, ResourceInUseException
from dockyard.services.acm.pem import Parsed, parse_import
from dockyard.services.acm.resources import (
    CERTIFICATE,
    Document,
    certificate_arn,
    get,
    key,
    seal_context,
    status,
)
from dockyard.services.acm.tags import checked_tags
from dockyard.services.acm.usage import in_use
from dockyard.store import Conflict, Delete, Put

__all__ = [
    "delete_certificate",
    "describe_certificate",
    "get_certificate",
    "import_certificate",
    "list_certificates",
]

_TAGS_ON_REIMPORT = "You cannot apply tags when reimporting a certificate."
_DEFAULT_KEY_TYPES = ("RSA_1024", "RSA_2048")  # ListCertificates without Includes.keyTypes
_STATUSES = (
    "PENDING_VALIDATION",
    "ISSUED",
    "INACTIVE",
    "EXPIRED",
    "VALIDATION_TIMED_OUT",
    "REVOKED",
    "FAILED",
)


def _document(acm: Acm, ctx: RequestContext, arn: str, parsed: Parsed, previous: Document | None) -> Document:
    now = acm.clock.now()
    internal = (previous or {}).get("dockyard") or {}
    doc: Document = {
        "CertificateArn": arn,
        "DomainName": parsed.domain_name,
        "SubjectAlternativeNames": list(parsed.alternative_names),
        "Serial": parsed.serial,
        "Subject": parsed.subject,
        "Issuer": parsed.issuer,
        "CreatedAt": (previous or {}).get("CreatedAt", now),
        "ImportedAt": now,
        "NotBefore": parsed.not_before,
        "NotAfter": parsed.not_after,
        "KeyAlgorithm": parsed.key_algorithm,
        "SignatureAlgorithm": parsed.signature_algorithm,
        "Type": "IMPORTED",
        "KeyUsages": [{"Name": name} for name in parsed.key_usages],
        "ExtendedKeyUsages": [{"Name": name} for name in parsed.extended_key_usages],
        "RenewalEligibility": "INELIGIBLE",
        "Options": {"CertificateTransparencyLoggingPreference": "DISABLED"},
        "Certificate": parsed.certificate,
        "dockyard": {
            "PrivateKey": acm.sealer.seal(
                parsed.private_key, context=seal_context(ctx.account_id, ctx.region, arn)
            ),
            "Tags": list(internal.get("Tags") or []),
        },
    }
    if parsed.chain:
        doc["CertificateChain"] = parsed.chain
    return doc


@api.operation("ImportCertificate")
async def import_certificate(acm: Acm, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    reimport = request.get("CertificateArn")
    if reimport and request.get("Tags"):
        raise ValidationException(_TAGS_ON_REIMPORT)
    tags = checked_tags(request.get("Tags") or [], existing=[])
    parsed = parse_import(request["Certificate"], request["PrivateKey"], request.get("CertificateChain"))
    while True:
        if reimport:
            found = await get(acm, ctx, str(reimport))
            doc = _document(acm, ctx, found.key.name, parsed, found.value)
            write = Put(found.key, doc, expected_revision=found.revision)
        else:
            arn = certificate_arn(ctx, acm.ids.uuid())
            doc = _document(acm, ctx, arn, parsed, None)
            doc["dockyard"]["Tags"] = tags
            write = Put(key(ctx, arn), doc, expected_revision=0)
        try:
            await acm.store.commit([write])
        except Conflict:
            continue
        return {"CertificateArn": doc["CertificateArn"]}


def _detail(doc: Document, now: float, users: list[str]) -> Document:
    detail = {k: v for k, v in doc.items() if k not in ("Certificate", "CertificateChain", "dockyard")}
    detail["Status"] = status(doc, now)
    detail["InUseBy"] = users
    return detail


@api.operation("DescribeCertificate")
async def describe_certificate(acm: Acm, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    found = await get(acm, ctx, str(request["CertificateArn"]))
    users = (await in_use(acm, ctx)).get(found.key.name, [])
    return {"Certificate": _detail(found.value, acm.clock.now(), users)}


@api.operation("GetCertificate")
async def get_certificate(acm: Acm, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    found = await get(acm, ctx, str(request["CertificateArn"]))
    out = {"Certificate": found.value["Certificate"]}
    if found.value.get("CertificateChain"):
        out["CertificateChain"] = found.value["CertificateChain"]
    return out


@api.operation("DeleteCertificate")
async def delete_certificate(acm: Acm, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    arn = str(request["CertificateArn"])
    while True:
        found = await get(acm, ctx, arn)
        users = (await in_use(acm, ctx)).get(arn, [])
        if users:
            raise ResourceInUseException(f"Certificate {arn} in use by {', '.join(users)}")
        try:
            await acm.store.commit([Delete(found.key, expected_revision=found.revision)])
        except Conflict:
            continue
        return {}


def _summary(doc: Document, now: float, used: bool) -> Document:
    names = list(doc.get("SubjectAlternativeNames") or [])
    summary: Document = {
        key_: doc[key_]
        for key_ in ("CertificateArn", "DomainName", "Type", "KeyAlgorithm", "NotBefore", "NotAfter")
        + ("CreatedAt", "ImportedAt", "RenewalEligibility")
        if key_ in doc
    }
    summary.update(
        {
            "SubjectAlternativeNameSummaries": names[:100],
            "HasAdditionalSubjectAlternativeNames": len(names) > 100,
            "Status": status(doc, now),
            "KeyUsages": [u["Name"] for u in doc.get("KeyUsages") or []],
            "ExtendedKeyUsages": [u["Name"] for u in doc.get("ExtendedKeyUsages") or []],
            "InUse": used,
            "Exported": False,
        }
    )
    return summary


def _matches(doc: Document, now: float, statuses: set[str], includes: dict[str, Any]) -> bool:
    if statuses and status(doc, now) not in statuses:
        return False
    if doc["KeyAlgorithm"] not in (includes.get("keyTypes") or _DEFAULT_KEY_TYPES):
        return False
    usages = {u["Name"] for u in doc.get("KeyUsages") or []}
    extended = {u["Name"] for u in doc.get("ExtendedKeyUsages") or []}
    wanted_usages = set(includes.get("keyUsage") or [])
    wanted_extended = set(includes.get("extendedKeyUsage") or [])
    if wanted_usages and "ANY" not in wanted_usages and not wanted_usages <= usages:
        return False
    return not (wanted_extended and "ANY" not in wanted_extended and not wanted_extended <= extended)


@api.operation("ListCertificates")
async def list_certificates(acm: Acm, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    statuses = set(request.get("CertificateStatuses") or [])
    unknown = statuses - set(_STATUSES)
    if unknown:
        raise ValidationException(
            f"1 validation error detected: Value '{sorted(unknown)}' at 'certificateStatuses' failed to "
            f"satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: "
            f"[{', '.join(_STATUSES)}]]"
        )
    now = acm.clock.now()
    includes = request.get("Includes") or {}
    docs = [
        d.value
        for d in await acm.store.list(CERTIFICATE, account_id=ctx.account_id, region=ctx.region)
        if _matches(d.value, now, statuses, includes)
    ]
    sign = -1.0 if request.get("SortOrder") == "DESCENDING" else 1.0

    def order(doc: Document) -> list[Any]:
        return [sign * float(doc["CreatedAt"]), doc["CertificateArn"]]

    docs.sort(key=order)
    try:
        page, token = paginate(
            docs,
            key=order,
            max_results=request.get("MaxItems"),
            next_token=request.get("NextToken"),
            default=1000,
        )
    except InvalidToken as exc:
        raise InvalidArgsException("The NextToken is not valid.") from exc
    users = await in_use(acm, ctx) if page else {}
    out: dict[str, Any] = {
        "CertificateSummaryList": [_summary(d, now, d["CertificateArn"] in users) for d in page]
    }
    if token:
        out["NextToken"] = token
    return out
