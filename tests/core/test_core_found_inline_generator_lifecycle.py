"""Found by review: an inline generator read by two tasks, or abandoned, lost its work.

- Two tasks reading one ``InlineIterator`` at once: the second one's step failed with
  the generator's "already executing", and that marked the iterator done -- the first
  task, whose step was still running, then saw the iteration end early: items lost,
  no error, the generator never finished or closed. A native async generator refuses
  the second reader (RuntimeError) and lets the first go on; so does this one now.
- An ``InlineIterator`` dropped mid-iteration (a ``break`` with no ``aclose()``): the
  generator was closed when garbage collected, wherever that happened -- in async
  code, so its ``finally`` block's bridge calls returned coroutines nobody awaited
  ("coroutine ... was never awaited", the cleanup skipped). It is now finalized as an
  abandoned async generator is: the loop it was read on closes it in a task of its
  own, inline, and its cleanup's bridge calls are awaited (Trio closes abandoned
  async generators in a cancelled scope: there the bridge call raises Cancelled, as an
  ``await`` in a native async generator's ``finally`` does).
"""

from __future__ import annotations

import gc
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
import trio
from support_backends import Backend

from synchronaut_core import call_any


def test_a_second_reader_is_refused_and_the_first_reads_everything(backend: Backend) -> None:
    async def fetch(i: int) -> int:
        await backend.sleep(0.005)
        return i

    def rows() -> Iterator[int]:
        for i in range(4):
            yield call_any(fetch, i)

    async def main() -> None:
        iterator = call_any(rows, inline=True)
        first: list[int] = []
        refused: list[BaseException] = []

        async def read() -> None:
            async for item in iterator:
                first.append(item)

        async def intrude() -> None:
            await backend.sleep(0.001)  # while the reader's step waits in fetch
            with pytest.raises(RuntimeError, match="already running") as caught:
                await iterator.__anext__()
            refused.append(caught.value)

        await backend.gather([read, intrude])
        assert first == [0, 1, 2, 3]
        assert len(refused) == 1

    backend.run(main)


def test_an_abandoned_inline_generator_is_closed_inline_by_its_loop(backend: Backend) -> None:
    cleaned: list[tuple[str, int]] = []

    async def release(what: str) -> str:
        await backend.checkpoint()
        return what

    def rows() -> Iterator[int]:
        try:
            yield 1
            yield 2
        finally:
            # A bridge call in cleanup: must be awaited, on the loop's thread.
            try:
                cleaned.append((call_any(release, "cursor"), threading.get_ident()))
            except trio.Cancelled:
                cleaned.append(("cancelled", threading.get_ident()))
                raise

    async def main() -> None:
        iterator = call_any(rows, inline=True)
        async for _ in iterator:
            break  # no aclose(): abandoned
        del iterator
        gc.collect()
        for _ in range(20):
            if cleaned:
                break
            await backend.sleep(0.01)
        outcome = "cancelled" if backend.library == "trio" else "cursor"
        assert cleaned == [(outcome, threading.get_ident())]

    with warnings.catch_warnings():
        # Trio says an async generator was collected unexhausted (ResourceWarning),
        # as it does for any; "never awaited" (RuntimeWarning) stays an error.
        warnings.simplefilter("ignore", ResourceWarning)
        backend.run(main)


def test_an_inline_generator_alive_when_its_loop_ends_is_closed_inline(backend: Backend) -> None:
    cleaned: list[str] = []
    kept: list[Any] = []

    async def release() -> str:
        await backend.checkpoint()
        return "released"

    def rows() -> Iterator[int]:
        try:
            yield 1
            yield 2
        finally:
            try:
                cleaned.append(call_any(release))
            except trio.Cancelled:
                cleaned.append("cancelled")
                raise

    async def main() -> None:
        iterator = call_any(rows, inline=True)
        assert await iterator.__anext__() == 1
        kept.append(iterator)  # still referenced when the loop ends

    backend.run(main)
    assert cleaned == ["cancelled" if backend.library == "trio" else "released"]
