"""What the benchmarks run on: event loops of a chosen type, and the optional peers.

Every peer is imported here, once, behind a ``try``: a missing one becomes ``None``
and its cases are reported as "n/a" instead of failing the run.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


def optional(module: str) -> Any:
    """The module, or ``None`` when it (or something it needs) is not installed."""
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


NO_DECORATOR = "the synchronaut meta-package (the @synchronaut decorator) is not importable"


def missing(name: str) -> str:
    return f"{name} is not installed (uv sync --group bench)"


def loop_factory(kind: str) -> Callable[[], asyncio.AbstractEventLoop]:
    """``uvloop.new_event_loop`` or ``asyncio.new_event_loop``."""
    if kind == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    return asyncio.new_event_loop


def uvloop_available() -> bool:
    return optional("uvloop") is not None


class LoopThread:
    """An event loop of the given kind running forever in a daemon thread.

    The floor of the sync->async cases: ``run_coroutine_threadsafe`` on a loop that is
    already running, which is what synchronaut's background loop is too.
    """

    def __init__(self, kind: str) -> None:
        self.loop = loop_factory(kind)()
        self._ready = threading.Event()
        self.thread = threading.Thread(target=self._main, name=f"bench-{kind}-loop", daemon=True)

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._ready.set)
        self.loop.run_forever()

    def __enter__(self) -> LoopThread:
        self.thread.start()
        self._ready.wait()
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        if not self.thread.is_alive():
            self.loop.close()


@contextmanager
def event_loop(kind: str) -> Iterator[asyncio.AbstractEventLoop]:
    """A loop of ``kind`` for cases that run inside it (``run_until_complete``)."""
    loop = loop_factory(kind)()
    try:
        yield loop
    finally:
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            loop.close()


def run_timed(loop: asyncio.AbstractEventLoop, inner: Callable[[int], Any]) -> Callable[[int], int]:
    """A timer from ``async def inner(n) -> ns``: runs it as a task of ``loop``."""

    def timer(n: int) -> int:
        return loop.run_until_complete(inner(n))

    return timer


def machine() -> dict[str, Any]:
    import platform
    import sys

    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
    }


def versions() -> dict[str, str | None]:
    from importlib import metadata

    out: dict[str, str | None] = {}
    for dist in (
        "synchronaut-core",
        "synchronaut-batch",
        "synchronaut",
        "uvloop",
        "trio",
        "anyio",
        "asgiref",
        "asyncer",
        "greenlet",
        "greenback",
    ):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


# The peers and synchronaut's optional parts, imported once.
asgiref_sync = optional("asgiref.sync")
anyio = optional("anyio")
anyio_from_thread = optional("anyio.from_thread")
anyio_to_thread = optional("anyio.to_thread")
asyncer = optional("asyncer")
greenlet = optional("greenlet")  # inline mode's own dependency (the inline extra)
greenback = optional("greenback")
synchronaut_meta = optional("synchronaut")
synchronaut_batch = optional("synchronaut_batch")


def decorator() -> Any:
    """The ``@synchronaut`` decorator, or ``None`` while the meta-package is missing."""
    return getattr(synchronaut_meta, "synchronaut", None)


def parallel_map() -> Any:
    return getattr(synchronaut_batch, "parallel_map", None)
