"""Pure rules behind EC2 capacity: Auto Scaling's termination policy and zone spreading, the ECS
settings found in user data, EC2 filters, and AWS zone ids."""

from __future__ import annotations

import base64
import gzip

import pytest

from dockyard.core.vpc import zone_id
from dockyard.services.autoscaling.termination import Candidate, choose_victims, spread_launches
from dockyard.services.ec2.filters import matches
from dockyard.services.ec2.user_data import ecs_config, instance_attributes

ZONES = ["us-east-1a", "us-east-1b", "us-east-1c"]


def c(instance_id: str, zone: str, launched: float = 0.0, **extra: object) -> Candidate:
    fields: dict[str, object] = {"source_age": 1.0, "current_source": True, "protected": False}
    fields.update(extra)
    return Candidate(instance_id, zone, launched, **fields)  # type: ignore[arg-type]


# -- termination -----------------------------------------------------------------------------------


def test_the_zone_with_most_instances_loses_first() -> None:
    candidates = [c("a1", ZONES[0]), c("a2", ZONES[0]), c("b1", ZONES[1])]
    assert choose_victims(candidates, 1, zones=ZONES, policies=["Default"], now=10.0) in (["a1"], ["a2"])
    assert sorted(choose_victims(candidates, 2, zones=ZONES, policies=["Default"], now=10.0))[0].startswith(
        "a"
    )


def test_scale_in_keeps_zones_balanced() -> None:
    candidates = [
        c("a1", ZONES[0]),
        c("a2", ZONES[0]),
        c("b1", ZONES[1]),
        c("b2", ZONES[1]),
        c("c1", ZONES[2]),
    ]
    victims = choose_victims(candidates, 2, zones=ZONES, policies=["Default"], now=0.0)
    zones = sorted(v[0] for v in victims)
    assert zones == ["a", "b"]


def test_protected_instances_are_never_chosen() -> None:
    candidates = [c("a1", ZONES[0], protected=True), c("a2", ZONES[0], protected=True), c("b1", ZONES[1])]
    assert choose_victims(candidates, 3, zones=ZONES, policies=["Default"], now=0.0) == ["b1"]
    forced = choose_victims(candidates, 3, zones=ZONES, policies=["Default"], now=0.0, ignore_protection=True)
    assert sorted(forced) == ["a1", "a2", "b1"]


def test_the_zone_must_have_an_unprotected_instance() -> None:
    candidates = [c("a1", ZONES[0], protected=True), c("a2", ZONES[0], protected=True), c("b1", ZONES[1])]
    assert choose_victims(candidates, 1, zones=ZONES, policies=["Default"], now=0.0) == ["b1"]


def test_default_prefers_an_old_launch_template_then_the_billing_hour() -> None:
    old = c("old", ZONES[0], launched=100.0, source_age=1.0, current_source=False)
    new = c("new", ZONES[0], launched=50.0, source_age=2.0, current_source=True)
    assert choose_victims([old, new], 1, zones=ZONES, policies=["Default"], now=1000.0) == ["old"]
    # same template: closest to the next instance hour (longest into its current hour)
    near = c("near", ZONES[0], launched=0.0)  # 3500 s into its hour
    far = c("far", ZONES[0], launched=3400.0)  # 100 s into its hour
    assert choose_victims([far, near], 1, zones=ZONES, policies=["Default"], now=3500.0) == ["near"]


@pytest.mark.parametrize(
    ("policy", "expected"),
    [("OldestInstance", "first"), ("NewestInstance", "last"), ("ClosestToNextInstanceHour", "first")],
)
def test_named_policies(policy: str, expected: str) -> None:
    candidates = [c("first", ZONES[0], launched=10.0), c("last", ZONES[0], launched=20.0)]
    assert choose_victims(candidates, 1, zones=ZONES, policies=[policy], now=3605.0) == [expected]


def test_spread_launches_fills_the_emptiest_zones() -> None:
    assert spread_launches(3, zones=ZONES, existing={}) == {ZONES[0]: 1, ZONES[1]: 1, ZONES[2]: 1}
    assert spread_launches(2, zones=ZONES, existing={ZONES[0]: 2, ZONES[1]: 1}) == {ZONES[1]: 1, ZONES[2]: 1}
    assert spread_launches(4, zones=ZONES[:1], existing={}) == {ZONES[0]: 4}


# -- user data -------------------------------------------------------------------------------------


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "script",
    [
        "#!/bin/bash\necho ECS_CLUSTER=prod >> /etc/ecs/ecs.config\n",
        '#!/bin/bash\necho "ECS_CLUSTER=prod" >> /etc/ecs/ecs.config\n',
        "#!/bin/bash\ncat <<'EOF' >> /etc/ecs/ecs.config\nECS_CLUSTER=prod\nEOF\n",
        "#cloud-config\nwrite_files:\n  - path: /etc/ecs/ecs.config\n"
        "    content: |\n      ECS_CLUSTER=prod\n",
    ],
)
def test_the_cluster_in_user_data(script: str) -> None:
    assert ecs_config(b64(script))["ECS_CLUSTER"] == "prod"


def test_later_settings_win_and_others_are_kept() -> None:
    script = (
        "echo ECS_CLUSTER=one >> /etc/ecs/ecs.config\n"
        "echo ECS_CLUSTER=two >> /etc/ecs/ecs.config\n"
        "echo ECS_RESERVED_MEMORY=256 >> /etc/ecs/ecs.config\n"
        """echo 'ECS_INSTANCE_ATTRIBUTES={"stack": "prod"}' >> /etc/ecs/ecs.config\n"""
    )
    config = ecs_config(b64(script))
    assert config["ECS_CLUSTER"] == "two" and config["ECS_RESERVED_MEMORY"] == "256"
    assert instance_attributes(config) == {"stack": "prod"}


def test_gzipped_and_bad_user_data() -> None:
    packed = base64.b64encode(gzip.compress(b"ECS_CLUSTER=zipped\n")).decode()
    assert ecs_config(packed) == {"ECS_CLUSTER": "zipped"}
    assert ecs_config("not base64 at all!") == {}
    assert ecs_config("") == {}
    assert instance_attributes({"ECS_INSTANCE_ATTRIBUTES": "not json"}) == {}


# -- filters and zone ids --------------------------------------------------------------------------


def test_filter_wildcards() -> None:
    values = {"name": ["web-1"], "state": ["running"]}
    assert matches([{"Name": "name", "Values": ["web-*"]}], lambda n: values.get(n, []))
    assert matches([{"Name": "name", "Values": ["web-?"]}], lambda n: values.get(n, []))
    assert not matches([{"Name": "name", "Values": ["web-??"]}], lambda n: values.get(n, []))
    assert matches(
        [{"Name": "name", "Values": ["db", "web-1"]}, {"Name": "state", "Values": ["running"]}],
        lambda n: values.get(n, []),
    )
    assert not matches(
        [{"Name": "name", "Values": ["web-1"]}, {"Name": "state", "Values": ["stopped"]}],
        lambda n: values.get(n, []),
    )
    assert matches([{"Name": "name", "Values": ["web\\*"]}], lambda n: ["web*"])


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("us-east-1a", "use1-az1"),
        ("eu-west-1c", "euw1-az3"),
        ("ap-southeast-2b", "apse2-az2"),
        ("us-west-2a", "usw2-az1"),
    ],
)
def test_zone_ids(zone: str, expected: str) -> None:
    assert zone_id(zone) == expected
