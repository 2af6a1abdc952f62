"""Found by review: a ``def`` run inline that returned a coroutine gave the coroutine back.

The README promises that a sync callable returning a coroutine (``call_any(lambda:
fetch(x))``, aiosqlite's ``db.execute(...)``) has that coroutine run, never left
un-awaited -- and the offloaded path does so. ``await call_any(lambda: fetch(x),
inline=True)`` returned the coroutine object itself, which Python then reported as
never awaited. It is now awaited by the task that drove the inline call, as an
offloaded call's is: native or any ``collections.abc.Coroutine``, within the call's
timeout, its exception raised; other awaitables stay values.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Coroutine, Generator
from typing import Any

import pytest
from support_backends import Backend

from synchronaut_core import CallAnyTimeout, call_any, call_async, synchronaut


class _ForeignCoroutine(Coroutine[Any, Any, Any]):
    """A coroutine that is not a native one (as aiosqlite's ``Result``)."""

    def __init__(self, coro: Coroutine[Any, Any, Any]) -> None:
        self._coro = coro

    def send(self, value: Any) -> Any:
        return self._coro.send(value)

    def throw(self, *exc: Any) -> Any:
        return self._coro.throw(*exc)

    def close(self) -> None:
        self._coro.close()

    def __await__(self) -> Generator[Any, None, Any]:
        return self._coro.__await__()


def test_a_def_returning_a_coroutine_has_it_awaited_when_run_inline(backend: Backend) -> None:
    async def fetch(x: int) -> int:
        await backend.checkpoint()
        return 2 * x

    @synchronaut(inline=True)
    def decorated(x: int) -> Coroutine[Any, Any, int]:
        return fetch(x)

    async def main() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # "never awaited" fails the test
            assert await call_any(lambda: fetch(1), inline=True) == 2
            assert await call_async(lambda: fetch(2), inline=True) == 4
            assert await call_any(lambda: _ForeignCoroutine(fetch(3)), inline=True) == 6
            assert await decorated(4) == 8  # pyright: ignore[reportGeneralTypeIssues]
            # Offloaded, for comparison: the same.
            assert await call_any(lambda: fetch(5)) == 10

    backend.run(main)


def test_the_returned_coroutine_raises_and_times_out_as_the_call(backend: Backend) -> None:
    async def fail() -> None:
        await backend.checkpoint()
        raise LookupError("from the returned coroutine")

    async def main() -> None:
        with pytest.raises(LookupError, match="from the returned coroutine"):
            await call_any(lambda: fail(), inline=True)
        with pytest.raises(CallAnyTimeout):
            await call_any(lambda: backend.sleep_forever(), inline=True, timeout=0.05)

    backend.run(main)


def test_other_awaitables_a_def_returns_inline_stay_values() -> None:
    async def main() -> None:
        future = asyncio.get_running_loop().create_future()
        assert await call_any(lambda: future, inline=True) is future
        future.cancel()

    asyncio.run(main())
