"""Which async library runs the current thread, as the module that offloads for it.

Async-side wrappers (iterators, context managers) are driven by whichever loop the
consumer runs: each step asks here. Trio's module is imported on first use only,
which can only happen once Trio is running.
"""

from __future__ import annotations

import sys
from asyncio import _get_running_loop  # pyright: ignore[reportPrivateUsage]
from typing import Any

from . import _asyncio
from ._detect import _trio_running

_modules = sys.modules
_trio_impl: Any = None


def _trio() -> Any:
    """Our Trio module (``_trio``), imported on first use."""
    global _trio_impl
    if _trio_impl is None:
        from . import _trio as module

        _trio_impl = module
    return _trio_impl


def _running_backend(what: str) -> Any:
    """``_asyncio`` or ``_trio`` for the loop running this thread; else RuntimeError."""
    if _get_running_loop() is not None:
        return _asyncio
    if "trio" in _modules and _trio_running():
        return _trio()
    raise RuntimeError(
        f"{what} is an async object: use it with 'async for'/'async with' inside "
        "asyncio or Trio (no event loop is running in this thread)"
    )


def _current_origin() -> object:
    """The asyncio loop or TrioToken running this thread (loop affinity for workers)."""
    loop = _get_running_loop()
    if loop is not None:
        return loop
    return _modules["trio"].lowlevel.current_trio_token()
