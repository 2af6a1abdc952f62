"""Ctrl-C while the background loop starts leaves no loop unclosed and none idling.

Found by the SIGINT stress test on 3.10 (its first calls start the background loop
while signals land): the loop was made on the caller's thread, in
``_LoopThread.__init__``, and a ``KeyboardInterrupt`` inside the loop's constructor
(its self-pipe, its selector) or right after it returned left a loop nobody owned, to
be collected unclosed: "ResourceWarning: unclosed event loop", two unclosed sockets,
and an "Exception ignored in BaseEventLoop.__del__" -- on the child's stderr, which
the stress test requires empty. The loop is now made on its own thread (no signal
lands there), and an interrupt right after ``start()`` returned stops it.

The sweep: a fresh background loop started by a call, interrupted at every interrupt
point of the start path -- synchronaut's ``_loop`` and asyncio's loop constructors
(``asyncio``'s own loop: uvloop's is C, with no point inside) -- on the calling
thread, one run each. After each: no unclosed loop or socket is collected, no
synchronaut loop thread is left idling beside the background one, and the next call
works.
"""

from __future__ import annotations

import asyncio
import asyncio.base_events
import asyncio.selector_events
import gc
import selectors
import socket
import sys
import threading
import time
import warnings
from collections.abc import Iterator

import pytest
import support_faults

from synchronaut_core import _loop, _placement, call_any, shutdown

#: A bound on how long a stopped loop's thread takes to end (not a delay).
BOUND = 10.0


async def answer() -> int:
    return 42


def loop_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("synchronaut-loop")]


@pytest.fixture
def asyncio_loops(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # asyncio's own loop, whose constructor is Python (points inside it); the factory
    # is chosen once per process, so it is set here rather than by the environment.
    shutdown()
    monkeypatch.setattr(_loop, "_loop_factory", asyncio.new_event_loop)
    yield
    shutdown()


@pytest.mark.timeout(600)
def test_ctrl_c_anywhere_while_the_background_loop_starts(asyncio_loops: None) -> None:
    targets = [
        _loop,
        _placement,
        asyncio.base_events,
        asyncio.selector_events,
        sys.modules["asyncio.unix_events"] if sys.platform != "win32" else asyncio.events,
        selectors,
        socket,
    ]

    def scenario() -> object:
        # No collection during the run: a loop of an earlier run collected here would
        # have its __del__ interrupted (CPython reports that as unraisable: not ours).
        gc.disable()
        shutdown()  # the previous run's loop (an interrupt point too)
        return call_any(answer)

    def check(outcome: object) -> None:
        gc.enable()
        assert isinstance(outcome, (KeyboardInterrupt, int)), outcome
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            gc.collect()
        unclosed = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
        assert unclosed == []
        assert call_any(answer) == 42  # the bridge works right after
        # An interrupted start's loop stops by itself: only the background one is left.
        deadline = time.monotonic() + BOUND
        while len(loop_threads()) > 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(loop_threads()) == 1, loop_threads()

    unraisable: list[object] = []
    hook = sys.unraisablehook
    sys.unraisablehook = unraisable.append  # an "Exception ignored in __del__"
    try:
        covered = support_faults.sweep(targets, scenario, check, stable=False, limit=3000)
    finally:
        sys.unraisablehook = hook
        gc.enable()
    # A Ctrl-C landing in a finalizer (a loop of an earlier run freed here, its
    # __del__ an interrupt point of asyncio's) is reported by CPython and dropped, as
    # the SIGINT stress test allows: nothing else may be.
    assert [
        (args.exc_type, getattr(args.object, "__qualname__", args.object))  # type: ignore[attr-defined]
        for args in unraisable
        if not (
            args.exc_type is KeyboardInterrupt  # type: ignore[attr-defined]
            and getattr(args.object, "__name__", "") == "__del__"  # type: ignore[attr-defined]
        )
    ] == []
    assert len(covered) >= 5  # the start path was reached and interrupted
