"""``WorkerPool.shutdown(wait=True)`` from work a blocked worker waits for does not hang.

Found by an adversarial review, and fixed; what it found:

``WorkerPool.shutdown(wait=True)`` called from work a blocked worker waits for hangs.

Worker A runs ``outer``, which blocks in a nested call on worker B of the same pool;
B calls ``pool.shutdown()`` (``wait=True``). ``shutdown`` skips only the *current*
worker (``_pool.py``: ``if worker.thread is not current: _wait_for(worker.finished)``)
and waits for A, which waits for B: a deadlock, through the one kind of wait the
library says cannot form a cycle ("``shutdown()`` never joins a thread that waits on
it" is true of the loop's ``shutdown()``, not of the pool's). The docstring also says
``wait=True`` returns "at once on a worker thread of this pool", which is not what
the code does: it waits for every other worker.

Expected: ``shutdown(wait=True)`` does not wait for a worker whose wait chain leads
back to the calling thread (``_waits._closes_cycle(worker.thread.ident)``), as
``_LoopThread.stop`` already does; the docstring says what happens.
"""

from __future__ import annotations

from support_threads import in_thread

from synchronaut_core import CallOptions, WorkerPool, call_any


def test_shutdown_from_a_nested_offloaded_call_does_not_wait_for_its_waiting_caller() -> None:
    pool = WorkerPool(4)
    offload = CallOptions(executor=pool, force_offload=True)

    def closer() -> str:
        pool.shutdown(wait=True)
        return "closed"

    def outer() -> str:
        return offload(closer)

    assert in_thread(lambda: offload(outer)) == "closed"


def test_shutdown_from_a_nested_call_through_async_code_does_not_hang() -> None:
    import asyncio

    pool = WorkerPool(4)
    opts = CallOptions(executor=pool)

    def closer() -> str:
        pool.shutdown(wait=True)
        return "closed"

    async def middle() -> str:
        return await opts(closer)

    def outer() -> str:
        return call_any(middle)

    async def main() -> str:
        return await opts(outer)

    assert in_thread(lambda: asyncio.run(main())) == "closed"
