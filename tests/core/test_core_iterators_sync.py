"""Async generators consumed from sync code: a plain iterator, each next() on the loop."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import traceback
from collections.abc import AsyncIterator

import pytest
import trio

from synchronaut_core import (
    BlockingIterator,
    CallAnyTimeout,
    CallOptions,
    call_any,
    call_sync,
    sync_iter,
)

marker: contextvars.ContextVar[str] = contextvars.ContextVar("marker", default="unset")

WAIT = 5.0  # seconds an Event may take before the test fails (never reached when passing)


class Probe:
    """What an async generator saw: the threads it ran on, and its ``finally``."""

    def __init__(self) -> None:
        self.threads: list[str] = []
        self.finally_thread: str | None = None
        self.finished = threading.Event()

    async def numbers(self, n: int) -> AsyncIterator[int]:
        try:
            for i in range(n):
                await asyncio.sleep(0)
                self.threads.append(threading.current_thread().name)
                yield i
        finally:
            self.finally_thread = threading.current_thread().name
            self.finished.set()


def test_call_any_on_an_async_generator_in_sync_code_gives_a_plain_iterator() -> None:
    probe = Probe()
    it = call_any(probe.numbers, 3)
    assert isinstance(it, BlockingIterator)
    assert list(it) == [0, 1, 2]
    assert set(probe.threads) == {"synchronaut-loop"}  # every step on the background loop
    assert probe.finally_thread == "synchronaut-loop"


def test_sync_iter_call_sync_and_options_sync_give_the_same_iterator() -> None:
    assert list(sync_iter(Probe().numbers(2))) == [0, 1]
    assert list(call_sync(Probe().numbers, 2)) == [0, 1]
    assert list(CallOptions(timeout=5).sync(Probe().numbers, 2)) == [0, 1]


def test_breaking_out_early_closes_the_generator_on_its_loop() -> None:
    probe = Probe()
    for i in call_any(probe.numbers, 10):
        if i == 1:
            break
    assert probe.finished.wait(WAIT)
    assert probe.finally_thread == "synchronaut-loop"
    assert probe.threads == ["synchronaut-loop"] * 2


def test_a_garbage_collected_iterator_closes_its_generator() -> None:
    probe = Probe()
    it = call_any(probe.numbers, 10)
    assert next(it) == 0
    del it
    assert probe.finished.wait(WAIT)
    assert probe.finally_thread == "synchronaut-loop"


def test_close_and_with_close_the_generator_before_returning() -> None:
    probe = Probe()
    it = call_any(probe.numbers, 10)
    next(it)
    it.close()
    assert probe.finished.is_set()  # no waiting: close() blocked until aclose() ended
    with pytest.raises(StopIteration):
        next(it)

    probe = Probe()
    with call_any(probe.numbers, 10) as it:
        next(it)
    assert probe.finished.is_set()


def test_an_iterator_never_started_runs_nothing_and_closes_quietly() -> None:
    probe = Probe()
    it = call_any(probe.numbers, 3)
    it.close()
    del it
    assert probe.threads == []
    assert not probe.finished.is_set()


def test_an_exception_in_the_generator_comes_out_of_the_next_that_reached_it() -> None:
    async def fails_third() -> AsyncIterator[int]:
        yield 0
        yield 1
        raise ValueError("third item")

    it = call_any(fails_third)
    assert next(it) == 0
    assert next(it) == 1
    with pytest.raises(ValueError, match="third item") as info:
        next(it)
    assert "fails_third" in [frame.name for frame in traceback.extract_tb(info.tb)]
    with pytest.raises(StopIteration):
        next(it)  # as for a plain generator: over after its exception


def test_send_and_throw_reach_the_async_generator() -> None:
    async def echo() -> AsyncIterator[object]:
        received = yield "ready"
        while True:
            try:
                received = yield received * 2  # type: ignore[operator]
            except KeyError as exc:
                received = yield f"caught {exc.args[0]}"

    it = call_any(echo)
    assert next(it) == "ready"
    assert it.send(21) == 42
    assert it.throw(KeyError("k")) == "caught k"
    with pytest.raises(LookupError, match="not caught"):
        it.throw(LookupError("not caught"))
    with pytest.raises(StopIteration):
        next(it)


def test_a_step_past_its_timeout_is_cancelled_and_ends_the_iteration() -> None:
    probe = Probe()
    cancelled = threading.Event()

    async def stalls_after_one() -> AsyncIterator[int]:
        try:
            yield 0
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                cancelled.set()
                raise
            yield 1
        finally:
            probe.finished.set()

    it = call_any(stalls_after_one, timeout=0.2)
    assert next(it) == 0
    with pytest.raises(CallAnyTimeout):
        next(it)
    # Cancelled where it waited, its finally ran, before next() returned.
    assert cancelled.is_set()
    assert probe.finished.is_set()
    with pytest.raises(StopIteration):
        next(it)


def test_each_step_sees_the_callers_context_vars_and_writes_back() -> None:
    async def reads_and_sets() -> AsyncIterator[str]:
        yield marker.get()
        marker.set("set-by-generator")
        yield marker.get()

    def body() -> tuple[str, str, str, str]:
        marker.set("first")
        it = call_any(reads_and_sets)
        seen_first = next(it)
        marker.set("second")  # each step sees the context of its own next()
        seen_second = next(it)
        after = marker.get()
        it.close()
        return seen_first, seen_second, after, threading.current_thread().name

    first, second, after, _ = contextvars.copy_context().run(body)
    assert (first, second, after) == ("first", "set-by-generator", "set-by-generator")


def test_thread_sensitive_calls_made_by_a_step_run_on_the_consuming_thread() -> None:
    def where() -> str:
        return threading.current_thread().name

    async def asks_for_the_db_thread() -> AsyncIterator[str]:
        for _ in range(2):
            yield await call_any(where, thread_sensitive=True)

    def consume() -> list[str]:
        return list(call_any(asks_for_the_db_thread))

    consumer = threading.Thread(target=lambda: result.extend(consume()), name="consumer")
    result: list[str] = []
    consumer.start()
    consumer.join(WAIT)
    assert result == ["consumer", "consumer"]  # served by the thread blocked in next()


def test_the_iterator_pins_one_loop_even_when_driven_from_another_thread() -> None:
    probe = Probe()
    it = call_any(probe.numbers, 4)
    got = [next(it)]
    worker = threading.Thread(target=lambda: got.extend(it))
    worker.start()
    worker.join(WAIT)
    assert got == [0, 1, 2, 3]
    assert set(probe.threads) == {"synchronaut-loop"}


def test_next_on_the_loop_that_runs_the_generator_raises_instead_of_deadlocking() -> None:
    it = call_any(Probe().numbers, 3)  # pinned to the background loop

    async def drive_it_from_its_own_loop() -> None:
        next(it)

    with pytest.raises(RuntimeError, match="cannot be driven by blocking calls"):
        call_any(drive_it_from_its_own_loop)


def test_sync_iter_rejects_what_is_not_an_async_iterable() -> None:
    with pytest.raises(TypeError, match="async iterable"):
        sync_iter([1, 2])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timeout"):
        sync_iter(Probe().numbers(1), timeout=0)


def test_offloaded_sync_code_iterates_on_the_loop_that_offloaded_it(backend) -> None:
    """Loop affinity: the generator can use objects bound to the caller's loop."""

    async def main() -> tuple[str, list[tuple[int, str]], str | None]:
        loop_thread = threading.current_thread().name
        # An event that belongs to this Trio run or asyncio loop.
        bound = trio.Event() if backend.name == "trio" else asyncio.Event()
        bound.set()
        closed_on: list[str] = []
        closed = threading.Event()

        async def uses_loop_bound_objects() -> AsyncIterator[tuple[int, str]]:
            try:
                for i in range(5):
                    await bound.wait()
                    yield i, threading.current_thread().name
            finally:
                closed_on.append(threading.current_thread().name)
                closed.set()

        def sync_layer() -> list[tuple[int, str]]:
            # A worker thread: its iterator must drive the generator on the caller's loop.
            items = []
            for item in call_any(uses_loop_bound_objects):
                items.append(item)
                if item[0] == 2:
                    break
            assert closed.wait(WAIT)  # the loop is free meanwhile: it awaits this thread
            return items

        items = await call_any(sync_layer)
        return loop_thread, items, closed_on[0] if closed_on else None

    loop_thread, items, closed_on = backend.run(main)
    assert [i for i, _ in items] == [0, 1, 2]
    assert {thread for _, thread in items} == {loop_thread}
    assert closed_on == loop_thread


def test_call_sync_on_an_async_generator_inside_a_loop_warns_and_still_works(
    asyncio_backend, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> list[int]:
        return list(call_sync(Probe().numbers, 3))  # stalls this loop, but completes

    with caplog.at_level("WARNING", logger="synchronaut"):
        assert asyncio_backend.run(main) == [0, 1, 2]
    assert "stalls this thread's running event loop" in caplog.text
