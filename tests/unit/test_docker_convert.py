"""The pure halves of DockerRuntime: spec -> create body, inspect -> state, events, log frames,
error mapping, and the in-memory build contexts of Dockyard's images."""

from __future__ import annotations

import io
import tarfile

import pytest

from dockyard.agent.runtime._docker_client import engine_error
from dockyard.agent.runtime._docker_convert import container_state, create_body, parse_time, runtime_event
from dockyard.agent.runtime._docker_images import with_default_tag
from dockyard.agent.runtime._docker_logs import LogDemuxer
from dockyard.agent.runtime.protocol import (
    ContainerNotFound,
    ContainerSpec,
    HealthCheck,
    ImageNotFound,
    Mount,
    PortBinding,
    PortInUse,
    RuntimeError_,
    Ulimit,
)
from dockyard.images import build_context, image_tag


def test_parse_time():
    assert parse_time("2024-05-01T10:00:00.123456789Z") == pytest.approx(1714557600.123456789)
    assert parse_time("2024-05-01T12:00:00+02:00") == 1714557600.0
    assert parse_time("0001-01-01T00:00:00Z") is None
    assert parse_time("") is None
    with pytest.raises(ValueError):
        parse_time("yesterday")


def test_create_body_maps_every_field():
    spec = ContainerSpec(
        name="web",
        image="nginx:1",
        labels={"a": "b"},
        command=("run",),
        entrypoint=("/bin/sh", "-c"),
        env={"K": "V"},
        working_dir="/app",
        user="1000",
        hostname="h",
        cpu_shares=512,
        memory=256 << 20,
        memory_reservation=128 << 20,
        memory_swap=512 << 20,
        memory_swappiness=0,
        cgroup_parent="/dockyard/i-1",
        network_mode="vpc-1",
        ip_address="10.0.0.5",
        mac_address="02:42:0a:00:00:05",
        ports=(
            PortBinding(80, 8080, "tcp", "127.0.0.2"),
            PortBinding(80, 0, "tcp"),
            PortBinding(53, None, "udp"),
        ),
        dns=("1.1.1.1",),
        dns_search=("corp",),
        extra_hosts=("db:10.0.0.9",),
        links=("db:db",),
        mounts=(
            Mount("bind", "/data", "/srv/data", read_only=True),
            Mount("volume", "/cache", "cachevol"),
            Mount("tmpfs", "/tmp", tmpfs_size=1 << 20, tmpfs_options=("noexec",)),
        ),
        volumes_from=("abc:ro",),
        readonly_rootfs=True,
        ulimits=(Ulimit("nofile", 1024, 2048),),
        privileged=True,
        cap_add=("NET_ADMIN",),
        cap_drop=("ALL",),
        init=True,
        shm_size=64 << 20,
        devices=(("/dev/fuse", "/dev/fuse", "rw"),),
        sysctls={"net.core.somaxconn": "1024"},
        security_opt=("no-new-privileges",),
        pid_mode="host",
        ipc_mode="shareable",
        tty=True,
        interactive=True,
        healthcheck=HealthCheck(("CMD-SHELL", "true"), interval=0.5, timeout=2, retries=4, start_period=10),
        stop_timeout=30,
        log_driver="json-file",
        log_options={"max-size": "1m"},
    )
    body = create_body(spec)
    host = body.pop("HostConfig")
    assert body == {
        "Image": "nginx:1",
        "Labels": {"a": "b"},
        "Env": ["K=V"],
        "Tty": True,
        "OpenStdin": True,
        "AttachStdin": False,
        "AttachStdout": False,
        "AttachStderr": False,
        "Cmd": ["run"],
        "Entrypoint": ["/bin/sh", "-c"],
        "WorkingDir": "/app",
        "User": "1000",
        "Hostname": "h",
        "MacAddress": "02:42:0a:00:00:05",
        "StopTimeout": 30,
        "ExposedPorts": {"80/tcp": {}, "53/udp": {}},
        "Healthcheck": {
            "Test": ["CMD-SHELL", "true"],
            "Interval": 500_000_000,
            "Timeout": 2_000_000_000,
            "Retries": 4,
            "StartPeriod": 10_000_000_000,
        },
        "NetworkingConfig": {"EndpointsConfig": {"vpc-1": {"IPAMConfig": {"IPv4Address": "10.0.0.5"}}}},
    }
    assert host == {
        "NetworkMode": "vpc-1",
        "CpuShares": 512,
        "Memory": 256 << 20,
        "MemoryReservation": 128 << 20,
        "MemorySwap": 512 << 20,
        "MemorySwappiness": 0,
        "CgroupParent": "/dockyard/i-1",
        "ShmSize": 64 << 20,
        "PidMode": "host",
        "IpcMode": "shareable",
        "PortBindings": {
            "80/tcp": [{"HostIp": "127.0.0.2", "HostPort": "8080"}, {"HostIp": "", "HostPort": ""}]
        },
        "Binds": ["/srv/data:/data:ro"],
        "Mounts": [{"Type": "volume", "Source": "cachevol", "Target": "/cache", "ReadOnly": False}],
        "Tmpfs": {"/tmp": "noexec,size=1048576"},
        "VolumesFrom": ["abc:ro"],
        "CapAdd": ["NET_ADMIN"],
        "CapDrop": ["ALL"],
        "SecurityOpt": ["no-new-privileges"],
        "Dns": ["1.1.1.1"],
        "DnsSearch": ["corp"],
        "ExtraHosts": ["db:10.0.0.9"],
        "Links": ["db:db"],
        "Ulimits": [{"Name": "nofile", "Soft": 1024, "Hard": 2048}],
        "Devices": [{"PathOnHost": "/dev/fuse", "PathInContainer": "/dev/fuse", "CgroupPermissions": "rw"}],
        "Sysctls": {"net.core.somaxconn": "1024"},
        "ReadonlyRootfs": True,
        "Privileged": True,
        "Init": True,
        "LogConfig": {"Type": "json-file", "Config": {"max-size": "1m"}},
    }


