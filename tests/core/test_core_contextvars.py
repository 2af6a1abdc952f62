"""The callee sees the caller's ContextVars, and the caller sees the callee's changes."""

from __future__ import annotations

import contextvars
import threading

import pytest

from synchronaut_core import CallAnyTimeout, call_any

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id")
user: contextvars.ContextVar[str] = contextvars.ContextVar("user", default="nobody")


def read_sync() -> tuple[str, str]:
    return request_id.get(), user.get()


async def read_async() -> tuple[str, str]:
    return request_id.get(), user.get()


def write_sync(value: str) -> None:
    request_id.set(value)


async def write_async(value: str) -> None:
    request_id.set(value)


@pytest.mark.parametrize("kwargs", [{}, {"timeout": 5}, {"force_offload": True}])
def test_sync_caller_context_reaches_callee_and_changes_come_back(kwargs) -> None:
    def scenario() -> None:
        request_id.set("r-1")
        user.set("ann")
        assert call_any(read_sync, **kwargs) == ("r-1", "ann")
        assert call_any(read_async, **kwargs) == ("r-1", "ann")
        call_any(write_sync, "from-sync", **kwargs)
        assert request_id.get() == "from-sync"
        call_any(write_async, "from-async", **kwargs)
        assert request_id.get() == "from-async"

    contextvars.copy_context().run(scenario)


def test_event_loop_caller_context_reaches_callee_and_changes_come_back(backend) -> None:
    async def main() -> None:
        for kwargs in ({}, {"timeout": 5}):
            request_id.set("r-2")
            user.set("bob")
            assert await call_any(read_sync, **kwargs) == ("r-2", "bob")
            assert await call_any(read_async, **kwargs) == ("r-2", "bob")
            await call_any(write_sync, "from-sync", **kwargs)
            assert request_id.get() == "from-sync"
            await call_any(write_async, "from-async", **kwargs)
            assert request_id.get() == "from-async"

    backend.run(main)


def test_changes_made_before_the_callee_raised_come_back() -> None:
    def write_then_fail() -> None:
        request_id.set("partial")
        raise ValueError("nope")

    def scenario() -> None:
        with pytest.raises(ValueError, match="nope"):
            call_any(write_then_fail, timeout=5)
        assert request_id.get() == "partial"

    contextvars.copy_context().run(scenario)


def test_concurrent_tasks_keep_their_own_context(backend) -> None:
    async def one(i: int) -> None:
        request_id.set(f"task-{i}")
        await backend.sleep(0.01)
        assert await call_any(read_sync) == (f"task-{i}", "nobody")
        await call_any(write_sync, f"task-{i}-after")
        assert request_id.get() == f"task-{i}-after"

    async def main() -> None:
        if backend.name == "trio":
            import trio

            async with trio.open_nursery() as nursery:
                for i in range(20):
                    nursery.start_soon(one, i)
        else:
            import asyncio

            await asyncio.gather(*(one(i) for i in range(20)))

    backend.run(main)


# --- One rule for calls that timed out or were cancelled: nothing is written back ----


async def writes_then_hangs(value: str) -> None:
    request_id.set(value)
    from synchronaut_core import current_async_library

    if current_async_library() == "trio":
        import trio

        await trio.sleep_forever()
    await __import__("asyncio").sleep(3600)


def writes_then_blocks(value: str, release: threading.Event) -> None:
    request_id.set(value)
    release.wait(10)


@pytest.mark.parametrize("kind", ["coroutine", "sync"])
def test_a_timed_out_call_from_sync_code_writes_nothing_back(kind) -> None:
    release = threading.Event()

    def scenario() -> None:
        request_id.set("before")
        if kind == "coroutine":
            with pytest.raises(CallAnyTimeout):
                call_any(writes_then_hangs, "partial", timeout=0.05)
        else:
            with pytest.raises(CallAnyTimeout):
                call_any(writes_then_blocks, "partial", release, timeout=0.05)
        assert request_id.get() == "before"

    try:
        contextvars.copy_context().run(scenario)
    finally:
        release.set()


@pytest.mark.parametrize("kind", ["coroutine", "sync"])
def test_a_timed_out_call_from_async_code_writes_nothing_back(backend, kind) -> None:
    release = threading.Event()

    async def main() -> None:
        request_id.set("before")
        if kind == "coroutine":
            with pytest.raises(CallAnyTimeout):
                await call_any(writes_then_hangs, "partial", timeout=0.05)
        else:
            with pytest.raises(CallAnyTimeout):
                await call_any(writes_then_blocks, "partial", release, timeout=0.05)
        assert request_id.get() == "before"

    try:
        backend.run(main)
    finally:
        release.set()


def test_a_timed_coroutine_that_finishes_writes_back_in_async_code(backend) -> None:
    async def main() -> None:
        request_id.set("before")
        await call_any(write_async, "done", timeout=5)
        assert request_id.get() == "done"

    backend.run(main)


def test_an_offloaded_callee_cannot_reset_a_token_its_caller_created(backend) -> None:
    # What cannot work, as with asyncio.to_thread: the offloaded callee runs in a copy
    # of the caller's context, and a token belongs to the context that made it. Python
    # refuses it clearly (ValueError), the caller's value stays; a direct call resets.
    from synchronaut_core import CallOptions

    var: contextvars.ContextVar[int] = contextvars.ContextVar("token_owner", default=0)

    def reset(token: contextvars.Token[int]) -> None:
        var.reset(token)

    token = var.set(1)
    with pytest.raises(ValueError, match="different Context"):
        CallOptions(force_offload=True)(reset, token)
    assert var.get() == 1
    call_any(reset, token)  # sync code: a direct call, in this very context
    assert var.get() == 0

    async def main() -> None:
        token = var.set(5)
        with pytest.raises(ValueError, match="different Context"):
            await call_any(reset, token)
        assert var.get() == 5

    backend.run(main)
