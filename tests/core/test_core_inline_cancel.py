"""Cancellation and timeouts reach inline code at the bridge call where it waits.

For each bridge call kind, cancelling the task that awaits the inline call (or a
``timeout=`` on the inline call) raises where the inline code is suspended -- the
backend's own cancellation there --, its ``finally`` blocks run, the coroutine it was
waiting for is cancelled (its ``finally`` runs too), and the caller gets what the
non-inline path gives: ``CancelledError``/``trio.Cancelled`` (caught by its scope)
or ``CallAnyTimeout``. Nothing is left un-awaited (warnings are errors here).
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import textwrap
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import trio
from support_backends import Backend

from synchronaut_core import CallAnyTimeout, call_any, call_sync, sync_cm, sync_iter, synchronaut


def _cancellation(backend: Backend) -> type[BaseException]:
    return trio.Cancelled if backend.library == "trio" else asyncio.CancelledError


class Probe:
    """What the inline code and the coroutine it awaited went through."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.started = backend.event()
        self.raised_at_bridge: list[type[BaseException]] = []
        self.inline_finally = False
        self.coroutine_finally = False

    async def wait_forever(self) -> None:
        try:
            self.started.set()
            await self.backend.sleep_forever()
        finally:
            self.coroutine_finally = True

    async def wait_forever_gen(self) -> AsyncIterator[int]:
        try:
            self.started.set()
            await self.backend.sleep_forever()
            yield 1
        finally:
            self.coroutine_finally = True

    @contextlib.asynccontextmanager
    async def enter_forever(self) -> AsyncIterator[None]:
        try:
            self.started.set()
            await self.backend.sleep_forever()
            yield
        finally:
            self.coroutine_finally = True


def _bridge_calls(probe: Probe) -> dict[str, Callable[[], object]]:
    decorated = synchronaut(probe.wait_forever)
    return {
        "call_any": lambda: call_any(probe.wait_forever),
        "call_sync": lambda: call_sync(probe.wait_forever),
        "decorated": lambda: decorated(),
        "decorated.sync": lambda: decorated.sync(),
        "sync_iter": lambda: next(sync_iter(probe.wait_forever_gen())),
        "async generator function": lambda: next(call_any(probe.wait_forever_gen)),
        "sync_cm": lambda: sync_cm(probe.enter_forever()).__enter__(),
    }


KINDS = [
    "call_any",
    "call_sync",
    "decorated",
    "decorated.sync",
    "sync_iter",
    "async generator function",
    "sync_cm",
]


def _inline_body(probe: Probe, kind: str) -> Callable[[], None]:
    bridge = _bridge_calls(probe)[kind]

    def body() -> None:
        try:
            bridge()
        except BaseException as exc:
            probe.raised_at_bridge.append(type(exc))
            raise
        finally:
            probe.inline_finally = True

    return body


async def _cancel_once_started(
    backend: Backend, call: Callable[[], Awaitable[Any]], started: Any
) -> None:
    """Await ``call()`` in a task of its own; cancel it once ``started`` is set."""
    if backend.library == "trio":
        scope = trio.CancelScope()

        async def runner() -> None:
            with scope:
                await call()
            assert scope.cancelled_caught

        async with trio.open_nursery() as nursery:
            nursery.start_soon(runner)
            await started.wait()
            scope.cancel()
        return
    task = asyncio.ensure_future(call())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.parametrize("kind", KINDS)
def test_cancelling_the_task_raises_at_the_bridge_call(backend: Backend, kind: str) -> None:
    probe = Probe(backend)
    body = _inline_body(probe, kind)

    async def main() -> None:
        await _cancel_once_started(backend, lambda: call_any(body, inline=True), probe.started)

    backend.run(main)
    assert probe.raised_at_bridge == [_cancellation(backend)]
    assert probe.inline_finally
    assert probe.coroutine_finally


@pytest.mark.parametrize("kind", KINDS)
def test_a_timeout_on_the_inline_call_raises_at_the_bridge_call(
    backend: Backend, kind: str
) -> None:
    probe = Probe(backend)
    body = _inline_body(probe, kind)

    async def main() -> None:
        with pytest.raises(CallAnyTimeout) as info:
            await call_any(body, inline=True, timeout=0.05)
        assert info.value.func_name == "body"

    backend.run(main)
    assert probe.raised_at_bridge == [_cancellation(backend)]
    assert probe.inline_finally
    assert probe.coroutine_finally


@pytest.mark.parametrize("kind", ["call_any", "call_sync", "decorated.sync"])
def test_a_timeout_on_the_bridge_call_raises_call_any_timeout_in_inline_code(
    backend: Backend, kind: str
) -> None:
    probe = Probe(backend)
    decorated = synchronaut(probe.wait_forever)
    calls = {
        "call_any": lambda: call_any(probe.wait_forever, timeout=0.05),
        "call_sync": lambda: call_sync(probe.wait_forever, timeout=0.05),
        "decorated.sync": lambda: synchronaut(timeout=0.05)(decorated).sync(),
    }

    def body() -> str:
        try:
            calls[kind]()
        except CallAnyTimeout:
            return "timed out, and went on"
        return "not raised"

    async def main() -> None:
        assert await call_any(body, inline=True) == "timed out, and went on"

    backend.run(main)
    assert probe.coroutine_finally


