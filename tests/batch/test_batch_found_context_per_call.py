"""Each call of a batch starts from the caller's ContextVars, untouched by the others.

Found by review of the unbounded window (c7a237c): a worker task runs call after
call, and an ``async def`` is awaited in the worker's own context (a sync call's
changes are written back into it), so a call saw the ContextVar changes of the calls
that ran before it on the same worker -- a request id, a transaction, a counter
leaking from one unrelated call into the next, depending on timing. Before, every
call had a task of its own, hence its own copy of the caller's context. c7cc1c5
fixed asyncio batches without a limit by retiring a worker whose context a call
changed; bounded batches (``max_concurrency``), every Trio batch, ``parallel_iter``
(its workers also take call after call) and ``call_map`` in sync code (direct calls
one after another, each seeing the previous one's changes, the caller all of them)
leaked the same way.

Fixed for all of them by one rule (``synchronaut_batch._context``): a worker runs its
calls directly while its context is the one it started with, and once a call has
changed it, each further call in a fresh copy of that starting context (every step
of the call's coroutine inside ``ctx.run``). These tests pin what ``asyncio.gather``
gives: every call sees the caller's values as they were when the batch started,
whatever ran before it -- async or sync, returned or raised, bounded or not, on
every loop -- and neither the other calls nor the caller see what it set; its own
steps (and the offloaded sync calls it makes) do; cancelling the batch mid-way
still cancels every call, each in its own context.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import Callable
from typing import Any

import pytest
import trio
from batch_helpers import Countdown, Mode, checkpoint, forever, run_on

from synchronaut_batch import call_map, parallel_iter, parallel_map
from synchronaut_core import CallAnyTimeout, call_any, current_async_library

SEEN: contextvars.ContextVar[int] = contextvars.ContextVar("SEEN", default=0)
TAG: contextvars.ContextVar[object] = contextvars.ContextVar("TAG", default=None)

#: More than the first window (64): workers take further calls.
MANY = 300

#: Bounded and not: one worker (every call after the first on it), a few, none.
LIMITS = [
    pytest.param(None, id="unbounded"),
    pytest.param(1, id="limit1"),
    pytest.param(3, id="limit3"),
]

#: What the caller has set before the batch: every call must see it.
CALLER = 100


class Boom(Exception):
    pass


async def async_bump() -> int:
    value = SEEN.get()
    SEEN.set(value + 1)
    await checkpoint()
    return value


def sync_bump() -> int:
    value = SEEN.get()
    SEEN.set(value + 1)
    return value


async def quick_async_bump() -> int:
    # Finishes without waiting: a worker runs many of these in one step of its task.
    value = SEEN.get()
    SEEN.set(value + 1)
    return value


async def async_bump_then_raise() -> None:
    value = SEEN.get()
    SEEN.set(value + 1)
    await checkpoint()
    raise Boom(value)


def sync_bump_then_raise() -> None:
    value = SEEN.get()
    SEEN.set(value + 1)
    raise Boom(value)


def in_caller_context(mode: Mode, make: Callable[[], Any]) -> tuple[Any, int]:
    """``make()`` (a batch: a list, or an awaitable of one) run from ``mode``.

    The caller sets ``SEEN`` to ``CALLER`` first; gives the batch's value and what
    the caller reads in ``SEEN`` once it is over. In a copy of the test's context,
    so that nothing leaks into other tests.
    """
    if mode.name == "sync":

        def body() -> tuple[Any, int]:
            SEEN.set(CALLER)
            value = make()
            return value, SEEN.get()

        return contextvars.copy_context().run(body)

    async def main() -> tuple[Any, int]:
        SEEN.set(CALLER)
        value = await make()
        return value, SEEN.get()

    return contextvars.copy_context().run(run_on, mode.name, main)


def iterated(mode: Mode, calls: list[Any], limit: int | None) -> Callable[[], Any]:
    """A ``make`` for ``in_caller_context``: ``parallel_iter``'s outcomes in index order."""
    if mode.name == "sync":
        return lambda: sorted(parallel_iter(calls, max_concurrency=limit))

    async def collect() -> list[tuple[int, Any]]:
        return sorted([item async for item in parallel_iter(calls, max_concurrency=limit)])

    return collect


