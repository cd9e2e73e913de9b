"""What Fargate ephemeral storage adds to a task's start, beside what starting a container costs.

Dockyard gives each Fargate task with task-directory volumes its own ext4 filesystem of
`ephemeralStorage.sizeInGiB` on a sparse, loop-mounted file (dockyard.agent.storage). This times
`TaskStorage.provision()` (sparse file + mkfs.ext4 + mount) and `release()` (umount + delete) at
20 and 200 GiB, and as the baseline the container create+start of a one-container task through
DockerRuntime, interleaved so engine and disk load affect both alike. Prints medians and the
ratio storage / container start (0.5: the storage adds half of what one container start costs).

    .venv/bin/python benchmarks/ephemeral_storage.py [runs]      # root, loop devices and Docker
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from dockyard.agent.runtime.docker import DockerRuntime
from dockyard.agent.runtime.protocol import ContainerSpec
from dockyard.agent.storage import GIB, TaskStorage
from dockyard.images import ensure_image

LABEL = {"dockyard.bench": "ephemeral-storage"}
SIZES_GIB = (20, 200)


async def main(runs: int) -> None:
    samples: dict[str, list[float]] = {"container create+start": []}
    for size in SIZES_GIB:
        samples[f"storage {size} GiB provision"] = []
        samples[f"storage {size} GiB release"] = []
    async with DockerRuntime() as runtime:
        image = await ensure_image(runtime, "busybox")
        with tempfile.TemporaryDirectory(prefix="dockyard-bench-") as tmp:
            try:
                for run in range(runs):
                    spec = ContainerSpec(
                        name=f"bench-{uuid.uuid4().hex[:10]}",
                        image=image,
                        labels=LABEL,
                        command=("sleep", "60"),
                    )
                    started = time.perf_counter()
                    container_id = await runtime.create(spec)
                    await runtime.start(container_id)
                    samples["container create+start"].append(time.perf_counter() - started)
                    for size in SIZES_GIB:
                        storage = TaskStorage(Path(tmp) / f"task-{run}-{size}", size * GIB)
                        started = time.perf_counter()
                        if not await storage.provision():
                            raise SystemExit("this host cannot loop-mount: run as root with loop devices")
                        samples[f"storage {size} GiB provision"].append(time.perf_counter() - started)
                        started = time.perf_counter()
                        await storage.release()
                        samples[f"storage {size} GiB release"].append(time.perf_counter() - started)
            finally:
                for state in await runtime.list(labels=LABEL):
                    await runtime.remove(state.id, force=True)
    baseline = statistics.median(samples["container create+start"])
    print(f"ephemeral storage versus one container create+start, {runs} runs each (milliseconds)")
    for name, values in samples.items():
        median = statistics.median(values)
        print(
            f"  {name:28} median {median * 1000:7.1f}  max {max(values) * 1000:7.1f}"
            f"  ratio to container start {median / baseline:5.2f}"
        )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10))
