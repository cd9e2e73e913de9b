"""Which images a lifecycle policy expires: a pure function of the policy, the images and "now".

ECR's evaluation rules, in order of priority (lowest rulePriority first):

```
expired = {}; protected = {}
for rule in policy.rules:                       # ascending rulePriority
    selected = images the rule's tag selection matches, newest push first
    for image in rule's candidates(selected):   # past the first N, or older than N days
        if image not in expired and image not in protected:
            expired[image] = rule.priority
    protected |= selected                       # lower rules never expire what this rule selected
```

- An image is expired by exactly one or zero rules; an image that matches the tag selection of a
  higher-priority rule is never expired by a lower one, even when the higher rule kept it.
- Lower rules still count images that higher rules expired (they take their place in the count).
- tagPrefixList / tagPatternList select an image when every entry matches one of its tags; `*` in a
  pattern matches any run of characters (the whole tag must match).
- Images an image index (manifest list) references are left alone while the index exists: they are
  neither counted nor expired.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from dockyard.registry.lifecycle.policy import Policy, Rule

__all__ = ["DAY", "Expiry", "ImageInfo", "evaluate", "matches_pattern", "selects"]

DAY = 86400.0


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """What evaluation needs to know of one image of the repository."""

    digest: str
    tags: tuple[str, ...]
    pushed_at: float
    last_pulled_at: float | None = None
    children: tuple[str, ...] = field(default=())  # digests an image index references


@dataclass(frozen=True, slots=True)
class Expiry:
    image: ImageInfo
    rule_priority: int


@lru_cache(maxsize=512)
def _pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(
        "".join(".*" if part == "*" else re.escape(part) for part in re.split(r"(\*)", pattern))
    )


def matches_pattern(pattern: str, tag: str) -> bool:
    """True when `tag` matches a tagPatternList entry (`*` is any run of characters)."""
    return _pattern(pattern).fullmatch(tag) is not None


def selects(rule: Rule, image: ImageInfo) -> bool:
    """True when the rule's tag selection (tagStatus and its lists) matches `image`."""
    if rule.tag_status == "any":
        return True
    if rule.tag_status == "untagged":
        return not image.tags
    if not image.tags:
        return False
    if rule.tag_prefixes:
        return all(any(t.startswith(p) for t in image.tags) for p in rule.tag_prefixes)
    return all(any(matches_pattern(p, t) for t in image.tags) for p in rule.tag_patterns)


def _candidates(rule: Rule, selected: Sequence[ImageInfo], now: float) -> Iterable[ImageInfo]:
    if rule.count_type == "imageCountMoreThan":
        return selected[rule.count_number :]
    cutoff = now - rule.count_number * DAY
    if rule.count_type == "sinceImagePulled":
        return [i for i in selected if (i.last_pulled_at or i.pushed_at) < cutoff]
    return [i for i in selected if i.pushed_at < cutoff]


def evaluate(policy: Policy, images: Iterable[ImageInfo], *, now: float) -> list[Expiry]:
    """The images `policy` expires now, each with the priority of the rule that expires it.

    Returned newest push first (the order ECR's preview lists them in).
    """
    everything = list(images)
    referenced = {child for image in everything for child in image.children}
    ordered = sorted(
        (i for i in everything if i.digest not in referenced),
        key=lambda i: (-i.pushed_at, i.digest),
    )
    expired: dict[str, Expiry] = {}
    protected: set[str] = set()
    for rule in policy.rules:
        selected = [i for i in ordered if selects(rule, i)]
        for image in _candidates(rule, selected, now):
            if image.digest not in expired and image.digest not in protected:
                expired[image.digest] = Expiry(image, rule.priority)
        protected.update(i.digest for i in selected)
    return sorted(expired.values(), key=lambda e: (-e.image.pushed_at, e.image.digest))
