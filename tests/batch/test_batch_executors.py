"""Any concurrent.futures.Executor runs a batch's sync calls: threads, processes, Dask.

The process pool uses the "spawn" start method: forking a process that runs threads
(the background loop, pool workers) is unsafe, and Python 3.12+ warns about it.
Functions sent to another process live in ``batch_helpers`` so that they pickle.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

import pytest
from batch_helpers import Mode, cpu_square, dask_worker_address, fail_with, whoami

from synchronaut_batch import call_map, parallel_iter, parallel_map


def test_a_thread_pool_runs_the_sync_calls(mode: Mode) -> None:
    def where(i: int) -> tuple[int, str]:
        return i, threading.current_thread().name

    with ThreadPoolExecutor(4, thread_name_prefix="given-pool") as pool:
        calls = [(where, (i,), {}, None) for i in range(8)]
        results = mode.call(lambda: parallel_map(calls, executor=pool))

    assert [i for i, _ in results] == list(range(8))
    assert all(name.startswith("given-pool") for _, name in results)


@pytest.fixture(scope="module")
def process_pool() -> Iterator[Executor]:
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield pool


def test_a_process_pool_runs_cpu_bound_calls_in_other_processes(
    mode: Mode, process_pool: Executor
) -> None:
    calls = [(cpu_square, (n,), {}, None) for n in range(12)]
    calls += [(whoami, (n,), {}, 30.0) for n in range(4)]  # type: ignore[misc]

    results = mode.call(lambda: parallel_map(calls, executor=process_pool))

    assert results[:12] == [n * n for n in range(12)]
    assert [tag for tag, _ in results[12:]] == list(range(4))
    assert all(pid != os.getpid() for _, pid in results[12:])


def test_a_process_pool_failure_is_returned_in_its_position(
    mode: Mode, process_pool: Executor
) -> None:
    calls: list[Any] = [(cpu_square, (3,), {}, None), (fail_with, ("in a child",), {}, None)]

    results = mode.call(lambda: parallel_map(calls, executor=process_pool, return_exceptions=True))

    assert results[0] == 9
    assert isinstance(results[1], ValueError)
    assert str(results[1]) == "in a child"


def test_parallel_iter_and_call_map_use_the_process_pool(process_pool: Executor) -> None:
    calls = [(cpu_square, (n,), {}, None) for n in range(6)]

    assert sorted(parallel_iter(calls, executor=process_pool, max_concurrency=2)) == [
        (n, n * n) for n in range(6)
    ]
    pids = call_map([whoami, whoami], 7, executor=process_pool, timeout=30.0)
    assert all(tag == 7 and pid != os.getpid() for tag, pid in pids)


#: Scheduler and workers on 127.0.0.1 only; no dashboard, and the scheduler's small
#: HTTP server (health, metrics) on a free port rather than the default 8787, so that
#: two clusters (or two xdist workers) never collide.
LOOPBACK_NO_DASHBOARD: dict[str, Any] = {
    "host": "127.0.0.1",
    "dashboard_address": None,
    "scheduler_kwargs": {"dashboard_address": "127.0.0.1:0"},
}


@pytest.fixture(scope="module")
def dask_executor() -> Iterator[Executor]:
    distributed = pytest.importorskip("distributed")
    # A local cluster over TCP on the loopback interface (any free port), no dashboard,
    # workers as threads of this process: started here, closed at the end of the module.
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
        yield client.get_executor()


def test_a_dask_cluster_runs_the_sync_calls(mode: Mode, dask_executor: Executor) -> None:
    calls = [(dask_worker_address, (i,), {}, 30.0) for i in range(6)]
    calls += [(cpu_square, (n,), {}, None) for n in range(6)]  # type: ignore[misc]

    results = mode.call(lambda: parallel_map(calls, executor=dask_executor))

    assert [tag for tag, _ in results[:6]] == list(range(6))
    assert all(address.startswith("tcp://127.0.0.1:") for _, address in results[:6])
    assert results[6:] == [n * n for n in range(6)]


def test_a_dask_failure_is_returned_in_its_position(mode: Mode, dask_executor: Executor) -> None:
    calls: list[Any] = [(cpu_square, (4,), {}, None), (fail_with, ("on dask",), {}, None)]

    results = mode.call(lambda: parallel_map(calls, executor=dask_executor, return_exceptions=True))

    assert results[0] == 16
    assert isinstance(results[1], ValueError)
    assert str(results[1]) == "on dask"


def test_a_dask_cluster_of_worker_processes_runs_the_sync_calls() -> None:
    # The real shape of "outgrows one machine": calls pickled to worker processes
    # over TCP (loopback here). One mode only: starting processes is the slow part.
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=1,
            threads_per_worker=2,
            processes=True,
            **LOOPBACK_NO_DASHBOARD,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        calls = [(whoami, (i,), {}, 60.0) for i in range(4)]
        results = parallel_map(calls, executor=client.get_executor())

    assert [tag for tag, _ in results] == list(range(4))
    assert all(pid != os.getpid() for _, pid in results)
