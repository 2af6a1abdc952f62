"""Decorated functions through call_any/call_sync/CallOptions and under a second decorator.

Issue 14, items 3 and 5: options given over a decorated function apply in every
context (they stack with the decorator's: the outer ones apply, the tightest timeout
wins), and ``call_sync``/``call_any`` of decorated functions and methods behave as
for the plain function -- in sync code, a plain thread, a synchronaut worker, and
inside every backend.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support_threads import in_thread

from synchronaut_core import (
    CallAnyTimeout,
    CallOptions,
    call_any,
    call_sync,
    check_cancelled,
    current_async_library,
    synchronaut,
)


async def nap(seconds: float) -> None:
    """Sleep on whichever library runs this task."""
    if current_async_library() == "trio":
        await trio.sleep(seconds)
    else:
        await asyncio.sleep(seconds)


# --- item 3: the options of the call apply over the decorator's ------------------------


@synchronaut
async def sleeps() -> str:
    await asyncio.sleep(5)
    return "slept"


def test_call_any_timeout_applies_to_a_decorated_async_def_in_sync_code() -> None:
    # The first case: returned "slept" after the full 5 s instead.
    with pytest.raises(CallAnyTimeout, match=r"sleeps timed out after 0\.1s"):
        call_any(sleeps, timeout=0.1)


def test_decorating_again_with_a_timeout_applies_it_in_sync_code() -> None:
    # The second case.
    with pytest.raises(CallAnyTimeout, match=r"sleeps timed out after 0\.1s"):
        synchronaut(timeout=0.1)(sleeps)()


def test_a_timed_out_decorated_coroutine_is_cancelled() -> None:
    cleaned = threading.Event()

    @synchronaut
    async def holds() -> None:
        try:
            await asyncio.sleep(5)
        finally:
            cleaned.set()

    with pytest.raises(CallAnyTimeout):
        call_sync(holds, timeout=0.05)
    assert cleaned.wait(5)


async def _waits_async() -> str:
    await nap(10)
    return "not timed out"


def _waits_sync() -> str:
    # Stops once its caller gave up: an abandoned thread does not outlive the example.
    for _ in range(1000):
        check_cancelled()
        time.sleep(0.01)
    return "not timed out"


def _through(entry: str, func: Callable[..., Any], timeout: float | None) -> Any:
    """A call of ``func`` through ``entry``, with ``timeout`` given at that outer level."""
    if entry == "call_any":
        return call_any(func, timeout=timeout)
    if entry == "call_sync":
        return call_sync(func, timeout=timeout)
    if entry == "CallOptions":
        return CallOptions(timeout=timeout)(func)
    assert entry == "decorator"
    return synchronaut(timeout=timeout)(func)()


TIMEOUTS = st.sampled_from([None, 0.05, 0.3])


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    inner=TIMEOUTS,
    outer=TIMEOUTS,
    kind=st.sampled_from(["def", "async def"]),
    entry=st.sampled_from(["call_any", "call_sync", "CallOptions", "decorator"]),
    where=st.sampled_from(["sync", "asyncio", "trio"]),
)
def test_the_tightest_timeout_wins(
    inner: float | None, outer: float | None, kind: str, entry: str, where: str
) -> None:
    if inner is None and outer is None:
        return  # nothing would time out
    raw = _waits_sync if kind == "def" else _waits_async
    decorated = synchronaut(timeout=inner)(raw)
    expected = min(t for t in (inner, outer) if t is not None)

    def call() -> Any:
        return _through(entry, decorated, outer)

    async def in_loop() -> Any:
        result = call()
        # call_sync blocks for the value; the others give an awaitable here.
        return result if entry == "call_sync" else await result

    def run_there() -> Any:
        if where == "sync":
            return call()
        if where == "asyncio":
            return asyncio.run(in_loop())
        return trio.run(in_loop)

    with pytest.raises(CallAnyTimeout) as caught:
        run_there()
    # The message names the limit that was enforced.
    assert str(caught.value).endswith(f"timed out after {expected}s"), str(caught.value)


def _pool(name: str) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(1, thread_name_prefix=name)


def _thread_name() -> str:
    return threading.current_thread().name


def test_an_outer_executor_replaces_the_decorators() -> None:
    with _pool("inner-pool") as inner, _pool("outer-pool") as outer:
        decorated = synchronaut(executor=inner, force_offload=True)(_thread_name)
        assert decorated().startswith("inner-pool")
        assert call_any(decorated, executor=outer).startswith("outer-pool")
        assert call_sync(decorated, executor=outer).startswith("outer-pool")
        assert CallOptions(executor=outer)(decorated).startswith("outer-pool")
        assert synchronaut(executor=outer)(decorated)().startswith("outer-pool")

        async def main() -> str:
            return await call_any(decorated, executor=outer)

        assert asyncio.run(main()).startswith("outer-pool")


def test_force_offload_holds_from_either_level() -> None:
    here = _thread_name()
    offloaded = synchronaut(force_offload=True)(_thread_name)
    assert call_any(offloaded) != here
    assert call_any(offloaded, timeout=30) != here
    assert synchronaut(timeout=30)(offloaded)() != here
    assert call_sync(synchronaut(_thread_name), force_offload=True) != here


def test_thread_sensitive_holds_from_either_level(backend) -> None:
    sensitive = synchronaut(thread_sensitive=True)(threading.get_ident)

    async def main() -> list[int]:
        return [
            await sensitive(),
            await call_any(sensitive, timeout=30),
            await synchronaut(timeout=30)(sensitive)(),
            await call_any(synchronaut(threading.get_ident), thread_sensitive=True),
        ]

    idents = backend.run(main)
    assert len(set(idents)) == 1, idents  # one thread-sensitive thread for every call
    assert idents[0] != threading.get_ident()


def test_thread_sensitive_and_an_executor_at_different_levels_are_refused() -> None:
    with _pool("refused") as pool:
        sensitive = synchronaut(thread_sensitive=True)(_thread_name)
        pooled = synchronaut(executor=pool)(_thread_name)
        for call in (
            lambda: call_any(sensitive, executor=pool),
            lambda: call_sync(sensitive, executor=pool),
            lambda: synchronaut(executor=pool)(sensitive)(),
            lambda: call_any(pooled, thread_sensitive=True),
            lambda: synchronaut(thread_sensitive=True)(pooled).sync(),
        ):
            with pytest.raises(ValueError, match="thread_sensitive at one level"):
                call()


# --- item 5: call_sync/call_any of decorated functions, as of the plain ones -------------


def _fingerprint(x: int) -> tuple[int, int, str | None]:
    # What the callee saw: its argument, its thread, the async library running it.
    return x, threading.get_ident(), current_async_library()


def _add(x: int) -> tuple[int, int, str | None]:
    return _fingerprint(x)


async def _async_add(x: int) -> tuple[int, int, str | None]:
    await nap(0)
    return _fingerprint(x)


def _method(self: object, x: int) -> tuple[int, int, str | None]:
    return _fingerprint(x)


async def _async_method(self: object, x: int) -> tuple[int, int, str | None]:
    await nap(0)
    return _fingerprint(x)


def _class_method(cls: type, x: int) -> tuple[int, int, str | None]:
    return _fingerprint(x)


async def _async_static(x: int) -> tuple[int, int, str | None]:
    await nap(0)
    return _fingerprint(x)


class PlainRepo:
    get = _method
    aget = _async_method
    cget = classmethod(_class_method)
    sget = staticmethod(_async_static)


def _decorated_repo(**options: Any) -> Any:
    decorate = synchronaut(**options)

    class Repo:
        get = decorate(_method)
        aget = decorate(_async_method)
        cget = decorate(classmethod(_class_method))
        sget = decorate(staticmethod(_async_static))

    return Repo


OPTION_SETS: list[dict[str, Any]] = [{}, {"timeout": 30}]


def _pairs(options: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(label, decorated, plain): the same callable, decorated with ``options`` or not."""
    decorate = synchronaut(**options)
    repo, plain = _decorated_repo(**options)(), PlainRepo()
    return [
        ("def", decorate(_add), _add),
        ("async def", decorate(_async_add), _async_add),
        ("method", repo.get, plain.get),
        ("async method", repo.aget, plain.aget),
        ("classmethod", type(repo).cget, PlainRepo.cget),
        ("async staticmethod", repo.sget, plain.sget),
    ]


