"""Which async library runs the current thread: the one typed answer every module asks.

``_current_backend()`` returns the backend module -- ``_asyncio`` or ``_trio``, both
implementing ``_Backend`` -- for the loop running this thread, or None in plain sync
code (worker threads included). Both modules are imported on first use only (so
``import synchronaut_core`` pays for neither): ``_asyncio`` when a loop is first seen
running, Trio's once Trio is running; Trio itself is only consulted once something
else has imported it.
"""

from __future__ import annotations

import sys
from asyncio import _get_running_loop  # pyright: ignore[reportPrivateUsage]
from collections.abc import Callable, Coroutine
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any, Literal, Protocol

from ._detect import _trio_running
from ._first_use import _load_machinery

if TYPE_CHECKING:
    from ._job import _JobRunner

__all__ = ["current_async_library"]

_modules = sys.modules


class _Backend(Protocol):
    """What synchronaut needs of an async library, in its own tasks (asyncio or Trio)."""

    name: Literal["asyncio", "trio"]

    async def _offload(
        self,
        func: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        timeout: float | None,
        executor: Executor | _JobRunner | None,
        name: str,
    ) -> Any:
        """Run sync ``func`` in a worker thread; the calling task waits without blocking."""
        ...

    def _with_timeout(
        self, coro: Coroutine[Any, Any, Any], timeout: float, name: str
    ) -> Coroutine[Any, Any, Any]:
        """Await ``coro`` in the calling task, cancelled after ``timeout`` seconds."""
        ...

    def _current_origin(self) -> object:
        """The loop (or TrioToken) running this thread, for loop affinity."""
        ...


_trio_impl: Any = None


def _trio() -> _Backend:
    """Our Trio module, imported on first use."""
    global _trio_impl
    if _trio_impl is None:
        from . import _trio as module

        _trio_impl = module
    return _trio_impl


_asyncio_impl: Any = None


def _load_asyncio() -> _Backend:
    """Our asyncio module, imported the first time a running loop asks (in that loop's
    thread; the import lock makes two first callers load it once)."""
    global _asyncio_impl
    _load_machinery()  # imports _asyncio with the rest, whole (see _first_use)
    from . import _asyncio as module

    _asyncio_impl = module
    return _asyncio_impl


def _current_backend() -> _Backend | None:
    """The backend whose loop runs this thread; None in plain sync code."""
    if _get_running_loop() is not None:
        return _asyncio_impl or _load_asyncio()
    if "trio" in _modules and _trio_running():
        return _trio()
    return None


def _require_backend(what: str) -> _Backend:
    """``_current_backend()``, or RuntimeError saying ``what`` needs an event loop."""
    backend = _current_backend()
    if backend is None:
        raise RuntimeError(
            f"{what} is an async object: use it with 'async for'/'async with' inside "
            "asyncio or Trio (no event loop is running in this thread)"
        )
    return backend


def current_async_library() -> Literal["asyncio", "trio"] | None:
    """Name the async library whose event loop runs in the calling thread.

    Returns ``"asyncio"`` inside a running asyncio loop (uvloop included), ``"trio"``
    inside ``trio.run``, and ``None`` in plain sync code (worker threads included).
    Never imports Trio: if nobody has imported it, Trio cannot be running.
    """
    backend = _current_backend()
    return None if backend is None else backend.name
