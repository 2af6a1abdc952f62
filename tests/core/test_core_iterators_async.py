"""Sync generators consumed from async code: one thread for the generator's whole life."""

from __future__ import annotations

import contextvars
import threading
import time
import traceback
from collections.abc import Iterator

import pytest

from synchronaut_core import (
    CallAnyTimeout,
    CallOptions,
    ThreadIterator,
    WorkerPool,
    async_iter,
    call_any,
    call_async,
    thread_sensitive_context,
)

marker: contextvars.ContextVar[str] = contextvars.ContextVar("marker", default="unset")

WAIT = 5.0  # seconds an Event may take before the test fails (never reached when passing)


class Probe:
    """What a sync generator saw: the thread of each item, and its ``finally``."""

    def __init__(self) -> None:
        self.idents: list[int] = []
        self.names: list[str] = []
        self.finally_ident: int | None = None
        self.finished = threading.Event()

    def numbers(self, n: int) -> Iterator[int]:
        try:
            for i in range(n):
                self.idents.append(threading.get_ident())
                self.names.append(threading.current_thread().name)
                yield i
        finally:
            self.finally_ident = threading.get_ident()
            self.finished.set()


async def wait_for(event: threading.Event) -> bool:
    """Wait for a threading.Event without blocking the loop (in a worker thread)."""
    return await call_any(event.wait, WAIT)


def test_every_item_is_produced_on_one_dedicated_thread(backend) -> None:
    probe = Probe()

    async def main() -> tuple[list[int], int]:
        it = call_any(probe.numbers, 5)
        assert isinstance(it, ThreadIterator)
        return [i async for i in it], threading.get_ident()

    items, loop_ident = backend.run(main)
    assert items == [0, 1, 2, 3, 4]
    assert len(set(probe.idents)) == 1  # the same thread for every item
    assert probe.idents[0] != loop_ident
    assert probe.names[0].startswith("synchronaut-gen")
    assert probe.finally_ident == probe.idents[0]


def test_async_iter_call_async_and_options_async_give_the_same_iterator(backend) -> None:
    made_in_sync_code = call_async(Probe().numbers, 2)  # consumed later, inside a loop

    async def main() -> list[list[int]]:
        return [
            [i async for i in async_iter(Probe().numbers(2))],
            [i async for i in made_in_sync_code],
            [i async for i in CallOptions(timeout=5).async_(Probe().numbers, 2)],
            [i async for i in async_iter([7, 8])],  # any iterable, not only generators
        ]

    assert backend.run(main) == [[0, 1], [0, 1], [0, 1], [7, 8]]


def test_breaking_out_early_closes_the_generator_on_its_thread(backend) -> None:
    probe = Probe()

    async def main() -> bool:
        async for i in call_any(probe.numbers, 10):
            if i == 1:
                break
        return await wait_for(probe.finished)

    assert backend.run(main)
    assert probe.finally_ident == probe.idents[0]
    assert len(probe.idents) == 2  # nothing produced past the break


def test_aclose_and_async_with_close_the_generator_before_returning(backend) -> None:
    first, second = Probe(), Probe()

    async def main() -> tuple[bool, bool]:
        it = call_any(first.numbers, 10)
        await it.__anext__()
        await it.aclose()
        closed_first = first.finished.is_set()
        async with call_any(second.numbers, 10) as it2:
            await it2.__anext__()
        return closed_first, second.finished.is_set()

    assert backend.run(main) == (True, True)
    assert first.finally_ident == first.idents[0]
    assert second.finally_ident == second.idents[0]


def test_read_ahead_produces_at_most_that_many_items_before_they_are_asked_for(
    backend,
) -> None:
    produced: list[int] = []
    ahead_full = threading.Event()
    read_ahead = 3

    def numbers() -> Iterator[int]:
        for i in range(100):
            produced.append(i)
            if len(produced) == 1 + read_ahead:
                ahead_full.set()
            yield i

    async def main() -> tuple[int, int, list[int]]:
        it = async_iter(numbers(), read_ahead=read_ahead)
        assert await it.__anext__() == 0
        assert await wait_for(ahead_full)  # the thread filled the buffer by itself
        # Checking that nothing more happens needs a little time; the bound is
        # what makes the count stop at 1 + read_ahead.
        await backend.sleep(0.1)
        produced_while_idle = len(produced)
        rest = [await it.__anext__() for _ in range(10)]
        await it.aclose()
        return produced_while_idle, len(produced), rest

    idle, total, rest = backend.run(main)
    assert idle == 1 + read_ahead
    assert rest == list(range(1, 11))
    assert total <= 11 + read_ahead


