"""GetMetricData: MetricStat and metric-math queries over [StartTime, EndTime), paginated.

Results come in request order, one per query with ReturnData (the default), each with its
Timestamps and Values newest first (`ScanBy` TimestampDescending, the default) or oldest first.
A page holds at most `MaxDatapoints` values (default 100,800); a result cut by the page end is
`PartialData` and continues, under the same Id, on the next page (`NextToken`). Every other
result is `Complete`.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from dockyard.aws.dispatch import RequestContext
from dockyard.core.errors import ValidationException
from dockyard.core.pagination import InvalidToken, decode_token, encode_token
from dockyard.services.cloudwatch.api import api
from dockyard.services.cloudwatch.deps import CloudWatch
from dockyard.services.cloudwatch.errors import InvalidNextToken
from dockyard.services.cloudwatch.queries import check_queries, run_queries

__all__ = ["get_metric_data"]

_DEFAULT_MAX = 100_800


def _fingerprint(request: dict[str, Any]) -> str:
    stable = {k: request.get(k) for k in ("MetricDataQueries", "StartTime", "EndTime", "ScanBy")}
    return hashlib.sha256(orjson.dumps(stable, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


@api.operation("GetMetricData")
async def get_metric_data(cw: CloudWatch, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    start, end = float(request["StartTime"]), float(request["EndTime"])
    if start == end:
        raise ValidationException("The parameter StartTime must not equal parameter EndTime.")
    if start > end:
        raise ValidationException("The parameter EndTime must be greater than StartTime.")
    queries = request["MetricDataQueries"]
    check_queries(queries)
    limit = int(request.get("MaxDatapoints") or _DEFAULT_MAX)
    if limit < 1:
        raise ValidationException("The value for parameter MaxDatapoints must be greater than 0.")
    fingerprint = _fingerprint(request)
    position = (0, 0)
    if request.get("NextToken"):
        try:
            token = decode_token(request["NextToken"])
            if token[0] != fingerprint:
                raise InvalidToken(request["NextToken"])
            position = (int(token[1]), int(token[2]))
        except (InvalidToken, IndexError, TypeError, ValueError) as exc:
            raise InvalidNextToken("The service cannot return the results for this NextToken.") from exc
    results = [
        r
        for r in run_queries(cw.metrics, ctx.account_id, ctx.region, queries, start, end, now=cw.clock.now())
        if r.return_data
    ]
    descending = request.get("ScanBy", "TimestampDescending") == "TimestampDescending"
    out = []
    budget = limit
    next_token = None
    first, offset = position
    for index in range(first, len(results)):
        result = results[index]
        ordered = list(reversed(result.points)) if descending else result.points
        remaining = ordered[offset if index == first else 0 :]
        taken = remaining[:budget]
        budget -= len(taken)
        partial = len(taken) < len(remaining)
        out.append(
            {
                "Id": result.id,
                "Label": result.label,
                "Timestamps": [t for t, _ in taken],
                "Values": [v for _, v in taken],
                "StatusCode": "PartialData" if partial else "Complete",
            }
        )
        if partial:
            consumed = (offset if index == first else 0) + len(taken)
            next_token = encode_token([fingerprint, index, consumed])
            break
        if budget == 0 and index + 1 < len(results):
            next_token = encode_token([fingerprint, index + 1, 0])
            break
    response: dict[str, Any] = {"MetricDataResults": out, "Messages": []}
    if next_token:
        response["NextToken"] = next_token
    return response
