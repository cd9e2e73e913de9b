"""Server settings, from flags or `DOCKYARD_*` environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Settings", "default_data_dir"]


def default_data_dir() -> Path:
    env = os.environ.get("DOCKYARD_DATA_DIR")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "dockyard"


def _seconds(variable: str, default: float) -> float:
    return float(os.environ.get(variable) or default)


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
    # Seconds between evaluations of each CloudWatch alarm (AWS: 60); shorter for quick local loops.
    alarm_evaluation_interval: float = 60.0
    # The registry host in ECR repository URIs (DOCKYARD_REGISTRY_HOST); None: the endpoint's host:port.
    registry_host: str | None = field(
        default_factory=lambda: os.environ.get("DOCKYARD_REGISTRY_HOST") or None
    )
    # Registry garbage collection: seconds between passes, seconds a blob must stay unused before
    # its bytes go, seconds an unfinished upload is kept (DOCKYARD_REGISTRY_GC_* variables).
    registry_gc_interval: float = field(
        default_factory=lambda: _seconds("DOCKYARD_REGISTRY_GC_INTERVAL", 3600)
    )
    registry_blob_grace: float = field(default_factory=lambda: _seconds("DOCKYARD_REGISTRY_GC_GRACE", 3600))
    registry_upload_expiry: float = field(
        default_factory=lambda: _seconds("DOCKYARD_REGISTRY_UPLOAD_EXPIRY", 86400)
    )
    # Seconds between lifecycle policy runs on each repository (ECR: within 24 hours)
    # (DOCKYARD_LIFECYCLE_INTERVAL).
    lifecycle_interval: float = field(default_factory=lambda: _seconds("DOCKYARD_LIFECYCLE_INTERVAL", 86400))
    # The offline vulnerability feed of image scans (DOCKYARD_SCAN_FEED_DIR); None: <data dir>/scan-feed.
    scan_feed_dir: Path | None = field(
        default_factory=lambda: (
            Path(os.environ["DOCKYARD_SCAN_FEED_DIR"]) if os.environ.get("DOCKYARD_SCAN_FEED_DIR") else None
        )
    )

    # The load balancer data plane's HAProxy (DOCKYARD_HAPROXY); "" runs without load balancers.
    haproxy: str = field(default_factory=lambda: os.environ.get("DOCKYARD_HAPROXY", "haproxy"))
    # Where load balancers' DNS names are written (DOCKYARD_HOSTS_FILE); "" leaves hosts files alone.
    hosts_file: str = field(default_factory=lambda: os.environ.get("DOCKYARD_HOSTS_FILE", "/etc/hosts"))

    @property
    def endpoint(self) -> str:
        host = self.host if self.host not in ("0.0.0.0", "::") else "127.0.0.1"
        return f"http://{host}:{self.port}"

    @property
    def metrics_database(self) -> str:
        """CloudWatch's datapoints: a file of their own beside the store's."""
        if self.data_dir is None:
            return ":memory:"
        return str(self.data_dir / "metrics.db")

    @property
    def scan_feed(self) -> Path | None:
        """Where `dockyard scan-feed import` keeps the feed scans read (None: no feed)."""
        if self.scan_feed_dir is not None:
            return self.scan_feed_dir
        return self.data_dir / "scan-feed" if self.data_dir is not None else None

    @property
    def database(self) -> str:
        if self.data_dir is None:
            return ":memory:"
        return str(self.data_dir / "dockyard.db")
