"""A ``def`` marked with ``inspect.markcoroutinefunction`` (3.12+) is an async callable.

Issue 14, item 7: the marker was honoured for a ``functools.partial`` of a marked
function but not for the function itself, so inside asyncio or Trio a marked def was
offloaded to a worker thread -- where the loop-bound work it starts fails. Now it is
awaited in the calling task, everywhere a coroutine function would be.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import sys
import threading
from collections.abc import Awaitable, Generator
from typing import Any

import pytest
import trio

from synchronaut_core import (
    CallAnyTimeout,
    SynchronautAsync,
    call_any,
    call_async,
    call_sync,
    current_async_library,
    synchronaut,
)

pytestmark = pytest.mark.skipif(
    sys.version_info < (3, 12), reason="inspect.markcoroutinefunction is new in Python 3.12"
)


async def nap(seconds: float) -> None:
    if current_async_library() == "trio":
        await trio.sleep(seconds)
    else:
        await asyncio.sleep(seconds)


async def _where_it_runs() -> tuple[int, str | None]:
    await nap(0)
    return threading.get_ident(), current_async_library()


def marked() -> Awaitable[tuple[int, int, str | None]]:
    """A marked def: what it returns is awaited in the caller's task."""
    called_on = threading.get_ident()  # the def's body: must run in the calling task

    async def body() -> tuple[int, int, str | None]:
        awaited_on, library = await _where_it_runs()
        return called_on, awaited_on, library

    return body()


def marked_slow() -> Awaitable[None]:
    return nap(10)


class Lazy:
    """What a marked def may return besides a coroutine: any awaitable."""

    def __await__(self) -> Generator[Any, None, str]:
        yield from nap(0).__await__()
        return "lazy"


def marked_lazy() -> Awaitable[str]:
    return Lazy()


if sys.version_info >= (3, 12):
    for _func in (marked, marked_slow, marked_lazy):
        inspect.markcoroutinefunction(_func)


def test_a_marked_def_is_awaited_in_the_calling_task(backend) -> None:
    async def main() -> tuple[int, list[tuple[int, int, str | None]]]:
        return threading.get_ident(), [
            await call_any(marked),
            await call_async(marked),
            await call_any(functools.partial(marked)),  # honoured before too
        ]

    loop_thread, seen = backend.run(main)
    for called_on, awaited_on, library in seen:
        # Before: called on a worker thread (offloaded like any def).
        assert called_on == awaited_on == loop_thread
        assert library == backend.library


def test_a_marked_def_in_sync_code_gives_the_value() -> None:
    here = threading.get_ident()
    called_on, awaited_on, library = call_sync(marked)
    assert called_on == here and awaited_on != here and library == "asyncio"
    assert call_any(marked)[2] == "asyncio"


def test_the_timeout_applies_to_what_a_marked_def_returns(backend) -> None:
    async def main() -> str:
        with pytest.raises(CallAnyTimeout, match=r"marked_slow timed out after 0\.05s"):
            await call_any(marked_slow, timeout=0.05)
        # Any awaitable it returns, not only a coroutine.
        return await call_any(marked_lazy, timeout=30)

    assert backend.run(main) == "lazy"
    with pytest.raises(CallAnyTimeout):
        call_sync(marked_slow, timeout=0.05)


def test_the_decorator_takes_a_marked_def_for_an_async_one(backend) -> None:
    decorated = synchronaut(marked)
    assert isinstance(decorated, SynchronautAsync)

    async def main() -> tuple[int, tuple[int, int, str | None]]:
        return threading.get_ident(), await decorated()

    loop_thread, (called_on, _, library) = backend.run(main)
    assert called_on == loop_thread and library == backend.library
    assert decorated.sync()[2] == "asyncio"
