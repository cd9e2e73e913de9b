"""`dockyard placement explain`: ask the server where RunTask would place a task, and why.

    dockyard placement explain --cluster demo --task-definition web:3 [--count 2]
        [--placement-strategy type=spread,field=attribute:ecs.availability-zone type=binpack,field=memory]
        [--placement-constraints 'type=memberOf,expression=attribute:ecs.instance-type =~ t3.*']
        [--json]

The request is RunTask's (`POST /_dockyard/placement/explain`, see
`dockyard.server.placement_explain`); nothing is placed. The answer is printed as one table per
copy: each instance with its zone, type, what it has left, whether it fits (and, if not, every
check it fails, with the numbers) and its strategy keys, the chosen instance marked `*`.
`render` is pure, so the table can be tested on a fixed answer.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["add_parser", "build_request", "render", "run", "parse_items"]

PATH = "/_dockyard/placement/explain"
_ID_WIDTH = 12  # characters of a container instance id shown in the table


def add_parser(sub: Any, default_endpoint: str) -> None:
    """Register `placement explain` on the top-level subparsers."""
    placement = sub.add_parser("placement", help="explain task placement on EC2 and EXTERNAL instances")
    commands = placement.add_subparsers(dest="placement_command", required=True)
    cmd = commands.add_parser(
        "explain", help="where RunTask would place a task, every instance and check, without placing it"
    )
    cmd.add_argument("--cluster", default=None, help="the cluster (default: default)")
    cmd.add_argument("--task-definition", required=True, help="family, family:revision or ARN")
    cmd.add_argument("--count", type=int, default=1, help="copies to place, 1-10 (default 1)")
    cmd.add_argument("--launch-type", choices=["EC2", "EXTERNAL", "FARGATE"], default=None)
    cmd.add_argument(
        "--capacity-provider-strategy",
        nargs="+",
        action="extend",
        default=None,
        metavar="ITEM",
        help="capacityProvider=NAME,weight=N,base=N ... or a JSON list",
    )
    cmd.add_argument("--group", default=None, help="the task group (default: family:<family>)")
    cmd.add_argument(
        "--placement-constraints",
        nargs="+",
        action="extend",
        default=None,
        metavar="ITEM",
        help="type=distinctInstance | type=memberOf,expression=EXPR ... or a JSON list",
    )
    cmd.add_argument(
        "--placement-strategy",
        nargs="+",
        action="extend",
        default=None,
        metavar="ITEM",
        help="type=binpack|spread|random,field=FIELD ... or a JSON list",
    )
    cmd.add_argument("--overrides", default=None, help="RunTask's overrides, as JSON")
    cmd.add_argument("--subnets", default=None, help="comma-separated subnet ids (awsvpc task definitions)")
    cmd.add_argument("--endpoint", default=default_endpoint, help="the Dockyard server")
    cmd.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    cmd.add_argument("--json", action="store_true", help="print the server's answer as JSON")


# -- the request -------------------------------------------------------------------------------


def _shorthand(text: str, keys: Sequence[str], numbers: Sequence[str] = ()) -> dict[str, Any]:
    """`type=memberOf,expression=a, b` -> {"type": ..., "expression": "a, b"}: a comma starts a new
    pair only before one of `keys`, so an expression keeps its commas."""
    pattern = ",(?=(?:" + "|".join(re.escape(k) for k in keys) + ")=)"
    item: dict[str, Any] = {}
    for part in re.split(pattern, text):
        name, sep, value = part.partition("=")
        if not sep or name not in keys:
            raise ValueError(f"expected {'|'.join(keys)}=VALUE pairs, not {part!r}")
        item[name] = int(value) if name in numbers else value
    return item


def parse_items(
    values: Sequence[str] | None, keys: Sequence[str], numbers: Sequence[str] = ()
) -> list[dict[str, Any]] | None:
    """A list flag's values: each a JSON list or object, or an AWS CLI shorthand item."""
    if values is None:
        return None
    items: list[dict[str, Any]] = []
    for value in values:
        text = value.strip()
        if text.startswith(("[", "{")):
            parsed = json.loads(text)
            items += parsed if isinstance(parsed, list) else [parsed]
        else:
            items.append(_shorthand(text, keys, numbers))
    return items