def test_async_calls_do_not_see_each_others_changes(mode: Mode) -> None:
    calls: list[Any] = [(async_bump, (), {}, None)] * MANY
    results = contextvars.copy_context().run(mode.call, lambda: parallel_map(calls))
    assert results == [0] * MANY


def test_sync_calls_do_not_see_each_others_changes(mode: Mode) -> None:
    calls: list[Any] = [(sync_bump, (), {}, None)] * MANY
    results = contextvars.copy_context().run(mode.call, lambda: parallel_map(calls))
    assert results == [0] * MANY


def test_mixed_calls_do_not_see_each_others_changes(mode: Mode) -> None:
    calls: list[Any] = [(async_bump if i % 2 else sync_bump, (), {}, None) for i in range(MANY)]
    results = contextvars.copy_context().run(mode.call, lambda: parallel_map(calls))
    assert results == [0] * MANY


def test_bounded_calls_do_not_see_each_others_changes(mode: Mode) -> None:
    calls: list[Any] = [(async_bump, (), {}, None)] * 20
    results = contextvars.copy_context().run(
        mode.call, lambda: parallel_map(calls, max_concurrency=2)
    )
    assert results == [0] * 20


@pytest.mark.parametrize("limit", LIMITS)
@pytest.mark.parametrize(
    "funcs",
    [
        pytest.param((async_bump,), id="async"),
        pytest.param((quick_async_bump,), id="quick-async"),
        pytest.param((sync_bump,), id="sync"),
        pytest.param((async_bump, sync_bump, quick_async_bump), id="mixed"),
    ],
)
def test_every_call_starts_from_the_callers_values_and_the_caller_keeps_them(
    mode: Mode, limit: int | None, funcs: tuple[Callable[[], Any], ...]
) -> None:
    calls: list[Any] = [(funcs[i % len(funcs)], (), {}, None) for i in range(MANY)]
    results, after = in_caller_context(mode, lambda: parallel_map(calls, max_concurrency=limit))
    assert results == [CALLER] * MANY
    assert after == CALLER


@pytest.mark.parametrize("limit", LIMITS)
def test_a_call_that_changes_a_variable_then_raises_leaks_nothing(
    mode: Mode, limit: int | None
) -> None:
    raising = (async_bump_then_raise, sync_bump_then_raise)
    calls: list[Any] = [
        (raising[i % 2] if i % 3 else async_bump, (), {}, None) for i in range(MANY)
    ]
    results, after = in_caller_context(
        mode, lambda: parallel_map(calls, max_concurrency=limit, return_exceptions=True)
    )
    for i, outcome in enumerate(results):
        if i % 3:
            assert isinstance(outcome, Boom)
            assert outcome.args == (CALLER,)
        else:
            assert outcome == CALLER
    assert after == CALLER


@pytest.mark.parametrize("limit", LIMITS)
def test_the_first_failure_propagates_and_leaks_nothing_to_the_caller(
    mode: Mode, limit: int | None
) -> None:
    calls: list[Any] = [(async_bump, (), {}, None)] * 10
    calls.append((sync_bump_then_raise, (), {}, None))

    def make() -> Any:
        return parallel_map(calls, max_concurrency=limit)

    if mode.name == "sync":

        def body() -> tuple[str, int]:
            SEEN.set(CALLER)
            with pytest.raises(Boom) as info:
                make()
            return str(info.value), SEEN.get()

        message, after = contextvars.copy_context().run(body)
    else:

        async def main() -> tuple[str, int]:
            SEEN.set(CALLER)
            with pytest.raises(Boom) as info:
                await make()
            return str(info.value), SEEN.get()

        message, after = contextvars.copy_context().run(run_on, mode.name, main)
    assert message == str(CALLER)  # it, too, started from the caller's value
    assert after == CALLER


async def keeps_its_own(i: int) -> tuple[int, object, object]:
    """Sets ``TAG`` and keeps seeing it across its awaits and an offloaded sync call."""
    seen = SEEN.get()
    SEEN.set(seen + 1)
    TAG.set(("async", i))
    for _ in range(3):
        await checkpoint()
        assert TAG.get() == ("async", i)
    # An offloaded sync call sees this call's values, and its changes come back to
    # this call only (the core writes them back into the context it awaits in).
    offloaded = await call_any(tag_in_thread, i)
    after_offload = TAG.get()
    await checkpoint()
    assert TAG.get() == after_offload
    return seen, offloaded, after_offload


