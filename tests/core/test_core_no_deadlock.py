"""A blocking sync-to-async call on a thread whose loop runs completes on another loop."""

from __future__ import annotations

import asyncio
import logging
import threading

from synchronaut_core import call_any, call_sync


async def where() -> str:
    await asyncio.sleep(0)
    return threading.current_thread().name


def test_call_sync_inside_a_running_loop_completes_elsewhere_and_warns(
    asyncio_backend, caplog
) -> None:
    async def main() -> str:
        return call_sync(where)

    with caplog.at_level(logging.WARNING, logger="synchronaut"):
        assert asyncio_backend.run(main) == "synchronaut-loop"
    assert any("stalls this thread's running event loop" in r.getMessage() for r in caplog.records)


def test_call_sync_inside_trio_completes_on_the_background_loop() -> None:
    import trio

    async def main() -> str:
        return call_sync(where)

    assert trio.run(main) == "synchronaut-loop"


def test_blocking_call_on_the_background_loop_thread_uses_a_temporary_loop(caplog) -> None:
    async def nested() -> tuple[str, str]:
        # We are on the background loop; blocking it to wait on itself would hang.
        return threading.current_thread().name, call_sync(where)

    with caplog.at_level(logging.WARNING, logger="synchronaut"):
        outer, inner = call_any(nested)
    assert outer == "synchronaut-loop"
    assert inner == "synchronaut-nested-loop"
    assert any("temporary loop" in r.getMessage() for r in caplog.records)


def test_sync_to_async_from_a_worker_of_the_background_loop_does_not_deadlock() -> None:
    def sync_middle() -> str:
        return call_any(where)  # worker thread -> background loop again

    async def outer() -> str:
        return await call_any(sync_middle)  # offloaded from the background loop

    assert call_any(outer) == "synchronaut-loop"


def test_call_sync_of_sync_function_calls_it_directly() -> None:
    def plain() -> str:
        return threading.current_thread().name

    async def main() -> str:
        return call_sync(plain)

    assert asyncio.run(main()) == threading.current_thread().name
