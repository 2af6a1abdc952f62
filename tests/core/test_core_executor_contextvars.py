"""Any in-process executor carries ContextVars both ways; out-of-process ones get the function.

Issue 14, item 9: executors other than ``ThreadPoolExecutor`` (a wrapper around a
pool, an executor starting a thread per call) were sent the plain function, so the
callee did not see the caller's ContextVars and its changes were lost. Now every
executor is taken for in-process unless it is one we know runs calls elsewhere
(``ProcessPoolExecutor`` and its subclasses, Dask's client executor) or it declares
itself with ``synchronaut_in_process = False``; an executor wrongly taken for
in-process fails the call clearly, never silently and never by hanging.
"""

from __future__ import annotations

import asyncio
import contextvars
import multiprocessing
import operator
import pickle
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.thread import BrokenThreadPool
from typing import Any, TypeVar

import pytest
from support_threads import in_thread

from synchronaut_core import WorkerPool, call_any, call_sync

T = TypeVar("T")

var: contextvars.ContextVar[str] = contextvars.ContextVar("executor_var", default="unset")


class DelegatingExecutor(Executor):
    """An executor that hands its calls to a thread pool it wraps (a common shape)."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(2, thread_name_prefix="delegated")

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        return self._pool.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._pool.shutdown(wait, cancel_futures=cancel_futures)


class ThreadPerCallExecutor(Executor):
    """An executor starting a thread for every call, with a Future of its own."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()

        def run() -> None:
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args, **kwargs))
                except BaseException as exc:
                    future.set_exception(exc)

        threading.Thread(target=run, daemon=True).start()
        return future


class SubclassedPool(ThreadPoolExecutor):
    pass


class PicklingExecutor(Executor):
    """Stands for an executor running calls in another process: the call is pickled.

    ``in_background``: pickled on a thread of its own after ``submit`` returned, a
    failure set on the future (as ``ProcessPoolExecutor``'s feeder thread does).
    """

    def __init__(self, in_background: bool = False) -> None:
        self.in_background = in_background

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()

        if not self.in_background:
            pickle.dumps((fn, args, kwargs))  # refused here, in submit

        def ship() -> None:
            try:
                fn2, args2, kwargs2 = pickle.loads(pickle.dumps((fn, args, kwargs)))
            except BaseException as exc:
                future.set_exception(exc)
                return
            future.set_running_or_notify_cancel()
            try:
                # A fresh context, as in another process.
                future.set_result(contextvars.Context().run(fn2, *args2, **kwargs2))
            except BaseException as exc:
                future.set_exception(exc)

        threading.Thread(target=ship, daemon=True).start()
        return future


class DeclaredOutOfProcess(PicklingExecutor):
    synchronaut_in_process = False


def reads_and_sets(value: str) -> str:
    seen = var.get()
    var.set(value)
    return seen


IN_PROCESS: dict[str, Callable[[], Executor]] = {
    "delegating": DelegatingExecutor,
    "thread per call": ThreadPerCallExecutor,
    "ThreadPoolExecutor subclass": lambda: SubclassedPool(2),
    "WorkerPool": lambda: WorkerPool(2),
}


@pytest.fixture(params=list(IN_PROCESS))
def in_process(request: pytest.FixtureRequest) -> Iterator[Executor]:
    executor = IN_PROCESS[request.param]()
    yield executor
    executor.shutdown(wait=True)


def test_in_process_executors_carry_contextvars_both_ways_from_sync_code(
    in_process: Executor,
) -> None:
    def body() -> tuple[str, str, str, str]:
        var.set("caller")
        seen = call_any(reads_and_sets, "callee", executor=in_process, force_offload=True)
        after = var.get()
        var.set("caller again")
        seen_timed = call_sync(reads_and_sets, "timed", executor=in_process, timeout=30)
        return seen, after, seen_timed, var.get()

    assert contextvars.copy_context().run(body) == ("caller", "callee", "caller again", "timed")


def test_in_process_executors_carry_contextvars_both_ways_inside_a_loop(
    in_process: Executor, backend
) -> None:
    async def main() -> tuple[str, str]:
        var.set("task")
        seen = await call_any(reads_and_sets, "callee", executor=in_process)
        return seen, var.get()

    assert backend.run(main) == ("task", "callee")


