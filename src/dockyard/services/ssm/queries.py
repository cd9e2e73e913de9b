"""Reading many parameters: GetParametersByPath, DescribeParameters, GetParameterHistory.

Results are sorted by name (history: by version, oldest first) and paginated with opaque tokens.
GetParametersByPath returns the parameters directly under `Path` (one level) or, with
`Recursive`, everything beneath it; names without a leading `/` count as top-level ones.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from dockyard.aws.dispatch import RequestContext
from dockyard.core.errors import ValidationException
from dockyard.core.pagination import InvalidToken, paginate
from dockyard.services.ssm.api import api
from dockyard.services.ssm.deps import Ssm
from dockyard.services.ssm.documents import Document, current, history, history_entry, metadata, parameter
from dockyard.services.ssm.errors import InvalidNextToken
from dockyard.services.ssm.filters import check_filters, matches, matches_legacy
from dockyard.services.ssm.names import check_path
from dockyard.services.ssm.resources import PARAMETER, lookup

__all__ = ["describe_parameters", "get_parameter_history", "get_parameters_by_path"]

T = TypeVar("T")
_BAD_TOKEN = "The specified token isn't valid."
_BOTH_FILTERS = "You can use either Filters or ParameterFilters in a single request."


def _page(
    items: Sequence[T], request: dict[str, Any], *, key: Callable[[T], Any], default: int
) -> tuple[list[T], str | None]:
    try:
        return paginate(
            items,
            key=key,
            max_results=request.get("MaxResults"),
            next_token=request.get("NextToken"),
            default=default,
        )
    except InvalidToken as exc:
        raise InvalidNextToken(_BAD_TOKEN) from exc


def _respond(items: list[Document], token: str | None) -> dict[str, Any]:
    response: dict[str, Any] = {"Parameters": items}
    if token:
        response["NextToken"] = token
    return response


async def _all(ssm: Ssm, ctx: RequestContext) -> list[Document]:
    stored = await ssm.store.list(PARAMETER, account_id=ctx.account_id, region=ctx.region)
    return [v.value for v in stored]


@api.operation("GetParametersByPath")
async def get_parameters_by_path(ssm: Ssm, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    path = str(request["Path"])
    check_path(path)
    filters = list(request.get("ParameterFilters") or [])
    check_filters(filters, by_path=True)
    scope = [
        {"Key": "Path", "Option": "Recursive" if request.get("Recursive") else "OneLevel", "Values": [path]}
    ]
    found = [doc for doc in await _all(ssm, ctx) if matches(doc, scope) and matches(doc, filters)]
    page, token = _page(found, request, key=lambda doc: str(doc["Name"]), default=10)
    decrypt = bool(request.get("WithDecryption"))
    return _respond([parameter(ssm.sealer, doc, current(doc), decrypt=decrypt) for doc in page], token)


@api.operation("DescribeParameters")
async def describe_parameters(ssm: Ssm, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    legacy = list(request.get("Filters") or [])
    filters = list(request.get("ParameterFilters") or [])
    if legacy and filters:
        raise ValidationException(_BOTH_FILTERS)
    check_filters(filters, by_path=False)
    found = [doc for doc in await _all(ssm, ctx) if matches(doc, filters) and matches_legacy(doc, legacy)]
    page, token = _page(found, request, key=lambda doc: str(doc["Name"]), default=50)
    return _respond([metadata(doc) for doc in page], token)


@api.operation("GetParameterHistory")
async def get_parameter_history(ssm: Ssm, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    found, _ = await lookup(ssm, ctx, str(request["Name"]))
    doc = found.value
    page, token = _page(history(doc), request, key=lambda entry: int(entry["Version"]), default=50)
    decrypt = bool(request.get("WithDecryption"))
    return _respond([history_entry(ssm.sealer, doc, entry, decrypt=decrypt) for entry in page], token)
