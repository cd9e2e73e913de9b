"""State transitions of an alarm, shared by the evaluation controller and SetAlarmState.

```
change_state: alarm document (new StateValue, StateReason, StateReasonData, timestamps)
              + a StateUpdate history item                          -> one commit (CAS)
run_actions:  ActionsEnabled ? the new state's actions -> AlarmActions.invoke each
              + an Action history item per outcome                  -> one commit
```
"""

from __future__ import annotations

import copy
import json
from typing import Any

from dockyard.services.cloudwatch.actions import AlarmAction, Outcome, Transition
from dockyard.services.cloudwatch.alarm_documents import history_put
from dockyard.services.cloudwatch.deps import CloudWatch
from dockyard.store import Put, Versioned

__all__ = ["change_state", "run_actions", "repeat_actions", "actions_for"]

_LISTS = {"OK": "OKActions", "ALARM": "AlarmActions", "INSUFFICIENT_DATA": "InsufficientDataActions"}


def actions_for(doc: dict[str, Any], state: str) -> list[str]:
    return list(doc.get(_LISTS[state]) or [])


def _state_json(value: str, reason: str, data: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"stateValue": value, "stateReason": reason}
    if data:
        try:
            out["stateReasonData"] = json.loads(data)
        except ValueError:
            out["stateReasonData"] = data
    return out


async def change_state(
    cw: CloudWatch, alarm: Versioned, *, state: str, reason: str, reason_data: str | None, now: float
) -> dict[str, Any]:
    """Store the transition (raises `Conflict` if the alarm changed meanwhile); returns the new doc."""
    old = alarm.value
    doc = copy.deepcopy(old)
    doc["StateValue"] = state
    doc["StateReason"] = reason[:1023]
    if reason_data is None:
        doc.pop("StateReasonData", None)
    else:
        doc["StateReasonData"] = reason_data
    doc["StateUpdatedTimestamp"] = now
    doc["StateTransitionedTimestamp"] = now
    history = history_put(
        alarm.key.account_id,
        alarm.key.region,
        cw.ids,
        alarm_name=doc["AlarmName"],
        timestamp=now,
        item_type="StateUpdate",
        summary=f"Alarm updated from {old['StateValue']} to {state}",
        data={
            "version": "1.0",
            "oldState": _state_json(
                old["StateValue"], old.get("StateReason", ""), old.get("StateReasonData")
            ),
            "newState": _state_json(state, doc["StateReason"], reason_data),
        },
    )
    await cw.store.commit([Put(alarm.key, doc, expected_revision=alarm.revision), history])
    await cw.actions.notify(
        Transition(
            alarm.key.account_id,
            alarm.key.region,
            doc,
            previous_state=old["StateValue"],
            previous_reason=old.get("StateReason", ""),
            timestamp=now,
        )
    )
    return doc


def _action(
    account_id: str, region: str, doc: dict[str, Any], arn: str, previous: str, *, repeated: bool
) -> AlarmAction:
    return AlarmAction(
        arn=arn,
        account_id=account_id,
        region=region,
        alarm_name=doc["AlarmName"],
        alarm_arn=doc["AlarmArn"],
        state=doc["StateValue"],
        previous_state=previous,
        reason=doc.get("StateReason", ""),
        reason_data=doc.get("StateReasonData"),
        timestamp=float(doc.get("StateUpdatedTimestamp", 0.0)),
        repeated=repeated,
        alarm={k: v for k, v in doc.items() if k != "dockyard"},
    )


async def run_actions(
    cw: CloudWatch, account_id: str, region: str, doc: dict[str, Any], previous_state: str, *, now: float
) -> list[Outcome]:
    """Invoke the actions of the state `doc` is in (after a transition) and record each outcome."""
    if not doc.get("ActionsEnabled", True):
        return []
    outcomes = []
    for arn in actions_for(doc, doc["StateValue"]):
        outcomes.append(
            await cw.actions.invoke(_action(account_id, region, doc, arn, previous_state, repeated=False))
        )
    writes = []
    for outcome in outcomes:
        data: dict[str, Any] = {
            "actionState": "Succeeded" if outcome.ok else "Failed",
            "stateUpdateTimestamp": int(float(doc["StateUpdatedTimestamp"]) * 1000),
            "notificationResource": outcome.arn,
        }
        if outcome.ok:
            summary = f"Successfully executed action {outcome.arn}"
        else:
            data["error"] = outcome.error
            summary = f'Failed to execute action {outcome.arn}. Received error: "{outcome.error}"'
        writes.append(
            history_put(
                account_id,
                region,
                cw.ids,
                alarm_name=doc["AlarmName"],
                timestamp=now,
                item_type="Action",
                summary=summary,
                data=data,
            )
        )
    if writes:
        await cw.store.commit(writes)
    return outcomes


async def repeat_actions(
    cw: CloudWatch, account_id: str, region: str, doc: dict[str, Any], *, reason_data: str | None
) -> None:
    """Re-invoke the current state's repeating actions (Auto Scaling policies) while it lasts;
    `reason_data` is this evaluation's StateReasonData, so they act on the latest datapoints."""
    if not doc.get("ActionsEnabled", True):
        return
    current = dict(doc)
    if reason_data is not None:
        current["StateReasonData"] = reason_data
    for arn in actions_for(doc, doc["StateValue"]):
        if cw.actions.repeats(arn):
            await cw.actions.invoke(
                _action(account_id, region, current, arn, doc["StateValue"], repeated=True)
            )