def tag_in_thread(i: int) -> object:
    before = TAG.get()
    TAG.set(("thread", i))
    return before


@pytest.mark.parametrize("limit", LIMITS)
def test_a_call_sees_its_own_changes_across_its_steps_and_its_offloaded_calls(
    mode: Mode, limit: int | None
) -> None:
    calls: list[Any] = [(keeps_its_own, (i,), {}, None) for i in range(MANY)]
    results, after = in_caller_context(mode, lambda: parallel_map(calls, max_concurrency=limit))
    assert results == [(CALLER, ("async", i), ("thread", i)) for i in range(MANY)]
    assert after == CALLER


async def spawns_and_reads(i: int) -> tuple[object, int]:
    """A task the call starts inherits the call's context, as it would from gather."""
    TAG.set(i)
    SEEN.set(SEEN.get() + 1)

    async def child() -> object:
        await checkpoint()
        return TAG.get()

    if current_async_library() == "trio":
        box: list[object] = []

        async def into_box() -> None:
            box.append(await child())

        async with trio.open_nursery() as nursery:
            nursery.start_soon(into_box)
        return box[0], SEEN.get()
    return await asyncio.ensure_future(child()), SEEN.get()


@pytest.mark.parametrize("limit", LIMITS)
def test_tasks_a_call_starts_inherit_its_context(mode: Mode, limit: int | None) -> None:
    calls: list[Any] = [(spawns_and_reads, (i,), {}, None) for i in range(MANY)]
    results, after = in_caller_context(mode, lambda: parallel_map(calls, max_concurrency=limit))
    assert results == [(i, CALLER + 1) for i in range(MANY)]
    assert after == CALLER


async def sets_then_waits(i: int) -> int:
    TAG.set(("slow", i))
    await checkpoint()
    await checkpoint()
    return SEEN.get()


@pytest.mark.parametrize("limit", LIMITS)
def test_per_call_timeouts_work_in_a_call_of_its_own_context(mode: Mode, limit: int | None) -> None:
    # Entries with a timeout go through the core's CallOptions (an async def awaited
    # within a deadline runs in a copy of the awaiting context: here, the call's own).
    calls: list[Any] = []
    for i in range(MANY):
        if i % 50 == 49:
            calls.append((forever, (), {}, 0.05))
        elif i % 2:
            calls.append((async_bump, (), {}, 5.0))
        else:
            calls.append((sets_then_waits, (i,), {}, 5.0))
    results, after = in_caller_context(
        mode, lambda: parallel_map(calls, max_concurrency=limit, return_exceptions=True)
    )
    for i, outcome in enumerate(results):
        if i % 50 == 49:
            assert isinstance(outcome, CallAnyTimeout)
        else:
            assert outcome == CALLER
    assert after == CALLER


class _Unequal:
    """A value whose ``==`` raises, as a NumPy array's truth value does."""

    def __eq__(self, other: object) -> bool:
        raise ValueError("ambiguous")

    __hash__ = object.__hash__


ODD: contextvars.ContextVar[object] = contextvars.ContextVar("ODD")


def set_odd(i: int) -> int:
    ODD.set(_Unequal())  # a new value each call: comparing contexts compares these
    return i


@pytest.mark.parametrize("limit", LIMITS)
def test_values_whose_equality_raises_do_not_fail_the_batch(mode: Mode, limit: int | None) -> None:
    calls: list[Any] = [(set_odd, (i,), {}, None) for i in range(MANY)]

    def start() -> Any:
        ODD.set(_Unequal())
        return parallel_map(calls, max_concurrency=limit)

    assert contextvars.copy_context().run(mode.call, start) == list(range(MANY))


# --- parallel_iter --------------------------------------------------------------------


@pytest.mark.parametrize("limit", LIMITS)
def test_parallel_iter_calls_do_not_see_each_others_changes(mode: Mode, limit: int | None) -> None:
    funcs = (async_bump, sync_bump, quick_async_bump)
    calls: list[Any] = [(funcs[i % 3], (), {}, None) for i in range(MANY)]
    items, after = in_caller_context(mode, iterated(mode, calls, limit))
    assert items == [(i, CALLER) for i in range(MANY)]
    assert after == CALLER