def _seen(fingerprint: tuple[int, int, str | None], caller: int) -> tuple[int, bool, str | None]:
    value, ident, library = fingerprint
    return value, ident == caller, library


def _compare_in_sync_code() -> None:
    caller = threading.get_ident()
    for options in OPTION_SETS:
        for label, decorated, plain in _pairs(options):
            for entry in (call_sync, call_any):
                got = _seen(entry(decorated, 1), caller)
                want = _seen(CallOptions(**options).sync(plain, 1), caller)
                assert got == want, (label, options, entry.__name__)


def test_decorated_functions_behave_as_the_plain_ones_in_sync_code() -> None:
    _compare_in_sync_code()


def test_decorated_functions_behave_as_the_plain_ones_in_a_plain_thread() -> None:
    in_thread(_compare_in_sync_code)


def test_decorated_functions_behave_as_the_plain_ones_in_a_worker_thread() -> None:
    # A synchronaut pool worker (offloaded sync code calling back in).
    call_sync(_compare_in_sync_code, force_offload=True)


def test_decorated_functions_behave_as_the_plain_ones_inside_a_loop(backend) -> None:
    # In Trio, call_sync(decorated def) raised "must be called from async context":
    # the wrapper handed back a Trio-bound awaitable, then run on the asyncio loop.
    async def main() -> None:
        caller = threading.get_ident()
        for options in OPTION_SETS:
            bound = CallOptions(**options)
            for label, decorated, plain in _pairs(options):
                got = _seen(call_sync(decorated, 2), caller)
                want = _seen(bound.sync(plain, 2), caller)
                assert got == want, ("call_sync", label, options)
                got = _seen(await call_any(decorated, 2), caller)
                want = _seen(await bound(plain, 2), caller)
                assert got == want, ("call_any", label, options)

    backend.run(main)
