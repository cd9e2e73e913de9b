"""Attributes through boto3: PutAttributes, DeleteAttributes, ListAttributes and their rules."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.instance_helpers import register


def error(caught: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    body = caught.value.response["Error"]
    return body["Code"], body["Message"]


def attributes_of(ecs: Any, arn: str, cluster: str = "default") -> dict[str, str | None]:
    instance = ecs.describe_container_instances(cluster=cluster, containerInstances=[arn])[
        "containerInstances"
    ][0]
    return {a["name"]: a.get("value") for a in instance["attributes"]}


@pytest.fixture
def instance(ecs: Any) -> str:
    ecs.create_cluster()
    arn: str = register(ecs)["containerInstanceArn"]
    return arn


def test_put_attributes_by_arn_and_by_id(ecs: Any, instance: str) -> None:
    put = ecs.put_attributes(attributes=[{"name": "stack", "value": "production", "targetId": instance}])
    assert put["attributes"] == [{"name": "stack", "value": "production", "targetId": instance}]
    instance_id = instance.rsplit("/", 1)[1]
    ecs.put_attributes(
        attributes=[{"name": "gpu", "targetType": "container-instance", "targetId": instance_id}],
    )
    attributes = attributes_of(ecs, instance)
    assert attributes["stack"] == "production"
    assert "gpu" in attributes and attributes["gpu"] is None
    assert attributes["ecs.os-type"] == "linux"


def test_put_attributes_replaces_a_value(ecs: Any, instance: str) -> None:
    ecs.put_attributes(attributes=[{"name": "stack", "value": "a", "targetId": instance}])
    ecs.put_attributes(attributes=[{"name": "stack", "value": "b", "targetId": instance}])
    attributes = ecs.list_attributes(targetType="container-instance", attributeName="stack")["attributes"]
    assert attributes == [{"name": "stack", "value": "b", "targetId": instance}]
    version = ecs.describe_container_instances(containerInstances=[instance])["containerInstances"][0][
        "version"
    ]
    assert version == 3


def test_put_attributes_short_id_needs_target_type(ecs: Any, instance: str) -> None:
    with pytest.raises(ClientError) as caught:
        ecs.put_attributes(
            attributes=[{"name": "stack", "value": "a", "targetId": instance.rsplit("/", 1)[1]}]
        )
    assert error(caught)[0] == "InvalidParameterException"
    with pytest.raises(ClientError) as caught:
        ecs.put_attributes(attributes=[{"name": "stack", "value": "a"}])
    assert error(caught)[0] == "InvalidParameterException"


def test_put_attributes_on_missing_target_changes_nothing(ecs: Any, instance: str) -> None:
    missing = instance[:-32] + "0" * 32
    with pytest.raises(ClientError) as caught:
        ecs.put_attributes(
            attributes=[
                {"name": "stack", "value": "a", "targetId": instance},
                {"name": "stack", "value": "a", "targetId": missing},
            ]
        )
    assert error(caught) == ("TargetNotFoundException", f"Could not find {missing}.")
    assert "stack" not in attributes_of(ecs, instance)


def test_put_attributes_on_deregistered_instance(ecs: Any, instance: str) -> None:
    ecs.deregister_container_instance(containerInstance=instance)
    with pytest.raises(ClientError) as caught:
        ecs.put_attributes(attributes=[{"name": "stack", "value": "a", "targetId": instance}])
    assert error(caught)[0] == "TargetNotFoundException"


def test_put_attributes_in_missing_cluster(ecs: Any, instance: str) -> None:
    with pytest.raises(ClientError) as caught:
        ecs.put_attributes(cluster="nope", attributes=[{"name": "stack", "value": "a", "targetId": instance}])
    assert error(caught) == ("ClusterNotFoundException", "Cluster not found.")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("", "x"),
        ("has space", "x"),
        ("colon:name", "x"),
        ("n" * 129, "x"),
        ("stack", ""),
        ("stack", " leading"),
        ("stack", "trailing "),
        ("stack", "v" * 129),
        ("stack", "semi;colon"),
    ],
)
def test_attribute_name_and_value_rules(ecs: Any, instance: str, name: str, value: str) -> None:
    with pytest.raises(ClientError) as caught:
        ecs.put_attributes(attributes=[{"name": name, "value": value, "targetId": instance}])
    code, message = error(caught)
    assert code == "InvalidParameterException"
    assert ("Attribute name" in message) if value == "x" else ("Attribute value" in message)


def test_attribute_characters_that_are_allowed(ecs: Any, instance: str) -> None:
    attributes = [
        {"name": "a-b_c.d/e\\f", "value": "A1 -_.@/\\:z", "targetId": instance},
        {"name": "n" * 128, "value": "v" * 128, "targetId": instance},
    ]
    ecs.put_attributes(attributes=attributes)
    stored = attributes_of(ecs, instance)
    assert stored["a-b_c.d/e\\f"] == "A1 -_.@/\\:z"
    assert stored["n" * 128] == "v" * 128


def test_custom_attribute_limit(ecs: Any, instance: str) -> None:
    ecs.put_attributes(attributes=[{"name": f"c{i}", "value": "v", "targetId": instance} for i in range(10)])
    ecs.put_attributes(attributes=[{"name": "c0", "value": "changed", "targetId": instance}])
    with pytest.raises(ClientError) as caught:
        ecs.put_attributes(attributes=[{"name": "c10", "value": "v", "targetId": instance}])
    assert error(caught)[0] == "AttributeLimitExceededException"
    assert "c10" not in attributes_of(ecs, instance)
    ecs.put_attributes(attributes=[{"name": "ecs.capability.extra", "targetId": instance}])
    ecs.delete_attributes(attributes=[{"name": "c9", "targetId": instance}])
    ecs.put_attributes(attributes=[{"name": "c10", "value": "v", "targetId": instance}])


def test_delete_attributes_returns_what_was_removed(ecs: Any, instance: str) -> None:
    ecs.put_attributes(attributes=[{"name": "stack", "value": "production", "targetId": instance}])
    deleted = ecs.delete_attributes(attributes=[{"name": "stack", "targetId": instance}])
    assert deleted["attributes"] == [{"name": "stack", "value": "production", "targetId": instance}]
    assert "stack" not in attributes_of(ecs, instance)
    assert ecs.list_attributes(targetType="container-instance", attributeName="stack")["attributes"] == []


def test_delete_attributes_on_missing_target(ecs: Any, instance: str) -> None:
    with pytest.raises(ClientError) as caught:
        ecs.delete_attributes(attributes=[{"name": "stack", "targetId": instance[:-1] + "x"}])
    assert error(caught)[0] == "TargetNotFoundException"


def test_list_attributes_filters_and_pages(ecs: Any) -> None:
    ecs.create_cluster(clusterName="c1")
    first = register(ecs, "c1", attributes=[])["containerInstanceArn"]
    second = register(ecs, "c1", attributes=[])["containerInstanceArn"]
    ecs.put_attributes(
        cluster="c1",
        attributes=[
            {"name": "stack", "value": "prod", "targetId": first},
            {"name": "stack", "value": "dev", "targetId": second},
            {"name": "team", "value": "web", "targetId": first},
        ],
    )
    by_name = ecs.list_attributes(cluster="c1", targetType="container-instance", attributeName="stack")
    assert sorted(a["value"] for a in by_name["attributes"]) == ["dev", "prod"]
    by_value = ecs.list_attributes(
        cluster="c1", targetType="container-instance", attributeName="stack", attributeValue="prod"
    )
    assert by_value["attributes"] == [{"name": "stack", "value": "prod", "targetId": first}]
    everything = ecs.list_attributes(cluster="c1", targetType="container-instance")["attributes"]
    assert len(everything) == 3
    paginator = ecs.get_paginator("list_attributes")
    pages = list(
        paginator.paginate(cluster="c1", targetType="container-instance", PaginationConfig={"PageSize": 2})
    )
    assert len(pages) == 2
    assert [a for p in pages for a in p["attributes"]] == everything
    with pytest.raises(ClientError) as caught:
        ecs.list_attributes(cluster="c1", targetType="container-instance", attributeValue="prod")
    assert error(caught)[0] == "InvalidParameterException"
    with pytest.raises(ClientError) as caught:
        ecs.list_attributes(cluster="nope", targetType="container-instance")
    assert error(caught) == ("ClusterNotFoundException", "Cluster not found.")


def test_list_attributes_includes_builtin_ones(ecs: Any, instance: str) -> None:
    listed = ecs.list_attributes(targetType="container-instance", attributeName="ecs.os-type")["attributes"]
    assert listed == [{"name": "ecs.os-type", "value": "linux", "targetId": instance}]