def test_create_body_minimal_and_fixed_ip_only_on_user_networks():
    body = create_body(ContainerSpec(name="x", image="busybox", ip_address="10.0.0.5"))
    assert body["HostConfig"] == {"NetworkMode": "bridge"} and "NetworkDisabled" not in body
    assert create_body(ContainerSpec(name="x", image="busybox", network_disabled=True))["NetworkDisabled"]
    assert "Cmd" not in body and "NetworkingConfig" not in body and "Healthcheck" not in body


def test_container_state_from_inspect():
    doc = {
        "Id": "abc",
        "Name": "/web",
        "Image": "sha256:111",
        "Created": "2024-05-01T10:00:00.5Z",
        "Config": {"Image": "nginx:1", "Labels": {"a": "b"}},
        "State": {
            "Status": "running",
            "Running": True,
            "Pid": 42,
            "ExitCode": 0,
            "OOMKilled": False,
            "Error": "",
            "StartedAt": "2024-05-01T10:00:01.000000001Z",
            "FinishedAt": "0001-01-01T00:00:00Z",
            "Health": {"Status": "healthy", "Log": [{"Output": "ok\n"}, {"Output": "fine\n"}]},
        },
        "NetworkSettings": {
            "Ports": {
                "80/tcp": [{"HostIp": "127.0.0.2", "HostPort": "32768"}],
                "53/udp": None,
                "81/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8081"}, {"HostIp": "::", "HostPort": "8081"}],
            },
            "Networks": {
                "vpc": {"IPAddress": "10.0.0.5", "MacAddress": "02:42:0a:00:00:05"},
                "none": {"IPAddress": "", "MacAddress": ""},
            },
        },
    }
    state = container_state(doc)
    assert (state.id, state.name, state.image, state.image_id, state.status) == (
        "abc",
        "web",
        "nginx:1",
        "sha256:111",
        "running",
    )
    assert (state.running, state.exit_code, state.pid, state.finished_at) == (True, None, 42, None)
    assert state.created_at == 1714557600.5 and state.started_at == pytest.approx(1714557601.0)
    assert (state.health, state.health_output) == ("healthy", "fine\n")
    assert state.ports == (
        PortBinding(80, 32768, "tcp", "127.0.0.2"),
        PortBinding(81, 8081, "tcp", "0.0.0.0"),
        PortBinding(81, 8081, "tcp", "::"),
    )
    assert state.ip_addresses == {"vpc": "10.0.0.5"} and state.mac_addresses == {"vpc": "02:42:0a:00:00:05"}

    doc["State"] |= {
        "Status": "exited",
        "Running": False,
        "ExitCode": 137,
        "OOMKilled": True,
        "FinishedAt": "2024-05-01T10:00:01Z",
        "Health": None,
    }
    state = container_state(doc)
    assert (state.exit_code, state.oom_killed, state.health) == (137, True, None)
    assert state.finished_at == state.started_at  # finished stamped before started: clamped


