"""Pure placement and reconciliation: data in, decisions out, no I/O.

Placement on EC2 and EXTERNAL instances (reference §5), in the shape of Nomad's scheduler:
feasibility checkers feed rankers, and one plan context carries the node state through a pass.

```
NodeView[] --PlanContext--> select / place(ctx, demand, strategies) -> Placement | Unplaceable
                              checks.py   (status, agent, attributes, location, resources, constraints)
                              ranking.py  (binpack / spread / random as a lexicographic order)
             explain(ctx, demand, strategies) -> plain data: every instance, every check, every key
tasks, nodes -> choose_tasks_to_stop(...)   (service scale-in order)
request      -> parse_constraints / parse_strategies (ECS's validation, PlacementSpecError)
```
"""

from dockyard.scheduler.checks import CHECKS, Failure, first_failure, is_candidate
from dockyard.scheduler.explain import explain
from dockyard.scheduler.model import (
    DISTINCT_INSTANCE_UNSATISFIED,
    MEMBER_OF_UNSATISFIED,
    NO_INSTANCES,
    Constraint,
    NodeView,
    Placement,
    Requirement,
    Resources,
    Strategy,
    TaskDemand,
    TaskView,
    Unplaceable,
    release,
    reserve,
)
from dockyard.scheduler.scale_in import choose_tasks_to_stop
from dockyard.scheduler.select import candidates, check_node, place, place_many, select, unplaceable
from dockyard.scheduler.spec import PlacementSpecError, parse_constraints, parse_strategies
from dockyard.scheduler.state import PlanContext

__all__ = [
    "CHECKS",
    "DISTINCT_INSTANCE_UNSATISFIED",
    "MEMBER_OF_UNSATISFIED",
    "NO_INSTANCES",
    "Constraint",
    "Failure",
    "NodeView",
    "Placement",
    "PlacementSpecError",
    "PlanContext",
    "Requirement",
    "Resources",
    "Strategy",
    "TaskDemand",
    "TaskView",
    "Unplaceable",
    "candidates",
    "check_node",
    "choose_tasks_to_stop",
    "explain",
    "first_failure",
    "is_candidate",
    "parse_constraints",
    "parse_strategies",
    "place",
    "place_many",
    "release",
    "reserve",
    "select",
    "unplaceable",
]
