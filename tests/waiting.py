"""Waiting for what a server does asynchronously, bounded in time: `until`."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["until"]

T = TypeVar("T")


def until(
    check: Callable[[], T | None], *, timeout: float = 60.0, what: str = "condition", interval: float = 0.2
) -> T:
    """The first truthy value of `check()`, polled every `interval` seconds; AssertionError
    after `timeout` seconds (checked once more at the deadline)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)
