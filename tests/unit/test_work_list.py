"""The agent's work list: merging long-poll answers that carry only what changed."""

from __future__ import annotations

from dockyard.agent.work_list import WorkList


def item(arn: str, desired: str = "RUNNING") -> dict[str, str]:
    return {"taskArn": arn, "desiredStatus": desired}


def test_full_then_partial_answers() -> None:
    work = WorkList()
    merged = work.apply({"taskArns": ["a", "b"], "tasks": [item("a"), item("b")]})
    assert merged is not None
    listed, changed = merged
    assert set(listed) == {"a", "b"} and changed == {"a", "b"}
    merged = work.apply({"taskArns": ["a", "b"], "tasks": [item("b", "STOPPED")]})
    assert merged is not None
    listed, changed = merged
    assert listed["a"] == item("a") and listed["b"]["desiredStatus"] == "STOPPED" and changed == {"b"}
    merged = work.apply({"taskArns": ["b"], "tasks": []})
    assert merged is not None and set(merged[0]) == {"b"} and merged[1] == set()


def test_an_unknown_task_without_its_item_asks_for_the_whole_list() -> None:
    work = WorkList()
    assert work.apply({"taskArns": ["a"], "tasks": []}) is None


def test_answers_of_older_servers_carry_the_whole_list() -> None:
    work = WorkList()
    merged = work.apply({"tasks": [item("a")]})
    assert merged is not None and set(merged[0]) == {"a"}
