"""Resource tag rules shared by every service that tags (ECS, ECR, ELB, ...)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["TagError", "check_tags", "merge_tags", "MAX_TAGS"]

MAX_TAGS = 50


class TagError(ValueError):
    pass


def check_tags(tags: Iterable[Mapping[str, str]], *, existing: int = 0) -> None:
    """Raise `TagError` with AWS's wording when a tag set breaks the common rules."""
    tags = list(tags)
    for tag in tags:
        key = tag.get("key", "")
        value = tag.get("value", "")
        if not key:
            raise TagError("Tag keys must not be empty.")
        if len(key) > 128:
            raise TagError(f"Tag key '{key[:20]}...' exceeds the maximum length of 128 characters.")
        if len(value) > 256:
            raise TagError(f"Tag value for key '{key}' exceeds the maximum length of 256 characters.")
        if key.lower().startswith("aws:"):
            raise TagError("Tag keys must not begin with the reserved prefix 'aws:'.")
    if existing + len({t.get("key") for t in tags}) > MAX_TAGS:
        raise TagError(f"The number of tags exceeds the limit of {MAX_TAGS}.")


def merge_tags(current: list[dict[str, str]], new: Iterable[Mapping[str, str]]) -> list[dict[str, str]]:
    """Add or overwrite tags by key, keeping first-seen order."""
    merged = {t["key"]: t.get("value", "") for t in current}
    for tag in new:
        merged[tag["key"]] = tag.get("value", "")
    return [{"key": k, "value": v} for k, v in merged.items()]
