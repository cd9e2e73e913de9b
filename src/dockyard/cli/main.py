"""`dockyard`: up (server + local Fargate pool), server, agent, images, placement.

dockyard up [--port 4566] [--data-dir DIR]
dockyard agent --cluster NAME [--instance-type t3.medium] [--endpoint URL] [--simulate --count N]
dockyard images build [hello|hello:vN|busybox]
dockyard placement explain --cluster NAME --task-definition TD [--count N] [--placement-strategy ...] [--json]
dockyard fargate-spot interrupt (--task ARN | --cluster NAME [--count N])
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import os
import signal
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

__all__ = ["main"]

DEFAULT_PORT = 4566


def _port_default() -> int:
    return int(os.environ.get("DOCKYARD_PORT", DEFAULT_PORT))


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _image_name(value: str) -> str:
    from dockyard.images import image_tag

    try:
        tag = image_tag(value).rpartition(":")[2]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    if tag != "latest" and not (tag.startswith("v") and tag[1:].isdigit()):
        raise argparse.ArgumentTypeError(f"no Dockyard image {value!r}: known are busybox, hello, hello:v<N>")
    return value


def _parser() -> argparse.ArgumentParser:
    from dockyard.server.settings import default_data_dir

    parser = argparse.ArgumentParser(
        prog="dockyard", description="Amazon ECS, Fargate and ECR you run yourself."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True)

    for name, text in (
        ("up", "start the server and the local Fargate pool"),
        ("server", "start the server only"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("--host", default=os.environ.get("DOCKYARD_HOST", "127.0.0.1"))
        cmd.add_argument("--port", type=int, default=_port_default())
        cmd.add_argument("--data-dir", type=Path, default=default_data_dir())
        cmd.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
        cmd.add_argument(
            "--strict-auth", action="store_true", help="require known access keys and valid SigV4 signatures"
        )
        cmd.add_argument(
            "--simulate-instances",
            action="store_true",
            help="EC2 instances (RunInstances, Auto Scaling) run simulated agents: no containers",
        )
        cmd.add_argument(
            "--service-healthy-delay",
            type=float,
            default=os.environ.get("DOCKYARD_SERVICE_HEALTHY_DELAY", "40"),  # argparse applies `type`
            metavar="SECONDS",
            help="seconds a service task without health checks must run to count as healthy (ECS: 40)",
        )
        cmd.add_argument(
            "--capacity-metric-interval",
            type=float,
            default=os.environ.get("DOCKYARD_CAPACITY_METRIC_INTERVAL", "60"),  # argparse applies `type`
            metavar="SECONDS",
            help="seconds between capacity providers' managed-scaling datapoints (ECS: 60)",
        )
        cmd.add_argument(
            "--time-scale",
            type=float,
            default=os.environ.get("DOCKYARD_TIME_SCALE", "1"),  # argparse applies `type`
            metavar="FACTOR",
            help="run the server's clock FACTOR times faster (every period, delay and cooldown)",
        )
        cmd.add_argument(
            "--alarm-evaluation-interval",
            type=float,
            default=os.environ.get("DOCKYARD_ALARM_EVALUATION_INTERVAL", "60"),  # argparse applies `type`
            metavar="SECONDS",
            help="seconds between evaluations of each CloudWatch alarm (CloudWatch: 60)",
        )

    agent = sub.add_parser(
        "agent", help="run an agent: an EC2/EXTERNAL container instance or the Fargate pool"
    )
    agent.add_argument("--cluster", default=os.environ.get("ECS_CLUSTER", "default"))
    agent.add_argument(
        "--endpoint", default=os.environ.get("DOCKYARD_ENDPOINT", f"http://127.0.0.1:{_port_default()}")
    )
    agent.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    agent.add_argument("--instance-type", default=os.environ.get("DOCKYARD_INSTANCE_TYPE", "t3.medium"))
    agent.add_argument("--availability-zone", default=None, help="default: <region>a")
    agent.add_argument(
        "--address", default=None, help="the 127.0.0.N address bridge-mode ports are published on"
    )
    agent.add_argument("--external", action="store_true", help="register as an EXTERNAL instance")
    agent.add_argument(
        "--fargate-pool", action="store_true", help="run the Fargate pool (used by `dockyard up`)"
    )
    agent.add_argument("--data-dir", type=Path, default=None, help="where the agent keeps its state file")
    agent.add_argument(
        "--attribute",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a custom attribute to register (repeatable)",
    )
    agent.add_argument(
        "--label",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a Docker label to put on every container this agent creates (repeatable)",
    )
    agent.add_argument("--instance-id", default=None, help="the EC2 instance id to register with")
    agent.add_argument("--ami-id", default=None, help="the image id to register (ecs.ami-id)")
    agent.add_argument("--vpc-id", default=None, help="the ecs.vpc-id attribute")
    agent.add_argument("--subnet-id", default=None, help="the ecs.subnet-id attribute")
    agent.add_argument(
        "--simulate",
        action="store_true",
        help="register simulated instances: they accept tasks and report them RUNNING without containers",
    )
    agent.add_argument(
        "--count", type=int, default=1, help="with --simulate: how many instances this process runs"
    )

    subnets = sub.add_parser(
        "subnets", help="print the default VPC's subnets (for awsvpc network configurations)"
    )
    subnets.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    subnets.add_argument("--account", default="123456789012")
    subnets.add_argument("--first", action="store_true", help="print only the first subnet id")

    images = sub.add_parser("images", help="build the small images the docs and tests use")
    images_sub = images.add_subparsers(dest="images_command", required=True)
    build = images_sub.add_parser("build", help="build an image into the local Docker engine")
    build.add_argument(
        "name",
        nargs="?",
        default="hello",
        type=_image_name,
        metavar="{hello,hello:vN,busybox}",
        help="hello (also :v1), hello:v<N> (answering Version N) or busybox",
    )

    from dockyard.cli.placement import add_parser as add_placement

    add_placement(sub, os.environ.get("DOCKYARD_ENDPOINT", f"http://127.0.0.1:{_port_default()}"))

    from dockyard.cli.fargate_spot import add_parser as add_fargate_spot

    add_fargate_spot(sub, os.environ.get("DOCKYARD_ENDPOINT", f"http://127.0.0.1:{_port_default()}"))

    from dockyard.cli.scan_feed import add_parser as add_scan_feed

    add_scan_feed(sub, default_data_dir())
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    if args.command in ("up", "server"):
        if args.strict_auth:
            print(
                "dockyard: --strict-auth is not available in this version; Dockyard only serves "
                "loopback clients, with permissive credentials.",
                file=sys.stderr,
            )
            return 2
        if args.service_healthy_delay < 0:
            print("dockyard: --service-healthy-delay must be 0 or more seconds.", file=sys.stderr)
            return 2
        if args.capacity_metric_interval <= 0:
            print("dockyard: --capacity-metric-interval must be more than 0 seconds.", file=sys.stderr)
            return 2
        if args.time_scale <= 0:
            print("dockyard: --time-scale must be more than 0.", file=sys.stderr)
            return 2
        if args.alarm_evaluation_interval <= 0:
            print("dockyard: --alarm-evaluation-interval must be more than 0 seconds.", file=sys.stderr)
            return 2
        if not _is_loopback(args.host):
            print(
                f"dockyard: refusing to listen on {args.host}: beyond loopback, Dockyard requires "
                "--strict-auth.",
                file=sys.stderr,
            )
            return 2
        from dockyard.cli.up import serve

        return _run(serve(args, with_fargate=args.command == "up"))
    if args.command == "agent":
        from dockyard.agent.launch import agent_from_args

        return _run(agent_from_args(args))
    if args.command == "subnets":
        from dockyard.services.ecs.networking import default_subnets

        found = default_subnets(args.account, args.region)
        if args.first:
            print(found[0].subnet_id)
        else:
            for subnet in found:
                print(f"{subnet.subnet_id}\t{subnet.availability_zone}\t{subnet.cidr}\t{subnet.vpc_id}")
        return 0
    if args.command == "images":
        from dockyard.cli.images import build_image

        return _run(build_image(args.name))
    if args.command == "placement":
        from dockyard.cli.placement import run as explain_placement

        return explain_placement(args)
    if args.command == "scan-feed":
        from dockyard.cli.scan_feed import run as scan_feed

        return scan_feed(args)
    if args.command == "fargate-spot":
        from dockyard.cli.fargate_spot import run as interrupt_spot

        return interrupt_spot(args)
    return 2


def _run(coro: Coroutine[Any, Any, int]) -> int:
    loop = asyncio.new_event_loop()
    main_task = loop.create_task(coro)
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, main_task.cancel)
    try:
        return int(loop.run_until_complete(main_task) or 0)
    except asyncio.CancelledError:
        return 0
    finally:
        loop.close()


if __name__ == "__main__":
    sys.exit(main())
