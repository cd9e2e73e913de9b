"""Alarm actions: the seam through which an alarm's state change reaches another service.

Other Dockyard services register a handler for the ARNs they own, in process, when the server is
composed:

```python
cloudwatch.actions.register("autoscaling", run_policy, repeats=True,
                            accepts=lambda arn: ":resource/" in arn)   # Application Auto Scaling
cloudwatch.actions.register("sns", publish_alarm)                       # a topic, later
```

- The handler is picked by the ARN's service field (`arn:aws:<service>:...`); among several for
  the same service, the first whose `accepts(arn)` is true. It receives an `AlarmAction` and
  returns normally on success or raises `ActionFailed(message)` (any other exception counts as
  a failure too).
- Actions run after a state transition is stored, when the alarm's `ActionsEnabled` is true:
  the new state's list (`AlarmActions`, `OKActions` or `InsufficientDataActions`). Each outcome
  is an `Action` history item: "Successfully executed action <arn>", or "Failed to execute
  action <arn>" with the error, as AWS records an unreachable target. An ARN no handler
  accepts fails that way; nothing is pretended.
- `repeats=True` handlers (Application and EC2 Auto Scaling policies, as on AWS) are invoked
  again at every evaluation while the alarm stays in the state; repeats leave no history.
- `subscribe(listener)` hears every state transition (for an EventBridge
  "CloudWatch Alarm State Change" event, for example); a listener must not raise.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["ActionFailed", "AlarmAction", "AlarmActions", "ActionHandler", "Transition", "Outcome"]

log = logging.getLogger(__name__)


class ActionFailed(Exception):
    """An action could not be carried out; the message goes into the alarm's history."""


@dataclass(frozen=True, slots=True)
class AlarmAction:
    arn: str  # the action's ARN
    account_id: str
    region: str
    alarm_name: str
    alarm_arn: str
    state: str  # the state the alarm is in (and whose action list holds `arn`)
    previous_state: str
    reason: str
    reason_data: str | None
    timestamp: float  # when the alarm entered `state`
    repeated: bool  # True for a re-invocation while the state lasts
    alarm: dict[str, Any]  # the alarm as DescribeAlarms shows it


@dataclass(frozen=True, slots=True)
class Transition:
    account_id: str
    region: str
    alarm: dict[str, Any]  # after the change
    previous_state: str
    previous_reason: str
    timestamp: float


@dataclass(frozen=True, slots=True)
class Outcome:
    arn: str
    ok: bool
    error: str = ""


ActionHandler = Callable[[AlarmAction], Awaitable[None]]
Listener = Callable[[Transition], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class _Registration:
    service: str
    handler: ActionHandler
    accepts: Callable[[str], bool] | None
    repeats: bool


class AlarmActions:
    def __init__(self) -> None:
        self._handlers: list[_Registration] = []
        self._listeners: list[Listener] = []

    def register(
        self,
        service: str,
        handler: ActionHandler,
        *,
        accepts: Callable[[str], bool] | None = None,
        repeats: bool = False,
    ) -> None:
        """Handle action ARNs of `service` (`arn:aws:<service>:...`) that `accepts` admits."""
        self._handlers.append(_Registration(service, handler, accepts, repeats))

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def _find(self, arn: str) -> _Registration | None:
        parts = arn.split(":")
        service = parts[2] if len(parts) > 2 and parts[0] == "arn" else ""
        for registration in self._handlers:
            if registration.service == service and (
                registration.accepts is None or registration.accepts(arn)
            ):
                return registration
        return None

    def repeats(self, arn: str) -> bool:
        registration = self._find(arn)
        return registration is not None and registration.repeats

    async def invoke(self, action: AlarmAction) -> Outcome:
        registration = self._find(action.arn)
        if registration is None:
            return Outcome(
                action.arn, False, f"Dockyard has no target for {_service_of(action.arn)} actions."
            )
        try:
            await registration.handler(action)
        except ActionFailed as exc:
            return Outcome(action.arn, False, str(exc))
        except Exception as exc:
            log.warning("alarm %s: action %s failed", action.alarm_name, action.arn, exc_info=True)
            return Outcome(action.arn, False, f"{type(exc).__name__}: {exc}")
        return Outcome(action.arn, True)

    async def notify(self, transition: Transition) -> None:
        for listener in self._listeners:
            try:
                await listener(transition)
            except Exception:
                log.warning("alarm state listener failed", exc_info=True)


def _service_of(arn: str) -> str:
    parts = arn.split(":")
    return f"arn:aws:{parts[2]}" if len(parts) > 2 else arn
