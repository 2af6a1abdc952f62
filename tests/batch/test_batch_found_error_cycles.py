"""A batch with a failing call leaves reference cycles: open (strict xfails).

Found by review of ac8d44c ("No reference cycles per call"), whose test covers
batches whose calls all succeed. A batch with a call that raises -- kept as its
result (``return_exceptions=True``) or failing the batch -- leaves dozens of objects
per batch that only the cycle collector frees (41-84 on asyncio, from sync code), where
``asyncio.gather`` leaves none. Every error here is dropped at once by the test.

Why, for the call kept as a result on asyncio: the exception passed through the
worker's frame (``_map_asyncio``'s ``work``, which awaited the call), which holds the
results list through its closure cells -- exception -> traceback -> ``work``'s frame ->
results -> exception. Dropping that frame from the traceback (the traceback then starts
at the call, as a task per call shows it) cuts that one; tried and measured: the async
call's case is then clean, but sync calls (offloaded, timed out) and a batch run for a
sync caller keep cycles through the core's frames and the ``_LoopCall`` holding the
boxed results, and a failing batch keeps its closures' cells. Under Trio, a failing
batch is clean already (a guard); one keeping an error as a result is not. Not fixed here: the
batch package was being changed concurrently; left as strict xfails for its owner.
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from support_backends import Backend

from synchronaut_batch import parallel_map
from synchronaut_core import call_any

REPS = 6


async def aboom() -> None:
    raise ValueError("aboom")


def boom() -> None:
    raise ValueError("boom")


CALLS: dict[str, list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any], float | None]]] = {
    "async def raising": [(aboom, (), {}, None)],
    "def raising": [(boom, (), {}, None)],
    "def timing out": [(time.sleep, (0.02,), {}, 0.003)],
}


_OPEN = pytest.mark.xfail(strict=True, reason="open: see module docstring")


def _garbage(run: Callable[[], None]) -> Counter[str]:
    run()
    run()
    time.sleep(0.05)
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for _ in range(REPS):
            run()
        time.sleep(0.05)  # abandoned calls end
        gc.collect()
        return Counter(type(obj).__name__ for obj in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


def _failing_batch_sync(calls: Any, return_exceptions: bool) -> None:
    with contextlib.suppress(Exception):
        parallel_map(calls, return_exceptions=return_exceptions)


@_OPEN
@pytest.mark.parametrize("return_exceptions", [True, False], ids=["kept", "failing"])
@pytest.mark.parametrize("kind", CALLS)
def test_a_sync_callers_batch_with_a_failing_call_leaves_no_cycles(
    kind: str, return_exceptions: bool
) -> None:
    kinds = _garbage(lambda: _failing_batch_sync(CALLS[kind], return_exceptions))
    assert sum(kinds.values()) < REPS / 2, kinds.most_common(8)


@pytest.mark.parametrize(
    ("backend_name", "return_exceptions"),
    [
        pytest.param("asyncio", True, id="asyncio-kept", marks=_OPEN),
        pytest.param("asyncio", False, id="asyncio-failing", marks=_OPEN),
        pytest.param("trio", True, id="trio-kept", marks=_OPEN),
        pytest.param("trio", False, id="trio-failing"),  # clean already: kept so
    ],
)
def test_an_async_batch_with_a_failing_call_leaves_no_cycles(
    backend_name: str, return_exceptions: bool
) -> None:
    calls = [*CALLS["async def raising"], *CALLS["def raising"]]

    async def batch() -> None:
        with contextlib.suppress(Exception):
            await parallel_map(calls, return_exceptions=return_exceptions)

    async def main() -> Counter[str]:
        await batch()
        await batch()
        gc.collect()
        gc.disable()
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            for _ in range(REPS):
                await batch()
            await call_any(time.sleep, 0.01)
            gc.collect()
            return Counter(type(obj).__name__ for obj in gc.garbage)
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
            gc.enable()

    kinds = Backend(backend_name).run(main)
    assert sum(kinds.values()) < REPS / 2, kinds.most_common(8)
