"""Found by review: a Ctrl-C around a greenlet switch broke the thread or abandoned the call.

``support_faults`` raises ``KeyboardInterrupt`` at each interrupt point of the inline
machinery (``_inline``, call_any's inline fast path, ``_blocking``) while an inline
call makes bridge calls of each kind. Before the fix:

- a Ctrl-C between marking the thread as running inline code and the ``try`` that
  restores it (``_Inline.resume``, the driver's unrolled asyncio path) left
  ``_state.inline`` set for good: from then on every ``call_any(async_fn)`` in plain
  sync code on that thread "switched" to itself and returned a coroutine nobody
  awaited -- after a caught Ctrl-C, in a REPL or a server that goes on;
- a Ctrl-C in the driver after an awaited coroutine finished and before the value went
  back in (or right after the greenlet handed a coroutine over) left the greenlet
  suspended for ever: the inline code's ``finally`` blocks never ran;
- a Ctrl-C on the entry of ``_suspend`` left the coroutine ``_block``/``_offload``
  had made un-awaited.

Now inline code is recognised by the greenlet running it (nothing is set per switch
that an interrupt could leave behind), the loop is hidden and restored inside one
``try`` (in C, where nothing can interrupt it), an interrupt that
lands in the driver while the greenlet waits is raised where it waits (its
``finally`` blocks run, the coroutine it handed over is closed), and ``_block`` and
``_offload`` close what never started. (And call_any's pure-Python sync path, which
inline code takes too, lost the coroutine a ``def`` returned to a Ctrl-C on its
``type()`` check: now inside the ``try`` that closes it.)

Two kinds of point are treated apart. The 'after call' point of a greenlet switch
itself (``switch``/``back``/``op(*args)``) is skipped: on 3.11+ the injector raises out
of a C call from a profile hook matched by call depth, which a switch to another
greenlet's stack throws off -- it would fire in a frame where no signal can land. (The
real points around a switch -- the driver's next instruction, the greenlet's once
resumed -- are swept.) And at the point right after a call that creates a coroutine,
before it is stored, Python itself can lose the coroutine (as after any ``coro =
f()``): "never awaited" is accepted there; those runs are held to every other check.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import inspect
import re
import sys
import warnings
from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any, ClassVar

import pytest
import sniffio
import support_faults
import trio

from synchronaut_core import _blocking, _call, _inline, call_any, call_sync, sync_cm

pytestmark = [
    pytest.mark.usefixtures("fast_switching"),
    # CPython 3.12 crashes (segmentation fault in the driver's frame) when the
    # injector's trace/profile hook raises at one of the points around a greenlet
    # switch; plain tracing of inline code works there (checked with a line tracer
    # over 200 inline calls), and the sweep passes on 3.10, 3.11 and 3.13. Not a path a
    # real Ctrl-C takes as far as we know, but not proven: see the README's limits.
    pytest.mark.skipif(
        sys.version_info[:2] == (3, 12),
        reason="the fault injector's hook raising at a greenlet switch crashes CPython 3.12",
    ),
]

TARGETS: list[ModuleType] = [_inline, _call, _blocking]

#: A greenlet switch: its 'after call' point is not injected faithfully on 3.11+.
_SWITCH = re.compile(r"\b(switch|back|op)\(|\bgreen\.throw\b")
#: A call that makes a coroutine (stored on the next instruction).
_MAKES = re.compile(
    r"= coro\(\)|= _await\(|= func\(\*args, \*\*kwargs\)|_drive\(|_with_timeout\(|\._offload\(|"
    r"_inline\._run\(|return _dispatch\("
)


def _lines(pattern: re.Pattern[str]) -> set[tuple[str, int]]:
    found: set[tuple[str, int]] = set()
    for module in TARGETS:
        lines, _ = inspect.findsource(module)
        for number, line in enumerate(lines, 1):
            if pattern.search(line) and not line.lstrip().startswith("#"):
                found.add((module.__name__, number))
    return found


class _Injector(support_faults.Injector):
    """An Injector that passes over the 'after call' points of greenlet switches.

    Neither counted nor fired: on 3.11+ the injector would raise there in a frame of
    another greenlet (see the module docstring), leaving a call suspended that no real
    signal could, whose later finalization would muddle the runs after it.
    """

    switches: ClassVar[set[tuple[str, int]]] = set()

    def _point(self, frame: Any, info: Any, anchor: int, kind: str) -> None:
        if kind == "after call":
            point = support_faults._point_of(info, support_faults._modname(frame), anchor, kind)  # pyright: ignore[reportPrivateUsage]
            if (point.module, point.line) in self.switches:
                return
        super()._point(frame, info, anchor, kind)  # pyright: ignore[reportPrivateUsage]


class _Run:
    def __init__(self, library: str, call: Any) -> None:
        self.library = library
        self.call = call  # call_any, or its pure-Python path
        self.log: list[str] = []

    async def fetch(self, x: int) -> int:
        if self.library == "trio":
            await trio.lowlevel.checkpoint()
        else:
            await asyncio.sleep(0)
        return x

    @contextlib.asynccontextmanager
    async def resource(self) -> AsyncIterator[int]:
        await self.fetch(0)
        yield 5
        await self.fetch(0)

    def body(self) -> int:
        self.log.append("start")
        try:
            with sync_cm(self.resource()) as five:
                total = self.call(self.fetch, 1) + call_sync(self.fetch, 2) + five
                return total + self.call(lambda: self.fetch(3))
        finally:
            self.log.append("end")

    async def main(self) -> int:
        return await call_any(self.body, inline=True)

    def __call__(self) -> int:
        self.log.clear()
        if self.library == "trio":
            return trio.run(self.main)
        return asyncio.run(self.main())


def _thread_state_problems() -> list[str]:
    problems = []
    if asyncio._get_running_loop() is not None:  # pyright: ignore[reportPrivateUsage]
        problems.append("a running loop is left set")
        asyncio._set_running_loop(None)  # pyright: ignore[reportPrivateUsage]
    if _inline._running_inline() is not None:  # pyright: ignore[reportPrivateUsage]
        problems.append("the thread still looks like inline code (_running_inline)")
    if sniffio.thread_local.name is not None:
        problems.append("sniffio's name is left set")
        sniffio.thread_local.name = None
    return problems


@pytest.mark.parametrize(
    ("library", "path"), [("asyncio", "public"), ("trio", "public"), ("asyncio", "pure")]
)
def test_a_ctrl_c_at_any_point_of_an_inline_call_leaves_nothing_behind(
    library: str, path: str
) -> None:
    # "pure": the bridge calls take call_any's Python path even with the C accelerator
    # built (found there: a Ctrl-C on the type() check of a def's returned coroutine).
    _Injector.switches = _lines(_SWITCH)
    makers = _lines(_MAKES)
    scenario = _Run(library, _call._call_any_py if path == "pure" else call_any)  # pyright: ignore[reportPrivateUsage]
    assert scenario() == 11
    selection = support_faults.Selection(TARGETS)
    failures: list[str] = []
    judged = 0
    for n in range(2000):
        injector = _Injector(selection, n)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            outcome: object
            try:
                with injector:
                    outcome = scenario()
            except BaseException as exc:
                outcome = exc
            problems = _thread_state_problems()
            finished = scenario.log.count("start") == scenario.log.count("end")
            fired, point = injector.fired, injector.point
            # The injector keeps the exception it raised (and so its frames): dropped
            # before collecting, so that what this run lost is reported in this run.
            del outcome, injector
            gc.collect()
        if not fired:
            assert not problems and finished and not caught
            break
        assert point is not None
        where = (point.module, point.line)
        judged += 1
        if not finished:
            problems.append(f"the inline code's finally did not run ({scenario.log})")
        unawaited = [str(w.message) for w in caught if "never awaited" in str(w.message)]
        if unawaited and not (point.kind == "after call" and where in makers):
            problems.append(f"{unawaited}")
        if problems:
            failures.append(f"{point}: {problems}")
    else:
        pytest.fail("the sweep did not end")
    assert judged >= 40
    assert failures == []
    assert sys.getrecursionlimit() > 0  # (the interpreter is still usable)
