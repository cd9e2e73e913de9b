"""ECR lifecycle policies as pure code: validate a policy's text and compute what it expires.

The ECR handlers (PutLifecyclePolicy, the preview) and the lifecycle controller all call
`parse_policy` and `evaluate`; nothing here does I/O or reads the clock.
"""

from dockyard.registry.lifecycle.evaluate import DAY, Expiry, ImageInfo, evaluate, matches_pattern, selects
from dockyard.registry.lifecycle.policy import MAX_WILDCARDS, Policy, PolicyError, Rule, parse_policy

__all__ = [
    "DAY",
    "MAX_WILDCARDS",
    "Expiry",
    "ImageInfo",
    "Policy",
    "PolicyError",
    "Rule",
    "evaluate",
    "matches_pattern",
    "parse_policy",
    "selects",
]
