"""bind_context: snapshot at bind time, fresh copy per call, wrapper metadata, refusals."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from synchronaut_ctx import bind_context, get_request_ctx, request_context

var: contextvars.ContextVar[str] = contextvars.ContextVar("test_ctx_bind_var")


def read_var() -> str:
    """Return the test variable."""
    return var.get("unset")


def test_bound_callable_sees_snapshot_taken_at_bind_time() -> None:
    def body() -> None:
        var.set("at bind")
        bound = bind_context(read_var)
        var.set("after bind")
        assert bound() == "at bind"
        assert var.get() == "after bind"

    contextvars.Context().run(body)


def test_bound_callable_carries_context_into_a_plain_thread() -> None:
    results: list[object] = []
    with request_context({"user_id": 5}):
        bound = bind_context(lambda: results.append(get_request_ctx()))
    thread = threading.Thread(target=bound)
    thread.start()
    thread.join()
    assert results == [{"user_id": 5}]


def test_changes_in_one_call_do_not_leak_to_the_next_or_the_caller() -> None:
    def set_and_report(value: str) -> str:
        before = var.get("unset")
        var.set(value)
        return before

    def body() -> None:
        var.set("snapshot")
        bound = bind_context(set_and_report)
        assert bound("first") == "snapshot"
        assert bound("second") == "snapshot"
        assert var.get() == "snapshot"

    contextvars.Context().run(body)


def test_recursive_calls_are_allowed() -> None:
    def countdown(n: int) -> list[str]:
        var.set(f"level {n}")
        inner = bound(n - 1) if n else []
        return [var.get(), *inner]

    # Each level enters a fresh copy of the snapshot while the outer levels are still
    # inside theirs.
    bound = bind_context(countdown)
    assert bound(3) == ["level 3", "level 2", "level 1", "level 0"]
    assert var.get("unset") == "unset"


def test_concurrent_calls_from_eight_threads() -> None:
    n_threads = 8
    barrier = threading.Barrier(n_threads)

    def work(i: int) -> tuple[str, str]:
        before = var.get("unset")
        var.set(f"thread {i}")
        # All eight calls are inside the bound callable at the same time: with a shared
        # Context this would raise "cannot enter context: ... is already entered".
        barrier.wait()
        return before, var.get()

    def body() -> None:
        var.set("snapshot")
        bound = bind_context(work)
        with ThreadPoolExecutor(n_threads) as pool:
            results = list(pool.map(bound, range(n_threads)))
        assert results == [("snapshot", f"thread {i}") for i in range(n_threads)]

    contextvars.Context().run(body)


def test_arguments_return_value_and_exceptions_pass_through() -> None:
    def add(a: int, b: int = 0) -> int:
        if a < 0:
            raise ValueError("negative")
        return a + b

    bound = bind_context(add)
    assert bound(1, b=2) == 3
    with pytest.raises(ValueError, match="negative"):
        bound(-1)


def test_keeps_metadata() -> None:
    bound = bind_context(read_var)
    assert bound.__name__ == "read_var"
    assert bound.__qualname__ == "read_var"
    assert bound.__doc__ == "Return the test variable."
    assert bound.__module__ == read_var.__module__
    assert bound.__wrapped__ is read_var  # type: ignore[attr-defined]


def test_binds_methods_partials_and_callable_objects() -> None:
    class Reader:
        def __call__(self) -> str:
            return read_var()

        def method(self) -> str:
            return read_var()

    def body() -> None:
        var.set("bound")
        callables = [
            bind_context(Reader()),
            bind_context(Reader().method),
            bind_context(functools.partial(read_var)),
        ]
        var.set("later")
        assert [fn() for fn in callables] == ["bound", "bound", "bound"]

    contextvars.Context().run(body)


def test_usable_as_an_event_loop_callback() -> None:
    async def main() -> list[str]:
        seen: list[str] = []
        done = asyncio.Event()
        var.set("task value")
        callback = bind_context(lambda: (seen.append(var.get()), done.set()))
        var.set("changed")
        loop = asyncio.get_running_loop()
        # call_soon_threadsafe from a plain thread: the callback would otherwise run in
        # a copy of that thread's (empty) context.
        thread = threading.Thread(target=loop.call_soon_threadsafe, args=(callback,))
        thread.start()
        await done.wait()
        thread.join()
        return seen

    assert asyncio.run(main()) == ["task value"]


async def coroutine_function() -> None:
    pass


class AsyncCallable:
    async def __call__(self) -> None:
        pass


@pytest.mark.parametrize(
    "fn",
    [coroutine_function, functools.partial(coroutine_function), AsyncCallable()],
    ids=["async-def", "partial", "async-call"],
)
def test_coroutine_functions_are_refused(fn: object) -> None:
    with pytest.raises(TypeError, match=r"cannot bind coroutine function.*create_task"):
        bind_context(fn)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [None, 1, "text", [read_var]])
def test_non_callable_raises_type_error(bad: object) -> None:
    with pytest.raises(TypeError, match=r"bind_context\(\) expects a callable"):
        bind_context(bad)  # type: ignore[arg-type]
