"""The CapacityProviderReservation datapoints managed scaling publishes, kept for CloudWatch.

One document per datapoint (kind `ecs:capacity-metric`), shaped as CloudWatch's `MetricDatum`
with its timestamp, so a CloudWatch API can serve them as they are:

```
name   <cluster>/<provider>/<timestamp, zero-padded: names sort by time>
doc    {Namespace: AWS/ECS/ManagedScaling, MetricName: CapacityProviderReservation,
        Dimensions: [{Name: ClusterName, Value}, {Name: CapacityProviderName, Value}],
        Timestamp, Value, Unit: Percent}
```
Datapoints older than `metric_retention` (CloudWatch keeps one-minute data 15 days) are deleted
by the publisher, a page at a time.
"""

from __future__ import annotations

from dockyard.store import Delete, Key, Put, Store

__all__ = ["METRIC_KIND", "NAMESPACE", "METRIC_NAME", "datapoint", "expired"]

METRIC_KIND = "ecs:capacity-metric"
NAMESPACE = "AWS/ECS/ManagedScaling"
METRIC_NAME = "CapacityProviderReservation"


def datapoint(account_id: str, region: str, *, cluster: str, provider: str, value: float, now: float) -> Put:
    return Put(
        Key(account_id, region, METRIC_KIND, f"{cluster}/{provider}/{now:020.6f}"),
        {
            "Namespace": NAMESPACE,
            "MetricName": METRIC_NAME,
            "Dimensions": [
                {"Name": "ClusterName", "Value": cluster},
                {"Name": "CapacityProviderName", "Value": provider},
            ],
            "Timestamp": now,
            "Value": value,
            "Unit": "Percent",
        },
        labels={"series": f"{cluster}/{provider}"},
    )


async def expired(
    store: Store, account_id: str, region: str, *, cluster: str, provider: str, before: float
) -> list[Delete]:
    """Deletes for the series' datapoints older than `before`."""
    found = await store.list(
        METRIC_KIND, account_id=account_id, region=region, prefix=f"{cluster}/{provider}/"
    )
    return [Delete(d.key) for d in found if float(d.value.get("Timestamp", 0)) < before]
