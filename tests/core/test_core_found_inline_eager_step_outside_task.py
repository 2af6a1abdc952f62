"""Inline code stepped outside any task: an eager task's bridge call was not refused.

Found by review of df59d89 (C and pure alike): the driver refuses a coroutine that inline
code hands over while another task is the loop's current one (an eager task's first
step, run in the inline greenlet), but the check was skipped when the driver itself was
stepped outside any task (``asyncio.current_task()`` None: its coroutine sent to by hand
from a loop callback). The eager task's bridge call was then awaited mid-step, with that
task left current: every other task's next step was refused by asyncio ("Cannot enter
into task ... while another task ... is being executed") and lost for good. Now the
driver compares the loop's current task with the one it started in, None included.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(
    sys.version_info < (3, 12), reason="asyncio.eager_task_factory is 3.12+"
)

_CHILD = textwrap.dedent(
    """
    import asyncio

    from synchronaut_core import call_any

    async def slept(value):
        await asyncio.sleep(0.05)
        return value

    async def first_step():
        try:
            return call_any(slept, "awaited")  # inline code's bridge call, mid-step
        except RuntimeError:
            return "refused"

    def service(loop):
        task = loop.create_task(first_step())  # eager: its first step runs here
        return task.result() if task.done() else "pending"

    async def main():
        loop = asyncio.get_running_loop()
        loop.set_task_factory(asyncio.eager_task_factory)
        ticks = []

        async def ticker():
            for _ in range(10):
                await asyncio.sleep(0.01)
                ticks.append(1)

        ticking = loop.create_task(ticker())
        driver = call_any(service, loop, inline=True)
        done = loop.create_future()

        def step(_=None):
            # The driver stepped by hand from a loop callback: no task is current.
            try:
                waited = driver.send(None)
            except StopIteration as stop:
                done.set_result(stop.value)
                return
            except BaseException as exc:
                done.set_exception(exc)
                return
            if waited is None:
                loop.call_soon(step)
            else:
                waited.add_done_callback(lambda _: loop.call_soon(step))

        loop.call_soon(step)
        result = await asyncio.wait_for(done, 3)
        await asyncio.wait_for(ticking, 3)
        return result, len(ticks)

    print("ended", asyncio.run(main()))
    """
)


@pytest.mark.parametrize("pure", [False, True], ids=["c", "pure"])
def test_a_driver_stepped_outside_any_task_refuses_an_eager_tasks_bridge_call(
    pure: bool,
) -> None:
    import os

    env = dict(os.environ)
    env.pop("SYNCHRONAUT_NO_EXTENSIONS", None)
    if pure:
        env["SYNCHRONAUT_NO_EXTENSIONS"] = "1"
    try:
        result = subprocess.run(
            [sys.executable, "-c", _CHILD],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
            env=env,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the run hung")
    assert result.stdout.strip() == "ended ('refused', 10)", (result.stdout, result.stderr[-3000:])
    assert "Cannot enter into task" not in result.stderr, result.stderr[-3000:]
