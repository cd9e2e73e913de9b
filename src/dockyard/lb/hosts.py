"""Load balancers' DNS names in the hosts file, so `<name>-<id>.<region>.elb.localhost` resolves.

glibc resolves through /etc/hosts first (`hosts: files dns`), so Python, wget and most programs
find a load balancer's own address there. Each server keeps one marked block, owned by its load
balancer directory, rewritten in place under an exclusive lock (the file may be a bind mount):

```
# BEGIN dockyard load balancers /root/.local/share/dockyard/lb
127.0.200.1 web-0123456789abcdef.us-east-1.elb.localhost
# END dockyard load balancers /root/.local/share/dockyard/lb
```
Blocks whose owner directory no longer exists (a test server that was killed) are dropped. curl
resolves `*.localhost` to 127.0.0.1 by itself, without the hosts file: the `localhost.<port>`
frontends serve those requests by Host header (config.py).
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path

__all__ = ["HostsFile", "rewrite"]

log = logging.getLogger(__name__)

_BEGIN = "# BEGIN dockyard load balancers "
_END = "# END dockyard load balancers "


def rewrite(text: str, owner: str, entries: Mapping[str, str], *, exists: Callable[[str], bool]) -> str:
    """`text` with `owner`'s block holding `entries` (name -> address); stale blocks dropped."""
    kept: list[str] = []
    skipping: str | None = None
    for line in text.splitlines():
        if skipping is not None:
            if line == _END + skipping:
                skipping = None
            continue
        if line.startswith(_BEGIN):
            block_owner = line[len(_BEGIN) :]
            if block_owner == owner or not exists(block_owner):
                skipping = block_owner
                continue
        kept.append(line)
    if entries:
        kept.append(_BEGIN + owner)
        kept += [f"{address} {name}" for name, address in sorted(entries.items())]
        kept.append(_END + owner)
    return "\n".join(kept) + "\n" if kept else ""


class HostsFile:
    def __init__(self, path: Path | None, owner: Path) -> None:
        self._path = path
        self._owner = str(owner)
        self._written: dict[str, str] | None = None

    def update(self, entries: Mapping[str, str]) -> None:
        """Make the block hold exactly `entries`; nothing is written when nothing changed."""
        wanted = dict(entries)
        if self._path is None or wanted == self._written:
            return
        try:
            with open(self._path, "r+") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                current = handle.read()
                updated = rewrite(current, self._owner, wanted, exists=os.path.isdir)
                if updated != current:
                    handle.seek(0)
                    handle.write(updated)
                    handle.truncate()
        except OSError as exc:
            log.warning(
                "cannot write load balancer names to %s (%s): they resolve only where set by hand",
                self._path,
                exc.strerror or exc,
            )
            self._path = None
            return
        self._written = wanted

    def remove(self) -> None:
        self.update({})
