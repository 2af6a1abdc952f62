"""What the tests ask the server: which threads opened connections, which are open.

Every connection Django opens is recorded with the thread that opened it (and kept
alive here, so that a connection nobody closed stays visible instead of being
collected with its thread).
"""

from __future__ import annotations

import os
import threading
from typing import Any

_lock = threading.Lock()
_opened: list[tuple[str, Any]] = []


def track_connection(sender: object, connection: Any, **kwargs: object) -> None:
    """``connection_created`` receiver: remember the connection and its thread."""
    with _lock:
        _opened.append((threading.current_thread().name, connection))


def _db_file_descriptors(db: str) -> int | None:
    """Open descriptors of this process on the database file (None without /proc)."""
    fd_dir = "/proc/self/fd"
    if not os.path.isdir(fd_dir):
        return None
    targets = {os.path.realpath(db), os.path.realpath(db) + "-journal"}
    count = 0
    for fd in os.listdir(fd_dir):
        try:
            if os.readlink(os.path.join(fd_dir, fd)) in targets:
                count += 1
        except OSError:  # closed meanwhile
            pass
    return count


def report(db: str) -> dict[str, Any]:
    """Connections opened (by thread), those still open, descriptors on the file."""
    with _lock:
        opened = list(_opened)
    return {
        "opened": len(opened),
        "opened_on": sorted({name for name, _ in opened}),
        "still_open_on": sorted(name for name, wrapper in opened if wrapper.connection),
        "db_fds": _db_file_descriptors(db),
        "threads": sorted(t.name for t in threading.enumerate()),
    }
