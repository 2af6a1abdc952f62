"""Which loop and which thread run a piece of work: decided here, and only here.

- A coroutine that sync code blocks on runs on the loop that offloaded this thread's
  call, if synchronaut did -- or anyio did (``anyio.to_thread``: Starlette's and
  FastAPI's threadpool, see ``_anyio``) -- and it still runs (*loop affinity*:
  loop-bound objects such as asyncio locks, async DB pools and HTTP sessions -- and
  Trio code -- keep working); else on the shared background loop
  (``_preferred_host``). The background loop is ours and nothing binds a call to
  it: if its thread is parked in a synchronous wait, the coroutine goes to a spare
  loop started for it instead (``_fallback_host``; checked by the call once it is
  published, see ``_loop_calls``) -- a blocked loop may be waiting, through
  coroutines awaiting offloaded calls that no bookkeeping of threads can see, for
  the very work it would have to run. A loop chosen by affinity is the only one
  the coroutine can run on: the call waits for it, unless the chain of waits from
  its thread leads back to the caller (then a clear RuntimeError).
- An async object driven by blocking calls (an async generator, an async context
  manager) is pinned, once, to the loop chosen the same way (``_pin_host``): all its
  steps run there.
- Thread-sensitive sync calls run where ``_sensitive._sensitive_runner`` says: the
  thread waiting on the coroutine they were made below, else a dedicated thread.
- Other offloaded sync calls run in ``executor=`` or the default executor
  (``_executor``); under Trio without an executor, on Trio's own worker threads.
"""

from __future__ import annotations

import asyncio
import logging

from . import _loop
from ._anyio import _anyio_origin
from ._hosts import _ForeignLoop, _LoopHost, _TrioRun
from ._thread_state import _state
from ._waits import _is_blocked

_logger = logging.getLogger("synchronaut")


def _affinity_host() -> _LoopHost | None:
    """The loop this thread's sync code belongs to, if it still runs.

    The loop whose task offloaded the call this thread runs, when synchronaut did;
    else, when this is an anyio worker thread (``anyio.to_thread.run_sync``: every
    ``def`` endpoint and dependency of Starlette and FastAPI), the loop that started
    its current job (see ``_anyio``). Threads of ``asyncio.to_thread`` and
    ``loop.run_in_executor`` belong to no loop that anything public can name: none.
    """
    state = _state
    job = state.job
    if job is not None:
        # A call of ours runs here: its caller decides (None: a sync caller, no loop
        # to go back to -- also when an anyio worker serves it while it waits).
        origin, origin_thread = job.origin, job.origin_thread
        if origin is None:
            return None
    elif state.pool is not None:
        # A worker of one of our pools (running a plain submit()): never one of
        # anyio's threads, and asking anyio would cost microseconds.
        return None
    else:
        # Code that no call of ours runs: anyio's worker threads among it.
        found = _anyio_origin()
        if found is None:
            return None
        origin, origin_thread = found
    if isinstance(origin, asyncio.AbstractEventLoop):
        if origin.is_running() and not origin.is_closed():
            return _ForeignLoop(origin, origin_thread)
        return None
    return _TrioRun(origin, origin_thread)  # a TrioToken (a finished run fails clearly)


def _preferred_host() -> _LoopHost:
    """Where a coroutine that this (sync) thread blocks on should run."""
    host = _affinity_host()
    if host is not None:
        return host
    # _loop._get_background(), its test inlined: every blocking call comes here.
    bg = _loop._background
    if bg is not None and not bg.closing and not bg.loop.is_closed():
        return bg
    return _loop._start_background()


def _fallback_host(name: str) -> tuple[_LoopHost, _loop._LoopThread | None]:
    """The loop for a call whose preferred loop is blocked; and a spare to stop after.

    The background loop if its thread is not parked in a synchronous wait, else a new
    loop in a thread of its own for this call alone (the caller stops it): nothing is
    ever scheduled onto a loop whose thread is blocked -- it might be waiting for the
    very work it would have to run.
    """
    background = _loop._get_background()
    if not _is_blocked(background.ident):
        return background, None
    _logger.warning(
        "synchronaut: blocking call to %s made while synchronaut's loop is itself blocked "
        "in a blocking call (on its own thread); running it on a temporary loop (await "
        "instead to keep the loop free)",
        name,
    )
    spare = _loop._start_spare()
    return spare, spare


def _pin_host(name: str) -> tuple[_LoopHost, _loop._LoopThread | None]:
    """The loop an async object driven from this thread lives on, chosen once.

    Returns the loop and, when one had to be started for the object, the spare loop
    to stop once the object is done with it.
    """
    host = _preferred_host()
    if isinstance(host, _loop._LoopThread) and _is_blocked(host.ident):
        return _fallback_host(name)
    return host, None