def test_a_timeout_on_a_sync_iter_step_in_inline_code(backend: Backend) -> None:
    probe = Probe(backend)

    def body() -> str:
        try:
            next(sync_iter(probe.wait_forever_gen(), timeout=0.05))
        except CallAnyTimeout:
            return "timed out"
        return "not raised"

    async def main() -> None:
        assert await call_any(body, inline=True) == "timed out"
        await backend.sleep(0.01)  # the abandoned generator's close, posted to the loop

    backend.run(main)
    assert probe.coroutine_finally


def test_cancelling_inline_code_waiting_on_an_offloaded_call(backend: Backend) -> None:
    release = threading.Event()
    probe = Probe(backend)

    def blocking() -> None:
        release.wait(10)

    def body() -> None:
        try:
            call_any(blocking, force_offload=True)
        except BaseException as exc:
            probe.raised_at_bridge.append(type(exc))
            raise
        finally:
            probe.inline_finally = True

    async def main() -> None:
        async def call() -> None:
            await call_any(body, inline=True)

        async def trigger() -> None:
            await backend.sleep(0.02)
            probe.started.set()

        if backend.library == "trio":
            async with trio.open_nursery() as nursery:
                nursery.start_soon(trigger)
                await _cancel_once_started(backend, call, probe.started)
        else:
            trigger_task = asyncio.ensure_future(trigger())
            await _cancel_once_started(backend, call, probe.started)
            await trigger_task
        release.set()

    backend.run(main)
    assert probe.raised_at_bridge == [_cancellation(backend)]
    assert probe.inline_finally


def test_inline_code_that_handles_the_cancellation_goes_on(backend: Backend) -> None:
    # Cleanup in a finally may make bridge calls of its own, awaited by the task.
    probe = Probe(backend)
    cleaned: list[str] = []

    async def cleanup() -> None:
        cleaned.append("cleanup awaited")

    def body() -> None:
        try:
            call_any(probe.wait_forever)
        finally:
            call_any(cleanup)  # no checkpoint in it: completes even in a cancelled scope

    async def main() -> None:
        await _cancel_once_started(backend, lambda: call_any(body, inline=True), probe.started)

    backend.run(main)
    assert cleaned == ["cleanup awaited"]


def test_ctrl_c_during_an_inline_call_leaves_nothing_unawaited(tmp_path: Any) -> None:
    # A real SIGINT while inline code waits in a bridge call: asyncio.run cancels the
    # main task, the cancellation reaches the inline code there, and the program ends
    # with KeyboardInterrupt -- no "never awaited", no "Task was destroyed".
    script = textwrap.dedent(
        """
        import asyncio, os, signal, sys, threading, warnings
        warnings.simplefilter("error")
        from synchronaut_core import call_any

        seen = []

        async def forever():
            threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()
            await asyncio.sleep(3600)

        def body():
            try:
                call_any(forever)
            except BaseException as exc:
                seen.append(type(exc).__name__)
                raise

        async def main():
            await call_any(body, inline=True)

        try:
            asyncio.run(main())
        except KeyboardInterrupt:
            print("interrupted", seen)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert "interrupted ['CancelledError']" in done.stdout, done.stderr
    assert "never awaited" not in done.stderr
    assert "destroyed" not in done.stderr


def test_closing_a_suspended_inline_call_runs_every_finally_and_awaits_nothing_more() -> None:
    # The task holding an inline call is destroyed (its coroutine closed): the
    # coroutine it waits for and the inline code get GeneratorExit where they wait;
    # a bridge call made in the inline code's finally cannot be awaited any more: it
    # raises RuntimeError, and its coroutine is closed (never "never awaited").
    import types

    seen: list[str] = []

    @types.coroutine
    def suspend() -> Any:
        yield "suspended"

    async def forever() -> None:
        try:
            await suspend()
        finally:
            seen.append("coroutine finally")

    async def cleanup() -> None:
        seen.append("cleanup ran")  # never: it cannot be awaited now

    def body() -> None:
        try:
            call_any(forever)
        finally:
            seen.append("inline finally")
            try:
                call_any(cleanup)
            except RuntimeError as exc:
                seen.append(f"cleanup refused: {'being closed' in str(exc)}")

    async def main() -> None:
        coro = call_any(body, inline=True)
        assert coro.send(None) == "suspended"
        coro.close()

    asyncio.run(main())
    assert seen == ["coroutine finally", "inline finally", "cleanup refused: True"]
