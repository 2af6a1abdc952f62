"""parallel_iter: (index, outcome) as each call finishes; leaving early cancels the rest."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from batch_helpers import Mode, Signal, forever, nap, run_on, within

from synchronaut_batch import BatchIterator, parallel_iter, parallel_map
from synchronaut_core import CallAnyTimeout, shutdown


class Boom(Exception):
    pass


def sync_boom() -> None:
    raise Boom("sync")


def sync_value(x: int) -> int:
    return x


async def wait_then(gate: Signal, then: Signal | None, value: str) -> str:
    await gate.wait()
    if then is not None:
        then.set()
    return value


def chain(order: list[int]) -> list[Any]:
    """Async calls that finish exactly in ``order`` (call i waits for its predecessor)."""
    gates = [Signal() for _ in order]
    calls: list[Any] = [None] * len(order)
    for step, index in enumerate(order):
        nxt = gates[order[step + 1]] if step + 1 < len(order) else None
        calls[index] = (wait_then, (gates[index], nxt, f"call {index}"), {}, 5.0)
    first = gates[order[0]]

    async def opener() -> str:
        first.set()
        return "opener"

    return [*calls, (opener, (), {}, None)]


def collect(mode: Mode, make: Any) -> list[tuple[int, Any]]:
    """Run ``parallel_iter`` from ``mode`` and list what it yields, in order."""
    if mode.name == "sync":
        return list(make())

    async def main() -> list[tuple[int, Any]]:
        return [item async for item in make()]

    return run_on(mode.name, main)


def test_outcomes_arrive_in_the_order_calls_finish(mode: Mode) -> None:
    calls = chain([2, 0, 3, 1])

    items = collect(mode, lambda: parallel_iter(calls))

    # The opener (index 4) finishes first, then the chain in its order.
    assert items == [
        (4, "opener"),
        (2, "call 2"),
        (0, "call 0"),
        (3, "call 3"),
        (1, "call 1"),
    ]


def test_every_index_comes_exactly_once_with_failures_as_outcomes(mode: Mode) -> None:
    calls: list[Any] = [
        (sync_value, (0,), {}, None),
        (sync_boom, (), {}, None),
        (forever, (), {}, 0.02),
        (nap, (0.001,), {}, None),
    ]

    items = dict(collect(mode, lambda: parallel_iter(calls)))

    assert sorted(items) == [0, 1, 2, 3]
    assert items[0] == 0
    assert isinstance(items[1], Boom)
    assert isinstance(items[2], CallAnyTimeout)
    assert items[3] is None


def test_an_empty_batch_yields_nothing(mode: Mode) -> None:
    assert collect(mode, lambda: parallel_iter([])) == []


def test_in_sync_code_it_is_a_plain_iterator() -> None:
    iterator = parallel_iter([(sync_value, (1,), {}, None)])

    assert isinstance(iterator, Iterator)
    assert list(iterator) == [(0, 1)]


def test_in_async_code_it_is_an_async_iterator(run: Any) -> None:
    async def main() -> tuple[bool, list[Any]]:
        iterator = parallel_iter([(sync_value, (1,), {}, None)])
        return isinstance(iterator, AsyncIterator), [item async for item in iterator]

    is_async_iterator, items = run(main)

    assert is_async_iterator
    assert items == [(0, 1)]


def _pending_calls(log: list[str], count: int) -> list[Any]:
    async def pending() -> None:
        try:
            await forever()
        finally:
            log.append("finally")

    calls: list[Any] = [(sync_value, (0,), {}, None)]
    calls += [(pending, (), {}, None) for _ in range(count)]
    return calls


def test_breaking_out_of_the_sync_loop_cancels_what_is_pending() -> None:
    log: list[str] = []
    calls = _pending_calls(log, 5)

    for index, outcome in parallel_iter(calls):
        assert (index, outcome) == (0, 0)
        break

    # CPython closes the dropped generator at once; closing waits for the cancellations.
    assert log == ["finally"] * 5


def test_closing_the_sync_iterator_cancels_what_is_pending() -> None:
    log: list[str] = []
    calls = _pending_calls(log, 3)

    with contextlib.closing(parallel_iter(calls)) as items:
        assert next(items) == (0, 0)

    assert log == ["finally"] * 3


def test_breaking_out_of_the_async_loop_cancels_what_is_pending(run: Any) -> None:
    log: list[str] = []
    all_cancelled = Signal()

    async def pending() -> None:
        try:
            await forever()
        finally:
            log.append("finally")
            if len(log) == 4:
                all_cancelled.set()

    async def main() -> None:
        calls: list[Any] = [(sync_value, (0,), {}, None)]
        calls += [(pending, (), {}, None) for _ in range(4)]
        async for index, outcome in parallel_iter(calls):
            assert (index, outcome) == (0, 0)
            break
        # The dropped iterator asked its workers to stop; they do so promptly.
        await within(5, all_cancelled.wait())

    run(main)

    assert log == ["finally"] * 4


def test_async_with_closes_and_waits_for_the_cancellations(run: Any) -> None:
    log: list[str] = []

    async def main() -> None:
        async with parallel_iter(_pending_calls(log, 3)) as items:
            assert await items.__anext__() == (0, 0)
        assert log == ["finally"] * 3  # already: aclose() waited

    run(main)


def test_aclose_after_exhaustion_and_before_start_is_harmless(run: Any) -> None:
    async def main() -> None:
        unstarted = parallel_iter([(sync_value, (1,), {}, None)])
        assert isinstance(unstarted, BatchIterator)
        await unstarted.aclose()
        assert [item async for item in unstarted] == []

        done = parallel_iter([(sync_value, (1,), {}, None)])
        assert [item async for item in done] == [(0, 1)]
        await done.aclose()

    run(main)


def test_an_iterator_never_iterated_starts_no_call(mode: Mode) -> None:
    started: list[int] = []

    def make() -> None:
        parallel_iter([(started.append, (1,), {}, None)])

    mode.inside(make)

    assert started == []


def test_max_concurrency_bounds_the_calls_in_flight(mode: Mode) -> None:
    lock = threading.Lock()
    state = {"now": 0, "peak": 0}
    barrier = threading.Barrier(2, timeout=5)

    def work(i: int) -> int:
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        barrier.wait()  # two at a time, every time
        with lock:
            state["now"] -= 1
        return i

    calls = [(work, (i,), {}, None) for i in range(10)]

    items = collect(mode, lambda: parallel_iter(calls, max_concurrency=2))

    assert sorted(items) == [(i, i) for i in range(10)]
    assert state["peak"] == 2


@pytest.mark.parametrize("error", [KeyboardInterrupt, SystemExit])
def test_a_fatal_error_from_a_call_reaches_the_consumer(mode: Mode, error: type) -> None:
    async def fatal() -> None:
        raise error()

    calls: list[Any] = [(fatal, (), {}, None), (forever, (), {}, None)]

    with pytest.raises(error):
        collect(mode, lambda: parallel_iter(calls))


def test_a_background_loop_shut_down_mid_iteration_ends_it_with_a_clear_error() -> None:
    log: list[str] = []
    items = parallel_iter(_pending_calls(log, 2))
    assert next(items) == (0, 0)

    shutdown()  # cancels the pending calls; the next sync batch starts a new loop

    # The batch lived on that loop: the iteration ends, saying so.
    with pytest.raises(RuntimeError, match="synchronaut's event loop is (closed|shutting down)"):
        next(items)
    assert log == ["finally"] * 2
    assert parallel_map([(sync_value, (1,), {}, None)]) == [1]