def _spawn_pool(kind: type[ProcessPoolExecutor] = ProcessPoolExecutor) -> ProcessPoolExecutor:
    # "spawn": the test process runs threads, which fork does not mix with.
    return kind(1, mp_context=multiprocessing.get_context("spawn"))


class SubclassedProcessPool(ProcessPoolExecutor):
    pass


@pytest.mark.parametrize("kind", [ProcessPoolExecutor, SubclassedProcessPool])
def test_process_pools_and_their_subclasses_get_the_plain_function(
    kind: type[ProcessPoolExecutor],
) -> None:
    # Taken for in-process, the call (which carries a Context) could not be pickled.
    with _spawn_pool(kind) as pool:
        assert call_any(operator.mul, 6, 7, executor=pool, force_offload=True) == 42

        async def main() -> int:
            return await call_any(operator.mul, 3, 5, executor=pool)

        assert asyncio.run(main()) == 15


def test_an_executor_declared_out_of_process_gets_the_plain_function(backend) -> None:
    executor = DeclaredOutOfProcess()
    assert call_any(operator.mul, 6, 7, executor=executor, force_offload=True) == 42

    async def main() -> int:
        return await call_any(operator.mul, 2, 4, executor=executor)

    assert backend.run(main) == 8


def test_an_instance_can_declare_itself_out_of_process() -> None:
    executor = PicklingExecutor()
    executor.synchronaut_in_process = False  # type: ignore[attr-defined]
    assert call_sync(operator.mul, 6, 7, executor=executor, timeout=30) == 42


def test_a_declared_out_of_process_executor_does_not_share_contextvars() -> None:
    def body() -> tuple[str, str]:
        var.set("caller")
        seen = call_any(reads_and_sets, "callee", executor=DeclaredOutOfProcess(), timeout=30)
        return seen, var.get()

    # As with a real process: the callee sees the defaults, its changes stay there.
    assert contextvars.copy_context().run(body) == ("unset", "caller")


@pytest.mark.parametrize("in_background", [False, True], ids=["in submit", "after submit"])
def test_an_undeclared_out_of_process_executor_fails_clearly(in_background: bool) -> None:
    executor = PicklingExecutor(in_background)
    with pytest.raises(
        TypeError, match=r"cannot send mul to another process.*synchronaut_in_process"
    ):
        # Bounded: a call failed after submit used to leave its caller waiting forever.
        in_thread(lambda: call_any(operator.mul, 6, 7, executor=executor, force_offload=True))


def _fails_to_start() -> None:
    raise RuntimeError("initializer failed on purpose")


def test_a_broken_thread_pool_fails_the_call_instead_of_hanging(backend) -> None:
    # The pool fails the futures of calls it never ran; the caller hears it.
    with (
        ThreadPoolExecutor(1, initializer=_fails_to_start) as pool,
        pytest.raises(BrokenThreadPool),
    ):
        in_thread(lambda: call_any(operator.mul, 1, 2, executor=pool, force_offload=True))

    with ThreadPoolExecutor(1, initializer=_fails_to_start) as pool:

        async def main() -> Any:
            return await call_any(operator.mul, 1, 2, executor=pool)

        with pytest.raises(BrokenThreadPool):
            in_thread(lambda: backend.run(main))


#: A cluster on the loopback interface, any free port, no dashboard.
LOOPBACK_NO_DASHBOARD: dict[str, Any] = {
    "host": "127.0.0.1",
    "dashboard_address": None,
    "scheduler_kwargs": {"dashboard_address": "127.0.0.1:0"},
}


def test_dasks_client_executor_gets_the_plain_function() -> None:
    distributed = pytest.importorskip("distributed")
    # Worker threads of this process, but every task is pickled to the scheduler:
    # taken for in-process, the call could not be sent.
    with (
        distributed.LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            processes=False,
            protocol="tcp://",
            scheduler_port=0,
            **LOOPBACK_NO_DASHBOARD,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        executor = client.get_executor()
        assert call_any(operator.mul, 6, 7, executor=executor, force_offload=True) == 42
        assert call_sync(operator.mul, 2, 3, executor=executor, timeout=60) == 6
