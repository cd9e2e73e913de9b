"""The load balancers outlive the control plane, which takes them over again when it restarts."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.lb.config import Paths
from dockyard.lb.haproxy import HAProxy
from dockyard.store import Key
from dockyard.testing.server import ThreadedServer
from tests.e2e.test_lb_dataplane import ACCOUNT, REGION, Elb, Target, alb, get, served_by
from tests.waiting import until

pytestmark = pytest.mark.skipif(shutil.which("haproxy") is None, reason="needs HAProxy")


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "hosts").write_text("")
    yield tmp_path
    asyncio.run(HAProxy("haproxy", Paths(tmp_path / "lb", tmp_path / "lb")).stop())


def test_serving_survives_a_control_plane_restart_and_resyncs(data_dir: Path) -> None:
    first, second = Target(21), Target(22)
    server = ThreadedServer(data_dir=data_dir, hosts_file=str(data_dir / "hosts")).start()
    try:
        elb = Elb(server)
        group = elb.target_group("restart")
        _, _, url = alb(elb, 21, group)
        elb.register(group, first)
        until(lambda: elb.state(group, first) == "healthy", what="a healthy target")
        pid = HAProxy("haproxy", Paths(data_dir / "lb", data_dir / "lb")).pid()
        server.stop()
        statuses = [get(f"{url}/down{i}")[0] for i in range(20)]  # nothing runs the control plane now
        assert statuses == [200] * 20

        failures: list[int] = []
        stop = threading.Event()

        def client() -> None:
            for i in range(2000):  # bounded
                if stop.is_set():
                    break
                status = get(f"{url}/during{i}")[0]
                if status != 200:
                    failures.append(status)

        worker = threading.Thread(target=client)
        worker.start()
        try:
            server = ThreadedServer(data_dir=data_dir, hosts_file=str(data_dir / "hosts")).start()
            elb = Elb(server)
            elb.register(group, first, second)  # a change after the restart is applied
            until(lambda: elb.state(group, second) == "healthy", what="the new target healthy")
            until(lambda: "t22" in {served_by(f"{url}/after{i}") for i in range(4)}, what="traffic on it")
        finally:
            stop.set()
            worker.join(60)
        assert not failures
        assert (
            HAProxy("haproxy", Paths(data_dir / "lb", data_dir / "lb")).pid() == pid
        )  # adopted, not restarted
        assert elb.state(group, first) == "healthy"
    finally:
        server.stop()
        first.close()
        second.close()


@pytest.mark.skipif(not os.access("/etc/hosts", os.W_OK), reason="needs a writable /etc/hosts")
def test_python_resolves_the_dns_name_through_etc_hosts() -> None:
    target = Target(23)
    with ThreadedServer(hosts_file="/etc/hosts") as server:  # no data directory: HAProxy stops with it
        elb = Elb(server)
        group = elb.target_group("resolve")
        lb, _, url = alb(elb, 23, group)
        elb.register(group, target)
        until(lambda: elb.state(group, target) == "healthy", what="a healthy target")
        name = str((elb.get("elbv2/load-balancer", lb) or {})["DNSName"])
        assert socket.gethostbyname(name) == "127.0.199.23"
        port = url.rsplit(":", 1)[1]
        with urllib.request.urlopen(f"http://{name}:{port}/by-name", timeout=10) as response:
            assert response.status == 200
        server.run(server.server.store.delete(Key(ACCOUNT, REGION, "elbv2/load-balancer", lb)))
        until(lambda: name not in Path("/etc/hosts").read_text(), what="the name removed from /etc/hosts")
    target.close()
