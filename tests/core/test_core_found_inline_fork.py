"""Found by review: a child forked by inline code lost its running loop (C, 3.10/3.11).

The C accelerator hides the running loop from inline code by swapping the loop in
asyncio's own running-loop record (``_RunningLoopHolder``) with None and back, instead
of ``asyncio._set_running_loop``. That record also holds the id of the process that
set it, and asyncio sees no running loop in a record of another process. Inline code
that forked (``os.fork()``) and went on in the child had the parent's record put
back: in the child the driving task -- and the bridge calls that task awaits --
raised ``RuntimeError: no running event loop``, where the pure path (and 3.12+)
records the child's process id and the child's loop runs on. Now a record of another
process is left alone and asyncio's own call sets the loop.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from typing import Any

import pytest

from synchronaut_core import call_any, call_sync

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


def _loop_factories() -> list[Any]:
    factories: list[Any] = [pytest.param(asyncio.new_event_loop, id="asyncio")]
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is in the dev group
        return factories
    factories.append(pytest.param(uvloop.new_event_loop, id="uvloop"))
    return factories


async def _loop_id() -> int:
    await asyncio.sleep(0)
    return id(asyncio.get_running_loop())


def _forking(write_fd: int) -> str:
    # Inline code: forks, and both processes go on making bridge calls.
    before = call_any(_loop_id)
    pid = os.fork()
    if pid != 0:
        os.close(write_fd)
        return f"parent {pid}"
    try:
        same = call_any(_loop_id) == before and call_sync(_loop_id) == before
        return "child " + ("same loop" if same else "another loop")
    except BaseException as exc:
        return f"child failed in inline code: {exc!r}"


def _scenario(make_loop: Callable[[], asyncio.AbstractEventLoop]) -> tuple[str, str]:
    read_fd, write_fd = os.pipe()

    async def main() -> str:
        said = await call_any(_forking, write_fd, inline=True)
        if not said.startswith("child"):
            return said
        # The forked child, in the driving task: its loop must still run here.
        try:
            await asyncio.sleep(0)
            assert asyncio.get_running_loop() is loop
            again = await call_any(_forking_free, inline=True)
            report = f"{said}; task ok; {again}"
        except BaseException as exc:
            report = f"{said}; task failed: {exc!r}"
        os.write(write_fd, report.encode())
        os._exit(0)

    loop = make_loop()
    try:
        parent = loop.run_until_complete(main())
    finally:
        loop.close()
    pid = int(parent.split()[1])
    chunks: list[bytes] = []
    while chunk := os.read(read_fd, 4096):
        chunks.append(chunk)
    os.close(read_fd)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return parent, b"".join(chunks).decode()


def _forking_free() -> str:
    return "inline again: " + ("ok" if call_any(_loop_id) else "no loop")


@pytest.mark.parametrize("make_loop", _loop_factories())
def test_a_child_forked_by_inline_code_keeps_its_running_loop(
    make_loop: Callable[[], asyncio.AbstractEventLoop],
) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    _, child = _scenario(make_loop)
    assert child == "child same loop; task ok; inline again: ok"
    # And the parent's loop is still this thread's, once more through inline code.

    async def parent_again() -> int:
        return await call_any(lambda: call_any(_loop_id), inline=True)

    loop = make_loop()
    try:
        assert loop.run_until_complete(parent_again()) == id(loop)
    finally:
        loop.close()
