"""Bad input raises TypeError/ValueError naming its position, before any call starts."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
from batch_helpers import Mode

from synchronaut_batch import call_map, parallel_iter, parallel_map

STARTED: list[int] = []


def record(i: int) -> int:
    STARTED.append(i)
    return i


async def record_async(i: int) -> int:
    STARTED.append(i)
    return i


@pytest.fixture(autouse=True)
def _clear_started() -> None:
    STARTED.clear()


def good(i: int) -> tuple[Any, ...]:
    return (record if i % 2 else record_async, (i,), {}, None)


BAD_ENTRIES = [
    pytest.param(
        (record, (1,)),
        TypeError,
        "calls[3]: expected a 4-tuple (func, args, kwargs, timeout), got a 2-tuple",
        id="2-tuple",
    ),
    pytest.param(
        (record, (1,), {}, None, "extra"),
        TypeError,
        "calls[3]: expected a 4-tuple (func, args, kwargs, timeout), got a 5-tuple",
        id="5-tuple",
    ),
    pytest.param(
        [record, (1,), {}, None],
        TypeError,
        "calls[3]: expected a 4-tuple (func, args, kwargs, timeout), got list",
        id="list-entry",
    ),
    pytest.param(record, TypeError, "calls[3]: expected a 4-tuple", id="bare-function"),
    pytest.param((42, (1,), {}, None), TypeError, "calls[3]: func must be callable", id="func"),
    pytest.param(
        (record, 1, {}, None),
        TypeError,
        "calls[3]: args must be a tuple (write (x,) for one argument), got int 1",
        id="args-int",
    ),
    pytest.param((record, [1], {}, None), TypeError, "calls[3]: args must be a tuple", id="list"),
    pytest.param(
        (record, (), None, None),
        TypeError,
        "calls[3]: kwargs must be a dict (write {} for none), got NoneType",
        id="kwargs-none",
    ),
    pytest.param(
        (record, (), {1: 2}, None), TypeError, "calls[3]: kwargs keys must be str", id="key"
    ),
    pytest.param(
        (record, (1,), {}, "1s"),
        TypeError,
        "calls[3]: timeout must be None or a number of seconds, got '1s' (str)",
        id="timeout-str",
    ),
    pytest.param((record, (1,), {}, True), TypeError, "calls[3]: timeout", id="timeout-bool"),
    pytest.param(
        (record, (1,), {}, 0),
        ValueError,
        "calls[3]: timeout must be None or a positive, finite number of seconds, got 0",
        id="timeout-zero",
    ),
    pytest.param((record, (1,), {}, -1.0), ValueError, "calls[3]: timeout", id="negative"),
    pytest.param((record, (1,), {}, math.inf), ValueError, "calls[3]: timeout", id="inf"),
    pytest.param((record, (1,), {}, math.nan), ValueError, "calls[3]: timeout", id="nan"),
]


@pytest.mark.parametrize(("entry", "error", "message"), BAD_ENTRIES)
def test_a_bad_entry_is_named_and_nothing_starts(
    mode: Mode, entry: Any, error: type[Exception], message: str
) -> None:
    calls = [good(0), good(1), good(2), entry, good(4)]

    with pytest.raises(error, match=re.escape(message)):
        mode.call(lambda: parallel_map(calls))

    assert STARTED == []


def test_a_bad_entry_late_in_a_generator_is_named_and_read_lazily(mode: Mode) -> None:
    # An iterator is read as the batch goes: none of the calls after the bad entry
    # starts, the error names its position. The bad entry is read when one of the two
    # workers is done with its call; the other worker's call may be cancelled before
    # it starts (a sync call still queued), so one of the 50 may be missing.
    read: list[int] = []

    def calls() -> Any:
        for i in range(50):
            read.append(i)
            yield good(i)
        yield (record, "not a tuple", {}, None)
        read.append(-1)  # never reached: the batch stops reading at the bad entry
        yield good(51)

    with pytest.raises(TypeError, match=re.escape("calls[50]: args must be a tuple")):
        mode.call(lambda: parallel_map(calls(), max_concurrency=2, return_exceptions=True))

    if not mode.is_async:
        # Sync code reads its iterator in full, in its own thread, then checks it:
        # nothing starts.
        assert read == [*range(50), -1]
        assert STARTED == []
        return
    assert read == list(range(50))
    assert set(STARTED) <= set(range(50))
    assert len(STARTED) >= 49


@pytest.mark.parametrize("limit", [1, 3, 7])
def test_an_iterator_is_consumed_lazily_within_max_concurrency(mode: Mode, limit: int) -> None:
    # While call i runs, at most `limit` entries past the finished calls were read.
    if not mode.is_async:
        pytest.skip("sync code reads its iterator in full first, in its own thread")
    read: list[int] = []
    ahead: list[int] = []

    def probe(i: int) -> int:
        ahead.append(len(read) - len(done))
        done.append(i)
        return i

    done: list[int] = []

    def calls() -> Any:
        for i in range(40):
            read.append(i)
            yield (probe, (i,), {}, None)

    assert mode.call(lambda: parallel_map(calls(), max_concurrency=limit)) == list(range(40))
    assert max(ahead) <= limit


def test_parallel_iter_checks_its_input_the_same_way(mode: Mode) -> None:
    calls = [good(0), good(1), good(2), (record, (1,), {}, -5)]

    def start() -> None:
        with pytest.raises(ValueError, match=re.escape("calls[3]: timeout")):
            parallel_iter(calls)  # at the call, in every mode: not at the first next()

    mode.inside(start)

    assert STARTED == []


async def _raises_at_the_call() -> None:
    # In async code the error comes from parallel_map() itself, before any awaitable
    # exists (so no "coroutine was never awaited" either).
    with pytest.raises(TypeError, match=re.escape("calls[0]: expected a 4-tuple")):
        parallel_map([(record,)])


def test_in_async_code_bad_input_raises_at_the_call(run: Any) -> None:
    run(_raises_at_the_call)


@pytest.mark.parametrize(
    ("calls", "message"),
    [
        pytest.param(None, "calls must be an iterable of", id="None"),
        pytest.param(42, "calls must be an iterable of", id="int"),
        pytest.param("abc", "calls must be an iterable of", id="str"),
    ],
)
def test_calls_that_is_not_an_iterable_of_tuples_is_a_TypeError(calls: Any, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        parallel_map(calls)


@pytest.mark.parametrize(
    ("value", "error"),
    [
        pytest.param(0, ValueError, id="zero"),
        pytest.param(-3, ValueError, id="negative"),
        pytest.param(2.5, TypeError, id="float"),
        pytest.param(True, TypeError, id="bool"),
        pytest.param("4", TypeError, id="str"),
    ],
)
def test_a_bad_max_concurrency_is_rejected(value: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="max_concurrency"):
        parallel_map([good(1)], max_concurrency=value)
    with pytest.raises(error, match="max_concurrency"):
        parallel_iter([good(1)], max_concurrency=value)

    assert STARTED == []


def test_an_executor_that_is_not_an_executor_is_a_TypeError() -> None:
    with pytest.raises(TypeError, match="executor must be a concurrent.futures.Executor"):
        parallel_map([good(1)], executor="threads")  # type: ignore[arg-type]

    assert STARTED == []


def test_call_map_names_the_function_that_is_not_callable(mode: Mode) -> None:
    with pytest.raises(TypeError, match=re.escape("funcs[1]: expected a callable, got 'nope'")):
        mode.call(lambda: call_map([record, "nope", record_async], 1))

    assert STARTED == []


def test_call_map_rejects_a_bad_timeout_before_any_call(mode: Mode) -> None:
    with pytest.raises(ValueError, match="timeout"):
        mode.call(lambda: call_map([record, record_async], 1, timeout=-1))

    assert STARTED == []
