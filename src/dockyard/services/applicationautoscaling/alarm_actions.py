"""What a scaling policy does when one of its alarms is in ALARM (CloudWatch's action seam).

CloudWatch invokes `run_policy` for an action ARN `arn:aws:autoscaling:...:scalingPolicy:...:
resource/...` when the alarm enters ALARM, and again at every evaluation while it stays there.

```
target tracking, AlarmHigh   base = current (or, in a scale-out cooldown, the capacity before it)
                             desired = ceil(base × latest datapoint / TargetValue)
target tracking, AlarmLow    only if every target tracking policy of the target that may scale
                             in has its AlarmLow in ALARM; the largest of their desired counts
step scaling                 the step holding (aggregated datapoints - threshold), applied to base
                             (set to ALARM by hand, without datapoints: the step nearest it)
then                         capacity.decide (min/max, cooldowns, suspension) -> scale_to, or a
                             not-scaled activity (already at max/min)
```
The datapoints are the alarm's `StateReasonData.recentDatapoints`, as CloudWatch records them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from dockyard.services.applicationautoscaling import ecs_capacity
from dockyard.services.applicationautoscaling.capacity import (
    Cooldown,
    Decision,
    adjusted_capacity,
    decide,
    select_step,
    tracking_capacity,
)
from dockyard.services.applicationautoscaling.deps import AppScaling
from dockyard.services.applicationautoscaling.policy_config import DEFAULT_COOLDOWN
from dockyard.services.applicationautoscaling.resources import POLICY, TARGET, target_ref
from dockyard.services.applicationautoscaling.scaling import record_not_scaled, scale_to
from dockyard.services.applicationautoscaling.tracking_alarms import alarm_states
from dockyard.services.cloudwatch.actions import ActionFailed, AlarmAction
from dockyard.store import Key, Versioned

__all__ = ["accepts", "run_policy"]

_ATTEMPTS = 4
_NEAREST = 1e-9  # just below the threshold


def accepts(arn: str) -> bool:
    """Application Auto Scaling's policy ARNs (EC2 Auto Scaling's name a group instead)."""
    return ":scalingPolicy:" in arn and ":resource/" in arn


async def run_policy(app: AppScaling, action: AlarmAction) -> None:
    if action.state != "ALARM":
        return
    found = await app.store.find(
        POLICY, "arn", action.arn, account_id=action.account_id, region=action.region
    )
    if not found:
        raise ActionFailed(f"No scaling policy found for {action.arn}")
    policy = found[0].value
    target_key = Key(action.account_id, action.region, TARGET, target_ref(policy).name)
    values = datapoints(action.reason_data)
    if not values and policy["PolicyType"] == "TargetTrackingScaling":
        raise ActionFailed(f"The alarm {action.alarm_name} has no datapoints to scale on.")
    cause = f"monitor alarm {action.alarm_name} in state ALARM triggered policy {policy['PolicyName']}"
    for _ in range(_ATTEMPTS):
        target = await app.store.get(target_key)
        if target is None:
            raise ActionFailed(f"No scalable target registered for {policy['ResourceId']}")
        current = await ecs_capacity.current(app, target.key, target_ref(target.value))
        if current is None:
            raise ActionFailed(f"ECS service doesn't exist: {policy['ResourceId']}")
        if policy["PolicyType"] == "TargetTrackingScaling":
            outcome = await _tracking(app, target, policy, action, current, values)
        else:
            outcome = _step(app, target, policy, action, current, values)
        if outcome is None:
            return
        proposed, decision = outcome
        if decision.capacity is not None:
            internal = {"cooldown": decision.cooldown.to_doc()}
            if await scale_to(app, target, decision.capacity, cause=cause, internal=internal):
                return
            continue
        if decision.not_scaled is not None:
            await record_not_scaled(app, target, proposed=proposed, cause=cause, reason=decision.not_scaled)
        return


def datapoints(reason_data: str | None) -> list[float]:
    """The alarm's recent datapoints, oldest first."""
    if not reason_data:
        return []
    try:
        data = json.loads(reason_data)
    except ValueError:
        return []
    recent = data.get("recentDatapoints")
    if isinstance(recent, list) and recent:
        return [float(v) for v in recent]
    evaluated = data.get("evaluatedDatapoints") or []
    ordered = sorted((p for p in evaluated if "value" in p), key=lambda p: str(p.get("timestamp", "")))
    return [float(p["value"]) for p in ordered]


def _decide(
    app: AppScaling,
    target: Versioned,
    current: int,
    proposed: int,
    *,
    out_cooldown: int,
    in_cooldown: int,
    intent: int,
) -> Decision:
    doc = target.value
    suspended = doc["SuspendedState"]
    return decide(
        current=current,
        proposed=proposed,
        min_capacity=int(doc["MinCapacity"]),
        max_capacity=int(doc["MaxCapacity"]),
        cooldown=Cooldown.from_doc(doc["dockyard"].get("cooldown")),
        now=app.clock.now(),
        out_cooldown=out_cooldown,
        in_cooldown=in_cooldown,
        out_suspended=bool(suspended.get("DynamicScalingOutSuspended")),
        in_suspended=bool(suspended.get("DynamicScalingInSuspended")),
        intent=intent,
    )


