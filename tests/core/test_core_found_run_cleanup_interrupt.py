"""A Ctrl-C during ``_run_in_new_loop``'s cleanup still closes the loop (CPython 3.13).

Found by a bytecode scan (``dis``: a ``JUMP_BACKWARD`` outside every exception-table
entry while its target is inside one): on CPython 3.13.0 the back edge of the loop
retrieving the cancelled leftover tasks' exceptions lay outside the ``try`` whose
``finally`` closes the loop. A KeyboardInterrupt raised there (3.13 checks for
signals at back edges) skipped that ``finally``: the loop stayed open and set as the
thread's event loop. ``_run_in_new_loop`` runs ``run()`` on 3.10 and the interpreter
-exit drain on every version. Reproduced by raising KeyboardInterrupt at that back
edge from an opcode trace; now the cleanup's loops are in a function of their own.

The test injects a KeyboardInterrupt at every instruction of the cleanup, one run
each, and checks the loop is closed and unset every time (what else it leaves -- a
coroutine never awaited, tasks destroyed pending -- is what a Ctrl-C there costs).
"""

from __future__ import annotations

import asyncio
import sys
import types
from typing import Any

import pytest

from synchronaut_core import _run  # pyright: ignore[reportPrivateUsage]

CLEANUP = {"_end_leftovers"}


def _run_with_interrupt_at(target: int) -> tuple[asyncio.AbstractEventLoop, bool]:
    """Run a main leaving tasks behind; raise KeyboardInterrupt at the ``target``-th
    instruction executed by the cleanup. (loop, whether it fired)."""
    loops: list[asyncio.AbstractEventLoop] = []
    leftovers: list[asyncio.Task[None]] = []
    seen = 0
    fired = False

    def factory() -> asyncio.AbstractEventLoop:
        loop = asyncio.new_event_loop()
        loops.append(loop)
        return loop

    async def main() -> None:
        loop = asyncio.get_running_loop()
        # Leftovers (kept by the loop until cancelled): the cleanup's loops turn
        # more than once.
        leftovers.extend(loop.create_task(asyncio.sleep(30)) for _ in range(3))

    def local(frame: types.FrameType, event: str, arg: Any) -> Any:
        nonlocal seen, fired
        if event == "opcode" and not fired:
            seen += 1
            if seen == target:
                fired = True
                raise KeyboardInterrupt
        return local

    def global_trace(frame: types.FrameType, event: str, arg: Any) -> Any:
        if frame.f_code.co_name in CLEANUP:
            frame.f_trace_opcodes = True
            frame.f_trace = local  # (3.13 takes the frame's own, not the return value)
            return local
        return None

    previous = sys.gettrace()
    sys.settrace(global_trace)
    try:
        _run._run_in_new_loop(factory, main())  # pyright: ignore[reportPrivateUsage]
    except KeyboardInterrupt:
        assert fired
    finally:
        sys.settrace(previous)
    return loops[0], fired


def test_cleanup_exists_and_is_traced() -> None:
    loop, fired = _run_with_interrupt_at(10**9)
    assert not fired and loop.is_closed()


@pytest.mark.skipif(sys.gettrace() is not None, reason="needs sys.settrace (coverage runs)")
# What an interrupted cleanup leaves, by design: a coroutine made and never awaited
# (``shutdown_default_executor()`` interrupted before it ran), tasks destroyed pending.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_ctrl_c_at_any_instruction_of_the_cleanup_still_closes_the_loop() -> None:
    target = 1
    fired = True
    while fired:
        loop, fired = _run_with_interrupt_at(target)
        assert loop.is_closed(), f"interrupt at instruction {target} left the loop open"
        with pytest.raises(RuntimeError):
            # Unset (set_event_loop(None) ran): no current loop, asyncio says.
            asyncio.get_event_loop_policy().get_event_loop()
        target += 1
    assert target > 50  # the whole cleanup was covered, instruction by instruction
