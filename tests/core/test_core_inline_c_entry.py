"""``call_any(fn, *args, inline=True)``: the C call_any's direct route and Python's agree.

The C call_any takes ``call_any(def_fn, *args, inline=True)`` inside asyncio straight
to the inline driver; every other call naming ``inline`` goes to Python. Each case is
made through both (``call_any`` and the pure ``_call._call_any_py``) and must give the
same: values, what kind of object comes back, errors.
"""

from __future__ import annotations

import asyncio
import inspect
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import trio

from synchronaut_core import InlineIterator, _call, call_any

ENTRIES: dict[str, Callable[..., Any]] = {"C": call_any, "pure": _call._call_any_py}  # pyright: ignore[reportPrivateUsage]


@pytest.fixture(params=list(ENTRIES))
def entry(request: pytest.FixtureRequest) -> Callable[..., Any]:
    return ENTRIES[request.param]


def add(a: int, b: int = 0) -> tuple[int, int]:
    return a + b, threading.get_ident()


def rows(n: int) -> Iterator[int]:
    yield from range(n)


async def fetch(x: int) -> int:
    await asyncio.sleep(0)
    return x


def test_a_def_runs_inline_with_positional_arguments(entry: Callable[..., Any]) -> None:
    async def main() -> None:
        awaitable = entry(add, 2, 3, inline=True)
        assert inspect.isawaitable(awaitable)
        assert await awaitable == (5, threading.get_ident())
        assert await entry(add, 7, inline=True) == (7, threading.get_ident())

    asyncio.run(main())


def test_callee_keywords_and_other_options_take_pythons_route(entry: Callable[..., Any]) -> None:
    async def main() -> None:
        assert await entry(add, 2, b=3, inline=True) == (5, threading.get_ident())
        assert await entry(add, 1, inline=True, timeout=5) == (1, threading.get_ident())
        with pytest.raises(TypeError, match="inline must be True or False"):
            entry(add, 1, inline=1)
        with pytest.raises(ValueError, match="thread_sensitive"):
            entry(add, 1, inline=True, thread_sensitive=True)

    asyncio.run(main())


def test_a_generator_function_gives_an_inline_iterator(entry: Callable[..., Any]) -> None:
    async def main() -> list[int]:
        iterator = entry(rows, 3, inline=True)
        assert isinstance(iterator, InlineIterator)
        return [item async for item in iterator]

    assert asyncio.run(main()) == [0, 1, 2]


def test_an_async_def_is_awaited_as_always(entry: Callable[..., Any]) -> None:
    async def main() -> int:
        return await entry(fetch, 4, inline=True)

    assert asyncio.run(main()) == 4


@pytest.mark.skipif(sys.version_info < (3, 12), reason="markcoroutinefunction is 3.12+")
def test_a_def_marked_async_is_awaited_not_run_inline(entry: Callable[..., Any]) -> None:
    def marked(x: int) -> Any:
        return fetch(x)

    inspect.markcoroutinefunction(marked)  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]

    async def main() -> int:
        return await entry(marked, 6, inline=True)

    assert asyncio.run(main()) == 6


def test_a_non_function_callable_runs_inline_too(entry: Callable[..., Any]) -> None:
    class Adder:
        def __call__(self, a: int) -> tuple[int, int]:
            return add(a)

    async def main() -> tuple[int, int]:
        return await entry(Adder(), 8, inline=True)

    assert asyncio.run(main()) == (8, threading.get_ident())


def test_in_plain_sync_code_and_in_inline_code_inline_changes_nothing(
    entry: Callable[..., Any],
) -> None:
    assert entry(add, 1, inline=True) == (1, threading.get_ident())

    def nested() -> tuple[int, int]:
        return entry(add, 9, inline=True)  # inline code: a direct call, its value

    async def main() -> tuple[int, int]:
        return await entry(nested, inline=True)

    assert asyncio.run(main()) == (9, threading.get_ident())


def test_under_trio_the_call_runs_inline_as_well(entry: Callable[..., Any]) -> None:
    async def main() -> tuple[int, int]:
        return await entry(add, 3, 4, inline=True)

    assert trio.run(main) == (7, threading.get_ident())