@pytest.mark.parametrize("limit", LIMITS)
def test_parallel_iter_a_call_that_changes_a_variable_then_raises_leaks_nothing(
    mode: Mode, limit: int | None
) -> None:
    raising = (async_bump_then_raise, sync_bump_then_raise)
    calls: list[Any] = [
        (raising[i % 2] if i % 3 else async_bump, (), {}, None) for i in range(MANY)
    ]
    items, after = in_caller_context(mode, iterated(mode, calls, limit))
    for i, (index, outcome) in enumerate(items):
        assert index == i
        if i % 3:
            assert isinstance(outcome, Boom)
            assert outcome.args == (CALLER,)
        else:
            assert outcome == CALLER
    assert after == CALLER


@pytest.mark.parametrize("limit", LIMITS)
def test_parallel_iter_a_call_sees_its_own_changes_across_its_steps(
    mode: Mode, limit: int | None
) -> None:
    calls: list[Any] = [(keeps_its_own, (i,), {}, None) for i in range(MANY)]
    items, after = in_caller_context(mode, iterated(mode, calls, limit))
    assert items == [(i, (CALLER, ("async", i), ("thread", i))) for i in range(MANY)]
    assert after == CALLER


# --- call_map -------------------------------------------------------------------------


def test_call_map_calls_do_not_see_each_others_changes(mode: Mode) -> None:
    # In sync code call_map calls the functions one after another in this thread: each
    # still in a copy of its own. In async code more functions than the first window.
    funcs = [(quick_async_bump, sync_bump, async_bump)[i % 3] for i in range(MANY)]
    results, after = in_caller_context(mode, lambda: call_map(funcs))
    assert results == [CALLER] * MANY
    assert after == CALLER


# --- cancellation mid-way -------------------------------------------------------------


#: Quick calls before the waiting ones: every worker has run one (and changed its
#: context) before it takes a waiting call, which then runs in a copy of its own.
BEFORE = 100


async def tagged_until_cancelled(i: int, countdown: Countdown, log: list[Any]) -> None:
    TAG.set(("waiting", i))
    try:
        await countdown.arrive()
        await forever()
    except BaseException as exc:
        log.append(type(exc).__name__)
        raise
    finally:
        # The cancellation reaches the call in its own context.
        log.append((i, TAG.get(), SEEN.get()))


def _cancellable_calls(countdown: Countdown, log: list[Any], waiting: int) -> list[Any]:
    calls: list[Any] = [(async_bump, (), {}, None)] * BEFORE
    calls += [(tagged_until_cancelled, (i, countdown, log), {}, None) for i in range(waiting)]
    return calls


def _check_cancelled(log: list[Any], waiting: int, cancelled: str) -> None:
    assert log.count(cancelled) == waiting
    finals: list[Any] = sorted([entry for entry in log if not isinstance(entry, str)])
    assert finals == [(i, ("waiting", i), CALLER) for i in range(waiting)]


@pytest.mark.parametrize(
    "limit", [pytest.param(None, id="unbounded"), pytest.param(3, id="limit3")]
)
def test_cancelling_the_batch_mid_way_cancels_every_call(run: Any, limit: int | None) -> None:
    waiting = 3
    log: list[Any] = []
    never_started: list[int] = []

    async def main() -> tuple[str, int]:
        SEEN.set(CALLER)
        countdown = Countdown(waiting + 1)
        calls = _cancellable_calls(countdown, log, waiting)
        # Bounded: every worker is busy waiting, so these never start.
        calls += [(never_started.append, (i,), {}, None) for i in range(10)] if limit else []
        if current_async_library() == "trio":
            with trio.CancelScope() as scope:

                async def cancel_when_started() -> None:
                    await countdown.arrive()
                    scope.cancel()

                async with trio.open_nursery() as nursery:
                    nursery.start_soon(cancel_when_started)
                    await parallel_map(calls, max_concurrency=limit)
            assert scope.cancelled_caught
            return "Cancelled", SEEN.get()

        async def batch() -> None:
            await parallel_map(calls, max_concurrency=limit)

        task = asyncio.ensure_future(batch())
        await countdown.arrive()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return "CancelledError", SEEN.get()

    cancelled, after = contextvars.copy_context().run(run, main)

    _check_cancelled(log, waiting, cancelled)
    assert never_started == []
    assert after == CALLER


