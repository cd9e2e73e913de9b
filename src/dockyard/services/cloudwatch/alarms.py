"""Alarm lifecycle: PutMetricAlarm, DeleteAlarms, SetAlarmState, Enable/DisableAlarmActions.

PutMetricAlarm creates or fully replaces an alarm by name: a new one starts in
INSUFFICIENT_DATA ("Unchecked: Initial alarm creation"); an update keeps the state and ignores
Tags (TagResource changes them). Each writes a ConfigurationUpdate history item in the same
commit. DeleteAlarms deletes the named alarms that exist (unknown names are ignored) in one
commit. SetAlarmState moves an alarm to a state until its next evaluation and runs that state's
actions; setting the state the alarm is already in changes nothing.
"""

from __future__ import annotations

import json
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.services.cloudwatch.alarm_documents import alarm_key, configuration_json, history_put
from dockyard.services.cloudwatch.alarm_validation import build_alarm
from dockyard.services.cloudwatch.api import api
from dockyard.services.cloudwatch.deps import CloudWatch
from dockyard.services.cloudwatch.errors import InvalidFormatFault, ResourceNotFound
from dockyard.services.cloudwatch.transitions import change_state, run_actions
from dockyard.store import Conflict, Delete, Put, Write

__all__ = [
    "put_metric_alarm",
    "delete_alarms",
    "set_alarm_state",
    "enable_alarm_actions",
    "disable_alarm_actions",
]

_ATTEMPTS = 5


@api.operation("PutMetricAlarm")
async def put_metric_alarm(cw: CloudWatch, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    name = request["AlarmName"]
    key = alarm_key(ctx.account_id, ctx.region, name)
    for _ in range(_ATTEMPTS):
        found = await cw.store.get(key)
        now = cw.clock.now()
        previous = found.value if found is not None else None
        doc = build_alarm(ctx, request, now=now, previous=previous)
        if previous is None:
            summary, data = (
                f'Alarm "{name}" created',
                {"type": "Create", "version": "1.0", "createdAlarm": configuration_json(doc)},
            )
        else:
            summary = f'Alarm "{name}" updated'
            data = {
                "type": "Update",
                "version": "1.0",
                "originalAlarm": configuration_json(previous),
                "updatedAlarm": configuration_json(doc),
            }
        history = history_put(
            ctx.account_id,
            ctx.region,
            cw.ids,
            alarm_name=name,
            timestamp=now,
            item_type="ConfigurationUpdate",
            summary=summary,
            data=data,
        )
        put = Put(key, doc, expected_revision=found.revision if found is not None else 0)
        try:
            await cw.store.commit([put, history])
        except Conflict:
            continue
        return {}
    raise Conflict(key, None, None)


@api.operation("DeleteAlarms")
async def delete_alarms(cw: CloudWatch, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    for _ in range(_ATTEMPTS):
        now = cw.clock.now()
        writes: list[Write] = []
        for name in dict.fromkeys(request["AlarmNames"]):
            found = await cw.store.get(alarm_key(ctx.account_id, ctx.region, name))
            if found is None:
                continue
            writes.append(Delete(found.key, expected_revision=found.revision))
            writes.append(
                history_put(
                    ctx.account_id,
                    ctx.region,
                    cw.ids,
                    alarm_name=name,
                    timestamp=now,
                    item_type="ConfigurationUpdate",
                    summary=f'Alarm "{name}" deleted',
                    data={
                        "type": "Delete",
                        "version": "1.0",
                        "deletedAlarm": configuration_json(found.value),
                    },
                )
            )
        if not writes:
            return {}
        try:
            await cw.store.commit(writes)
        except Conflict:
            continue
        return {}
    raise Conflict(alarm_key(ctx.account_id, ctx.region, request["AlarmNames"][0]), None, None)


@api.operation("SetAlarmState")
async def set_alarm_state(cw: CloudWatch, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    data = request.get("StateReasonData")
    if data is not None:
        try:
            json.loads(data)
        except ValueError as exc:
            raise InvalidFormatFault("The value of StateReasonData is not valid JSON.") from exc
    key = alarm_key(ctx.account_id, ctx.region, request["AlarmName"])
    for _ in range(_ATTEMPTS):
        found = await cw.store.get(key)
        if found is None:
            raise ResourceNotFound(f"Alarm {request['AlarmName']} not found")
        previous = found.value["StateValue"]
        if previous == request["StateValue"]:
            return {}
        now = cw.clock.now()
        try:
            doc = await change_state(
                cw,
                found,
                state=request["StateValue"],
                reason=request["StateReason"],
                reason_data=data,
                now=now,
            )
        except Conflict:
            continue
        await run_actions(cw, ctx.account_id, ctx.region, doc, previous, now=now)
        return {}
    raise Conflict(key, None, None)


async def _set_actions(cw: CloudWatch, ctx: RequestContext, names: list[str], enabled: bool) -> None:
    for name in dict.fromkeys(names):
        key = alarm_key(ctx.account_id, ctx.region, name)
        for _ in range(_ATTEMPTS):
            found = await cw.store.get(key)
            if found is None or found.value.get("ActionsEnabled", True) == enabled:
                break
            doc = dict(found.value)
            doc["ActionsEnabled"] = enabled
            try:
                await cw.store.commit([Put(key, doc, expected_revision=found.revision)])
            except Conflict:
                continue
            break


@api.operation("EnableAlarmActions")
async def enable_alarm_actions(
    cw: CloudWatch, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    await _set_actions(cw, ctx, request["AlarmNames"], True)
    return {}


@api.operation("DisableAlarmActions")
async def disable_alarm_actions(
    cw: CloudWatch, ctx: RequestContext, request: dict[str, Any]
) -> dict[str, Any]:
    await _set_actions(cw, ctx, request["AlarmNames"], False)
    return {}
