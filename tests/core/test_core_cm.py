"""Context managers across the divide: sync_cm (async CM, sync code), async_cm (the reverse)."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import sys
import threading
import traceback
from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import Any

import pytest
import trio

from synchronaut_core import CallAnyTimeout, async_cm, call_any, sync_cm, thread_sensitive_context

marker: contextvars.ContextVar[str] = contextvars.ContextVar("marker", default="unset")

WAIT = 5.0


def current_task() -> object:
    try:
        return asyncio.current_task()
    except RuntimeError:
        return trio.lowlevel.current_task()


def frames(tb: TracebackType | None) -> list[str]:
    return [frame.name for frame in traceback.extract_tb(tb)]


def raise_in_block() -> None:
    raise ValueError("raised in the block")


class AsyncRecorder:
    """An async context manager that records where and how it was entered and exited."""

    def __init__(self, suppress: object = None, exit_error: BaseException | None = None) -> None:
        self.suppress = suppress
        self.exit_error = exit_error
        self.enter_where: tuple[str, object] | None = None
        self.exit_where: tuple[str, object] | None = None
        self.exc_info: tuple[Any, Any, Any] | None = None

    async def __aenter__(self) -> str:
        if current_library() == "asyncio":
            await asyncio.sleep(0)
        else:
            await trio.lowlevel.checkpoint()
        self.enter_where = (threading.current_thread().name, current_task())
        marker.set("set-by-aenter")
        return "resource"

    async def __aexit__(self, *exc_info: Any) -> object:
        self.exit_where = (threading.current_thread().name, current_task())
        self.exc_info = exc_info
        if self.exit_error is not None:
            raise self.exit_error
        return self.suppress


def current_library() -> str:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return "trio"
    return "asyncio"


class SyncRecorder:
    """The same, as a sync context manager."""

    def __init__(self, suppress: object = None) -> None:
        self.suppress = suppress
        self.enter_ident: int | None = None
        self.exit_ident: int | None = None
        self.exc_info: tuple[Any, Any, Any] | None = None
        self.exited = threading.Event()

    def __enter__(self) -> str:
        self.enter_ident = threading.get_ident()
        marker.set("set-by-enter")
        return "resource"

    def __exit__(self, *exc_info: Any) -> object:
        self.exit_ident = threading.get_ident()
        self.exc_info = exc_info
        self.exited.set()
        return self.suppress


# --- sync_cm: an async context manager with ``with`` in sync code ------------------


def test_sync_cm_enters_and_exits_on_one_loop_in_one_task() -> None:
    recorder = AsyncRecorder()
    with sync_cm(recorder) as value:
        assert value == "resource"
    assert recorder.enter_where is not None
    assert recorder.enter_where == recorder.exit_where
    assert recorder.enter_where[0] == "synchronaut-loop"
    assert recorder.exc_info == (None, None, None)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.timeout is 3.11+")
def test_sync_cm_supports_context_managers_bound_to_their_task() -> None:
    @contextlib.asynccontextmanager
    async def deadline() -> AsyncIterator[str]:
        async with asyncio.timeout(30):  # must be exited by the task that entered it
            yield "inside"

    with sync_cm(deadline()) as value:
        assert value == "inside"


def test_sync_cm_passes_the_blocks_exception_with_its_traceback() -> None:
    recorder = AsyncRecorder()
    with pytest.raises(ValueError, match="raised in the block") as info, sync_cm(recorder):
        raise_in_block()
    assert recorder.exc_info is not None
    typ, exc, tb = recorder.exc_info
    assert typ is ValueError
    assert exc is info.value  # the very exception, not a copy
    assert "raise_in_block" in frames(tb)
    assert "raise_in_block" in frames(info.tb)


@pytest.mark.parametrize("suppress", [True, 1, "truthy"])
def test_sync_cm_suppresses_when_aexit_returns_a_truthy_value(suppress: object) -> None:
    with sync_cm(AsyncRecorder(suppress=suppress)):
        raise_in_block()


@pytest.mark.parametrize("suppress", [False, None, 0])
def test_sync_cm_does_not_suppress_when_aexit_returns_a_falsy_value(suppress: object) -> None:
    with pytest.raises(ValueError, match="raised in the block"), sync_cm(AsyncRecorder(suppress)):
        raise_in_block()


def test_sync_cm_with_asynccontextmanager_catches_and_reraises_as_the_language_does() -> None:
    @contextlib.asynccontextmanager
    async def swallows(kind: type[BaseException]) -> AsyncIterator[None]:
        with contextlib.suppress(kind):
            yield

    with sync_cm(swallows(ValueError)):
        raise_in_block()
    with (
        pytest.raises(ValueError, match="raised in the block") as info,
        sync_cm(swallows(KeyError)),
    ):
        raise_in_block()
    assert "raise_in_block" in frames(info.tb)


def test_sync_cm_raises_what_aexit_raises_chained_to_the_blocks_exception() -> None:
    with pytest.raises(KeyError) as info, sync_cm(AsyncRecorder(exit_error=KeyError("exit"))):
        raise_in_block()
    assert isinstance(info.value.__context__, ValueError)


def test_sync_cm_does_not_exit_when_aenter_fails() -> None:
    class FailsToEnter(AsyncRecorder):
        async def __aenter__(self) -> str:
            raise OSError("cannot connect")

    recorder = FailsToEnter()
    with pytest.raises(OSError, match="cannot connect"), sync_cm(recorder):
        pytest.fail("the block must not run")
    assert recorder.exit_where is None


def test_sync_cm_context_vars_flow_in_and_out_without_undoing_the_blocks_changes() -> None:
    class SetsOnExit(AsyncRecorder):
        async def __aexit__(self, *exc_info: Any) -> object:
            other.set("set-by-aexit")
            return None

    other: contextvars.ContextVar[str] = contextvars.ContextVar("other", default="unset")

    def body() -> tuple[str, str, str]:
        with sync_cm(SetsOnExit()):
            seen_in_block = marker.get()
            marker.set("set-by-block")
        return seen_in_block, marker.get(), other.get()

    assert contextvars.copy_context().run(body) == (
        "set-by-aenter",
        "set-by-block",  # the holder's older value does not overwrite the block's
        "set-by-aexit",
    )


def test_sync_cm_enter_timeout_cancels_aenter_and_skips_aexit() -> None:
    cancelled = threading.Event()

    class NeverEnters(AsyncRecorder):
        async def __aenter__(self) -> str:
            try:
                await asyncio.sleep(3600)
            finally:
                cancelled.set()
            return "never"

    recorder = NeverEnters()
    with pytest.raises(CallAnyTimeout), sync_cm(recorder, timeout=0.2):
        pytest.fail("the block must not run")
    assert cancelled.wait(WAIT)
    assert recorder.exit_where is None


def test_sync_cm_rejects_bad_arguments_and_reentry() -> None:
    with pytest.raises(TypeError, match="async context manager"):
        sync_cm(threading.Lock())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timeout"):
        sync_cm(AsyncRecorder(), timeout=float("nan"))
    manager = sync_cm(AsyncRecorder())
    with manager, pytest.raises(RuntimeError, match="not reentrant"), manager:
        pass


def test_offloaded_sync_code_enters_async_cms_on_the_originating_loop(backend) -> None:
    """Loop affinity, with a context manager that holds a cancel scope across the block."""

    @contextlib.asynccontextmanager
    async def scoped(record: list[tuple[str, object]]) -> AsyncIterator[None]:
        record.append((threading.current_thread().name, current_task()))
        if backend.name == "trio":
            with trio.move_on_after(30):  # a cancel scope: must exit in the same task
                yield
        else:
            yield
        record.append((threading.current_thread().name, current_task()))

    async def main() -> tuple[str, list[tuple[str, object]]]:
        record: list[tuple[str, object]] = []

        def sync_layer() -> None:
            with sync_cm(scoped(record)):
                pass

        await call_any(sync_layer)
        return threading.current_thread().name, record

    loop_thread, record = backend.run(main)
    assert [thread for thread, _ in record] == [loop_thread, loop_thread]
    assert record[0][1] is record[1][1]


# --- async_cm: a sync context manager with ``async with`` in async code -------------


def test_async_cm_enters_and_exits_on_one_worker_thread(backend) -> None:
    recorder = SyncRecorder()

    async def main() -> tuple[str, int]:
        async with async_cm(recorder) as value:
            return value, threading.get_ident()

    value, loop_ident = backend.run(main)
    assert value == "resource"
    assert recorder.enter_ident == recorder.exit_ident
    assert recorder.enter_ident != loop_ident


def test_async_cm_releases_a_reentrant_lock_on_the_thread_that_took_it(backend) -> None:
    lock = threading.RLock()  # release() from any other thread raises RuntimeError

    async def main() -> None:
        async with async_cm(lock):
            pass
        async with async_cm(lock, thread_sensitive=True):
            pass
        async with thread_sensitive_context(), async_cm(lock, thread_sensitive=True):
            pass

    backend.run(main)


def test_async_cm_passes_the_blocks_exception_with_its_traceback(backend) -> None:
    recorder = SyncRecorder()

    async def main() -> None:
        with pytest.raises(ValueError, match="raised in the block") as info:
            async with async_cm(recorder):
                raise_in_block()
        assert recorder.exc_info is not None
        typ, exc, tb = recorder.exc_info
        assert typ is ValueError
        assert exc is info.value
        assert "raise_in_block" in frames(tb)

    backend.run(main)


@pytest.mark.parametrize(("suppress", "suppressed"), [(True, True), ("yes", True), (None, False)])
def test_async_cm_suppression_follows_the_language(
    backend, suppress: object, suppressed: bool
) -> None:
    async def main() -> bool:
        try:
            async with async_cm(SyncRecorder(suppress)):
                raise_in_block()
        except ValueError:
            return False
        return True

    assert backend.run(main) is suppressed


def test_async_cm_with_contextmanager_catches_and_reraises_as_the_language_does(
    backend,
) -> None:
    @contextlib.contextmanager
    def swallows(kind: type[BaseException]) -> Iterator[None]:
        with contextlib.suppress(kind):
            yield

    async def main() -> None:
        async with async_cm(swallows(ValueError)):
            raise_in_block()
        with pytest.raises(ValueError, match="raised in the block") as info:
            async with async_cm(swallows(KeyError)):
                raise_in_block()
        assert "raise_in_block" in frames(info.tb)

    backend.run(main)


def test_async_cm_context_vars_set_by_enter_are_visible_in_the_block(backend) -> None:
    async def main() -> str:
        async with async_cm(SyncRecorder()):
            return marker.get()

    assert backend.run(main) == "set-by-enter"


def test_async_cm_enter_timeout_exits_on_its_thread_if_enter_finishes_late(backend) -> None:
    release = threading.Event()

    class SlowToEnter(SyncRecorder):
        def __enter__(self) -> str:
            release.wait(WAIT)
            return super().__enter__()

    recorder = SlowToEnter()

    async def main() -> bool:
        with pytest.raises(CallAnyTimeout):
            async with async_cm(recorder, timeout=0.2):
                pytest.fail("the block must not run")
        release.set()
        return await call_any(recorder.exited.wait, WAIT)

    assert backend.run(main)
    assert recorder.exit_ident == recorder.enter_ident
    assert recorder.exc_info is not None
    assert recorder.exc_info[0] is CallAnyTimeout


def test_async_cm_rejects_bad_arguments_and_reuse(backend) -> None:
    with pytest.raises(TypeError, match="context manager"):
        async_cm(AsyncRecorder())  # type: ignore[arg-type]

    async def main() -> None:
        manager = async_cm(SyncRecorder())
        async with manager:
            pass
        with pytest.raises(RuntimeError, match="single-use"):
            async with manager:
                pass

    backend.run(main)
