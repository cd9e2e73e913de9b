"""The cluster query language: parsing, operator synonyms, precedence, subjects and errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dockyard.core.cql import And, CQLError, InstanceView, Not, Or, Term, matches, parse

REGISTERED = datetime(2018, 6, 18, 22, 28, 28, tzinfo=UTC).timestamp()

WEB = InstanceView(
    attributes={
        "ecs.instance-type": "t2.micro",
        "ecs.availability-zone": "us-east-1a",
        "ecs.os-type": "linux",
        "stack": "prod",
        "gpu": None,
        "cores": "8",
        "path\\name": "a b",
    },
    ec2_instance_id="i-abcd1234",
    registered_at=REGISTERED,
    running_tasks_count=3,
    agent_connected=True,
    agent_version="1.14.5",
    task_groups=frozenset({"service:web", "family:batch"}),
)

IDLE = InstanceView(
    attributes={"ecs.instance-type": "m5.large", "ecs.availability-zone": "us-east-1d"},
    ec2_instance_id="i-wxyx7890",
    registered_at=REGISTERED + 86400 * 30,
    running_tasks_count=0,
    agent_connected=False,
    agent_version=None,
)


@pytest.mark.parametrize(
    ("expression", "web", "idle"),
    [
        # equality and its synonyms
        ("attribute:ecs.instance-type == t2.micro", True, False),
        ("attribute:ecs.instance-type equals t2.micro", True, False),
        ("attribute:ecs.instance-type != t2.micro", False, True),
        ("attribute:ecs.instance-type not_equals t2.micro", False, True),
        ("attribute:ecs.instance-type==t2.micro", True, False),
        ("attribute:stack == 'prod'", True, False),
        ('attribute:stack == "prod"', True, False),
        ("attribute:stack != prod", False, True),
        ("attribute:path\\name == 'a b'", True, False),
        # existence
        ("attribute:gpu exists", True, False),
        ("attribute:gpu !exists", False, True),
        ("attribute:gpu not_exists", False, True),
        ("attribute:stack exists", True, False),
        # membership
        ("attribute:ecs.availability-zone in [us-east-1a, us-east-1b]", True, False),
        ("attribute:ecs.availability-zone in ['us-east-1d']", False, True),
        ("attribute:ecs.availability-zone !in [us-east-1a, us-east-1b]", False, True),
        ("attribute:ecs.availability-zone not_in [us-east-1a,us-east-1b]", False, True),
        ("attribute:stack !in [dev]", True, True),
        # regular expressions: Java-style, whole value
        ("attribute:ecs.instance-type =~ t2.*", True, False),
        ("attribute:ecs.instance-type matches t2.*", True, False),
        ("attribute:ecs.instance-type =~ t2", False, False),
        ("attribute:ecs.instance-type =~ '(t2|m5)\\..*'", True, True),
        ("attribute:ecs.instance-type =~ '\\Qt2.micro\\E'", True, False),
        ("attribute:ecs.instance-type !~ t2.*", False, True),
        ("attribute:ecs.instance-type not_matches t2.*", False, True),
        ("attribute:stack !~ p.*", False, True),
        # ordering on attributes: numeric when both sides are numbers
        ("attribute:cores > 4", True, False),
        ("attribute:cores >= 8", True, False),
        ("attribute:cores < 10", True, False),
        ("attribute:cores greater_than 10", False, False),
        ("attribute:stack < q", True, False),
        # task groups
        ("task:group == service:web", True, False),
        ("task:group != service:web", False, True),
        ("task:group in [service:db, family:batch]", True, False),
        ("task:group !in [service:db]", True, True),
        ("task:group =~ service:.*", True, False),
        ("task:group exists", True, False),
        ("task:group !exists", False, True),
        ("not(task:group == database)", True, True),
        ("not (task:group == service:web)", False, True),
        ("!(task:group == service:web)", False, True),
        # agentConnected
        ("agentConnected == true", True, False),
        ("agentConnected == false", False, True),
        ("agentConnected != true", False, True),
        ("agentConnected in [TRUE]", True, False),
        ("agentConnected =~ t.*", True, False),
        # ec2InstanceId
        ("ec2InstanceId == i-abcd1234", True, False),
        ("ec2InstanceId in ['i-abcd1234', 'i-wxyx7890']", True, True),
        ("ec2InstanceId !in [i-abcd1234]", False, True),
        ("ec2InstanceId =~ i-abcd.*", True, False),
        ("ec2InstanceId !~ i-abcd.*", False, True),
        # agentVersion compares versions, not strings
        ("agentVersion < 1.14.6", True, False),
        ("agentVersion < 1.9.0", False, False),
        ("agentVersion >= 1.14.5", True, False),
        ("agentVersion == 1.14.5", True, False),
        ("agentVersion > 1.2", True, False),
        ("agentVersion != 1.14.5", False, False),
        # registeredAt: dates and times in every documented form
        ("registeredAt < 2018-06-19", True, False),
        ("registeredAt == 2018-06-18", True, False),
        ("registeredAt > 2018-06-18", False, True),
        ("registeredAt >= 2018-06-18T22:28:28+00:00", True, True),
        ("registeredAt == 2018-06-18T22:28:28Z", True, False),
        ("registeredAt <= 2018-06-18T22:28:28", True, False),
        ("registeredAt less_than_equal 2018-06-18T22:28:27", False, False),
        # runningTasksCount
        ("runningTasksCount == 0", False, True),
        ("runningTasksCount > 2", True, False),
        ("runningTasksCount less_than 1", False, True),
        ("runningTasksCount >= 3", True, False),
        # compound expressions and precedence (and binds tighter than or)
        (
            "attribute:ecs.instance-type =~ t2.* and attribute:ecs.availability-zone != us-east-1d",
            True,
            False,
        ),
        ("attribute:ecs.instance-type =~ t2.* && attribute:stack == prod", True, False),
        ("attribute:stack == prod or runningTasksCount == 0", True, True),
        ("attribute:stack == prod || agentConnected == false", True, True),
        ("agentConnected == false or attribute:stack == prod and runningTasksCount == 0", False, True),
        ("(agentConnected == false or attribute:stack == prod) and runningTasksCount == 0", False, True),
        ("(agentConnected == true or attribute:stack == prod) and runningTasksCount > 0", True, False),
        ("not agentConnected == true and runningTasksCount == 0", False, True),
        ("not not agentConnected == true", True, False),
        ("AND_ME exists".replace("AND_ME", "attribute:and"), False, False),
        ("attribute:stack == prod AND attribute:cores == 8", True, False),
        ("((attribute:stack == prod))", True, False),
    ],
)
def test_expression(expression: str, web: bool, idle: bool) -> None:
    assert matches(expression, WEB) is web
    assert matches(expression, IDLE) is idle


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("", "ended where a subject was expected"),
        ("attribute:stack", "Expected an operator after 'attribute:stack'"),
        ("attribute:stack prod", "Expected an operator after 'attribute:stack', found 'prod'"),
        ("color == red", "Unknown subject 'color'"),
        ("attribute: == x", "is not a valid attribute name"),
        ("attribute:bad*name == x", "is not a valid attribute name"),
        ("attribute:stack ==", "ended where a value was expected"),
        ("attribute:stack == prod and", "ended where a subject was expected"),
        ("attribute:stack == prod extra", "Unexpected 'extra' at position 25"),
        ("(attribute:stack == prod", "Expected ')'"),
        ("attribute:stack == prod)", "Unexpected ')'"),
        ("attribute:stack in prod", "expects an argument list"),
        ("attribute:stack == [prod]", "does not accept an argument list"),
        ("attribute:stack in [a, b", "Expected ']'"),
        ("attribute:stack in [a, ]", "Expected a value"),
        ("attribute:stack == 'prod", "is not closed"),
        ("attribute:stack =~ '(unclosed'", "is not a valid regular expression"),
        ("ec2InstanceId > i-1", "The operator '>' is not valid for the subject 'ec2InstanceId'"),
        ("agentConnected exists", "The operator 'exists' is not valid for the subject 'agentConnected'"),
        ("agentVersion =~ 1.*", "The operator '=~' is not valid for the subject 'agentVersion'"),
        ("registeredAt in [2018-01-01]", "The operator 'in' is not valid for the subject 'registeredAt'"),
        ("runningTasksCount exists", "The operator 'exists' is not valid"),
        ("runningTasksCount > many", "whole number"),
        ("agentVersion < latest", "is not a valid agent version"),
        ("registeredAt < yesterday", "is not a valid date"),
        ("registeredAt < 2018-13-45", "is not a valid date"),
        ("agentConnected == maybe", "true or false"),
        ("attribute:stack ! prod", "Expected an operator"),
        ("attribute:stack == a & b", "Unexpected character '&'"),
    ],
)
def test_invalid_expression(expression: str, message: str) -> None:
    with pytest.raises(CQLError) as caught:
        parse(expression)
    assert message in caught.value.message


def test_parse_builds_a_tree_with_precedence() -> None:
    tree = parse("a_b exists or attribute:x exists and not task:group == g".replace("a_b", "attribute:a"))
    assert isinstance(tree, Or)
    first, second = tree.operands
    assert (
        isinstance(first, Term)
        and first.subject == "attribute"
        and first.name == "a"
        and first.op == "exists"
    )
    assert isinstance(second, And)
    negated = second.operands[1]
    assert isinstance(negated, Not)
    assert isinstance(negated.operand, Term) and negated.operand.subject == "task:group"
    assert negated.operand.args == ("g",)


def test_synonyms_parse_to_the_same_operator() -> None:
    pairs = [
        ("equals", "=="),
        ("not_equals", "!="),
        ("greater_than", ">"),
        ("greater_than_equal", ">="),
        ("less_than", "<"),
        ("less_than_equal", "<="),
        ("matches", "=~"),
        ("not_matches", "!~"),
    ]
    for word, symbol in pairs:
        assert parse(f"attribute:a {word} 1") == parse(f"attribute:a {symbol} 1")
    assert parse("attribute:a not_in [1]") == parse("attribute:a !in [1]")
    assert parse("attribute:a not_exists") == parse("attribute:a !exists")


def test_parse_is_cached() -> None:
    assert parse("attribute:stack == prod") is parse("attribute:stack == prod")


def test_attribute_without_value_only_exists() -> None:
    assert matches("attribute:gpu exists", WEB)
    assert not matches("attribute:gpu == ''", WEB)
    assert matches("attribute:gpu != x", WEB)
    assert not matches("attribute:gpu =~ .*", WEB)
    assert not matches("attribute:gpu > 1", WEB)


def test_missing_attribute_is_never_ordered_or_matched() -> None:
    for op in ("==", ">", "<", ">=", "<=", "=~"):
        assert not matches(f"attribute:missing {op} 1", IDLE)
    assert matches("attribute:missing != 1", IDLE)
    assert matches("attribute:missing !~ 1", IDLE)
    assert matches("attribute:missing !in [1]", IDLE)