@pytest.mark.parametrize(
    "limit", [pytest.param(None, id="unbounded"), pytest.param(3, id="limit3")]
)
def test_a_failure_mid_way_cancels_the_calls_running_in_their_own_copies(
    mode: Mode, limit: int | None
) -> None:
    waiting = 2
    log: list[Any] = []

    async def fail_when_all_started(countdown: Countdown) -> None:
        TAG.set("failing")
        await countdown.arrive()
        raise Boom("first failure")

    def make() -> Any:
        countdown = Countdown(waiting + 1)
        calls = _cancellable_calls(countdown, log, waiting)
        calls.append((fail_when_all_started, (countdown,), {}, None))
        return parallel_map(calls, max_concurrency=limit)

    if mode.name == "sync":

        def body() -> int:
            SEEN.set(CALLER)
            with pytest.raises(Boom, match="first failure"):
                make()
            return SEEN.get()

        after = contextvars.copy_context().run(body)
    else:

        async def main() -> int:
            SEEN.set(CALLER)
            with pytest.raises(Boom, match="first failure"):
                await make()
            return SEEN.get()

        after = contextvars.copy_context().run(run_on, mode.name, main)
    _check_cancelled(log, waiting, "Cancelled" if mode.name == "trio" else "CancelledError")
    assert after == CALLER


@pytest.mark.parametrize(
    "limit", [pytest.param(None, id="unbounded"), pytest.param(3, id="limit3")]
)
def test_leaving_parallel_iter_mid_way_cancels_every_call(run: Any, limit: int | None) -> None:
    waiting = 3
    log: list[Any] = []

    async def main() -> tuple[list[Any], int, str]:
        SEEN.set(CALLER)
        countdown = Countdown(waiting + 1)
        calls = _cancellable_calls(countdown, log, waiting)
        seen: list[Any] = []
        async with parallel_iter(calls, max_concurrency=limit) as items:
            async for _, outcome in items:
                seen.append(outcome)
                if len(seen) == BEFORE:
                    await countdown.arrive()  # every waiting call has started
                    break  # and they are all that is left
        library = current_async_library()
        return seen, SEEN.get(), "Cancelled" if library == "trio" else "CancelledError"

    seen, after, cancelled = contextvars.copy_context().run(run, main)

    assert seen == [CALLER] * BEFORE
    _check_cancelled(log, waiting, cancelled)
    assert after == CALLER


# --- the stepping itself ----------------------------------------------------------------


def test_an_exception_raised_after_a_swallowed_cancellation_gets_no_extra_context(
    run: Any,
) -> None:
    # The per-call path throws a cancellation into the call outside of any ``except``
    # block of its own: what the call raises afterwards chains as after a direct await.
    from synchronaut_batch._context import _in_copy  # pyright: ignore[reportPrivateUsage]

    started: list[bool] = []

    async def swallow_then_raise() -> None:
        started.append(True)
        with contextlib.suppress(BaseException):
            await forever()
        raise Boom("after")

    async def main() -> BaseException | None:
        start = contextvars.copy_context()
        caught: list[BaseException] = []

        async def driver() -> None:
            try:
                await _in_copy(start, call_any, swallow_then_raise, (), {})
            except Boom as exc:
                caught.append(exc)

        if current_async_library() == "trio":
            async with trio.open_nursery() as nursery:
                nursery.start_soon(driver)
                while not started:
                    await trio.lowlevel.checkpoint()
                nursery.cancel_scope.cancel()
        else:
            task = asyncio.ensure_future(driver())
            while not started:
                await asyncio.sleep(0)
            task.cancel()
            await task
        assert len(caught) == 1
        return caught[0].__context__

    assert run(main) is None


