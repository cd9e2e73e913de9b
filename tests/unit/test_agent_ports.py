"""HostPortAllocator: ECS's sequential, wrapping dynamic host port scan, with real binds on loopback."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.agent.ports import (
    DEFAULT_PORT_RANGE,
    DEFAULT_RESERVED_PORTS,
    HostPortAllocator,
    HostPortUnavailable,
    kernel_port_range,
    port_is_free,
)

ADDR = "127.0.0.7"
OTHER = "127.0.0.8"


def _free_block(size: int, address: str = ADDR) -> int:
    """A base port such that [base, base+size) is free on `address` right now (tcp and udp)."""
    for base in range(41000, 60000, size + 3):
        if all(port_is_free(address, p, proto) for p in range(base, base + size) for proto in ("tcp", "udp")):
            return base
    raise RuntimeError("no free block of ports on loopback")


@pytest.fixture
def base() -> int:
    return _free_block(12)


@pytest.fixture
def listener(base: int) -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((ADDR, base + 1))
    sock.listen()
    yield sock
    sock.close()


def test_sequential_from_start_of_range(base: int) -> None:
    alloc = HostPortAllocator(ADDR, port_range=(base, base + 9))
    assert [alloc.allocate() for _ in range(3)] == [base, base + 1, base + 2]
    assert alloc.in_use() == {base, base + 1, base + 2}


def test_continues_after_last_handed_out_even_when_earlier_released(base: int) -> None:
    alloc = HostPortAllocator(ADDR, port_range=(base, base + 9))
    first = alloc.allocate()
    alloc.allocate()
    alloc.release(first)
    assert alloc.allocate() == base + 2  # does not go back to the released port yet


def test_wraps_to_start_when_top_exhausted(base: int) -> None:
    alloc = HostPortAllocator(ADDR, port_range=(base, base + 2))
    ports = [alloc.allocate() for _ in range(3)]
    assert ports == [base, base + 1, base + 2]
    alloc.release(base + 1)
    assert alloc.allocate() == base + 1


def test_after_top_of_range_starts_again_at_bottom(base: int) -> None:
    alloc = HostPortAllocator(ADDR, port_range=(base, base + 2))
    alloc.mark_used([base + 1])
    assert alloc.allocate() == base
    assert alloc.allocate() == base + 2
    alloc.release(base)
    assert alloc.allocate() == base


def test_exhausted_range_raises_agent_message(base: int) -> None:
    alloc = HostPortAllocator(ADDR, port_range=(base, base + 1))
    alloc.allocate()
    alloc.allocate()
    with pytest.raises(HostPortUnavailable, match="^a host port is unavailable$"):
        alloc.allocate()


def test_skips_port_bound_by_another_process(base: int, listener: socket.socket) -> None:
    alloc = HostPortAllocator(ADDR, port_range=(base, base + 9))
    assert alloc.allocate() == base
    assert alloc.allocate() == base + 2  # base+1 is held by a real listener on ADDR


def test_port_bound_on_other_loopback_address_is_free_here(base: int) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((OTHER, base))
    sock.listen()
    try:
        assert not port_is_free(OTHER, base)
        assert port_is_free(ADDR, base)
        assert HostPortAllocator(ADDR, port_range=(base, base + 3)).allocate() == base
    finally:
        sock.close()


def test_tcp_listener_does_not_block_udp(base: int, listener: socket.socket) -> None:
    alloc = HostPortAllocator(ADDR, port_range=(base + 1, base + 3))
    assert alloc.allocate("udp") == base + 1
    assert alloc.allocate("tcp") == base + 2


def test_protocols_tracked_separately(base: int) -> None:
    alloc = HostPortAllocator(ADDR, port_range=(base, base + 3))
    alloc.mark_used([base], protocol="tcp")
    assert alloc.in_use("udp") == frozenset()
    assert alloc.allocate("udp") == base
    alloc.release(base)  # both protocols
    assert alloc.in_use("tcp") == frozenset() and alloc.in_use("udp") == frozenset()


def test_skips_reserved_ports(base: int) -> None:
    alloc = HostPortAllocator(ADDR, port_range=(base, base + 5), reserved={base, base + 1})
    assert alloc.allocate() == base + 2


def test_default_reserved_ports_are_ecs_defaults() -> None:
    assert DEFAULT_RESERVED_PORTS == {22, 2375, 2376, 51678, 51679}
    alloc = HostPortAllocator(ADDR, port_range=(51677, 51681))
    assert alloc.reserved == DEFAULT_RESERVED_PORTS


def test_mark_used_for_reattach(base: int) -> None:
    alloc = HostPortAllocator(ADDR, port_range=(base, base + 5))
    alloc.mark_used([base, base + 1, base + 3])
    assert alloc.allocate() == base + 2
    assert alloc.allocate() == base + 4


def test_contiguous_range(base: int, listener: socket.socket) -> None:
    alloc = HostPortAllocator(ADDR, port_range=(base, base + 9))
    # base+1 is taken by the listener, so the first run of 3 starts at base+2.
    assert alloc.allocate_range(3) == (base + 2, base + 4)
    assert alloc.in_use() == {base + 2, base + 3, base + 4}
    assert alloc.allocate() == base + 5


def test_contiguous_range_unavailable_message(base: int) -> None:
    alloc = HostPortAllocator(ADDR, port_range=(base, base + 3))
    alloc.mark_used([base + 2])
    with pytest.raises(HostPortUnavailable, match="^3 contiguous host ports are unavailable$"):
        alloc.allocate_range(3)


def test_default_range_comes_from_kernel() -> None:
    assert HostPortAllocator(ADDR).port_range == kernel_port_range()


def test_kernel_range_fallback() -> None:
    assert kernel_port_range("/nonexistent/ip_local_port_range") == DEFAULT_PORT_RANGE == (49153, 65535)


def test_kernel_range_parsed(tmp_path: Path) -> None:
    path = tmp_path / "range"
    path.write_text("32768\t60999\n")
    assert kernel_port_range(str(path)) == (32768, 60999)
    path.write_text("garbage")
    assert kernel_port_range(str(path)) == DEFAULT_PORT_RANGE


@pytest.mark.parametrize("bad", [(0, 10), (10, 5), (1, 70000)])
def test_invalid_range_rejected(bad: tuple[int, int]) -> None:
    with pytest.raises(ValueError):
        HostPortAllocator(ADDR, port_range=bad)


def test_invalid_protocol_rejected() -> None:
    with pytest.raises(ValueError):
        HostPortAllocator(ADDR, port_range=(40000, 40010)).allocate("sctp")
