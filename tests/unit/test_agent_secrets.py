"""Task secrets in the agent: `valueFrom` parsing, Go's `%v`, resolution against a fake control
plane (batching, retries, ECS's error words), and the runner handing the results to containers and
to the image pull (registry auth) without ever reporting them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from dockyard.agent.client import ApiError
from dockyard.agent.plan import HostContext, TaskSpecError
from dockyard.agent.planner import plan_task
from dockyard.agent.ports import HostPortAllocator
from dockyard.agent.runner import RunnerConfig, TaskRunner
from dockyard.agent.runtime.protocol import RegistryAuth
from dockyard.agent.secret_refs import (
    ERROR_PREFIX,
    AsmRef,
    SecretsUnavailable,
    SsmRef,
    go_format,
    parse_value_from,
    registry_server,
)
from dockyard.agent.secrets import TaskSecrets, resolve_task_secrets
from dockyard.agent.specs import LABEL_CONTAINER_NAME
from dockyard.agent.state import TaskRecord
from dockyard.testing.autojump_clock import AutojumpClock
from dockyard.testing.fake_runtime import FakeRuntime
from tests.unit.test_task_runner import ARN, REAL_TIMEOUT, TASK_ID, RecordingReporter, work_item

SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db-AbCdEf"
CREDS_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:registry-QwErTy"


# -- parsing ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value_from", "expected"),
    [
        ("db-password", SsmRef("db-password", "us-east-1", ("db-password",))),
        ("/prod/db/pw:3", SsmRef("/prod/db/pw:3", "us-east-1", ("/prod/db/pw",), ":3")),
        (
            "arn:aws:ssm:eu-west-1:123456789012:parameter/prod/db/pw",
            SsmRef("arn:aws:ssm:eu-west-1:123456789012:parameter/prod/db/pw", "eu-west-1", ("/prod/db/pw",)),
        ),
        (
            "arn:aws:ssm:us-east-1:123456789012:parameter/top",
            SsmRef("arn:aws:ssm:us-east-1:123456789012:parameter/top", "us-east-1", ("top", "/top")),
        ),
        (SECRET_ARN, AsmRef(SECRET_ARN, "us-east-1", SECRET_ARN)),
        (f"{SECRET_ARN}:username::", AsmRef(f"{SECRET_ARN}:username::", "us-east-1", SECRET_ARN, "username")),
        (
            f"{SECRET_ARN}::AWSPREVIOUS:",
            AsmRef(f"{SECRET_ARN}::AWSPREVIOUS:", "us-east-1", SECRET_ARN, version_stage="AWSPREVIOUS"),
        ),
        (f"{SECRET_ARN}:::v-1", AsmRef(f"{SECRET_ARN}:::v-1", "us-east-1", SECRET_ARN, version_id="v-1")),
        (
            SECRET_ARN.replace("us-east-1", "ap-south-1") + ":k::",
            AsmRef(SECRET_ARN.replace("us-east-1", "ap-south-1") + ":k::", "ap-south-1",
                   SECRET_ARN.replace("us-east-1", "ap-south-1"), "k"),
        ),
    ],
)  # fmt: skip
def test_value_from_forms(value_from: str, expected: SsmRef | AsmRef) -> None:
    assert parse_value_from(value_from, "us-east-1") == expected


@pytest.mark.parametrize(
    ("value_from", "words"),
    [
        (f"{SECRET_ARN}:username", "an invalid ARN format for the AWS Secrets Manager secret was specified"),
        (f"{SECRET_ARN}:a:b:c:d", "an invalid ARN format for the AWS Secrets Manager secret was specified"),
        (f"{SECRET_ARN}::AWSCURRENT:v-1", "a version stage and a version id cannot be used together"),
        ("arn:aws:s3:::bucket/key", "unsupported secret source"),
    ],
)
def test_malformed_value_from(value_from: str, words: str) -> None:
    with pytest.raises(SecretsUnavailable) as exc:
        parse_value_from(value_from, "us-east-1")
    assert exc.value.reason.startswith(ERROR_PREFIX + "execution resource retrieval failed: ")
    assert words in exc.value.reason


def test_the_planner_fails_a_task_with_a_malformed_reference(tmp_path: Path) -> None:
    host = HostContext(launch_type="EC2", region="us-east-1", data_dir=str(tmp_path), cluster="demo")
    item = work_item([{"name": "app", "secrets": [{"name": "X", "valueFrom": f"{SECRET_ARN}:k"}]}])
    with pytest.raises(TaskSpecError) as exc:
        plan_task(item, host)
    assert exc.value.reason.startswith(ERROR_PREFIX) and exc.value.reason.endswith("(container app)")
    good = work_item([{"name": "app", "secrets": [{"name": "X", "valueFrom": f"{SECRET_ARN}:k::"}]}])
    assert plan_task(good, host).container("app").name == "app"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("s", "s"),
        (5, "5"),
        (1.5, "1.5"),
        (-2.5, "-2.5"),
        (100, "100"),
        (123456, "123456"),
        (1234567, "1.234567e+06"),
        (1000000, "1e+06"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (True, "true"),
        (None, "<nil>"),
        ([1, "a", False], "[1 a false]"),
        ({"b": 1, "a": {"c": 2}}, "map[a:map[c:2] b:1]"),
    ],
)
def test_go_format(value: Any, text: str) -> None:
    assert go_format(value) == text


def test_registry_server() -> None:
    assert registry_server("registry.example.com/team/app:1") == "registry.example.com"
    assert registry_server("localhost:5000/app") == "localhost:5000"
    assert registry_server("library/nginx") == "" and registry_server("nginx:1") == ""


# -- resolution against a fake control plane ------------------------------------------------------------


class FakeAws:
    """Answers GetParameters and GetSecretValue from dicts, recording each call."""

    def __init__(self) -> None:
        self.parameters: dict[str, str] = {}  # name -> value (region us-east-1 unless "region|name")
        self.secrets: dict[str, dict[str, str]] = {}  # secret id -> stage/version -> SecretString
        self.calls: list[tuple[str, str, dict[str, Any], str | None]] = []
        self.errors: dict[str, ApiError] = {}  # operation -> error to raise

    async def call(
        self,
        service: str,
        target_prefix: str,
        operation: str,
        params: dict[str, Any],
        region: str | None = None,
    ) -> dict[str, Any]:
        self.calls.append((service, operation, params, region))
        if operation in self.errors:
            raise self.errors[operation]
        if operation == "GetParameters":
            found, invalid = [], []
            for name in params["Names"]:
                bare = name.split(":parameter", 1)[-1] if name.startswith("arn:") else name
                value = self.parameters.get(f"{region}|{bare}", self.parameters.get(bare))
                if value is None:
                    invalid.append(name)
                else:
                    found.append({"Name": bare, "Value": value, "Type": "SecureString"})
            return {"Parameters": found, "InvalidParameters": invalid}
        stage = params.get("VersionId") or params.get("VersionStage") or "AWSCURRENT"
        secret = self.secrets.get(params["SecretId"])
        if secret is None or stage not in secret:
            message = "Secrets Manager can't find the specified secret."
            raise ApiError("ResourceNotFoundException", message, 400, request_id="r-1")
        return {"SecretString": secret[stage], "ARN": params["SecretId"]}

    def count(self, operation: str) -> int:
        return sum(1 for call in self.calls if call[1] == operation)


async def no_sleep(_: float) -> None:
    return None


async def resolve(aws: FakeAws, *definitions: dict[str, Any]) -> TaskSecrets:
    return await resolve_task_secrets(list(definitions), aws, "us-east-1", sleep=no_sleep)


async def test_ssm_and_secrets_manager_values_become_environment() -> None:
    aws = FakeAws()
    aws.parameters["/app/token"] = "tok"
    aws.parameters["eu-west-1|/app/other"] = "far"
    aws.secrets[SECRET_ARN] = {
        "AWSCURRENT": json.dumps({"username": "admin", "port": 5432}),
        "AWSPREVIOUS": "old",
    }
    resolved = await resolve(
        aws,
        {
            "name": "app",
            "image": "app:1",
            "secrets": [
                {"name": "TOKEN", "valueFrom": "/app/token"},
                {"name": "FAR", "valueFrom": "arn:aws:ssm:eu-west-1:123456789012:parameter/app/other"},
                {"name": "WHOLE", "valueFrom": SECRET_ARN},
                {"name": "USER", "valueFrom": f"{SECRET_ARN}:username::"},
                {"name": "PORT", "valueFrom": f"{SECRET_ARN}:port::"},
                {"name": "OLD", "valueFrom": f"{SECRET_ARN}::AWSPREVIOUS:"},
            ],
            "logConfiguration": {
                "logDriver": "splunk",
                "secretOptions": [{"name": "splunk-token", "valueFrom": "/app/token"}],
            },
        },
        {"name": "plain", "image": "app:1"},
    )  # fmt: skip
    app = resolved.containers["app"]
    assert app.env == {
        "TOKEN": "tok",
        "FAR": "far",
        "WHOLE": json.dumps({"username": "admin", "port": 5432}),
        "USER": "admin",
        "PORT": "5432",
        "OLD": "old",
    }
    assert app.log_options == {"splunk-token": "tok"}
    assert "plain" not in resolved.containers
    assert sorted(region for _, op, _, region in aws.calls if op == "GetParameters") == [
        "eu-west-1",
        "us-east-1",
    ]
    assert aws.count("GetSecretValue") == 2  # AWSCURRENT once for three references, AWSPREVIOUS once
    assert "tok" not in repr(resolved) and "admin" not in repr(resolved)


async def test_ssm_reads_ten_names_a_call() -> None:
    aws = FakeAws()
    secrets = []
    for i in range(23):
        aws.parameters[f"/p/{i}"] = str(i)
        secrets.append({"name": f"P{i}", "valueFrom": f"/p/{i}"})
    resolved = await resolve(aws, {"name": "app", "image": "app:1", "secrets": secrets})
    assert [len(params["Names"]) for _, _, params, _ in aws.calls] == [10, 10, 3]
    assert all(params["WithDecryption"] for _, _, params, _ in aws.calls)
    assert resolved.containers["app"].env["P22"] == "22"


def reason_of(exc: pytest.ExceptionInfo[SecretsUnavailable]) -> str:
    return exc.value.reason


async def test_missing_parameter_fails_in_ecs_words() -> None:
    aws = FakeAws()
    aws.parameters["/here"] = "x"
    with pytest.raises(SecretsUnavailable) as exc:
        await resolve(aws, {"name": "app", "image": "a", "secrets": [
            {"name": "A", "valueFrom": "/here"}, {"name": "B", "valueFrom": "/missing"}]})  # fmt: skip
    assert reason_of(exc) == (
        "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval "
        "failed: unable to retrieve secrets from ssm: service call has been retried 1 time(s): invalid ssm "
        "parameters: /missing"
    )


async def test_missing_secret_is_retried_once_then_fails_in_ecs_words() -> None:
    aws = FakeAws()
    with pytest.raises(SecretsUnavailable) as exc:
        await resolve(aws, {"name": "app", "image": "a", "secrets": [{"name": "A", "valueFrom": SECRET_ARN}]})
    assert aws.count("GetSecretValue") == 2
    assert reason_of(exc) == (
        "ResourceInitializationError: unable to pull secrets or registry auth: execution resource "
        "retrieval failed: unable to retrieve secret from asm: service call has been retried 1 time(s): "
        f"failed to fetch secret {SECRET_ARN} from secrets manager: operation error Secrets Manager: "
        "GetSecretValue, https response error StatusCode: 400, RequestID: r-1, ResourceNotFoundException: "
        "Secrets Manager can't find the specified secret."
    )


async def test_unmodelled_errors_read_as_api_errors() -> None:
    aws = FakeAws()
    aws.errors["GetParameters"] = ApiError("AccessDeniedException", "not allowed", 400, request_id="r-2")
    with pytest.raises(SecretsUnavailable) as exc:
        await resolve(aws, {"name": "app", "image": "a", "secrets": [{"name": "A", "valueFrom": "/x"}]})
    assert reason_of(exc).endswith(
        "operation error SSM: GetParameters, https response error StatusCode: 400, RequestID: r-2, "
        "api error AccessDeniedException: not allowed"
    )


@pytest.mark.parametrize(
    ("secret", "words"),
    [
        ('{"other": 1}', "retrieved secret from Secrets Manager did not contain json key username"),
        ('["username"]', "json: cannot unmarshal array into Go value of type map[string]interface {}"),
        ("not json", "the secret string is not valid JSON; a json key needs a JSON object"),
    ],
)
async def test_json_key_errors(secret: str, words: str) -> None:
    aws = FakeAws()
    aws.secrets[SECRET_ARN] = {"AWSCURRENT": secret}
    with pytest.raises(SecretsUnavailable) as exc:
        await resolve(aws, {"name": "app", "image": "a", "secrets": [
            {"name": "U", "valueFrom": f"{SECRET_ARN}:username::"}]})  # fmt: skip
    assert reason_of(exc) == (
        ERROR_PREFIX
        + "execution resource retrieval failed: unable to retrieve secret from asm: service call has "
        f"been retried 1 time(s): {words}"
    )
    assert "not json" not in reason_of(exc).replace(words, "")  # the value itself is never quoted


async def test_registry_credentials() -> None:
    aws = FakeAws()
    aws.secrets[CREDS_ARN] = {"AWSCURRENT": json.dumps({"username": "robot", "password": "s3cr3t"})}
    definition = {
        "name": "app",
        "image": "registry.example.com/team/app:1",
        "repositoryCredentials": {"credentialsParameter": CREDS_ARN},
    }
    resolved = await resolve(aws, definition)
    assert resolved.auth({"app": definition["image"]}) == {
        "registry.example.com/team/app:1": RegistryAuth("robot", "s3cr3t", "registry.example.com")
    }
    for bad, words in [
        ("", "asm fetching authorization data: empty secrets value"),
        ("[]", "asm fetching authorization data: unable to unmarshal secret value, invalid schema"),
        ('{"password": "p"}', "asm fetching username: AuthorizationData is malformed, empty field"),
        ('{"username": "u"}', "asm fetching password: AuthorizationData is malformed, empty field"),
    ]:
        aws.secrets[CREDS_ARN] = {"AWSCURRENT": bad}
        with pytest.raises(SecretsUnavailable) as exc:
            await resolve(aws, definition)
        assert reason_of(exc).endswith(words)


async def test_no_control_plane_client() -> None:
    definition = {"name": "app", "image": "a", "secrets": [{"name": "A", "valueFrom": "/x"}]}
    with pytest.raises(SecretsUnavailable):
        await resolve_task_secrets([definition], None, "us-east-1")
    assert (await resolve_task_secrets([{"name": "b", "image": "a"}], None, "us-east-1")).containers == {}


# -- the runner -------------------------------------------------------------------------------------------


class AuthRecordingRuntime(FakeRuntime):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.auths: list[tuple[str, RegistryAuth | None]] = []

    async def pull(self, image: str, *, auth: RegistryAuth | None = None) -> str:
        self.auths.append((image, auth))
        return await super().pull(image, auth=auth)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[tuple[AuthRecordingRuntime, RecordingReporter, FakeAws, Any]]:
    clock = AutojumpClock()
    runtime = AuthRecordingRuntime(clock=clock)
    reporter = RecordingReporter(runtime)
    aws = FakeAws()
    host = HostContext(
        launch_type="EC2",
        region="us-east-1",
        data_dir=str(tmp_path),
        cluster="demo",
        host_address="127.0.0.1",
    )

    def runner(item: dict[str, Any]) -> TaskRunner:
        config = RunnerConfig(
            host=host,
            runtime=runtime,
            reporter=reporter,
            clock=clock,
            save_state=lambda: None,
            pause_image="pause:1",
            ports=HostPortAllocator("127.0.0.1"),
            loop_storage=False,
            aws=aws,
        )
        return TaskRunner(item, TaskRecord(task_arn=ARN, endpoint_id=TASK_ID, item=item), config)

    yield runtime, reporter, aws, runner
    await runtime.close()
    await clock.close()


def secret_item(image: str = "registry.example.com/team/app:1") -> dict[str, Any]:
    return work_item(
        [
            {
                "name": "app",
                "image": image,
                "environment": [{"name": "PLAIN", "value": "p"}, {"name": "TOKEN", "value": "overridden"}],
                "secrets": [
                    {"name": "TOKEN", "valueFrom": "/app/token"},
                    {"name": "DB_USER", "valueFrom": f"{SECRET_ARN}:username::"},
                ],
                "logConfiguration": {
                    "logDriver": "json-file",
                    "secretOptions": [{"name": "labels", "valueFrom": "/app/token"}],
                },
                "repositoryCredentials": {"credentialsParameter": CREDS_ARN},
            }
        ],
        executionRoleArn="arn:aws:iam::123456789012:role/exec",
    )


async def test_runner_puts_secrets_in_the_container_and_auth_in_the_pull(rig: Any) -> None:
    runtime, reporter, aws, make = rig
    aws.parameters["/app/token"] = "token-value-1"
    aws.secrets[SECRET_ARN] = {"AWSCURRENT": json.dumps({"username": "db-admin-2"})}
    aws.secrets[CREDS_ARN] = {"AWSCURRENT": json.dumps({"username": "robot", "password": "pull-pass-3"})}
    runner = make(secret_item())
    task = asyncio.create_task(runner.run())
    await reporter.wait_status("RUNNING")
    spec = next(
        c.spec for c in runtime.containers.values() if c.spec.labels.get(LABEL_CONTAINER_NAME) == "app"
    )
    assert spec.env["TOKEN"] == "token-value-1" and spec.env["DB_USER"] == "db-admin-2"
    assert spec.env["PLAIN"] == "p" and "ECS_CONTAINER_METADATA_URI_V4" in spec.env
    assert spec.log_options["labels"] == "token-value-1"
    assert runtime.auths == [
        ("registry.example.com/team/app:1", RegistryAuth("robot", "pull-pass-3", "registry.example.com"))
    ]
    reported = json.dumps(reporter.reports) + json.dumps(runner.record.item)
    for value in ("token-value-1", "db-admin-2", "pull-pass-3"):
        assert value not in reported
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_runner_fails_the_task_when_a_secret_is_missing(rig: Any) -> None:
    runtime, reporter, aws, make = rig
    aws.secrets[CREDS_ARN] = {"AWSCURRENT": json.dumps({"username": "robot", "password": "pw"})}
    runner = make(secret_item())
    await asyncio.wait_for(runner.run(), REAL_TIMEOUT * 10)
    final = reporter.last
    assert final["lastStatus"] == "STOPPED" and final["stopCode"] == "TaskFailedToStart"
    assert final["stoppedReason"] == (
        ERROR_PREFIX
        + "execution resource retrieval failed: unable to retrieve secrets from ssm: service call "
        "has been retried 1 time(s): invalid ssm parameters: /app/token"
    )
    assert final["containers"][0]["reason"] == final["stoppedReason"]
    assert runtime.containers == {} and runtime.auths == []  # nothing pulled or created
