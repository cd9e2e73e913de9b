"""Parameter Store through boto3: put/get with versions, selectors and decryption, batches, paths,
describe filters, history, labels, tags, and what is stored at rest."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from dockyard.testing.server import ThreadedServer
from tests.conftest import make_client

PREFIX = "arn:aws:ssm:us-east-1:123456789012:parameter"


@pytest.fixture
def ssm(server: ThreadedServer) -> Any:
    return make_client(server.endpoint, "ssm")


def error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


# -- put and get ------------------------------------------------------------------------------------------


def test_put_and_get_each_type(ssm: Any) -> None:
    assert ssm.put_parameter(Name="/app/url", Value="http://x", Type="String")["Version"] == 1
    ssm.put_parameter(Name="/app/hosts", Value="a,b,c", Type="StringList")
    put = ssm.put_parameter(Name="/app/password", Value="hunter2", Type="SecureString")
    assert (put["Version"], put["Tier"]) == (1, "Standard")
    got = ssm.get_parameter(Name="/app/url")["Parameter"]
    assert got["Name"] == "/app/url" and got["Type"] == "String" and got["Value"] == "http://x"
    assert got["ARN"] == f"{PREFIX}/app/url" and got["Version"] == 1 and got["DataType"] == "text"
    assert ssm.get_parameter(Name="/app/hosts")["Parameter"]["Value"] == "a,b,c"
    sealed = ssm.get_parameter(Name="/app/password")["Parameter"]["Value"]
    assert sealed != "hunter2" and "hunter2" not in sealed  # ciphertext without decryption
    assert ssm.get_parameter(Name="/app/password", WithDecryption=True)["Parameter"]["Value"] == "hunter2"
    assert ssm.get_parameter(Name="/app/url", WithDecryption=True)["Parameter"]["Value"] == "http://x"


def test_get_by_arn_and_top_level_names(ssm: Any) -> None:
    ssm.put_parameter(Name="plain", Value="p", Type="String")
    ssm.put_parameter(Name="/rooted", Value="r", Type="String")
    assert ssm.get_parameter(Name=f"{PREFIX}/plain")["Parameter"]["Name"] == "plain"
    assert ssm.get_parameter(Name="plain")["Parameter"]["ARN"] == f"{PREFIX}/plain"
    assert ssm.get_parameter(Name=f"{PREFIX}/rooted")["Parameter"]["Value"] == "r"


def test_missing_parameter(ssm: Any) -> None:
    for call in (ssm.get_parameter, ssm.delete_parameter, ssm.get_parameter_history):
        with pytest.raises(ClientError) as exc:
            call(Name="/missing")
        assert error(exc) == ("ParameterNotFound", "")


def test_overwrite_rules_and_versions(ssm: Any) -> None:
    ssm.put_parameter(Name="/v", Value="one", Type="String", Description="first")
    with pytest.raises(ClientError) as exc:
        ssm.put_parameter(Name="/v", Value="two", Type="String")
    assert error(exc) == (
        "ParameterAlreadyExists",
        "The parameter already exists. To overwrite this value, set the overwrite option in the request "
        "to true.",
    )
    assert ssm.put_parameter(Name="/v", Value="two", Overwrite=True)["Version"] == 2  # type kept
    assert ssm.put_parameter(Name="/v", Value="three", Type="String", Overwrite=True)["Version"] == 3
    current = ssm.get_parameter(Name="/v")["Parameter"]
    assert (current["Value"], current["Version"]) == ("three", 3)
    assert ssm.get_parameter(Name="/v:1")["Parameter"]["Value"] == "one"
    selected = ssm.get_parameter(Name=f"{PREFIX}/v:2")["Parameter"]
    assert (selected["Value"], selected["Selector"], selected["Name"]) == ("two", ":2", "/v")
    with pytest.raises(ClientError) as exc:
        ssm.get_parameter(Name="/v:9")
    assert error(exc) == (
        "ParameterVersionNotFound",
        "Systems Manager could not find version 9 of /v. Verify the version and try again.",
    )
    described = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": ["/v"]}])["Parameters"]
    assert described[0]["Description"] == "first" and described[0]["Version"] == 3


@pytest.mark.parametrize(
    ("name", "code", "message"),
    [
        ("a/b", "ValidationException", "Parameter name must be a fully qualified name."),
        (
            "awsthing",
            "ValidationException",
            'Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive).',
        ),
        (
            "SSMthing",
            "ValidationException",
            'Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive).',
        ),
        ("/aws/thing", "AccessDeniedException", "No access to reserved parameter name: /aws/thing."),
        ("bad name", "ValidationException", None),
        ("/" + "/".join(str(i) for i in range(16)), "HierarchyLevelLimitExceededException", None),
    ],
)
def test_invalid_names(ssm: Any, name: str, code: str, message: str | None) -> None:
    with pytest.raises(ClientError) as exc:
        ssm.put_parameter(Name=name, Value="v", Type="String")
    assert error(exc)[0] == code
    if message is not None:
        assert error(exc)[1] == message
    assert ssm.describe_parameters()["Parameters"] == []


def test_put_validation(ssm: Any) -> None:
    cases: list[tuple[dict[str, Any], str, str | None]] = [
        ({"Value": "v"}, "ValidationException", "A parameter type is required when you create a parameter."),
        ({"Value": "", "Type": "String"}, "ValidationException", None),
        ({"Value": "v", "Type": "Nope"}, "ValidationException", None),
        ({"Value": "x" * 4097, "Type": "String"}, "ValidationException", None),
        ({"Value": "abc", "Type": "String", "AllowedPattern": r"^\d+$"}, "ParameterPatternMismatchException",
         r"Parameter value, cannot be validated against allowedPattern: ^\d+$"),
        ({"Value": "v", "Type": "String", "DataType": "TEXT"}, "ValidationException",
         "The following data type is not supported: TEXT (Data type names are all lowercase.)"),
    ]  # fmt: skip
    for kwargs, code, message in cases:
        with pytest.raises(ClientError) as exc:
            ssm.put_parameter(Name="/checked", **kwargs)
        assert error(exc)[0] == code, kwargs
        if message is not None:
            assert error(exc)[1] == message
    ssm.put_parameter(Name="/checked", Value="v", Type="String", Tags=[{"Key": "k", "Value": "v"}])
    with pytest.raises(ClientError) as exc:
        ssm.put_parameter(Name="/checked", Value="w", Overwrite=True, Tags=[{"Key": "k", "Value": "v"}])
    assert (
        error(exc)[0] == "ValidationException"
        and "tags and overwrite can't be used together" in error(exc)[1]
    )


def test_secure_value_is_not_echoed_in_validation_errors(ssm: Any) -> None:
    with pytest.raises(ClientError) as exc:
        ssm.put_parameter(Name="/s", Value="", Type="SecureString")
    assert error(exc)[1] == (
        "1 validation error detected: Value at 'value' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1"
    )


def test_tiers(ssm: Any) -> None:
    assert (
        ssm.put_parameter(Name="/big", Value="x" * 5000, Type="String", Tier="Advanced")["Tier"] == "Advanced"
    )
    assert ssm.put_parameter(Name="/auto", Value="x" * 5000, Type="String", Tier="Intelligent-Tiering")[
        "Tier"
    ] == ("Advanced")
    assert (
        ssm.put_parameter(Name="/small", Value="x", Type="String", Tier="Intelligent-Tiering")["Tier"]
        == "Standard"
    )
    with pytest.raises(ClientError) as exc:
        ssm.put_parameter(Name="/big", Value="x", Overwrite=True, Tier="Standard")
    assert error(exc)[0] == "ValidationException" and "can't downgrade" in error(exc)[1]
    assert ssm.put_parameter(Name="/big", Value="y", Overwrite=True)["Tier"] == "Advanced"


def test_get_parameters_reports_invalid_ones(ssm: Any) -> None:
    ssm.put_parameter(Name="/a", Value="1", Type="String")
    ssm.put_parameter(Name="/b", Value="2", Type="SecureString")
    found = ssm.get_parameters(Names=["/a", "/b", "/nope", "/a:7", f"{PREFIX}/b"], WithDecryption=True)
    assert sorted((p["Name"], p["Value"]) for p in found["Parameters"]) == [
        ("/a", "1"),
        ("/b", "2"),
        ("/b", "2"),
    ]
    assert found["InvalidParameters"] == ["/nope", "/a:7"]
    with pytest.raises(ClientError) as exc:
        ssm.get_parameters(Names=[f"/p{i}" for i in range(11)])
    assert error(exc)[0] == "ValidationException"


def test_delete_parameters(ssm: Any) -> None:
    ssm.put_parameter(Name="/d1", Value="1", Type="String")
    ssm.put_parameter(Name="/d2", Value="2", Type="String")
    ssm.delete_parameter(Name="/d1")
    result = ssm.delete_parameters(Names=["/d1", "/d2"])
    assert (result["DeletedParameters"], result["InvalidParameters"]) == (["/d2"], ["/d1"])
    assert ssm.describe_parameters()["Parameters"] == []


# -- paths, describe, history ------------------------------------------------------------------------------


def put_tree(ssm: Any) -> None:
    for name, kind in [
        ("/prod/db/user", "String"),
        ("/prod/db/password", "SecureString"),
        ("/prod/url", "String"),
        ("/dev/url", "String"),
        ("top", "String"),
    ]:
        ssm.put_parameter(Name=name, Value=f"value of {name}", Type=kind)


def test_get_parameters_by_path(ssm: Any) -> None:
    put_tree(ssm)

    def names(**kwargs: Any) -> list[str]:
        return [p["Name"] for p in ssm.get_parameters_by_path(**kwargs)["Parameters"]]

    assert names(Path="/prod") == ["/prod/url"]
    assert names(Path="/prod/", Recursive=True) == ["/prod/db/password", "/prod/db/user", "/prod/url"]
    assert names(Path="/", Recursive=True) == [
        "/dev/url",
        "/prod/db/password",
        "/prod/db/user",
        "/prod/url",
        "top",
    ]
    secure = [{"Key": "Type", "Values": ["SecureString"]}]
    found = ssm.get_parameters_by_path(
        Path="/prod", Recursive=True, ParameterFilters=secure, WithDecryption=True
    )
    assert [(p["Name"], p["Value"]) for p in found["Parameters"]] == [
        ("/prod/db/password", "value of /prod/db/password")
    ]
    page = ssm.get_parameters_by_path(Path="/", Recursive=True, MaxResults=2)
    rest = ssm.get_parameters_by_path(Path="/", Recursive=True, MaxResults=10, NextToken=page["NextToken"])
    assert len(page["Parameters"]) == 2 and len(rest["Parameters"]) == 3
    with pytest.raises(ClientError) as exc:
        ssm.get_parameters_by_path(Path="prod")
    assert error(exc)[0] == "ValidationException"
    with pytest.raises(ClientError) as exc:
        ssm.get_parameters_by_path(Path="/prod", ParameterFilters=[{"Key": "Name", "Values": ["x"]}])
    assert error(exc) == (
        "InvalidFilterKey",
        "The following filter key is not valid: Name. Valid filter keys include: [Type, KeyId, Label].",
    )


def test_describe_parameters_filters(ssm: Any) -> None:
    put_tree(ssm)

    def names(**kwargs: Any) -> list[str]:
        return [p["Name"] for p in ssm.describe_parameters(**kwargs)["Parameters"]]

    assert names() == ["/dev/url", "/prod/db/password", "/prod/db/user", "/prod/url", "top"]
    assert names(ParameterFilters=[{"Key": "Name", "Option": "BeginsWith", "Values": ["/prod/db"]}]) == [
        "/prod/db/password",
        "/prod/db/user",
    ]
    assert names(ParameterFilters=[{"Key": "Path", "Values": ["/prod"]}]) == ["/prod/url"]
    assert names(ParameterFilters=[{"Key": "Type", "Values": ["SecureString"]}]) == ["/prod/db/password"]
    assert names(ParameterFilters=[{"Key": "Name", "Option": "Contains", "Values": ["url"]}]) == [
        "/dev/url",
        "/prod/url",
    ]
    assert names(Filters=[{"Key": "Name", "Values": ["/dev"]}]) == ["/dev/url"]
    meta = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": ["/prod/db/password"]}])
    entry = meta["Parameters"][0]
    assert entry["KeyId"] == "alias/aws/ssm" and entry["Tier"] == "Standard" and "Value" not in entry
    with pytest.raises(ClientError) as exc:
        ssm.describe_parameters(
            Filters=[{"Key": "Name", "Values": ["x"]}], ParameterFilters=[{"Key": "Name", "Values": ["x"]}]
        )
    assert error(exc) == (
        "ValidationException",
        "You can use either Filters or ParameterFilters in a single request.",
    )
    with pytest.raises(ClientError) as exc:
        ssm.describe_parameters(ParameterFilters=[{"Key": "Type", "Values": ["Number"]}])
    assert error(exc)[0] == "InvalidFilterValue"


def test_history_and_labels(ssm: Any) -> None:
    ssm.put_parameter(Name="/h", Value="one", Type="SecureString")
    ssm.put_parameter(Name="/h", Value="two", Overwrite=True)
    ssm.put_parameter(Name="/h", Value="three", Overwrite=True)
    history = ssm.get_parameter_history(Name="/h", WithDecryption=True)["Parameters"]
    assert [(h["Version"], h["Value"]) for h in history] == [(1, "one"), (2, "two"), (3, "three")]
    sealed = ssm.get_parameter_history(Name="/h")["Parameters"]
    assert all(h["Value"] not in ("one", "two", "three") for h in sealed)
    labelled = ssm.label_parameter_version(Name="/h", ParameterVersion=1, Labels=["stable", "aws-bad", "1st"])
    assert (labelled["ParameterVersion"], sorted(labelled["InvalidLabels"])) == (1, ["1st", "aws-bad"])
    assert ssm.get_parameter(Name="/h:stable", WithDecryption=True)["Parameter"]["Value"] == "one"
    ssm.label_parameter_version(Name="/h", Labels=["stable"])  # moves to the latest version
    assert ssm.get_parameter(Name="/h:stable")["Parameter"]["Version"] == 3
    labels = {h["Version"]: h["Labels"] for h in ssm.get_parameter_history(Name="/h")["Parameters"]}
    assert labels == {1: [], 2: [], 3: ["stable"]}
    removed = ssm.unlabel_parameter_version(Name="/h", ParameterVersion=3, Labels=["stable", "other"])
    assert (removed["RemovedLabels"], removed["InvalidLabels"]) == (["stable"], ["other"])
    with pytest.raises(ClientError) as exc:
        ssm.get_parameter(Name="/h:stable")
    assert error(exc)[0] == "ParameterVersionNotFound"


def test_history_keeps_100_versions(ssm: Any) -> None:
    ssm.put_parameter(Name="/many", Value="0", Type="String")
    for i in range(1, 101):
        ssm.put_parameter(Name="/many", Value=str(i), Overwrite=True)
    versions = [h["Version"] for h in ssm.get_parameter_history(Name="/many", MaxResults=50)["Parameters"]]
    assert versions[0] == 2 and len(versions) == 50
    with pytest.raises(ClientError) as exc:
        ssm.get_parameter(Name="/many:1")
    assert error(exc)[0] == "ParameterVersionNotFound"
    ssm.label_parameter_version(Name="/many", ParameterVersion=2, Labels=["pinned"])
    with pytest.raises(ClientError) as exc:
        ssm.put_parameter(Name="/many", Value="next", Overwrite=True)
    assert error(exc)[0] == "ParameterMaxVersionLimitExceeded"


def test_tags(ssm: Any) -> None:
    ssm.put_parameter(Name="/t", Value="v", Type="String", Tags=[{"Key": "team", "Value": "a"}])
    ssm.add_tags_to_resource(
        ResourceType="Parameter", ResourceId="/t", Tags=[{"Key": "env", "Value": "prod"}]
    )
    listed = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId="/t")["TagList"]
    assert listed == [{"Key": "team", "Value": "a"}, {"Key": "env", "Value": "prod"}]
    ssm.remove_tags_from_resource(ResourceType="Parameter", ResourceId="/t", TagKeys=["team"])
    assert ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId="/t")["TagList"] == [
        {"Key": "env", "Value": "prod"}
    ]
    tagged = ssm.describe_parameters(ParameterFilters=[{"Key": "tag:env", "Values": ["prod"]}])["Parameters"]
    assert [p["Name"] for p in tagged] == ["/t"]
    with pytest.raises(ClientError) as exc:
        ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId="/missing")
    assert error(exc)[0] == "InvalidResourceId"


def test_secure_strings_are_encrypted_at_rest(server: ThreadedServer, ssm: Any) -> None:
    ssm.put_parameter(Name="/rest/secret", Value="very-secret-value-42", Type="SecureString")
    ssm.put_parameter(Name="/rest/secret", Value="very-secret-value-43", Overwrite=True)
    stored = server.run(server.server.store.list("ssm:parameter"))
    raw = json.dumps([v.value for v in stored])
    assert "/rest/secret" in raw and "very-secret-value" not in raw
