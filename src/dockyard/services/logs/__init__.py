"""Amazon CloudWatch Logs: log groups (store documents) and log streams and events (the event
database), filter patterns, retention enforced by a controller, and tags.

Importing this package registers every handler module on `api`.
"""

from dockyard.services.logs import (  # noqa: F401  (registration by import)
    filter_events,
    get_events,
    groups,
    put_events,
    retention,
    streams,
    tags,
)
from dockyard.services.logs.api import api
from dockyard.services.logs.controller import RetentionController, logs_controllers
from dockyard.services.logs.deps import Logs
from dockyard.services.logs.events import LogEvents
from dockyard.services.logs.resources import GROUP

__all__ = ["api", "GROUP", "Logs", "LogEvents", "RetentionController", "logs_controllers"]