def _direct(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    # A caller that just calls: no loop needed to step what it returns by hand.
    return func(*args, **kwargs)


def test_closing_a_call_mid_way_closes_it_in_its_own_context() -> None:
    from synchronaut_batch._context import _in_copy  # pyright: ignore[reportPrivateUsage]

    log: list[object] = []

    async def waits() -> None:
        TAG.set("mine")
        try:
            await asyncio.sleep(0)
        finally:
            log.append(TAG.get())

    start = contextvars.copy_context()

    async def outer() -> None:
        await _in_copy(start, _direct, waits, (), {})

    coro = outer()
    coro.send(None)  # up to the call's first await (a bare yield: no loop needed)
    coro.close()
    assert log == ["mine"]
    assert TAG.get() is None  # nothing leaked into the test's own context


class _Awaitable:
    """An awaitable that is no native coroutine: its steps run in the call's copy too."""

    def __await__(self) -> Any:
        TAG.set("awaitable")
        yield None  # a bare yield: asyncio's sleep(0)
        return TAG.get()


def test_an_awaitable_that_is_no_coroutine_is_stepped_in_the_copy() -> None:
    from synchronaut_batch._context import _in_copy  # pyright: ignore[reportPrivateUsage]

    start = contextvars.copy_context()

    async def outer() -> object:
        return await _in_copy(start, _direct, _Awaitable, (), {})

    coro = outer()
    assert coro.send(None) is None
    with pytest.raises(StopIteration) as info:
        coro.send(None)
    assert info.value.value == "awaitable"
    assert TAG.get() is None


async def agen() -> Any:
    yield 1  # an async generator function: awaiting its call is the call's TypeError


@pytest.mark.parametrize("limit", LIMITS)
def test_a_call_that_gives_no_awaitable_fails_the_same_in_a_copy(
    mode: Mode, limit: int | None
) -> None:
    # The first call on each worker runs directly, the later ones in copies: the same
    # outcome either way.
    calls: list[Any] = [(async_bump, (), {}, None)] * 5
    calls += [(agen, (), {}, None)] * 5
    results, after = in_caller_context(
        mode, lambda: parallel_map(calls, max_concurrency=limit, return_exceptions=True)
    )
    assert results[:5] == [CALLER] * 5
    assert all(isinstance(outcome, TypeError) for outcome in results[5:])
    assert len({str(outcome) for outcome in results[5:]}) == 1
    assert after == CALLER


# --- calls that nest: a batch in a call, inline code ------------------------------------


async def nested_batch(i: int) -> list[int]:
    # The inner batch starts from this call's context: its calls see what it set.
    SEEN.set(SEEN.get() + 1)
    TAG.set(i)
    inner: list[Any] = [(async_bump, (), {}, None), (sync_bump, (), {}, None)] * 3
    values = await parallel_map(inner, max_concurrency=2)
    assert TAG.get() == i
    return values


@pytest.mark.parametrize("limit", LIMITS)
def test_a_batch_inside_a_call_starts_from_that_calls_context(
    mode: Mode, limit: int | None
) -> None:
    calls: list[Any] = [(nested_batch, (i,), {}, None) for i in range(40)]
    results, after = in_caller_context(mode, lambda: parallel_map(calls, max_concurrency=limit))
    assert results == [[CALLER + 1] * 6] * 40
    assert after == CALLER


def tag_inline(i: int) -> object:
    # Inline code (a greenlet the call's task drives): a bridge call to an async def
    # from here is awaited by that task, in the call's context.
    before = TAG.get()
    TAG.set(("inline", i))
    assert call_any(read_tag) == ("inline", i)
    return before


async def read_tag() -> object:
    await checkpoint()
    return TAG.get()


async def calls_inline(i: int) -> tuple[int, object, object]:
    seen = SEEN.get()
    SEEN.set(seen + 1)
    TAG.set(("async", i))
    before = await call_any(tag_inline, i, inline=True)
    await checkpoint()
    return seen, before, TAG.get()


@pytest.mark.parametrize("limit", LIMITS)
def test_inline_calls_run_in_the_calls_own_context(mode: Mode, limit: int | None) -> None:
    pytest.importorskip("greenlet")
    calls: list[Any] = [(calls_inline, (i,), {}, None) for i in range(MANY)]
    results, after = in_caller_context(mode, lambda: parallel_map(calls, max_concurrency=limit))
    assert results == [(CALLER, ("async", i), ("inline", i)) for i in range(MANY)]
    assert after == CALLER
