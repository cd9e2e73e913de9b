"""What the Describe operations share: the namespace/resource/dimension/name filter over a kind's
documents, and paging (MaxResults 1-50, default 50, and opaque NextTokens)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from dockyard.aws.dispatch import RequestContext
from dockyard.core.pagination import InvalidToken, paginate
from dockyard.services.applicationautoscaling.deps import AppScaling
from dockyard.services.applicationautoscaling.errors import InvalidNextTokenException, ValidationException

__all__ = ["filtered_page", "page"]

T = TypeVar("T")
_MAX = 50


def page(
    items: Sequence[T], request: dict[str, Any], *, key: Callable[[T], Any]
) -> tuple[list[T], str | None]:
    """One page of `items` (sorted by `key`) for the request's MaxResults and NextToken."""
    max_results = request.get("MaxResults")
    if max_results is not None and not 1 <= max_results <= _MAX:
        constraint = "greater than or equal to 1" if max_results < 1 else f"less than or equal to {_MAX}"
        raise ValidationException(
            f"1 validation error detected: Value '{max_results}' at 'maxResults' failed to satisfy "
            f"constraint: Member must have value {constraint}"
        )
    try:
        return paginate(
            items, key=key, max_results=max_results, next_token=request.get("NextToken"), default=_MAX
        )
    except InvalidToken:
        raise InvalidNextTokenException("Invalid token") from None


async def filtered_page(
    app: AppScaling,
    ctx: RequestContext,
    request: dict[str, Any],
    *,
    kind: str,
    name_field: str,
    names: str,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the `kind` documents of the request's ServiceNamespace, filtered by the names
    listed in `request[names]` (matched against `name_field`), ResourceId and ScalableDimension,
    ordered by resource, dimension and name."""

    def order(doc: dict[str, Any]) -> str:
        return f"{doc['ResourceId']}|{doc['ScalableDimension']}|{doc[name_field]}"

    wanted = set(request.get(names) or [])
    resource_id = request.get("ResourceId")
    dimension = request.get("ScalableDimension")
    prefix = f"{request['ServiceNamespace']}|"
    found = [
        v.value
        for v in await app.store.list(kind, account_id=ctx.account_id, region=ctx.region, prefix=prefix)
        if (not wanted or v.value[name_field] in wanted)
        and (resource_id is None or v.value["ResourceId"] == resource_id)
        and (dimension is None or v.value["ScalableDimension"] == dimension)
    ]
    found.sort(key=order)
    return page(found, request, key=order)
