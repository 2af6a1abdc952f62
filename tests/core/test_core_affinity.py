"""Loop affinity: a sync call offloaded from a loop sends coroutines back to that loop."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest
import trio

from synchronaut_core import CallAnyTimeout, CallCancelled, call_any

marker: contextvars.ContextVar[str] = contextvars.ContextVar("marker", default="unset")


def test_offloaded_sync_code_runs_coroutines_on_the_originating_asyncio_loop(
    asyncio_backend,
) -> None:
    async def main() -> tuple[str, str, list[int]]:
        loop_thread = threading.current_thread().name
        queue: asyncio.Queue[int] = asyncio.Queue()  # bound to this loop
        lock = asyncio.Lock()

        async def produce(i: int) -> str:
            async with lock:
                await queue.put(i)
            return threading.current_thread().name

        def sync_layer() -> str:
            # A worker thread; the coroutine must run on the loop that owns queue/lock.
            names = {call_any(produce, i) for i in range(3)}
            assert len(names) == 1
            return names.pop()

        ran_on = await call_any(sync_layer)
        items = [queue.get_nowait() for _ in range(queue.qsize())]
        return loop_thread, ran_on, items

    loop_thread, ran_on, items = asyncio_backend.run(main)
    assert ran_on == loop_thread
    assert items == [0, 1, 2]


def test_offloaded_sync_code_runs_coroutines_in_the_originating_trio_run() -> None:
    async def main() -> tuple[str, str]:
        event = trio.Event()  # bound to this run

        async def use_trio() -> str:
            event.set()
            await trio.lowlevel.checkpoint()
            return threading.current_thread().name

        def sync_layer() -> str:
            return call_any(use_trio)

        ran_on = await call_any(sync_layer)
        assert event.is_set()
        return threading.current_thread().name, ran_on

    loop_thread, ran_on = trio.run(main)
    assert ran_on == loop_thread


def test_affinity_keeps_context_propagation_and_write_back(backend) -> None:
    async def set_marker() -> str:
        seen = marker.get()
        marker.set("set-by-coroutine")
        return seen

    def sync_layer() -> tuple[str, str]:
        seen = call_any(set_marker)
        return seen, marker.get()

    async def main() -> tuple[str, str, str]:
        marker.set("from-task")
        seen, after = await call_any(sync_layer)
        return seen, after, marker.get()

    assert backend.run(main) == ("from-task", "set-by-coroutine", "set-by-coroutine")


def test_threads_synchronaut_did_not_start_use_the_background_loop(asyncio_backend) -> None:
    async def where() -> str:
        return threading.current_thread().name

    async def main() -> str:
        result: list[str] = []
        thread = threading.Thread(target=lambda: result.append(call_any(where)))
        thread.start()
        await asyncio.sleep(0)
        await asyncio.get_running_loop().run_in_executor(None, thread.join)
        return result[0]

    assert asyncio_backend.run(main) == "synchronaut-loop"


def test_affinity_falls_back_to_background_loop_when_origin_loop_is_not_running() -> None:
    # The origin loop stopped (not closed) while its task still awaits the sync call:
    # nobody gave up on the call, its loop just does not run any more.
    release = threading.Event()
    called = threading.Event()
    outcome: list[str] = []

    async def where() -> str:
        return threading.current_thread().name

    def sync_layer() -> str:
        release.wait(5)
        outcome.append(call_any(where))
        called.set()
        return "done"

    async def main() -> str:
        return await call_any(sync_layer)

    loop = asyncio.new_event_loop()
    try:
        task = loop.create_task(main())
        loop.call_later(0.05, loop.stop)
        loop.run_forever()  # stops with ``task`` still waiting for sync_layer
        release.set()
        assert called.wait(5)
        assert loop.run_until_complete(task) == "done"
    finally:
        loop.close()
    assert outcome == ["synchronaut-loop"]


def test_abandoned_sync_code_gets_call_cancelled_at_its_next_async_call() -> None:
    # Its caller timed out: a coroutine it starts afterwards is not started at all.
    release = threading.Event()
    done = threading.Event()
    outcome: list[BaseException] = []

    async def where() -> str:
        return threading.current_thread().name

    def sync_layer() -> None:
        release.wait(5)
        try:
            call_any(where)
        except BaseException as exc:
            outcome.append(exc)
        done.set()

    async def main() -> None:
        with pytest.raises(CallAnyTimeout):
            await call_any(sync_layer, timeout=0.05)

    asyncio.run(main())
    release.set()
    assert done.wait(5)
    assert len(outcome) == 1
    assert isinstance(outcome[0], CallCancelled)
    assert "timed out after 0.05s" in str(outcome[0])
