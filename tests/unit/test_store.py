"""The revisioned store: compare-and-swap, atomic commits, labels, change notification, durability."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.store import Change, Conflict, Delete, Key, Put, SqliteStore


def k(name: str, kind: str = "thing", account: str = "1", region: str = "r") -> Key:
    return Key(account, region, kind, name)


async def test_put_get_and_revisions() -> None:
    store = SqliteStore(":memory:")
    first = await store.put(k("a"), {"v": 1}, expected_revision=0)
    got = await store.get(k("a"))
    assert got is not None and got.value == {"v": 1} and got.revision == first
    second = await store.put(k("a"), {"v": 2}, expected_revision=first)
    assert second > first
    with pytest.raises(Conflict):
        await store.put(k("a"), {"v": 3}, expected_revision=first)
    with pytest.raises(Conflict):
        await store.put(k("a"), {"v": 3}, expected_revision=0)
    assert (await store.get(k("a"))).value == {"v": 2}  # type: ignore[union-attr]
    assert store.revision() == second


async def test_commit_is_all_or_nothing() -> None:
    store = SqliteStore(":memory:")
    rev = await store.put(k("a"), {"v": 1})
    with pytest.raises(Conflict):
        await store.commit(
            [Put(k("b"), {"v": 1}, expected_revision=0), Put(k("a"), {"v": 2}, expected_revision=rev + 5)]
        )
    assert await store.get(k("b")) is None
    assert (await store.get(k("a"))).value == {"v": 1}  # type: ignore[union-attr]
    await store.commit([Put(k("b"), {"v": 1}, expected_revision=0), Delete(k("a"), expected_revision=rev)])
    assert await store.get(k("a")) is None and await store.get(k("b")) is not None


async def test_list_by_scope_and_prefix_in_name_order() -> None:
    store = SqliteStore(":memory:")
    for name in ("c/2", "c/1", "d/1"):
        await store.put(k(name), {"n": name})
    await store.put(k("c/3", account="2"), {"n": "other account"})
    await store.put(k("c/4", kind="other"), {"n": "other kind"})
    assert [v.key.name for v in await store.list("thing", account_id="1", region="r", prefix="c/")] == [
        "c/1",
        "c/2",
    ]
    assert len(await store.list("thing")) == 4


async def test_labels_are_indexed_and_replaced_on_write() -> None:
    store = SqliteStore(":memory:")
    await store.put(k("t1"), {}, labels={"node": "a"})
    await store.put(k("t2"), {}, labels={"node": "a"})
    assert [v.key.name for v in await store.find("thing", "node", "a")] == ["t1", "t2"]
    await store.put(k("t1"), {}, labels={"node": "b"})
    await store.put(k("t2"), {})
    assert [v.key.name for v in await store.find("thing", "node", "a")] == []
    assert [v.key.name for v in await store.find("thing", "node", "b")] == ["t1"]


async def test_listeners_hear_labels_before_and_after() -> None:
    store = SqliteStore(":memory:")
    heard: list[Change] = []
    unsubscribe = store.subscribe(heard.extend)
    await store.put(k("t"), {}, labels={"node": "a"})
    await store.put(k("t"), {}, labels={"node": "b"})
    await store.delete(k("t"))
    assert [c.label_values("node") for c in heard] == [{"a"}, {"a", "b"}, {"b"}]
    assert [c.deleted for c in heard] == [False, False, True]
    unsubscribe()
    await store.put(k("u"), {})
    assert len(heard) == 3


async def test_reset_removes_everything_and_notifies() -> None:
    store = SqliteStore(":memory:")
    await store.put(k("t"), {}, labels={"node": "a"})
    heard: list[Change] = []
    store.subscribe(heard.extend)
    await store.reset()
    assert await store.list("thing") == []
    assert heard and heard[0].deleted and heard[0].label_values("node") == {"a"}


async def test_state_survives_reopening_the_file(tmp_path: Path) -> None:
    path = str(tmp_path / "state.db")
    store = SqliteStore(path)
    rev = await store.put(k("a"), {"v": 1}, labels={"x": "y"})
    store.close()
    reopened = SqliteStore(path)
    got = await reopened.get(k("a"))
    assert got is not None and got.value == {"v": 1} and got.revision == rev
    assert reopened.revision() == rev
    assert len(await reopened.find("thing", "x", "y")) == 1
    assert await reopened.put(k("b"), {}) > rev


async def test_find_labels_projects_labels_without_documents() -> None:
    store = SqliteStore(":memory:")
    await store.put(k("t1"), {"big": "x" * 1000}, labels={"cluster": "c", "node": "n1", "group": "g"})
    await store.put(k("t2"), {}, labels={"cluster": "c", "node": "n2"})
    await store.put(k("t3"), {}, labels={"cluster": "other"})
    found = await store.find_labels("thing", "cluster", "c")
    assert found == [
        (k("t1"), {"cluster": "c", "node": "n1", "group": "g"}),
        (k("t2"), {"cluster": "c", "node": "n2"}),
    ]
    assert await store.find_labels("thing", "cluster", "c", account_id="2") == []


async def test_reindex_recomputes_labels_without_touching_documents() -> None:
    store = SqliteStore(":memory:")
    revision = await store.put(k("t1"), {"n": "a"}, labels={"old": "x"})
    await store.put(k("t2"), {"n": "b"})
    changed = await store.reindex("thing", lambda doc: {"n": doc["n"]})
    assert changed == 2
    assert await store.find_labels("thing", "n", "a") == [(k("t1"), {"n": "a"})]
    assert await store.find("thing", "old", "x") == []
    got = await store.get(k("t1"))
    assert got is not None and got.revision == revision
    assert await store.reindex("thing", lambda doc: {"n": doc["n"]}) == 0
