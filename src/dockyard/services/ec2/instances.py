"""DescribeInstances, TerminateInstances, StopInstances and StartInstances.

State changes are recorded here (the transitional state and `dockyard.desired`, see
`instance_documents`); the server's instance launcher carries them out on the instance's agent.
Every named instance is checked before anything changes, so a bad id changes nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.services.ec2.api import api
from dockyard.services.ec2.deps import Ec2
from dockyard.services.ec2.errors import (
    IncorrectInstanceState,
    InvalidInstanceIDMalformed,
    InvalidInstanceIDNotFound,
    OperationNotPermitted,
    malformed_id,
    not_found_ids,
)
from dockyard.services.ec2.filters import check_filters, matches, page
from dockyard.services.ec2.instance_documents import (
    INSTANCE_FILTERS,
    instance_fields,
    render_instance,
    set_state,
    state_change,
)
from dockyard.services.ec2.resources import INSTANCE, check_dry_run, key
from dockyard.services.ec2.tags import all_tags
from dockyard.store import Conflict, Put, Versioned

__all__ = ["describe_instances", "terminate_instances", "stop_instances", "start_instances", "get_instances"]

_ATTEMPTS = 8


async def get_instances(ec2: Ec2, ctx: RequestContext, ids: list[str]) -> list[Versioned]:
    """The named instances, in order; InvalidInstanceID.Malformed / .NotFound when any is not one."""
    for instance_id in ids:
        if not instance_id.startswith("i-"):
            raise malformed_id(InvalidInstanceIDMalformed, instance_id, "i")
    found = []
    missing = []
    for instance_id in dict.fromkeys(ids):
        doc = await ec2.store.get(key(ctx, INSTANCE, instance_id))
        if doc is None:
            missing.append(instance_id)
        else:
            found.append(doc)
    if missing:
        raise not_found_ids(InvalidInstanceIDNotFound, "instance", missing)
    return found


@api.operation("DescribeInstances")
async def describe_instances(ec2: Ec2, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    filters = request.get("Filters", [])
    check_filters(filters, [*INSTANCE_FILTERS, "reservation-id", "owner-id"])
    ids = request.get("InstanceIds", [])
    docs = (
        [d.value for d in await get_instances(ec2, ctx, ids)]
        if ids
        else [d.value for d in await ec2.store.list(INSTANCE, account_id=ctx.account_id, region=ctx.region)]
    )
    check_dry_run(request)
    tags = await all_tags(ec2, ctx)
    selected = [d for d in docs if matches(filters, instance_fields(d, tags.get(d["InstanceId"], [])))]
    selected.sort(key=lambda d: (d["dockyard"]["reservationId"], d["AmiLaunchIndex"], d["InstanceId"]))
    items, token = page(
        selected,
        request,
        key=lambda d: [d["dockyard"]["reservationId"], d["AmiLaunchIndex"], d["InstanceId"]],
        ids_member="InstanceIds",
    )
    reservations: list[dict[str, Any]] = []
    for doc in items:
        internal = doc["dockyard"]
        if not reservations or reservations[-1]["ReservationId"] != internal["reservationId"]:
            reservations.append(
                {
                    "ReservationId": internal["reservationId"],
                    "OwnerId": internal["ownerId"],
                    "Groups": [],
                    "Instances": [],
                }
            )
        reservations[-1]["Instances"].append(render_instance(doc, tags.get(doc["InstanceId"])))
    return {"Reservations": reservations, **({"NextToken": token} if token else {})}


Transition = Callable[[dict[str, Any], float], None]


async def _transition(ec2: Ec2, ctx: RequestContext, found: Versioned, change: Transition) -> dict[str, Any]:
    """Apply `change` to the instance with compare-and-swap; returns its state change."""
    current = found
    for _ in range(_ATTEMPTS):
        doc = copy.deepcopy(current.value)
        previous = dict(doc["State"])
        change(doc, ec2.clock.now())
        if doc == current.value:
            return state_change(doc["InstanceId"], previous, doc["State"])
        try:
            await ec2.store.commit([Put(current.key, doc, expected_revision=current.revision)])
            return state_change(doc["InstanceId"], previous, doc["State"])
        except Conflict:
            again = await ec2.store.get(current.key)
            if again is None:
                raise not_found_ids(InvalidInstanceIDNotFound, "instance", [doc["InstanceId"]]) from None
            current = again
    raise Conflict(current.key, current.revision, None)


@api.operation("TerminateInstances")
async def terminate_instances(ec2: Ec2, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    found = await get_instances(ec2, ctx, request["InstanceIds"])
    for doc in found:
        if doc.value["dockyard"].get("disableApiTermination"):
            raise OperationNotPermitted(
                f"The instance '{doc.value['InstanceId']}' may not be terminated. Modify its "
                "'disableApiTermination' instance attribute and try again."
            )
    check_dry_run(request)

    def terminate(doc: dict[str, Any], now: float) -> None:
        if doc["State"]["Name"] in ("shutting-down", "terminated"):
            return
        doc["dockyard"]["desired"] = "terminated"
        set_state(doc, "shutting-down", now, user=True)

    return {"TerminatingInstances": [await _transition(ec2, ctx, doc, terminate) for doc in found]}


@api.operation("StopInstances")
async def stop_instances(ec2: Ec2, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    found = await get_instances(ec2, ctx, request["InstanceIds"])
    for doc in found:
        instance_id, name = doc.value["InstanceId"], doc.value["State"]["Name"]
        if name in ("pending", "shutting-down", "terminated"):
            raise IncorrectInstanceState(
                f"The instance '{instance_id}' is not in a state from which it can be stopped."
            )
        if doc.value["dockyard"].get("disableApiStop"):
            raise OperationNotPermitted(
                f"The instance '{instance_id}' may not be stopped. Modify its 'disableApiStop' instance "
                "attribute and try again."
            )
    check_dry_run(request)

    def stop(doc: dict[str, Any], now: float) -> None:
        if doc["State"]["Name"] != "running":
            return
        doc["dockyard"]["desired"] = "stopped"
        set_state(doc, "stopping", now, user=True)

    return {"StoppingInstances": [await _transition(ec2, ctx, doc, stop) for doc in found]}


@api.operation("StartInstances")
async def start_instances(ec2: Ec2, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    found = await get_instances(ec2, ctx, request["InstanceIds"])
    for doc in found:
        if doc.value["State"]["Name"] in ("stopping", "shutting-down", "terminated"):
            raise IncorrectInstanceState(
                f"The instance '{doc.value['InstanceId']}' is not in a state from which it can be started."
            )
    check_dry_run(request)

    def start(doc: dict[str, Any], now: float) -> None:
        if doc["State"]["Name"] != "stopped":
            return
        doc["dockyard"]["desired"] = "running"
        set_state(doc, "pending", now)

    return {"StartingInstances": [await _transition(ec2, ctx, doc, start) for doc in found]}
