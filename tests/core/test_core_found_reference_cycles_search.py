"""No reference cycles per call, searched: call trees mixing every kind of bridge call.

Found by review of ac8d44c ("No reference cycles per call"), which cut the cycles of
the calls that succeed. A search over call trees (sync -> async, async -> thread,
thread-sensitive calls, timeouts that expire, errors raised and caught, cancelled
calls, inline mode, iterators and context managers, under asyncio and Trio, from the
main thread, a plain thread and a pool's worker) found five more, each left to the
cycle collector on every call:

- a sync call offloaded from sync code that *times out* (``call_any(f, timeout=t)``
  past ``t``): its ``_JobWait`` is abandoned, not read, so ``job.notify`` still named
  it (job -> notify -> wait -> job, with the job's context);
- a sync -> async call whose coroutine *raises*: the asyncio task keeps its exception,
  whose traceback holds ``_LoopCall._finish_task``'s frame, which named the task
  (task -> exception -> traceback -> frame -> task) -- and, through the traceback,
  the caller's frames and the call;
- inline code that catches an error a coroutine it awaited raised: ``_inline._drive``
  kept the exception it threw into the greenlet (exception -> traceback -> the
  driver's frame -> the exception);
- a sync call offloaded from the thread-sensitive thread while it serves (a
  thread-sensitive call calling ``call_any(f, force_offload=True)``): the job's
  context names the wait as ``_sensitive._target`` (the window the wait opens), and
  the wait names the job -- read (the context is replaced once written back) or
  abandoned by a timeout (replaced once the job has run: ``_Job.deliver``; as it
  finished: ``_JobWait._abandon``; given up while queued: ``_Job.run``).

- ``await call_any(af, timeout=t)`` past ``t`` (asyncio and Trio, and inline code's
  blocking calls, which the driving task awaits so): ``_context._InCopiedContext``'s
  ``throw``/``send`` frames, in the cancellation's traceback, held the cancellation
  they passed on (asyncio's ``CancelledError`` thrown in, Trio's ``outcome.Error`` sent
  in): 18 objects a call on asyncio, 42 on Trio, where ``asyncio.timeout`` and
  ``trio.move_on_after`` themselves leave none.

What is fair: an exception the test itself keeps (or lets propagate to pytest) holds
its traceback's frames, and so whatever they name; that is the caller's choice. Here
every error is caught and dropped at once (``except ...: pass``), so anything
unreachable afterwards was made unreachable-but-cyclic by the library. Calls that are
abandoned (a timeout, a cancellation) keep running on their thread for a while: each
measure waits for them to end before collecting.

Each tree is run twice (lazy set-up), then ``REPS`` times with the collector off;
``gc.collect()`` with ``DEBUG_SAVEALL`` then shows what only the collector could free.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support_backends import BACKENDS, Backend

from synchronaut_core import (
    CallAnyTimeout,
    _waits,
    async_iter,
    call_any,
    current_async_library,
    sync_cm,
    sync_iter,
)

pytest.importorskip("greenlet")  # inline mode

#: A timeout that expires, and how long the abandoned sync call runs past it.
TIMEOUT = 0.003
SLOW = TIMEOUT * 4
REPS = 6

Tree = tuple[tuple[str, Any], ...]

#: What sync code does (a node of a tree run by ``run_sync``).
SYNC_KINDS = [
    "to_async",  # call_any(async def running a subtree)
    "offload",  # call_any(def running a subtree, force_offload=True)
    "sensitive",  # call_any(def running a subtree, thread_sensitive=True)
    "direct",  # call_any(def running a subtree): a direct call
    "async_times_out",
    "sync_times_out",
    "async_raises",
    "offload_raises",
    "sync_iter",
    "sync_cm",
]
#: What async code does (``run_async``).
ASYNC_KINDS = [
    "to_thread",  # await call_any(def running a subtree)
    "sensitive",
    "inline",  # await call_any(def running a subtree, inline=True)
    "to_async",  # await call_any(async def running a subtree)
    "thread_times_out",
    "async_times_out",  # await call_any(async def, timeout=t) past t
    "thread_raises",
    "async_raises",
    "cancelled",
    "async_iter",
]
_NESTS_ASYNC = {"to_async"}
_NESTS_SYNC = {"offload", "sensitive", "direct", "to_thread", "inline"}


def slow() -> None:
    time.sleep(SLOW)


async def slow_async() -> None:
    if current_async_library() == "trio":
        await trio.sleep(10)
    else:
        await asyncio.sleep(10)


def boom() -> None:
    raise ValueError("boom")


async def aboom() -> None:
    raise ValueError("aboom")


async def agen() -> AsyncIterator[int]:
    yield 1
    yield 2


def gen() -> Iterator[int]:
    yield 1
    yield 2


@contextlib.asynccontextmanager
async def acm() -> AsyncIterator[int]:
    yield 3


def run_sync(tree: Tree) -> None:
    for kind, kids in tree:
        if kind == "to_async":
            call_any(run_async, kids)
        elif kind == "offload":
            call_any(run_sync, kids, force_offload=True)
        elif kind == "sensitive":
            call_any(run_sync, kids, thread_sensitive=True)
        elif kind == "direct":
            call_any(run_sync, kids)
        elif kind == "async_times_out":
            with contextlib.suppress(CallAnyTimeout):
                call_any(slow_async, timeout=TIMEOUT)
        elif kind == "sync_times_out":
            with contextlib.suppress(CallAnyTimeout):
                call_any(slow, timeout=TIMEOUT)
        elif kind == "async_raises":
            with contextlib.suppress(ValueError):
                call_any(aboom)
        elif kind == "offload_raises":
            with contextlib.suppress(ValueError):
                call_any(boom, force_offload=True)
        elif kind == "sync_iter":
            assert list(sync_iter(agen())) == [1, 2]
        else:
            assert kind == "sync_cm"
            with sync_cm(acm()) as value:
                assert value == 3


async def run_async(tree: Tree) -> None:
    trio_run = current_async_library() == "trio"
    for kind, kids in tree:
        if kind == "to_thread":
            await call_any(run_sync, kids)
        elif kind == "sensitive":
            await call_any(run_sync, kids, thread_sensitive=True)
        elif kind == "inline":
            await call_any(run_sync, kids, inline=True)
        elif kind == "to_async":
            await call_any(run_async, kids)
        elif kind == "thread_times_out":
            with contextlib.suppress(CallAnyTimeout):
                await call_any(slow, timeout=TIMEOUT)
        elif kind == "async_times_out":
            with contextlib.suppress(CallAnyTimeout):
                await call_any(slow_async, timeout=TIMEOUT)
        elif kind == "thread_raises":
            with contextlib.suppress(ValueError):
                await call_any(boom)
        elif kind == "async_raises":
            with contextlib.suppress(ValueError):
                await call_any(aboom)
        elif kind == "cancelled":
            if trio_run:
                with trio.move_on_after(TIMEOUT):
                    await call_any(slow)
            else:
                task = asyncio.ensure_future(call_any(slow))
                await asyncio.sleep(0)
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                del task
        else:
            assert kind == "async_iter"
            assert [x async for x in async_iter(gen())] == [1, 2]


def trees(context: str, depth: int) -> st.SearchStrategy[Tree]:
    """Call trees run in sync (``"s"``) or async (``"a"``) code, ``depth`` levels of nesting."""

    def node(kind: str) -> st.SearchStrategy[tuple[str, Any]]:
        if depth > 0 and context == "s" and kind in _NESTS_ASYNC:
            return st.tuples(st.just(kind), trees("a", depth - 1))
        if depth > 0 and context == "a" and kind in _NESTS_ASYNC:
            return st.tuples(st.just(kind), trees("a", depth - 1))
        if depth > 0 and kind in _NESTS_SYNC:
            return st.tuples(st.just(kind), trees("s", depth - 1))
        return st.tuples(st.just(kind), st.just(()))

    kinds = SYNC_KINDS if context == "s" else ASYNC_KINDS
    return st.lists(st.sampled_from(kinds).flatmap(node), min_size=1, max_size=2).map(tuple)


def _collected(reps: int, run: Callable[[], None]) -> Counter[str]:
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for _ in range(reps):
            run()
        time.sleep(SLOW * 2)  # abandoned sync calls end (and free what they hold)
        gc.collect()
        return Counter(type(obj).__name__ for obj in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


def _measure_sync(tree: Tree) -> Counter[str]:
    run_sync(tree)
    run_sync(tree)
    time.sleep(SLOW * 2)
    gc.collect()
    return _collected(REPS, lambda: run_sync(tree))


async def _measure_async(tree: Tree) -> Counter[str]:
    # Counted inside one run: a loop or a Trio run leaves garbage of its own as it ends.
    await run_async(tree)
    await run_async(tree)
    await call_any(time.sleep, SLOW * 2)
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for _ in range(REPS):
            await run_async(tree)
        await call_any(time.sleep, SLOW * 2)
        gc.collect()
        return Counter(type(obj).__name__ for obj in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


_pool = ThreadPoolExecutor(1, thread_name_prefix="cycles-search")


def measure(entry: str, tree: Tree) -> Counter[str]:
    """Cyclic garbage of ``REPS`` runs of ``tree`` from ``entry``."""
    if entry == "main":
        return _measure_sync(tree)
    if entry == "thread":
        box: list[Counter[str]] = []
        thread = threading.Thread(target=lambda: box.append(_measure_sync(tree)))
        thread.start()
        thread.join(60)
        assert box, "the thread did not finish"
        return box[0]
    if entry == "pool":
        return _pool.submit(_measure_sync, tree).result(60)
    return Backend(entry).run(_measure_async, tree)


def _assert_no_cycles(entry: str, tree: Tree) -> None:
    kinds = measure(entry, tree)
    # A cycle per call shows as at least one object per run; a stray or two (a
    # worker's lazy set-up in another thread) does not.
    assert sum(kinds.values()) < REPS / 2, (
        f"{tree} from {entry} leaves objects in reference cycles: {kinds.most_common(8)}"
    )


FOUND: dict[str, tuple[str, Tree]] = {
    "async -> async timing out": ("asyncio", (("async_times_out", ()),)),
    "async -> async timing out, Trio": ("trio", (("async_times_out", ()),)),
    "inline code's sync -> async timing out": (
        "asyncio",
        (("inline", (("async_times_out", ()),)),),
    ),
    "sync call timing out": ("main", (("sync_times_out", ()),)),
    "sync call timing out, from a pool's worker": ("pool", (("sync_times_out", ()),)),
    "sync -> async raising": ("main", (("async_raises", ()),)),
    "sync -> async raising, from a thread": ("thread", (("async_raises", ()),)),
    "inline code catching a coroutine's error": ("asyncio", (("inline", (("async_raises", ()),)),)),
    "inline code catching an offloaded call's error": (
        "asyncio",
        (("inline", (("offload_raises", ()),)),),
    ),
    "inline code catching a coroutine's error, Trio": (
        "trio",
        (("inline", (("async_raises", ()),)),),
    ),
    "the thread-sensitive thread offloading": ("asyncio", (("sensitive", (("offload", ()),)),)),
    "the thread-sensitive thread's offloaded call timing out": (
        "thread",
        (("to_async", (("sensitive", (("sync_times_out", ()),)),)),),
    ),
    "the thread-sensitive thread offloading, raising": (
        "trio",
        (("sensitive", (("offload_raises", ()),)),),
    ),
}


@pytest.mark.parametrize("case", FOUND)
def test_found_cases_leave_no_cycles(case: str) -> None:
    entry, tree = FOUND[case]
    _assert_no_cycles(entry, tree)


ENTRIES = ["main", "thread", "pool", *BACKENDS]

SEARCH = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@SEARCH
@given(data=st.data(), entry=st.sampled_from(ENTRIES))
def test_call_trees_leave_no_cycles(data: st.DataObject, entry: str) -> None:
    context = "s" if entry in ("main", "thread", "pool") else "a"
    _assert_no_cycles(entry, data.draw(trees(context, 2), label="tree"))


def test_a_call_finishing_as_its_timeout_expires_leaves_no_cycles(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The thread-sensitive thread's offloaded call told its waiter just before it gave up.

    Its ``deliver`` saw no ``cancel_reason`` (so kept the job's context for a
    write-back nobody does), and the waiter raised its timeout anyway: the context,
    which names the wait, is dropped by ``_JobWait._abandon`` then. Made certain by
    holding each check of the wait until the job has finished.
    """
    check = _waits._JobWait._check

    def late_check(self: _waits._JobWait) -> None:
        deadline = time.monotonic() + 5
        while not self.work.finished and time.monotonic() < deadline:
            time.sleep(0.001)
        check(self)

    monkeypatch.setattr(_waits._JobWait, "_check", late_check)
    _assert_no_cycles("asyncio", (("sensitive", (("sync_times_out", ()),)),))
