"""Loop affinity for anyio's worker threads (``anyio.to_thread.run_sync``).

Starlette and FastAPI run every ``def`` endpoint and dependency there: async code that
such a thread calls through synchronaut must run on the app's loop (where its locks,
pools and clients live), as ``anyio.from_thread.run`` would -- not on synchronaut's
background loop. Without anyio imported nothing changes, and anyio is never imported.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread
import pytest
import trio
from support_backends import Backend

from synchronaut_core import (
    call_any,
    call_sync,
    current_async_library,
    get_default_executor,
    synchronaut,
)


def _origin() -> object:
    """The loop (asyncio) or TrioToken (Trio) running this thread."""
    if current_async_library() == "trio":
        return trio.lowlevel.current_trio_token()
    return asyncio.get_running_loop()


async def _where() -> object:
    return _origin()


@synchronaut
async def decorated_where() -> object:
    return _origin()


@synchronaut
async def decorated_agen() -> Any:
    for _ in range(3):
        yield _origin()


def test_a_worker_threads_async_calls_run_on_its_loop(backend: Backend) -> None:
    """call_any, call_sync, a decorated async def and an async generator all go home."""

    def in_worker() -> list[object]:
        return [
            call_any(_where),
            call_sync(_where),
            decorated_where(),
            decorated_where.sync(),
            *decorated_agen(),  # each step on the loop too
        ]

    async def main() -> None:
        home = _origin()
        seen = await anyio.to_thread.run_sync(in_worker)
        assert seen == [home] * 7

    backend.run(main)


def test_a_loop_bound_lock_is_shared_with_the_loops_own_tasks(backend: Backend) -> None:
    """The point of affinity: an object bound to the app's loop works from its workers.

    A lock held by a task of the loop while worker threads wait for it: on another
    loop, waiting on it raises (asyncio: "bound to a different event loop"; Trio: a
    lock of another run).
    """

    async def main() -> None:
        lock = trio.Lock() if backend.library == "trio" else asyncio.Lock()
        order: list[str] = []

        async def critical(who: str) -> None:
            async with lock:
                order.append(who)

        def worker(who: str) -> None:
            # (On another loop the lock would bind itself to that loop as its first
            # waiter, and the holder's wake-up would never reach it: a hang, bounded.)
            call_any(critical, who, timeout=10)

        async def hold_then_release() -> None:
            async with lock:
                await backend.sleep(0.05)  # the workers queue up behind us meanwhile
                order.append("holder")

        async def run_worker(who: str) -> None:
            await anyio.to_thread.run_sync(worker, who)

        await backend.gather(
            [hold_then_release, *(lambda w=f"w{i}": run_worker(w) for i in range(8))]
        )
        assert sorted(order) == sorted(["holder", *(f"w{i}" for i in range(8))])

    backend.run(main)


def test_asking_anyio_once_per_job(monkeypatch: pytest.MonkeyPatch) -> None:
    """anyio is asked once per worker job (then the answer is kept for that job)."""
    asked: list[int] = []
    real = anyio.from_thread.run_sync

    def counting(func: Callable[[], Any], *args: Any, **kwargs: Any) -> Any:
        asked.append(threading.get_ident())
        return real(func, *args, **kwargs)

    monkeypatch.setattr(anyio.from_thread, "run_sync", counting)

    def five_calls() -> None:
        for _ in range(5):
            call_any(_where)

    async def main() -> None:
        await anyio.to_thread.run_sync(five_calls)
        assert len(asked) == 1
        await anyio.to_thread.run_sync(five_calls)  # a new job: asked again
        assert len(asked) == 2
        # Our own pool's workers are never anyio's: they do not ask.
        await asyncio.wrap_future(get_default_executor().submit(five_calls))
        assert len(asked) == 2

    asyncio.run(main())
    thread = threading.Thread(target=five_calls)  # a plain thread asks once
    thread.start()
    thread.join()
    assert len(asked) == 3


def test_threads_anyio_did_not_start_keep_the_background_loop() -> None:
    """A plain thread, a copy of a worker's context on another thread, and
    asyncio.to_thread (no public way to name its loop; see the README) get the
    background loop, as before."""

    async def main() -> None:
        home = asyncio.get_running_loop()

        def plain_thread() -> object:
            box: list[object] = []
            thread = threading.Thread(target=lambda: box.append(call_any(_where)))
            thread.start()
            thread.join()
            return box[0]

        def context_copy_elsewhere() -> object:
            assert call_any(_where) is home  # the answer is now in this job's context
            ctx = contextvars.copy_context()
            box: list[object] = []
            thread = threading.Thread(target=ctx.run, args=(lambda: box.append(call_any(_where)),))
            thread.start()
            thread.join()
            return box[0]

        for loop in (
            await anyio.to_thread.run_sync(plain_thread),
            await anyio.to_thread.run_sync(context_copy_elsewhere),
            await asyncio.to_thread(call_any, _where),
        ):
            assert isinstance(loop, asyncio.AbstractEventLoop)
            assert loop is not home

    asyncio.run(main())


def test_the_worker_waits_for_its_loop_while_that_loop_is_blocked() -> None:
    """A loop blocked in an unrelated call is waited for, not left: the worker's
    coroutine still runs on it, once it is free (as for synchronaut's own offloads)."""

    async def main() -> None:
        home = asyncio.get_running_loop()
        in_worker = threading.Event()
        loop_blocked = threading.Event()

        def worker() -> object:
            in_worker.set()
            loop_blocked.wait(5)
            return call_any(_where)  # asks the blocked loop, then runs there

        async def blocking_for_a_while() -> None:
            loop_blocked.set()
            await asyncio.sleep(0.2)

        job = asyncio.ensure_future(anyio.to_thread.run_sync(worker))
        while not in_worker.is_set():
            await asyncio.sleep(0.001)
        call_sync(blocking_for_a_while)  # this loop's thread blocks meanwhile
        assert await job is home

    asyncio.run(main())


def test_calls_the_worker_serves_while_it_waits_decide_their_own_loop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The threading model's rules hold for anyio's workers as for ours.

    The worker blocks on a coroutine of its loop, which blocks the loop's thread on a
    pool worker making a thread-sensitive call, which the waiting worker serves. That
    served call is ours:
    a coroutine it calls is movable and runs elsewhere (its caller is the blocked
    loop's thread, a sync caller); a step of an async generator the worker made
    earlier is bound to the loop, which waits for this very thread: a clear
    RuntimeError instead of a hang. Same outcomes as when synchronaut itself
    offloaded the worker's call.
    """

    async def leaf() -> str:
        return "done"

    async def agen() -> Any:
        yield 1

    def make_worker(bound: bool) -> Callable[[], Any]:
        def worker() -> Any:
            steps = call_any(agen)  # pinned to the worker's loop: every step runs there

            def served_by_worker() -> Any:
                return next(steps) if bound else call_any(leaf)

            def in_a_pool_worker() -> Any:
                # Below the worker's wait: a thread-sensitive call comes back to it.
                return call_sync(served_by_worker, thread_sensitive=True)

            async def blocks_its_loop() -> Any:
                # The loop's thread waits for a pool worker, which waits for ours.
                return call_sync(in_a_pool_worker, timeout=30)

            try:
                return call_sync(blocks_its_loop)
            finally:
                steps.close()

        return worker

    async def main() -> None:
        for offload in (anyio.to_thread.run_sync, call_any):
            assert await offload(make_worker(bound=False)) == "done"
            with pytest.raises(RuntimeError, match="blocked waiting for this thread"):
                await offload(make_worker(bound=True))

    with caplog.at_level(logging.CRITICAL, logger="synchronaut"):  # the stall warnings
        asyncio.run(main())


def test_affinity_under_anyio_with_the_trio_backend() -> None:
    """anyio itself running on Trio: its workers' coroutines go to that Trio run."""

    async def main() -> None:
        home = trio.lowlevel.current_trio_token()
        seen = await anyio.to_thread.run_sync(lambda: call_any(_where))
        assert seen == home

    anyio.run(main, backend="trio")


def test_anyio_is_never_imported_by_synchronaut() -> None:
    code = textwrap.dedent(
        """
        import asyncio, sys, threading
        from synchronaut_core import call_any, call_sync

        async def answer():
            return 42

        async def main():
            return await asyncio.to_thread(call_sync, answer)

        assert call_any(answer) == 42
        thread = threading.Thread(target=call_any, args=(answer,))
        thread.start(); thread.join()
        assert asyncio.run(main()) == 42
        assert "anyio" not in sys.modules, "synchronaut imported anyio"
        print("ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


_FIRST_ASKS = textwrap.dedent(
    """
    import asyncio, sys, threading
    import anyio, anyio.to_thread
    assert "anyio.from_thread" not in sys.modules
    from synchronaut_core import call_any

    async def where():
        return asyncio.get_running_loop()

    async def main():
        home = asyncio.get_running_loop()
        gate = threading.Barrier(16)

        def worker():
            gate.wait(10)
            return call_any(where)  # 16 first asks at once

        limiter = anyio.CapacityLimiter(16)
        seen = await asyncio.gather(
            *(anyio.to_thread.run_sync(worker, limiter=limiter) for _ in range(16))
        )
        assert all(loop is home for loop in seen)
        print("ok")

    asyncio.run(main())
    """
)


def test_many_workers_asking_anyio_for_the_first_time_at_once() -> None:
    """Found under load with Starlette: the first workers to ask did so while one of
    them was still importing anyio.from_thread, and got the half-made module
    (AttributeError: no run_sync). Each run is a fresh process, where nothing has
    imported that module yet."""
    for _ in range(3):
        result = subprocess.run(
            [sys.executable, "-c", _FIRST_ASKS],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        assert result.stdout.strip() == "ok"
