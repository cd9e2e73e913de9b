"""Launch templates: Create, Describe, CreateVersion, DescribeVersions, Modify (default version), Delete.

A template is a document with its default and latest version numbers; each version is its own
document holding the `LaunchTemplateData` as given (image, instance type, base64 user data,
security groups, IAM instance profile, tag specifications, network interfaces...). RunInstances
and Auto Scaling resolve `{LaunchTemplateId | LaunchTemplateName, Version}` with `resolve`.
"""

from __future__ import annotations

import base64
import binascii
import copy
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.services.ec2.api import api
from dockyard.services.ec2.deps import Ec2
from dockyard.services.ec2.errors import (
    InvalidLaunchTemplateIdMalformed,
    InvalidLaunchTemplateIdNotFound,
    InvalidLaunchTemplateIdVersionNotFound,
    InvalidLaunchTemplateNameAlreadyExists,
    InvalidLaunchTemplateNameNotFound,
    InvalidParameterCombination,
    InvalidParameterValue,
    InvalidUserDataMalformed,
    MissingParameter,
    malformed_id,
)
from dockyard.services.ec2.filters import check_filters, matches, page, tag_fields
from dockyard.services.ec2.resources import (
    LAUNCH_TEMPLATE,
    LAUNCH_TEMPLATE_NAME,
    LAUNCH_TEMPLATE_VERSION,
    check_dry_run,
    key,
    new_id,
    owner_arn,
)
from dockyard.services.ec2.tags import all_tags, spec_tags, tags_delete, tags_of, tags_put
from dockyard.store import Conflict, Delete, Put, Versioned

__all__ = [
    "get_template",
    "resolve",
    "version_key",
    "create_launch_template",
    "describe_launch_templates",
    "create_launch_template_version",
    "describe_launch_template_versions",
    "modify_launch_template",
    "delete_launch_template",
]

_ATTEMPTS = 8


def version_key(ctx: RequestContext, template_id: str, number: int) -> Any:
    return key(ctx, LAUNCH_TEMPLATE_VERSION, f"{template_id}/{number:010d}")


def _check_user_data(data: dict[str, Any]) -> None:
    if data.get("UserData"):
        try:
            base64.b64decode(data["UserData"], validate=True)
        except (binascii.Error, ValueError):
            raise InvalidUserDataMalformed("Invalid BASE64 encoding of user data.") from None


async def get_template(
    ec2: Ec2, ctx: RequestContext, *, template_id: str | None, name: str | None
) -> Versioned:
    """The template a request names by id or by name (exactly one of them)."""
    if template_id and name:
        raise InvalidParameterCombination(
            "The parameters launchTemplateId and launchTemplateName cannot be used together."
        )
    if template_id:
        if not template_id.startswith("lt-"):
            raise malformed_id(InvalidLaunchTemplateIdMalformed, template_id, "lt")
        found = await ec2.store.get(key(ctx, LAUNCH_TEMPLATE, template_id))
        if found is None:
            raise InvalidLaunchTemplateIdNotFound(
                f"The specified launch template, with template ID {template_id}, does not exist."
            )
        return found
    if name:
        index = await ec2.store.get(key(ctx, LAUNCH_TEMPLATE_NAME, name))
        found = (
            await ec2.store.get(key(ctx, LAUNCH_TEMPLATE, index.value["LaunchTemplateId"])) if index else None
        )
        if found is None:
            raise InvalidLaunchTemplateNameNotFound(
                f"The specified launch template, with template name {name}, does not exist."
            )
        return found
    raise MissingParameter("The request must contain the parameter launchTemplateName or launchTemplateId")


def _version_number(template: dict[str, Any], version: str | None) -> int:
    if version in (None, "", "$Default"):
        return int(template["DefaultVersionNumber"])
    if version == "$Latest":
        return int(template["LatestVersionNumber"])
    assert version is not None
    try:
        return int(version)
    except ValueError:
        raise InvalidParameterValue(
            f"Invalid value '{version}' for version. Specify a version number, $Latest, or $Default."
        ) from None


async def _version(ec2: Ec2, ctx: RequestContext, template: dict[str, Any], number: int) -> dict[str, Any]:
    found = await ec2.store.get(version_key(ctx, template["LaunchTemplateId"], number))
    if found is None:
        raise InvalidLaunchTemplateIdVersionNotFound(
            f"Could not find launch template version {number} for launch template "
            f"{template['LaunchTemplateId']}."
        )
    return _render_version(found.value, template)


async def resolve(ec2: Ec2, ctx: RequestContext, spec: dict[str, Any]) -> dict[str, Any]:
    """The LaunchTemplateVersion a `{LaunchTemplateId | LaunchTemplateName, Version}` names."""
    template = await get_template(
        ec2, ctx, template_id=spec.get("LaunchTemplateId"), name=spec.get("LaunchTemplateName")
    )
    return await _version(ec2, ctx, template.value, _version_number(template.value, spec.get("Version")))


