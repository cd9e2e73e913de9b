"""`dockyard up` / `dockyard server`: serve every API on one port, with the local Fargate pool."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import sys
import time

from dockyard.core.clock import ScaledClock, SystemClock
from dockyard.server.app import Server
from dockyard.server.settings import Settings

__all__ = ["serve"]


async def serve(args: argparse.Namespace, *, with_fargate: bool) -> int:
    started = time.monotonic()
    settings = Settings(
        host=args.host,
        port=args.port,
        data_dir=args.data_dir,
        region=args.region,
        simulate_instances=args.simulate_instances,
        service_healthy_delay=args.service_healthy_delay,
        capacity_metric_interval=args.capacity_metric_interval,
        alarm_evaluation_interval=args.alarm_evaluation_interval,
    )
    server = Server(settings, clock=ScaledClock(args.time_scale) if args.time_scale != 1 else SystemClock())
    try:
        await server.start()
    except OSError as exc:
        print(f"dockyard: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    pool: asyncio.subprocess.Process | None = None
    try:
        if with_fargate:
            pool = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "dockyard",
                "agent",
                "--fargate-pool",
                "--endpoint",
                server.endpoint,
                "--region",
                args.region,
                "--data-dir",
                str(args.data_dir / "agents" / "fargate"),
            )
        # The objects made at start-up live as long as the server: keep them out of the collector's
        # scans, and collect young objects less often (fewer pauses in the middle of requests).
        gc.freeze()
        gc.set_threshold(10_000, 20, 20)
        elapsed = time.monotonic() - started
        print(
            f"Dockyard is up on {server.endpoint} (ready in {elapsed:.2f}s; state in {args.data_dir})",
            flush=True,
        )
        print("Try:", flush=True)
        print(f"  aws --endpoint-url {server.endpoint} ecs create-cluster --cluster-name demo", flush=True)
        print("Stop with Ctrl-C; state survives a restart.", flush=True)
        while True:
            await asyncio.sleep(3600)
    except asyncio.CancelledError:
        pass
    finally:
        if pool is not None and pool.returncode is None:
            pool.terminate()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(pool.wait(), 10)
            if pool.returncode is None:
                pool.kill()
        await server.stop()
        print("Dockyard stopped.", flush=True)
    return 0