async def _tracking(
    app: AppScaling,
    target: Versioned,
    policy: dict[str, Any],
    action: AlarmAction,
    current: int,
    values: Sequence[float],
) -> tuple[int, Decision] | None:
    config = policy["TargetTrackingScalingPolicyConfiguration"]
    cooldowns = {
        "out_cooldown": _or_default(config.get("ScaleOutCooldown")),
        "in_cooldown": _or_default(config.get("ScaleInCooldown")),
    }
    internal = policy["dockyard"]
    if action.alarm_name == internal.get("high"):
        cooldown = Cooldown.from_doc(target.value["dockyard"].get("cooldown"))
        base = cooldown.base(current, app.clock.now())
        proposed = tracking_capacity(base, values[-1], float(config["TargetValue"]))
        return proposed, _decide(app, target, current, proposed, intent=1, **cooldowns)
    if action.alarm_name != internal.get("low") or config.get("DisableScaleIn"):
        return None
    agreed = await _agreed_scale_in(app, target, policy, current, values[-1])
    if agreed is None:
        return None
    return agreed, _decide(app, target, current, agreed, intent=-1, **cooldowns)


async def _agreed_scale_in(
    app: AppScaling, target: Versioned, policy: dict[str, Any], current: int, metric: float
) -> int | None:
    """The desired count every scale-in-enabled target tracking policy agrees on, or None when
    one of them does not want to scale in."""
    proposals = [
        tracking_capacity(
            current, metric, float(policy["TargetTrackingScalingPolicyConfiguration"]["TargetValue"])
        )
    ]
    others = [
        p.value
        for p in await app.store.find(
            POLICY, "target", target.key.name, account_id=target.key.account_id, region=target.key.region
        )
        if p.value["PolicyARN"] != policy["PolicyARN"]
        and p.value["PolicyType"] == "TargetTrackingScaling"
        and not p.value["TargetTrackingScalingPolicyConfiguration"].get("DisableScaleIn")
    ]
    if not others:
        return proposals[0]
    names = [p["dockyard"]["low"] for p in others if p["dockyard"].get("low")]
    alarms = await alarm_states(app, target.key.account_id, target.key.region, names)
    for other in others:
        alarm = alarms.get(other["dockyard"].get("low") or "")
        if alarm is None or alarm.get("StateValue") != "ALARM":
            return None
        values = datapoints(alarm.get("StateReasonData"))
        if not values:
            return None
        target_value = float(other["TargetTrackingScalingPolicyConfiguration"]["TargetValue"])
        proposals.append(tracking_capacity(current, values[-1], target_value))
    return max(proposals)


def _step(
    app: AppScaling,
    target: Versioned,
    policy: dict[str, Any],
    action: AlarmAction,
    current: int,
    values: Sequence[float],
) -> tuple[int, Decision] | None:
    config = policy["StepScalingPolicyConfiguration"]
    threshold = float(action.alarm.get("Threshold", 0.0))
    step = select_step(config["StepAdjustments"], _breach(config, action, values, threshold))
    if step is None:
        return None
    adjustment_type = config["AdjustmentType"]
    adjustment = int(step["ScalingAdjustment"])
    scale_out = adjustment > current if adjustment_type == "ExactCapacity" else adjustment > 0
    base = current
    if scale_out:
        base = Cooldown.from_doc(target.value["dockyard"].get("cooldown")).base(current, app.clock.now())
    proposed = adjusted_capacity(adjustment_type, base, adjustment, config.get("MinAdjustmentMagnitude"))
    cooldown = _or_default(config.get("Cooldown"))
    intent = 1 if scale_out else (-1 if proposed < current or adjustment < 0 else 0)
    return proposed, _decide(
        app, target, current, proposed, out_cooldown=cooldown, in_cooldown=cooldown, intent=intent
    )


def _breach(config: dict[str, Any], action: AlarmAction, values: Sequence[float], threshold: float) -> float:
    """How far the aggregated datapoints are from the threshold. An alarm set to ALARM by hand
    (SetAlarmState, no datapoints) counts as just breaching: the step nearest the threshold."""
    if not values:
        return 0.0 if str(action.alarm.get("ComparisonOperator", "")).startswith("Greater") else -_NEAREST
    aggregation = config.get("MetricAggregationType") or "Average"
    if aggregation == "Minimum":
        metric = min(values)
    elif aggregation == "Maximum":
        metric = max(values)
    else:
        metric = sum(values) / len(values)
    return metric - threshold


def _or_default(value: int | None) -> int:
    return DEFAULT_COOLDOWN if value is None else int(value)
