"""Waiting on a `Signal` with a timeout measured on the injected `Clock`, never on wall time.

    gen = signal.generation
    ... look at the state ...
    await wait_signal(signal, gen, clock, timeout)           # a change, or `timeout` seconds passed
    done = await wait_until(signal, predicate, clock=clock, timeout=60)   # False: timed out

The runner's waits (dependency start timeouts, the cleanup wait) go through here, so tests drive
them with a fake clock in milliseconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from dockyard.agent.signal import Signal
from dockyard.core.clock import Clock

__all__ = ["wait_signal", "wait_until"]


async def wait_signal(signal: Signal, generation: int, clock: Clock, timeout: float | None = None) -> None:
    """Return once `signal` changed after `generation`, or after `timeout` seconds on `clock`."""
    if timeout is None:
        await signal.wait(generation)
        return
    if timeout <= 0 or generation != signal.generation:
        return
    waiter = asyncio.ensure_future(signal.wait(generation))
    sleeper = asyncio.ensure_future(clock.sleep(timeout))
    try:
        await asyncio.wait({waiter, sleeper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
        sleeper.cancel()
        await asyncio.gather(waiter, sleeper, return_exceptions=True)


async def wait_until(
    signal: Signal, predicate: Callable[[], bool], *, clock: Clock | None = None, timeout: float | None = None
) -> bool:
    """Wait until `predicate()` holds, checking it again on every change of `signal`.

    Returns False when `timeout` seconds (on `clock`, required with a timeout) pass first."""
    if timeout is not None and clock is None:
        raise ValueError("a timeout needs a clock")
    deadline = None if timeout is None or clock is None else clock.monotonic() + timeout
    while True:
        generation = signal.generation
        if predicate():
            return True
        remaining = None
        if deadline is not None and clock is not None:
            remaining = deadline - clock.monotonic()
            if remaining <= 0:
                return False
            await wait_signal(signal, generation, clock, remaining)
        else:
            await signal.wait(generation)