def test_a_huge_read_ahead_queues_nothing_up_front_and_steps_stay_prompt(backend) -> None:
    # read_ahead is a bound, not a count of jobs to queue: 2**62 must neither hang
    # the first step nor make later steps wait behind items being read ahead.
    def slow_numbers() -> Iterator[int]:
        i = 0
        while True:
            time.sleep(0.02)
            yield i
            i += 1

    async def main() -> tuple[list[int], list[int], float]:
        small = [i async for i in async_iter(range(5), read_ahead=2**62)]
        it = async_iter(slow_numbers(), read_ahead=2**62)
        first = [await it.__anext__()]
        start = time.monotonic()
        first += [await it.__anext__() for _ in range(5)]
        elapsed = time.monotonic() - start
        await it.aclose()
        return small, first, elapsed

    small, first, elapsed = backend.run(main)
    assert small == [0, 1, 2, 3, 4]
    assert first == [0, 1, 2, 3, 4, 5]
    assert elapsed < 2.0  # 5 items of 20 ms; queued behind read-ahead jobs: forever


def test_read_ahead_keeps_order_and_thread(backend) -> None:
    probe = Probe()

    async def main() -> list[int]:
        return [i async for i in async_iter(probe.numbers(20), read_ahead=4)]

    assert backend.run(main) == list(range(20))
    assert len(set(probe.idents)) == 1
    assert probe.finally_ident == probe.idents[0]


def test_a_step_past_its_timeout_raises_and_the_generator_is_closed_on_its_thread(
    backend,
) -> None:
    release = threading.Event()
    probe = Probe()

    def stalls_after_one() -> Iterator[int]:
        try:
            probe.idents.append(threading.get_ident())
            yield 0
            release.wait(WAIT)  # a blocking call that cannot be interrupted
            probe.idents.append(threading.get_ident())
            yield 1
        finally:
            probe.finally_ident = threading.get_ident()
            probe.finished.set()

    async def main() -> bool:
        it = call_any(stalls_after_one, timeout=0.2)
        assert await it.__anext__() == 0
        with pytest.raises(CallAnyTimeout):
            await it.__anext__()
        release.set()  # the abandoned step finishes; the close follows it, same thread
        closed = await wait_for(probe.finished)
        with pytest.raises(StopAsyncIteration):
            await it.__anext__()
        return closed

    assert backend.run(main)
    assert probe.idents == [probe.idents[0]] * 2
    assert probe.finally_ident == probe.idents[0]


@pytest.mark.parametrize("read_ahead", [0, 2])
def test_an_exception_in_the_generator_comes_out_of_the_step_that_reached_it(
    backend, read_ahead: int
) -> None:
    def fails_third() -> Iterator[int]:
        yield 0
        yield 1
        raise ValueError("third item")

    async def main() -> None:
        it = async_iter(fails_third(), read_ahead=read_ahead)
        assert await it.__anext__() == 0
        assert await it.__anext__() == 1
        with pytest.raises(ValueError, match="third item") as info:
            await it.__anext__()
        assert "fails_third" in [frame.name for frame in traceback.extract_tb(info.tb)]
        with pytest.raises(StopAsyncIteration):
            await it.__anext__()

    backend.run(main)


def test_each_step_sees_the_consumers_context_vars_and_writes_back(backend) -> None:
    def reads_and_sets() -> Iterator[str]:
        yield marker.get()
        marker.set("set-by-generator")
        yield marker.get()

    async def main() -> tuple[str, str, str]:
        marker.set("first")
        it = call_any(reads_and_sets)
        seen_first = await it.__anext__()
        marker.set("second")  # the next step runs in the context as it is now
        seen_second = await it.__anext__()
        await it.aclose()
        return seen_first, seen_second, marker.get()

    assert backend.run(main) == ("first", "set-by-generator", "set-by-generator")


def test_thread_sensitive_generators_run_on_the_thread_sensitive_thread(backend) -> None:
    probe_default, probe_block = Probe(), Probe()

    async def main() -> None:
        async for _ in call_any(probe_default.numbers, 2, thread_sensitive=True):
            pass
        async with thread_sensitive_context():
            async for _ in call_any(probe_block.numbers, 2, thread_sensitive=True):
                pass

    backend.run(main)
    assert set(probe_default.names) == {"synchronaut-sensitive-1"}
    assert set(probe_block.names) == {"synchronaut-sensitive-block-1"}


def test_a_sync_generator_cannot_be_given_an_executor(backend) -> None:
    pool = WorkerPool(2)

    async def main() -> None:
        with pytest.raises(ValueError, match="dedicated thread"):
            call_any(Probe().numbers, 2, executor=pool)

    try:
        backend.run(main)
    finally:
        pool.shutdown()


def test_async_iter_rejects_bad_arguments_and_use_outside_a_loop() -> None:
    with pytest.raises(TypeError, match="iterable"):
        async_iter(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="read_ahead"):
        async_iter([1], read_ahead=-1)
    with pytest.raises(TypeError, match="read_ahead"):
        async_iter([1], read_ahead=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timeout"):
        async_iter([1], timeout=-1)
    step = async_iter([1]).__anext__()
    with pytest.raises(RuntimeError, match="inside asyncio or Trio"):
        step.send(None)
