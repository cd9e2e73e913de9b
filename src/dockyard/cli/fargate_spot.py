"""`dockyard fargate-spot interrupt`: reclaim Fargate Spot capacity, as AWS does when it needs it.

    dockyard fargate-spot interrupt --task ARN [--task ARN ...]
    dockyard fargate-spot interrupt --cluster NAME [--count N]

Calls `POST /_dockyard/fargate-spot/interrupt` (see `dockyard.server.spot_routes`): each task gets
ECS's two-minute warning (stopCode TerminationNotice, "Your Spot Task was interrupted."), its
containers are stopped (SIGTERM, then SIGKILL after their stopTimeout) and it ends STOPPED with
stopCode SpotInterruption; a service replaces it. Prints one line per interrupted task.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from typing import Any

__all__ = ["add_parser", "run", "request_body"]

PATH = "/_dockyard/fargate-spot/interrupt"


def add_parser(sub: Any, default_endpoint: str) -> None:
    """Register `fargate-spot interrupt` on the top-level subparsers."""
    spot = sub.add_parser("fargate-spot", help="Fargate Spot: interrupt tasks as a capacity reclaim would")
    commands = spot.add_subparsers(dest="spot_command", required=True)
    cmd = commands.add_parser(
        "interrupt", help="give FARGATE_SPOT tasks the interruption warning, then stop them"
    )
    which = cmd.add_mutually_exclusive_group(required=True)
    which.add_argument("--task", action="append", default=None, metavar="ARN", help="a task ARN (repeatable)")
    which.add_argument("--cluster", default=None, help="interrupt the cluster's Spot tasks (RUNNING first)")
    cmd.add_argument("--count", type=int, default=1, help="with --cluster: how many tasks (default 1)")
    cmd.add_argument("--endpoint", default=default_endpoint, help="the Dockyard server")
    cmd.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))


def request_body(args: argparse.Namespace) -> dict[str, Any]:
    if args.task:
        return {"taskArns": list(args.task)}
    return {"cluster": args.cluster, "count": args.count, "region": args.region}


def run(args: argparse.Namespace) -> int:
    if args.cluster is not None and args.count < 1:
        print("dockyard: --count must be 1 or more.", file=sys.stderr)
        return 2
    request = urllib.request.Request(
        args.endpoint.rstrip("/") + PATH,
        data=json.dumps(request_body(args)).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("message", exc.reason)
        except ValueError:
            message = exc.reason
        print(f"dockyard: {message}", file=sys.stderr)
        return 1
    except urllib.error.URLError as exc:
        print(f"dockyard: cannot reach {args.endpoint}: {exc.reason}", file=sys.stderr)
        return 1
    tasks = answer.get("tasks", [])
    if not tasks:
        print("no Fargate Spot task to interrupt")
        return 0
    for task in tasks:
        print(f"{task['taskArn']}\t{task.get('stopCode', '')}\t{task.get('stoppedReason', '')}")
    return 0
