"""Running test code in threads that cannot hang the test."""

from __future__ import annotations

import threading
from typing import Any


def in_thread(fn: Any, bound: float = 30) -> Any:
    """Run ``fn`` in a daemon thread; fail (not hang) if it has not returned in time.

    Returns its value, or raises what it raised.
    """
    result: list[Any] = []

    def target() -> None:
        try:
            result.append(("ok", fn()))
        except BaseException as exc:
            result.append(("error", exc))

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(bound)
    assert not thread.is_alive(), f"{fn} did not return within {bound}s: deadlock"
    kind, value = result[0]
    if kind == "error":
        raise value
    return value
