"""Adversarial cases for a ``parallel_map`` that reads its input lazily (issue 17).

An iterator is read as the batch goes, so a batch that has ended -- failed, or its
caller cancelled -- must stop reading it, and an unbounded iterator must not be read
to the end before any call starts. Each generator here has a guard: read too far, it
raises ``AssertionError``, which the batch hands to the caller (a hang becomes a
failure).
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import trio
from batch_helpers import Mode, checkpoint, forever, nap

from synchronaut_batch import parallel_map
from synchronaut_core import current_async_library

GUARD = 5_000


class Boom(Exception):
    pass


def test_an_unbounded_iterator_without_max_concurrency_stops_at_a_failure(mode: Mode) -> None:
    # Without max_concurrency every entry gets a worker, but the calls must start as
    # the input is read: an asyncio batch that read the whole (endless) input before
    # its first call started would never start one.
    if not mode.is_async:
        pytest.skip("sync code reads its iterator in full first, in its own thread (below)")
    read: list[int] = []

    async def fail_soon() -> None:
        await checkpoint()
        raise Boom("the first call fails")

    def calls() -> Iterator[Any]:
        yield (fail_soon, (), {}, None)
        for i in itertools.count(1):
            read.append(i)
            if i > GUARD:
                raise AssertionError(f"{i} entries read and the first call not failed yet")
            yield (forever, (), {}, None)

    with pytest.raises(Boom, match="the first call fails"):
        mode.call(lambda: parallel_map(calls()))

    assert len(read) < GUARD


def test_cancelling_the_caller_stops_reading_the_input(run: Any) -> None:
    # A call that swallows its cancellation returns normally; its worker must not
    # then read the next entry and start it: the caller is gone. With an endless
    # input the batch would otherwise never end (the caller waits for its workers).
    started: list[int] = []
    read: list[int] = []
    returned: list[Any] = []

    async def stubborn() -> str:
        started.append(0)
        try:
            await forever()
        except BaseException:
            return "swallowed the cancellation"
        return "not reached"

    async def later(i: int) -> int:
        started.append(i)
        await nap(0.001)
        return i

    def calls() -> Iterator[Any]:
        yield (stubborn, (), {}, None)
        for i in itertools.count(1):
            read.append(i)
            if i > GUARD:
                raise AssertionError(f"{i} entries read after the caller was cancelled")
            yield (later, (i,), {}, None)

    async def main() -> None:
        if current_async_library() == "trio":
            with trio.move_on_after(0.05):
                # No call raises (the one in flight swallowed its Cancelled): the
                # batch must still not return a short list to a cancelled caller.
                returned.append(await parallel_map(calls(), max_concurrency=1))
            return
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(parallel_map(calls(), max_concurrency=1), 0.05)

    run(main)

    assert started == [0]
    assert read == []
    assert returned == []


# --- sync callers: the iterator is read in the caller's thread, before any call ------
#
# The batch itself runs on synchronaut's background loop; an iterator read there would
# break when it is bound to its thread (a cursor) or calls synchronaut itself (it would
# see "asyncio" and get awaitables). Found by the adversarial review; fixed by reading a
# sync caller's iterator into a list in its own thread.


def square(x: int) -> int:
    return x * x


def test_a_sync_caller_can_feed_a_thread_bound_iterator() -> None:
    connection = sqlite3.connect(":memory:")  # its objects work only in this thread
    try:
        connection.execute("create table t (x)")
        connection.executemany("insert into t values (?)", [(i,) for i in range(5)])
        rows = connection.execute("select x from t order by x")
        assert parallel_map((square, (x,), {}, None) for (x,) in rows) == [0, 1, 4, 9, 16]
    finally:
        connection.close()


def test_a_sync_caller_can_feed_one_batch_from_another() -> None:
    def second_stage() -> Iterator[Any]:
        # Sync code: parallel_map gives the list. Read on the background loop it
        # gives an awaitable instead (TypeError: 'coroutine' object is not iterable).
        for value in parallel_map([(square, (i,), {}, None) for i in range(3)]):
            yield (square, (value + 1,), {}, None)

    assert parallel_map(second_stage()) == [1, 4, 25]


def test_a_sync_callers_iterator_is_read_in_its_thread_before_any_call() -> None:
    caller = threading.get_ident()
    readers: set[int] = set()
    started: list[int] = []

    def note(i: int) -> int:
        started.append(i)
        return i

    def calls() -> Iterator[Any]:
        for i in range(20):
            readers.add(threading.get_ident())
            assert started == [], "a call started before the input was read"
            yield (note, (i,), {}, None)

    assert parallel_map(calls(), max_concurrency=3) == list(range(20))
    assert readers == {caller}
