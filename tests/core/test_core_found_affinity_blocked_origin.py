"""Loop affinity holds while the origin loop's thread is blocked in an unrelated call.

Found by an adversarial review, and fixed; what it found:

Loop affinity is dropped whenever the origin loop's thread is momentarily blocked.

Sync code offloaded from a loop runs the coroutines it calls on *that* loop (README,
"Loop affinity": asyncio locks, async DB pools, HTTP sessions -- and Trio code --
keep working). Since 21d3b30, ``_LoopCall._handover`` moves every movable call away
from a host whose thread ``_waits._is_blocked`` -- also the borrowed loop that loop
affinity chose, when its thread is parked in some *unrelated* blocking call (another
task's ``call_sync``, warned about but supported). The coroutine then runs on
synchronaut's background asyncio loop:

- from Trio, a Trio coroutine is run by asyncio: ``RuntimeError('must be called from
  async context')`` (or worse, for code that does not check);
- from asyncio, the coroutine runs on ``synchronaut-loop`` instead of the app's loop:
  loop-bound objects (a contended ``asyncio.Lock``, a ``Queue`` with waiters, an
  ``aiohttp`` session, an async DB pool) fail with "bound to a different event loop".

The blocked thread is not waiting for this call (``_closes_cycle`` would say so): the
call just had to wait until the loop turns again, as it did before.

Expected: a call bound by affinity to a borrowed loop is never run by another loop
-- certainly never by another *library*; it waits for the loop (or, if that closes a
cycle, fails with a clear error).
"""

from __future__ import annotations

import asyncio
import time

from support_threads import in_thread

from synchronaut_core import call_any, call_sync


async def unrelated_blocking_work() -> str:
    await asyncio.sleep(0.3)
    return "unblocked"


def test_a_trio_coroutine_called_from_an_offloaded_call_runs_on_trio() -> None:
    import trio

    async def trio_code() -> str:
        await trio.sleep(0.01)
        return "ran on trio"

    def offloaded() -> str:
        time.sleep(0.1)  # meanwhile another task blocks the Trio thread for a while
        return call_any(trio_code)

    async def main() -> dict[str, str]:
        out: dict[str, str] = {}

        async def offload() -> None:
            out["offloaded"] = await call_any(offloaded)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(offload)
            await trio.sleep(0.02)
            out["blocking"] = call_sync(unrelated_blocking_work)
        return out

    out = in_thread(lambda: trio.run(main))
    assert out == {"offloaded": "ran on trio", "blocking": "unblocked"}


def test_an_asyncio_coroutine_called_from_an_offloaded_call_runs_on_the_apps_loop() -> None:
    async def main() -> tuple[str, str]:
        app_loop = asyncio.get_running_loop()

        async def loop_bound() -> str:
            assert asyncio.get_running_loop() is app_loop, "ran on another loop"
            return "ran on the app's loop"

        def offloaded() -> str:
            time.sleep(0.1)
            return call_any(loop_bound)

        task = asyncio.ensure_future(call_any(offloaded))
        await asyncio.sleep(0.02)
        blocking = call_sync(unrelated_blocking_work)
        return await task, blocking

    assert in_thread(lambda: asyncio.run(main())) == ("ran on the app's loop", "unblocked")
