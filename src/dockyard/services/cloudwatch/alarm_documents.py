"""Alarm and alarm-history documents: keys, ARNs, the stored shape and history items.

```
kind cloudwatch:alarm          name = alarm name
  value: the MetricAlarm members as DescribeAlarms shows them (epoch-second timestamps),
         + "dockyard": {"tags": [{"Key", "Value"}]}
kind cloudwatch:alarm-history  name = "<timestamp, 17 digits>-<8 hex>"  label alarm = alarm name
  value: an AlarmHistoryItem (AlarmName, AlarmType, Timestamp, HistoryItemType, HistorySummary,
         HistoryData), kept two weeks, also after the alarm is deleted
```
History texts follow CloudWatch's: `Alarm "<name>" created` / `updated` / `deleted` with the
configuration as HistoryData JSON; `Alarm updated from OK to ALARM` with the old and new states;
`Successfully executed action <arn>` / `Failed to execute action <arn>`.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

from dockyard.aws.dispatch import RequestContext
from dockyard.core.ids import IdGenerator
from dockyard.store import Key, Put

__all__ = [
    "ALARM",
    "HISTORY",
    "INITIAL_REASON",
    "alarm_arn",
    "alarm_key",
    "history_put",
    "iso",
    "configuration_json",
]

ALARM = "cloudwatch:alarm"
HISTORY = "cloudwatch:alarm-history"
INITIAL_REASON = "Unchecked: Initial alarm creation"

# Configuration members (as DescribeAlarms names them), in CloudWatch's history JSON spelling.
_CONFIG = (
    "AlarmName",
    "AlarmArn",
    "AlarmDescription",
    "ActionsEnabled",
    "OKActions",
    "AlarmActions",
    "InsufficientDataActions",
    "MetricName",
    "Namespace",
    "Statistic",
    "ExtendedStatistic",
    "Dimensions",
    "Period",
    "Unit",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "Threshold",
    "ComparisonOperator",
    "TreatMissingData",
    "EvaluateLowSampleCountPercentile",
    "Metrics",
    "ThresholdMetricId",
)


def alarm_arn(ctx: RequestContext, name: str) -> str:
    return f"arn:aws:cloudwatch:{ctx.region}:{ctx.account_id}:alarm:{name}"


def alarm_key(account_id: str, region: str, name: str) -> Key:
    return Key(account_id, region, ALARM, name)


def iso(timestamp: float) -> str:
    """CloudWatch's timestamp spelling inside JSON texts: 2026-01-02T03:04:05.678+0000."""
    moment = datetime.datetime.fromtimestamp(timestamp, datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _json_value(value: Any) -> Any:
    if isinstance(value, dict):
        return {_camel(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    return value


def configuration_json(doc: dict[str, Any]) -> dict[str, Any]:
    """The alarm's configuration as history JSON writes it (camelCase members)."""
    out: dict[str, Any] = {}
    for name in _CONFIG:
        if doc.get(name) is not None:
            out[_camel(name)] = _json_value(doc[name])
    out["stateValue"] = doc.get("StateValue")
    if doc.get("AlarmConfigurationUpdatedTimestamp") is not None:
        out["alarmConfigurationUpdatedTimestamp"] = iso(doc["AlarmConfigurationUpdatedTimestamp"])
    return out


def history_put(
    account_id: str,
    region: str,
    ids: IdGenerator,
    *,
    alarm_name: str,
    timestamp: float,
    item_type: str,
    summary: str,
    data: dict[str, Any],
) -> Put:
    item = {
        "AlarmName": alarm_name,
        "AlarmType": "MetricAlarm",
        "Timestamp": timestamp,
        "HistoryItemType": item_type,
        "HistorySummary": summary[:255],
        "HistoryData": json.dumps(data, separators=(",", ":")),
    }
    name = f"{timestamp:017.6f}-{ids.hex32()[:8]}"
    return Put(
        Key(account_id, region, HISTORY, name), item, expected_revision=0, labels={"alarm": alarm_name}
    )
