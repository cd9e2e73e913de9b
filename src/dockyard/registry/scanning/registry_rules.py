"""Registry-wide scanning configuration (PutRegistryScanningConfiguration): kept in the registry's
settings document beside the replication configuration, and which repositories it scans on push.

    registry settings doc: {"scanningConfiguration": {"scanType": "BASIC", "rules": [...]},
                            "dockyard": {"scanningConfiguredAt": epoch, ...}, ...}

A rule `{scanFrequency: SCAN_ON_PUSH, repositoryFilters: [{filter, filterType: WILDCARD}]}` scans
images pushed (after the rule was set) into repositories a filter matches (`*` is any run of
characters); a repository's own `scanOnPush` also scans them.
"""

from __future__ import annotations

import re
from typing import Any

from dockyard.registry.model import REGISTRY, Scope
from dockyard.store import Conflict, Key, Put, Store

__all__ = ["DEFAULT", "applied_filters", "load", "save"]

DEFAULT: dict[str, Any] = {"scanType": "BASIC", "rules": []}
_CONFIG = "scanningConfiguration"


def _key(scope: Scope) -> Key:
    return Key(scope.account_id, scope.region, REGISTRY, "registry")


async def load(store: Store, scope: Scope) -> tuple[dict[str, Any], float]:
    """The registry's scanning configuration (the default when never set) and when it was set."""
    found = await store.get(_key(scope))
    if found is None or _CONFIG not in found.value:
        return dict(DEFAULT), 0.0
    internal = found.value.get("dockyard") or {}
    return found.value[_CONFIG], float(internal.get("scanningConfiguredAt", 0.0))


async def save(store: Store, scope: Scope, config: dict[str, Any], *, now: float) -> None:
    """Replace the registry's scanning configuration (other registry settings are kept)."""
    while True:
        found = await store.get(_key(scope))
        doc: dict[str, Any] = dict(found.value) if found else {}
        doc[_CONFIG] = config
        doc["dockyard"] = {**(doc.get("dockyard") or {}), "scanningConfiguredAt": now}
        try:
            await store.commit([Put(_key(scope), doc, expected_revision=found.revision if found else 0)])
        except Conflict:
            continue
        return


def _matches(pattern: str, name: str) -> bool:
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, name) is not None


def applied_filters(config: dict[str, Any], repository: str, frequency: str) -> list[dict[str, str]]:
    """The filters of `config`'s rules of `frequency` that match `repository`."""
    out: list[dict[str, str]] = []
    for rule in config.get("rules") or []:
        if rule.get("scanFrequency") != frequency:
            continue
        for found in rule.get("repositoryFilters") or []:
            if _matches(str(found["filter"]), repository):
                out.append({"filter": str(found["filter"]), "filterType": str(found["filterType"])})
    return out
