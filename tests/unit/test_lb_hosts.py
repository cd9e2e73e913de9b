"""The marked block of load balancer names in a hosts file."""

from __future__ import annotations

from pathlib import Path

from dockyard.lb.hosts import HostsFile, rewrite

BASE = "127.0.0.1 localhost\n"


def test_block_added_replaced_and_removed() -> None:
    added = rewrite(
        BASE,
        "/srv/lb",
        {"b.elb.localhost": "127.0.200.2", "a.elb.localhost": "127.0.200.1"},
        exists=lambda _: True,
    )
    assert added == (
        "127.0.0.1 localhost\n"
        "# BEGIN dockyard load balancers /srv/lb\n"
        "127.0.200.1 a.elb.localhost\n"
        "127.0.200.2 b.elb.localhost\n"
        "# END dockyard load balancers /srv/lb\n"
    )
    replaced = rewrite(added, "/srv/lb", {"c.elb.localhost": "127.0.200.3"}, exists=lambda _: True)
    assert "a.elb.localhost" not in replaced and "127.0.200.3 c.elb.localhost" in replaced
    assert rewrite(replaced, "/srv/lb", {}, exists=lambda _: True) == BASE


def test_other_servers_blocks_kept_unless_their_directory_is_gone() -> None:
    other = rewrite(BASE, "/other", {"o.elb.localhost": "127.0.200.9"}, exists=lambda _: True)
    kept = rewrite(
        other, "/srv/lb", {"a.elb.localhost": "127.0.200.1"}, exists=lambda owner: owner == "/other"
    )
    assert "o.elb.localhost" in kept and "a.elb.localhost" in kept
    dropped = rewrite(other, "/srv/lb", {}, exists=lambda owner: False)
    assert dropped == BASE


def test_hosts_file_written_in_place_and_only_on_change(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"
    hosts.write_text(BASE)
    inode = hosts.stat().st_ino
    names = HostsFile(hosts, tmp_path)
    names.update({"a.elb.localhost": "127.0.200.1"})
    assert "127.0.200.1 a.elb.localhost" in hosts.read_text()
    assert hosts.stat().st_ino == inode  # rewritten in place: /etc/hosts may be a bind mount
    hosts.write_text(BASE)
    names.update({"a.elb.localhost": "127.0.200.1"})  # unchanged: not written again
    assert hosts.read_text() == BASE
    names.remove()
    assert hosts.read_text() == BASE


def test_unwritable_hosts_file_is_given_up_quietly(tmp_path: Path) -> None:
    names = HostsFile(tmp_path / "missing" / "hosts", tmp_path)
    names.update({"a.elb.localhost": "127.0.200.1"})
    names.update({"b.elb.localhost": "127.0.200.2"})
    assert not (tmp_path / "missing").exists()
