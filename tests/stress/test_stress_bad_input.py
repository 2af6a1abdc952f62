"""Bad input, fuzzed: random values for every argument of the public functions.

The only outcomes allowed are the right result, or a ``TypeError``/``ValueError``
whose message names what was wrong -- raised before any user code ran. (One more is
documented: an executor that was shut down gives a ``RuntimeError`` saying so.) Each
example runs in plain sync code, in asyncio or in Trio, chosen at random too.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import functools
import inspect
import math
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support_backends import Backend

from synchronaut import (
    CallOptions,
    ContextExecutor,
    WorkerPool,
    async_iter,
    bind_context,
    call_any,
    call_async,
    call_map,
    call_sync,
    get_request_ctx,
    parallel_iter,
    parallel_map,
    request_context,
    set_request_ctx,
    shutdown,
    spawn_thread_with_ctx,
    sync_iter,
    synchronaut,
)

MODES = ["sync", "asyncio", "trio"]

# --- the callees: each counts its runs and has a known result ----------------------

runs: list[str] = []


def sync_double(x: int) -> int:
    runs.append("sync_double")
    return 2 * x


async def async_double(x: int) -> int:
    runs.append("async_double")
    return 2 * x


def sync_twice(x: int) -> Iterator[int]:
    runs.append("sync_twice")
    yield x
    yield x


async def async_twice(x: int) -> AsyncIterator[int]:
    runs.append("async_twice")
    yield x
    yield x


class Doubler:
    def __call__(self, x: int) -> int:
        runs.append("Doubler")
        return 2 * x


def returns_coroutine(x: int) -> Any:
    return async_double(x)


GOOD: dict[Callable[..., Any], Callable[[int], Any]] = {
    sync_double: lambda x: 2 * x,
    async_double: lambda x: 2 * x,
    sync_twice: lambda x: [x, x],
    async_twice: lambda x: [x, x],
    Doubler(): lambda x: 2 * x,
    functools.partial(sync_double): lambda x: 2 * x,
    functools.partial(async_double): lambda x: 2 * x,
    returns_coroutine: lambda x: 2 * x,
}
GENERATORS = {sync_twice, async_twice}


# --- random values ---------------------------------------------------------------

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=4),
    st.binary(max_size=4),
    st.lists(st.integers(), max_size=3),
    st.tuples(st.integers()),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    st.builds(object),
    st.sampled_from([int, str, Ellipsis, 1j]),
)
non_callable = junk.filter(lambda value: not callable(value))
good_func = st.sampled_from(list(GOOD))
funcs = st.one_of(good_func, good_func, non_callable)
#: Numbers users might pass as seconds, valid or not -- but no valid one small enough
#: for a good callee to time out.
timeouts = st.one_of(
    st.none(),
    st.floats(min_value=0.5, max_value=1e300),
    st.integers(min_value=1, max_value=2**64),
    st.integers(min_value=2**1024, max_value=2**1100),  # too large for a float
    st.floats(max_value=0, allow_nan=False),
    st.integers(max_value=0),
    st.sampled_from([math.nan, math.inf, -math.inf, True, False]),
    junk,
).filter(lambda t: not (isinstance(t, (int, float)) and not isinstance(t, bool) and 0 < t < 0.5))
flags = st.one_of(st.booleans(), junk)
values = st.integers(min_value=-1000, max_value=1000)


@pytest.fixture(scope="module")
def executors() -> Any:
    pools = {
        "pool": WorkerPool(2, thread_name_prefix="fuzz-pool"),
        "tpe": concurrent.futures.ThreadPoolExecutor(2),
        "ctx": ContextExecutor(max_workers=2),
        "closed": WorkerPool(1, thread_name_prefix="fuzz-closed"),
    }
    pools["closed"].shutdown()
    yield pools
    for pool in pools.values():
        pool.shutdown(wait=True)


def executor_strategy(executors: dict[str, Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), st.sampled_from(list(executors.values())), junk)


def examples(scale) -> Callable[[Any], Any]:
    return settings(
        max_examples=scale(60, 600),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


# --- running an example -----------------------------------------------------------


def resolve_sync(result: Any) -> Any:
    if isinstance(result, Iterator):
        return list(result)
    return result


async def resolve_async(result: Any) -> Any:
    if inspect.isawaitable(result):
        result = await result
    if isinstance(result, AsyncIterator):
        return [item async for item in result]
    if isinstance(result, Iterator):
        return list(result)
    return result


def outcome(mode: str, make: Callable[[], Any]) -> Any:
    """``make()`` run in ``mode`` (sync code, or inside asyncio/Trio) and resolved."""
    if mode == "sync":
        return resolve_sync(make())

    async def main() -> Any:
        return await resolve_async(make())

    return Backend(mode).run(main)


def check(
    mode: str,
    make: Callable[[], Any],
    expected: Callable[[], Any],
    names: tuple[str, ...],
    *,
    closed_executor: bool = False,
) -> None:
    """The right result, or a clear TypeError/ValueError before any callee ran."""
    runs.clear()
    try:
        result = outcome(mode, make)
    except (TypeError, ValueError) as exc:
        message = str(exc)
        assert any(name in message for name in names), (type(exc), message, names)
        assert runs == [], f"{runs} ran before {type(exc).__name__}: {message}"
        return
    except RuntimeError as exc:
        # The one documented runtime outcome of an argument: a shut-down executor.
        assert closed_executor, exc
        assert "shut down" in str(exc)
        return
    assert result == expected(), (result, expected())


def is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def valid_timeout(timeout: object) -> bool:
    if timeout is None:
        return True
    if not is_number(timeout):
        return False
    try:
        return 0 < float(timeout) < math.inf  # type: ignore[arg-type]
    except OverflowError:
        return False


# --- call_any, call_sync, call_async, CallOptions -------------------------------------


def test_call_any_with_random_arguments_gives_the_result_or_a_clear_error(scale, executors) -> None:
    @examples(scale)
    @given(
        mode=st.sampled_from(MODES),
        func=funcs,
        x=values,
        timeout=timeouts,
        executor=executor_strategy(executors),
        force_offload=flags,
        thread_sensitive=flags,
    )
    def run(mode, func, x, timeout, executor, force_offload, thread_sensitive) -> None:
        check(
            mode,
            lambda: call_any(
                func,
                x,
                timeout=timeout,
                executor=executor,
                force_offload=force_offload,
                thread_sensitive=thread_sensitive,
            ),
            lambda: GOOD[func](x),
            ("func", "timeout", "executor", "force_offload", "thread_sensitive", "generator"),
            closed_executor=executor is executors["closed"],
        )

    run()


def test_call_sync_call_async_and_call_options_with_random_arguments(scale, executors) -> None:
    @examples(scale)
    @given(
        mode=st.sampled_from(MODES),
        kind=st.sampled_from(["call_sync", "call_async", "CallOptions"]),
        func=funcs,
        x=values,
        timeout=timeouts,
        executor=executor_strategy(executors),
        thread_sensitive=flags,
    )
    def run(mode, kind, func, x, timeout, executor, thread_sensitive) -> None:
        if kind == "call_sync" and mode != "sync":
            return  # blocks a running loop on purpose: covered in tests/core
        if kind == "call_async" and mode == "sync":
            return  # an awaitable for later, nothing to resolve here

        def make() -> Any:
            if kind == "call_sync":
                return call_sync(
                    func, x, timeout=timeout, executor=executor, thread_sensitive=thread_sensitive
                )
            if kind == "call_async":
                return call_async(
                    func, x, timeout=timeout, executor=executor, thread_sensitive=thread_sensitive
                )
            options = CallOptions(
                timeout=timeout, executor=executor, thread_sensitive=thread_sensitive
            )
            return options(func, x)

        check(
            mode,
            make,
            lambda: GOOD[func](x),
            ("func", "timeout", "executor", "thread_sensitive", "generator"),
            closed_executor=executor is executors["closed"],
        )

    run()


@pytest.mark.parametrize("mode", MODES)
def test_a_timeout_too_large_for_a_float_is_refused_with_value_error(mode) -> None:
    with pytest.raises(ValueError, match="timeout"):
        outcome(mode, lambda: call_any(async_double, 1, timeout=10**400))
    calls = [(sync_double, (1,), {}, None), (sync_double, (1,), {}, 10**400)]
    with pytest.raises(ValueError, match=r"calls\[1\]: timeout"):
        outcome(mode, lambda: parallel_map(calls))


# --- the decorator -----------------------------------------------------------------


def test_the_decorator_with_random_arguments_gives_the_result_or_a_clear_error(
    scale, executors
) -> None:
    @examples(scale)
    @given(
        mode=st.sampled_from(MODES),
        # (None is not a bad function here: ``synchronaut(None)`` is ``synchronaut()``.)
        func=funcs.filter(lambda func: func is not None),
        x=values,
        with_options=st.booleans(),
        timeout=timeouts,
        executor=executor_strategy(executors),
        force_offload=flags,
        thread_sensitive=flags,
        form=st.sampled_from(["call", "sync", "async_"]),
    )
    def run(
        mode, func, x, with_options, timeout, executor, force_offload, thread_sensitive, form
    ) -> None:
        if (form == "sync") != (mode == "sync") and form != "call":
            return  # .sync() blocks a loop, .async_() needs one: covered in tests/meta

        def make() -> Any:
            if with_options:
                decorate = synchronaut(
                    timeout=timeout,
                    executor=executor,
                    force_offload=force_offload,
                    thread_sensitive=thread_sensitive,
                )
                wrapped = decorate(func)
            else:
                wrapped = synchronaut(func)
            return getattr(wrapped, "__call__" if form == "call" else form)(x)

        check(
            mode,
            make,
            lambda: GOOD[func](x),
            ("function", "timeout", "executor", "force_offload", "thread_sensitive", "generator"),
            closed_executor=with_options and executor is executors["closed"],
        )

    run()


# --- batches -------------------------------------------------------------------------

good_entries = st.tuples(
    good_func.filter(lambda f: f not in GENERATORS),
    st.tuples(values),
    st.just({}),
    timeouts.filter(valid_timeout),
)
bad_entries = st.one_of(
    junk,
    st.lists(junk, max_size=5).map(tuple).filter(lambda t: len(t) != 4),
    st.tuples(non_callable, st.tuples(values), st.just({}), st.none()),
    st.tuples(good_func, junk.filter(lambda a: not isinstance(a, tuple)), st.just({}), st.none()),
    st.tuples(
        good_func, st.tuples(values), junk.filter(lambda k: not isinstance(k, dict)), st.none()
    ),
    st.tuples(good_func, st.tuples(values), st.just({1: 2}), st.none()),
    st.tuples(
        good_func, st.tuples(values), st.just({}), timeouts.filter(lambda t: not valid_timeout(t))
    ),
)
entries = st.lists(st.one_of(good_entries, good_entries, good_entries, bad_entries), max_size=6)


def first_bad(calls: list[Any]) -> int | None:
    for index, entry in enumerate(calls):
        if not (
            isinstance(entry, tuple)
            and len(entry) == 4
            and callable(entry[0])
            and isinstance(entry[1], tuple)
            and isinstance(entry[2], dict)
            and all(isinstance(key, str) for key in entry[2])
            and valid_timeout(entry[3])
        ):
            return index
    return None


def test_parallel_map_and_parallel_iter_with_random_arguments(scale, executors) -> None:
    @examples(scale)
    @given(
        mode=st.sampled_from(MODES),
        iterate=st.booleans(),
        calls=st.one_of(entries, entries, entries, junk),
        executor=executor_strategy(executors),
        return_exceptions=flags,
        max_concurrency=st.one_of(st.none(), st.integers(min_value=-2, max_value=8), junk),
    )
    def run(mode, iterate, calls, executor, return_exceptions, max_concurrency) -> None:
        def make() -> Any:
            if iterate:
                return parallel_iter(calls, executor=executor, max_concurrency=max_concurrency)
            return parallel_map(
                calls,
                executor=executor,
                return_exceptions=return_exceptions,
                max_concurrency=max_concurrency,
            )

        def expected() -> Any:
            results = [GOOD[func](*args) for func, args, _, _ in calls]
            return list(enumerate(results)) if iterate else results

        names = ("calls", "executor", "max_concurrency")
        if isinstance(calls, list) and (bad := first_bad(calls)) is not None:
            names = (f"calls[{bad}]", "executor", "max_concurrency")
        check(
            mode,
            lambda: sorted_if(iterate, make),
            expected,
            names,
            closed_executor=executor is executors["closed"],
        )

    run()


def sorted_if(iterate: bool, make: Callable[[], Any]) -> Any:
    """parallel_iter yields in finishing order: compare its pairs sorted."""
    result = make()
    if not iterate:
        return result
    if isinstance(result, Iterator):
        return sorted(result)

    async def collect() -> Any:
        return sorted([pair async for pair in result])

    return collect()


def test_call_map_with_random_arguments(scale, executors) -> None:
    @examples(scale)
    @given(
        mode=st.sampled_from(MODES),
        funcs=st.one_of(
            st.lists(
                st.one_of(good_func.filter(lambda f: f not in GENERATORS), non_callable), max_size=4
            ),
            junk,
        ),
        x=values,
        timeout=timeouts,
        executor=executor_strategy(executors),
    )
    def run(mode, funcs, x, timeout, executor) -> None:
        check(
            mode,
            lambda: call_map(funcs, x, timeout=timeout, executor=executor),
            lambda: [GOOD[func](x) for func in funcs],
            ("funcs", "timeout", "executor"),
            closed_executor=executor is executors["closed"],
        )

    run()


# --- the ctx helpers -----------------------------------------------------------------


def test_request_context_helpers_take_any_value(scale) -> None:
    @examples(scale)
    @given(value=junk, outer=junk, mode=st.sampled_from(MODES))
    def run(value, outer, mode) -> None:
        def in_fresh_context() -> None:
            assert get_request_ctx(outer) is outer  # unset: the default
            set_request_ctx(outer)
            with request_context(value) as entered:
                assert entered is value
                assert get_request_ctx() is value
            assert get_request_ctx() is outer

        async def in_a_task() -> None:
            async with request_context(value):
                assert get_request_ctx() is value
            assert get_request_ctx("unset") == "unset"

        contextvars.copy_context().run(in_fresh_context)
        if mode != "sync":
            Backend(mode).run(in_a_task)

    run()


def test_thread_and_bind_helpers_with_random_arguments(scale) -> None:
    @examples(scale)
    @given(
        target=st.one_of(good_func.filter(lambda f: f not in GENERATORS), non_callable),
        x=values,
        # No small positive number: result() may then time out (TimeoutError, as
        # documented) while the thread still runs.
        timeout=st.one_of(
            st.none(),
            st.floats(min_value=5, max_value=1e300),
            junk.filter(lambda t: not is_number(t) or math.isnan(t) or t >= 5),
        ),
    )
    def run(target, x, timeout) -> None:
        for kind in ("spawn", "bind"):
            refused = not callable(target) or (
                kind == "bind" and inspect.iscoroutinefunction(target)
            )
            try:
                if kind == "spawn":
                    thread = spawn_thread_with_ctx(target, x)
                    try:
                        result = thread.result(timeout)
                    except (TypeError, ValueError) as exc:
                        assert "timeout" in str(exc), exc
                        result = thread.result()
                else:
                    result = bind_context(target)(x)
            except TypeError as exc:
                assert refused, exc
                assert "callable" in str(exc) or "coroutine" in str(exc), exc
                continue
            assert not refused
            if inspect.iscoroutine(result):
                result = asyncio.run(result)  # an async target's value is a coroutine
            assert result == GOOD[target](x)

    run()


def test_context_executor_with_random_arguments(scale, executors) -> None:
    @examples(scale)
    @given(
        inner=st.one_of(st.none(), st.sampled_from(["tpe", "pool"]), junk),
        max_workers=st.one_of(st.none(), st.integers(min_value=-2, max_value=4), junk),
        x=values,
    )
    def run(inner, max_workers, x) -> None:
        wrapped = executors[inner] if inner in ("tpe", "pool") else inner
        try:
            executor = ContextExecutor(wrapped, max_workers=max_workers)
        except (TypeError, ValueError) as exc:
            assert "ContextExecutor" in str(exc) or "max_workers" in str(exc), exc
            return
        try:
            assert executor.submit(sync_double, x).result(timeout=10) == 2 * x
            assert list(executor.map(sync_double, [x, x + 1], timeout=10)) == [2 * x, 2 * x + 2]
            assert call_any(sync_double, x, executor=executor, timeout=10) == 2 * x
        finally:
            executor.shutdown(wait=True)

    run()


# --- iterators and threads of their own ------------------------------------------------


def test_iterator_bridges_with_random_arguments(scale) -> None:
    @examples(scale)
    @given(
        mode=st.sampled_from(MODES),
        source=st.one_of(st.sampled_from(["agen", "gen", "list"]), junk),
        timeout=timeouts,
        read_ahead=st.one_of(st.integers(min_value=-2, max_value=5), junk),
        thread_sensitive=flags,
    )
    def run(mode, source, timeout, read_ahead, thread_sensitive) -> None:
        named = {"agen": async_twice, "gen": sync_twice, "list": lambda x: [x, x]}

        is_named = isinstance(source, str) and source in named

        def make() -> Any:
            iterable = named[source](3) if is_named else source
            if mode == "sync":
                return sync_iter(iterable, timeout=timeout)
            return async_iter(
                iterable, timeout=timeout, read_ahead=read_ahead, thread_sensitive=thread_sensitive
            )

        def expected() -> Any:
            return [3, 3] if is_named else list(source)  # junk that is iterable

        try:
            result = outcome(mode, make)
        except (TypeError, ValueError) as exc:
            assert any(n in str(exc) for n in ("iterable", "timeout", "read_ahead")), exc
            return
        assert result == expected()

    run()


def test_worker_pool_and_shutdown_with_random_arguments(scale) -> None:
    # A bad idle_timeout used to fail only inside a worker thread, which died with
    # its queue unserved; a huge one overflowed the queue's wait.
    @examples(scale)
    @given(
        max_workers=st.one_of(st.none(), st.integers(min_value=-2, max_value=4), junk),
        idle_timeout=st.one_of(st.none(), st.floats(min_value=0.5, max_value=1e300), junk),
        shutdown_timeout=st.one_of(st.none(), st.floats(min_value=0, max_value=1e300), junk),
        x=values,
    )
    def run(max_workers, idle_timeout, shutdown_timeout, x) -> None:
        try:
            pool = WorkerPool(max_workers, idle_timeout=idle_timeout)
        except (TypeError, ValueError) as exc:
            assert "max_workers" in str(exc) or "idle_timeout" in str(exc), exc
        else:
            try:
                assert pool.submit(sync_double, x).result(timeout=10) == 2 * x
                assert call_any(sync_double, x, executor=pool, timeout=10) == 2 * x
            finally:
                pool.shutdown()
        try:
            shutdown(shutdown_timeout)
        except (TypeError, ValueError) as exc:
            assert "timeout" in str(exc), exc
        assert call_any(async_double, x) == 2 * x  # a new background loop

    run()
