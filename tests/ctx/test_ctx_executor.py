"""ContextExecutor: submit/map in the submitter's context, owned vs wrapped pools,
shutdown semantics, refusals."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import threading
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor

import pytest

from synchronaut_ctx import ContextExecutor, get_request_ctx, request_context

var: contextvars.ContextVar[str] = contextvars.ContextVar("test_ctx_executor_var")


def read_var(*_: object) -> str:
    return var.get("unset")


def test_is_an_executor_and_a_context_manager() -> None:
    with ContextExecutor() as executor:
        assert isinstance(executor, Executor)
        assert executor.submit(lambda: 1).result() == 1


def test_submit_runs_in_a_copy_of_the_submitters_context() -> None:
    def set_and_report() -> tuple[str, str]:
        before = var.get("unset")
        var.set("set in worker")
        return before, var.get()

    def body() -> None:
        var.set("submitter")
        with ContextExecutor() as executor:
            assert executor.submit(set_and_report).result() == ("submitter", "set in worker")
            # The worker's change stays in its copy: neither the caller nor the next call
            # (possibly on the same worker thread) sees it.
            assert executor.submit(read_var).result() == "submitter"
        assert var.get() == "submitter"

    contextvars.Context().run(body)


def test_snapshot_is_taken_at_submit_time_not_run_time() -> None:
    release = threading.Event()

    def body() -> None:
        with ContextExecutor(max_workers=1) as executor:
            blocker = executor.submit(release.wait)  # the only worker is busy...
            var.set("first")
            first = executor.submit(read_var)  # ...so these two wait in the queue
            var.set("second")
            second = executor.submit(read_var)
            release.set()
            assert blocker.result() is True
            assert (first.result(), second.result()) == ("first", "second")

    contextvars.Context().run(body)


def test_args_kwargs_and_exceptions() -> None:
    def divide(a: int, b: int = 1) -> float:
        return a / b

    with ContextExecutor() as executor:
        assert executor.submit(divide, 6, b=3).result() == 2
        with pytest.raises(ZeroDivisionError):
            executor.submit(divide, 1, b=0).result()


def test_map_runs_every_call_in_the_context() -> None:
    def body() -> None:
        var.set("mapped")
        with ContextExecutor(max_workers=4) as executor:
            assert list(executor.map(read_var, range(20))) == ["mapped"] * 20

    contextvars.Context().run(body)


def test_request_context_reaches_the_worker() -> None:
    with ContextExecutor() as executor, request_context({"user_id": 3}):
        assert executor.submit(get_request_ctx).result() == {"user_id": 3}


def test_owned_pool_threads_are_named() -> None:
    with ContextExecutor() as executor:
        name = executor.submit(lambda: threading.current_thread().name).result()
    assert name.startswith("synchronaut-ctx")


@pytest.mark.parametrize("backend_name", ["asyncio", "uvloop"])
def test_loop_run_in_executor_sees_the_tasks_context(backend_name: str, backend_factory) -> None:
    backend = backend_factory(backend_name)

    async def main() -> list[str]:
        loop = asyncio.get_running_loop()
        with ContextExecutor() as executor:

            async def task(i: int) -> str:
                var.set(f"task {i}")
                return await loop.run_in_executor(executor, read_var)

            return await asyncio.gather(*(task(i) for i in range(10)))

    assert backend.run(main) == [f"task {i}" for i in range(10)]


def test_submit_from_async_tasks_on_every_backend(backend) -> None:
    async def main() -> None:
        results: dict[int, object] = {}
        with ContextExecutor() as executor:

            async def task(i: int) -> None:
                async with request_context(i):
                    results[i] = await backend.wait_future(executor.submit(get_request_ctx))

            await backend.gather([lambda i=i: task(i) for i in range(10)])
        assert results == {i: i for i in range(10)}

    backend.run(main)


def test_wrapped_executor_is_used_and_not_shut_down() -> None:
    with ThreadPoolExecutor(1, thread_name_prefix="user-pool") as inner:
        executor = ContextExecutor(inner)
        with request_context("wrapped"):
            future = executor.submit(lambda: (threading.current_thread().name, get_request_ctx()))
        name, value = future.result()
        assert name.startswith("user-pool")
        assert value == "wrapped"
        executor.shutdown()
        with pytest.raises(RuntimeError, match="after shutdown"):
            executor.submit(read_var)
        # The user's executor is still usable.
        assert inner.submit(lambda: "still open").result() == "still open"


def test_owned_pool_is_shut_down() -> None:
    executor = ContextExecutor()
    executor.submit(lambda: None).result()
    executor.shutdown()
    with pytest.raises(RuntimeError, match="cannot submit to a ContextExecutor after shutdown"):
        executor.submit(read_var)
    executor.shutdown()  # idempotent


def test_submit_after_context_manager_exit_raises() -> None:
    with ContextExecutor() as executor:
        pass
    with pytest.raises(RuntimeError, match="after shutdown"):
        executor.submit(read_var)


def test_wrapped_shutdown_wait_waits_for_calls_submitted_through_it() -> None:
    release = threading.Event()
    with ThreadPoolExecutor(2) as inner:
        executor = ContextExecutor(inner)
        future = executor.submit(release.wait)
        shutting_down = threading.Thread(target=executor.shutdown)
        shutting_down.start()
        shutting_down.join(0.05)
        # Cannot return while our call is blocked; how long we look does not matter.
        assert shutting_down.is_alive()
        release.set()
        shutting_down.join()
        assert future.done()
        assert future.result() is True


def test_wrapped_shutdown_cancel_futures_cancels_only_queued_calls() -> None:
    release = threading.Event()
    started = threading.Event()

    def block() -> str:
        started.set()
        release.wait()
        return "ran"

    with ThreadPoolExecutor(1) as inner:
        executor = ContextExecutor(inner)
        running = executor.submit(block)
        started.wait()
        queued = executor.submit(read_var)
        executor.shutdown(wait=False, cancel_futures=True)
        assert queued.cancelled()
        assert not running.cancelled()
        release.set()
        assert running.result() == "ran"


def test_owned_shutdown_cancel_futures() -> None:
    release = threading.Event()
    started = threading.Event()

    def block() -> None:
        started.set()
        release.wait()

    executor = ContextExecutor(max_workers=1)
    running = executor.submit(block)
    started.wait()
    queued = executor.submit(read_var)
    executor.shutdown(wait=False, cancel_futures=True)
    assert queued.cancelled()
    release.set()
    running.result()
    executor.shutdown(wait=True)


def test_shutdown_without_wait_returns_while_work_runs() -> None:
    release = threading.Event()
    executor = ContextExecutor(max_workers=1)
    future = executor.submit(release.wait)
    executor.shutdown(wait=False)
    assert not future.done()
    release.set()
    assert future.result() is True
    executor.shutdown(wait=True)


def test_process_pool_is_refused() -> None:
    with (
        ProcessPoolExecutor(max_workers=1) as process_pool,
        pytest.raises(TypeError, match=r"cannot wrap a ProcessPoolExecutor.*pickled"),
    ):
        ContextExecutor(process_pool)


def test_max_workers_with_executor_is_refused() -> None:
    with (
        ThreadPoolExecutor(1) as inner,
        pytest.raises(TypeError, match="max_workers only applies"),
    ):
        ContextExecutor(inner, max_workers=2)


@pytest.mark.parametrize("bad", [object(), "pool", ThreadPoolExecutor])
def test_non_executor_is_refused(bad: object) -> None:
    with pytest.raises(TypeError, match=r"expects a concurrent\.futures\.Executor"):
        ContextExecutor(bad)  # type: ignore[arg-type]


def test_submit_non_callable_raises_type_error() -> None:
    with (
        ContextExecutor() as executor,
        pytest.raises(TypeError, match=r"submit\(\) expects a callable"),
    ):
        executor.submit(42)  # type: ignore[arg-type]


def test_bad_max_workers_is_reported_by_the_pool() -> None:
    with pytest.raises(ValueError, match="max_workers"):
        ContextExecutor(max_workers=0)


def test_map_timeout_raises_timeout_error() -> None:
    release = threading.Event()
    with ContextExecutor(max_workers=1) as executor:
        results = executor.map(lambda _: release.wait(), [1], timeout=0.01)
        with pytest.raises((TimeoutError, concurrent.futures.TimeoutError)):
            next(results)
        release.set()
