"""ELBv2 listener rules with boto3: every condition and action, limits, priorities, and the AWS CLI."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.testing.server import ThreadedServer
from tests.api.test_elbv2_helpers import (  # noqa: F401  (fixtures)
    aws_cli,
    create_alb,
    create_listener,
    create_tg,
    ec2_fixture,
    elb_fixture,
    error,
    forward,
)


@pytest.fixture(name="setup")
def setup_fixture(elb: Any, ec2: Any) -> dict[str, str]:
    lb = create_alb(elb, ec2)["LoadBalancerArn"]
    tg = create_tg(elb, ec2)["TargetGroupArn"]
    listener = create_listener(elb, lb, tg)["ListenerArn"]
    return {"lb": lb, "tg": tg, "listener": listener}


def _rule(
    elb: Any, listener: str, priority: int, conditions: list[dict[str, Any]], actions: Any
) -> dict[str, Any]:
    found: dict[str, Any] = elb.create_rule(
        ListenerArn=listener, Priority=priority, Conditions=conditions, Actions=actions
    )["Rules"][0]
    return found


def _path(*values: str) -> list[dict[str, Any]]:
    return [{"Field": "path-pattern", "PathPatternConfig": {"Values": list(values)}}]


def test_every_condition_as_describe_rules_shows_it(elb: Any, setup: dict[str, str]) -> None:
    conditions: list[dict[str, Any]] = [
        {"Field": "host-header", "Values": ["*.example.com"]},
        {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}},
        {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Env", "Values": ["blue"]}},
        {"Field": "query-string", "QueryStringConfig": {"Values": [{"Key": "v", "Value": "2"}]}},
        {"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["GET"]}},
    ]
    rule = _rule(elb, setup["listener"], 10, conditions, forward(setup["tg"]))
    source = _rule(
        elb,
        setup["listener"],
        5,
        [{"Field": "source-ip", "SourceIpConfig": {"Values": ["10.0.0.0/8"]}}],
        forward(setup["tg"]),
    )
    assert rule["Priority"] == "10" and rule["IsDefault"] is False
    assert rule["Conditions"] == [
        {
            "Field": "host-header",
            "Values": ["*.example.com"],
            "HostHeaderConfig": {"Values": ["*.example.com"]},
        },
        {"Field": "path-pattern", "Values": ["/api/*"], "PathPatternConfig": {"Values": ["/api/*"]}},
        {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Env", "Values": ["blue"]}},
        {"Field": "query-string", "QueryStringConfig": {"Values": [{"Key": "v", "Value": "2"}]}},
        {"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["GET"]}},
    ]
    rules = elb.describe_rules(ListenerArn=setup["listener"])["Rules"]
    assert [r["Priority"] for r in rules] == ["5", "10", "default"]
    assert rules[0] == source and rules[1] == rule
    assert elb.describe_rules(RuleArns=[rule["RuleArn"]])["Rules"] == [rule]


@pytest.mark.parametrize(
    ("conditions", "fragment"),
    [
        ([{"Field": "cookie", "Values": ["a"]}], "Condition field 'cookie' must be one of"),
        (
            [{"Field": "http-header", "Values": ["a"]}],
            "The 'Values' field is not compatible with 'http-header'",
        ),
        ([{"Field": "path-pattern", "Values": ["/a", "/b"]}], "too many values; the limit is '1'"),
        (_path("/a", "/b", "/c", "/d"), "at most '3' values"),
        ([{"Field": "host-header", "Values": ["localhost"]}], "at least one '.'"),
        (_path("/a b"), "not allowed"),
        (_path("/" + "a" * 128), "too long; the limit is '128'"),
        ([{"Field": "source-ip", "SourceIpConfig": {"Values": ["10.0.0.300/8"]}}], "not a valid CIDR block"),
        ([{"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["get"]}}], "A-Z, hyphen"),
        ([{"Field": "query-string"}], "A 'QueryStringConfig' must be specified with 'query-string'"),
        (
            [{"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "Host", "Values": ["a"]}}],
            "host-header",
        ),
        (_path("/a") + _path("/b"), "only have one 'path-pattern' condition"),
        (
            _path("/a*", "/b*", "/c*") + [{"Field": "host-header", "Values": ["*.?.*.com"]}],
            "'5' wildcards",
        ),
        (
            _path("/a", "/b", "/c")
            + [
                {
                    "Field": "http-request-method",
                    "HttpRequestMethodConfig": {"Values": ["GET", "PUT", "POST"]},
                }
            ],
            "'5' condition values",
        ),
        ([], "at least one condition"),
    ],
)
def test_invalid_conditions_are_refused(
    elb: Any, setup: dict[str, str], conditions: list[dict[str, Any]], fragment: str
) -> None:
    code, message = error(lambda: _rule(elb, setup["listener"], 1, conditions, forward(setup["tg"])))
    assert code == "ValidationError"
    assert fragment in message, message
    assert len(elb.describe_rules(ListenerArn=setup["listener"])["Rules"]) == 1


def test_actions(elb: Any, ec2: Any, setup: dict[str, str]) -> None:
    other = create_tg(elb, ec2, "other")["TargetGroupArn"]
    weighted = _rule(
        elb,
        setup["listener"],
        1,
        _path("/canary/*"),
        [
            {
                "Type": "forward",
                "ForwardConfig": {
                    "TargetGroups": [
                        {"TargetGroupArn": setup["tg"], "Weight": 90},
                        {"TargetGroupArn": other},
                    ],
                    "TargetGroupStickinessConfig": {"Enabled": True, "DurationSeconds": 300},
                },
            }
        ],
    )
    assert weighted["Actions"] == [
        {
            "Type": "forward",
            "ForwardConfig": {
                "TargetGroups": [
                    {"TargetGroupArn": setup["tg"], "Weight": 90},
                    {"TargetGroupArn": other, "Weight": 1},
                ],
                "TargetGroupStickinessConfig": {"Enabled": True, "DurationSeconds": 300},
            },
        }
    ]
    assert elb.describe_target_groups(TargetGroupArns=[other])["TargetGroups"][0]["LoadBalancerArns"] == [
        setup["lb"]
    ]
    redirect = _rule(
        elb,
        setup["listener"],
        2,
        _path("/old/*"),
        [
            {
                "Type": "redirect",
                "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"},
            }
        ],
    )
    assert redirect["Actions"][0]["RedirectConfig"] == {
        "Protocol": "HTTPS",
        "Port": "443",
        "Host": "#{host}",
        "Path": "/#{path}",
        "Query": "#{query}",
        "StatusCode": "HTTP_301",
    }
    fixed = _rule(
        elb,
        setup["listener"],
        3,
        _path("/teapot"),
        [
            {
                "Type": "fixed-response",
                "FixedResponseConfig": {
                    "StatusCode": "418",
                    "ContentType": "text/plain",
                    "MessageBody": "short",
                },
            }
        ],
    )
    assert fixed["Actions"][0]["FixedResponseConfig"] == {
        "StatusCode": "418",
        "ContentType": "text/plain",
        "MessageBody": "short",
    }


@pytest.mark.parametrize(
    ("actions", "code", "fragment"),
    [
        (
            [{"Type": "redirect", "RedirectConfig": {"StatusCode": "HTTP_302"}}],
            "InvalidLoadBalancerAction",
            "must change at least one",
        ),
        (
            [
                {
                    "Type": "fixed-response",
                    "FixedResponseConfig": {"StatusCode": "200", "ContentType": "image/png"},
                }
            ],
            "InvalidLoadBalancerAction",
            "The ContentType must be one of",
        ),
        (
            [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "302"}}],
            "ValidationError",
            "regular expression pattern",
        ),
        (
            [
                {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200"}},
                {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}},
            ],
            "InvalidLoadBalancerAction",
            "only one of the following actions",
        ),
        (
            [
                {
                    "Type": "forward",
                    "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": "TG", "Weight": 1000}]},
                }
            ],
            "ValidationError",
            "'0-999'",
        ),
    ],
)
def test_invalid_actions_are_refused(
    elb: Any, setup: dict[str, str], actions: list[dict[str, Any]], code: str, fragment: str
) -> None:
    for action in actions:
        for group in (action.get("ForwardConfig") or {}).get("TargetGroups", []):
            group["TargetGroupArn"] = setup["tg"]
    got, message = error(lambda: _rule(elb, setup["listener"], 1, _path("/x"), actions))
    assert got == code and fragment in message, message
    assert len(elb.describe_rules(ListenerArn=setup["listener"])["Rules"]) == 1


def test_priorities(elb: Any, setup: dict[str, str]) -> None:
    listener, tg = setup["listener"], setup["tg"]
    a = _rule(elb, listener, 1, _path("/a"), forward(tg))
    b = _rule(elb, listener, 2, _path("/b"), forward(tg))
    c = _rule(elb, listener, 3, _path("/c"), forward(tg))
    code, message = error(lambda: _rule(elb, listener, 2, _path("/d"), forward(tg)))
    assert (code, message) == ("PriorityInUse", "Priority '2' is currently in use")
    swapped = elb.set_rule_priorities(
        RulePriorities=[{"RuleArn": a["RuleArn"], "Priority": 2}, {"RuleArn": b["RuleArn"], "Priority": 1}]
    )["Rules"]
    assert [(r["RuleArn"], r["Priority"]) for r in swapped] == [(a["RuleArn"], "2"), (b["RuleArn"], "1")]
    code, message = error(
        lambda: elb.set_rule_priorities(RulePriorities=[{"RuleArn": a["RuleArn"], "Priority": 3}])
    )
    assert (code, message) == ("PriorityInUse", "Priority '3' is currently in use")
    code, _ = error(
        lambda: elb.set_rule_priorities(
            RulePriorities=[
                {"RuleArn": a["RuleArn"], "Priority": 7},
                {"RuleArn": c["RuleArn"], "Priority": 7},
            ]
        )
    )
    assert code == "ValidationError"
    default = elb.describe_rules(ListenerArn=listener)["Rules"][-1]
    code, _ = error(
        lambda: elb.set_rule_priorities(RulePriorities=[{"RuleArn": default["RuleArn"], "Priority": 9}])
    )
    assert code == "OperationNotPermitted"
    order = [(r["RuleArn"], r["Priority"]) for r in elb.describe_rules(ListenerArn=listener)["Rules"]]
    assert order == [
        (b["RuleArn"], "1"),
        (a["RuleArn"], "2"),
        (c["RuleArn"], "3"),
        (default["RuleArn"], "default"),
    ]
    _rule(
        elb, listener, 4, _path("/e"), forward(tg)
    )  # nothing holds priority 4: the swap freed nothing wrongly


def test_modify_and_delete_rules(elb: Any, ec2: Any, setup: dict[str, str]) -> None:
    listener, tg = setup["listener"], setup["tg"]
    other = create_tg(elb, ec2, "other")["TargetGroupArn"]
    rule = _rule(elb, listener, 1, _path("/a"), forward(tg))
    changed = elb.modify_rule(RuleArn=rule["RuleArn"], Conditions=_path("/b"), Actions=forward(other))[
        "Rules"
    ][0]
    assert changed["Conditions"][0]["Values"] == ["/b"] and changed["Priority"] == "1"
    assert changed["Actions"][0]["TargetGroupArn"] == other
    code, _ = error(
        lambda: elb.modify_rule(RuleArn=rule["RuleArn"], Conditions=[{"Field": "nope", "Values": ["x"]}])
    )
    assert code == "ValidationError"
    assert elb.describe_rules(RuleArns=[rule["RuleArn"]])["Rules"] == [changed]
    default = elb.describe_rules(ListenerArn=listener)["Rules"][-1]
    assert error(lambda: elb.modify_rule(RuleArn=default["RuleArn"], Conditions=_path("/")))[0] == (
        "OperationNotPermitted"
    )
    fixed = [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "503"}}]
    elb.modify_rule(RuleArn=default["RuleArn"], Actions=fixed)
    assert elb.describe_listeners(ListenerArns=[listener])["Listeners"][0]["DefaultActions"] == fixed
    assert elb.describe_target_groups(TargetGroupArns=[tg])["TargetGroups"][0]["LoadBalancerArns"] == []
    code, message = error(lambda: elb.delete_rule(RuleArn=default["RuleArn"]))
    assert code == "OperationNotPermitted" and "cannot be deleted" in message
    elb.delete_rule(RuleArn=rule["RuleArn"])
    code, message = error(lambda: elb.describe_rules(RuleArns=[rule["RuleArn"]]))
    assert (code, message) == ("RuleNotFound", "One or more rules not found")
    _rule(elb, listener, 1, _path("/a"), forward(tg))  # its priority is free again


def test_aws_cli_rules(server: ThreadedServer, elb: Any, setup: dict[str, str]) -> None:
    listener, tg = setup["listener"], setup["tg"]
    args = [
        "elbv2",
        "create-rule",
        "--listener-arn",
        listener,
        "--priority",
        "10",
        "--conditions",
        "Field=path-pattern,Values=/api/*",
        "--actions",
        f"Type=forward,TargetGroupArn={tg}",
    ]
    code, out, _ = aws_cli(server.endpoint, *args)
    assert code == 0 and out["Rules"][0]["Priority"] == "10"
    code, out, stderr = aws_cli(server.endpoint, *args)
    assert code != 0 and "PriorityInUse" in stderr and "Priority '10' is currently in use" in stderr
    bad = [*args[:5], "11", "--conditions", "Field=cookie,Values=x", *args[8:]]
    code, out, stderr = aws_cli(server.endpoint, *bad)
    assert code != 0 and "ValidationError" in stderr and "Condition field 'cookie'" in stderr
    code, out, _ = aws_cli(server.endpoint, "elbv2", "describe-rules", "--listener-arn", listener)
    assert [r["Priority"] for r in out["Rules"]] == ["10", "default"]
