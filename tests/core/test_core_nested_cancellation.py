"""Cancelling an offloaded sync call reaches what it waits for: nested calls end too.

When the caller of offloaded sync code is cancelled or times out, the code cannot be
stopped -- but a coroutine it is blocked on (through ``call_sync``/``call_any``) is
cancelled where it waits (its ``finally`` runs), a sync call it waits for is told
(``check_cancelled()``), and the blocked sync code gets ``CallCancelled`` at that call.
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from synchronaut_core import (
    CallAnyTimeout,
    CallCancelled,
    call_any,
    call_sync,
    check_cancelled,
)

pytestmark = pytest.mark.usefixtures("fast_switching")


class Trace:
    """What happened below the offloaded call, told across threads."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.cleaned_up = threading.Event()
        self.sync_code_got: list[BaseException] = []
        self.unwound = threading.Event()


def sync_code_blocked_on(trace: Trace, target) -> None:
    # Offloaded sync code; blocks in a nested call until its caller gives up.
    try:
        call_any(target, trace)
    except BaseException as exc:
        trace.sync_code_got.append(exc)
        raise
    finally:
        trace.unwound.set()


async def waits_forever(trace: Trace) -> None:
    trace.entered.set()
    try:
        await asyncio.sleep(3600)
    finally:
        trace.cleaned_up.set()


async def waits_forever_any(trace: Trace) -> None:
    # Runs on the caller's own loop (loop affinity): asyncio or Trio.
    from synchronaut_core import current_async_library

    trace.entered.set()
    try:
        if current_async_library() == "trio":
            import trio

            await trio.sleep_forever()
        else:
            await asyncio.sleep(3600)
    finally:
        trace.cleaned_up.set()


def sync_waits_until_told(trace: Trace) -> None:
    trace.entered.set()
    deadline = time.monotonic() + 10
    try:
        while time.monotonic() < deadline:
            check_cancelled()
            time.sleep(0.005)
    finally:
        trace.cleaned_up.set()


def assert_unwound(trace: Trace) -> None:
    assert trace.cleaned_up.wait(5), "the nested call was not cancelled"
    assert trace.unwound.wait(5), "the blocked sync code was not released"
    assert len(trace.sync_code_got) == 1
    assert isinstance(trace.sync_code_got[0], CallCancelled)


@pytest.mark.parametrize("how", ["timeout", "cancel"])
def test_giving_up_on_offloaded_code_cancels_the_coroutine_it_waits_for(backend, how) -> None:
    trace = Trace()

    async def main() -> None:
        if how == "timeout":
            with pytest.raises(CallAnyTimeout):
                await call_any(sync_code_blocked_on, trace, waits_forever_any, timeout=0.2)
        else:
            await backend.gather([lambda: cancel_after_entry(backend, trace)])

    backend.run(main)
    assert_unwound(trace)


async def cancel_after_entry(backend, trace: Trace) -> None:
    if backend.name == "trio":
        import trio

        with trio.move_on_after(5) as scope:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(lambda: call_any(sync_code_blocked_on, trace, waits_forever_any))
                while not trace.entered.is_set():
                    await trio.sleep(0.01)
                nursery.cancel_scope.cancel()
        assert not scope.cancelled_caught
        return
    task = asyncio.ensure_future(call_any(sync_code_blocked_on, trace, waits_forever_any))
    while not trace.entered.is_set():
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_a_sync_caller_timing_out_cancels_what_its_offloaded_code_waits_for() -> None:
    # Plain sync code -> sync A in the pool (timeout) -> call_sync(B) on the
    # background loop: when the caller times out, B is cancelled there.
    trace = Trace()

    def blocked_in_call_sync(trace: Trace) -> None:
        try:
            call_sync(waits_forever, trace)
        except BaseException as exc:
            trace.sync_code_got.append(exc)
            raise
        finally:
            trace.unwound.set()

    with pytest.raises(CallAnyTimeout):
        call_any(blocked_in_call_sync, trace, timeout=0.2)
    assert_unwound(trace)


def test_cancellation_reaches_a_nested_sync_call_it_waits_for(backend) -> None:
    trace = Trace()

    def blocked_on_sync(trace: Trace) -> None:
        try:
            call_any(sync_waits_until_told, trace, timeout=30)  # waits on a worker
        except BaseException as exc:
            trace.sync_code_got.append(exc)
            raise
        finally:
            trace.unwound.set()

    async def main() -> None:
        with pytest.raises(CallAnyTimeout):
            await call_any(blocked_on_sync, trace, timeout=0.2)

    backend.run(main)
    assert_unwound(trace)


def test_cancellation_reaches_two_levels_down(backend) -> None:
    # caller -> sync A (worker) -> coroutine B (caller's loop) -> sync C (worker)
    trace = Trace()

    async def b(trace: Trace) -> None:
        await call_any(sync_waits_until_told, trace)

    async def main() -> None:
        with pytest.raises(CallAnyTimeout):
            await call_any(sync_code_blocked_on, trace, b, timeout=0.2)

    backend.run(main)
    assert_unwound(trace)
