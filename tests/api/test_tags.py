"""Tags through boto3 on every taggable ECS resource, and the errors for bad ARNs and tags."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from dockyard.store import Key
from dockyard.testing.server import ThreadedServer
from tests.api.instance_helpers import ACCOUNT, REGION, register, run_task, seed_service

PREFIX = f"arn:aws:ecs:{REGION}:{ACCOUNT}:"


def error(caught: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    body = caught.value.response["Error"]
    return body["Code"], body["Message"]


def tags(ecs: Any, arn: str) -> list[dict[str, str]]:
    result: list[dict[str, str]] = ecs.list_tags_for_resource(resourceArn=arn)["tags"]
    return result


def test_cluster_tags(ecs: Any) -> None:
    arn = ecs.create_cluster(clusterName="c1", tags=[{"key": "team", "value": "web"}])["cluster"][
        "clusterArn"
    ]
    assert tags(ecs, arn) == [{"key": "team", "value": "web"}]
    ecs.tag_resource(resourceArn=arn, tags=[{"key": "env", "value": "prod"}, {"key": "team", "value": "api"}])
    assert tags(ecs, arn) == [{"key": "team", "value": "api"}, {"key": "env", "value": "prod"}]
    ecs.untag_resource(resourceArn=arn, tagKeys=["team", "not-there"])
    assert tags(ecs, arn) == [{"key": "env", "value": "prod"}]
    described = ecs.describe_clusters(clusters=["c1"], include=["TAGS"])["clusters"][0]
    assert described["tags"] == [{"key": "env", "value": "prod"}]


def test_container_instance_tags(ecs: Any) -> None:
    ecs.create_cluster()
    arn = register(ecs, tags=[{"key": "role", "value": "worker"}])["containerInstanceArn"]
    ecs.tag_resource(resourceArn=arn, tags=[{"key": "rack", "value": "r1"}])
    assert tags(ecs, arn) == [{"key": "role", "value": "worker"}, {"key": "rack", "value": "r1"}]
    described = ecs.describe_container_instances(containerInstances=[arn], include=["TAGS"])[
        "containerInstances"
    ][0]
    assert described["tags"] == [{"key": "role", "value": "worker"}, {"key": "rack", "value": "r1"}]


def test_task_definition_tags(ecs: Any) -> None:
    arn = ecs.register_task_definition(
        family="web",
        containerDefinitions=[{"name": "web", "image": "nginx", "memory": 128}],
        tags=[{"key": "a", "value": "1"}],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.tag_resource(resourceArn=arn, tags=[{"key": "b", "value": "2"}])
    assert tags(ecs, arn) == [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}]
    with pytest.raises(ClientError) as caught:
        ecs.list_tags_for_resource(resourceArn=PREFIX + "task-definition/web:9")
    assert error(caught)[0] == "ResourceNotFoundException"


def test_task_tags_keep_the_task_on_its_node(ecs: Any, server: ThreadedServer) -> None:
    ecs.create_cluster()
    instance = register(ecs)["containerInstanceArn"]
    task = run_task(ecs, "default", instance)
    ecs.tag_resource(resourceArn=task, tags=[{"key": "job", "value": "nightly"}])
    assert tags(ecs, task) == [{"key": "job", "value": "nightly"}]
    described = ecs.describe_tasks(tasks=[task], include=["TAGS"])["tasks"][0]
    assert described["tags"] == [{"key": "job", "value": "nightly"}]
    # The index that tells the agent which tasks are its own survives the tag write.
    placed = server.run(server.server.store.find("ecs:task", "node", instance))
    assert [v.key for v in placed] == [Key(ACCOUNT, REGION, "ecs:task", "/".join(task.split("/")[-2:]))]


def test_service_tags(ecs: Any, server: ThreadedServer) -> None:
    ecs.create_cluster()
    seed_service(server, "default", "web")
    arn = PREFIX + "service/default/web"
    ecs.tag_resource(resourceArn=arn, tags=[{"key": "tier", "value": "front"}])
    assert tags(ecs, arn) == [{"key": "tier", "value": "front"}]


def test_tag_limit_counts_existing_tags(ecs: Any) -> None:
    arn = ecs.create_cluster(clusterName="c1", tags=[{"key": f"k{i}", "value": "v"} for i in range(45)])[
        "cluster"
    ]["clusterArn"]
    ecs.tag_resource(resourceArn=arn, tags=[{"key": f"k{i}", "value": "new"} for i in range(40, 50)])
    assert len(tags(ecs, arn)) == 50
    with pytest.raises(ClientError) as caught:
        ecs.tag_resource(resourceArn=arn, tags=[{"key": "one-more", "value": "v"}])
    assert error(caught) == ("InvalidParameterException", "The number of tags exceeds the limit of 50.")
    assert len(tags(ecs, arn)) == 50


def test_reserved_tag_prefix(ecs: Any) -> None:
    arn = ecs.create_cluster(clusterName="c1")["cluster"]["clusterArn"]
    with pytest.raises(ClientError) as caught:
        ecs.tag_resource(resourceArn=arn, tags=[{"key": "AWS:thing", "value": "v"}])
    assert error(caught) == (
        "InvalidParameterException",
        "Tag keys must not begin with the reserved prefix 'aws:'.",
    )
    assert tags(ecs, arn) == []


def test_missing_and_inactive_clusters(ecs: Any) -> None:
    arn = PREFIX + "cluster/c1"
    for call in (
        lambda: ecs.list_tags_for_resource(resourceArn=arn),
        lambda: ecs.tag_resource(resourceArn=arn, tags=[{"key": "a", "value": "b"}]),
        lambda: ecs.untag_resource(resourceArn=arn, tagKeys=["a"]),
    ):
        with pytest.raises(ClientError) as caught:
            call()
        assert error(caught) == ("ClusterNotFoundException", "Cluster not found.")
    ecs.create_cluster(clusterName="c1")
    ecs.delete_cluster(cluster="c1")
    with pytest.raises(ClientError) as caught:
        ecs.tag_resource(resourceArn=arn, tags=[{"key": "a", "value": "b"}])
    assert error(caught) == (
        "InvalidParameterException",
        "The specified cluster is inactive. Specify an active cluster and try again.",
    )


@pytest.mark.parametrize(
    "arn",
    [
        PREFIX + "task/default/" + "0" * 32,
        PREFIX + "container-instance/default/" + "0" * 32,
        PREFIX + "service/default/nope",
        PREFIX + "task-definition/nope:1",
        "arn:aws:ecs:eu-west-1:123456789012:cluster/c1",
    ],
)
def test_missing_resources(ecs: Any, arn: str) -> None:
    ecs.create_cluster(clusterName="c1")
    with pytest.raises(ClientError) as caught:
        ecs.tag_resource(resourceArn=arn, tags=[{"key": "a", "value": "b"}])
    code = error(caught)[0]
    assert code in ("ResourceNotFoundException", "ClusterNotFoundException")
    assert code == ("ClusterNotFoundException" if ":cluster/" in arn else "ResourceNotFoundException")


@pytest.mark.parametrize(
    ("arn", "message"),
    [
        ("c1", "not a valid Amazon ECS resource ARN"),
        ("arn:aws:s3:::bucket/key", "not a valid Amazon ECS resource ARN"),
        (PREFIX + "widget/w1", "resource type is not supported"),
        (PREFIX + "task/" + "0" * 32, "Long arn format must be used for tagging operations"),
        (PREFIX + "service/web", "Long arn format must be used for tagging operations"),
        (PREFIX + "task-definition/web", "not a valid Amazon ECS resource ARN"),
        (
            "arn:aws:ecs:us-east-1:999999999999:cluster/c1",
            "Invalid identifier: Identifier is for 999999999999. Your accountId is 123456789012",
        ),
    ],
)
def test_bad_arns(ecs: Any, arn: str, message: str) -> None:
    with pytest.raises(ClientError) as caught:
        ecs.list_tags_for_resource(resourceArn=arn)
    code, text = error(caught)
    assert code == "InvalidParameterException"
    assert message in text
