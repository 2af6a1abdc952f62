"""call_any keeps nothing: no references to callees, flat memory and thread count."""

from __future__ import annotations

import asyncio
import gc
import threading
import tracemalloc
import weakref

from synchronaut_core import WorkerPool, call_any, get_default_executor


class Callee:
    def __call__(self, x: int) -> int:
        return x


class AsyncCallee:
    async def __call__(self, x: int) -> int:
        return x


def test_no_reference_to_called_functions_is_kept(backend) -> None:
    refs = []
    for factory, kwargs in ((Callee, {}), (Callee, {"timeout": 5}), (AsyncCallee, {})):
        func = factory()
        assert call_any(func, 1, **kwargs) == 1
        refs.append(weakref.ref(func))
        del func

    async def main() -> None:
        for factory in (Callee, AsyncCallee):
            func = factory()
            assert await call_any(func, 2) == 2
            refs.append(weakref.ref(func))
            del func

    backend.run(main)
    gc.collect()
    assert [ref() for ref in refs] == [None] * len(refs)


def measure(calls: int, step) -> tuple[int, int]:
    """Memory growth from the first 10% of the calls to the end, and threads it added.

    Threads are counted as those alive at the end that were not alive before (not a
    difference of counts: a thread left by an earlier test in this worker, an idle pool
    worker timing out, may end during the measurement).
    """
    for i in range(calls // 10):
        step(i)
    gc.collect()
    tracemalloc.start()
    threads_before = set(threading.enumerate())
    before = tracemalloc.get_traced_memory()[0]
    for i in range(calls // 10, calls):
        step(i)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return after - before, len(set(threading.enumerate()) - threads_before)


def test_100k_sync_calls_leave_memory_and_threads_flat() -> None:
    def add(a: int, b: int) -> int:
        return a + b

    growth, threads = measure(100_000, lambda i: call_any(add, i, 1))
    assert growth < 64 * 1024
    assert threads == 0


def test_sync_to_async_calls_leave_memory_and_threads_flat() -> None:
    async def add(a: int, b: int) -> int:
        return a + b

    growth, threads = measure(5_000, lambda i: call_any(add, i, 1))
    assert growth < 256 * 1024
    assert threads == 0


def test_offloads_leave_memory_and_threads_flat() -> None:
    assert isinstance(get_default_executor(), WorkerPool)

    def add(a: int, b: int) -> int:
        return a + b

    async def batch(i: int) -> None:
        for j in range(100):
            await call_any(add, i, j)

    loop = asyncio.new_event_loop()
    try:
        growth, threads = measure(100, lambda i: loop.run_until_complete(batch(i)))
    finally:
        loop.close()
    assert growth < 256 * 1024
    # A worker that is still finishing when the next call arrives makes the pool
    # start another one, so the count may creep up to the pool's size, never past it.
    assert threads <= get_default_executor().max_workers
