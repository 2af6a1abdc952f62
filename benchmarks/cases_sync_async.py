"""sync -> async: plain sync code calls an ``async def`` and blocks for its value.

The floor is ``asyncio.run_coroutine_threadsafe(coro, loop).result()`` on a loop that
is already running in a thread of its own, of the same type as synchronaut's
background loop (uvloop when installed). Every call crosses threads twice, so the
figures are dominated by the cross-thread wake-ups (60-100 us on this 2-core machine).

Measured from one thread, then from 8 threads calling at once (wall time / calls).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from typing import Any

import _env
from _env import LoopThread
from _harness import Case, Group, Settings, aprobe_callee, at_most, sync_probe, threaded

from synchronaut_core import _loop as synchronaut_loop
from synchronaut_core import call_any, call_sync

ASGIREF = "asgiref async_to_sync"


async def af(x: int) -> int:
    return x


def _loop_note(kind: str) -> str:
    # Fairness check: synchronaut's background loop must be of the floor's type.
    background = synchronaut_loop._background
    if background is None:
        return ""
    actual = type(background.loop).__module__.split(".")[0]
    expected = "uvloop" if kind == "uvloop" else "asyncio"
    if actual != expected:
        return f"synchronaut's background loop is {actual}, the floor's {expected}"
    return ""


def _ways(
    stack: ExitStack, settings: Settings
) -> list[tuple[str, Callable[[], object] | None, Callable[..., Any] | None, dict[str, Any]]]:
    """(name, one call, the same call for a given async callee, Case options) per way."""
    kind = settings.loop
    floor_loop = stack.enter_context(LoopThread(kind)).loop
    rcts = asyncio.run_coroutine_threadsafe
    ways: list[tuple[str, Any, Any, dict[str, Any]]] = [
        (
            f"run_coroutine_threadsafe ({kind})",
            lambda: rcts(af(1), floor_loop).result(),
            lambda fn: rcts(fn(), floor_loop).result(),
            {"floor": True},
        ),
        (
            "call_any(af, x)",
            lambda: call_any(af, 1),
            call_any,
            {
                "synchronaut": True,
                "targets": [at_most(1.1), at_most(0.2, ASGIREF, ">=5x faster than a2s")],
            },
        ),
        ("call_sync(af, x)", lambda: call_sync(af, 1), call_sync, {"synchronaut": True}),
    ]
    deco = _env.decorator()
    if deco is None:
        ways.append(
            ("@synchronaut af(x)", None, None, {"na": _env.NO_DECORATOR, "synchronaut": True})
        )
    else:
        g = deco(af)
        ways.append(
            ("@synchronaut af(x)", lambda: g(1), lambda fn: deco(fn)(), {"synchronaut": True})
        )
    if kind == "uvloop":
        other = stack.enter_context(LoopThread("asyncio")).loop
        ways.append(
            (
                "run_coroutine_threadsafe (asyncio)",
                lambda: rcts(af(1), other).result(),
                lambda fn: rcts(fn(), other).result(),
                {"note": "plain-asyncio loop: informational"},
            )
        )
    a = _env.asgiref_sync
    if a is None:
        ways.append((ASGIREF, None, None, {"na": _env.missing("asgiref")}))
    else:
        a2s = a.async_to_sync(af)
        ways.append(
            (
                ASGIREF,
                lambda: a2s(1),
                lambda fn: a.async_to_sync(fn)(),
                {"note": "a new event loop (and thread) per call outside an async context"},
            )
        )
    if _env.anyio_from_thread is None:
        ways.append(("anyio BlockingPortal.call", None, None, {"na": _env.missing("anyio")}))
    else:
        portal = stack.enter_context(
            _env.anyio_from_thread.start_blocking_portal(
                "asyncio", backend_options={"use_uvloop": kind == "uvloop"}
            )
        )
        ways.append(
            (
                "anyio BlockingPortal.call",
                lambda: portal.call(af, 1),
                lambda fn: portal.call(fn),
                {},
            )
        )
    if _env.asyncer is None:
        ways.append(("asyncer syncify", None, None, {"na": _env.missing("asyncer")}))
    else:
        syncified = _env.asyncer.syncify(af, raise_sync_error=False)
        ways.append(
            (
                "asyncer syncify",
                lambda: syncified(1),
                lambda fn: _env.asyncer.syncify(fn, raise_sync_error=False)(),
                {"note": "anyio.run() per call outside a worker thread: a new loop each time"},
            )
        )
    return ways


def _single(stack: ExitStack, settings: Settings) -> list[Case]:
    cases: list[Case] = []
    for name, call, via, options in _ways(stack, settings):
        if call is None:
            cases.append(Case(name, **options))
            continue

        def timer(n: int, call: Callable[[], object] = call) -> int:
            perf = time.perf_counter_ns
            t0 = perf()
            for _ in range(n):
                call()
            return perf() - t0

        probe = sync_probe(partial(_probe_through, via))
        cases.append(Case(name, timer, probe=probe, **options))
    return cases


def _probe_through(via: Callable[..., Any], _callee: object) -> object:
    return via(aprobe_callee)


def _threads(stack: ExitStack, settings: Settings, threads: int = 8) -> list[Case]:
    keep = {"call_any(af, x)", ASGIREF, "anyio BlockingPortal.call"}
    cases: list[Case] = []
    for name, call, via, options in _ways(stack, settings):
        if not (options.get("floor") or name in keep):
            continue
        if call is None:
            cases.append(Case(name, **options))
            continue
        probe = sync_probe(partial(_probe_through, via))
        timer = threaded(call, threads)
        cases.append(Case(name, timer, per_op=threads, probe=probe, **options))
    return cases


@contextmanager
def _group_single(settings: Settings) -> Iterator[list[Case]]:
    with ExitStack() as stack:
        cases = _single(stack, settings)
        call_any(af, 1)  # starts the background loop
        note = _loop_note(settings.loop)
        if note:
            cases[1].note = note
        yield cases


@contextmanager
def _group_threads(settings: Settings) -> Iterator[list[Case]]:
    with ExitStack() as stack:
        yield _threads(stack, settings)


GROUPS = [
    Group("sync-async", "sync -> async, value returned (1 thread)", _group_single),
    Group("sync-async-8", "sync -> async, 8 threads at once", _group_threads),
]
