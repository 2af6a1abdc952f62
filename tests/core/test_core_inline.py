"""Inline mode: a ``def`` run on the loop's own thread, its bridge calls awaited by the task.

Every bridge call kind, made from inline code, gives its value as in plain sync code,
on asyncio (debug mode, eager tasks), uvloop and Trio; the loop keeps serving while
the inline code waits; ContextVars flow both ways as for a direct call; exceptions
keep their tracebacks. Cancellation and timeouts: ``test_core_inline_cancel.py``;
options, the optional dependency and the blocking report: ``test_core_inline_options.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
import traceback
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import trio
from support_backends import Backend
from support_threads import in_thread

from synchronaut_core import (
    CallOptions,
    InlineIterator,
    call_any,
    call_async,
    call_sync,
    current_async_library,
    sync_cm,
    sync_iter,
    synchronaut,
)

var: contextvars.ContextVar[str] = contextvars.ContextVar("inline_var", default="unset")


def test_inline_code_runs_on_the_loop_thread_and_sees_plain_sync_code(backend: Backend) -> None:
    def body() -> tuple[int, str | None]:
        return threading.get_ident(), current_async_library()

    async def main() -> None:
        ident, library = await call_any(body, inline=True)
        assert ident == threading.get_ident()
        assert library is None
        # Restored for the task once the inline code is done.
        assert current_async_library() == backend.library

    backend.run(main)


def test_call_any_of_an_async_def_from_inline_code_gives_its_value(backend: Backend) -> None:
    async def double(x: int) -> int:
        await backend.sleep(0.001)
        assert current_async_library() == backend.library  # awaited in the task
        return 2 * x

    def body() -> int:
        return call_any(double, 3) + call_any(double, x=4)

    async def main() -> None:
        assert await call_any(body, inline=True) == 14

    backend.run(main)


def test_call_sync_of_an_async_def_from_inline_code_gives_its_value(backend: Backend) -> None:
    async def double(x: int) -> int:
        await backend.sleep(0.001)
        return 2 * x

    def body() -> int:
        return call_sync(double, 5)

    async def main() -> None:
        assert await call_any(body, inline=True) == 10

    backend.run(main)


def test_decorated_async_functions_and_sync_entries_from_inline_code(backend: Backend) -> None:
    @synchronaut
    async def double(x: int) -> int:
        await backend.sleep(0.001)
        return 2 * x

    @synchronaut(timeout=5)
    async def triple(x: int) -> int:
        await backend.sleep(0.001)
        return 3 * x

    def body() -> list[Any]:
        return [double(1), double.sync(2), triple(3), triple.sync(4), CallOptions().sync(double, 5)]

    async def main() -> None:
        assert await call_any(body, inline=True) == [2, 4, 9, 12, 10]

    backend.run(main)


def test_bound_async_methods_and_partials_from_inline_code(backend: Backend) -> None:
    import functools

    class Repo:
        async def get(self, key: str) -> str:
            await backend.sleep(0)
            return key.upper()

    def body() -> list[str]:
        repo = Repo()
        return [call_any(repo.get, "a"), call_any(functools.partial(repo.get, "b"))]

    async def main() -> None:
        assert await call_any(body, inline=True) == ["A", "B"]

    backend.run(main)


def test_sync_iter_and_async_generator_functions_from_inline_code(backend: Backend) -> None:
    closed: list[str] = []

    async def numbers(n: int) -> AsyncIterator[int]:
        try:
            for i in range(n):
                await backend.sleep(0)
                yield i
        finally:
            closed.append("numbers")

    def body() -> tuple[list[int], list[int], int]:
        everything = list(sync_iter(numbers(3)))
        called = list(call_any(numbers, 2))
        with sync_iter(numbers(10)) as it:  # broken off: closed on the loop
            first = next(it)
        return everything, called, first

    async def main() -> None:
        assert await call_any(body, inline=True) == ([0, 1, 2], [0, 1], 0)
        assert closed == ["numbers"] * 3

    backend.run(main)


def test_sync_cm_from_inline_code(backend: Backend) -> None:
    steps: list[str] = []

    @contextlib.asynccontextmanager
    async def session() -> AsyncIterator[str]:
        await backend.sleep(0)
        steps.append("enter")
        try:
            yield "session"
        finally:
            await backend.sleep(0)
            steps.append("exit")

    def body() -> str:
        with sync_cm(session()) as value:
            steps.append("block")
            return value

    async def main() -> None:
        assert await call_any(body, inline=True) == "session"
        assert steps == ["enter", "block", "exit"]

    backend.run(main)


def test_sync_cm_exception_from_inline_block_reaches_aexit(backend: Backend) -> None:
    seen: list[object] = []

    @contextlib.asynccontextmanager
    async def guarded() -> AsyncIterator[None]:
        try:
            yield
        except KeyError as exc:
            seen.append(exc)
            raise

    def body() -> None:
        with sync_cm(guarded()):
            raise KeyError("k")

    async def main() -> None:
        with pytest.raises(KeyError):
            await call_any(body, inline=True)
        assert len(seen) == 1

    backend.run(main)


def test_sync_callees_and_nested_inline_calls_are_direct_calls(backend: Backend) -> None:
    @synchronaut(inline=True)
    def decorated() -> tuple[int, str | None]:
        return threading.get_ident(), current_async_library()

    def plain() -> int:
        return threading.get_ident()

    def body() -> list[Any]:
        return [
            call_any(plain),
            call_any(plain, inline=True),
            decorated(),
            call_sync(plain),
            CallOptions(inline=True)(plain),
        ]

    async def main() -> None:
        me = threading.get_ident()
        assert await call_any(body, inline=True) == [me, me, (me, None), me, me]

    backend.run(main)


def test_loop_bound_objects_work_and_the_loop_keeps_serving(backend: Backend) -> None:
    # A channel made in the task, read by inline code, fed by another task meanwhile.
    async def main() -> None:
        if backend.library == "trio":
            send, receive = trio.open_memory_channel[int](0)
            put, get = send.send, receive.receive
        else:
            queue: asyncio.Queue[int] = asyncio.Queue()
            put, get = queue.put, queue.get

        def consumer() -> list[int]:
            return [call_any(get) for _ in range(3)]

        results: list[list[int]] = []

        async def consume() -> None:
            results.append(await call_any(consumer, inline=True))

        async def produce() -> None:
            for i in range(3):
                await backend.sleep(0.001)
                await put(i)

        await backend.gather([consume, produce])
        assert results == [[0, 1, 2]]

    backend.run(main)


def test_two_inline_calls_wait_for_each_other_without_deadlock(backend: Backend) -> None:
    async def main() -> None:
        ping, pong = backend.event(), backend.event()
        order: list[str] = []

        def first() -> None:
            order.append("first sets ping")
            ping.set()
            call_any(pong.wait)
            order.append("first saw pong")

        def second() -> None:
            call_any(ping.wait)
            order.append("second saw ping")
            pong.set()

        async def run_first() -> None:
            await call_any(first, inline=True)

        async def run_second() -> None:
            await call_any(second, inline=True)

        await backend.gather([run_second, run_first])
        assert order == ["first sets ping", "second saw ping", "first saw pong"]

    backend.run(main)


def test_force_offload_from_inline_code_runs_in_a_thread_while_the_loop_serves(
    backend: Backend,
) -> None:
    async def main() -> None:
        loop_thread = threading.get_ident()
        release = threading.Event()
        ticks: list[int] = []

        def blocking() -> int:
            assert release.wait(10)
            return threading.get_ident()

        def body() -> int:
            return call_any(blocking, force_offload=True)

        async def ticker() -> None:
            for i in range(3):
                await backend.sleep(0.001)
                ticks.append(i)
            release.set()  # the loop served this task while the inline code waited

        idents: list[int] = []

        async def inline() -> None:
            idents.append(await call_any(body, inline=True))

        await backend.gather([inline, ticker])
        assert ticks == [0, 1, 2]
        assert idents[0] != loop_thread

    backend.run(main)


def test_timeout_on_a_sync_call_from_inline_code_runs_it_in_a_thread(backend: Backend) -> None:
    def where() -> int:
        return threading.get_ident()

    def body() -> int:
        return call_any(where, timeout=5)

    async def main() -> None:
        assert await call_any(body, inline=True) != threading.get_ident()

    backend.run(main)


def test_contextvars_flow_both_ways_as_for_a_direct_call(backend: Backend) -> None:
    async def read_and_set() -> str:
        seen = var.get()
        var.set("set by the coroutine")
        return seen

    def body() -> tuple[str, str, str]:
        before = var.get()
        var.set("set inline")
        seen_by_coroutine = call_any(read_and_set)
        return before, seen_by_coroutine, var.get()

    async def main() -> None:
        var.set("set by the caller")
        assert await call_any(body, inline=True) == (
            "set by the caller",
            "set inline",
            "set by the coroutine",
        )
        assert var.get() == "set by the coroutine"

    backend.run(main)


def test_contextvars_of_an_inline_call_with_a_timeout_come_back_when_it_finishes(
    backend: Backend,
) -> None:
    def body() -> None:
        var.set("inline")

    async def main() -> None:
        await call_any(body, inline=True, timeout=5)
        assert var.get() == "inline"

    backend.run(main)


def _raise_value_error() -> None:
    raise ValueError("from inline code")


def test_exceptions_of_inline_code_keep_their_traceback(backend: Backend) -> None:
    def body() -> None:
        _raise_value_error()

    async def main() -> None:
        with pytest.raises(ValueError, match="from inline code") as info:
            await call_any(body, inline=True)
        names = [frame.name for frame in traceback.extract_tb(info.value.__traceback__)]
        assert "body" in names
        assert names[-1] == "_raise_value_error"

    backend.run(main)


def test_exceptions_of_awaited_coroutines_reach_the_bridge_call_with_their_traceback(
    backend: Backend,
) -> None:
    async def failing() -> None:
        await backend.sleep(0)
        raise KeyError("from the coroutine")

    def body() -> list[str]:
        try:
            call_any(failing)
        except KeyError as exc:
            return [frame.name for frame in traceback.extract_tb(exc.__traceback__)]
        raise AssertionError("not raised")

    async def main() -> None:
        names = await call_any(body, inline=True)
        assert names[0] == "body"
        assert names[-1] == "failing"

    backend.run(main)


def test_keyboard_interrupt_in_inline_code_propagates_and_leaves_nothing_unawaited(
    backend: Backend,
) -> None:
    async def pending() -> None:
        await backend.sleep(0)

    def body_closing() -> None:
        call_any(pending)
        raise KeyboardInterrupt

    async def main() -> None:
        with pytest.raises(KeyboardInterrupt):
            await call_any(body_closing, inline=True)

    backend.run(main)


def test_keyboard_interrupt_in_an_awaited_coroutine_reaches_inline_code(backend: Backend) -> None:
    seen: list[str] = []

    async def interrupted() -> None:
        await backend.sleep(0)
        raise KeyboardInterrupt

    def body() -> None:
        try:
            call_any(interrupted)
        finally:
            seen.append("finally")

    async def main() -> None:
        with pytest.raises(KeyboardInterrupt):
            await call_any(body, inline=True)

    backend.run(main)
    assert seen == ["finally"]


def test_inline_in_plain_sync_code_is_a_direct_call() -> None:
    def body(x: int) -> tuple[int, int]:
        return x, threading.get_ident()

    assert call_any(body, 1, inline=True) == (1, threading.get_ident())
    assert CallOptions(inline=True)(body, 2) == (2, threading.get_ident())
    decorated = synchronaut(inline=True)(body)
    assert decorated(3) == (3, threading.get_ident())
    assert decorated.sync(4) == (4, threading.get_ident())


def test_inline_in_a_worker_thread_is_a_direct_call() -> None:
    def body() -> int:
        return threading.get_ident()

    def worker() -> tuple[int, int]:
        return call_any(body, inline=True), threading.get_ident()

    called, thread = in_thread(worker)
    assert called == thread


def test_decorated_inline_functions_run_inline_in_async_code(backend: Backend) -> None:
    async def one() -> int:
        await backend.sleep(0)
        return 1

    @synchronaut(inline=True)
    def service(x: int) -> tuple[int, int]:
        return x + call_any(one), threading.get_ident()

    class Service:
        @synchronaut(inline=True)
        def method(self, x: int) -> int:
            return x + call_any(one)

    async def main() -> None:
        me = threading.get_ident()
        assert await service(1) == (2, me)
        assert await service.async_(2) == (3, me)
        assert await Service().method(3) == 4
        assert await call_any(service, 4) == (5, me)

    backend.run(main)


def test_call_async_and_call_options_with_inline(backend: Backend) -> None:
    async def one() -> int:
        await backend.sleep(0)
        return 1

    def body() -> tuple[int, int]:
        return call_any(one), threading.get_ident()

    made_in_sync_code = call_async(body, inline=True)  # awaited later, in the loop

    async def main() -> None:
        me = threading.get_ident()
        assert await made_in_sync_code == (1, me)
        assert await call_async(body, inline=True) == (1, me)
        assert await CallOptions(inline=True)(body) == (1, me)
        assert await CallOptions(inline=True).async_(body) == (1, me)

    backend.run(main)


def test_async_callees_with_inline_are_awaited_as_always(backend: Backend) -> None:
    async def one() -> int:
        await backend.sleep(0)
        return 1

    async def main() -> None:
        assert await call_any(one, inline=True) == 1

    backend.run(main)


def test_inline_generator_consumed_with_async_for_runs_each_step_inline(backend: Backend) -> None:
    closed: list[str] = []

    async def fetch(i: int) -> int:
        await backend.sleep(0)
        return i * 10

    def rows(n: int) -> Iterator[tuple[int, int]]:
        try:
            for i in range(n):
                yield call_any(fetch, i), threading.get_ident()
        finally:
            call_any(fetch, 0)  # a bridge call in cleanup, awaited by the task
            closed.append("rows")

    async def main() -> None:
        me = threading.get_ident()
        iterator = call_any(rows, 3, inline=True)
        assert isinstance(iterator, InlineIterator)
        assert [item async for item in iterator] == [(0, me), (10, me), (20, me)]
        assert closed == ["rows"]

        broken = call_async(rows, 10, inline=True)
        async for _ in broken:
            break
        await broken.aclose()
        assert closed == ["rows", "rows"]

    backend.run(main)


def test_inline_generator_send_and_throw(backend: Backend) -> None:
    def echo() -> Iterator[object]:
        received: object = None
        while True:
            try:
                received = yield received
            except KeyError:
                received = "caught"

    async def main() -> None:
        gen = call_any(echo, inline=True)
        assert await gen.__anext__() is None
        assert await gen.asend("x") == "x"
        assert await gen.athrow(KeyError("k")) == "caught"
        await gen.aclose()
        with pytest.raises(StopAsyncIteration):
            await gen.__anext__()

    backend.run(main)


def test_decorated_inline_generator_in_async_code(backend: Backend) -> None:
    @synchronaut(inline=True)
    def counter(n: int) -> Iterator[int]:
        yield from range(n)

    async def main() -> None:
        assert [i async for i in counter(3)] == [0, 1, 2]

    backend.run(main)
    assert list(counter(2)) == [0, 1]  # plain sync code: the generator itself


def test_many_concurrent_inline_calls_each_get_their_own_answers(backend: Backend) -> None:
    async def echo(x: int) -> int:
        await backend.sleep(0.001)
        return x

    def body(i: int) -> list[int]:
        var.set(f"call {i}")
        values = [call_any(echo, i * 100 + j) for j in range(5)]
        assert var.get() == f"call {i}"
        return values

    async def main() -> None:
        results: dict[int, list[int]] = {}

        def one(i: int) -> Any:
            async def run() -> None:
                results[i] = await call_any(body, i, inline=True)

            return run

        await backend.gather([one(i) for i in range(50)])
        assert results == {i: [i * 100 + j for j in range(5)] for i in range(50)}

    backend.run(main)


def test_trio_and_asyncio_state_are_restored_after_inline_code_raises(backend: Backend) -> None:
    def body() -> None:
        raise RuntimeError("boom")

    async def main() -> None:
        with pytest.raises(RuntimeError):
            await call_any(body, inline=True)
        assert current_async_library() == backend.library
        if backend.library == "asyncio":
            asyncio.get_running_loop()  # still set

    backend.run(main)


def test_an_event_loop_run_by_inline_code_is_plain_async_code(backend: Backend) -> None:
    # Sync code may run a loop of its own (a library's asyncio.run wrapper): inside
    # it, calls are those of async code; around it, inline code goes on as before.
    async def one() -> int:
        await asyncio.sleep(0)
        return 1

    async def outer_one() -> int:
        await backend.sleep(0)
        return 1

    async def nested() -> tuple[str | None, int, int]:
        return current_async_library(), await call_any(one), call_sync(one)

    def body() -> tuple[Any, int]:
        return asyncio.run(nested()), call_any(outer_one)

    async def main() -> None:
        assert await call_any(body, inline=True) == (("asyncio", 1, 1), 1)

    backend.run(main)
