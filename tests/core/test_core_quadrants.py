"""call_any picks the right path in each of the sync/async quadrants."""

from __future__ import annotations

import functools
import inspect
import threading

from synchronaut_core import call_any, current_async_library


def where() -> str:
    return threading.current_thread().name


async def async_where() -> str:
    return threading.current_thread().name


def add(a: int, b: int) -> int:
    return a + b


async def async_add(a: int, b: int) -> int:
    return a + b


def test_sync_to_sync_is_a_direct_call_on_the_calling_thread() -> None:
    assert call_any(add, 1, 2) == 3
    assert call_any(where) == threading.current_thread().name


def test_sync_to_sync_passes_keyword_arguments() -> None:
    assert call_any(add, a=1, b=5) == 6


def test_sync_to_async_runs_on_the_background_loop_and_returns_the_value() -> None:
    assert call_any(async_add, 2, 3) == 5
    assert call_any(async_where) == "synchronaut-loop"


def test_sync_with_timeout_runs_in_the_executor() -> None:
    assert call_any(where, timeout=5).startswith("synchronaut-worker")
    assert call_any(where, force_offload=True).startswith("synchronaut-worker")


def test_partials_bound_methods_and_callable_objects_are_classified() -> None:
    class Service:
        async def fetch(self, x: int) -> int:
            return x * 10

        async def __call__(self, x: int) -> int:
            return x + 100

    service = Service()
    assert call_any(functools.partial(async_add, 1), 2) == 3
    assert call_any(service.fetch, 4) == 40
    assert call_any(service, 1) == 101
    assert call_any(functools.partial(add, 1), 1) == 2
    assert call_any(len, [1, 2, 3]) == 3


def test_sync_callable_returning_a_coroutine_is_run_not_leaked() -> None:
    assert call_any(lambda: async_add(1, 1)) == 2


def test_current_async_library_outside_any_loop() -> None:
    assert current_async_library() is None


def test_inside_a_loop_call_any_returns_awaitables(backend) -> None:
    async def main() -> None:
        expected = "trio" if backend.name == "trio" else "asyncio"
        assert current_async_library() == expected
        offloaded = call_any(add, 1, 2)
        coro = call_any(async_add, 3, 4)
        assert inspect.isawaitable(offloaded)
        assert inspect.isawaitable(coro)
        assert await offloaded == 3
        assert await coro == 7

    backend.run(main)


def test_inside_a_loop_sync_functions_run_in_a_worker_thread(backend) -> None:
    async def main() -> tuple[str, str]:
        return threading.current_thread().name, await call_any(where)

    loop_thread, worker = backend.run(main)
    assert worker != loop_thread


def test_inside_a_loop_async_functions_run_in_the_calling_task(backend) -> None:
    async def main() -> tuple[str, str]:
        return threading.current_thread().name, await call_any(async_where)

    loop_thread, callee_thread = backend.run(main)
    assert callee_thread == loop_thread


def test_async_callee_with_timeout_returns_its_value(backend) -> None:
    async def main() -> int:
        return await call_any(async_add, 1, 1, timeout=5)

    assert backend.run(main) == 2


def test_offload_of_sync_callable_returning_coroutine_awaits_it(backend) -> None:
    async def main() -> int:
        return await call_any(lambda: async_add(2, 2))

    assert backend.run(main) == 4


def test_trio_worker_thread_gets_plain_sync_behaviour() -> None:
    import trio

    def in_thread() -> tuple[str | None, int]:
        return current_async_library(), call_any(add, 1, 1)

    async def main() -> tuple[str | None, int]:
        return await trio.to_thread.run_sync(in_thread)

    assert trio.run(main) == (None, 2)


def test_explicit_executor_in_plain_sync_code_without_timeout_is_a_direct_call() -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="mine") as pool:
        assert call_any(where, executor=pool) == threading.current_thread().name
        assert call_any(where, executor=pool, force_offload=True).startswith("mine")
