"""Server settings, from flags or `DOCKYARD_*` environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Settings", "default_data_dir"]


def default_data_dir() -> Path:
    env = os.environ.get("DOCKYARD_DATA_DIR")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "dockyard"


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 4566
    data_dir: Path | None = None  # None: an in-memory store (tests)
    region: str = "us-east-1"
    strict_auth: bool = False
    # Every EC2 instance (RunInstances, Auto Scaling) runs a simulated agent: no Docker needed.
    simulate_instances: bool = False
    # Seconds a service task without health checks must be RUNNING to count as healthy (ECS: 40).
    service_healthy_delay: float = 40.0
    # Seconds between capacity providers' CapacityProviderReservation datapoints (ECS: 60).
    capacity_metric_interval: float = 60.0
    # Seconds between placement attempts for tasks waiting in PROVISIONING (ECS: about 15).
    provisioning_retry: float = 15.0
    # Tasks that may wait in PROVISIONING per cluster (the ECS quota).
    provisioning_limit: int = 500

    @property
    def endpoint(self) -> str:
        host = self.host if self.host not in ("0.0.0.0", "::") else "127.0.0.1"
        return f"http://{host}:{self.port}"

    @property
    def database(self) -> str:
        if self.data_dir is None:
            return ":memory:"
        return str(self.data_dir / "dockyard.db")
