"""Offloaded sync work goes to the given executor, or to a replaceable default pool."""

from __future__ import annotations

import asyncio
import contextvars
import os
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest

from synchronaut_core import (
    WorkerPool,
    call_any,
    get_default_executor,
    set_default_executor,
)

var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")


def thread_name() -> str:
    return threading.current_thread().name


def read_var() -> str:
    return var.get()


def square(x: int) -> int:
    return x * x


def test_default_executor_is_a_shared_pool_sized_like_the_stdlib() -> None:
    pool = get_default_executor()
    assert pool is get_default_executor()
    assert isinstance(pool, WorkerPool)
    cpus = getattr(os, "process_cpu_count", os.cpu_count)() or 1
    assert pool.max_workers == min(32, cpus + 4)


def test_custom_executor_runs_the_offloaded_calls(backend) -> None:
    with ThreadPoolExecutor(2, thread_name_prefix="custom") as pool:
        assert call_any(thread_name, executor=pool, timeout=5).startswith("custom")

        async def main() -> str:
            return await call_any(thread_name, executor=pool)

        assert backend.run(main).startswith("custom")


def test_contextvars_cross_into_any_thread_executor(backend) -> None:
    with ThreadPoolExecutor(1) as pool:

        async def main() -> str:
            var.set("from-task")
            return await call_any(read_var, executor=pool)

        assert backend.run(main) == "from-task"


def test_set_default_executor_replaces_and_restores() -> None:
    original = get_default_executor()
    with ThreadPoolExecutor(1, thread_name_prefix="replacement") as pool:
        set_default_executor(pool)
        try:
            assert call_any(thread_name, force_offload=True).startswith("replacement")
        finally:
            set_default_executor(None)
    fresh = get_default_executor()
    assert fresh is not pool
    assert fresh is not original  # ours was shut down when replaced
    assert call_any(thread_name, force_offload=True).startswith("synchronaut-worker")


def test_set_default_executor_rejects_non_executors() -> None:
    with pytest.raises(TypeError, match="concurrent.futures.Executor"):
        set_default_executor("pool")  # type: ignore[arg-type]


def test_closed_executor_gives_a_clear_runtime_error(backend) -> None:
    pool = ThreadPoolExecutor(1)
    pool.shutdown()
    with pytest.raises(RuntimeError, match="is shut down"):
        call_any(thread_name, executor=pool, timeout=1)

    async def main() -> None:
        with pytest.raises(RuntimeError, match="is shut down"):
            await call_any(thread_name, executor=pool)

    backend.run(main)


def test_process_pool_receives_the_plain_function() -> None:
    with ProcessPoolExecutor(1) as pool:
        assert call_any(square, 7, executor=pool, timeout=30) == 49

        async def main() -> int:
            return await call_any(square, 8, executor=pool)

        assert asyncio.run(main()) == 64


def test_worker_pool_is_a_usable_executor() -> None:
    pool = WorkerPool(2, thread_name_prefix="wp")
    try:
        assert pool.submit(square, 3).result(5) == 9
        assert list(pool.map(square, [1, 2, 3])) == [1, 4, 9]
        assert pool.submit(thread_name).result(5).startswith("wp-")
        assert all(t.daemon for t in threading.enumerate() if t.name.startswith("wp-"))
    finally:
        pool.shutdown()
    with pytest.raises(RuntimeError):
        pool.submit(square, 1)


def test_worker_pool_bounds_concurrency_and_cancels_queued_futures() -> None:
    pool = WorkerPool(1)
    gate = threading.Event()
    try:
        first = pool.submit(gate.wait, 5)
        queued = pool.submit(square, 2)
        pool.shutdown(wait=False, cancel_futures=True)
        assert queued.cancelled()
        gate.set()
        assert first.result(5) is True
    finally:
        gate.set()


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_worker_pool_rejects_bad_sizes(bad) -> None:
    with pytest.raises((TypeError, ValueError)):
        WorkerPool(bad)
