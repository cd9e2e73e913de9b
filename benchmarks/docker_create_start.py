"""Container create+start through DockerRuntime versus the docker CLI's `docker run -d`.

Both start the same command from the same local image (dockyard/busybox, built if missing);
removal is not timed. Runs are interleaved so engine load affects both alike. Prints the
median and mean of each and the ratio DockerRuntime / CLI (below 1: DockerRuntime is faster).

    .venv/bin/python benchmarks/docker_create_start.py [runs]
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import subprocess
import sys
import time
import uuid

from dockyard.agent.runtime.docker import DockerRuntime
from dockyard.agent.runtime.protocol import ContainerSpec
from dockyard.images import ensure_image

LABEL = {"dockyard.bench": "create-start"}


async def main(runs: int) -> None:
    if shutil.which("docker") is None:
        raise SystemExit("the docker CLI is needed for the baseline")
    async with DockerRuntime() as runtime:
        image = await ensure_image(runtime, "busybox")
        ours: list[float] = []
        cli: list[float] = []
        try:
            for _ in range(runs):
                spec = ContainerSpec(
                    name=f"bench-{uuid.uuid4().hex[:10]}", image=image, labels=LABEL, command=("sleep", "60")
                )
                started = time.perf_counter()
                container_id = await runtime.create(spec)
                await runtime.start(container_id)
                ours.append(time.perf_counter() - started)

                started = time.perf_counter()
                subprocess.run(
                    ["docker", "run", "-d", "--label", "dockyard.bench=create-start", image, "sleep", "60"],
                    check=True,
                    capture_output=True,
                )
                cli.append(time.perf_counter() - started)
        finally:
            for state in await runtime.list(labels=LABEL):
                await runtime.remove(state.id, force=True)
    print(f"create+start, {runs} runs each (seconds)")
    for name, samples in (("DockerRuntime", ours), ("docker run -d", cli)):
        print(f"  {name:14} median {statistics.median(samples):.4f}  mean {statistics.fmean(samples):.4f}")
    print(f"  ratio DockerRuntime / CLI (median): {statistics.median(ours) / statistics.median(cli):.2f}")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20))
