"""The C hot paths keep no reference: each one, run many times, leaves memory flat.

A leaked reference to a callee, an argument, a result or an exception keeps the object
alive: with a fresh list per call, 20 000 calls would leak over a megabyte, far above
the bound here.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import tracemalloc
import weakref
from collections.abc import Callable
from typing import Any

import pytest

from synchronaut_core import _accelerator, call_any, synchronaut

pytestmark = pytest.mark.skipif(
    _accelerator._speedups is None, reason=f"C accelerator not loaded: {_accelerator._REASON}"
)

CALLS = 20_000
#: Far below a leak of one small object per call (20 000 x >= 56 bytes).
BOUND = 200_000


def fresh(x: int, *rest: Any, **kwargs: Any) -> list[int]:
    return [x]


def failing(x: int) -> None:
    raise ValueError([x])


async def fresh_async(x: int) -> list[int]:
    return [x]


class NotACoroutine:
    """An awaitable value (not a Coroutine): resolve() hands it to Python, which returns it."""

    def __await__(self) -> Any:
        yield None


def awaitable_value(x: int) -> NotACoroutine:
    return NotACoroutine()


class Methods:
    @synchronaut
    def method(self, x: int, *rest: Any, **kwargs: Any) -> list[int]:
        return [x]

    @synchronaut
    @classmethod
    def klass(cls, x: int) -> list[int]:
        return [x]


decorated = synchronaut(fresh)
decorated_async = synchronaut(fresh_async)


def _growth(run: Callable[[int], None]) -> int:
    run(200)  # warm up: caches, interned names, the first bound-type lookups
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        run(CALLS)
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    return sum(stat.size_diff for stat in after.compare_to(before, "filename"))


def _sync_paths(n: int) -> None:
    obj = Methods()
    many = tuple(range(12))  # more than the bound call's small stack
    for i in range(n):
        call_any(fresh, i)
        call_any(fresh, i, flag=[i])  # keyword names
        call_any(awaitable_value, i)
        with contextlib.suppress(ValueError):
            call_any(failing, i)
        decorated(i)
        obj.method(i)
        obj.method(i, *many, key=[i])  # a bound call without the lent slot, > 8 args
        Methods.klass(i)
        call_any(obj.method, i)


def _async_paths(n: int) -> None:
    async def main() -> None:
        for i in range(n):
            await call_any(fresh_async, i)
            await decorated_async(i)

    asyncio.run(main())


@pytest.mark.parametrize("paths", [_sync_paths, _async_paths], ids=["sync", "asyncio"])
def test_the_c_paths_leave_memory_flat(paths: Callable[[int], None]) -> None:
    growth = _growth(paths)
    assert growth < BOUND, f"{growth} bytes kept after {CALLS} rounds"


def test_the_c_paths_keep_no_callee() -> None:
    def callee(x: int) -> int:
        return x

    async def async_callee(x: int) -> int:
        return x

    refs = [weakref.ref(callee), weakref.ref(async_callee)]
    wrapped = synchronaut(callee)
    refs.append(weakref.ref(wrapped))
    assert call_any(callee, 1) == 1
    assert wrapped(2) == 2

    async def main(func: Callable[[int], Any]) -> None:
        assert await call_any(func, 3) == 3

    asyncio.run(main(async_callee))
    del callee, async_callee, wrapped
    gc.collect()
    assert [ref() for ref in refs] == [None, None, None]
