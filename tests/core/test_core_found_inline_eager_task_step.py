"""An eager task started by inline code, whose first step makes a bridge call, hangs.

Found by review of the C ``InlineChain`` (pure and C alike, so not the chain's): with
``asyncio.eager_task_factory`` (3.12+), inline code that creates a task on its loop
runs that task's first step right there, in the inline greenlet, with the task made
the loop's current one. A bridge call in that step (here the task's own inline call,
which runs its function directly: no loop is visible) suspends the greenlet to the
driving task mid-step. The driver's task then leaves its step with another task
current ("Leaving task ... does not match the current task"), every later step of it
is refused ("Cannot enter into task ..."), nothing wakes it, and the run hangs --
even a timeout around the call never fires. Now the driver refuses a coroutine handed
over while another task is the loop's current one (``_inline._drive``; the C
``InlineChain`` hands such a one back to it): the bridge call raises RuntimeError in that
step, as waits in a greenlet that inline code started are refused, and the run ends.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytestmark = [
    pytest.mark.filterwarnings("error"),
    pytest.mark.skipif(sys.version_info < (3, 12), reason="asyncio.eager_task_factory is 3.12+"),
]

_CHILD = textwrap.dedent(
    """
    import asyncio

    from synchronaut_core import call_any

    async def slept(value):
        await asyncio.sleep(0)
        return value

    def inner():
        return call_any(slept, "inner")

    async def first_step():
        try:
            return await call_any(inner, inline=True)
        except BaseException as exc:  # a refusal is fine: the run ends
            return type(exc).__name__

    def service(loop):
        task = loop.create_task(first_step())  # eager: its first step runs here
        return call_any(asyncio.wait_for, task, 2)

    async def main():
        loop = asyncio.get_running_loop()
        loop.set_task_factory(asyncio.eager_task_factory)
        try:
            return await asyncio.wait_for(call_any(service, loop, inline=True), 2)
        except BaseException as exc:
            return type(exc).__name__

    print("ended", asyncio.run(main()))
    """
)


def test_an_eager_task_started_by_inline_code_does_not_hang_the_loop() -> None:
    try:
        result = subprocess.run(
            [sys.executable, "-c", _CHILD], capture_output=True, text=True, timeout=8, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the run hung")
    assert result.stdout.startswith("ended"), result.stderr[-3000:]
    # The eager task's inline call was refused at its bridge call, and nothing else.
    assert result.stdout.strip() == "ended RuntimeError", (result.stdout, result.stderr[-3000:])