def build_request(args: argparse.Namespace) -> dict[str, Any]:
    """The RunTask-shaped body for the server; raises ValueError on a flag it cannot read."""
    body: dict[str, Any] = {"taskDefinition": args.task_definition, "count": args.count}
    optional = {
        "cluster": args.cluster,
        "launchType": args.launch_type,
        "group": args.group,
        "capacityProviderStrategy": parse_items(
            args.capacity_provider_strategy, ("capacityProvider", "weight", "base"), ("weight", "base")
        ),
        "placementConstraints": parse_items(args.placement_constraints, ("type", "expression")),
        "placementStrategy": parse_items(args.placement_strategy, ("type", "field")),
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    if args.overrides is not None:
        body["overrides"] = json.loads(args.overrides)
    if args.subnets:
        subnets = [s.strip() for s in args.subnets.split(",") if s.strip()]
        body["networkConfiguration"] = {"awsvpcConfiguration": {"subnets": subnets}}
    return body


def _post(endpoint: str, region: str, body: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
    url = endpoint.rstrip("/") + PATH + "?" + urllib.parse.urlencode({"region": region})
    request = urllib.request.Request(
        url, method="POST", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def run(args: argparse.Namespace) -> int:
    try:
        body = build_request(args)
    except ValueError as exc:
        print(f"dockyard placement explain: {exc}", file=sys.stderr)
        return 2
    try:
        status, answer = _post(args.endpoint, args.region, body)
    except (OSError, ValueError) as exc:
        print(f"dockyard: cannot reach the server at {args.endpoint}: {exc}", file=sys.stderr)
        return 1
    if status != 200:
        code = answer.get("__type", f"HTTP {status}")
        print(f"dockyard: {code}: {answer.get('message', '')}", file=sys.stderr)
        return 1
    print(json.dumps(answer, indent=2) if args.json else render(answer))
    return 0


# -- the table ---------------------------------------------------------------------------------


def _short(arn: str | None) -> str:
    return "-" if not arn else arn.rsplit("/", 1)[-1][:_ID_WIDTH]


def _name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _demand(demand: Mapping[str, Any]) -> str:
    parts = [f"{demand.get('cpu', 0)} CPU units", f"{demand.get('memory', 0)} MiB"]
    if demand.get("portsTcp"):
        parts.append("TCP ports " + ", ".join(map(str, demand["portsTcp"])))
    if demand.get("portsUdp"):
        parts.append("UDP ports " + ", ".join(map(str, demand["portsUdp"])))
    for item in demand.get("requiresAttributes") or []:
        parts.append("attribute " + (f"{item['name']}={item['value']}" if "value" in item else item["name"]))
    for item in demand.get("placementConstraints") or []:
        parts.append(item["type"] + (f" {item['expression']}" if item.get("expression") else ""))
    if demand.get("availabilityZones"):
        parts.append("zones " + ", ".join(demand["availabilityZones"]))
    return ", ".join(parts)


def describe_failure(check: Mapping[str, Any]) -> str:
    """One failed check in words, with its numbers."""
    name, detail = check["check"], check.get("detail") or {}
    if name == "cpu":
        text = f"cpu: needs {detail['required']}, {detail['remaining']} left"
    elif name == "memory":
        text = f"memory: needs {detail['required']} MiB, {detail['remaining']} left"
    elif name in ("ports", "portsUdp"):
        text = f"{'tcp' if name == 'ports' else 'udp'} ports in use: " + (
            ", ".join(map(str, detail.get("inUse", []))) or "none"
        )
        if "reservedAfter" in detail:
            text += f"; {detail['reservedAfter']} reserved ports > {detail['limit']}"
    elif name == "attributes":
        text = "missing attributes: " + ", ".join(detail.get("missing", []))
    elif name == "location":
        zones = ", ".join(detail.get("subnetZones", []))
        text = f"location: zone {detail.get('availabilityZone')} is not a subnet's zone ({zones})"
    elif name == "memberOf":
        text = "memberOf unsatisfied: " + "; ".join(detail.get("unsatisfied", []))
    elif name == "distinctInstance":
        text = f"distinctInstance: {_plural(int(detail.get('tasksOfGroup', 0)), 'task')} of its group here"
    elif name == "agent":
        text = "agent not connected"
    elif name == "status":
        text = f"status {detail.get('status')}"
    else:
        text = name + ": " + ", ".join(f"{k} {v}" for k, v in detail.items())
    reason = str(check.get("reason", ""))
    return f"{text} [{reason}]" if reason and " " not in reason else text


def _result(item: Mapping[str, Any]) -> str:
    if not item.get("candidate", True):
        return str(item.get("note", "not a candidate"))
    if item.get("feasible"):
        return "fits"
    return "; ".join(describe_failure(c) for c in item.get("checks", []) if not c["passed"])


def _rank(item: Mapping[str, Any]) -> str:
    """The strategy keys, in strategy order (the strategies are named in the header)."""
    return ", ".join(str(r["key"]) for r in item.get("rank", []))


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    numeric = {5, 6, 7}  # cpu, memory, tasks: right-aligned
    lines = []
    for n, row in enumerate(rows):
        cells = [
            cell.rjust(widths[i]) if i in numeric and n != 0 else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join(("-" * w) if i else " " for i, w in enumerate(widths)).rstrip())
    return lines


def _copy(copy: Mapping[str, Any], count: int) -> list[str]:
    choice = copy.get("choice")
    head = f"Copy {copy['copy']} of {count}: "
    if choice:
        entry = next(i for i in copy["instances"] if i["containerInstanceArn"] == choice)
        where = ", ".join(x for x in (entry.get("ec2InstanceId"), entry.get("availabilityZone")) if x)
        head += f"placed on {_name(choice)}" + (f" ({where})" if where else "")
        ties = len(copy.get("best", [])) - 1
        if ties > 0:
            head += f", chosen at random among {ties + 1} tied instances"
    else:
        outcome = copy.get("outcome", {})
        head += f"not placed: {outcome.get('reason')}"
        if outcome.get("closest"):
            head += f" (closest instance {_name(outcome['closest'])})"
    lines = [head]
    if not copy["instances"]:
        return lines
    rows = [
        [
            " ",
            "instance",
            "ec2 instance",
            "zone",
            "type",
            "cpu left",
            "memory left",
            "tasks",
            "keys",
            "result",
        ]
    ]
    best = set(copy.get("best", []))
    for item in copy["instances"]:
        arn = item["containerInstanceArn"]
        mark = "*" if arn == choice else ("=" if arn in best else " ")
        remaining = item.get("remaining", {})
        rows.append(
            [
                mark,
                _short(arn),
                item.get("ec2InstanceId") or "-",
                item.get("availabilityZone") or "-",
                item.get("instanceType") or "-",
                str(remaining.get("cpu", "")),
                str(remaining.get("memory", "")),
                str(item.get("runningTasksCount", "")),
                _rank(item) or "-",
                _result(item),
            ]
        )
    return lines + ["  " + line for line in _table(rows)]


def render(report: Mapping[str, Any]) -> str:
    """The server's explanation as text: a header, one table per copy, what RunTask would report."""
    count = int(report.get("count", 1))
    cluster = _name(str(report.get("cluster", "")))
    td = _name(str(report.get("taskDefinition", "")))
    lines = [
        f"Placement of {'1 copy' if count == 1 else f'{count} copies'} of {td} "
        f"({report.get('launchType')}) in cluster {cluster}, group {report.get('group')}",
        f"Each copy needs: {_demand(report.get('demand', {}))}",
    ]
    if report.get("launchType") != "FARGATE":
        lines.append("Strategies: " + (", ".join(report.get("strategies", [])) or "random"))
    fargate = report.get("fargate")
    if fargate:
        lines += ["", fargate["note"]]
        if fargate.get("subnets"):
            lines.append(
                f"Subnets: {', '.join(fargate['subnets'])} (zones {', '.join(fargate['availabilityZones'])})"
            )
        return "\n".join(lines)
    for copy in report.get("copies", []):
        lines += ["", *_copy(copy, count)]
    lines.append("")
    lines.append(
        "* chosen, = tied with it; keys: one per strategy, lower is preferred; "
        "resources and tasks as before each copy"
    )
    error = report.get("runTaskError")
    if error:
        lines.append(f"RunTask would fail: {error['code']}: {error['message']}")
        return "\n".join(lines)
    placed = sum(1 for c in report.get("copies", []) if c.get("choice"))
    lines.append(f"RunTask would place {placed} of {count}.")
    for failure in report.get("failures", []):
        arn = failure.get("arn")
        lines.append(f"  failure: {failure['reason']}" + (f" (closest instance {_name(arn)})" if arn else ""))
    return "\n".join(lines)
