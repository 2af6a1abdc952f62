"""The test backends are what they claim: a suite passing on them proves something.

If ``asyncio+debug`` lost debug mode or ``asyncio+eager`` its task factory, every
test would still pass on them, proving nothing; these tests would not.
"""

from __future__ import annotations

import asyncio
import re
import sys
import threading

import pytest
from support_backends import ASYNCIO_BACKENDS, BACKENDS, Backend


def test_every_interpreter_has_the_plain_backends_and_debug_mode() -> None:
    assert {"asyncio", "asyncio+debug", "uvloop", "trio"} <= set(BACKENDS)
    assert ("asyncio+eager" in BACKENDS) == (sys.version_info >= (3, 12))
    assert "trio" not in ASYNCIO_BACKENDS


def test_an_unknown_backend_is_refused() -> None:
    with pytest.raises(ValueError, match=re.escape("unknown backend 'asyncio+eger'")):
        Backend("asyncio+eger")


def test_the_debug_backend_runs_a_loop_in_debug_mode() -> None:
    async def main() -> bool:
        return asyncio.get_running_loop().get_debug()

    assert Backend("asyncio+debug").run(main) is True
    assert Backend("asyncio").run(main) is False


def test_the_debug_backend_fails_on_what_reaches_the_loops_exception_handler() -> None:
    async def boom() -> None:
        raise ValueError("nobody retrieves this")

    async def main() -> None:
        task = asyncio.get_running_loop().create_task(boom())
        await asyncio.sleep(0.01)
        del task  # dropped, its exception never retrieved: the loop reports it

    with pytest.raises(AssertionError, match="Task exception was never retrieved"):
        Backend("asyncio+debug").run(main)


def test_the_debug_backend_refuses_thread_unsafe_calls_onto_its_loop() -> None:
    errors: list[BaseException] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()

        def from_another_thread() -> None:
            try:
                loop.call_soon(lambda: None)  # not call_soon_threadsafe
            except RuntimeError as exc:
                errors.append(exc)

        thread = threading.Thread(target=from_another_thread)
        thread.start()
        thread.join()

    Backend("asyncio+debug").run(main)
    assert len(errors) == 1
    assert "Non-thread-safe operation" in str(errors[0])


@pytest.mark.skipif(sys.version_info < (3, 12), reason="eager tasks: Python 3.12+")
def test_the_eager_backend_runs_a_tasks_first_step_inside_create_task() -> None:
    async def main() -> list[str]:
        order: list[str] = []

        async def first_step() -> None:
            order.append("task's first step")
            await asyncio.sleep(0)

        task = asyncio.get_running_loop().create_task(first_step())
        order.append("create_task returned")
        await task
        return order

    assert Backend("asyncio+eager").run(main) == ["task's first step", "create_task returned"]
    assert Backend("asyncio").run(main) == ["create_task returned", "task's first step"]


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="before Python 3.12 only")
def test_the_eager_backend_is_skipped_where_python_has_no_eager_tasks() -> None:
    with pytest.raises(pytest.skip.Exception, match="3.12"):
        Backend("asyncio+eager")
