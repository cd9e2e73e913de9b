"""The agent's view of its work list, kept current from long-poll answers.

A poll answer names every task placed on the node (`taskArns`) but carries work items only for
tasks that changed since the revision the agent sent (docs/agent-protocol.md). `WorkList.apply`
merges an answer into the full list the agent reconciles against; when the answer names a task
the agent holds no item for, the agent asks again from revision 0 for the complete list.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["WorkList"]


class WorkList:
    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def apply(self, answer: Mapping[str, Any]) -> tuple[dict[str, dict[str, Any]], set[str]] | None:
        """(every listed task -> its item, the ARNs whose item changed), or None when incomplete."""
        changed = {str(item["taskArn"]): dict(item) for item in answer.get("tasks", [])}
        listed = answer.get("taskArns")
        names = [str(arn) for arn in listed] if listed is not None else list(changed)
        if any(arn not in changed and arn not in self.items for arn in names):
            return None
        self.items = {arn: changed.get(arn) or self.items[arn] for arn in names}
        return dict(self.items), set(changed)
