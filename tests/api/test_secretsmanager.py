"""Secrets Manager through boto3: secrets, versions and staging labels, deletion windows, tags,
listing, and what is stored at rest."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from dockyard.aws.dispatch import RequestContext
from dockyard.core.errors import AwsError
from dockyard.core.ids import RandomIds
from dockyard.core.sealing import Sealer
from dockyard.services import secretsmanager
from dockyard.store import SqliteStore
from dockyard.testing.clock import FakeClock
from dockyard.testing.server import ThreadedServer
from tests.conftest import make_client

ARN = re.compile(r"arn:aws:secretsmanager:us-east-1:123456789012:secret:(?P<name>.+)-[A-Za-z0-9]{6}")
DAY = 86400


@pytest.fixture
def sm(server: ThreadedServer) -> Any:
    return make_client(server.endpoint, "secretsmanager")


def error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


# -- create and read ---------------------------------------------------------------------------------


def test_create_and_read_by_name_arn_and_partial_arn(sm: Any) -> None:
    token = str(uuid.uuid4())
    created = sm.create_secret(Name="prod/db", SecretString='{"password":"pw"}', ClientRequestToken=token)
    assert ARN.fullmatch(created["ARN"]) and ARN.fullmatch(created["ARN"])["name"] == "prod/db"
    assert created["Name"] == "prod/db" and created["VersionId"] == token
    for secret_id in ("prod/db", created["ARN"], created["ARN"][:-7]):
        value = sm.get_secret_value(SecretId=secret_id)
        assert value["SecretString"] == '{"password":"pw"}'
        assert value["VersionId"] == token and value["VersionStages"] == ["AWSCURRENT"]
        assert value["ARN"] == created["ARN"] and "CreatedDate" in value
    assert "SecretBinary" not in value


def test_binary_secret(sm: Any) -> None:
    sm.create_secret(Name="blob", SecretBinary=b"\x00\x01binary")
    value = sm.get_secret_value(SecretId="blob")
    assert value["SecretBinary"] == b"\x00\x01binary" and "SecretString" not in value


def test_string_and_binary_together_are_refused(sm: Any) -> None:
    with pytest.raises(ClientError) as exc:
        sm.create_secret(Name="both", SecretString="a", SecretBinary=b"b")
    assert error(exc) == (
        "InvalidParameterException",
        "You can't specify both a binary secret value and a string secret value in the same secret.",
    )
    assert sm.list_secrets()["SecretList"] == []


@pytest.mark.parametrize("name", ["Inv Name", "a*b", "semi;colon", "x:y"])
def test_invalid_names(sm: Any, name: str) -> None:
    with pytest.raises(ClientError) as exc:
        sm.create_secret(Name=name, SecretString="v")
    assert error(exc) == (
        "ValidationException",
        "Invalid name. Must be a valid name containing alphanumeric characters, "
        "or any of the following: -/_+=.@!",
    )
    with pytest.raises(ClientError) as exc:
        sm.get_secret_value(SecretId=name)
    assert error(exc)[0] == "ValidationException"


def test_unknown_secret(sm: Any) -> None:
    for call in (sm.get_secret_value, sm.describe_secret, sm.list_secret_version_ids, sm.delete_secret):
        with pytest.raises(ClientError) as exc:
            call(SecretId="missing")
        assert error(exc) == ("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
    other_region = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:missing-AbCdEf"
    with pytest.raises(ClientError) as exc:
        sm.get_secret_value(SecretId=other_region)
    assert error(exc)[0] == "ResourceNotFoundException"


def test_name_taken(sm: Any) -> None:
    sm.create_secret(Name="taken", SecretString="v")
    with pytest.raises(ClientError) as exc:
        sm.create_secret(Name="taken", SecretString="v")
    assert error(exc) == (
        "ResourceExistsException",
        "The operation failed because the secret taken already exists.",
    )


def test_create_is_idempotent_for_its_token(sm: Any) -> None:
    token = str(uuid.uuid4())
    first = sm.create_secret(Name="idem", SecretString="v", ClientRequestToken=token)
    again = sm.create_secret(Name="idem", SecretString="v", ClientRequestToken=token)
    assert (again["ARN"], again["VersionId"]) == (first["ARN"], token)
    with pytest.raises(ClientError) as exc:
        sm.create_secret(Name="idem", SecretString="other", ClientRequestToken=token)
    assert error(exc)[0] == "ResourceExistsException" and token in error(exc)[1]
    assert len(sm.list_secret_version_ids(SecretId="idem")["Versions"]) == 1


def test_secrets_live_in_their_region(server: ThreadedServer, sm: Any) -> None:
    sm.create_secret(Name="regional", SecretString="v")
    west = make_client(server.endpoint, "secretsmanager", region="us-west-2")
    with pytest.raises(ClientError):
        west.get_secret_value(SecretId="regional")
    west.create_secret(Name="regional", SecretString="w")
    assert west.get_secret_value(SecretId="regional")["SecretString"] == "w"
    assert sm.get_secret_value(SecretId="regional")["SecretString"] == "v"


def test_raw_request_without_token_is_refused(server: ThreadedServer) -> None:
    body = json.dumps({"Name": "raw", "SecretString": "v"}).encode()
    request = urllib.request.Request(
        server.endpoint + "/",
        data=body,
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "secretsmanager.CreateSecret"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(request)
    payload = json.loads(exc.value.read())
    assert payload == {
        "__type": "InvalidRequestException",
        "message": "You must provide a ClientRequestToken value. We recommend a UUID-type value.",
    }


def test_too_long_value_is_refused_without_echoing_it(sm: Any) -> None:
    with pytest.raises(ClientError) as exc:
        sm.create_secret(Name="long", SecretString="s" * 65537)
    code, message = error(exc)
    assert code == "ValidationException"
    assert message == (
        "1 validation error detected: Value at 'secretString' failed to satisfy constraint: "
        "Member must have length less than or equal to 65536"
    )


# -- versions and staging labels --------------------------------------------------------------------------


def stages(sm: Any, secret_id: str, **kwargs: Any) -> dict[str, list[str]]:
    versions = sm.list_secret_version_ids(SecretId=secret_id, **kwargs)["Versions"]
    return {v["VersionId"]: v.get("VersionStages", []) for v in versions}


def test_put_secret_value_moves_current_and_previous(sm: Any) -> None:
    v1 = sm.create_secret(Name="rot", SecretString="one")["VersionId"]
    v2 = sm.put_secret_value(SecretId="rot", SecretString="two")
    assert v2["VersionStages"] == ["AWSCURRENT"]
    assert stages(sm, "rot") == {v1: ["AWSPREVIOUS"], v2["VersionId"]: ["AWSCURRENT"]}
    v3 = sm.put_secret_value(SecretId="rot", SecretString="three")["VersionId"]
    assert stages(sm, "rot") == {v2["VersionId"]: ["AWSPREVIOUS"], v3: ["AWSCURRENT"]}
    # v1 has no label left: deprecated, listed only when asked for
    assert stages(sm, "rot", IncludeDeprecated=True)[v1] == []
    assert sm.get_secret_value(SecretId="rot")["SecretString"] == "three"
    assert sm.get_secret_value(SecretId="rot", VersionStage="AWSPREVIOUS")["SecretString"] == "two"
    assert sm.get_secret_value(SecretId="rot", VersionId=v1)["SecretString"] == "one"
    described = sm.describe_secret(SecretId="rot")["VersionIdsToStages"]
    assert described == {v2["VersionId"]: ["AWSPREVIOUS"], v3: ["AWSCURRENT"]}


def test_pending_version_does_not_change_current(sm: Any) -> None:
    sm.create_secret(Name="pend", SecretString="current")
    put = sm.put_secret_value(SecretId="pend", SecretString="next", VersionStages=["AWSPENDING", "custom"])
    assert put["VersionStages"] == ["AWSPENDING", "custom"]
    assert sm.get_secret_value(SecretId="pend")["SecretString"] == "current"
    assert sm.get_secret_value(SecretId="pend", VersionStage="AWSPENDING")["SecretString"] == "next"
    assert sm.get_secret_value(SecretId="pend", VersionStage="custom")["VersionId"] == put["VersionId"]


def test_version_errors(sm: Any) -> None:
    v1 = sm.create_secret(Name="ver", SecretString="one")["VersionId"]
    missing = str(uuid.uuid4())
    cases = [
        ({"VersionStage": "AWSPREVIOUS"}, "ResourceNotFoundException",
         "Secrets Manager can't find the specified secret value for staging label: AWSPREVIOUS"),
        ({"VersionId": missing}, "ResourceNotFoundException",
         f"Secrets Manager can't find the specified secret value for VersionId: {missing}"),
        ({"VersionId": v1, "VersionStage": "AWSPENDING"}, "InvalidRequestException",
         "You provided a VersionStage that is not associated to the provided VersionId."),
    ]  # fmt: skip
    for kwargs, code, message in cases:
        with pytest.raises(ClientError) as exc:
            sm.get_secret_value(SecretId="ver", **kwargs)
        assert error(exc) == (code, message)


def test_secret_without_a_value(sm: Any) -> None:
    created = sm.create_secret(Name="empty", Description="filled later")
    assert "VersionId" not in created
    with pytest.raises(ClientError) as exc:
        sm.get_secret_value(SecretId="empty")
    assert error(exc) == (
        "ResourceNotFoundException",
        "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT",
    )
    put = sm.put_secret_value(SecretId="empty", SecretString="now", VersionStages=["custom"])
    assert put["VersionStages"] == ["AWSCURRENT", "custom"]
    assert sm.get_secret_value(SecretId="empty")["SecretString"] == "now"


def test_put_secret_value_token_semantics(sm: Any) -> None:
    sm.create_secret(Name="tok", SecretString="one")
    token = str(uuid.uuid4())
    first = sm.put_secret_value(SecretId="tok", SecretString="two", ClientRequestToken=token)
    again = sm.put_secret_value(SecretId="tok", SecretString="two", ClientRequestToken=token)
    assert first["VersionId"] == again["VersionId"] == token
    assert len(stages(sm, "tok")) == 2
    with pytest.raises(ClientError) as exc:
        sm.put_secret_value(SecretId="tok", SecretString="different", ClientRequestToken=token)
    assert error(exc)[0] == "ResourceExistsException"
    with pytest.raises(ClientError) as exc:
        sm.put_secret_value(SecretId="tok")
    assert error(exc) == (
        "InvalidParameterException",
        "You must provide either SecretString or SecretBinary.",
    )


def test_update_secret(sm: Any) -> None:
    created = sm.create_secret(Name="upd", SecretString="one")
    described = sm.update_secret(SecretId="upd", Description="now described")
    assert described == {k: described[k] for k in ("ARN", "Name", "ResponseMetadata")}
    updated = sm.update_secret(SecretId="upd", SecretString="two", KmsKeyId="alias/mine")
    assert updated["VersionId"] != created["VersionId"]
    info = sm.describe_secret(SecretId="upd")
    assert info["Description"] == "now described" and info["KmsKeyId"] == "alias/mine"
    assert info["VersionIdsToStages"][updated["VersionId"]] == ["AWSCURRENT"]
    assert sm.get_secret_value(SecretId="upd")["SecretString"] == "two"


def test_update_secret_version_stage_rolls_back(sm: Any) -> None:
    v1 = sm.create_secret(Name="roll", SecretString="one")["VersionId"]
    v2 = sm.put_secret_value(SecretId="roll", SecretString="two")["VersionId"]
    with pytest.raises(ClientError) as exc:
        sm.update_secret_version_stage(SecretId="roll", VersionStage="AWSCURRENT", MoveToVersionId=v1)
    assert error(exc)[0] == "InvalidParameterException" and v2 in error(exc)[1]
    sm.update_secret_version_stage(
        SecretId="roll", VersionStage="AWSCURRENT", MoveToVersionId=v1, RemoveFromVersionId=v2
    )
    assert stages(sm, "roll") == {v1: ["AWSCURRENT"], v2: ["AWSPREVIOUS"]}
    assert sm.get_secret_value(SecretId="roll")["SecretString"] == "one"


# -- describe, list, tags -----------------------------------------------------------------------------------


def test_describe_secret(sm: Any) -> None:
    created = sm.create_secret(
        Name="desc", SecretString="v", Description="d", Tags=[{"Key": "k", "Value": "v"}]
    )
    info = sm.describe_secret(SecretId="desc")
    assert info["ARN"] == created["ARN"] and info["Description"] == "d"
    assert info["Tags"] == [{"Key": "k", "Value": "v"}]
    assert "LastAccessedDate" not in info and "DeletedDate" not in info and "KmsKeyId" not in info
    sm.get_secret_value(SecretId="desc")
    accessed = sm.describe_secret(SecretId="desc")["LastAccessedDate"].timestamp()
    assert accessed % DAY == 0 and time.time() - accessed < DAY  # the date only


def test_list_secrets_filters_sorting_and_pages(sm: Any) -> None:
    sm.create_secret(
        Name="app/one", SecretString="v", Description="The First", Tags=[{"Key": "team", "Value": "a"}]
    )
    sm.create_secret(Name="app/two", SecretString="v", Tags=[{"Key": "team", "Value": "b"}])
    sm.create_secret(Name="other", SecretString="v")

    def names(**kwargs: Any) -> list[str]:
        return [s["Name"] for s in sm.list_secrets(**kwargs)["SecretList"]]

    assert names() == ["app/one", "app/two", "other"]
    assert names(SortOrder="desc") == ["other", "app/two", "app/one"]
    assert names(SortBy="name", SortOrder="desc") == ["other", "app/two", "app/one"]
    assert names(Filters=[{"Key": "name", "Values": ["app/"]}]) == ["app/one", "app/two"]
    assert names(Filters=[{"Key": "name", "Values": ["!app"]}]) == ["other"]
    assert names(Filters=[{"Key": "tag-value", "Values": ["b"]}]) == ["app/two"]
    assert names(Filters=[{"Key": "description", "Values": ["the first"]}]) == ["app/one"]
    assert names(Filters=[{"Key": "all", "Values": ["TEAM"]}]) == ["app/one", "app/two"]
    assert names(Filters=[{"Key": "tag-key", "Values": ["team"]}, {"Key": "name", "Values": ["app/t"]}]) == [
        "app/two"
    ]
    first = sm.list_secrets(MaxResults=2)
    assert [s["Name"] for s in first["SecretList"]] == ["app/one", "app/two"]
    rest = sm.list_secrets(MaxResults=2, NextToken=first["NextToken"])
    assert [s["Name"] for s in rest["SecretList"]] == ["other"] and "NextToken" not in rest
    entry = sm.list_secrets(Filters=[{"Key": "name", "Values": ["other"]}])["SecretList"][0]
    assert list(entry["SecretVersionsToStages"].values()) == [["AWSCURRENT"]]
    with pytest.raises(ClientError) as exc:
        sm.list_secrets(NextToken="garbage")
    assert error(exc)[0] == "InvalidNextTokenException"


def test_tags(sm: Any) -> None:
    sm.create_secret(Name="tagged", SecretString="v")
    assert "Tags" not in sm.describe_secret(SecretId="tagged")
    sm.tag_resource(SecretId="tagged", Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    sm.tag_resource(SecretId="tagged", Tags=[{"Key": "a", "Value": "3"}])
    assert sm.describe_secret(SecretId="tagged")["Tags"] == [
        {"Key": "a", "Value": "3"},
        {"Key": "b", "Value": "2"},
    ]
    sm.untag_resource(SecretId="tagged", TagKeys=["a", "b", "nope"])
    assert sm.describe_secret(SecretId="tagged")["Tags"] == []
    with pytest.raises(ClientError) as exc:
        sm.tag_resource(SecretId="tagged", Tags=[{"Key": "aws:reserved", "Value": "x"}])
    assert error(exc)[0] == "InvalidParameterException"


# -- deletion -----------------------------------------------------------------------------------------------


def test_delete_restore_and_force_delete(sm: Any) -> None:
    created = sm.create_secret(Name="gone", SecretString="v")
    deleted = sm.delete_secret(SecretId="gone")
    assert abs(deleted["DeletionDate"].timestamp() - (time.time() + 30 * DAY)) < 60
    with pytest.raises(ClientError) as exc:
        sm.get_secret_value(SecretId="gone")
    assert error(exc) == (
        "InvalidRequestException",
        "You can't perform this operation on the secret because it was marked for deletion.",
    )
    assert sm.describe_secret(SecretId="gone")["DeletedDate"] == deleted["DeletionDate"]
    assert sm.list_secrets()["SecretList"] == []
    assert [s["Name"] for s in sm.list_secrets(IncludePlannedDeletion=True)["SecretList"]] == ["gone"]
    with pytest.raises(ClientError) as exc:
        sm.create_secret(Name="gone", SecretString="v")
    assert error(exc) == (
        "InvalidRequestException",
        "You can't create this secret because a secret with this name is already scheduled for deletion.",
    )
    with pytest.raises(ClientError) as exc:
        sm.delete_secret(SecretId="gone")
    assert error(exc) == (
        "InvalidRequestException",
        "You tried to perform the operation on a secret that's currently marked deleted.",
    )
    assert sm.restore_secret(SecretId="gone")["ARN"] == created["ARN"]
    assert sm.get_secret_value(SecretId="gone")["SecretString"] == "v"
    sm.delete_secret(SecretId="gone", RecoveryWindowInDays=7)
    sm.delete_secret(SecretId="gone", ForceDeleteWithoutRecovery=True)
    with pytest.raises(ClientError) as exc:
        sm.describe_secret(SecretId="gone")
    assert error(exc)[0] == "ResourceNotFoundException"
    again = sm.create_secret(Name="gone", SecretString="new")
    assert again["ARN"] != created["ARN"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"RecoveryWindowInDays": 6},
            "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).",
        ),
        (
            {"RecoveryWindowInDays": 31},
            "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).",
        ),
        (
            {"RecoveryWindowInDays": 7, "ForceDeleteWithoutRecovery": True},
            "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
        ),
    ],
)
def test_delete_parameters_are_checked(sm: Any, kwargs: dict[str, Any], message: str) -> None:
    sm.create_secret(Name="keep", SecretString="v")
    with pytest.raises(ClientError) as exc:
        sm.delete_secret(SecretId="keep", **kwargs)
    assert error(exc) == ("InvalidParameterException", message)
    assert sm.get_secret_value(SecretId="keep")["SecretString"] == "v"


async def test_a_secret_is_gone_when_its_recovery_window_ends() -> None:
    clock = FakeClock()
    store = SqliteStore(":memory:")
    bound = secretsmanager.api.bind(
        secretsmanager.SecretsManager(store, clock, RandomIds(), Sealer(b"k" * 32))
    )

    async def call(operation: str, request: dict[str, Any]) -> Any:
        ctx = RequestContext("123456789012", "us-east-1", "req", "me", "secretsmanager", operation)
        return await bound.invoke(ctx, request)

    await call("CreateSecret", {"Name": "w", "SecretString": "v", "ClientRequestToken": "t" * 32})
    await call("DeleteSecret", {"SecretId": "w", "RecoveryWindowInDays": 7})
    clock.advance(7 * DAY - 1)
    assert (await call("DescribeSecret", {"SecretId": "w"}))["Name"] == "w"
    clock.advance(1)
    with pytest.raises(AwsError) as exc:
        await call("DescribeSecret", {"SecretId": "w"})
    assert exc.value.code == "ResourceNotFoundException"
    assert await store.list("secretsmanager:secret") == []
    await call("CreateSecret", {"Name": "w", "SecretString": "again", "ClientRequestToken": "u" * 32})
    store.close()


# -- at rest --------------------------------------------------------------------------------------------


def test_values_are_encrypted_at_rest(server: ThreadedServer, sm: Any) -> None:
    sm.create_secret(Name="at-rest", SecretString="plain-text-password-123")
    stored = server.run(server.server.store.list("secretsmanager:secret"))
    raw = json.dumps([v.value for v in stored])
    assert "at-rest" in raw and "plain-text-password-123" not in raw


def test_key_file_is_private_and_survives_a_restart(tmp_path: Any) -> None:
    data = tmp_path / "data"
    with ThreadedServer(data_dir=data) as running:
        make_client(running.endpoint, "secretsmanager").create_secret(Name="durable", SecretString="kept")
    key = data / "secrets.key"
    assert key.stat().st_mode & 0o777 == 0o600 and len(key.read_bytes()) == 32
    with ThreadedServer(data_dir=data) as running:
        client = make_client(running.endpoint, "secretsmanager")
        assert client.get_secret_value(SecretId="durable")["SecretString"] == "kept"


def test_the_core_operations_are_served() -> None:
    served = set(secretsmanager.api.handlers)
    assert {
        "CreateSecret", "GetSecretValue", "PutSecretValue", "UpdateSecret", "DescribeSecret", "ListSecrets",
        "DeleteSecret", "RestoreSecret", "TagResource", "UntagResource", "ListSecretVersionIds",
    } <= served  # fmt: skip
