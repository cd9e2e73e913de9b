"""Lifecycle policies as pure code: validation messages and ECR's evaluation rules, table-driven."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dockyard.registry.lifecycle import DAY, ImageInfo, PolicyError, evaluate, matches_pattern, parse_policy

NOW = 1_800_000_000.0
PREFIX = "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: "


def rule(
    priority: int, status: str, count_type: str = "imageCountMoreThan", number: int = 1, **extra: Any
) -> Any:
    selection: dict[str, Any] = {"tagStatus": status, "countType": count_type, "countNumber": number}
    if count_type != "imageCountMoreThan":
        selection["countUnit"] = "days"
    selection.update(extra)
    return {"rulePriority": priority, "selection": selection, "action": {"type": "expire"}}


def policy(*rules: Any) -> str:
    return json.dumps({"rules": list(rules)})


def image(
    name: str,
    days_ago: float,
    *tags: str,
    pulled_days_ago: float | None = None,
    children: tuple[str, ...] = (),
) -> ImageInfo:
    pulled = NOW - pulled_days_ago * DAY if pulled_days_ago is not None else None
    return ImageInfo(f"sha256:{name}", tuple(tags), NOW - days_ago * DAY, pulled, children)


def expired(text: str, images: list[ImageInfo]) -> dict[str, int]:
    return {
        e.image.digest.removeprefix("sha256:"): e.rule_priority
        for e in evaluate(parse_policy(text), images, now=NOW)
    }


# -- validation ------------------------------------------------------------------------------------

INVALID = [
    ("not json", "Could not map policyString into LifecyclePolicy."),
    ("[1, 2]", "Could not map policyString into LifecyclePolicy."),
    ('{"no_rules": 1}', 'object has missing required properties (["rules"])'),
    ('{"rules": []}', "array is too short: must have at least 1 elements but instance has 0 elements"),
    (
        '{"rules": [1]}',
        'instance type (integer) does not match any allowed primitive type (allowed: ["object"])',
    ),
    (
        json.dumps({"rules": [{"rulePriority": 1, "action": {"type": "expire"}}]}),
        'object has missing required properties (["selection"])',
    ),
    (
        policy({**rule(1, "untagged"), "extra": 1}),
        'object instance has properties which are not allowed by the schema: (["extra"])',
    ),
    (
        policy(rule(0, "untagged")),
        "numeric instance is lower than the required minimum (minimum: 1, found: 0)",
    ),
    (
        policy(rule(1, "untagged", number=0)),
        "numeric instance is lower than the required minimum (minimum: 1, found: 0)",
    ),
    (
        policy(rule(1, "sometimes")),
        'instance value (sometimes) not found in enum (possible values: ["any", "tagged", "untagged"])',
    ),
    (
        policy({**rule(1, "untagged"), "action": {"type": "delete"}}),
        'instance value (delete) not found in enum (possible values: ["expire"])',
    ),
    (
        policy(rule(1, "untagged", count_type="sometime")),
        "instance failed to match exactly one schema (matched 0 out of 2)",
    ),
    (
        policy(rule(1, "untagged", countUnit="days")),
        "instance failed to match exactly one schema (matched 0 out of 2)",
    ),
    (
        policy(
            {
                **rule(1, "untagged", count_type="sinceImagePushed"),
                "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countNumber": 3},
            }
        ),
        "instance failed to match exactly one schema (matched 0 out of 2)",
    ),
    (
        policy(rule(1, "untagged", count_type="sinceImagePushed", countUnit="weeks")),
        'instance value (weeks) not found in enum (possible values: ["days"])',
    ),
    (policy(rule(1, "tagged")), "Must specify tagPrefixList or tagPatternList when tagStatus=TAGGED."),
    (
        policy(rule(1, "tagged", tagPrefixList=["a"], tagPatternList=["b*"])),
        "tagPrefixList and tagPatternList cannot both be specified in one rule.",
    ),
    (
        policy(rule(1, "untagged", tagPrefixList=["a"])),
        "tagPrefixList and tagPatternList can only be specified when tagStatus=TAGGED "
        "(rulePriority 1 has tagStatus=UNTAGGED).",
    ),
    (
        policy(rule(1, "tagged", tagPatternList=["a*b*c*d*e*f"])),
        "tagPatternList entry 'a*b*c*d*e*f' has more than 4 wildcards (*).",
    ),
    (
        policy(rule(1, "untagged"), rule(1, "tagged", tagPrefixList=["v"])),
        "The rulePriority 1 is used by more than one rule.",
    ),
    (policy(rule(1, "untagged"), rule(2, "untagged", number=3)), "Only one rule can select Untagged images."),
    (
        policy(rule(1, "any"), rule(2, "tagged", tagPrefixList=["v"])),
        "Rule for tagStatus=ANY must have the lowest priority.",
    ),
    (
        policy(rule(1, "tagged", tagPrefixList=["v", "x"]), rule(2, "tagged", tagPrefixList=["x", "v"])),
        "The set of rules must contain a unique set of tag prefixes and patterns.",
    ),
    (
        policy({**rule(1, "untagged"), "action": {"type": "transition", "targetStorageClass": "archive"}}),
        None,
    ),
    (policy(rule(1, "untagged", storageClass="archive")), None),
]


@pytest.mark.parametrize(("text", "detail"), INVALID)
def test_invalid_policies_are_refused_with_ecr_messages(text: str, detail: str | None) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text)
    if detail is None:
        assert "archive tier" in caught.value.detail
    else:
        assert caught.value.detail == detail
    assert str(caught.value) == f"{PREFIX}'Lifecycle policy validation failure: {caught.value.detail}'"


def test_valid_policy_is_sorted_by_priority_with_gaps() -> None:
    parsed = parse_policy(
        policy(
            rule(30, "any", count_type="sinceImagePushed", number=90),
            rule(5, "untagged", number=2),
            rule(10, "tagged", tagPatternList=["*test*1*2*3", "test*1*2*3*"], number=4),
        )
    )
    assert [r.priority for r in parsed.rules] == [5, 10, 30]
    assert parsed.rules[1].tag_patterns == ("*test*1*2*3", "test*1*2*3*")
    assert parsed.rules[2].by_age and not parsed.rules[0].by_age


@pytest.mark.parametrize(
    ("pattern", "tag", "matches"),
    [
        ("prod*", "prod", True),
        ("prod*", "prod-1", True),
        ("prod*", "preprod", False),
        ("*prod", "preprod", True),
        ("*test*1*2*3", "xtesty1z2w3", True),
        ("v1.*", "v1x2", False),  # the dot is literal
        ("latest", "latest", True),
        ("latest", "latest2", False),
    ],
)
def test_tag_pattern_wildcards(pattern: str, tag: str, matches: bool) -> None:
    assert matches_pattern(pattern, tag) is matches


# -- evaluation ------------------------------------------------------------------------------------

CASES: list[tuple[str, str, list[ImageInfo], dict[str, int]]] = [
    (
        "untagged: keep the newest N",
        policy(rule(1, "untagged", number=2)),
        [image("a", 4), image("b", 3), image("c", 2), image("d", 1), image("t", 9, "v1")],
        {"a": 1, "b": 1},
    ),
    (
        "untagged: older than N days",
        policy(rule(1, "untagged", count_type="sinceImagePushed", number=14)),
        [image("old", 15), image("young", 13), image("tagged", 40, "v1")],
        {"old": 1},
    ),
    (
        "tagged prefixes: keep the newest N",
        policy(rule(1, "tagged", tagPrefixList=["prod"], number=1)),
        [image("p1", 3, "prod-1"), image("p2", 2, "prod-2"), image("d1", 5, "dev-1"), image("u", 9)],
        {"p1": 1},
    ),
    (
        "every prefix must match one of the image's tags",
        policy(rule(1, "tagged", tagPrefixList=["prod", "v"], number=1)),
        [
            image("both-old", 3, "prod", "v1"),
            image("both-new", 2, "prod", "v2"),
            image("prod-only", 5, "prod-x"),
        ],
        {"both-old": 1},
    ),
    (
        "patterns with wildcards",
        policy(rule(1, "tagged", tagPatternList=["*-rc*"], count_type="sinceImagePushed", number=7)),
        [image("rc-old", 8, "1.0-rc1"), image("rc-new", 1, "1.1-rc1"), image("final-old", 30, "1.0")],
        {"rc-old": 1},
    ),
    (
        "any: everything counts, tagged or not",
        policy(rule(1, "any", number=2)),
        [image("a", 4, "x"), image("b", 3), image("c", 2, "y"), image("d", 1)],
        {"a": 1, "b": 1},
    ),
    (
        "AWS example A: a higher rule's selection protects an image it kept",
        policy(
            rule(1, "tagged", tagPatternList=["prod*"], number=1),
            rule(2, "tagged", tagPatternList=["beta*"], number=1),
        ),
        [image("A", 10, "beta-1", "prod-1"), image("B", 9, "beta-2", "prod-2"), image("C", 8, "beta-3")],
        {"A": 1},
    ),
    (
        "AWS example B: lower rules count images higher rules expired",
        policy(
            rule(1, "tagged", tagPatternList=["alpha*"], number=1),
            rule(2, "tagged", tagPatternList=["beta*"], number=1),
        ),
        [image("A", 10, "alpha-1"), image("B", 9, "beta-1"), image("C", 8, "alpha-2", "beta-2")],
        {"A": 1, "B": 2},
    ),
    (
        "the expiring rule is the first one whose candidates hold the image",
        policy(rule(1, "untagged", number=1), rule(2, "any", count_type="sinceImagePushed", number=30)),
        [image("u-old", 40), image("u-new", 35), image("t-old", 45, "v1"), image("t-new", 2, "v2")],
        {"u-old": 1, "t-old": 2},
    ),
    (
        "an untagged rule's kept images are protected from the any rule",
        policy(rule(1, "untagged", number=5), rule(2, "any", number=1)),
        [image("u1", 5), image("u2", 4), image("t1", 3, "a"), image("t2", 2, "b")],
        {"t1": 2},
    ),
    (
        "sinceImagePulled uses the last recorded pull, else the push",
        policy(rule(1, "any", count_type="sinceImagePulled", number=10)),
        [
            image("pulled-lately", 50, "a", pulled_days_ago=2),
            image("pulled-long-ago", 50, "b", pulled_days_ago=20),
            image("never", 20, "c"),
            image("fresh", 1, "d"),
        ],
        {"pulled-long-ago": 1, "never": 1},
    ),
    (
        "index children are neither counted nor expired",
        policy(rule(1, "untagged", number=1)),
        [
            image("index", 1, "multi", children=("sha256:amd64", "sha256:arm64")),
            image("amd64", 1),
            image("arm64", 1),
            image("u-old", 9),
            image("u-new", 5),
        ],
        {"u-old": 1},
    ),
    (
        "nothing to expire",
        policy(rule(1, "untagged", number=10)),
        [image("a", 1), image("b", 2)],
        {},
    ),
]


@pytest.mark.parametrize(("title", "text", "images", "expected"), CASES, ids=[c[0] for c in CASES])
def test_evaluation(title: str, text: str, images: list[ImageInfo], expected: dict[str, int]) -> None:
    assert expired(text, images) == expected


def test_results_come_newest_first() -> None:
    parsed = parse_policy(policy(rule(1, "untagged", number=1)))
    result = evaluate(parsed, [image("a", 5), image("b", 3), image("c", 4), image("d", 1)], now=NOW)
    assert [e.image.digest for e in result] == ["sha256:b", "sha256:c", "sha256:a"]


def test_equal_push_times_break_ties_by_digest() -> None:
    parsed = parse_policy(policy(rule(1, "untagged", number=1)))
    same = [image("b", 1), image("a", 1), image("c", 1)]
    assert [e.image.digest for e in evaluate(parsed, same, now=NOW)] == ["sha256:b", "sha256:c"]
