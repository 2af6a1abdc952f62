"""Decorated functions in other processes: ``ProcessPoolExecutor`` and a Dask cluster.

A decorated function pickles by reference, like a ``functools.wraps`` function, so a
pool can send it to a child (``submit``, ``map``), ``call_any(decorated, ...,
executor=pool)`` can offload it there, and ``@synchronaut(executor=pool)`` works on a
module-level function: the child gets a function it can call, never a wrapper that
would offload again. The functions live in ``picklable_funcs`` (the children import
it); each returns ``(value, pid, parent's pid)``. Pools use the "spawn" start method.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any, cast

import pytest
from picklable_funcs import (
    PROCESS_POOL,
    Squarer,
    Where,
    async_square,
    cube_always_in_pool,
    cube_in_pool,
    fail,
    square,
)

from synchronaut import call_any, call_async, call_sync

ME = os.getpid()


def in_a_child(where: Where, value: int) -> None:
    """``where`` says the call gave ``value`` in a child of this process (not deeper)."""
    got, pid, parent = where
    assert got == value
    assert pid != ME, "ran in the test process"
    assert parent == ME, f"ran in process {pid}, whose parent {parent} is not the test"


def here(where: Where, value: int) -> None:
    """``where`` says the call gave ``value`` in this very process."""
    assert where[:2] == (value, ME)


@pytest.fixture(scope="module")
def pool() -> Iterator[ProcessPoolExecutor]:
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield pool


@pytest.fixture(scope="module", autouse=True)
def _stop_the_module_pool() -> Iterator[None]:
    # picklable_funcs.PROCESS_POOL (the executor of cube_in_pool) lives at module
    # level: its processes are stopped when these tests are done.
    yield
    PROCESS_POOL.shutdown(wait=True)


# --- ProcessPoolExecutor -----------------------------------------------------------


def test_a_process_pool_submit_runs_a_decorated_def_in_a_child(pool: Executor) -> None:
    in_a_child(pool.submit(square, 7).result(timeout=60), 49)


def test_a_process_pool_maps_a_decorated_def(pool: Executor) -> None:
    results = list(pool.map(square, range(10), chunksize=3, timeout=60))
    for n, where in enumerate(results):
        in_a_child(where, n * n)


def test_a_process_pool_runs_a_decorated_async_def_on_the_childs_loop(pool: Executor) -> None:
    # Called from the child's plain sync code, the coroutine runs on an event loop
    # there, and the child hands back the value.
    # (Typed for async callers: a coroutine. The child calls it from sync code.)
    in_a_child(cast(Where, pool.submit(async_square, 6).result(timeout=60)), 36)


def test_a_process_pool_runs_a_decorated_method_of_a_picklable_object(pool: Executor) -> None:
    in_a_child(pool.submit(Squarer(5).square_plus, 3).result(timeout=60), 14)


def test_a_decorated_def_failing_in_a_child_raises_in_the_caller(pool: Executor) -> None:
    with pytest.raises(ValueError, match="^in a child$"):
        pool.submit(fail, "in a child").result(timeout=60)


def test_call_any_sends_a_decorated_def_to_a_process_pool_from_async_code(
    pool: Executor, run: Callable[..., Any]
) -> None:
    async def main() -> list[Where]:
        return [
            await call_any(square, 2, executor=pool),
            await call_async(square, 3, executor=pool),
            await call_any(square, 4, executor=pool, timeout=60),
        ]

    for where, value in zip(run(main), [4, 9, 16], strict=True):
        in_a_child(where, value)


def test_call_any_sends_a_decorated_def_to_a_process_pool_from_sync_code(
    pool: Executor,
) -> None:
    # Plain sync code calls a def directly; with force_offload or a timeout it goes to
    # the executor and waits.
    here(call_any(square, 2, executor=pool), 4)
    in_a_child(call_any(square, 3, executor=pool, force_offload=True), 9)
    in_a_child(call_sync(square, 4, executor=pool, timeout=60), 16)
    with pytest.raises(ValueError, match="^offloaded$"):
        call_any(fail, "offloaded", executor=pool, force_offload=True)


def test_a_decorated_def_with_a_process_pool_executor_runs_there_from_async_code(
    run: Callable[..., Any],
) -> None:
    # @synchronaut(executor=ProcessPoolExecutor(...)) on a module-level function: the
    # child is sent something it can run itself (had it been sent the wrapper, it
    # would offload again: picklable_funcs makes that an error).
    async def main() -> list[Where]:
        # Called in async code, a decorated def gives an awaitable (typed for sync
        # callers: ``.async_`` is the typed spelling).
        return [
            await cast(Awaitable[Where], cube_in_pool(2)),
            await cube_in_pool.async_(3),
            await cast(Awaitable[Where], cube_always_in_pool(4)),
        ]

    for where, value in zip(run(main), [8, 27, 64], strict=True):
        in_a_child(where, value)


def test_a_decorated_def_with_a_process_pool_executor_from_sync_code() -> None:
    here(cube_in_pool(2), 8)  # plain sync code: a direct call
    here(cube_in_pool.sync(3), 27)
    in_a_child(cube_always_in_pool(4), 64)  # force_offload: the pool, from sync code too
    in_a_child(cube_always_in_pool.sync(5), 125)


# --- Dask --------------------------------------------------------------------------

#: A cluster on the loopback interface, any free port, no dashboard.
LOOPBACK_NO_DASHBOARD: dict[str, Any] = {
    "host": "127.0.0.1",
    "dashboard_address": None,
    "scheduler_kwargs": {"dashboard_address": "127.0.0.1:0"},
}


@pytest.fixture(scope="module")
def dask_client() -> Iterator[Any]:
    distributed = pytest.importorskip("distributed")
    # Workers as threads of this process (fast to start); tasks still go through
    # the scheduler over TCP, pickled.
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=2,
            processes=False,
            protocol="tcp://",
            scheduler_port=0,
            **LOOPBACK_NO_DASHBOARD,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def test_dask_submit_and_map_run_decorated_functions(dask_client: Any) -> None:
    here(dask_client.submit(square, 3).result(timeout=60), 9)
    results = dask_client.gather(dask_client.map(square, range(6)))
    assert [value for value, _, _ in results] == [n * n for n in range(6)]
    here(cast(Where, dask_client.submit(async_square, 4).result(timeout=60)), 16)
    here(dask_client.submit(Squarer(1).square_plus, 2).result(timeout=60), 5)
    with pytest.raises(ValueError, match="^on dask$"):
        dask_client.submit(fail, "on dask").result(timeout=60)


def test_call_any_sends_a_decorated_def_to_dask(dask_client: Any, run: Callable[..., Any]) -> None:
    executor = dask_client.get_executor()

    async def main() -> list[Where]:
        return [
            await call_any(square, 2, executor=executor),
            await call_async(square, 3, executor=executor),
        ]

    assert [where[0] for where in run(main)] == [4, 9]
    here(call_any(square, 4, executor=executor, force_offload=True), 16)


def test_a_dask_cluster_of_worker_processes_runs_decorated_functions() -> None:
    # The real shape: functions pickled to a worker process over TCP (loopback).
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=True, **LOOPBACK_NO_DASHBOARD
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        in_a_child(client.submit(square, 3).result(timeout=60), 9)
        in_a_child(client.submit(async_square, 4).result(timeout=60), 16)
        in_a_child(client.submit(Squarer(2).square_plus, 3).result(timeout=60), 11)
        executor = client.get_executor()
        in_a_child(call_any(square, 5, executor=executor, force_offload=True), 25)
        in_a_child(call_sync(square, 6, executor=executor, timeout=60), 36)