def _render_version(doc: dict[str, Any], template: dict[str, Any]) -> dict[str, Any]:
    return {**doc, "DefaultVersion": doc["VersionNumber"] == template["DefaultVersionNumber"]}


def _render_template(doc: dict[str, Any], tags: list[dict[str, str]] | None) -> dict[str, Any]:
    return {**doc, "Tags": tags} if tags else dict(doc)


@api.operation("CreateLaunchTemplate")
async def create_launch_template(ec2: Ec2, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    name = request["LaunchTemplateName"]
    data = request["LaunchTemplateData"]
    _check_user_data(data)
    tags = spec_tags(ctx, request.get("TagSpecifications", []), "launch-template")
    if await ec2.store.get(key(ctx, LAUNCH_TEMPLATE_NAME, name)) is not None:
        raise InvalidLaunchTemplateNameAlreadyExists("Launch template name already in use.")
    check_dry_run(request)
    template_id = new_id(ec2, "lt")
    now = ec2.clock.now()
    template = {
        "LaunchTemplateId": template_id,
        "LaunchTemplateName": name,
        "CreateTime": now,
        "CreatedBy": owner_arn(ctx),
        "DefaultVersionNumber": 1,
        "LatestVersionNumber": 1,
    }
    version = _new_version(ctx, template, 1, data, request.get("VersionDescription"), now)
    writes: list[Put | Delete] = [
        Put(key(ctx, LAUNCH_TEMPLATE, template_id), template, expected_revision=0),
        Put(key(ctx, LAUNCH_TEMPLATE_NAME, name), {"LaunchTemplateId": template_id}, expected_revision=0),
        Put(version_key(ctx, template_id, 1), version, expected_revision=0),
    ]
    if tags:
        writes.append(tags_put(ctx, template_id, "launch-template", tags))
    try:
        await ec2.store.commit(writes)
    except Conflict:
        raise InvalidLaunchTemplateNameAlreadyExists("Launch template name already in use.") from None
    return {"LaunchTemplate": _render_template(template, tags)}


def _new_version(
    ctx: RequestContext,
    template: dict[str, Any],
    number: int,
    data: dict[str, Any],
    description: str | None,
    now: float,
) -> dict[str, Any]:
    version = {
        "LaunchTemplateId": template["LaunchTemplateId"],
        "LaunchTemplateName": template["LaunchTemplateName"],
        "VersionNumber": number,
        "CreateTime": now,
        "CreatedBy": owner_arn(ctx),
        "LaunchTemplateData": data,
    }
    if description:
        version["VersionDescription"] = description
    return version


_TEMPLATE_FILTERS = {"launch-template-name": "LaunchTemplateName", "create-time": "CreateTime"}


@api.operation("DescribeLaunchTemplates")
async def describe_launch_templates(ec2: Ec2, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    filters = request.get("Filters", [])
    check_filters(filters, _TEMPLATE_FILTERS)
    ids, names = request.get("LaunchTemplateIds", []), request.get("LaunchTemplateNames", [])
    docs = [
        d.value for d in await ec2.store.list(LAUNCH_TEMPLATE, account_id=ctx.account_id, region=ctx.region)
    ]
    for template_id in ids:
        if not template_id.startswith("lt-"):
            raise malformed_id(InvalidLaunchTemplateIdMalformed, template_id, "lt")
    if any(i not in {d["LaunchTemplateId"] for d in docs} for i in ids):
        raise InvalidLaunchTemplateIdNotFound(
            "At least one of the launch templates specified in the request does not exist."
        )
    if any(n not in {d["LaunchTemplateName"] for d in docs} for n in names):
        raise InvalidLaunchTemplateNameNotFound(
            "At least one of the launch templates specified in the request does not exist."
        )
    check_dry_run(request)
    tags = await all_tags(ec2, ctx)
    views = [
        _render_template(d, tags.get(d["LaunchTemplateId"]))
        for d in docs
        if (not ids and not names) or d["LaunchTemplateId"] in ids or d["LaunchTemplateName"] in names
    ]

    def fields(view: dict[str, Any]) -> Any:
        def values(name: str) -> list[str]:
            tagged = tag_fields(name, view.get("Tags", []))
            return tagged if tagged is not None else [str(view[_TEMPLATE_FILTERS[name]])]

        return values

    selected = sorted((v for v in views if matches(filters, fields(v))), key=lambda v: v["LaunchTemplateId"])
    items, token = page(selected, request, key=lambda v: v["LaunchTemplateId"], bounds=(1, 200))
    return {"LaunchTemplates": items, **({"NextToken": token} if token else {})}


@api.operation("CreateLaunchTemplateVersion")
async def create_launch_template_version(
    ec2: Ec2, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    data = request["LaunchTemplateData"]
    _check_user_data(data)
    for _ in range(_ATTEMPTS):
        found = await get_template(
            ec2, ctx, template_id=request.get("LaunchTemplateId"), name=request.get("LaunchTemplateName")
        )
        template = copy.deepcopy(found.value)
        if request.get("SourceVersion"):
            source = await _version(ec2, ctx, template, _version_number(template, request["SourceVersion"]))
            data = {**copy.deepcopy(source["LaunchTemplateData"]), **request["LaunchTemplateData"]}
        check_dry_run(request)
        number = int(template["LatestVersionNumber"]) + 1
        template["LatestVersionNumber"] = number
        version = _new_version(
            ctx, template, number, data, request.get("VersionDescription"), ec2.clock.now()
        )
        try:
            await ec2.store.commit(
                [
                    Put(found.key, template, expected_revision=found.revision),
                    Put(version_key(ctx, template["LaunchTemplateId"], number), version, expected_revision=0),
                ]
            )
        except Conflict:
            continue
        return {"LaunchTemplateVersion": _render_version(version, template)}
    raise Conflict(found.key, found.revision, None)


_VERSION_FILTERS = ("is-default-version", "image-id", "instance-type")


def _version_fields(view: dict[str, Any]) -> Any:
    data = view.get("LaunchTemplateData", {})
    table = {
        "is-default-version": ["true" if view["DefaultVersion"] else "false"],
        "image-id": [data["ImageId"]] if data.get("ImageId") else [],
        "instance-type": [data["InstanceType"]] if data.get("InstanceType") else [],
    }
    return lambda name: table.get(name, [])


@api.operation("DescribeLaunchTemplateVersions")
async def describe_launch_template_versions(
    ec2: Ec2, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    filters = request.get("Filters", [])
    check_filters(filters, _VERSION_FILTERS, tags=False)
    wanted = request.get("Versions", [])
    if request.get("LaunchTemplateId") or request.get("LaunchTemplateName"):
        found = await get_template(
            ec2, ctx, template_id=request.get("LaunchTemplateId"), name=request.get("LaunchTemplateName")
        )
        templates = [found.value]
    else:
        if not wanted or any(v not in ("$Latest", "$Default") for v in wanted):
            raise MissingParameter(
                "The request must contain the parameter launchTemplateName or launchTemplateId"
            )
        templates = [
            d.value
            for d in await ec2.store.list(LAUNCH_TEMPLATE, account_id=ctx.account_id, region=ctx.region)
        ]
    views: list[dict[str, Any]] = []
    for template in templates:
        if wanted:
            numbers = sorted({_version_number(template, v) for v in wanted}, reverse=True)
            views += [await _version(ec2, ctx, template, n) for n in numbers]
            continue
        docs = await ec2.store.list(
            LAUNCH_TEMPLATE_VERSION,
            account_id=ctx.account_id,
            region=ctx.region,
            prefix=f"{template['LaunchTemplateId']}/",
        )
        low = int(request.get("MinVersion") or 0)
        high = int(request.get("MaxVersion") or template["LatestVersionNumber"])
        views += [
            _render_version(d.value, template)
            for d in reversed(docs)
            if low <= d.value["VersionNumber"] <= high
        ]
    check_dry_run(request)
    selected = sorted(
        (v for v in views if matches(filters, _version_fields(v))),
        key=lambda v: (v["LaunchTemplateId"], -v["VersionNumber"]),
    )
    items, token = page(
        selected,
        request,
        key=lambda v: [v["LaunchTemplateId"], -v["VersionNumber"]],
        bounds=(1, 200),
    )
    return {"LaunchTemplateVersions": items, **({"NextToken": token} if token else {})}


@api.operation("ModifyLaunchTemplate")
async def modify_launch_template(ec2: Ec2, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    for _ in range(_ATTEMPTS):
        found = await get_template(
            ec2, ctx, template_id=request.get("LaunchTemplateId"), name=request.get("LaunchTemplateName")
        )
        template = copy.deepcopy(found.value)
        if request.get("DefaultVersion"):
            number = _version_number(template, request["DefaultVersion"])
            await _version(ec2, ctx, template, number)
            template["DefaultVersionNumber"] = number
        check_dry_run(request)
        try:
            await ec2.store.commit([Put(found.key, template, expected_revision=found.revision)])
        except Conflict:
            continue
        tags = await tags_of(ec2, ctx, template["LaunchTemplateId"])
        return {"LaunchTemplate": _render_template(template, tags)}
    raise Conflict(found.key, found.revision, None)


@api.operation("DeleteLaunchTemplate")
async def delete_launch_template(ec2: Ec2, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    found = await get_template(
        ec2, ctx, template_id=request.get("LaunchTemplateId"), name=request.get("LaunchTemplateName")
    )
    check_dry_run(request)
    template = found.value
    template_id = template["LaunchTemplateId"]
    versions = await ec2.store.list(
        LAUNCH_TEMPLATE_VERSION, account_id=ctx.account_id, region=ctx.region, prefix=f"{template_id}/"
    )
    await ec2.store.commit(
        [
            Delete(found.key, expected_revision=found.revision),
            Delete(key(ctx, LAUNCH_TEMPLATE_NAME, template["LaunchTemplateName"])),
            tags_delete(ctx, template_id),
            *(Delete(v.key) for v in versions),
        ]
    )
    return {"LaunchTemplate": dict(template)}
