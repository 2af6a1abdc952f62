"""Loop affinity for anyio's worker threads (Starlette's and FastAPI's ``def`` code).

Every ``def`` endpoint and dependency of a Starlette or FastAPI app runs in
``anyio.to_thread.run_sync``: a worker thread that synchronaut did not start, so no
job of ours says which loop it belongs to. anyio knows -- it is how
``anyio.from_thread.run`` gets back to the app's loop -- but its public API does not
hand the loop out: its one way to reach it from the worker is to run a function
there (``anyio.from_thread.run_sync``). So the first async call a worker's job makes
asks the loop, once, for its identity (``_here``: our backend's origin -- the asyncio
loop or the TrioToken, as anyio may run on either -- and its thread), and keeps the
answer in a ContextVar for the rest of that job.

Why a ContextVar, tagged with the worker's thread: anyio runs each job in a fresh
copy of the awaiting task's context, so the answer lives exactly as long as the job,
whatever anyio does with its threads between jobs (Trio's thread cache serves many
runs); the tag keeps a copy that travels on (into a nested call offloaded to another
thread) from claiming that thread for the loop. The answer "not an anyio worker" is
kept the same way, so a plain thread asks anyio once, not on every call.

Why asking is deadlock-free: the question is answered by the loop's thread, which
might be blocked -- then it is answered once that thread is free again, as the bound
call that follows would have to wait for it anyway. It cannot be blocked waiting for
this thread: only a thread running one of our calls can be waited on (a worker
parked in one of our waits serving a thread-sensitive call, say), and such a call
decides its own loop (``_placement``): anyio is only asked for the code anyio runs.
A bound call that would close a cycle later still fails clearly (``_handover``).
The one wait here that is not one of ours, bounded and watched: anyio's, for the
answer. It ends when the loop runs the question, or at once if the loop has closed;
a loop that stopped without closing is not asked (``_loop_stopped``): a worker anyio
abandoned (``abandon_on_cancel=True``) outliving its loop's run would wait on it
forever. Only one asking in the very instant its loop stops would still wait, as
any of anyio's own ``from_thread`` calls would.

Nothing here imports anyio: it is consulted only once something else has imported
it (a Starlette app has), and core never depends on it.
"""

from __future__ import annotations

import sys
from _thread import get_ident
from contextvars import ContextVar

from ._backends import _current_backend
from ._context import _INTERNAL

_modules = sys.modules

#: (worker thread ident, the loop's origin or None, the loop's thread ident): what
#: anyio answered for the current job of that thread (origin None: not a worker).
_asked: ContextVar[tuple[int, object, int | None] | None] = ContextVar(
    "synchronaut_anyio_worker", default=None
)
# Never written back to a caller: it describes the thread that asked, not the caller.
_INTERNAL.add(_asked)


def _here() -> tuple[object, int]:
    """On the loop's thread: its origin (asyncio loop or TrioToken) and its ident."""
    backend = _current_backend()
    if backend is None:  # pragma: no cover - anyio runs this on its loop's thread
        raise RuntimeError("no event loop is running in this thread")
    return backend._current_origin(), get_ident()


def _anyio_origin() -> tuple[object, int | None] | None:
    """The loop whose anyio worker thread this is, and that loop's thread; or None.

    None when anyio is not imported, or this thread is not running an
    ``anyio.to_thread.run_sync`` job, or anyio says its loop has finished.
    """
    if "anyio" not in _modules:
        return None
    me = get_ident()
    asked = _asked.get()
    if asked is not None and asked[0] == me:
        origin = asked[1]
        return None if origin is None else (origin, asked[2])
    origin, ident = _ask_anyio()
    _asked.set((me, origin, ident))
    return None if origin is None else (origin, ident)


def _ask_anyio() -> tuple[object, int | None]:
    """Ask anyio, through its public API, which loop this worker thread serves."""
    # An import statement, not a look in sys.modules: the first workers to ask may
    # do so at once, while one of them is still importing the submodule, and only
    # the import system waits for it to be complete (a module half initialized has
    # no run_sync yet). anyio itself is imported already (the caller checked).
    import anyio.from_thread as from_thread  # pyright: ignore[reportMissingImports]

    if _loop_stopped():
        # anyio would queue the question on a loop that no longer turns and wait for
        # the answer without end (a worker it abandoned, outliving its loop's run).
        return None, None
    try:
        origin, ident = from_thread.run_sync(_here)
    except RuntimeError:
        # Not an anyio worker thread (anyio's NoEventLoopError, a RuntimeError), or
        # its loop has finished (RunFinishedError): no loop to go back to.
        return None, None
    return origin, ident


def _loop_stopped() -> bool:
    """Does anyio's record for this thread name an asyncio loop that is not running?

    anyio's public API refuses a call onto a *closed* loop, but queues one onto a
    loop that merely stopped (``run_until_complete`` returned, the loop kept) and
    waits for it unbounded. Its record of the worker's loop is private
    (``threadlocals.current_token``): read defensively, and anything unexpected
    means "ask" -- this check can only spare a wait, never add one.
    """
    try:
        from anyio._core._eventloop import (  # pyright: ignore[reportMissingImports]
            threadlocals,  # pyright: ignore[reportUnknownVariableType]
        )

        native: object = threadlocals.current_token.native_token  # pyright: ignore
    except Exception:
        return False
    if "asyncio" not in _modules:  # pragma: no cover - anyio imports it
        return False
    import asyncio

    return isinstance(native, asyncio.AbstractEventLoop) and not native.is_running()