def test_runtime_event_splits_labels_from_attributes_and_health_status():
    event = runtime_event(
        {
            "Type": "container",
            "Action": "health_status: unhealthy",
            "timeNano": 1714557600123456789,
            "Actor": {"ID": "abc", "Attributes": {"image": "nginx", "name": "web", "task": "t1"}},
        }
    )
    assert (event.container_id, event.action, event.labels) == (
        "abc",
        "health_status: unhealthy",
        {"task": "t1"},
    )
    assert event.attributes == {"image": "nginx", "name": "web", "health_status": "unhealthy"}
    assert event.time == pytest.approx(1714557600.123456789)
    die = runtime_event(
        {"Action": "die", "time": 1714557600, "Actor": {"ID": "abc", "Attributes": {"exitCode": "3"}}}
    )
    assert (die.action, die.attributes, die.labels, die.time) == ("die", {"exitCode": "3"}, {}, 1714557600.0)


def frame(stream: int, payload: bytes) -> bytes:
    return bytes([stream, 0, 0, 0]) + len(payload).to_bytes(4, "big") + payload


def test_log_demuxer_reassembles_lines_across_frames_and_chunks():
    data = frame(1, b"hel") + frame(2, b"oops\n") + frame(1, b"lo\nwor") + frame(1, b"ld\r\npartial")
    demuxer = LogDemuxer(multiplexed=True)
    lines = [line for i in range(0, len(data), 5) for line in demuxer.feed(data[i : i + 5])]
    assert lines + list(demuxer.flush()) == [b"oops", b"hello", b"world", b"partial"]
    raw = LogDemuxer(multiplexed=False)
    assert list(raw.feed(b"a\r\nb")) + list(raw.flush()) == [b"a", b"b"]


def test_log_demuxer_replay_skips_frames_already_seen():
    t1, t2, t3 = (
        b"2024-05-01T10:00:01.000000000Z",
        b"2024-05-01T10:00:02.000000000Z",
        b"2024-05-01T10:00:03.0Z",
    )
    demuxer = LogDemuxer(multiplexed=True, timestamps=True)
    followed = list(demuxer.feed(frame(1, t1 + b" a\n") + frame(1, t2 + b" b\n") + frame(2, t2 + b" c\n")))
    assert followed == [b"a", b"b", b"c"] and demuxer.last_timestamp == t2.decode()
    demuxer.begin_replay()
    replay = (
        frame(1, t2 + b" b\n") + frame(2, t2 + b" c\n") + frame(1, t2 + b" d\n") + frame(1, t3 + b" tail")
    )
    assert list(demuxer.feed(replay)) + list(demuxer.flush()) == [b"d", b"tail"]


def test_engine_errors_map_to_runtime_exceptions():
    assert type(engine_error(404, "No such image: x:1")) is ImageNotFound
    assert type(engine_error(404, "Cannot kill container: x: No such container: x")) is ContainerNotFound
    assert type(engine_error(404, "network foo not found")) is RuntimeError_
    assert type(engine_error(404, "gone", not_found=ContainerNotFound)) is ContainerNotFound
    message = (
        "driver failed programming external connectivity: Bind for :80 failed: port is already allocated"
    )
    assert type(engine_error(500, message)) is PortInUse
    assert str(engine_error(409, "Conflict. The container name is already in use")).startswith("Conflict")
    assert with_default_tag("busybox") == "busybox:latest"
    assert with_default_tag("localhost:5000/app") == "localhost:5000/app:latest"
    assert with_default_tag("app@sha256:00") == "app@sha256:00"


def members(tar_bytes: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        return {m.name: m for m in tar.getmembers()}


def test_build_contexts():
    busybox = build_context("busybox")
    assert busybox.tag == "dockyard/busybox:latest" and busybox.base is None
    context = members(busybox.tar)
    assert set(context) == {"Dockerfile", "rootfs.tar"}
    with tarfile.open(fileobj=io.BytesIO(busybox.tar)) as tar:
        rootfs = tar.extractfile("rootfs.tar").read()  # type: ignore[union-attr]
    files = members(rootfs)
    assert files["bin/busybox"].mode == 0o755 and files["bin/sh"].linkname == "/bin/busybox"
    assert {"bin/nc", "bin/wget", "bin/httpd", "usr/bin/env", "etc/passwd", "tmp"} <= set(files)
    assert files["tmp"].mode == 0o1777

    hello = build_context("hello")
    assert (hello.tag, hello.extra_tags, hello.base) == (
        "dockyard/hello:latest",
        ("dockyard/hello:v1",),
        "dockyard/busybox:latest",
    )
    assert set(members(hello.tar)) == {"Dockerfile", "handler.sh", "serve.sh"}
    v2 = build_context("dockyard/hello:v2")
    assert v2.extra_tags == () and b'VERSION="2"' in v2.tar
    assert len({busybox.content_hash, hello.content_hash, v2.content_hash}) == 3
    assert build_context("hello").content_hash == hello.content_hash  # stable
    with pytest.raises(ValueError):
        image_tag("nginx")
    with pytest.raises(ValueError):
        image_tag("busybox:1")
