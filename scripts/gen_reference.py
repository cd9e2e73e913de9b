"""Generate docs/reference/<service>.md: every operation of each served AWS API and its status.

```
botocore model (operation names) ──────────┐
dockyard.services.<pkg>.api.handlers ──────┼──> render(service) ──> docs/reference/<service>.md
docs/reference/<service>-notes.json ───────┘    (one row per operation: implemented / not yet, note)
```

`SERVICES` lists the APIs Dockyard serves (ecs, secretsmanager, ssm, ec2, autoscaling). An
operation is implemented when a handler is registered for it with `@api.operation("Name")`; every
implemented operation needs a one-line note in the service's notes file (tests/unit/test_docs.py
checks that, and that each committed page equals what `render()` makes now).

    .venv/bin/python scripts/gen_reference.py           # rewrite every page
    .venv/bin/python scripts/gen_reference.py ssm       # rewrite one
    .venv/bin/python scripts/gen_reference.py --check   # exit 1 when a page is out of date
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "NOTES",
    "OUTPUT",
    "ROOT",
    "SERVICES",
    "Row",
    "Service",
    "load_notes",
    "main",
    "render",
    "rows",
]

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "docs" / "reference"


@dataclass(frozen=True, slots=True)
class Service:
    name: str  # botocore's service name, also the page's file name
    title: str  # "Amazon ECS"
    package: str  # the dockyard.services package whose `api` serves it
    api_docs: str  # URL of one operation's reference page, with {} for its name
    intro: tuple[str, ...]  # what the page says after the legend

    @property
    def notes(self) -> Path:
        return REFERENCE / f"{self.name}-notes.json"

    @property
    def output(self) -> Path:
        return REFERENCE / f"{self.name}.md"


SERVICES: dict[str, Service] = {
    "ecs": Service(
        "ecs",
        "Amazon ECS",
        "dockyard.services.ecs",
        "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_{}.html",
        (
            "The agent-facing operations (`RegisterContainerInstance`, `DiscoverPollEndpoint`,",
            "`Submit*StateChange`) are what Dockyard's own agent uses; see",
            "[the agent channel](../agent-protocol.md).",
        ),
    ),
    "secretsmanager": Service(
        "secretsmanager",
        "AWS Secrets Manager",
        "dockyard.services.secretsmanager",
        "https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_{}.html",
        (
            "Secret values are encrypted at rest with AES-256-GCM under a key kept in the server's",
            "data directory (`secrets.key`, mode 0600); there is no KMS, so `KmsKeyId` is recorded and",
            "shown but does not change the encryption. Tasks read secrets at start; see",
            "[secrets in task definitions](../operations.md#secrets-in-task-definitions).",
        ),
    ),
    "ec2": Service(
        "ec2",
        "Amazon EC2",
        "dockyard.services.ec2",
        "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_{}.html",
        (
            "Only what a cluster needs is served: the default VPC with its subnets and zones, security",
            "groups, instance types, launch templates, tags and instances. An instance is a local virtual",
            "host running a `dockyard agent` that registers with the cluster its user data names; see",
            "[EC2 capacity](../getting-started.md#ec2-capacity-with-an-auto-scaling-group).",
        ),
    ),
    "autoscaling": Service(
        "autoscaling",
        "Amazon EC2 Auto Scaling",
        "dockyard.services.autoscaling",
        "https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_{}.html",
        (
            "A group controller keeps every group at its desired capacity by calling EC2's",
            "`RunInstances` and `TerminateInstances`, balancing zones and following AWS's default",
            "termination policy; see",
            "[EC2 capacity](../getting-started.md#ec2-capacity-with-an-auto-scaling-group).",
        ),
    ),
    "ssm": Service(
        "ssm",
        "AWS Systems Manager",
        "dockyard.services.ssm",
        "https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_{}.html",
        (
            "Only Parameter Store is served. SecureString values are encrypted at rest with",
            "AES-256-GCM under the server's key (`secrets.key` in the data directory); without",
            "`WithDecryption` they read as that ciphertext, as on AWS. Tasks read parameters at start; see",
            "[secrets in task definitions](../operations.md#secrets-in-task-definitions).",
        ),
    ),
    "application-autoscaling": Service(
        "application-autoscaling",
        "Application Auto Scaling",
        "dockyard.services.applicationautoscaling",
        "https://docs.aws.amazon.com/autoscaling/application/APIReference/API_{}.html",
        (
            "Only ECS services are scalable targets (`ecs` / `ecs:service:DesiredCount`). Scaling",
            "changes the service's desired count through ECS's `UpdateService`; target tracking",
            "policies make their CloudWatch alarms as AWS does, and policies act when CloudWatch",
            "evaluates those alarms; see",
            "[service auto scaling](../operations.md#service-auto-scaling).",
        ),
    ),
    "elbv2": Service(
        "elbv2",
        "Elastic Load Balancing v2",
        "dockyard.services.elbv2",
        "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_{}.html",
        (
            "Application and network load balancers. The control API keeps load balancers,",
            "listeners, rules, target groups and targets in the store; the HAProxy data plane",
            "serves them, each load balancer on a loopback address of its own, and reports target",
            "health. There is no certificate service yet, so HTTPS and TLS listeners cannot be made.",
        ),
    ),
    "cloudwatch": Service(
        "cloudwatch",
        "Amazon CloudWatch",
        "dockyard.services.cloudwatch",
        "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_{}.html",
        (
            "Metrics and metric alarms, over every protocol CloudWatch clients send (awsJson 1.0,",
            "query and Smithy RPC v2 CBOR). Dockyard's components publish the `AWS/*` metrics in",
            "process, and alarm actions reach the services that own their ARNs (Application Auto",
            "Scaling policies); see [metrics and alarms](../architecture.md#metrics-and-alarms).",
        ),
    ),
    "ecr": Service(
        "ecr",
        "Amazon ECR",
        "dockyard.services.ecr",
        "https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_{}.html",
        (
            "The control API and the registry's `/v2/` endpoints (docker, podman, skopeo, oras)",
            "share one catalog and one blob store, so an image pushed one way is seen the other;",
            "see [the registry](../registry.md) for repository URIs, logging in and storage.",
        ),
    ),
    "ecr-public": Service(
        "ecr-public",
        "Amazon ECR Public",
        "dockyard.services.ecrpublic",
        "https://docs.aws.amazon.com/AmazonECRPublic/latest/APIReference/API_{}.html",
        (
            "Public repositories live in the same catalog and blob store as private ones, in each",
            "account's public registry, and are pulled without credentials from the public host; see",
            "[public repositories](../registry.md#public-repositories) for URIs, aliases and logging in.",
        ),
    ),
    "logs": Service(
        "logs",
        "Amazon CloudWatch Logs",
        "dockyard.services.logs",
        "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_{}.html",
        (
            "Log groups are documents of the store; streams and events live in an SQLite file of",
            "their own beside it (`logs.db` in the data directory). Tasks whose containers use the",
            "`awslogs` driver ship their output here through the agent; see [logs](../logs.md).",
        ),
    ),
    "acm": Service(
        "acm",
        "AWS Certificate Manager",
        "dockyard.services.acm",
        "https://docs.aws.amazon.com/acm/latest/APIReference/API_{}.html",
        (
            "Imported certificates only (requesting one needs a public CA). Private keys are sealed at",
            "rest and leave ACM only for the load balancer data plane, which serves them on HTTPS",
            "listeners; see [load balancing](../load-balancing.md).",
        ),
    ),
}

# The ECS page's paths, kept for callers that knew only that page.
NOTES = SERVICES["ecs"].notes
OUTPUT = SERVICES["ecs"].output


@dataclass(frozen=True, slots=True)
class Row:
    operation: str
    implemented: bool
    note: str


def load_notes(path: Path = NOTES) -> dict[str, str]:
    data = json.loads(path.read_text())
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ValueError(f"{path}: expected an object of operation name -> one-line note")
    return {str(k): str(v) for k, v in data.items()}


def implemented(service: Service) -> tuple[list[str], set[str], str]:
    """(operation names in the model, implemented operation names, "API version, botocore version")."""
    import botocore

    api = importlib.import_module(service.package).api  # importing the package registers its handlers
    version = f"API version {api.model.api_version}, as modelled by botocore {botocore.__version__}"
    return sorted(api.model.operation_names), set(api.handlers), version


def rows(operations: Iterable[str], done: set[str], notes: Mapping[str, str]) -> list[Row]:
    return [Row(name, name in done, notes.get(name, "")) for name in sorted(operations)]


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def render(notes: Mapping[str, str] | None = None, *, service: str = "ecs") -> str:
    """The whole of docs/reference/<service>.md, as it should be now."""
    spec = SERVICES[service]
    operations, done, version = implemented(spec)
    table = rows(operations, done, load_notes(spec.notes) if notes is None else notes)
    count = sum(1 for row in table if row.implemented)
    short = "ECS" if service == "ecs" else spec.title
    model = "ECS" if service == "ecs" else service
    lines = [
        f"# {short} API coverage",
        "",
        f"<!-- Generated by scripts/gen_reference.py from the botocore {model} model, the handlers",
        f"     registered in {spec.package} and docs/reference/{service}-notes.json. Do not edit by",
        "     hand: change the notes file (or the code) and run",
        "     `.venv/bin/python scripts/gen_reference.py`. tests/unit/test_docs.py checks it. -->",
        "",
        f"Dockyard implements **{count} of the {len(table)}** operations of the {spec.title} API",
        f"({version}). Every request is validated against botocore's input shape and every",
        "response is serialized from its output shape, so the AWS CLI and the SDKs see the same",
        "members, types and error names as on AWS.",
        "",
        "- **implemented**: works end to end"
        + (" against real containers" if service == "ecs" else "")
        + f", with {'ECS' if service == 'ecs' else 'AWS'}'s errors and messages;",
        "  the note says what is notable or limited.",
        "- **not yet**: the operation answers `UnknownOperationException` (HTTP 400), with the message",
        f"  `The operation <Name> is not supported by Dockyard's {service} API.`",
        "",
        *spec.intro,
        "",
        "| Operation | Status | Notes |",
        "|---|---|---|",
    ]
    for row in table:
        name = f"[{row.operation}]({spec.api_docs.format(row.operation)})"
        status = "implemented" if row.implemented else "not yet"
        lines.append(f"| {name} | {status} | {_cell(row.note) if row.implemented else ''} |")
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate docs/reference/<service>.md.")
    parser.add_argument("services", nargs="*", help=f"pages to write: {', '.join(SERVICES)} (default: all)")
    parser.add_argument("--check", action="store_true", help="exit 1 if a page is out of date")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.services) - set(SERVICES))
    if unknown:
        parser.error(f"unknown service {', '.join(unknown)}; choose from {', '.join(SERVICES)}")
    stale = 0
    for service in args.services or list(SERVICES):
        output = SERVICES[service].output
        text = render(service=service)
        if args.check:
            if (output.read_text() if output.exists() else "") != text:
                print(
                    f"{output.relative_to(ROOT)} is out of date: run scripts/gen_reference.py",
                    file=sys.stderr,
                )
                stale += 1
            continue
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text)
        print(f"wrote {output.relative_to(ROOT)}")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
